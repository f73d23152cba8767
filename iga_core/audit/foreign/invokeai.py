"""InvokeAI images: the core metadata it writes beside the image.

InvokeAI (invokeai/app/services/image_files/image_files_disk.py:150-160) writes PNG text
`invokeai_metadata` (the core metadata node's fields, invokeai/app/invocations/metadata.py
CoreMetadataInvocation: positive_prompt, negative_prompt, width, height, seed, cfg_scale,
cfg_rescale_multiplier, steps, scheduler, clip_skip, model {key, hash, name, base, type}, vae, loras,
strength, init_image, hrf_enabled, ...; InvokeAI 3.0-3.5 named the model `model_name`), `invokeai_graph` and
`invokeai_workflow`. Its scheduler names are diffusers configs (iga_core.vocab.from_invokeai).
"""

from __future__ import annotations

from iga_core.audit.foreign import ForeignRequest, ForeignUnreadable, json_object, number, text

FORMAT = "InvokeAI"
KEYS = ("invokeai_metadata", "invokeai_graph", "invokeai_workflow", "sd-metadata", "Dream")


def detect(meta) -> bool:
    return any(k in meta.foreign for k in KEYS)


def _model_name(value) -> str | None:
    if isinstance(value, dict):
        return text(value.get("name")) or text(value.get("model_name"))
    return text(value)


def read(meta) -> ForeignRequest:
    from iga_core import vocab

    if "invokeai_metadata" not in meta.foreign:
        old = "sd-metadata" in meta.foreign or "Dream" in meta.foreign
        what = ("an InvokeAI 2.x 'sd-metadata' / 'Dream' chunk" if old
                else "only InvokeAI's graph / workflow, no core metadata")
        raise ForeignUnreadable(FORMAT, f"it carries {what}; iga reads the 'invokeai_metadata' chunk of InvokeAI 3 "
                                "and later", "open the image in InvokeAI and use its recall buttons")
    data = json_object(meta.foreign["invokeai_metadata"], FORMAT, "core metadata (PNG text 'invokeai_metadata')")
    fields: dict = {}
    notes: list[str] = []
    for key, name, kind in (("steps", "steps", int), ("cfg_scale", "cfg", float), ("width", "width", int),
                            ("height", "height", int), ("clip_skip", "clip_skip", int)):
        value = number(data.get(key), kind, low=0)
        if value is not None:
            fields[name] = value
    if "clip_skip" in fields:
        # InvokeAI counts the layers skipped (0 = none); A1111's clip skip counts from 1 (1 = none)
        fields["clip_skip"] += 1
    scheduler = text(data.get("scheduler"))
    if scheduler:
        try:
            found = vocab.from_invokeai(scheduler)
        except vocab.UnknownName as exc:
            notes.append(f"its scheduler {scheduler!r}: {exc.message}; {exc.hint}")
        else:
            fields["sampler"] = found.sampler.label
            if found.schedule is not None:
                fields["schedule"] = found.schedule.label
            notes += list(found.notes)
            notes.append("InvokeAI takes the timestep spacing from the model's own scheduler config, which the "
                         "image does not hold")
    strength = number(data.get("strength"), float)
    mode = text(data.get("generation_mode")) or ""
    if data.get("init_image") or any(m in mode for m in ("img2img", "inpaint", "outpaint")):
        notes.append("made from an init image (img2img), which the file does not hold")
        if strength is not None and 0 <= strength <= 1:
            fields["denoising_strength"] = strength
    rescale = number(data.get("cfg_rescale_multiplier"), float)
    if rescale:
        notes.append(f"CFG rescale {rescale:g} was applied; the WebUI has no such setting without an extension")
    if data.get("hrf_enabled"):
        notes.append("InvokeAI's high-resolution fix ran a second pass, which is not reproduced")
    vae = _model_name(data.get("vae"))
    if vae:
        fields["vae"] = vae
    loras = [f"{_model_name(item.get('model') or item.get('lora'))} at {item.get('weight')}"
             for item in data.get("loras") or () if isinstance(item, dict)]
    if loras:
        notes.append("LoRAs (add them to the prompt as <lora:name:weight>): " + ", ".join(loras))
    return ForeignRequest(FORMAT, "PNG text 'invokeai_metadata'", None, text(data.get("positive_prompt")) or "",
                          text(data.get("negative_prompt")) or "", number(data.get("seed"), int), fields,
                          _model_name(data.get("model")), tuple(notes))
