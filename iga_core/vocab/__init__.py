"""Sampler and schedule names in every dialect (A1111, Forge, ComfyUI, SwarmUI, k-diffusion, diffusers).

The vocabulary is data (data/samplers.json, schedules.json, diffusers.json); this package loads it,
resolves any name users meet to one identity, and writes an identity back in any dialect.
"""

from __future__ import annotations

from iga_core.lazy import lazy_exports

# loaded on first use (iga_core.lazy): the tables are read when a name is first resolved
__all__ = lazy_exports(__name__, {
    "iga_core.vocab.diffusers_map": ("DiffusersMapping", "describe_diffusers", "from_diffusers", "to_diffusers"),
    "iga_core.vocab.dialects": ("DIALECTS", "DIALECT_TITLES", "HOST_DIALECT", "HOST_VARIANTS", "HOST_VARIANT_TITLES", "KINDS", "SEMANTICS_KEYS"),
    "iga_core.vocab.invokeai": ("from_invokeai", "invokeai_names"),
    "iga_core.vocab.legacy": ("LegacyName", "infotext_version", "is_pre19_infotext", "pre19_sampler"),
    "iga_core.vocab.model": ("ConflictingNames", "NoHostSampler", "SamplerInfo", "SamplerSemantics", "ScheduleInfo",
                             "UnknownDialect", "UnknownName", "VocabDataError"),
    "iga_core.vocab.resolve": ("AUTOMATIC", "Translation", "all_samplers", "all_schedules", "export_name", "lookup",
                               "names_in", "normalize", "resolve_sampler", "runs_differently_on", "resolve_schedule", "spoken_name",
                               "translate"),
})
