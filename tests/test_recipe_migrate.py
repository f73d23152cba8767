"""Migration: the flat draft upgrades to 1.0.0 and says what changed; the step registry is ready for
later versions."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import iga_core.recipe.migration as migrate_module
from iga_core.recipe import (
    SCHEMA_VERSION,
    MigrationError,
    detect_version,
    metadata_sha256,
    migrate,
    validate_recipe,
)
from iga_core.recipe.migration import FLAT_DRAFT, MigrationStep

EXAMPLES = Path(__file__).resolve().parents[1] / "metadata_examples"
FLAT = json.loads((EXAMPLES / "seed-flat-draft.json").read_text(encoding="utf-8"))


def test_flat_draft_is_detected():
    assert detect_version(FLAT) == FLAT_DRAFT
    assert detect_version({"iga_version": "1.0.0", "model_id": "m"}) == "1.0.0"
    assert detect_version({"iga_version": "0.1", "steps_default": 4}) == FLAT_DRAFT
    assert detect_version(["not", "a", "recipe"]) is None


def test_seed_flat_draft_migrates_to_a_valid_recipe_and_reports_each_change():
    before = copy.deepcopy(FLAT)
    out, changes = migrate(FLAT)
    assert before == FLAT  # input untouched
    assert validate_recipe(out) == []
    assert out["iga_version"] == SCHEMA_VERSION
    assert out["sampler"] == {"name": "Euler a"} and out["scheduler"] == {"name": "Karras"}
    assert out["steps"] == {"default": 30, "min": 20, "max": 50}
    assert out["cfg"] == {"default": 7.0, "min": 4.0, "max": 9.0}
    assert out["vae"] == {"id": "sdxl_vae.safetensors"}
    assert out["prediction_type"] == "eps"
    assert out["resolution"] == {"preferred": [{"width": 1024, "height": 1024}]}
    text = "\n".join(changes)
    for old in (
        "steps_range",
        "cfg_range",
        "vae_id",
        "'epsilon'",
        "'1024x1024'",
        "steps_default",
        "cfg_default",
    ):
        assert old in text


def test_combined_sampler_names_are_split():
    out, changes = migrate({"model_id": "m", "sampler": "DPM++ 2M Karras", "steps_default": 20,
                            "cfg_default": 7, "prediction_type": "eps"})  # fmt: skip
    assert out["sampler"] == {"name": "DPM++ 2M"} and out["scheduler"] == {"name": "Karras"}
    assert any("split" in c for c in changes)
    assert validate_recipe(out) == []


def test_a_separate_schedule_wins_over_the_one_in_the_sampler_name():
    out, changes = migrate({"model_id": "m", "sampler": "DPM++ 2M Karras", "scheduler": "Exponential",
                            "steps_default": 20, "cfg_default": 7, "prediction_type": "eps"})  # fmt: skip
    assert out["scheduler"] == {"name": "Exponential"}
    assert any("wins" in c for c in changes)


def test_no_schedule_means_automatic():
    out, changes = migrate({"model_id": "m", "sampler": "Euler", "steps_default": 20, "cfg_default": 7,
                            "prediction_type": "v_prediction"})  # fmt: skip
    assert out["scheduler"] == {"name": "Automatic"} and out["prediction_type"] == "v"
    assert any("Automatic" in c for c in changes)


def test_rich_flat_draft():
    flat = {
        "version": "0.1", "name": "dmd2", "description": "d", "base_model": "SDXL 1.0",
        "prediction_type": "v-zsnr", "sampler": "LCM", "schedule": "SGM Uniform", "timestep_spacing": "trailing",
        "timesteps": [999, 749, 499, 249], "allowed_steps": [4], "steps_default": "4", "steps_range": "4-4",
        "cfg_scale": 1, "cfg_range": [1, 1], "guidance_rescale": 0.7, "vae": "sdxl_vae.safetensors",
        "clip_skip": "2", "resolutions": ["1024x1024", "832x1216"], "max_resolution": "1536x1536",
        "forbidden_samplers": ["Euler a"], "presets": [{"name": "Fast", "steps": 4, "cfg_scale": 1,
        "sampler": "LCM", "resolution": "1024x1024", "author_comment": "hi"}],
        "weights_sha256": "a" * 64, "metadata_sha256": "b" * 64, "trigger_words": ["x"], "x-own": 1,
    }  # fmt: skip
    out, changes = migrate(flat)
    assert validate_recipe(out) == [], validate_recipe(out)
    assert out["model_id"] == "dmd2" and out["notes"] == "d" and out["architecture"] == "sdxl"
    assert out["prediction_type"] == "v" and out["scheduler"]["zero_terminal_snr"] is True
    assert out["scheduler"]["grid"] == {"kind": "timesteps", "values": [999, 749, 499, 249]}
    assert out["scheduler"]["subsample"] == {"allowed_steps": [4]}
    assert out["steps"] == {"default": 4, "min": 4, "max": 4} and out["clip_skip"] == 2
    assert out["cfg"] == {"default": 1, "min": 1, "max": 1, "rescale": 0.7}
    assert out["resolution"]["preferred"][1] == {"width": 832, "height": 1216}
    assert out["resolution"]["max"] == {"width": 1536, "height": 1536}
    assert out["constraints"] == {"forbid_samplers": ["Euler a"]}
    assert out["presets"][0] == {"name": "Fast", "steps": 4, "cfg": 1, "sampler": "LCM", "width": 1024,
                                 "height": 1024, "x-author_comment": "hi"}  # fmt: skip
    assert out["x-legacy"] == {"trigger_words": ["x"]} and out["x-own"] == 1
    # A digest carried over would be stale: it is recomputed for the new content.
    assert out["hashes"]["weights_sha256"] == "a" * 64
    assert out["hashes"]["metadata_sha256"] == metadata_sha256(out)
    assert any("x-legacy" in c for c in changes) and any("recomputed" in c for c in changes)


def test_missing_required_fields_are_not_guessed():
    out, _ = migrate({"model_id": "m", "sampler": "Euler", "steps_default": 20})
    pointers = {p.pointer for p in validate_recipe(out)}
    assert pointers == {"/prediction_type", "/cfg"}


def test_recipes_of_the_target_version_pass_through_unchanged():
    d = json.loads((EXAMPLES / "sdxl-turbo.iga.json").read_text(encoding="utf-8"))
    out, changes = migrate(d, "1.0.0")
    assert out == d and changes == [] and out is not d
    out, changes = migrate({**d, "iga_version": "1.0.3"}, "1.0.0")
    assert changes == []
    current = {**d, "iga_version": SCHEMA_VERSION}
    assert migrate(current) == (current, [])


def test_a_1_0_recipe_migrates_to_1_2_by_changing_only_its_version():
    d = json.loads((EXAMPLES / "sdxl-turbo.iga.json").read_text(encoding="utf-8"))
    out, changes = migrate(d)
    assert SCHEMA_VERSION == "1.2.0" and out["iga_version"] == "1.2.0"
    assert {k: v for k, v in out.items() if k not in ("iga_version", "hashes")} == {
        k: v for k, v in d.items() if k not in ("iga_version", "hashes")}
    assert changes[0].startswith("iga_version '1.0.0' -> '1.1.0'") and "recomputed" in changes[-1]
    assert changes[1].startswith("iga_version '1.1.0' -> '1.2.0'")
    assert validate_recipe(out) == [] and out["hashes"]["metadata_sha256"] == metadata_sha256(out)
    for doc, target, fragment in (({**d, "iga_version": "1.1.0"}, "1.0.0", "only forward"),
                                  (d, "2.0.0", "no recipe version")):
        with pytest.raises(MigrationError) as info:
            migrate(doc, target)
        assert fragment in info.value.message


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ({"hello": "world"}, "not a recipe"),
        ({"iga_version": "9.0.0"}, "newer"),
        ({"iga_version": "0.5.0"}, "no migration"),
    ],
)
def test_unknown_shapes_raise_a_typed_error(doc, fragment):
    with pytest.raises(MigrationError) as info:
        migrate(doc)
    assert fragment in info.value.message and info.value.hint


def test_steps_chain_through_the_registry(monkeypatch):
    # A later version adds one step; migrate chains it with the existing ones.
    def upgrade(d):
        return {**d, "iga_version": FLAT_DRAFT, "steps_default": d.pop("steps")}, [
            "0.0.1: steps -> steps_default"
        ]

    monkeypatch.setitem(migrate_module.STEPS, "0.0.1", MigrationStep("0.0.1", FLAT_DRAFT, "test", upgrade))
    monkeypatch.setattr(migrate_module, "detect_version",
                        lambda d: "0.0.1" if d.get("iga_version") == "0.0.1" else FLAT_DRAFT)  # fmt: skip
    out, changes = migrate({"iga_version": "0.0.1", "model_id": "m", "sampler": "Euler", "steps": 8,
                            "cfg_default": 1, "prediction_type": "eps"})  # fmt: skip
    assert changes[0].startswith("0.0.1") and out["steps"] == {"default": 8}
    assert validate_recipe(out) == []
