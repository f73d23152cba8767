"""Sampler and schedule names in every dialect (A1111, Forge, ComfyUI, k-diffusion, diffusers).

The vocabulary is data (data/samplers.json, schedules.json, diffusers.json); this package loads it,
resolves any name users meet to one identity, and writes an identity back in any dialect.
"""

from __future__ import annotations

from iga_core.lazy import lazy_exports

# loaded on first use (iga_core.lazy): the tables are read when a name is first resolved
__all__ = lazy_exports(__name__, {
    "iga_core.vocab.diffusers_map": ("from_diffusers", "to_diffusers"),
    "iga_core.vocab.dialects": ("DIALECTS", "KINDS"),
    "iga_core.vocab.model": ("ConflictingNames", "SamplerInfo", "ScheduleInfo", "UnknownDialect",
                             "UnknownName", "VocabDataError"),
    "iga_core.vocab.resolve": ("AUTOMATIC", "all_samplers", "all_schedules", "export_name", "lookup", "names_in",
                               "normalize", "resolve_sampler", "resolve_schedule"),
})
