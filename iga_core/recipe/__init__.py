"""The IGA recipe format: schema, typed model, canonical JSON and digest, validation, migration.

The interface other parts code against (docs/architecture.md, "iga_core.recipe"):

    SCHEMA_VERSION, load_schema()
    Problem, RecipeInvalid, validate_recipe(d)
    Recipe (+ its parts), Recipe.from_dict(d), recipe.to_dict()
    canonical_json(obj), metadata_sha256(d), with_metadata_digest(d), canonical_form(d) (shorthand expanded)
    migrate(d) -> (dict, changes)
    deprecation_notices(d) -> [Notice]  (what the schema's x-deprecated data marks, as used by d)
"""

from __future__ import annotations

from iga_core.recipe.canonical import (
    NotCanonicalizable,
    canonical_json,
    digest_status,
    metadata_sha256,
    with_metadata_digest,
)
from iga_core.recipe.deprecations import Notice
from iga_core.recipe.deprecations import notices as deprecation_notices
from iga_core.recipe.migration import MigrationError, detect_version, migrate
from iga_core.recipe.model import (
    DEFAULT_PIPELINE,
    PIPELINE_FIELDS,
    Bounds,
    Cfg,
    Constraints,
    Control,
    ControlAdapter,
    Grid,
    Hashes,
    Pipeline,
    Preset,
    Range,
    Recipe,
    Resolution,
    Sampler,
    Scheduler,
    Size,
    Subsample,
    Vae,
)
from iga_core.recipe.problems import Problem, RecipeInvalid
from iga_core.recipe.schema_file import KNOWN_VERSIONS, SCHEMA_VERSION, load_schema
from iga_core.recipe.shorthand import canonical_form
from iga_core.recipe.validate import validate_recipe

__all__ = [
    "DEFAULT_PIPELINE",
    "KNOWN_VERSIONS",
    "PIPELINE_FIELDS",
    "SCHEMA_VERSION",
    "Bounds",
    "Cfg",
    "Constraints",
    "Control",
    "ControlAdapter",
    "Grid",
    "Hashes",
    "MigrationError",
    "NotCanonicalizable",
    "Notice",
    "Pipeline",
    "Preset",
    "Problem",
    "Range",
    "Recipe",
    "RecipeInvalid",
    "Resolution",
    "Sampler",
    "Scheduler",
    "Size",
    "Subsample",
    "Vae",
    "canonical_form",
    "canonical_json",
    "deprecation_notices",
    "detect_version",
    "digest_status",
    "load_schema",
    "metadata_sha256",
    "migrate",
    "validate_recipe",
    "with_metadata_digest",
]
