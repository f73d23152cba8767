"""NovelAI images, read with the facts A1111's own converter uses.

A1111 v1.10.1 images.py:806-815 (read_info_from_image): when PNG text `Software` is "NovelAI", the
prompt is `Description`, and `Comment` is JSON with `uc` (negative prompt), `steps`, `sampler` (mapped
through the host's samplers_map, "Euler a" when it is not there), `scale` (CFG) and `seed`; the size is the
image's own; A1111 adds "Clip skip: 2, ENSD: 31337" (eta noise seed delta 31337). `Source` names NovelAI's
model ("Stable Diffusion XL C1E1DE52"), which no WebUI has.
"""

from __future__ import annotations

from iga_core.audit.foreign import ForeignRequest, ForeignUnreadable, json_object, number, text

FORMAT = "NovelAI"
CLIP_SKIP = 2  # A1111 images.py:813
ENSD = 31337  # A1111 images.py:813; the setting eta_noise_seed_delta (infotext_utils.py:408-411)


def detect(meta) -> bool:
    return meta.foreign.get("Software") == "NovelAI"


def read(meta) -> ForeignRequest:
    from iga_core import vocab

    data = json_object(meta.foreign.get("Comment"), FORMAT, "Comment")
    if "uc" not in data and "steps" not in data:
        raise ForeignUnreadable(FORMAT, "its Comment holds no generation parameters", "the metadata is damaged")
    fields: dict = {"clip_skip": CLIP_SKIP}
    notes: list[str] = []
    name = text(data.get("sampler"))
    if name:
        try:
            sampler = vocab.resolve_sampler(name, "kdiffusion")  # NovelAI writes k-diffusion names: k_euler, ...
        except vocab.UnknownName:
            notes.append(f"NovelAI's sampler {name!r} is not one iga knows; A1111's converter would use Euler a")
        else:
            fields["sampler"] = sampler.label
            if sampler.label not in _a1111_samplers_map_targets(name):
                notes.append(f"A1111's own converter reads {name!r} as Euler a (its samplers_map lacks the name); "
                             f"NovelAI's {name!r} is {sampler.label}")
    for key, field, kind in (("steps", "steps", int), ("scale", "cfg", float)):
        value = number(data.get(key), kind, low=0)
        if value is not None:
            fields[field] = value
    size = meta.size or (number(data.get("width"), int), number(data.get("height"), int))
    if size and size[0] and size[1]:
        fields["width"], fields["height"] = int(size[0]), int(size[1])
    source = text(meta.foreign.get("Source"))
    notes.append(f"made with NovelAI's own model ({source or 'not named'}), which no WebUI has: the request runs on "
                 "the checkpoint you choose")
    return ForeignRequest(FORMAT, "PNG text 'Software' / 'Description' / 'Comment'", None,
                          text(meta.foreign.get("Description")) or "", text(data.get("uc")) or "",
                          number(data.get("seed"), int), fields, None, tuple(notes),
                          {"eta_noise_seed_delta": ENSD})


def _a1111_samplers_map_targets(name: str) -> set[str]:
    """What A1111 1.10's samplers_map gives a lower-cased name: its label for a label or alias it lists
    (sd_samplers.py set_samplers), else its fallback "Euler a"."""
    from iga_core import vocab

    key = name.lower()
    for info in vocab.all_samplers():
        label = info.names.get("a1111")
        if label and key in {label.lower(), *(a.lower() for a in info.aliases.get("a1111", ()))}:
            return {label}
    return {"Euler a"}
