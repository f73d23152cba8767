"""The typed recipe model: exact dict round trips (x- keys included), immutability, typed errors."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
from hypothesis import given, settings
from recipe_strategies import recipes

from iga_core.errors import IgaInvalid
from iga_core.recipe import (
    SCHEMA_VERSION,
    Recipe,
    RecipeInvalid,
    canonical_json,
    load_schema,
    validate_recipe,
)

FULL = {
    "iga_version": "1.0.0",
    "model_id": "sdxl-lightning-4step",
    "title": "Lightning",
    "notes": "n",
    "architecture": "sdxl",
    "prediction_type": "eps",
    "sampler": {"name": "Euler", "mode": "ode", "params": {"s_noise": 1.0}, "x-s": [1]},
    "scheduler": {
        "name": "SGM Uniform",
        "grid": {"kind": "timesteps", "values": [999, 749, 499, 249], "x-g": True},
        "canonical_steps": 4,
        "subsample": {"allowed_steps": [1, 2, 4]},
        "spacing": "trailing",
        "zero_terminal_snr": False,
        "sigma_min": 0.0292,
        "sigma_max": 14.6146,
    },
    "steps": {"default": 4, "min": 1, "max": 4},
    "cfg": {"default": 1.0, "min": 1.0, "max": 2.0, "distilled": {"default": 3.5, "min": 1, "max": 5}, "rescale": 0.0},
    "vae": {"id": "sdxl_vae.safetensors", "embedded": True, "sha256": "a" * 64},
    "clip_skip": 1,
    "resolution": {"preferred": [{"width": 1024, "height": 1024, "x-label": "square"}], "max": {"width": 1536, "height": 1536}},
    "constraints": {"forbid_samplers": ["DPM adaptive"], "forbid_schedules": [], "allow_samplers": [], "allow_schedules": []},
    "presets": [{"name": "Fast", "steps": 4, "cfg": 1.0, "distilled_cfg": 3.5, "sampler": "Euler", "scheduler": "SGM Uniform",
                 "width": 1024, "height": 1024, "description": "d", "x-p": {}}],
    "hashes": {"weights_sha256": "b" * 64, "metadata_sha256": "c" * 64, "source_file_sha256": "d" * 64},
    "x-vendor": {"nested": [1, {"a": None}]},
}  # fmt: skip


def test_every_field_round_trips_exactly():
    assert validate_recipe(FULL) == []
    recipe = Recipe.from_dict(FULL)
    out = recipe.to_dict()
    assert out == FULL
    assert json.dumps(out, sort_keys=True) == json.dumps(FULL, sort_keys=True)  # types too: lists, not tuples
    assert recipe.scheduler.grid.values == (999, 749, 499, 249)
    assert recipe.extensions == {"x-vendor": {"nested": [1, {"a": None}]}}
    assert recipe.resolution.preferred[0].extensions == {"x-label": "square"}


def test_absent_optional_fields_stay_absent():
    minimal = {k: FULL[k] for k in ("iga_version", "model_id", "prediction_type", "sampler", "steps", "cfg")}
    minimal["scheduler"] = {"name": "Karras"}
    assert Recipe.from_dict(minimal).to_dict() == minimal
    assert "hashes" not in Recipe.from_dict(minimal).to_dict()


def test_model_fields_cover_every_schema_property():
    # The dataclasses mirror the schema one to one: a field added to one must be added to the other.
    schema = load_schema()
    assert {f.name for f in dataclasses.fields(Recipe)} - {"extensions"} == set(schema["properties"])
    defs = schema["$defs"]
    pairs = {"sampler": "Sampler", "scheduler": "Scheduler", "grid": "Grid", "subsample": "Subsample",
             "cfg": "Cfg", "cfgRange": "Range", "vae": "Vae", "size": "Size", "resolution": "Resolution",
             "constraints": "Constraints", "preset": "Preset", "hashes": "Hashes"}  # fmt: skip
    import iga_core.recipe as pkg

    for def_name, cls_name in pairs.items():
        fields = {f.name for f in dataclasses.fields(getattr(pkg, cls_name))} - {"extensions"}
        assert fields == set(defs[def_name]["properties"]), cls_name


def test_recipe_is_frozen_and_does_not_alias_its_input():
    d = copy.deepcopy(FULL)
    recipe = Recipe.from_dict(d)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.model_id = "x"  # type: ignore[misc]
    d["x-vendor"]["nested"].append(2)
    d["sampler"]["params"]["s_noise"] = 2.0
    assert recipe.to_dict() == FULL
    out = recipe.to_dict()
    out["x-vendor"]["nested"].clear()
    assert recipe.to_dict() == FULL
    assert hash(recipe) == hash(Recipe.from_dict(FULL))


def test_from_dict_raises_a_typed_error_with_every_problem():
    bad = {**FULL, "steps": {"default": 9, "min": 1, "max": 4}, "bogus": 1}
    with pytest.raises(RecipeInvalid) as info:
        Recipe.from_dict(bad)
    err = info.value
    assert isinstance(err, IgaInvalid) and err.exit_code == 1
    assert [p.pointer for p in err.problems] == [
        "/bogus"
    ]  # schema problems first; semantics after they are fixed
    assert "/bogus" in err.message and err.hint
    assert err.to_dict()["problems"][0]["pointer"] == "/bogus"


def test_preset_lookup_is_case_insensitive():
    recipe = Recipe.from_dict(FULL)
    assert recipe.preset(" fast ").steps == 4
    assert recipe.preset("Slow") is None


def test_schema_version_matches_the_shipped_schema():
    assert SCHEMA_VERSION in load_schema()["$id"]
    assert load_schema()["$schema"].endswith("2020-12/schema")


@settings(max_examples=80, deadline=None)
@given(recipes())
def test_valid_generated_recipes_round_trip(d):
    assert validate_recipe(d) == []
    recipe = Recipe.from_dict(d)
    assert recipe.to_dict() == d
    assert canonical_json(recipe) == canonical_json(d)
    assert Recipe.from_dict(recipe.to_dict()) == recipe
