"""Recipe composition: the effective recipe when add-ons (LoRAs) with their own recipes are active.

    compose(base, [Addon("lcm-lora-sdxl", lora_recipe, 1.0), Addon("ink-style", style_recipe, 0.8)])
        -> Composition(recipe, sources, findings, parts)

Every input is a parsed `Recipe`; the composed recipe is a new one, built from their frozen parts with
`dataclasses.replace` (never by editing JSON through string paths).

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
`clip_skip`. Weight 0 means inactive. Disagreements become findings (rule ids `IGA-M…`,
docs/composition.md); the composed recipe is still produced, keeping the base side of every conflict,
so the guard can run on it. The result carries `x-composition` (what was composed) and a fresh
`hashes.metadata_sha256`; it has no `weights_sha256`, since no single file holds it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

from iga_core import vocab
from iga_core.errors import IgaInvalid
from iga_core.guard.rules import RULES
from iga_core.guard.verdict import Finding, range_text
from iga_core.presets import check_presets
from iga_core.recipe import PIPELINE_FIELDS, Constraints, Hashes, Range, Recipe, Resolution, Sampler, Size

REPLACE, NARROW = "replace", "narrow"
#: the part name every entry point (Generate, the panel, the API, the CLI) gives the checkpoint's recipe
CHECKPOINT_PART = "checkpoint"
#: the fields a replacing add-on takes over
SAMPLING_FIELDS = ("sampler", "scheduler", "steps", "cfg", "constraints", "presets")


class ComposeError(IgaInvalid):
    """The composition cannot start: the base is not a parsed recipe or an add-on entry is malformed."""


@dataclass(frozen=True)
class Addon:
    """One active add-on: its name (as the prompt tag writes it), its parsed recipe and its weight. `recipe`
    is None when the add-on's recipe document is invalid; `problem` then says why (it is ignored, IGA-M010)."""

    name: str
    recipe: Recipe | None
    weight: float
    problem: str | None = None

    @classmethod
    def from_source(cls, name: str, source: Any, weight: float) -> Addon | None:
        """From a `RecipeSource` (duck-typed: `.recipe`, `.document`, `.problems`): None when the file has no
        recipe at all (a LoRA without a recipe takes no part), an invalid one when its document does not
        parse."""
        if source is None:
            return None
        recipe = getattr(source, "recipe", None)
        if recipe is not None:
            return cls(name, recipe, weight)
        if getattr(source, "document", None) is None:
            return None
        problems = list(getattr(source, "problems", None) or ())
        return cls(name, None, weight, problems[0] if problems else "not a valid recipe")


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

    recipe: Recipe | None
    sources: dict[str, str] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    parts: tuple[Part, ...] = ()

    @property
    def composed(self) -> bool:
        return any(p.role in (REPLACE, NARROW) for p in self.parts)

    def to_dict(self) -> dict:
        return {"recipe": self.recipe.to_dict() if self.recipe is not None else None, "sources": dict(self.sources),
                "findings": [f.to_dict() for f in self.findings], "parts": [p.to_dict() for p in self.parts]}


def _finding(rule_id: str, field_name: str, expected, actual, reason: str, remedy: str) -> Finding:
    """A composition finding, minted through the rule registry (which owns its severity)."""
    return RULES[rule_id].mint(field_name, expected, actual, reason, remedy)


def addon_mode(recipe: Recipe) -> str:
    """"replace" or "narrow" for an add-on recipe (explicit `x-compose`, else inferred; module docstring)."""
    explicit = recipe.extensions.get("x-compose")
    if explicit in (REPLACE, NARROW):
        return explicit
    sched = recipe.scheduler
    pins = sched.grid is not None or sched.canonical_steps is not None or sched.subsample is not None
    return REPLACE if pins or recipe.allow_sampler_ids else NARROW


def _id(kind: str, name: str) -> str:
    return vocab.lookup(kind, name).id


def _ids(kind: str, names) -> list[str]:
    return [_id(kind, n) for n in names or ()]


def _sampling_key(recipe: Recipe) -> tuple:
    """What two replacing add-ons must agree on to be interchangeable."""
    return (recipe.sampler_info.id, recipe.schedule_declared.id, recipe.scheduler.grid,
            recipe.steps.min, recipe.steps.max, recipe.cfg.min, recipe.cfg.max)


def _range_at(recipe: Recipe, path: str) -> Range | None:
    return {"steps": recipe.steps, "cfg": recipe.cfg, "cfg.distilled": recipe.cfg.distilled}[path]


def _with_range(recipe: Recipe, path: str, value: Range) -> Recipe:
    if path == "cfg.distilled":
        return replace(recipe, cfg=replace(recipe.cfg, distilled=value))
    return replace(recipe, **{path: value})


def _size_fits(size: Size, limit: Size) -> bool:
    return size.width <= limit.width and size.height <= limit.height


class _Composer:
    """Builds the composed recipe as a new typed `Recipe` (frozen parts replaced, never edited)."""

    def __init__(self, base: Recipe, base_name: str) -> None:
        self.recipe = base
        self.sources = {f: base_name for f in _present_fields(base) if f != "hashes"}
        self.findings: list[Finding] = []

    # --- replace ---------------------------------------------------------------------------------------

    def replace(self, name: str, addon: Recipe) -> None:
        # the base's notes describe the sampling being replaced
        self.recipe = replace(self.recipe, notes=addon.notes or None)
        if addon.notes:
            self.sources["notes"] = name
        else:
            self.sources.pop("notes", None)
        changes = {key: getattr(addon, key) for key in SAMPLING_FIELDS}
        self.recipe = replace(self.recipe, **changes)  # the base's constraints/presets go with its sampling
        for key, value in changes.items():
            if value is not None:
                self.sources[key] = name
            else:
                self.sources.pop(key, None)
        self.findings.append(_finding(
            "IGA-M006", "sampler", addon.sampler.name, name,
            f"{name} replaces the sampler, schedule, steps and CFG of the base recipe",
            "nothing to do; the add-on's recipe governs sampling while it is active"))

    # --- narrow ----------------------------------------------------------------------------------------

    def narrow(self, name: str, addon: Recipe) -> None:
        self._narrow_range("steps", name, addon.steps, integer=True)
        self._narrow_range("cfg", name, addon.cfg)
        if addon.cfg.distilled is not None:
            self._narrow_range("cfg.distilled", name, addon.cfg.distilled)
        self._narrow_constraints(name, addon.constraints)
        self.narrow_resolution(name, addon.resolution)

    def _narrow_range(self, path: str, name: str, theirs: Range, *, integer: bool = False) -> None:
        ours = _range_at(self.recipe, path)
        if ours is None:  # e.g. distilled CFG the base does not declare: the add-on brings it
            self.recipe = _with_range(self.recipe, path, theirs)
            self.sources[path] = name
            return
        low = max((v for v in (ours.min, theirs.min) if v is not None), default=None)
        high = min((v for v in (ours.max, theirs.max) if v is not None), default=None)
        if low is not None and high is not None and low > high:
            self.findings.append(_finding(
                "IGA-M004", path, ours.bounds(), theirs.bounds(),
                f"{name} allows {path} {range_text(theirs.min, theirs.max)}, which does not "
                f"overlap {range_text(ours.min, ours.max)}; the earlier range is kept",
                f"deactivate {name} or use an add-on made for this model"))
            return
        narrowed = replace(ours, min=low if low is not None else ours.min, max=high if high is not None else ours.max)
        if (narrowed.min, narrowed.max) != (ours.min, ours.max):
            self.sources[f"{path}.range"] = name
        default = ours.default
        moved = min(max(default, low if low is not None else -math.inf), high if high is not None else math.inf)
        moved = int(moved) if integer else moved
        if moved != default:
            narrowed = replace(narrowed, default=moved)
            self.sources[f"{path}.default"] = name
            self.findings.append(_finding(
                "IGA-M005", path, moved, default,
                f"{name} narrows {path} to {range_text(low, high)}: the default moves from {default:g} to {moved:g}",
                "nothing to do; the composed default is inside every active recipe"))
        self.recipe = _with_range(self.recipe, path, narrowed)

    def _narrow_constraints(self, name: str, theirs: Constraints | None) -> None:
        """Forbid lists add up, allow lists intersect, and nothing stays both allowed and forbidden. When
        that leaves no sampler (or schedule) every recipe accepts, the add-on's lists for it are not applied."""
        if theirs is None:
            return
        for kind, block in (("sampler", "sampler"), ("schedule", "scheduler")):
            ours = self.recipe.constraints or Constraints()
            forbid_key, allow_key = f"forbid_{kind}s", f"allow_{kind}s"
            their_forbid, their_allow = getattr(theirs, forbid_key) or (), getattr(theirs, allow_key) or ()
            if not their_forbid and not their_allow:
                continue
            our_forbid, our_allow = list(getattr(ours, forbid_key) or ()), list(getattr(ours, allow_key) or ())
            forbid = our_forbid + [n for n in their_forbid if _id(kind, n) not in _ids(kind, our_forbid)]
            allow = list(our_allow)
            if their_allow:
                keep = set(_ids(kind, their_allow))
                allow = [n for n in allow if _id(kind, n) in keep] if allow else list(their_allow)
            forbidden = set(_ids(kind, forbid))
            allow_left = [n for n in allow if _id(kind, n) not in forbidden]
            default = getattr(self.recipe, block).name
            default_id = _id(kind, default)
            default_ok = default_id not in forbidden and (not allow_left or default_id in _ids(kind, allow_left))
            if ((our_allow or their_allow) and not allow_left) or (not default_ok and not allow_left):
                self.findings.append(_finding(
                    "IGA-M004", f"constraints.{allow_key}", our_allow or default,
                    list(their_allow or their_forbid),
                    f"{name} leaves no {kind} that every active recipe allows; its {kind} constraints are not applied",
                    f"deactivate {name} or use an add-on made for this model"))
                continue
            lists = {forbid_key: forbid, allow_key: allow_left}
            for key, names in lists.items():
                if names != list(getattr(ours, key) or ()):
                    self.sources[f"constraints.{key}"] = name
            ours = replace(ours, **{key: tuple(names) or None for key, names in lists.items()})
            self.recipe = replace(self.recipe, constraints=ours)
            if not default_ok:
                new_block = (Sampler(name=allow_left[0]) if block == "sampler"
                             else replace(self.recipe.scheduler, name=allow_left[0]))
                self.recipe = replace(self.recipe, **{block: new_block})
                self.sources[block] = name
                self.findings.append(_finding(
                    "IGA-M005", block, allow_left[0], default,
                    f"{name} does not allow the base's {kind} {default}; the default becomes {allow_left[0]}",
                    "nothing to do; the composed default is inside every active recipe"))
        left = self.recipe.constraints
        if left is not None and left == Constraints():
            self.recipe = replace(self.recipe, constraints=None)

    def narrow_resolution(self, name: str, theirs: Resolution | None) -> None:
        if theirs is None:
            return
        limit = theirs.max
        if limit is not None:
            res = self.recipe.resolution or Resolution()
            ours = res.max
            narrowed = Size(width=limit.width, height=limit.height) if ours is None else Size(
                width=min(ours.width, limit.width), height=min(ours.height, limit.height))
            if ours is None or (narrowed.width, narrowed.height) != (ours.width, ours.height):
                res = replace(res, max=narrowed)
                self.sources["resolution.max"] = name
            preferred = res.preferred or ()
            fitting = tuple(p for p in preferred if _size_fits(p, res.max))
            if preferred and len(fitting) < len(preferred):
                res = replace(res, preferred=fitting or None)
            self.recipe = replace(self.recipe, resolution=res)
        own = self.recipe.resolution
        if theirs.preferred and not (own is not None and own.preferred):
            self.recipe = replace(self.recipe, resolution=replace(own or Resolution(), preferred=theirs.preferred))
            self.sources["resolution.preferred"] = name

    # --- the model's own fields ------------------------------------------------------------------------

    def check_model_fields(self, name: str, addon: Recipe) -> None:
        """Prediction type and architecture belong to the base model: a mismatch means the add-on was made
        for another model. VAE and clip skip stay the base's; a different add-on value is reported."""
        for key, rule_id in (("prediction_type", "IGA-M001"), ("architecture", "IGA-M002"), ("clip_skip", "IGA-M007"),
                             ("vae", "IGA-M007")):
            ours, theirs = getattr(self.recipe, key), getattr(addon, key)
            if ours is None or theirs is None or ours == theirs:
                continue
            if key == "vae":
                if not theirs.id and not theirs.sha256:
                    continue  # "embedded: true" in a LoRA's recipe says nothing about the base's VAE
                ours, theirs = ours.to_dict(), theirs.to_dict()
            self.findings.append(_finding(
                rule_id, key, ours, theirs,
                f"{name} declares {key} {theirs!r} but the base has {ours!r}; the base's is kept",
                f"use a version of {name} made for this model" if RULES[rule_id].severity == "hard"
                else f"nothing required; set {key} by hand if {name}'s author recommends it"))

    def drop_stale_presets(self) -> None:
        problems = {p.preset for p in check_presets(self.recipe)}
        presets = self.recipe.presets or ()
        for p in presets:
            if p.name in problems:
                self.findings.append(_finding(
                    "IGA-M009", "presets", "inside the composed recipe", p.name,
                    f"preset {p.name!r} does not fit the composed recipe and is not offered",
                    "nothing to do; Native and the remaining presets fit"))
        kept = tuple(p for p in presets if p.name not in problems)
        self.recipe = replace(self.recipe, presets=kept or None)


def _present_fields(recipe: Recipe) -> list[str]:
    """The top-level keys the recipe sets (what `to_dict` writes)."""
    names = [name for name in recipe.__dataclass_fields__ if name != "extensions" and getattr(recipe, name) is not None]
    return [*names, *recipe.extensions]


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


def _check_entry(entry) -> Addon:
    if not isinstance(entry, Addon):
        raise ComposeError(f"an add-on must be an Addon(name, recipe, weight), got {entry!r:.80}",
                           "pass e.g. Addon(\"lcm-lora-sdxl\", recipe, 1.0)")
    name, recipe, weight = entry.name, entry.recipe, entry.weight
    if not isinstance(name, str) or not name:
        raise ComposeError("an add-on name must be non-empty text", "pass the LoRA's name as written in the prompt")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
        raise ComposeError(f"add-on {name!r} has weight {weight!r}", "pass the LoRA weight as a finite number")
    if recipe is not None and not isinstance(recipe, Recipe):
        raise ComposeError(f"add-on {name!r} has a {type(recipe).__name__}, not a parsed recipe",
                           "parse its recipe with Recipe.from_dict (or find it with find_recipe)")
    return replace(entry, weight=float(weight))


#: compositions remembered per base recipe (distinct LoRA sets and weights a user generates with)
COMPOSE_MEMO = 16


def _compose_pipelines(result: Recipe, addons: list[Addon], base_name: str, *, replaced: bool,
                       composer: _Composer) -> Recipe:
    """A base with several pipelines (schema 1.1.0): a replacing add-on sets how the model is sampled, so
    the base's other pipelines no longer apply (dropped); narrowing add-ons narrow every pipeline, each
    composed as the recipe it makes, so the guard still accepts a request that fits any of them."""
    if replaced:
        return replace(result, pipelines=None)
    seen = {(f.rule_id, f.field, f.reason) for f in composer.findings}
    narrowed = []
    for pipeline, (name, view) in zip(result.pipelines, result.pipeline_views[1:], strict=True):
        sub = compose(view, addons, base_name=base_name)
        for f in sub.findings:
            if (f.rule_id, f.field, f.reason) not in seen:
                seen.add((f.rule_id, f.field, f.reason))
                composer.findings.append(replace(f, reason=f"pipeline {name}: {f.reason}"))
        r = sub.recipe
        narrowed.append(replace(pipeline, **{f: getattr(r, f) for f in PIPELINE_FIELDS}))
    return replace(result, pipelines=tuple(narrowed))


def compose(base: Recipe | None, addons: list[Addon], *, base_name: str = "base") -> Composition:
    """The effective recipe of `base` with `addons` active, per the module rules. Inputs are parsed recipes;
    the result is a new `Recipe` built from them (its conflicts are the findings). A pure function of its
    inputs, so the composition of one base with the same add-on recipes (the same objects) and weights is
    built once and shared (kept in the base's memo): a generation with LoRAs does not compose, digest and
    classify a new recipe each time. Treat the result as read-only."""
    if base is not None and not isinstance(base, Recipe):
        raise ComposeError(f"the base must be a parsed recipe, got {type(base).__name__}",
                           "parse it with Recipe.from_dict (or find it with find_recipe)")
    checked = [_check_entry(entry) for entry in addons]
    if base is None:
        return _compose(base, checked, base_name)
    memo = base.memo.setdefault("compose", {})
    key = (base_name, tuple((a.name, id(a.recipe), a.weight, a.problem) for a in checked))
    hit = memo.get(key)
    if hit is not None and all(r is a.recipe for r, a in zip(hit[0], checked, strict=True)):
        return hit[1]  # the ids are those of the very recipes kept with it (no id reused by another object)
    composition = _compose(base, checked, base_name)
    if len(memo) >= COMPOSE_MEMO:
        memo.clear()
    memo[key] = (tuple(a.recipe for a in checked), composition)
    return composition


def _compose(base: Recipe | None, addons: list[Addon], base_name: str) -> Composition:
    parts: list[Part] = [Part(base_name, base.model_id, None, "base")] if base is not None else []
    findings: list[Finding] = []
    active: list[tuple[str, Recipe, float, str]] = []
    for addon in addons:
        name, recipe, weight = addon.name, addon.recipe, addon.weight
        if weight == 0:
            parts.append(Part(name, recipe.model_id if recipe is not None else None, weight, "inactive"))
            continue
        if recipe is None:
            findings.append(_finding(
                "IGA-M010", "addons", "a valid recipe", name,
                                     f"the recipe of {name} is invalid ({addon.problem}); it is ignored",
                                     f"fix or remove {name}'s recipe (`iga validate`)"))
            parts.append(Part(name, None, weight, "ignored"))
            continue
        active.append((name, recipe, weight, addon_mode(recipe)))

    if base is None and not active:
        return Composition(None, {}, tuple(findings), tuple(parts))
    if base is None:  # no base recipe: the first active add-on stands in for it
        base_name, base, weight, _ = active.pop(0)
        parts.append(Part(base_name, base.model_id, weight, "base"))
        source_id = None
    else:
        source_id = base.model_id
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
                "IGA-M003", "sampler", winner[0], name,
                f"{name} and {winner[0]} both set how the model is sampled, differently; {winner[0]} "
                f"(weight {abs(winner[2]):g}) is used", "activate one distillation add-on at a time"))
        parts.append(Part(name, recipe.model_id, weight, role))
    if winner is not None:
        composer.replace(winner[0], winner[1])
    for name, recipe, _, mode in active:
        if mode == NARROW:
            composer.narrow(name, recipe)
        else:
            composer.narrow_resolution(name, recipe.resolution)
    composer.drop_stale_presets()

    result = composer.recipe
    if result.pipelines:
        result = _compose_pipelines(result, addons, base_name, replaced=winner is not None, composer=composer)
    added = [p.name for p in parts if p.role in (REPLACE, NARROW)]
    title = f"{result.title or result.model_id} + {' + '.join(added)}"[:200] if added else result.title
    extensions = {**result.extensions, "x-composition": {"base": source_id, "parts": [p.to_dict() for p in parts]}}
    result = replace(result, title=title, hashes=None, extensions=extensions)
    # a fresh digest and no weights hash: no single file holds the composed recipe
    result = replace(result, hashes=Hashes(metadata_sha256=result.digest))
    return Composition(result, dict(sorted(composer.sources.items())), tuple(composer.findings), tuple(parts))
