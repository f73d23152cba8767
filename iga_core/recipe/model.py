"""The recipe as typed, frozen dataclasses that mirror the JSON shape one to one.

`Recipe.from_dict(d)` validates first (raising `RecipeInvalid`) and `recipe.to_dict()` gives back a dict
equal to `d`: absent optional fields stay absent (None here means "not in the JSON"), lists come back
as lists, and every `x-` extension key, at any level, is kept in `extensions` and written back.
One generic converter walks the fields; each field's metadata says whether it holds a nested object
(`node`), a list of them (`nodes`), a list of plain values (`values`) or a free-form map (`map`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

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
    def _from(cls: type[T], d: dict) -> T:
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


@dataclass(frozen=True, kw_only=True)
class Range(_Node):
    default: Number
    min: Number | None = None
    max: Number | None = None


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

    @classmethod
    def from_dict(cls, d: dict) -> Recipe:
        """Validate `d` (schema and semantic checks) and build the typed recipe; raises RecipeInvalid."""
        from iga_core.recipe.validate import validate_recipe

        problems = validate_recipe(d)
        if problems:
            raise RecipeInvalid(problems)
        return cls._from(d)

    def preset(self, name: str) -> Preset | None:
        """The preset called `name` (case-insensitive), or None."""
        wanted = name.strip().casefold()
        return next((p for p in self.presets or () if p.name.strip().casefold() == wanted), None)


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
    )
}
