"""Looks at the host before anything else of the glue loads: its own version module and which of the
modules `hosts.json` names exist, so that an unknown host is named as such instead of failing somewhere in
the door's imports (`iga_webui.host` imports A1111 1.10's modules at load).

Reads, never guesses from a git tag: `modules_forge/forge_version.py` (`version`, Neo also `release`;
Forge 2.0.1 modules_forge/forge_version.py:1, Forge Classic and Neo forge_version.py:1-2, reForge
forge_version.py:1 -- docs/hosts.md §1) and, on A1111 only, its version API `launch.git_tag()` (A
launch_utils.py:74-86; the infotext "Version" field reads the same, A processing.py:695-701).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import sys

from iga_webui import host_profile
from iga_webui.host_profile import HostFacts, HostProfile

log = logging.getLogger("iga")


def _importable(name: str) -> bool:
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package that is not there, or a module without a spec
        return False


def _forge_version() -> tuple[str | None, str | None]:
    if not _importable("modules_forge.forge_version"):
        return None, None
    module = importlib.import_module("modules_forge.forge_version")
    version, release = getattr(module, "version", None), getattr(module, "release", None)
    return (str(version) if version is not None else None), (str(release) if release is not None else None)


def facts() -> HostFacts:
    version, release = _forge_version()
    found = HostFacts(forge_version=version, forge_release=release,
                      modules={name: _importable(name) for name in host_profile.probe_modules()})
    if host_profile.is_a1111(found):
        found = HostFacts(forge_version=None, modules=found.modules, git_tag=_git_tag())
    return found


def _git_tag() -> str | None:
    """A1111's version API. `launch.git_tag()` runs `git describe` (about 6 ms) and never raises; the hosts
    run launch.py as __main__, so importing it by name is a second load that only the version needs."""
    import launch

    tag = launch.git_tag() if callable(getattr(launch, "git_tag", None)) else None
    return None if tag in (None, "<none>") else str(tag)


@functools.lru_cache(maxsize=1)
def profile() -> HostProfile:
    """This process's host (asked once: the host does not change while it runs)."""
    return host_profile.detect(facts())


_announced: list[str] = []


def announce() -> str:
    """Say once in the console which host this is, or that it is unknown and nothing is guarded."""
    line = profile().describe()
    if not _announced:
        _announced.append(line)
        print(f"[IGA] {line}", file=sys.stderr)
        if not profile().known:
            log.warning("[IGA] %s", line)
    return line


def script_base():
    """(Script, AlwaysVisible) of the host's script API (A and the forks: modules/scripts.py:14, 52), or
    None when even that is missing: then nothing can show in the UI and the console line is all."""
    if not _importable("modules.scripts"):
        return None
    scripts = importlib.import_module("modules.scripts")
    script, always = getattr(scripts, "Script", None), getattr(scripts, "AlwaysVisible", None)
    return (script, always) if script is not None and always is not None else None
