"""Presets: Native = recipe defaults, the recipe's own presets filled from Native, Custom = user values."""

from __future__ import annotations

import pytest

from iga_core.errors import IgaInvalid
from iga_core.presets import (
    PresetNotFound,
    PresetOutOfRange,
    check_presets,
    preset_names,
    preset_request,
    resolve_preset,
)
from iga_core.recipe import Recipe, RecipeInvalid
from tests.test_guard_support import document, recipe


def test_names_are_native_then_recipe_presets_then_custom():
    assert preset_names(recipe("sd1_anime")) == ["Native", "Quality", "Fast", "Wide", "Custom"]
    assert preset_names(recipe("flux")) == ["Native", "Custom"]


def test_native_is_the_recipe_defaults():
    got = resolve_preset(recipe("sd1_anime"), "Native")
    assert got == {
        "preset": "Native", "description": "the recipe's defaults", "sampler": "DPM++ 2M", "schedule": "Karras",
        "steps": 25, "cfg": 7.0, "distilled_cfg": None, "width": 512, "height": 768, "clip_skip": 2,
        "vae": "vae-ft-mse-840000-ema-pruned.safetensors",
    }


def test_native_fills_distilled_cfg_and_embedded_vae():
    assert resolve_preset(recipe("flux"))["distilled_cfg"] == 3.5
    assert resolve_preset(recipe("lightning"))["vae"] == "sdxl_vae.safetensors"
    assert resolve_preset(recipe("turbo", vae={"embedded": True}))["vae"] == "None"


def test_a_recipe_preset_overrides_only_what_it_lists():
    got = resolve_preset(recipe("sd1_anime"), "Wide")
    assert (got["width"], got["height"], got["steps"]) == (768, 512, 25)
    assert (got["sampler"], got["clip_skip"]) == ("DPM++ 2M", 2)  # from Native


def test_preset_names_in_any_dialect_come_back_as_labels():
    got = resolve_preset(recipe("sd1_anime"), "Fast")  # written as k_euler_a / Automatic
    assert (got["sampler"], got["schedule"]) == ("Euler a", "Automatic")
    assert resolve_preset(recipe("sd1_anime"), "fast")["preset"] == "Fast"  # case-insensitive fallback


def test_custom_returns_only_the_users_values():
    assert resolve_preset(recipe("sd1_anime"), "Custom", custom={"steps": 33}) == {
        "preset": "Custom", "description": "the values set by the user", "steps": 33}
    with pytest.raises(PresetOutOfRange):
        resolve_preset(recipe("sd1_anime"), "Custom", custom={"seed": 1})


def test_unknown_preset_is_a_typed_error_with_the_choices():
    with pytest.raises(PresetNotFound) as err:
        resolve_preset(recipe("sd1_anime"), "Ultra")
    assert "Native, Quality, Fast, Wide, Custom" in err.value.hint
    assert isinstance(err.value, IgaInvalid)


@pytest.mark.parametrize(("change", "rule"), [
    ({"steps": 90}, "IGA-S001"),
    ({"cfg": 20.0}, "IGA-S002"),
    ({"sampler": "Frobnicate"}, "IGA-H006"),
    ({"width": 2048, "height": 2048}, "IGA-H005"),
])
def test_a_preset_outside_its_recipe_is_rejected(change, rule):
    # validation refuses such a recipe at the parse; a composed recipe is assembled from validated parts
    # without a second parse, and that is where these checks decide (compose drops the preset, IGA-M009)
    doc = document("sd1_anime")
    doc["presets"][0].update(change)
    r = Recipe.unchecked(doc)
    with pytest.raises(PresetOutOfRange) as err:
        resolve_preset(r, "Quality")
    assert rule in {f.rule_id for f in err.value.findings}
    assert [p.preset for p in check_presets(r)] == ["Quality"]
    assert "Quality" in err.value.message and rule in err.value.message


def test_a_preset_with_a_forbidden_sampler_is_rejected():
    r = Recipe.unchecked(document("lightning", presets=[{"name": "Bad", "steps": 4, "cfg": 1.0, "sampler": "DDIM"}]))
    with pytest.raises(PresetOutOfRange):
        resolve_preset(r, "Bad")


def test_reserved_names_are_refused_at_the_parse():
    with pytest.raises(RecipeInvalid) as err:
        recipe("sd1_anime", presets=[{"name": "Native", "steps": 20, "cfg": 7.0}])
    assert err.value.problems[0].pointer == "/presets/0/name"


def test_valid_recipes_have_no_preset_problems():
    assert check_presets(recipe("sd1_anime")) == []


def test_preset_request_feeds_the_guard():
    req = preset_request(resolve_preset(recipe("sd1_anime"), "Quality"))
    assert (req.sampler, req.schedule, req.steps, req.cfg, req.width, req.height) == (
        "DPM++ 2M", "Karras", 40, 7.5, 512, 768)


def test_a_resolved_preset_is_worked_out_once_and_handed_out_as_a_copy():
    r = recipe("lightning")
    first = resolve_preset(r)
    first["steps"] = 999  # a caller changing its answer does not change the next one
    again = resolve_preset(r)
    assert again["steps"] != 999 and ("resolve_preset", "Native") in r.memo
