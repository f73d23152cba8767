"""The recipe as typed, frozen dataclasses that mirror the JSON shape one to one.

`Recipe.from_dict(d)` validates first (raising `RecipeInvalid`) and `recipe.to_dict()` gives back a dict
equal to `d` in its canonical form (the design's shorthand, `iga_core.recipe.shorthand`, expanded): absent optional fields stay absent (None here means "not in the JSON"), lists come back
as lists, and every `x-` extension key, at any level, is kept in `extensions` and written back.
One generic converter walks the fields; each field's metadata says whether it holds a nested object
(`node`), a list of them (`nodes`), a list of plain values (`values`) or a free-form map (`map`).

This is the one form the recipe travels in past the boundary that parses it (file, header, sidecar,
registry, API body): the guard, presets, composition, audit, UI and glue read these attributes, never the
JSON. Facts derived from the fields (vocabulary ids, the grid length, allowed sizes, the digest) are
computed here once per recipe, as cached properties, so every reader gets the same answer.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Any, TypeVar

from iga_core import vocab
from iga_core.recipe import known_valid
from iga_core.recipe.problems import RecipeInvalid

Number = int | float
T = TypeVar("T", bound="_Node")


def _node(cls_name: str) -> dict:
    return {"node": cls_name}


def _nodes(cls_name: str) -> dict:
    return {"nodes": cls_name}


VALUES = {"values": True}  # a JSON list of plain values, held as a tuple
MAP = {"map": True}  # a JSON object of free-form values, held as a copied dict


@dataclass(frozen=True, kw_only=True)
class _Node:
    # x- keys of this object; excluded from hash() so the dataclasses stay hashable.
    extensions: dict[str, Any] = field(default_factory=dict, hash=False, repr=False)

    @classmethod
    def _canonical(cls, d: dict) -> dict:
        """The JSON shape this part is built from (a hook: the Recipe expands the design's shorthand)."""
        return d

    @classmethod
    def _from(cls: type[T], d: dict) -> T:
        d = cls._canonical(d)
        kwargs: dict[str, Any] = {
            "extensions": {k: copy.deepcopy(v) for k, v in d.items() if k.startswith("x-")}
        }
        for f in fields(cls):
            if f.name == "extensions" or f.name not in d:
                continue
            value = d[f.name]
            if "node" in f.metadata:
                value = _CLASSES[f.metadata["node"]]._from(value)
            elif "nodes" in f.metadata:
                value = tuple(_CLASSES[f.metadata["nodes"]]._from(v) for v in value)
            elif "values" in f.metadata:
                value = tuple(value)
            elif "map" in f.metadata:
                value = copy.deepcopy(value)
            kwargs[f.name] = value
        return cls(**kwargs)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extensions" or value is None:
                continue
            if "node" in f.metadata:
                value = value.to_dict()
            elif "nodes" in f.metadata:
                value = [v.to_dict() for v in value]
            elif "values" in f.metadata:
                value = list(value)
            elif "map" in f.metadata:
                value = copy.deepcopy(value)
            out[f.name] = value
        out.update(copy.deepcopy(self.extensions))
        return out

    @classmethod
    def unchecked(cls: type[T], d: dict) -> T:
        """This part built from its JSON shape WITHOUT validation: for a part of a document that was
        validated as a whole (the validator asks typed parts for derived facts) and for tests that feed
        deliberately broken parts to lower layers. Anything else parses with `Recipe.from_dict`."""
        return cls._from(d)


@dataclass(frozen=True, kw_only=True)
class Sampler(_Node):
    name: str
    mode: str | None = None  # ode | ancestral | sde
    params: dict[str, Any] | None = field(default=None, hash=False, metadata=MAP)


@dataclass(frozen=True, kw_only=True)
class Grid(_Node):
    kind: str  # sigmas | timesteps | rule
    values: tuple[Number, ...] | None = field(default=None, metadata=VALUES)
    rule: str | None = None
    params: dict[str, Any] | None = field(default=None, hash=False, metadata=MAP)


@dataclass(frozen=True, kw_only=True)
class Subsample(_Node):
    allowed_steps: tuple[int, ...] | None = field(default=None, metadata=VALUES)
    rule: str | None = None  # any | divisors | prefix


@dataclass(frozen=True, kw_only=True)
class Scheduler(_Node):
    name: str
    grid: Grid | None = field(default=None, metadata=_node("Grid"))
    canonical_steps: int | None = None
    subsample: Subsample | None = field(default=None, metadata=_node("Subsample"))
    spacing: str | None = None  # leading | linspace | trailing
    zero_terminal_snr: bool | None = None
    sigma_min: Number | None = None
    sigma_max: Number | None = None

    @property
    def grid_values(self) -> tuple[Number, ...] | None:
        """The explicit grid's values (sigmas or timesteps), None for a rule or no grid."""
        return self.grid.values if self.grid is not None else None

    @cached_property
    def grid_steps(self) -> int | None:
        """The step count the grid is made for: `canonical_steps`, else what an explicit grid implies (a
        sigma grid lists the final sigma too, so it has one value more than steps)."""
        if self.canonical_steps is not None:
            return self.canonical_steps
        values = self.grid_values
        if values is None:
            return None
        return len(values) - 1 if self.grid.kind == "sigmas" else len(values)

    @cached_property
    def pinned_steps(self) -> int | None:
        """The length of the grid the recipe pins, as the guard counts it: an explicit grid's own length, a
        rule's `canonical_steps`, or `canonical_steps` of the recipe's named schedule when that schedule
        has a grid formula; None when nothing pins a grid length."""
        if self.grid_values is not None:
            return self.grid_steps
        if self.grid is not None or self.canonical_steps is None:
            return self.canonical_steps
        from iga_core.schedules.grids import GRID_IDS  # numpy: only when a recipe's grid is looked at

        try:
            own = vocab.resolve_schedule(self.name).id
        except vocab.UnknownName:
            return None
        return self.canonical_steps if own in GRID_IDS else None

    @property
    def pins_grid(self) -> bool:
        """The recipe fixes a grid (`grid` or `canonical_steps`): other grids are judged against it."""
        return self.grid is not None or self.canonical_steps is not None

    @property
    def pins_endpoints(self) -> bool:
        """Zero terminal SNR or trailing/linspace spacing: the first step must be at the last timestep."""
        return self.zero_terminal_snr is True or self.spacing in ("trailing", "linspace")

    @property
    def allowed_steps(self) -> tuple[int, ...] | None:
        return self.subsample.allowed_steps if self.subsample is not None else None


@dataclass(frozen=True, kw_only=True)
class Range(_Node):
    default: Number
    min: Number | None = None
    max: Number | None = None

    def contains(self, value: Number) -> bool:
        eps = 1e-9
        return (self.min is None or value >= self.min - eps) and (self.max is None or value <= self.max + eps)

    def clamp(self, value: Number) -> Number:
        if self.min is not None and value < self.min:
            return self.min
        if self.max is not None and value > self.max:
            return self.max
        return value

    def bounds(self) -> dict:
        """{"min", "max"}: the range as findings report what the recipe expects."""
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True, kw_only=True)
class Cfg(Range):
    distilled: Range | None = field(default=None, metadata=_node("Range"))
    rescale: Number | None = None


@dataclass(frozen=True, kw_only=True)
class Vae(_Node):
    id: str | None = None
    embedded: bool | None = None
    sha256: str | None = None


@dataclass(frozen=True, kw_only=True)
class Size(_Node):
    width: int
    height: int


@dataclass(frozen=True, kw_only=True)
class Resolution(_Node):
    preferred: tuple[Size, ...] | None = field(default=None, metadata=_nodes("Size"))
    max: Size | None = field(default=None, metadata=_node("Size"))


@dataclass(frozen=True, kw_only=True)
class Constraints(_Node):
    forbid_samplers: tuple[str, ...] | None = field(default=None, metadata=VALUES)
    forbid_schedules: tuple[str, ...] | None = field(default=None, metadata=VALUES)
    allow_samplers: tuple[str, ...] | None = field(default=None, metadata=VALUES)
    allow_schedules: tuple[str, ...] | None = field(default=None, metadata=VALUES)


@dataclass(frozen=True, kw_only=True)
class Preset(_Node):
    name: str
    steps: int
    cfg: Number
    description: str | None = None
    distilled_cfg: Number | None = None
    sampler: str | None = None
    scheduler: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, kw_only=True)
class Hashes(_Node):
    weights_sha256: str | None = None
    tensor_index_sha256: str | None = None
    metadata_sha256: str | None = None
    source_file_sha256: str | None = None


@dataclass(frozen=True, kw_only=True)
class Bounds(_Node):
    """A hint range whose default is optional (control adapter weight, guidance start / end)."""

    default: Number | None = None
    min: Number | None = None
    max: Number | None = None

    def contains(self, value: Number) -> bool:
        eps = 1e-9
        return (self.min is None or value >= self.min - eps) and (self.max is None or value <= self.max + eps)

    def bounds(self) -> dict:
        return {"min": self.min, "max": self.max}


@dataclass(frozen=True, kw_only=True)
class ControlAdapter(_Node):
    """One control adapter that works with the model (schema 1.1.0), with its weight and guidance hints."""

    kind: str  # controlnet | t2i_adapter | ip_adapter
    role: str | None = None  # recommended | allowed (None: allowed)
    model: str | None = None  # part of the host's model name, case-insensitive
    preprocessor: str | None = None
    weight: Bounds | None = field(default=None, metadata=_node("Bounds"))
    guidance_start: Bounds | None = field(default=None, metadata=_node("Bounds"))
    guidance_end: Bounds | None = field(default=None, metadata=_node("Bounds"))
    description: str | None = None

    def matches(self, kind: str, model: str | None, preprocessor: str | None) -> bool:
        """Does a host unit of `kind` with these names use this adapter? Names are parts, case-insensitive."""
        def has(part: str | None, name: str | None) -> bool:
            return part is None or (name is not None and part.casefold() in name.casefold())
        return self.kind == kind and has(self.model, model) and has(self.preprocessor, preprocessor)


@dataclass(frozen=True, kw_only=True)
class Control(_Node):
    adapters: tuple[ControlAdapter, ...] | None = field(default=None, metadata=_nodes("ControlAdapter"))
    unlisted: str | None = None  # allow | warn (None: allow)


@dataclass(frozen=True, kw_only=True)
class Pipeline(_Node):
    """One more named way to run the model (schema 1.1.0): a field left out is the recipe's own."""

    name: str
    description: str | None = None
    sampler: Sampler | None = field(default=None, metadata=_node("Sampler"))
    scheduler: Scheduler | None = field(default=None, metadata=_node("Scheduler"))
    steps: Range | None = field(default=None, metadata=_node("Range"))
    cfg: Cfg | None = field(default=None, metadata=_node("Cfg"))
    constraints: Constraints | None = field(default=None, metadata=_node("Constraints"))
    presets: tuple[Preset, ...] | None = field(default=None, metadata=_nodes("Preset"))


#: the name of the pipeline a recipe's top-level fields form (reserved: no `pipelines[]` entry may take it)
DEFAULT_PIPELINE = "default"
#: the fields a pipeline may set; the rest (prediction type, VAE, resolution, ...) belong to the model
PIPELINE_FIELDS = ("sampler", "scheduler", "steps", "cfg", "constraints", "presets")


@dataclass(frozen=True, kw_only=True)
class Recipe(_Node):
    """A validated recipe. Field order is the order `to_dict()` writes."""

    iga_version: str
    model_id: str
    title: str | None = None
    notes: str | None = None
    architecture: str | None = None  # sd1 | sd2 | sdxl | sd3 | flux | other
    prediction_type: str  # eps | v | x0 | flow
    sampler: Sampler = field(metadata=_node("Sampler"))
    scheduler: Scheduler = field(metadata=_node("Scheduler"))
    steps: Range = field(metadata=_node("Range"))
    cfg: Cfg = field(metadata=_node("Cfg"))
    vae: Vae | None = field(default=None, metadata=_node("Vae"))
    clip_skip: int | None = None
    resolution: Resolution | None = field(default=None, metadata=_node("Resolution"))
    constraints: Constraints | None = field(default=None, metadata=_node("Constraints"))
    presets: tuple[Preset, ...] | None = field(default=None, metadata=_nodes("Preset"))
    hashes: Hashes | None = field(default=None, metadata=_node("Hashes"))
    control: Control | None = field(default=None, metadata=_node("Control"))
    pipelines: tuple[Pipeline, ...] | None = field(default=None, metadata=_nodes("Pipeline"))

    @classmethod
    def _canonical(cls, d: dict) -> dict:
        # "1024x1024" and a list for scheduler.subsample are the same recipe as their canonical form
        from iga_core.recipe.shorthand import canonical_form

        return canonical_form(d)

    @classmethod
    def from_dict(cls, d: dict, *, digest: str | None = None) -> Recipe:
        """Validate `d` (schema and semantic checks) and build the typed recipe; raises RecipeInvalid.
        A document this installation validated before is not validated again (`known_valid`: its content
        key, and the validator's fingerprint, say it is the same document). `digest`: the document's
        `metadata_sha256(d)` when the caller has just computed it; it is remembered with the verdict, and
        `recipe.digest` of a remembered document is not computed again."""
        seen = known_valid.recall(d)
        if not seen.valid:
            # validate asks typed parts (Scheduler) for derived facts, so it imports this module: import it here
            from iga_core.recipe.validate import validate_recipe

            problems = validate_recipe(d)
            if problems:
                raise RecipeInvalid(problems)
        recipe = cls._from(d)
        digest = digest or seen.digest
        if digest:
            recipe.__dict__["digest"] = digest  # the cached property below, for this very document
        if not seen.valid or (digest and not seen.digest):
            known_valid.remember(seen.key, digest)
        return recipe

    def preset(self, name: str) -> Preset | None:
        """The preset called `name` (case-insensitive), in any pipeline, or None."""
        wanted = name.strip().casefold()
        every = [*(self.presets or ()), *(p for pl in self.pipelines or () for p in pl.presets or ())]
        return next((p for p in every if p.name.strip().casefold() == wanted), None)

    # --- pipelines (schema 1.1.0) ---------------------------------------------------------------------

    @cached_property
    def pipeline_views(self) -> tuple[tuple[str, Recipe], ...]:
        """(name, the recipe as that pipeline runs it) for every pipeline, the top-level one ("default")
        first; one entry for a recipe without `pipelines`. A view is a Recipe with the pipeline's fields
        in place of the top-level ones and no `pipelines` of its own: the guard judges it as any recipe."""
        views: list[tuple[str, Recipe]] = [(DEFAULT_PIPELINE, self if not self.pipelines else
                                            dataclasses.replace(self, pipelines=None))]
        for pl in self.pipelines or ():
            changes = {f: getattr(pl, f) for f in PIPELINE_FIELDS if getattr(pl, f) is not None}
            if pl.presets is None:
                changes["presets"] = None  # a pipeline's presets are its own, never the top-level ones
            views.append((pl.name, dataclasses.replace(self, pipelines=None, **changes)))
        return tuple(views)

    def pipeline_view(self, name: str) -> Recipe:
        """The recipe as pipeline `name` runs it (case-insensitive); KeyError for an unknown name."""
        wanted = name.strip().casefold()
        for pname, view in self.pipeline_views:
            if pname.strip().casefold() == wanted:
                return view
        raise KeyError(name)

    def pipeline_of(self, preset_name: str) -> str | None:
        """The pipeline a preset name belongs to: a pipeline's own name (its defaults) or one of its
        presets; DEFAULT_PIPELINE for "Native" and the top-level presets; None when no preset has the name."""
        wanted = preset_name.strip().casefold()
        if wanted == "native" or any(p.name.strip().casefold() == wanted for p in self.presets or ()):
            return DEFAULT_PIPELINE
        for pl in self.pipelines or ():
            if pl.name.strip().casefold() == wanted or any(
                    p.name.strip().casefold() == wanted for p in pl.presets or ()):
                return pl.name
        return None

    # --- derived facts, computed once per recipe ------------------------------------------------------

    @cached_property
    def memo(self) -> dict:
        """Answers derived from this recipe by other parts (the guard's grid classes and rule findings),
        kept with the recipe so they live exactly as long as it does."""
        return {}

    @cached_property
    def deprecations(self) -> tuple:
        """What this recipe uses that the schema marks deprecated (`iga_core.recipe.deprecations.Notice`s)."""
        from iga_core.recipe.deprecations import notices

        return tuple(notices(self.to_dict()))

    @cached_property
    def digest(self) -> str:
        """sha256 of the canonical JSON without `hashes.metadata_sha256` (what stamping stores there)."""
        from iga_core.recipe.canonical import metadata_sha256  # rfc8785: only for a recipe not seen before

        return metadata_sha256(self.to_dict())

    @cached_property
    def _sampling(self) -> tuple[vocab.SamplerInfo, vocab.ScheduleInfo | None]:
        return vocab.normalize(self.sampler.name, self.scheduler.name)

    @property
    def sampler_info(self) -> vocab.SamplerInfo:
        """The vocabulary's record of the recipe's sampler."""
        return self._sampling[0]

    @property
    def schedule_info(self) -> vocab.ScheduleInfo | None:
        """The schedule the recipe's sampler runs ("Automatic" resolved to the sampler's default); None for
        a timestep sampler (DDIM, PLMS, UniPC), which ignores the schedule."""
        return self._sampling[1]

    @cached_property
    def schedule_declared(self) -> vocab.ScheduleInfo:
        """`scheduler.name` resolved on its own (kept even for timestep samplers)."""
        return vocab.resolve_schedule(self.scheduler.name)

    def _constraint_ids(self, kind: str, verb: str) -> frozenset[str]:
        names = getattr(self.constraints, f"{verb}_{kind}s", None) if self.constraints is not None else None
        resolve = vocab.resolve_sampler if kind == "sampler" else vocab.resolve_schedule
        return frozenset(resolve(n).id for n in names or ())

    @cached_property
    def forbid_sampler_ids(self) -> frozenset[str]:
        return self._constraint_ids("sampler", "forbid")

    @cached_property
    def allow_sampler_ids(self) -> frozenset[str]:
        return self._constraint_ids("sampler", "allow")

    @cached_property
    def forbid_schedule_ids(self) -> frozenset[str]:
        return self._constraint_ids("schedule", "forbid")

    @cached_property
    def allow_schedule_ids(self) -> frozenset[str]:
        return self._constraint_ids("schedule", "allow")

    def sampler_allowed(self, sampler_id: str) -> bool:
        """Not forbidden, and in the allow list when there is one (the recipe's own sampler always is)."""
        if sampler_id in self.forbid_sampler_ids:
            return False
        allow = self.allow_sampler_ids
        return not allow or sampler_id in allow or sampler_id == self.sampler_info.id

    def schedule_allowed(self, schedule_id: str) -> bool:
        if schedule_id in self.forbid_schedule_ids:
            return False
        own = self.schedule_info.id if self.schedule_info is not None else None
        allow = self.allow_schedule_ids
        return not allow or schedule_id in allow or schedule_id == own

    def allowed_samplers(self) -> list[str]:
        """Ids of the samplers the recipe names as allowed, its own first (for remedies)."""
        own = self.sampler_info.id
        return [i for i in [own, *sorted(self.allow_sampler_ids - {own})] if self.sampler_allowed(i)]

    def allowed_schedules(self) -> list[str]:
        own = [self.schedule_info.id] if self.schedule_info is not None else []
        ids = own + sorted(self.allow_schedule_ids - set(own))
        return [i for i in ids if self.schedule_allowed(i)]

    @cached_property
    def declared_sizes(self) -> tuple[tuple[int, int], ...]:
        """`resolution.preferred` as (width, height) pairs."""
        preferred = self.resolution.preferred if self.resolution is not None else None
        return tuple((s.width, s.height) for s in preferred or ())

    @cached_property
    def preferred_sizes(self) -> tuple[tuple[int, int], ...]:
        """The declared preferred sizes plus the presets' sizes (a preset's size is the author saying "this
        size is typical too"); empty when the recipe declares no preferred size."""
        if not self.declared_sizes:
            return ()
        presets = tuple((p.width, p.height) for p in self.presets or ()
                        if p.width is not None and p.height is not None)
        return tuple(dict.fromkeys(self.declared_sizes + presets))

    @property
    def max_size(self) -> tuple[int, int] | None:
        limit = self.resolution.max if self.resolution is not None else None
        return (limit.width, limit.height) if limit is not None else None

    @property
    def allowed_steps(self) -> tuple[int, ...] | None:
        """`scheduler.subsample.allowed_steps`, when the recipe lists them."""
        return self.scheduler.allowed_steps


_CLASSES: dict[str, type[_Node]] = {
    cls.__name__: cls
    for cls in (
        Sampler,
        Grid,
        Subsample,
        Scheduler,
        Range,
        Cfg,
        Vae,
        Size,
        Resolution,
        Constraints,
        Preset,
        Hashes,
        Pipeline,
        Bounds,
        ControlAdapter,
        Control,
    )
}
