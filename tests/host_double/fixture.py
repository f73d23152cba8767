"""pytest fixtures for the host double, each test run once per host whose pins this venv holds
(`flavours.hosts_for_this_venv`: CI sets IGA_DOUBLE_HOSTS to the venv's one host; without it, every host of
this gradio major; IGA_DOUBLE_HOSTS=all runs all five here).

`host`: a fresh, not yet started double per test. `started_host(setup)`: builds a module-scoped fixture
that creates files with `setup(double)`, starts the host once per flavour and resets it between tests.
Import into a test module: `from tests.host_double.fixture import host  # noqa: F401`."""

from __future__ import annotations

import pytest

from tests.host_double import clear, install
from tests.host_double.flavours import hosts_for_this_venv

HOSTS = hosts_for_this_venv()


@pytest.fixture(params=HOSTS)
def host(request, tmp_path):
    double = install(request.param, tmp_path)
    try:
        yield double
    finally:
        clear()


def started_host(setup, select: str):
    """A module-scoped fixture: `setup(double)` adds checkpoints before the start; each test gets the
    started double reset to `select` and default settings."""

    @pytest.fixture(scope="module", params=HOSTS)
    def started(request, tmp_path_factory):
        double = install(request.param, tmp_path_factory.mktemp(request.param))
        setup(double)
        double.start(select=select)
        try:
            yield double
        finally:
            clear()

    return started
