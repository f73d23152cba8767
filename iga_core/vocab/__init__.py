"""Sampler and schedule names in every dialect (A1111, Forge, ComfyUI, k-diffusion, diffusers).

The vocabulary is data (data/samplers.json, schedules.json, diffusers.json); this package loads it,
resolves any name users meet to one identity, and writes an identity back in any dialect.
"""

from __future__ import annotations

from iga_core.vocab.diffusers_map import DiffusersMapping, describe_diffusers, from_diffusers, to_diffusers
from iga_core.vocab.model import (
    DIALECTS,
    HOST_DIALECT,
    KINDS,
    ConflictingNames,
    NoHostSampler,
    SamplerInfo,
    SamplerSemantics,
    ScheduleInfo,
    UnknownDialect,
    UnknownName,
    VocabDataError,
)
from iga_core.vocab.resolve import (
    AUTOMATIC,
    all_samplers,
    all_schedules,
    export_name,
    lookup,
    names_in,
    normalize,
    resolve_sampler,
    resolve_schedule,
    spoken_name,
)

__all__ = [
    "AUTOMATIC",
    "DIALECTS",
    "HOST_DIALECT",
    "KINDS",
    "ConflictingNames",
    "DiffusersMapping",
    "NoHostSampler",
    "SamplerInfo",
    "SamplerSemantics",
    "ScheduleInfo",
    "UnknownDialect",
    "UnknownName",
    "VocabDataError",
    "all_samplers",
    "all_schedules",
    "describe_diffusers",
    "export_name",
    "from_diffusers",
    "lookup",
    "names_in",
    "normalize",
    "resolve_sampler",
    "resolve_schedule",
    "spoken_name",
    "to_diffusers",
]
