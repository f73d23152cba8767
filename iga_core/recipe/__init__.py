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

from iga_core.lazy import lazy_exports

# loaded on first use (iga_core.lazy): reading a recipe does not load the validator's jsonschema
__all__ = lazy_exports(__name__, {
    "iga_core.recipe.canonical": ("NotCanonicalizable", "canonical_json", "digest_status", "metadata_sha256",
                                  "with_metadata_digest"),
    "iga_core.recipe.deprecations": ("Notice", "deprecation_notices"),
    "iga_core.recipe.migration": ("MigrationError", "detect_version", "migrate"),
    "iga_core.recipe.model": ("DEFAULT_PIPELINE", "PIPELINE_FIELDS", "Bounds", "Cfg", "Constraints", "Control",
                              "ControlAdapter", "Grid", "Hashes", "Pipeline", "Preset", "Range", "Recipe",
                              "Resolution", "Sampler", "Scheduler", "Size", "Subsample", "Vae"),
    "iga_core.recipe.problems": ("Problem", "RecipeInvalid"),
    "iga_core.recipe.schema_file": ("KNOWN_VERSIONS", "SCHEMA_VERSION", "load_schema"),
    "iga_core.recipe.shorthand": ("canonical_form",),
    "iga_core.recipe.validate": ("validate_recipe",),
})
