"""The shipped JSON Schemas (draft 2020-12), one per minor version, and the list of versions, as data.

`data/versions.json` names the current version and, per minor line, its schema file; a recipe is checked
against the schema of its own line (1.0.x against 1.0.0), so an older recipe is read unchanged. Each file
is loaded once, by path (the CLI's start-up stays free of importlib.resources and copy).
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache

_HERE = os.path.dirname(os.path.abspath(__file__))


def _read(relative: str) -> dict:
    with open(os.path.join(_HERE, *relative.split("/")), encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=1)
def versions() -> dict:
    """data/versions.json: {"current", "versions": [{"version", "schema", "adds", "from"?, "upgrade"?}]}."""
    return _read("data/versions.json")


SCHEMA_VERSION: str = versions()["current"]
#: every version iga reads, oldest first
KNOWN_VERSIONS: tuple[str, ...] = tuple(v["version"] for v in versions()["versions"])


def version_tuple(text: object) -> tuple[int, int, int] | None:
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text) if isinstance(text, str) else None
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def line_of(version: object) -> str | None:
    """The known version whose minor line `version` belongs to ("1.0.3" -> "1.0.0"), None if none."""
    parsed = version_tuple(version)
    if parsed is None:
        return None
    return next((v for v in KNOWN_VERSIONS if version_tuple(v)[:2] == parsed[:2]), None)


def entry(version: str) -> dict:
    return next(v for v in versions()["versions"] if v["version"] == version)


@lru_cache(maxsize=8)
def _schema(version: str | None = None) -> dict:
    """The schema of `version`'s line (default: the current one); callers must not modify it."""
    known = line_of(version or SCHEMA_VERSION) or SCHEMA_VERSION
    return _read(entry(known)["schema"])


def load_schema(version: str | None = None) -> dict:
    """A copy of the recipe JSON Schema of `version` (default: the current one); callers may modify it."""
    import copy

    return copy.deepcopy(_schema(version))
