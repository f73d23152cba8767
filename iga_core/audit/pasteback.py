"""Paste-back: from an infotext string or an image, recover what IGA recorded and how to reproduce it.

`paste_info_from_text` / `paste_info_from_image` give a `PasteInfo` (prompt, host params, the IGA infotext
fields and, from images, the full audit record). `compare_to_recipe` says whether the current checkpoint's
recipe is the one the image was made with. `reproduction` turns a `PasteInfo` into the exact request to
run again, as guard fields and as a txt2img API payload.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import PurePath
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
    from the host's infotext fields (a pre-1.9 A1111 sampler name with the schedule it ran)."""
    return _fields_and_notes(info)[0]


def _fields_and_notes(info: PasteInfo) -> tuple[dict[str, Any], list[str]]:
    if info.record is not None:
        params = dict(info.record["params"])
        params.pop("seeds", None)
        params.pop("prediction_type", None)
        return {k: v for k, v in params.items() if v is not None}, []
    out: dict[str, Any] = {}
    for key, (name, kind) in _HOST_FIELDS.items():
        if key in info.params:
            out[name] = _convert(key, info.params[key], kind)
    notes = _pre19(info.params, out)
    if out.get("schedule") == "Automatic":
        out.pop("schedule")  # the host's word for "the sampler's default": let the guard resolve it
    return out, notes


def _pre19(params: dict[str, str], out: dict[str, Any]) -> list[str]:
    """Before v1.9 an A1111 sampler name carried its schedule: a bare "DPM++ 2M" ran Uniform sigmas, and 1.9+
    reads it as Automatic (Karras). For an infotext whose `Version` is older than 1.9, send the schedule it
    ran (the Settings "Scheduler type" override it wrote as "Schedule type" wins, as it did then: A1111 v1.8.0
    sd_samplers_kdiffusion.py:101-118). Without a Version the era cannot be told: say so when it matters."""
    from iga_core import vocab

    name = out.get("sampler")
    old = vocab.pre19_sampler(name) if name else None
    if old is None:
        return []
    era = vocab.is_pre19_infotext(params)
    current = vocab.normalize(old.sampler.label)[1]  # what 1.9+ runs for the bare name
    if era:
        out["sampler"] = old.sampler.label
        given = params.get("Schedule type")
        if given is not None:
            out["schedule"] = vocab.resolve_schedule(given).label
        elif old.schedule is not None:
            out["schedule"] = old.schedule.label
        if out.get("schedule") and current is not None and out["schedule"] != current.label:
            return [f"made with A1111 {params.get('Version')} (before 1.9): {name!r} ran {old.sampler.label} on "
                    f"the {out['schedule']} schedule, so Schedule type {out['schedule']} is sent (1.9 and later "
                    f"read a bare {old.sampler.label} as {current.label})"]
        return []
    if (era is None and "Schedule type" not in params and old.schedule is not None and current is not None
            and old.name == old.sampler.label and old.schedule.id != current.id):
        return [f"the infotext has no Version: if it was made with A1111 before 1.9, {name!r} ran the "
                f"{old.schedule.label} schedule, not {current.label}; send Schedule type {old.schedule.label} then"]
    return []


def checkpoint_for_api(info: PasteInfo, checkpoint: str | None = None) -> str | None:
    """The checkpoint as `override_settings.sd_model_checkpoint` takes it: any of the host's checkpoint
    aliases works (A1111 v1.10.1 sd_models.py:96-100: the file name without folder or extension, the title,
    the short sha256, the sha256). The file given (`checkpoint`) first, else the audit record's, else the
    infotext's "Model" (name_for_extra, processing.py create_infotext), else its "Model hash" (the short
    sha256, an alias only once the host has hashed the file)."""
    if checkpoint:
        return PurePath(checkpoint).stem
    name = ((info.record or {}).get("checkpoint") or {}).get("name") if info.record is not None else None
    if name:
        return PurePath(str(name).replace("\\", "/")).stem
    for key in ("Model", "Model hash"):
        if info.params.get(key):
            return str(info.params[key])
    return None


#: what the hosts do with a checkpoint override they cannot find (A1111 v1.10.1 processing.py:828-830)
CHECKPOINT_NOTE = ("the WebUI drops an sd_model_checkpoint it cannot find and uses the loaded model without a "
                   "word: check that the checkpoint is installed")


def api_payload(info: PasteInfo, fields: dict[str, Any], checkpoint: str | None = None) -> dict:
    """A `/sdapi/v1/txt2img` body that asks for the same image, with the IGA script args that keep the
    recorded mode and overrides (preset "Custom": the request is sent as recorded, not re-derived), and the
    checkpoint in `override_settings.sd_model_checkpoint` (see `checkpoint_for_api`)."""
    payload: dict[str, Any] = {"prompt": info.prompt, "negative_prompt": info.negative_prompt}
    names = {"seed": "seed", "steps": "steps", "cfg": "cfg_scale", "sampler": "sampler_name",
             "schedule": "scheduler", "width": "width", "height": "height",
             "distilled_cfg": "distilled_cfg_scale", "denoising_strength": "denoising_strength"}
    for key, api_name in names.items():
        if fields.get(key) is not None:
            payload[api_name] = fields[key]
    overrides: dict[str, Any] = {}
    model = checkpoint_for_api(info, checkpoint)
    if model:
        overrides["sd_model_checkpoint"] = model
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


def reproduction(info: PasteInfo, checkpoint: str | None = None) -> dict:
    """Everything needed to run the image again: request fields, seed, preset, mode, overrides, the
    checkpoint, payload, and notes on what the reproduction had to correct or cannot know."""
    fields, notes = _fields_and_notes(info)
    model = checkpoint_for_api(info, checkpoint)
    if model:
        notes.append(CHECKPOINT_NOTE)
    return {
        "from": "audit record" if info.record is not None else "infotext",
        "format": "IGA" if info.record is not None else "A1111",
        "seed": fields.get("seed"),
        "request": {k: fields[k] for k in REQUEST_FIELDS if k in fields},
        "checkpoint": model,
        "preset": info.preset, "mode": info.mode, "overrides": list(info.overrides),
        "override_reasons": info.override_reasons, "recipe_digest": info.recipe_digest,
        "notes": notes,
        "api_payload": api_payload(info, fields, checkpoint),
    }


# ------------------------------------------------------------------------------------------ other tools


def reproduction_from_foreign(found, checkpoint: str | None = None) -> dict:
    """`reproduction` for an image another tool made (`iga_core.audit.foreign.ForeignRequest`): the request in
    the tool's own names and semantics (its `dialect`, which the guard reads), and a txt2img payload with the
    names A1111 / Forge need for the same run (`vocab.translate`: ComfyUI's ddim is asked for as Euler)."""
    from iga_core import vocab

    fields = dict(found.fields)
    notes = list(found.notes)
    payload: dict[str, Any] = {"prompt": found.prompt, "negative_prompt": found.negative_prompt}
    if found.seed is not None:
        payload["seed"] = found.seed
    for key, api_name in (("steps", "steps"), ("cfg", "cfg_scale"), ("width", "width"), ("height", "height"),
                          ("distilled_cfg", "distilled_cfg_scale"), ("denoising_strength", "denoising_strength")):
        if fields.get(key) is not None:
            payload[api_name] = fields[key]
    if fields.get("sampler"):
        try:
            names = vocab.translate(fields["sampler"], fields.get("schedule"), found.dialect)
        except (vocab.UnknownName, vocab.ConflictingNames) as exc:
            notes.append(f"{exc.message}: the payload names no sampler")
        else:
            notes += list(names.notes)
            if names.sampler:
                payload["sampler_name"] = names.sampler
            if names.schedule:
                payload["scheduler"] = names.schedule
            if names.eta is not None:
                payload["eta"] = names.eta
    overrides: dict[str, Any] = {}
    model = PurePath(checkpoint).stem if checkpoint else (
        PurePath(found.checkpoint.replace("\\", "/")).stem if found.checkpoint else None)
    if model:
        overrides["sd_model_checkpoint"] = model
        notes.append(CHECKPOINT_NOTE)
    if fields.get("clip_skip") is not None:
        overrides["CLIP_stop_at_last_layers"] = fields["clip_skip"]
    if fields.get("vae"):
        overrides["sd_vae"] = fields["vae"]
    overrides.update(found.settings)
    if overrides:
        payload["override_settings"] = overrides
    args = {"v": 1, "preset": "Custom", "mode": None, "overrides": [], "override_reasons": {}, "advanced": False}
    payload["alwayson_scripts"] = {"iga": {"args": [args]}}
    request = {k: fields[k] for k in REQUEST_FIELDS if k in fields}
    if found.dialect is not None and ("sampler" in request or "schedule" in request):
        request["dialect"] = found.dialect
    return {
        "from": f"{found.format} metadata ({found.source})", "format": found.format, "seed": found.seed,
        "request": request, "checkpoint": model, "preset": None, "mode": None, "overrides": [],
        "override_reasons": {}, "recipe_digest": None, "notes": notes, "api_payload": payload,
    }
