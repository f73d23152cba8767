"""Fooocus images with its own metadata scheme (JSON).

Fooocus (modules/meta_parser.py; modules/async_worker.py:337-391 save_and_log) writes, with metadata
scheme "fooocus", `parameters` = json.dumps of: prompt, negative_prompt, prompt_expansion, styles,
performance, steps, resolution "(width, height)", guidance_scale, sharpness, adm_guidance, base_model,
base_model_hash, refiner_model, refiner_switch, clip_skip (when > 1), sampler, scheduler (ComfyUI names,
Fooocus runs ComfyUI's samplers in ldm_patched), vae, seed (a string), loras, full_prompt,
full_negative_prompt, metadata_scheme, version; PNG text `fooocus_scheme` = "fooocus"; in JPEG / WebP the
same JSON in EXIF UserComment and the scheme in MakerNote (get_exif). With scheme "a1111" it writes an
A1111 infotext, which the A1111 reader takes.
"""

from __future__ import annotations

import re

from iga_core.audit.foreign import ForeignRequest, ForeignUnreadable, number, parameters_json, text

FORMAT = "Fooocus"
_RESOLUTION = re.compile(r"^\s*\(\s*(\d{1,5})\s*,\s*(\d{1,5})\s*\)\s*$")


def detect(meta) -> bool:
    data = parameters_json(meta)
    if data is None:
        return False
    scheme = meta.foreign.get("fooocus_scheme") or meta.foreign.get("exif:MakerNote")
    return scheme == "fooocus" or data.get("metadata_scheme") == "fooocus" or (
        "base_model" in data and "guidance_scale" in data)


def read(meta) -> ForeignRequest:
    data = parameters_json(meta)
    fields: dict = {}
    notes = ["Fooocus rewrites the prompt (its V2 expansion and styles: the final prompt is sent) and applies "
             "sharpness and ADM guidance, which the WebUI does not: the image will differ"]
    steps = number(data.get("steps"), int, low=1)
    if steps is not None:
        fields["steps"] = steps
    cfg = number(data.get("guidance_scale"), float)
    if cfg is not None:
        fields["cfg"] = cfg
    size = _RESOLUTION.match(text(data.get("resolution")) or "")
    if size:
        fields["width"], fields["height"] = int(size.group(1)), int(size.group(2))
    for key, name in (("sampler", "sampler"), ("scheduler", "schedule")):
        if text(data.get(key)):
            fields[name] = data[key]
    if fields.get("schedule") == "turbo":  # Fooocus' turbo is ComfyUI's SDTurboScheduler (SwarmUI's turbo)
        fields["schedule"] = "SD Turbo"
    clip = number(data.get("clip_skip"), int, low=1)
    if clip is not None:
        fields["clip_skip"] = clip
    if text(data.get("vae")) and data["vae"] != "Default (model)":
        fields["vae"] = data["vae"]
    if text(data.get("refiner_model")) and data["refiner_model"] != "None":
        notes.append(f"a refiner ({data['refiner_model']}) took over at {data.get('refiner_switch')}; not reproduced")
    full = data.get("full_prompt")
    prompt = "\n".join(p for p in full if isinstance(p, str)) if isinstance(full, list) and full else None
    full_negative = data.get("full_negative_prompt")
    negative = ("\n".join(p for p in full_negative if isinstance(p, str))
                if isinstance(full_negative, list) and full_negative else None)
    if not fields and prompt is None and not text(data.get("prompt")):
        raise ForeignUnreadable(FORMAT, "its JSON metadata holds no generation parameters",
                                "the metadata was written by another Fooocus fork or is damaged")
    return ForeignRequest(FORMAT, "'parameters' JSON (metadata scheme fooocus)", "comfyui",
                          prompt or text(data.get("prompt")) or "", negative or text(data.get("negative_prompt")) or "",
                          number(data.get("seed"), int), fields, text(data.get("base_model")), tuple(notes))
