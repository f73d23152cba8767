"""Recipe composition: the effective recipe when add-ons (LoRAs) with their own recipes are active.

    compose(base, [("lcm-lora-sdxl", lora_recipe, 1.0), ("ink-style", style_recipe, 0.8)])
        -> Composition(recipe, sources, findings, parts)

An add-on recipe is an ordinary recipe (stamped into the LoRA, in a sidecar, or from the registry). It
either **replaces** the base's sampling recipe or **narrows** it:

- *replace* (distillation add-ons: LCM-LoRA, SDXL-Lightning, Hyper-SD, DMD2 LoRAs): the add-on's
  `sampler`, `scheduler` (grid included), `steps`, `cfg`, `constraints` and `presets` take the place of
  the base's, because the add-on changes how the model must be sampled. An add-on replaces when its
  recipe says `"x-compose": "replace"`, or, without that key, when it pins a step grid
  (`scheduler.grid`, `canonical_steps` or `subsample`) or lists `constraints.allow_samplers`.
- *narrow* (style and concept add-ons; `"x-compose": "narrow"` forces it): ranges intersect (steps, CFG,
  distilled CFG), `resolution.max` takes the smaller side, forbid lists add up, allow lists intersect.
  Its own sampler and scheduler names are not applied: the base's defaults stay, moved into the
  narrowed range when they fall outside it.

The base keeps what belongs to the model: `model_id`, `architecture`, `prediction_type`, `vae`,
`clip_skip`. Weight 0 means inactive. Disagreements become findings (rule ids `IGA-M…`, README
"Recipe composition"); the composed recipe is still produced, keeping the base side of every conflict,
so the guard can run on it. The result carries `x-composition` (what was composed) and a fresh
`hashes.metadata_sha256`; it has no `weights_sha256`, since no single file holds it.
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field

from iga_core import vocab
from iga_core.errors import IgaInvalid
from iga_core.guard.verdict import Finding, range_text
from iga_core.recipe import validate_recipe, with_metadata_digest

REPLACE, NARROW = "replace", "narrow"
#: the fields a replacing add-on takes over
SAMPLING_FIELDS = ("sampler", "scheduler", "steps", "cfg", "constraints", "presets")


class ComposeError(IgaInvalid):
    """The composition cannot start: the base recipe is invalid or an add-on entry is malformed."""


@dataclass(frozen=True)
class Part:
    """One input of the composition: the base or an add-on, its weight and what it did."""

    name: str
    model_id: str | None
    weight: float | None  # None for the base
    role: str  # "base" | "replace" | "narrow" | "inactive" | "ignored"

    def to_dict(self) -> dict:
        return {"name": self.name, "model_id": self.model_id, "weight": self.weight, "role": self.role}


@dataclass(frozen=True)
class Composition:
    """`recipe`: the effective recipe (None when there is neither a base nor an active add-on);
    `sources`: recipe field -> the part it came from ("base" or an add-on name); `findings`: conflicts."""

    recipe: dict | None
    sources: dict[str, str] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    parts: tuple[Part, ...] = ()

    @property
    def composed(self) -> bool:
        return any(p.role in (REPLACE, NARROW) for p in self.parts)

    def to_dict(self) -> dict:
        return {"recipe": self.recipe, "sources": dict(self.sources),
                "findings": [f.to_dict() for f in self.findings], "parts": [p.to_dict() for p in self.parts]}


def _finding(rule_id: str, severity: str, field_name: str, expected, actual, reason: str, remedy: str) -> Finding:
    return Finding(rule_id, severity, field_name, expected, actual, reason, remedy)


def addon_mode(recipe: dict) -> str:
    """"replace" or "narrow" for an add-on recipe (explicit `x-compose`, else inferred; module docstring)."""
    explicit = recipe.get("x-compose")
    if explicit in (REPLACE, NARROW):
        return explicit
    scheduler = recipe.get("scheduler") or {}
    pins = any(k in scheduler for k in ("grid", "canonical_steps", "subsample"))
    return REPLACE if pins or (recipe.get("constraints") or {}).get("allow_samplers") else NARROW


def _ids(kind: str, names) -> list[str]:
    return [vocab.lookup(kind, n).id for n in names or ()]


def _sampling_key(recipe: dict) -> tuple:
    """What two replacing add-ons must agree on to be interchangeable."""
    return (vocab.resolve_sampler(recipe["sampler"]["name"]).id, vocab.resolve_schedule(recipe["scheduler"]["name"]).id,
            repr(recipe["scheduler"].get("grid")), recipe["steps"].get("min"), recipe["steps"].get("max"),
            recipe["cfg"].get("min"), recipe["cfg"].get("max"))


class _Composer:
    def __init__(self, base: dict, base_name: str) -> None:
        self.recipe = copy.deepcopy(base)
        self.sources = {k: base_name for k in self.recipe if k != "hashes"}
        self.findings: list[Finding] = []

    # --- replace ---------------------------------------------------------------------------------------

    def replace(self, name: str, addon: dict) -> None:
        if addon.get("notes"):  # the base's notes describe the sampling being replaced
            self.recipe["notes"] = addon["notes"]
            self.sources["notes"] = name
        else:
            self.recipe.pop("notes", None)
        for key in SAMPLING_FIELDS:
            if key in addon:
                self.recipe[key] = copy.deepcopy(addon[key])
                self.sources[key] = name
            elif key in self.recipe:
                del self.recipe[key]  # the base's constraints/presets belong to its own sampling
                self.sources.pop(key, None)
        self.findings.append(_finding(
            "IGA-M006", "info", "sampler", addon["sampler"]["name"], name,
            f"{name} replaces the sampler, schedule, steps and CFG of the base recipe",
            "nothing to do; the add-on's recipe governs sampling while it is active"))

    # --- narrow ----------------------------------------------------------------------------------------

    def narrow(self, name: str, addon: dict) -> None:
        self._narrow_range("steps", name, addon.get("steps"), integer=True)
        self._narrow_range("cfg", name, addon.get("cfg"))
        if isinstance(addon.get("cfg"), dict) and "distilled" in addon["cfg"]:
            self._narrow_range("cfg.distilled", name, addon["cfg"]["distilled"])
        self._narrow_constraints(name, addon.get("constraints") or {})
        self.narrow_resolution(name, addon.get("resolution") or {})

    def _get(self, path: str):
        node = self.recipe
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def _narrow_range(self, path: str, name: str, theirs: dict | None, *, integer: bool = False) -> None:
        ours = self._get(path)
        if not isinstance(theirs, dict):
            return
        if ours is None:  # e.g. distilled CFG the base does not declare: the add-on brings it
            parent, key = path.rsplit(".", 1)
            self._get(parent)[key] = copy.deepcopy(theirs)
            self.sources[path] = name
            return
        low = max((v for v in (ours.get("min"), theirs.get("min")) if v is not None), default=None)
        high = min((v for v in (ours.get("max"), theirs.get("max")) if v is not None), default=None)
        if low is not None and high is not None and low > high:
            self.findings.append(_finding(
                "IGA-M004", "hard", path, {"min": ours.get("min"), "max": ours.get("max")},
                {"min": theirs.get("min"), "max": theirs.get("max")},
                f"{name} allows {path} {range_text(theirs.get('min'), theirs.get('max'))}, which does not "
                f"overlap {range_text(ours.get('min'), ours.get('max'))}; the earlier range is kept",
                f"deactivate {name} or use an add-on made for this model"))
            return
        changed = (low, high) != (ours.get("min"), ours.get("max"))
        if low is not None:
            ours["min"] = low
        if high is not None:
            ours["max"] = high
        if changed:
            self.sources[f"{path}.range"] = name
        default = ours.get("default")
        if default is not None:
            moved = min(max(default, low if low is not None else -math.inf), high if high is not None else math.inf)
            moved = int(moved) if integer else moved
            if moved != default:
                ours["default"] = moved
                self.sources[f"{path}.default"] = name
                self.findings.append(_finding(
                    "IGA-M005", "info", path, moved, default,
                    f"{name} narrows {path} to {range_text(low, high)}: the default moves from {default:g} to {moved:g}",
                    "nothing to do; the composed default is inside every active recipe"))

    def _narrow_constraints(self, name: str, theirs: dict) -> None:
        """Forbid lists add up, allow lists intersect, and nothing stays both allowed and forbidden. When
        that leaves no sampler (or schedule) every recipe accepts, the add-on's lists for it are not applied."""
        if not theirs:
            return
        ours = self.recipe.setdefault("constraints", {})
        for kind, block in (("sampler", "sampler"), ("schedule", "scheduler")):
            forbid_key, allow_key = f"forbid_{kind}s", f"allow_{kind}s"
            if not theirs.get(forbid_key) and not theirs.get(allow_key):
                continue
            forbid = list(ours.get(forbid_key) or [])
            forbid += [n for n in theirs.get(forbid_key) or () if vocab.lookup(kind, n).id not in _ids(kind, forbid)]
            allow = list(ours.get(allow_key) or [])
            if theirs.get(allow_key):
                keep = set(_ids(kind, theirs[allow_key]))
                allow = [n for n in allow if vocab.lookup(kind, n).id in keep] if allow else list(theirs[allow_key])
            forbidden = set(_ids(kind, forbid))
            allow_left = [n for n in allow if vocab.lookup(kind, n).id not in forbidden]
            default = self.recipe[block]["name"]
            default_id = vocab.lookup(kind, default).id
            default_ok = default_id not in forbidden and (not allow_left or default_id in _ids(kind, allow_left))
            if ((ours.get(allow_key) or theirs.get(allow_key)) and not allow_left) or (
                    not default_ok and not allow_left):
                self.findings.append(_finding(
                    "IGA-M004", "hard", f"constraints.{allow_key}", ours.get(allow_key) or default,
                    theirs.get(allow_key) or theirs.get(forbid_key),
                    f"{name} leaves no {kind} that every active recipe allows; its {kind} constraints are not applied",
                    f"deactivate {name} or use an add-on made for this model"))
                continue
            for key, names in ((forbid_key, forbid), (allow_key, allow_left)):
                if names != list(ours.get(key) or []):
                    self.sources[f"constraints.{key}"] = name
                if names:
                    ours[key] = names
                else:
                    ours.pop(key, None)
            if not default_ok:
                self.recipe[block] = {"name": allow_left[0]} if block == "sampler" else {
                    **self.recipe[block], "name": allow_left[0]}
                self.sources[block] = name
                self.findings.append(_finding(
                    "IGA-M005", "info", block, allow_left[0], default,
                    f"{name} does not allow the base's {kind} {default}; the default becomes {allow_left[0]}",
                    "nothing to do; the composed default is inside every active recipe"))
        if not ours:
            del self.recipe["constraints"]

    def narrow_resolution(self, name: str, theirs: dict) -> None:
        limit = theirs.get("max")
        if isinstance(limit, dict):
            res = self.recipe.setdefault("resolution", {})
            ours = res.get("max")
            narrowed = dict(limit) if ours is None else {
                "width": min(ours["width"], limit["width"]), "height": min(ours["height"], limit["height"])}
            if narrowed != ours:
                res["max"] = narrowed
                self.sources["resolution.max"] = name
            fitting = [p for p in res.get("preferred", []) if p["width"] <= res["max"]["width"]
                       and p["height"] <= res["max"]["height"]]
            if res.get("preferred") and len(fitting) < len(res["preferred"]):
                if fitting:
                    res["preferred"] = fitting
                else:
                    del res["preferred"]
        if theirs.get("preferred") and not (self.recipe.get("resolution") or {}).get("preferred"):
            self.recipe.setdefault("resolution", {})["preferred"] = copy.deepcopy(theirs["preferred"])
            self.sources["resolution.preferred"] = name

    # --- the model's own fields ------------------------------------------------------------------------

    def check_model_fields(self, name: str, addon: dict) -> None:
        """Prediction type and architecture belong to the base model: a mismatch means the add-on was made
        for another model. VAE and clip skip stay the base's; a different add-on value is reported."""
        for key, severity in (("prediction_type", "hard"), ("architecture", "hard"), ("clip_skip", "soft"),
                              ("vae", "soft")):
            ours, theirs = self.recipe.get(key), addon.get(key)
            if ours is None or theirs is None or ours == theirs:
                continue
            if key == "vae" and not theirs.get("id") and not theirs.get("sha256"):
                continue  # "embedded: true" in a LoRA's recipe says nothing about the base's VAE
            rule_id = {"prediction_type": "IGA-M001", "architecture": "IGA-M002"}.get(key, "IGA-M007")
            self.findings.append(_finding(
                rule_id, severity, key, ours, theirs,
                f"{name} declares {key} {theirs!r} but the base has {ours!r}; the base's is kept",
                f"use a version of {name} made for this model" if severity == "hard"
                else f"nothing required; set {key} by hand if {name}'s author recommends it"))

    def drop_stale_presets(self) -> None:
        from iga_core.presets import check_presets

        problems = {p.preset for p in check_presets(self.recipe)}
        kept = [p for p in self.recipe.get("presets", []) if p.get("name") not in problems]
        for p in self.recipe.get("presets", []):
            if p.get("name") in problems:
                self.findings.append(_finding(
                    "IGA-M009", "info", "presets", "inside the composed recipe", p.get("name"),
                    f"preset {p.get('name')!r} does not fit the composed recipe and is not offered",
                    "nothing to do; Native and the remaining presets fit"))
        if kept:
            self.recipe["presets"] = kept
        else:
            self.recipe.pop("presets", None)


#: the hosts' extra-network tag (A1111 v1.10.1 and Forge modules/extra_networks.py: re_extra_net)
_EXTRA_NET = re.compile(r"<(\w+):([^>]+)>")
#: tag kinds that load LoRA-type weights (A1111/Forge built-in Lora: "lora"; LyCORIS extension: "lyco")
ADDON_TAG_KINDS = ("lora", "lyco")


@dataclass(frozen=True)
class AddonTag:
    """One `<lora:name:te:unet>` tag. `weight` is the UNet multiplier, the one that changes how the model
    denoises (what composition cares about); `te_weight` the text-encoder one."""

    kind: str
    name: str
    weight: float
    te_weight: float


def prompt_addons(prompt: str) -> list[AddonTag]:
    """The LoRA tags in a prompt, parsed as the hosts do: `<lora:name>` (1.0), `<lora:name:0.8>`,
    `<lora:name:te:unet>`, named `te=`/`unet=` (extensions-builtin/Lora/extra_networks_lora.py:
    te = positional[1] or 1, unet = positional[2] or te). Raises ComposeError for a weight that is no
    number (the host would fail on it too)."""
    tags = []
    for kind, args in _EXTRA_NET.findall(prompt or ""):
        if kind not in ADDON_TAG_KINDS:
            continue
        items = args.split(":")
        positional = [i for i in items if "=" not in i]
        named = dict(i.split("=", 1) for i in items if "=" in i)
        if not positional or not positional[0]:
            continue
        try:
            te = float(named.get("te", positional[1] if len(positional) > 1 else 1.0))
            unet = float(named.get("unet", positional[2] if len(positional) > 2 else te))
        except ValueError:
            raise ComposeError(f"<{kind}:{args}> has a weight that is not a number",
                               f"write it as <{kind}:{positional[0]}:0.8>") from None
        if not (math.isfinite(te) and math.isfinite(unet)):
            raise ComposeError(f"<{kind}:{args}> has a weight that is not finite",
                               f"write it as <{kind}:{positional[0]}:0.8>")
        tags.append(AddonTag(kind, positional[0], unet, te))
    return tags


def _check_entry(entry) -> tuple[str, dict, float]:
    if not isinstance(entry, (tuple, list)) or len(entry) != 3:
        raise ComposeError(f"an add-on must be (name, recipe, weight), got {entry!r:.80}",
                           "pass e.g. (\"lcm-lora-sdxl\", recipe_dict, 1.0)")
    name, recipe, weight = entry
    if not isinstance(name, str) or not name:
        raise ComposeError("an add-on name must be non-empty text", "pass the LoRA's name as written in the prompt")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
        raise ComposeError(f"add-on {name!r} has weight {weight!r}", "pass the LoRA weight as a finite number")
    return name, recipe, float(weight)


def compose(base: dict | None, addons: list[tuple[str, dict, float]], *, base_name: str = "base") -> Composition:
    """The effective recipe of `base` with `addons` (name, recipe, weight) active, per the module rules."""
    if base is not None:
        problems = validate_recipe(base)
        if problems:
            raise ComposeError(f"the base recipe is invalid at {problems[0].pointer or '/'}: {problems[0].message}",
                               problems[0].hint or "run `iga validate` on it")
    parts: list[Part] = [Part(base_name, base.get("model_id"), None, "base")] if base is not None else []
    findings: list[Finding] = []
    active: list[tuple[str, dict, float, str]] = []
    for entry in addons:
        name, recipe, weight = _check_entry(entry)
        if weight == 0:
            parts.append(Part(name, (recipe or {}).get("model_id") if isinstance(recipe, dict) else None, weight,
                              "inactive"))
            continue
        problems = validate_recipe(recipe) if isinstance(recipe, dict) else None
        if problems is None or problems:
            detail = problems[0].message if problems else "not a JSON object"
            findings.append(_finding("IGA-M010", "soft", "addons", "a valid recipe", name,
                                     f"the recipe of {name} is invalid ({detail}); it is ignored",
                                     f"fix or remove {name}'s recipe (`iga validate`)"))
            parts.append(Part(name, None, weight, "ignored"))
            continue
        active.append((name, recipe, weight, addon_mode(recipe)))

    if base is None and not active:
        return Composition(None, {}, tuple(findings), tuple(parts))
    if base is None:  # no base recipe: the first active add-on stands in for it
        base_name, base, weight, _ = active.pop(0)
        parts.append(Part(base_name, base.get("model_id"), weight, "base"))
        source_id = None
    else:
        source_id = base.get("model_id")
    composer = _Composer(base, base_name)
    composer.findings.extend(findings)

    replacing = [a for a in active if a[3] == REPLACE]
    winner = max(replacing, key=lambda a: abs(a[2])) if replacing else None  # ties: the first named
    for name, recipe, weight, mode in active:
        composer.check_model_fields(name, recipe)
        role = mode
        if mode == REPLACE and name != winner[0] and _sampling_key(recipe) != _sampling_key(winner[1]):
            role = "ignored"
            composer.findings.append(_finding(
                "IGA-M003", "hard", "sampler", winner[0], name,
                f"{name} and {winner[0]} both set how the model is sampled, differently; {winner[0]} "
                f"(weight {abs(winner[2]):g}) is used", "activate one distillation add-on at a time"))
        parts.append(Part(name, recipe.get("model_id"), weight, role))
    if winner is not None:
        composer.replace(winner[0], winner[1])
    for name, recipe, _, mode in active:
        if mode == NARROW:
            composer.narrow(name, recipe)
        else:
            composer.narrow_resolution(name, recipe.get("resolution") or {})
    composer.drop_stale_presets()

    result = composer.recipe
    result.pop("hashes", None)
    added = [p.name for p in parts if p.role in (REPLACE, NARROW)]
    if added:
        result["title"] = f"{result.get('title') or result['model_id']} + {' + '.join(added)}"[:200]
    result["x-composition"] = {"base": source_id, "parts": [p.to_dict() for p in parts]}
    return Composition(with_metadata_digest(result), dict(sorted(composer.sources.items())),
                       tuple(composer.findings), tuple(parts))
