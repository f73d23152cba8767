"""Paste-back: recover preset, overrides and recipe digest from infotext or an image, compare them with the
current recipe, and rebuild the exact request."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from iga_core.audit.image_meta import IMAGE_KEY, write_image_metadata
from iga_core.audit.infotext import InfotextInvalid, to_infotext_fields
from iga_core.audit.pasteback import (
    PasteInvalid,
    compare_to_recipe,
    paste_info_from_image,
    paste_info_from_text,
    reproduction,
)
from iga_core.audit.record import build_record
from iga_core.guard import GuardPolicy, GuardRequest, evaluate
from iga_core.recipe import Recipe
from iga_core.script_args import parse_script_args
from tests.host_double import infotext_utils as host

ROOT = Path(__file__).resolve().parents[1]
LIGHTNING_DOC = json.loads((ROOT / "metadata_examples" / "sdxl-lightning-4step.iga.json").read_text())
LIGHTNING = Recipe.from_dict(LIGHTNING_DOC)
TURBO = Recipe.from_dict(json.loads((ROOT / "metadata_examples" / "sdxl-turbo.iga.json").read_text()))
REQUEST = GuardRequest(sampler="Euler", schedule="SGM Uniform", steps=4, cfg=2.5, width=1024, height=1024)
POLICY = GuardPolicy(overrides=frozenset({"IGA-S002"}), override_reasons={"IGA-S002": "a bit more contrast, ok"})


def make_record(recipe=LIGHTNING) -> dict:
    return build_record(params={**REQUEST.to_dict(), "seed": 99}, recipe=recipe,
                        verdict=evaluate(recipe, REQUEST, POLICY), preset="Lightning, custom: cfg", policy=POLICY,
                        host={"name": "forge", "version": "f2.0.1v1.10.1"},
                        checkpoint={"name": "l.safetensors", "weights_sha256": "ef" * 32}, source="embedded")


def make_infotext(record: dict) -> str:
    return host.create_infotext_text("a fox, snow", "blurry", {
        "Steps": 4, "Sampler": "Euler", "Schedule type": "SGM Uniform", "CFG scale": 2.5, "Seed": 99,
        "Size": "1024x1024", "Model hash": "abcdef0123", **to_infotext_fields(record), "Version": "f2.0.1v1.10.1"})


def test_from_text_recovers_preset_overrides_and_digest():
    record = make_record()
    info = paste_info_from_text(make_infotext(record))
    assert info.preset == "Lightning, custom: cfg" and info.overrides == ("IGA-S002",)
    assert info.recipe_digest == record["recipe"]["digest"][:12] and info.mode == "standard"
    assert info.iga.outcome == "override"
    assert info.prompt == "a fox, snow" and info.negative_prompt == "blurry"
    assert info.override_reasons == {}  # reasons live only in the full record


def test_compare_to_recipe():
    record = make_record()
    short = paste_info_from_text(make_infotext(record))
    assert compare_to_recipe(short, LIGHTNING) == "same"
    assert compare_to_recipe(short, TURBO) == "different"
    changed = copy.deepcopy(LIGHTNING_DOC)
    changed["cfg"]["max"] = 2.0  # any edit to the recipe changes its digest
    assert compare_to_recipe(short, Recipe.from_dict(changed)) == "different"
    assert compare_to_recipe(record, LIGHTNING) == "same"
    assert compare_to_recipe(short.iga, LIGHTNING) == "same"
    assert compare_to_recipe(short, None) == "none"
    assert compare_to_recipe(None, LIGHTNING) == "none"
    plain = paste_info_from_text("a cat\nSteps: 20, Sampler: Euler a, Seed: 3")
    assert compare_to_recipe(plain, LIGHTNING) == "none"


def test_from_image_prefers_the_full_record(tmp_path):
    record = make_record()
    path = tmp_path / "a.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", make_infotext(record))
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    write_image_metadata(path, record)
    pasted = paste_info_from_image(path)
    assert pasted.record == record and pasted.recipe_digest == record["recipe"]["digest"]
    assert pasted.override_reasons == {"IGA-S002": "a bit more contrast, ok"}
    assert pasted.problems == ()


def test_image_whose_infotext_and_record_disagree_says_so(tmp_path):
    record = make_record()
    other = make_record(TURBO)
    path = tmp_path / "b.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", make_infotext(other))
    info.add_text(IMAGE_KEY, json.dumps(record))
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    pasted = paste_info_from_image(path)
    assert pasted.recipe_digest == record["recipe"]["digest"]
    assert any("differs" in p for p in pasted.problems)


def test_damaged_record_falls_back_to_infotext(tmp_path):
    record = make_record()
    path = tmp_path / "c.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", make_infotext(record))
    info.add_text(IMAGE_KEY, "{not json")
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    pasted = paste_info_from_image(path)
    assert pasted.record is None and pasted.preset == "Lightning, custom: cfg"
    assert any("unreadable" in p for p in pasted.problems)


def test_damaged_iga_fields_raise_without_a_record_and_are_noted_with_one(tmp_path):
    text = "a cat\nSteps: 4, Sampler: Euler, Seed: 1, IGA: v1 standard fabulous"
    with pytest.raises(InfotextInvalid):
        paste_info_from_text(text)
    record = make_record()
    pasted = paste_info_from_text(text, record=record, source="image")
    assert pasted.record == record and pasted.problems


def test_reproduction_from_record_is_exact_and_its_payload_is_valid():
    pasted = paste_info_from_text(make_infotext(make_record()), record=make_record())
    repro = reproduction(pasted)
    assert repro["from"] == "audit record" and repro["seed"] == 99
    assert repro["request"] == {"sampler": "Euler", "schedule": "SGM Uniform", "steps": 4, "cfg": 2.5,
                                "width": 1024, "height": 1024}
    GuardRequest(**repro["request"])
    payload = repro["api_payload"]
    assert (payload["sampler_name"], payload["scheduler"], payload["cfg_scale"]) == ("Euler", "SGM Uniform", 2.5)
    args = parse_script_args(payload["alwayson_scripts"]["iga"]["args"][0])
    assert args.overrides == ("IGA-S002",) and args.mode == "standard"
    assert args.override_reasons == {"IGA-S002": "a bit more contrast, ok"}


def test_reproduction_from_infotext_only():
    text = ("a cat\nSteps: 6, Sampler: DPM++ 2M, Schedule type: Automatic, CFG scale: 5.5, Seed: 7, "
            "Size: 832x1216, Clip skip: 2, Distilled CFG Scale: 3.5")
    repro = reproduction(paste_info_from_text(text))
    assert repro["from"] == "infotext" and repro["seed"] == 7
    assert repro["request"] == {"sampler": "DPM++ 2M", "steps": 6, "cfg": 5.5, "distilled_cfg": 3.5,
                                "clip_skip": 2, "width": 832, "height": 1216}
    assert repro["api_payload"]["override_settings"] == {"CLIP_stop_at_last_layers": 2}
    assert parse_script_args(repro["api_payload"]["alwayson_scripts"]["iga"]["args"][0]).mode is None


@pytest.mark.parametrize("bad", ["Steps: many", "CFG scale: nan", "Seed: 1.5"])
def test_garbage_host_numbers_are_a_typed_error(bad):
    with pytest.raises(PasteInvalid):
        reproduction(paste_info_from_text(f"a cat\nSampler: Euler, Size: 8x8, {bad}"))
