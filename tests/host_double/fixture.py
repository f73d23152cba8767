"""pytest fixture for the host double: `host` runs each test once as A1111 and once as Forge.
Import it into a test module: `from tests.host_double.fixture import host  # noqa: F401`."""

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
