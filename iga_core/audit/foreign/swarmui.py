"""SwarmUI images: its own JSON in the `parameters` text.

SwarmUI (src/Text2Image/T2IParamInput.cs:405-425 GenFullMetadataObject; src/Media/ImageFile.cs:300-303)
writes PNG text `parameters` = {"sui_image_params": {...}, "sui_extra_data": {...}}, the params keyed by
their registered ids (T2IParamTypes.cs CleanTypeName: lower-case, no spaces): prompt, negativeprompt, seed,
steps, cfgscale, width, height, model, vae, sampler, scheduler (ComfyUI names, plus SwarmUI's own schedulers),
clipstopatlayer (-2 = clip skip 2), initimagecreativity (img2img strength).
"""

from __future__ import annotations

from iga_core.audit.foreign import ForeignRequest, ForeignUnreadable, number, parameters_json, text

FORMAT = "SwarmUI"


def detect(meta) -> bool:
    data = parameters_json(meta)
    return data is not None and "sui_image_params" in data


def read(meta) -> ForeignRequest:
    params = parameters_json(meta).get("sui_image_params")
    if not isinstance(params, dict):
        raise ForeignUnreadable(FORMAT, "its sui_image_params is not an object", "the metadata is damaged")
    fields: dict = {}
    notes: list[str] = []
    for key, name, kind in (("steps", "steps", int), ("cfgscale", "cfg", float), ("width", "width", int),
                            ("height", "height", int)):
        value = number(params.get(key), kind, low=0)
        if value is not None:
            fields[name] = value
    for key, name in (("sampler", "sampler"), ("scheduler", "schedule"), ("vae", "vae")):
        if text(params.get(key)):
            fields[name] = params[key]
    layer = number(params.get("clipstopatlayer"), int)
    if layer is not None and layer < 0:
        fields["clip_skip"] = -layer
    creativity = number(params.get("initimagecreativity"), float)
    if creativity is not None and 0 <= creativity <= 1:
        fields["denoising_strength"] = creativity
        notes.append("made from an init image (img2img), which the file does not hold")
    return ForeignRequest(FORMAT, "PNG text 'parameters' (sui_image_params)", "swarmui",
                          text(params.get("prompt")) or "", text(params.get("negativeprompt")) or "",
                          number(params.get("seed"), int), fields, text(params.get("model")), tuple(notes))
