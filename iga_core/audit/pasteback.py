"""Paste-back: from an infotext string or an image, recover what IGA recorded and how to reproduce it.

`paste_info_from_text` / `paste_info_from_image` give a `PasteInfo` (prompt, host params, the IGA infotext
fields and, from images, the full audit record). `compare_to_recipe` says whether the current checkpoint's
recipe is the one the image was made with. `reproduction` turns a `PasteInfo` into the exact request to
run again, as guard fields and as a txt2img API payload.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from iga_core.audit.image_meta import ImageMeta, read_image
from iga_core.audit.infotext import IgaInfotext, InfotextParts, from_infotext_params, parse_infotext
from iga_core.errors import IgaInvalid
from iga_core.recipe import Recipe

SAME, DIFFERENT, NONE = "same", "different", "none"

# host infotext key -> (request field, type); A1111 v1.10.1 processing.py:758-800, F adds Distilled CFG Scale
_HOST_FIELDS = {
    "Steps": ("steps", int), "Sampler": ("sampler", str), "Schedule type": ("schedule", str),
    "CFG scale": ("cfg", float), "Distilled CFG Scale": ("distilled_cfg", float), "Seed": ("seed", int),
    "Size-1": ("width", int), "Size-2": ("height", int), "Clip skip": ("clip_skip", int), "VAE": ("vae", str),
    "Denoising strength": ("denoising_strength", float),
}
REQUEST_FIELDS = ("sampler", "schedule", "steps", "cfg", "distilled_cfg", "vae", "clip_skip", "width", "height",
                  "denoising_strength")


class PasteInvalid(IgaInvalid):
    """Pasted parameters cannot be turned into a request."""


@dataclass(frozen=True)
class PasteInfo:
    """What an infotext or image says. `record` only comes from images; `problems` lists what disagreed
    or could not be read (e.g. infotext and record naming different recipes)."""

    source: str  # "infotext" | "image"
    prompt: str
    negative_prompt: str
    params: dict[str, str]
    iga: IgaInfotext
    record: dict | None = None
    problems: tuple[str, ...] = field(default=())

    @property
    def recipe_digest(self) -> str | None:
        """The full digest from the record, else the short one from infotext."""
        if self.record is not None and self.record.get("recipe"):
            return self.record["recipe"]["digest"]
        return self.iga.recipe_digest

    @property
    def preset(self) -> str | None:
        return self.record.get("preset") if self.record is not None else self.iga.preset

    @property
    def overrides(self) -> tuple[str, ...]:
        if self.record is not None:
            return tuple(o["rule_id"] for o in self.record["guard"]["overrides"])
        return self.iga.overrides

    @property
    def override_reasons(self) -> dict[str, str]:
        if self.record is None:
            return {}
        return {o["rule_id"]: o["reason"] for o in self.record["guard"]["overrides"] if o.get("reason")}

    @property
    def mode(self) -> str | None:
        return self.record["guard"]["mode"] if self.record is not None else self.iga.mode

    def to_dict(self) -> dict:
        return {"source": self.source, "prompt": self.prompt, "negative_prompt": self.negative_prompt,
                "params": self.params, "iga": self.iga.to_dict(), "record": self.record,
                "recipe_digest": self.recipe_digest, "preset": self.preset, "overrides": list(self.overrides),
                "override_reasons": self.override_reasons, "mode": self.mode, "problems": list(self.problems)}


def paste_info_from_text(text: str, *, record: dict | None = None, source: str = "infotext") -> PasteInfo:
    """Parse an infotext string (as in PNG Info or the `parameters` chunk)."""
    problems: list[str] = []
    try:
        parts = parse_infotext(text or "")
        iga = from_infotext_params(parts.params)
    except IgaInvalid as exc:
        if record is None:
            raise
        parts, iga = InfotextParts("", "", {}), IgaInfotext()
        problems.append(f"the infotext is unreadable, the image's audit record is used: {exc.message}")
    digest = (record.get("recipe") or {}).get("digest") if record is not None else None
    if digest and iga.recipe_digest and not digest.startswith(iga.recipe_digest):
        problems.append("the infotext's IGA recipe differs from the audit record's; the record is used")
    return PasteInfo(source=source, prompt=parts.prompt, negative_prompt=parts.negative_prompt,
                     params=parts.params, iga=iga, record=record, problems=tuple(problems))


def paste_info_from_image(image: Any) -> PasteInfo:
    """Read a PNG / JPEG / WebP (path or PIL image). A damaged audit record is reported in `problems`
    and the infotext is still used."""
    return paste_info_from_meta(read_image(image))


def paste_info_from_meta(meta: ImageMeta) -> PasteInfo:
    """`paste_info_from_image` for an image already read with `read_image`."""
    info = paste_info_from_text(meta.infotext or "", record=meta.record, source="image")
    if meta.record_error is not None:
        problem = f"the image's audit record is unreadable: {meta.record_error.message}"
        info = PasteInfo(**{**info.__dict__, "problems": (*info.problems, problem)})
    return info


def compare_to_recipe(info: PasteInfo | IgaInfotext | dict | None, recipe: Recipe | None) -> str:
    """"same" when `recipe` (the current checkpoint's) is the recipe the image was made with, "different"
    when it is another one, "none" when there is nothing to compare (no IGA recipe digest in the
    image, or no current recipe). A short digest from infotext matches by prefix."""
    if info is None or recipe is None:
        return NONE
    # a dict is an audit record
    digest = (info.get("recipe") or {}).get("digest") if isinstance(info, dict) else info.recipe_digest
    if not digest:
        return NONE
    return SAME if recipe.digest.startswith(digest.lower()) else DIFFERENT


# -------------------------------------------------------------------------------------------- reproduce


def _convert(key: str, value: str, kind: type) -> Any:
    try:
        if kind is int:
            return int(str(value).strip())
        if kind is float:
            number = float(str(value).strip())
            if not math.isfinite(number):
                raise ValueError(value)
            return number
    except ValueError as exc:
        raise PasteInvalid(f"infotext field {key!r} has value {value!r}, expected a number",
                           "the infotext was edited or damaged; fix that field") from exc
    return str(value)


def request_fields(info: PasteInfo) -> dict[str, Any]:
    """The generation parameters that ran: from the audit record when the image has one (exact), else
    from the host's infotext fields."""
    if info.record is not None:
        params = dict(info.record["params"])
        params.pop("seeds", None)
        params.pop("prediction_type", None)
        return {k: v for k, v in params.items() if v is not None}
    out: dict[str, Any] = {}
    for key, (name, kind) in _HOST_FIELDS.items():
        if key in info.params:
            out[name] = _convert(key, info.params[key], kind)
    if out.get("schedule") == "Automatic":
        out.pop("schedule")  # the host's word for "the sampler's default": let the guard resolve it
    return out


def api_payload(info: PasteInfo, fields: dict[str, Any]) -> dict:
    """A `/sdapi/v1/txt2img` body that asks for the same image, with the IGA script args that keep the
    recorded mode and overrides (preset "Custom": the request is sent as recorded, not re-derived)."""
    payload: dict[str, Any] = {"prompt": info.prompt, "negative_prompt": info.negative_prompt}
    names = {"seed": "seed", "steps": "steps", "cfg": "cfg_scale", "sampler": "sampler_name",
             "schedule": "scheduler", "width": "width", "height": "height",
             "distilled_cfg": "distilled_cfg_scale", "denoising_strength": "denoising_strength"}
    for key, api_name in names.items():
        if fields.get(key) is not None:
            payload[api_name] = fields[key]
    overrides: dict[str, Any] = {}
    if fields.get("clip_skip") is not None:
        overrides["CLIP_stop_at_last_layers"] = fields["clip_skip"]
    if fields.get("vae"):
        overrides["sd_vae"] = fields["vae"]
    if overrides:
        payload["override_settings"] = overrides
    args: dict[str, Any] = {"v": 1, "preset": "Custom", "mode": info.mode, "overrides": list(info.overrides),
                            "override_reasons": info.override_reasons,
                            "advanced": bool(info.record["guard"]["advanced"]) if info.record else info.iga.advanced}
    payload["alwayson_scripts"] = {"iga": {"args": [args]}}
    return payload


def reproduction(info: PasteInfo) -> dict:
    """Everything needed to run the image again: request fields, seed, preset, mode, overrides, payload."""
    fields = request_fields(info)
    return {
        "from": "audit record" if info.record is not None else "infotext",
        "seed": fields.get("seed"),
        "request": {k: fields[k] for k in REQUEST_FIELDS if k in fields},
        "preset": info.preset, "mode": info.mode, "overrides": list(info.overrides),
        "override_reasons": info.override_reasons, "recipe_digest": info.recipe_digest,
        "api_payload": api_payload(info, fields),
    }
