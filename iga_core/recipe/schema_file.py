"""The shipped JSON Schema (draft 2020-12) for the current recipe version, loaded once."""

from __future__ import annotations

import json
from functools import lru_cache

SCHEMA_VERSION = "1.0.0"
SCHEMA_RESOURCE = f"schema/iga-recipe-{SCHEMA_VERSION}.schema.json"


@lru_cache(maxsize=1)
def _schema() -> dict:
    # imported here: SCHEMA_VERSION is read without loading the file machinery
    from importlib import resources

    text = resources.files("iga_core.recipe").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def load_schema() -> dict:
    """A copy of the recipe JSON Schema (callers may modify it freely)."""
    import copy

    return copy.deepcopy(_schema())
