"""pytest fixtures for the host double, each test run once as A1111 and once as Forge.

`host`: a fresh, not yet started double per test. `started_host(setup)`: builds a module-scoped fixture
that creates files with `setup(double)`, starts the host once per flavour and resets it between tests.
Import into a test module: `from tests.host_double.fixture import host  # noqa: F401`."""

from __future__ import annotations

import pytest

from tests.host_double import clear, install


@pytest.fixture(params=["a1111", "forge"])
def host(request, tmp_path):
    double = install(request.param, tmp_path)
    try:
        yield double
    finally:
        clear()


def started_host(setup, select: str):
    """A module-scoped fixture: `setup(double)` adds checkpoints before the start; each test gets the
    started double reset to `select` and default settings."""

    @pytest.fixture(scope="module", params=["a1111", "forge"])
    def started(request, tmp_path_factory):
        double = install(request.param, tmp_path_factory.mktemp(request.param))
        setup(double)
        double.start(select=select)
        try:
            yield double
        finally:
            clear()

    return started
