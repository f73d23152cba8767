"""Host detection is a pure function of what the host says about itself (its modules_forge/forge_version.py
and which modules it ships; docs/hosts.md §1), so each fork's real answer is a fixture here: the facts below
are what each host's own files give (cited), not a git tag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iga_webui import host_profile
from iga_webui.host_profile import HostFacts

ROOT = Path(__file__).resolve().parents[1]
FORKS = ROOT / "iga_webui" / "forks"
A1111_MODULES = {"modules_forge": False, "modules.sd_schedulers": True, "backend": False,
                 "modules_forge.main_entry": False, "ldm_patched": False, "modules_forge.forge_loader": False}


def facts(version=None, release=None, git_tag=None, **modules) -> HostFacts:
    have = dict(A1111_MODULES)
    if version is not None:
        have["modules_forge"] = True
    have.update(modules)
    return HostFacts(forge_version=version, forge_release=release, modules=have, git_tag=git_tag)


#: (what the host's files say, the profile iga must name). Sources: A1111 v1.10.1 has no modules_forge
#: (launch_utils.py:74 git_tag); Forge dfdcbab modules_forge/forge_version.py:1 '2.0.1v1.10.1' with backend/
#: and modules_forge/main_entry.py; Neo forge_version.py:1-2 'neo' + release '2.22' (index commit 991be0ed)
#: with backend/; Forge Classic 5136ce20 forge_version.py:1 'classic' with ldm_patched/ and
#: modules/sd_schedulers.py; reForge 3b56b268 forge_version.py:1 '1.0.0v2-v1.10.1RC' with ldm_patched/ and
#: modules_forge/forge_loader.py
KNOWN = [
    (facts(git_tag="v1.10.1"), "a1111", "AUTOMATIC1111", "v1.10.1"),
    (facts("2.0.1v1.10.1", backend=True, **{"modules_forge.main_entry": True}), "forge", "Forge", "2.0.1v1.10.1"),
    (facts("neo", "2.22", backend=True, **{"modules_forge.main_entry": True}), "forge-neo", "Forge Neo", "neo 2.22"),
    (facts("classic", ldm_patched=True, **{"modules_forge.forge_loader": True}), "forge-classic", "Forge Classic",
     "classic"),
    (facts("1.0.0v2-v1.10.1RC", ldm_patched=True, **{"modules_forge.forge_loader": True}), "reforge", "reForge",
     "1.0.0v2-v1.10.1RC"),
]


@pytest.mark.parametrize(("given", "key", "name", "version"), KNOWN, ids=[k[1] for k in KNOWN])
def test_each_host_is_named_with_its_own_version(given, key, name, version):
    profile = host_profile.detect(given)
    assert (profile.key, profile.name, profile.version) == (key, name, version)
    assert profile.known and profile.version_checked
    assert profile.describe() == f"IGA runs on {name} {version}."


def test_a_newer_version_of_a_known_host_is_still_that_host_and_says_what_was_checked():
    profile = host_profile.detect(facts("neo", "2.30", backend=True, **{"modules_forge.main_entry": True}))
    assert profile.key == "forge-neo" and not profile.version_checked
    assert profile.describe() == "IGA runs on Forge Neo neo 2.30; checked with neo 2.22."


UNKNOWN = [
    # lllyasviel's Forge before 2.0: ldm_patched like reForge, but A1111 1.8 underneath (no sd_schedulers)
    (facts("0.0.17v1.8.0rc", ldm_patched=True, **{"modules_forge.forge_loader": True, "modules.sd_schedulers": False}),
     "'0.0.17v1.8.0rc'"),
    # a Forge-like version string on a host without Forge's backend package
    (facts("2.0.1v1.10.1", **{"modules_forge.main_entry": True}), "'2.0.1v1.10.1'"),
    # a fork iga has never heard of
    (facts("ersatz 1.0", backend=True, **{"modules_forge.main_entry": True}), "'ersatz 1.0'"),
    # Forge Classic before its 2025 rewrite (the Haoming02 snapshot of 2025-02-21: A1111 1.8 underneath, no
    # scheduler module), and its version file without its backend
    (facts("classic", ldm_patched=True, **{"modules_forge.forge_loader": True, "modules.sd_schedulers": False}),
     "like Forge Classic, but without modules.sd_schedulers"),
    (facts("classic"), "like Forge Classic, but without ldm_patched"),
    # an A1111-style host from before 1.9 (no scheduler module): the glue's host API is not there
    (facts(**{"modules.sd_schedulers": False}), "without modules.sd_schedulers"),
]


@pytest.mark.parametrize(("given", "why"), UNKNOWN, ids=["old-forge", "forge-no-backend", "other-fork",
                                                         "classic-2025-02", "classic-no-backend", "a1111-pre-1.9"])
def test_anything_else_is_unknown_and_says_why(given, why):
    profile = host_profile.detect(given)
    assert not profile.known and profile.key == "unknown" and profile.glue == {}
    assert why in profile.why
    line = profile.describe()
    assert line.startswith("IGA does not know this WebUI") and "guards nothing" in line and why in line


def test_the_release_is_part_of_the_reason_on_an_unknown_fork():
    assert "release '9'" in host_profile.detect(facts("neo", "9")).why  # Neo's version file, no backend/


def test_every_host_names_a_variant_for_every_difference_and_each_variant_exists():
    """hosts.json against the glue modules (read as text: importing them needs a running host)."""
    from iga_webui.forks import DIFFERENCES

    spec = json.loads((ROOT / "iga_webui" / "hosts.json").read_text(encoding="utf-8"))
    assert set(spec["differences"]) == set(DIFFERENCES)
    for entry in spec["hosts"]:
        assert set(entry["glue"]) == set(DIFFERENCES), entry["key"]
        for difference, variant in entry["glue"].items():
            text = (FORKS / f"{difference}.py").read_text(encoding="utf-8")
            variants = text[text.index("VARIANTS = {"):]
            assert f'"{variant}":' in variants, (entry["key"], difference, variant)


def test_probe_modules_cover_every_detection_rule():
    names = host_profile.probe_modules()
    for entry in host_profile.hosts():
        assert set(entry["detect"].get("modules", {})) <= set(names)
    assert len(names) == len(set(names))

