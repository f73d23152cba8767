"""Which WebUI this is, from the host's own version module and the modules it ships, and which glue
variant handles each of its differences (`hosts.json`; every fact cited in docs/hosts.md).

Host-free: the facts are gathered by `iga_webui.host_probe` (the one place that looks at the host before
the door `iga_webui.host` imports its modules) and handed in, so detection is a pure function tests can
call with any facts. A host that matches no entry is *unknown*: the extension says so and guards nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

_DATA = Path(__file__).with_name("hosts.json")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class HostFacts:
    """What the host says about itself. `forge_version` / `forge_release`: `version` / `release` of its
    `modules_forge/forge_version.py` (None: no such module, or no such name); `modules`: module name ->
    importable, for every name `hosts.json` tests; `git_tag`: A1111's version API (`launch.git_tag()`),
    asked only once the host is known to be A1111."""

    forge_version: str | None
    modules: Mapping[str, bool]
    forge_release: str | None = None
    git_tag: str | None = None


@dataclass(frozen=True)
class HostProfile:
    key: str  # "a1111", "forge", "forge-neo", "forge-classic", "reforge" or "unknown"
    name: str
    version: str | None
    checked: tuple[str, ...]
    dialect: str  # the vocabulary dialect this host's names are spelled in
    backend: str  # "a1111" (LDM), "forge" (Forge's backend package) or "ldm_patched" (the older Forge backend)
    glue: Mapping[str, str] = field(default_factory=dict)  # difference -> variant
    why: str = ""  # how it was recognised, or why it was not

    @property
    def known(self) -> bool:
        return self.key != UNKNOWN

    @property
    def version_checked(self) -> bool:
        return self.version in self.checked

    def describe(self) -> str:
        """One line for the console and the panel."""
        if not self.known:
            return (f"IGA does not know this WebUI ({self.why}); it guards nothing here rather than guess. "
                    f"Known hosts: {', '.join(h['name'] for h in _spec()['hosts'])} (see docs/hosts.md).")
        version = self.version or "version unknown"
        note = "" if self.version_checked else f"; checked with {', '.join(self.checked)}"
        return f"IGA runs on {self.name} {version}{note}."

    def to_dict(self) -> dict:
        return {"key": self.key, "name": self.name, "version": self.version, "known": self.known,
                "version_checked": self.version_checked, "glue": dict(self.glue)}


@lru_cache(maxsize=1)
def _spec() -> dict:
    return json.loads(_DATA.read_text(encoding="utf-8"))


def differences() -> dict[str, str]:
    """difference -> what it is about (the glue modules of `iga_webui.forks`, one per difference)."""
    return dict(_spec()["differences"])


def hosts() -> list[dict]:
    return [dict(h) for h in _spec()["hosts"]]


def probe_modules() -> tuple[str, ...]:
    """Every module name some entry's detection tests, in a stable order."""
    names: dict[str, None] = {}
    for h in _spec()["hosts"]:
        for name in h["detect"].get("modules", {}):
            names.setdefault(name)
    return tuple(names)


def _matches(entry: dict, facts: HostFacts) -> bool:
    detect = entry["detect"]
    pattern = detect.get("forge_version")
    if pattern is None:
        if facts.forge_version is not None:
            return False
    elif facts.forge_version is None or not re.search(pattern, facts.forge_version):
        return False
    return all(bool(facts.modules.get(name)) == want for name, want in detect.get("modules", {}).items())


def _version(entry: dict, facts: HostFacts) -> str | None:
    if entry["version_from"] == "launch.git_tag":
        return facts.git_tag
    if facts.forge_release:
        return f"{facts.forge_version} {facts.forge_release}"
    return facts.forge_version


def detect(facts: HostFacts) -> HostProfile:
    """The first `hosts.json` entry whose detection the facts meet, else the unknown host."""
    for entry in _spec()["hosts"]:
        if _matches(entry, facts):
            return HostProfile(key=entry["key"], name=entry["name"], version=_version(entry, facts),
                               checked=tuple(entry["checked"]), dialect=entry["dialect"],
                               backend=entry["backend"], glue=dict(entry["glue"]),
                               why=f"forge_version {facts.forge_version!r}" if facts.forge_version else
                               "no modules_forge")
    if facts.forge_version is not None:
        why = f"modules_forge/forge_version.py says {facts.forge_version!r}"
        if facts.forge_release:
            why += f" (release {facts.forge_release!r})"
        near = next((h for h in _spec()["hosts"] if h["detect"].get("forge_version")
                     and re.search(h["detect"]["forge_version"], facts.forge_version)), None)
        if near is not None:  # the version of a known fork, but not its modules: an older or altered tree
            off = [("without " if want else "with ") + name for name, want in near["detect"]["modules"].items()
                   if bool(facts.modules.get(name)) != want]
            why += f", like {near['name']}, but {', '.join(off)}"
    else:
        a1111 = next(h for h in _spec()["hosts"] if h["key"] == "a1111")
        missing = [n for n, want in a1111["detect"]["modules"].items() if want and not facts.modules.get(n)]
        why = "an A1111-style host without " + (", ".join(missing) or "the modules iga needs")
    return unknown(why)


def unknown(why: str) -> HostProfile:
    return HostProfile(key=UNKNOWN, name="an unknown WebUI", version=None, checked=(), dialect="a1111",
                       backend=UNKNOWN, glue={}, why=why)


def is_a1111(facts: HostFacts) -> bool:
    """Does the host match the A1111 entry (so its version is asked from `launch.git_tag`)?"""
    entry = next(h for h in _spec()["hosts"] if h["key"] == "a1111")
    return _matches(entry, facts)
