"""The venv CI runs a host's glue tests in holds that host's pins (flavours.PINS, docs/hosts.md §11), so a
`.ci/run` row that drifts from the fork's requirements fails here rather than testing other versions."""

from __future__ import annotations

import os
from importlib import metadata

import pytest

from tests.host_double.flavours import FLAVOURS, PINS


def test_every_host_has_its_pins():
    assert set(PINS) == set(FLAVOURS)
    for host, pins in PINS.items():
        assert int(pins["gradio"].split(".")[0]) == FLAVOURS[host].gradio, host


def _one_host() -> str | None:
    wanted = os.environ.get("IGA_DOUBLE_HOSTS", "").strip()
    return wanted if wanted in FLAVOURS else None


@pytest.mark.skipif(_one_host() is None, reason="IGA_DOUBLE_HOSTS names no single host (CI sets it per venv)")
def test_this_venv_holds_the_hosts_pins():
    host = _one_host()
    installed = {name: metadata.version(name) for name in PINS[host]}
    assert installed == PINS[host], f"the {host} venv is not on {host}'s pins"
