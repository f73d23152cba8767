"""Sampler and schedule names in every dialect (A1111, Forge, ComfyUI, k-diffusion, diffusers).

The vocabulary is data (data/samplers.json, schedules.json, diffusers.json); this package loads it,
resolves any name users meet to one identity, and writes an identity back in any dialect.
"""

from __future__ import annotations

from iga_core.vocab.diffusers_map import DiffusersMapping, describe_diffusers, from_diffusers, to_diffusers
from iga_core.vocab.invokeai import from_invokeai, invokeai_names
from iga_core.vocab.legacy import LegacyName, infotext_version, is_pre19_infotext, pre19_sampler
from iga_core.vocab.model import (
    DIALECT_TITLES,
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
    Translation,
    all_samplers,
    all_schedules,
    export_name,
    lookup,
    names_in,
    normalize,
    resolve_sampler,
    resolve_schedule,
    spoken_name,
    translate,
)

__all__ = [
    "AUTOMATIC",
    "DIALECTS",
    "DIALECT_TITLES",
    "HOST_DIALECT",
    "KINDS",
    "ConflictingNames",
    "DiffusersMapping",
    "LegacyName",
    "NoHostSampler",
    "SamplerInfo",
    "SamplerSemantics",
    "ScheduleInfo",
    "Translation",
    "UnknownDialect",
    "UnknownName",
    "VocabDataError",
    "all_samplers",
    "all_schedules",
    "describe_diffusers",
    "export_name",
    "from_diffusers",
    "from_invokeai",
    "infotext_version",
    "invokeai_names",
    "is_pre19_infotext",
    "lookup",
    "names_in",
    "normalize",
    "pre19_sampler",
    "resolve_sampler",
    "resolve_schedule",
    "spoken_name",
    "to_diffusers",
    "translate",
]
