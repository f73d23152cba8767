"""Upgrade older recipe shapes to the current schema, one registered step at a time.

`detect_version(d)` names the shape of a document ("1.0.0", "flat-draft", ...). `migrate(d)` applies
the registered `MigrationStep`s from that shape until it reaches `SCHEMA_VERSION` and returns the new
dict with a list of human-readable changes. A later schema adds one step (`register(...)`) from the
previous version; nothing else changes.

The only older shape today is the seed paper's flat draft: one level of keys such as
`sampler: "Euler a"`, `scheduler: "Karras"`, `steps_default`, `steps_range: [min, max]`, `cfg_default`,
`cfg_range`, `vae_id`, `clip_skip`, `prediction_type`, `resolution: "1024x1024"`. Combined sampler names
("DPM++ 2M Karras") are split into sampler + schedule through `iga_core.vocab`. Nothing is guessed: a
missing required field stays missing (validation then says so), and keys the migration does not know
are kept under `x-legacy` so no information is lost.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iga_core import vocab
from iga_core.errors import IgaInvalid
from iga_core.recipe import deprecations
from iga_core.recipe.aliases import (
    implies_zero_terminal_snr,
    normalize_architecture,
    normalize_prediction_type,
)
from iga_core.recipe.canonical import with_metadata_digest
from iga_core.recipe.schema_file import KNOWN_VERSIONS, SCHEMA_VERSION, entry, line_of
from iga_core.recipe.shorthand import expand
from iga_core.schedules import GRID_IDS

FLAT_DRAFT = "flat-draft"

# Keys that only the flat draft has; any one of them (or a plain-string sampler/scheduler) marks the shape.
_FLAT_MARKERS = (
    "steps_default",
    "steps_range",
    "cfg_default",
    "cfg_range",
    "vae_id",
    "cfg_scale",
    "steps_min",
    "steps_max",
    "cfg_min",
    "cfg_max",
    "resolution_hints",
    "sigma_grid",
)


class MigrationError(IgaInvalid):
    """The document is not a recipe shape iga knows how to upgrade."""


@dataclass(frozen=True)
class MigrationStep:
    source: str  # the version (or shape name) this step upgrades from
    target: str  # the version it produces
    description: str
    upgrade: Callable[[dict], tuple[dict, list[str]]]


STEPS: dict[str, MigrationStep] = {}


def register(step: MigrationStep) -> MigrationStep:
    STEPS[step.source] = step
    return step


def _semver(text: str) -> tuple[int, int, int] | None:
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def detect_version(d: Any) -> str | None:
    """The shape of `d`: its `iga_version`, FLAT_DRAFT for the flat draft, None when it is no recipe shape."""
    if not isinstance(d, dict):
        return None
    flat = (
        any(k in d for k in _FLAT_MARKERS)
        or isinstance(d.get("sampler"), str)
        or isinstance(d.get("scheduler"), str)
        or isinstance(d.get("resolution"), str)
    )
    version = d.get("iga_version")
    if isinstance(version, str) and _semver(version) and _semver(version) >= (1, 0, 0) and not flat:
        return version
    if flat:
        return FLAT_DRAFT
    return version if isinstance(version, str) else None


def migrate(d: dict, target: str = SCHEMA_VERSION) -> tuple[dict, list[str]]:
    """Upgrade `d` to `target` (default: the current SCHEMA_VERSION; any version iga knows); returns (new
    dict, changes). `d` itself is never modified. A recipe already at the target's minor line is only
    rewritten in its canonical form (shorthand expanded, deprecated keys moved)."""
    version = detect_version(d)
    if version is None:
        raise MigrationError(
            "this is not a recipe iga knows: no iga_version and no flat-draft keys",
            'a recipe starts with "iga_version"; see the recipe format reference',
        )
    if target not in KNOWN_VERSIONS:
        raise MigrationError(f"iga knows no recipe version {target!r} to migrate to",
                             f"use one of: {', '.join(KNOWN_VERSIONS)}")
    current = _semver(target)
    out, changes = copy.deepcopy(d), []
    while version != target:
        parsed = _semver(version)
        if parsed is not None and parsed[:2] == current[:2]:
            break  # a patch release of the target version: same fields, nothing to do
        if parsed is not None and parsed > current:
            if parsed > _semver(SCHEMA_VERSION):
                raise MigrationError(
                    f"recipe version {version} is newer than this iga ({SCHEMA_VERSION})",
                    "update sd-webui-iga to read it",
                )
            raise MigrationError(f"recipe version {version} is newer than {target}: iga migrates only forward",
                                 f"migrate to {version} or later")
        step = STEPS.get(line_of(version) or version)
        if step is None:
            raise MigrationError(
                f"no migration from recipe version {version!r}",
                f"known starting points: {', '.join(sorted(STEPS))}",
            )
        out, step_changes = step.upgrade(out)
        changes += step_changes
        version = step.target
    # the design's shorthand is valid as it is; a migrated recipe is written in the canonical form
    out, expansions = expand(out)
    changes += [e.note() for e in expansions]
    # keys the schema marks deprecated with a plain replacement ("migrate": "move") go to their place
    out, moved = deprecations.move(out)
    changes += moved
    if changes and isinstance(out.get("hashes"), dict) and "metadata_sha256" in out["hashes"]:
        out = with_metadata_digest(out)
        changes.append("hashes.metadata_sha256 recomputed for the migrated content")
    return out, changes


# --- the flat draft -> 1.0.0 ------------------------------------------------------------------------


class _Flat:
    """The keys of a flat draft not yet consumed, and the changes made so far."""

    def __init__(self, d: dict) -> None:
        self.left = dict(d)
        self.changes: list[str] = []

    def take(self, *names: str) -> tuple[str | None, Any]:
        """Pop the first of `names` present (aliases of one field); later aliases become legacy."""
        found: tuple[str | None, Any] = (None, None)
        for name in names:
            if name in self.left and found[0] is None:
                found = (name, self.left.pop(name))
        return found

    def note(self, text: str) -> None:
        self.changes.append(text)


def _number(flat: _Flat, key: str, value: Any, integer: bool) -> Any:
    """Numbers written as strings ("20", "7.5") become numbers; anything else is left for validation."""
    if isinstance(value, str):
        try:
            parsed = int(value) if integer else float(value)
        except ValueError:
            return value
        flat.note(f"{key}: text {value!r} read as the number {parsed}")
        return parsed
    return value


def _pair(value: Any) -> tuple[Any, Any] | None:
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0], value[1]
    if isinstance(value, dict) and "min" in value and "max" in value:
        return value["min"], value["max"]
    if isinstance(value, str) and re.fullmatch(r"\s*[\d.]+\s*[-,–]\s*[\d.]+\s*", value):
        a, b = re.split(r"[-,–]", value)
        return a.strip(), b.strip()
    return None


def _size(text: Any) -> dict | None:
    if isinstance(text, dict) and "width" in text and "height" in text:
        return {"width": text["width"], "height": text["height"]}
    if isinstance(text, (list, tuple)) and len(text) == 2 and all(isinstance(v, int) for v in text):
        return {"width": text[0], "height": text[1]}
    m = re.fullmatch(r"\s*(\d+)\s*[x×*,]\s*(\d+)\s*", str(text))
    return {"width": int(m[1]), "height": int(m[2])} if m else None


def _split_sampler(flat: _Flat, where: str, sampler: str) -> tuple[str, str | None]:
    """ "DPM++ 2M Karras" -> ("DPM++ 2M", "Karras") through the vocabulary; a plain name stays as it is."""
    try:
        vocab.resolve_sampler(sampler)
        return sampler, None  # a plain sampler name: nothing to split
    except vocab.UnknownName:
        pass
    try:
        sampler_info, schedule_info = vocab.normalize(sampler, None)
    except vocab.UnknownName:
        return sampler, None  # validation reports the unknown name with suggestions
    if schedule_info is None:
        return sampler_info.label, None
    flat.note(
        f"{where}: combined name {sampler!r} split into sampler {sampler_info.label!r} "
        f"and schedule {schedule_info.label!r}"
    )
    return sampler_info.label, schedule_info.label


def _sampler_and_schedule(flat: _Flat, where: str, sampler: Any, schedule: Any) -> tuple[Any, Any]:
    if not isinstance(sampler, str):
        return sampler, schedule
    name, split_schedule = _split_sampler(flat, where, sampler)
    if (
        split_schedule is not None
        and isinstance(schedule, str)
        and schedule.strip()
        and schedule.strip().casefold() != split_schedule.casefold()
    ):
        flat.note(
            f"{where}: the separate schedule {schedule!r} wins over {split_schedule!r} from the sampler name"
        )
        return name, schedule
    return name, schedule if isinstance(schedule, str) and schedule.strip() else split_schedule or schedule


def _range(
    flat: _Flat,
    field: str,
    integer: bool,
    default_keys: tuple[str, ...],
    range_keys: tuple[str, ...],
    min_keys: tuple[str, ...],
    max_keys: tuple[str, ...],
) -> dict | None:
    out: dict[str, Any] = {}
    key, value = flat.take(*default_keys)
    if key is not None:
        out["default"] = _number(flat, key, value, integer)
        flat.note(f"{key} -> {field}.default")
    key, value = flat.take(*range_keys)
    if key is not None:
        pair = _pair(value)
        if pair is None:
            flat.left[key] = value  # not a [min, max] pair: kept under x-legacy
        else:
            out["min"], out["max"] = (_number(flat, key, v, integer) for v in pair)
            flat.note(f"{key} [min, max] -> {field}.min and {field}.max")
    for bound, keys in (("min", min_keys), ("max", max_keys)):
        key, value = flat.take(*keys)
        if key is not None:
            out[bound] = _number(flat, key, value, integer)
            flat.note(f"{key} -> {field}.{bound}")
    return out or None


def _upgrade_flat_draft(d: dict) -> tuple[dict, list[str]]:
    flat = _Flat(d)
    out: dict[str, Any] = {"iga_version": "1.0.0"}
    key, old = flat.take("iga_version", "version", "schema_version")
    flat.note(f"iga_version: {old!r} -> '1.0.0'" if key else "iga_version '1.0.0' added")

    key, value = flat.take("model_id", "model", "model_name", "id", "name")
    if key is not None:
        out["model_id"] = value
        if key != "model_id":
            flat.note(f"{key} -> model_id")
    key, value = flat.take("title")
    if key is not None:
        out["title"] = value
    if "model_id" not in out and isinstance(out.get("title"), str):
        out["model_id"] = re.sub(r"[^a-z0-9]+", "-", out["title"].lower()).strip("-") or out["title"]
        flat.note(f"model_id {out['model_id']!r} made from the title (none was given)")
    key, value = flat.take("notes", "description")
    if key is not None:
        out["notes"] = value
        if key != "notes":
            flat.note(f"{key} -> notes")

    key, value = flat.take("architecture", "base_model", "arch", "model_type")
    if key is not None:
        arch = normalize_architecture(value) if isinstance(value, str) else None
        if arch is None:
            flat.left[key] = value
        else:
            out["architecture"] = arch
            if arch != value:
                flat.note(f"{key} {value!r} -> architecture {arch!r}")

    zero_snr_from_prediction = False
    key, value = flat.take("prediction_type", "parameterization", "prediction")
    if key is not None:
        pred = normalize_prediction_type(value) if isinstance(value, str) else None
        out["prediction_type"] = pred or value
        if pred is not None and pred != value:
            flat.note(f"{key} {value!r} -> prediction_type {pred!r}")
        zero_snr_from_prediction = isinstance(value, str) and implies_zero_terminal_snr(value)

    _, sampler = flat.take("sampler", "sampler_name")
    _, schedule = flat.take("scheduler", "schedule", "schedule_type", "scheduler_type")
    if isinstance(sampler, dict) or isinstance(schedule, dict):
        out["sampler"], out["scheduler"] = sampler, schedule  # already nested: leave for validation
    else:
        sampler, schedule = _sampler_and_schedule(flat, "sampler", sampler, schedule)
        if sampler is not None:
            out["sampler"] = {"name": sampler}
            flat.note(f"sampler {sampler!r} -> sampler.name")
        if schedule is None and sampler is not None:
            out["scheduler"] = {"name": "Automatic"}
            flat.note("no schedule given: scheduler.name set to 'Automatic' (the sampler's own default)")
        elif schedule is not None:
            out["scheduler"] = {"name": schedule}
            flat.note(f"schedule {schedule!r} -> scheduler.name")
    scheduler = out.get("scheduler") if isinstance(out.get("scheduler"), dict) else None
    if scheduler is not None:
        _scheduler_details(flat, scheduler, zero_snr_from_prediction)

    steps = _range(
        flat,
        "steps",
        True,
        ("steps_default", "steps", "default_steps"),
        ("steps_range",),
        ("steps_min", "min_steps"),
        ("steps_max", "max_steps"),
    )
    if steps is not None:
        out["steps"] = steps
    cfg = _range(
        flat,
        "cfg",
        False,
        ("cfg_default", "cfg_scale", "cfg", "guidance_scale", "default_cfg"),
        ("cfg_range",),
        ("cfg_min", "min_cfg"),
        ("cfg_max", "max_cfg"),
    )
    distilled = _range(
        flat,
        "cfg.distilled",
        False,
        ("distilled_cfg_default", "distilled_cfg", "guidance"),
        ("distilled_cfg_range",),
        ("distilled_cfg_min",),
        ("distilled_cfg_max",),
    )
    key, rescale = flat.take("cfg_rescale", "guidance_rescale", "rescale_cfg")
    if cfg is not None or distilled is not None or key is not None:
        cfg = cfg or {}
        if distilled is not None:
            cfg["distilled"] = distilled
        if key is not None:
            cfg["rescale"] = _number(flat, key, rescale, False)
            flat.note(f"{key} -> cfg.rescale")
        out["cfg"] = cfg

    vae: dict[str, Any] = {}
    for names, target in (
        (("vae_id", "vae", "vae_name"), "id"),
        (("vae_sha256", "vae_hash"), "sha256"),
        (("vae_embedded", "baked_vae"), "embedded"),
    ):
        key, value = flat.take(*names)
        if key is not None:
            vae[target] = value
            flat.note(f"{key} -> vae.{target}")
    if vae:
        out["vae"] = vae

    key, value = flat.take("clip_skip", "clipskip", "encoder_layer")
    if key is not None:
        out["clip_skip"] = _number(flat, key, value, True)

    _resolution(flat, out)
    _constraints(flat, out)
    _presets(flat, out)
    _hashes(flat, out)

    for k in [k for k in flat.left if k.startswith("x-")]:
        out[k] = flat.left.pop(k)
    if flat.left:
        out["x-legacy"] = {**(out.get("x-legacy") or {}), **flat.left}
        flat.note(f"kept keys the migration does not know under x-legacy: {', '.join(sorted(flat.left))}")
    return out, flat.changes


def _scheduler_details(flat: _Flat, scheduler: dict, zero_snr_from_prediction: bool) -> None:
    key, value = flat.take("spacing", "timestep_spacing")
    if key is not None:
        scheduler["spacing"] = value
        flat.note(f"{key} -> scheduler.spacing")
    key, value = flat.take("zero_terminal_snr", "ztsnr", "rescale_betas_zero_snr", "zsnr")
    if key is not None:
        scheduler["zero_terminal_snr"] = value
        flat.note(f"{key} -> scheduler.zero_terminal_snr")
    elif zero_snr_from_prediction:
        scheduler["zero_terminal_snr"] = True
        flat.note("prediction type 'v-zsnr' -> scheduler.zero_terminal_snr true")
    for kind in ("sigmas", "timesteps"):
        key, values = flat.take(kind)
        if key is not None:
            scheduler["grid"] = {"kind": kind, "values": values}
            flat.note(f"{kind} list -> scheduler.grid (kind {kind!r})")
    key, value = flat.take("canonical_steps")
    if key is not None:
        scheduler["canonical_steps"] = value
    for name in ("sigma_min", "sigma_max"):
        key, value = flat.take(name)
        if key is not None:
            scheduler[name] = _number(flat, key, value, False)
            flat.note(f"{key} -> scheduler.{name}")
    _sigma_grid(flat, scheduler)
    key, value = flat.take("allowed_steps")
    if key is not None and "subsample" not in scheduler:
        scheduler["subsample"] = {"allowed_steps": value}
        flat.note("allowed_steps -> scheduler.subsample.allowed_steps")
    elif key is not None:
        flat.left[key] = value


def _sigma_grid(flat: _Flat, scheduler: dict) -> None:
    """The design's `sigma_grid` (§2.2) -> scheduler.grid (+ canonical_steps, subsample, sigma range).

    Forms read: a list of numbers (sigmas, the last the final sigma); {"sigmas": [...]} or
    {"timesteps": [...]}; {"kind": "sigmas" | "timesteps", "values": [...]}; a rule, {"kind": "rule",
    "rule": "karras", "params": {...}} or {"rule": "karras", "rho": 7.0} (loose numeric params). Inside
    the object, `canonical_steps` (or `steps`), `subsample` / `allowed_steps`, `sigma_min` / `sigma_max` go
    to the scheduler. Anything not understood stays under x-legacy."""
    key, value = flat.take("sigma_grid")
    if key is None:
        return
    if "grid" in scheduler:
        flat.left[key] = value  # a `sigmas` / `timesteps` key already gave the grid
        return
    if isinstance(value, list):
        scheduler["grid"] = {"kind": "sigmas", "values": value}
        flat.note(f"{key} (a list) -> scheduler.grid (kind 'sigmas')")
        return
    if not isinstance(value, dict):
        flat.left[key] = value
        return
    rest = dict(value)
    grid: dict[str, Any] | None = None
    kind = rest.get("kind")
    if kind in ("sigmas", "timesteps") and "values" in rest:
        grid = {"kind": rest.pop("kind"), "values": rest.pop("values")}
    elif kind is None and any(k in rest for k in ("sigmas", "timesteps")):
        kind = "sigmas" if "sigmas" in rest else "timesteps"
        grid = {"kind": kind, "values": rest.pop(kind)}
    elif isinstance(rest.get("rule"), str) or kind in GRID_IDS or (kind == "rule"):
        rule_name = rest.pop("rule", None) if kind in (None, "rule") else kind
        rest.pop("kind", None)
        if isinstance(rule_name, str):
            params = rest.pop("params", None)
            params = dict(params) if isinstance(params, dict) else {}
            for name in [k for k, v in rest.items() if k not in _GRID_KEYS and isinstance(v, (int, float))
                         and not isinstance(v, bool)]:
                params[name] = rest.pop(name)
            grid = {"kind": "rule", "rule": rule_name, **({"params": params} if params else {})}
    if grid is None:
        flat.left[key] = value
        return
    scheduler["grid"] = grid
    flat.note(f"{key} -> scheduler.grid (kind {grid['kind']!r})")
    for names, target in ((("canonical_steps", "steps"), "canonical_steps"), (("sigma_min",), "sigma_min"),
                          (("sigma_max",), "sigma_max")):
        name = next((n for n in names if n in rest), None)
        if name is not None:
            scheduler[target] = rest.pop(name)
            flat.note(f"{key}.{name} -> scheduler.{target}")
    name = next((n for n in ("subsample", "allowed_steps") if n in rest), None)
    if name is not None:
        sub = rest.pop(name)
        scheduler["subsample"] = sub if isinstance(sub, dict) else {"allowed_steps": sub}
        flat.note(f"{key}.{name} -> scheduler.subsample")
    if rest:
        flat.left[key] = rest


#: keys of a `sigma_grid` object that are not rule params
_GRID_KEYS = ("canonical_steps", "steps", "sigma_min", "sigma_max", "subsample", "allowed_steps")


def _size_list(value: Any) -> list[dict] | None:
    """A size or a list of sizes ("1024x1024", [1024, 1024], {width, height}) as a list of size objects."""
    items = value if isinstance(value, list) and not _size(value) else [value]
    sizes = [_size(v) for v in items]
    return sizes if sizes and all(sizes) else None


def _resolution_hints(flat: _Flat, resolution: dict) -> None:
    """The design's `resolution_hints` (§2.2): a size or list of sizes (preferred), or an object with
    `preferred` (also `sizes`, `default`, `recommended`) and `max` (also `maximum`); each its place."""
    key, value = flat.take("resolution_hints")
    if key is None:
        return
    if not isinstance(value, dict):
        sizes = _size_list(value)
        if sizes is None:
            flat.left[key] = value
            return
        resolution["preferred"] = sizes
        flat.note(f"{key} {value!r} -> resolution.preferred")
        return
    rest = dict(value)
    for names, target in ((("preferred", "sizes", "default", "recommended"), "preferred"), (("max", "maximum"), "max")):
        name = next((n for n in names if n in rest), None)
        if name is None:
            continue
        sizes = _size_list(rest[name])
        if sizes is None or (target == "max" and len(sizes) != 1):
            continue
        rest.pop(name)
        resolution[target] = sizes if target == "preferred" else sizes[0]
        flat.note(f"{key}.{name} -> resolution.{target}")
    if rest:
        flat.left[key] = rest


def _resolution(flat: _Flat, out: dict) -> None:
    resolution: dict[str, Any] = {}
    _resolution_hints(flat, resolution)
    key, value = (None, None) if "preferred" in resolution else flat.take(
        "resolution", "resolutions", "preferred_resolution", "base_resolution")
    if key is not None:
        items = value if isinstance(value, list) and not _size(value) else [value]
        sizes = [_size(v) for v in items]
        if all(sizes) and sizes:
            resolution["preferred"] = sizes
            flat.note(f"{key} {value!r} -> resolution.preferred")
        else:
            flat.left[key] = value
    if "preferred" not in resolution:
        _, width = flat.take("width")
        _, height = flat.take("height")
        if isinstance(width, int) and isinstance(height, int):
            resolution["preferred"] = [{"width": width, "height": height}]
            flat.note("width and height -> resolution.preferred")
    key, value = (None, None) if "max" in resolution else flat.take("max_resolution", "resolution_max")
    if key is not None and _size(value):
        resolution["max"] = _size(value)
        flat.note(f"{key} -> resolution.max")
    elif key is not None:
        flat.left[key] = value
    if resolution:
        out["resolution"] = resolution


def _constraints(flat: _Flat, out: dict) -> None:
    constraints: dict[str, Any] = {}
    for target, names in (
        ("forbid_samplers", ("forbid_samplers", "forbidden_samplers")),
        ("forbid_schedules", ("forbid_schedules", "forbidden_schedules", "forbidden_schedulers")),
        ("allow_samplers", ("allow_samplers", "allowed_samplers")),
        ("allow_schedules", ("allow_schedules", "allowed_schedules", "allowed_schedulers")),
    ):
        key, value = flat.take(*names)
        if key is not None:
            constraints[target] = value
            flat.note(f"{key} -> constraints.{target}")
    if constraints:
        out["constraints"] = constraints


_PRESET_KEYS = {
    "name": "name",
    "description": "description",
    "steps": "steps",
    "cfg": "cfg",
    "cfg_scale": "cfg",
    "distilled_cfg": "distilled_cfg",
    "sampler": "sampler",
    "scheduler": "scheduler",
    "schedule": "scheduler",
    "schedule_type": "scheduler",
    "width": "width",
    "height": "height",
}


def _presets(flat: _Flat, out: dict) -> None:
    key, value = flat.take("presets")
    if key is None:
        return
    if not isinstance(value, list) or not all(isinstance(p, dict) for p in value):
        out["presets"] = value  # validation explains what a preset list looks like
        return
    presets = []
    for i, old in enumerate(value):
        preset: dict[str, Any] = {}
        for k, v in old.items():
            if k in _PRESET_KEYS:
                preset[_PRESET_KEYS[k]] = v
            elif k in ("resolution", "size") and _size(v):
                preset.update(_size(v))
            else:
                preset[k if k.startswith("x-") else f"x-{k}"] = v
                if not k.startswith("x-"):
                    flat.note(f"presets[{i}].{k} kept as x-{k}")
        if isinstance(preset.get("sampler"), str):
            preset["sampler"], schedule = _sampler_and_schedule(
                flat, f"presets[{i}].sampler", preset["sampler"], preset.get("scheduler")
            )
            if schedule is not None:
                preset["scheduler"] = schedule
        presets.append(preset)
    out["presets"] = presets


def _hashes(flat: _Flat, out: dict) -> None:
    _, nested = flat.take("hashes")
    hashes = dict(nested) if isinstance(nested, dict) else {}
    for name in ("weights_sha256", "tensor_index_sha256", "metadata_sha256", "source_file_sha256"):
        key, value = flat.take(name)
        if key is not None:
            hashes[name] = value
            flat.note(f"{key} -> hashes.{name}")
    if hashes:
        out["hashes"] = hashes


register(
    MigrationStep(
        source=FLAT_DRAFT,
        target="1.0.0",
        description="the seed paper's flat draft (steps_default, steps_range, cfg_range, vae_id, ...) to nested 1.0.0",
        upgrade=_upgrade_flat_draft,
    )
)


def _upgrade_1_0(d: dict) -> tuple[dict, list[str]]:
    """1.0.x -> 1.1.0: only the version changes (1.1.0 adds the optional `pipelines`)."""
    out = {**d, "iga_version": "1.1.0"}
    return out, [f"iga_version {d.get('iga_version')!r} -> '1.1.0' ({entry('1.1.0')['upgrade']})"]


register(
    MigrationStep(
        source="1.0.0",
        target="1.1.0",
        description="1.0.0 to 1.1.0: adds the optional pipelines; nothing else changes",
        upgrade=_upgrade_1_0,
    )
)


def _upgrade_1_1(d: dict) -> tuple[dict, list[str]]:
    """1.1.x -> 1.2.0: only the version changes (1.2.0 adds architecture names)."""
    out = {**d, "iga_version": "1.2.0"}
    return out, [f"iga_version {d.get('iga_version')!r} -> '1.2.0' ({entry('1.2.0')['upgrade']})"]


register(
    MigrationStep(
        source="1.1.0",
        target="1.2.0",
        description="1.1.0 to 1.2.0: adds architecture names for the newer model families; nothing else changes",
        upgrade=_upgrade_1_1,
    )
)
