"""The shipped JSON Schema (draft 2020-12) for the current recipe version, loaded once."""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from importlib import resources

SCHEMA_VERSION = "1.0.0"
SCHEMA_RESOURCE = f"schema/iga-recipe-{SCHEMA_VERSION}.schema.json"


@lru_cache(maxsize=1)
def _schema() -> dict:
    text = resources.files("iga_core.recipe").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def load_schema() -> dict:
    """A copy of the recipe JSON Schema (callers may modify it freely)."""
    return copy.deepcopy(_schema())
