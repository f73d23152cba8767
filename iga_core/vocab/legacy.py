"""AUTOMATIC1111 before v1.9: sampler names that carried their schedule (data/a1111_pre19.json).

Until v1.9 the schedule was part of the sampler: "DPM++ 2M Karras" was one entry and "DPM++ 2M" another,
which ran the model's own discretisation (Uniform). v1.9 split the schedule off and gave the bare names
defaults (DPM++ 2M -> Karras), so an old infotext pasted into 1.10 runs another schedule unless the one it
ran is sent along. `pre19_sampler` says what an old name ran; `infotext_version` / `is_pre19_infotext`
read the infotext's `Version` field the way the host's own `infotext_versions.parse_version` does, also
accepting Forge's "f0.0.17v1.8.0rc-..." form.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from iga_core.vocab.model import SamplerInfo, ScheduleInfo, VocabDataError
from iga_core.vocab.table import load_table, name_key

_VERSION = re.compile(r"(?:^|[^0-9a-z])v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?", re.IGNORECASE)
_FORGE = re.compile(r"^f\d+\.\d+(?:\.\d+)?v(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?", re.IGNORECASE)


@dataclass(frozen=True)
class LegacyName:
    """What a pre-1.9 A1111 sampler name (or alias) ran: the sampler and the schedule (None for DDIM,
    PLMS and UniPC, which ignored it)."""

    name: str
    sampler: SamplerInfo
    schedule: ScheduleInfo | None


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, LegacyName], tuple[int, int]]:
    data = json.loads(resources.files("iga_core.vocab").joinpath("data", "a1111_pre19.json")
                      .read_text(encoding="utf-8"))
    vocab = load_table()
    by_key: dict[str, LegacyName] = {}
    for entry in data["samplers"]:
        sampler = vocab.samplers.get(entry["sampler"])
        schedule = vocab.schedules.get(entry["schedule"]) if entry["schedule"] else None
        if sampler is None or (entry["schedule"] and schedule is None):
            raise VocabDataError(f"a1111_pre19.json: {entry['name']!r} names unknown ids", "fix the data file")
        found = LegacyName(entry["name"], sampler, schedule)
        # the host's samplers_map: lower-cased label and aliases, a later entry overwriting an earlier one
        # (A1111 v1.8.0 sd_samplers.py:46-55)
        for key in (entry["name"], *entry["aliases"]):
            by_key[name_key(key)] = found
    major, minor = (int(x) for x in data["version_split"].split(".")[:2])
    return by_key, (major, minor)


def pre19_sampler(name: str) -> LegacyName | None:
    """What `name` ran in A1111 before v1.9 ("DPM++ 2M" -> DPM++ 2M on Uniform, "k_dpmpp_2m_ka" -> DPM++ 2M
    on Karras), or None when that era had no such name."""
    if not isinstance(name, str):
        return None
    return _table()[0].get(name_key(name))


def legacy_only_alias(name: str) -> LegacyName | None:
    """A pre-1.9 alias the current vocabulary does not have ("k_lms_ka", "k_dpmpp_2m_sde_exp"): it means what
    it ran then, schedule included."""
    key = name_key(name) if isinstance(name, str) else ""
    if not key or key in load_table().sampler_index:
        return None
    found = _table()[0].get(key)
    return found if found is not None and name_key(found.name) != key else None


def infotext_version(value: object) -> tuple[int, int, int] | None:
    """(major, minor, patch) of an infotext `Version` field: "v1.8.0", "1.10.1", "v1.7.0-RC-5-gf92d6149",
    Forge's "f0.0.17v1.8.0rc-latest-276-g29be1da7" (the A1111 base after the "v"); None when unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _FORGE.match(text) or _VERSION.match(text)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def is_pre19_infotext(params: dict) -> bool | None:
    """True when the infotext was written by A1111 (or Forge on an A1111 base) before v1.9, when a bare
    sampler name meant its own schedule: its Version is older. False when it is 1.9 or newer; None when it
    carries no readable Version (then the era cannot be told)."""
    version = infotext_version(params.get("Version"))
    if version is None:
        return None
    return version[:2] < _table()[1]
