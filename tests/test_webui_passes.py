"""Hires fix and refiner through the host double (A1111 and Forge): the second pass is checked against the
recipe that governs it, blocks for real when it breaks a hard rule, and both passes are audited."""

from __future__ import annotations

import json

import pytest

from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING, TURBO, add_checkpoint

pytestmark = pytest.mark.host


def _checkpoints(double):
    add_checkpoint(double.models, "lightning.safetensors", LIGHTNING)
    add_checkpoint(double.models, "turbo.safetensors", TURBO, seed=1)


started = started_host(_checkpoints, select="lightning.safetensors")


@pytest.fixture
def webui(started):
    started.reset("lightning.safetensors")
    return started


def run(webui, **fields):
    status, body = webui.api_txt2img({"prompt": "a cat", "save_images": True, **fields})
    if status != 200:
        return status, body, None
    info = json.loads(body["info"])
    return status, info, webui.m.infotext_utils.parse_generation_parameters(info["infotexts"][0])


def record_of(webui):
    from iga_core.audit import read_image_metadata

    (saved,) = webui.saved_files()
    return read_image_metadata(saved)


def test_a_forbidden_hires_sampler_blocks_the_whole_generation(webui):
    status, body, _ = run(webui, enable_hr=True, hr_sampler_name="DPM++ 2M", hr_second_pass_steps=4)
    assert status == 422
    assert "hires pass: DPM++ 2M is forbidden" in body["detail"] and "IGA-H001" in body["detail"]
    assert webui.saved_files() == []


def test_hires_steps_outside_the_range_warn_and_both_passes_are_audited(webui):
    status, info, params = run(webui, enable_hr=True, hr_second_pass_steps=30, denoising_strength=0.5)
    assert status == 200
    assert "IGA-S001 (soft) hires pass: 30 steps" in info["comments"]
    assert params["Hires steps"] == "30"
    record = record_of(webui)
    fields = {f["field"] for f in record["guard"]["findings"]}
    assert "hires steps" in fields
    assert record["guard"]["outcome"] == "warn"


def test_hires_inside_the_recipe_runs_both_passes(webui):
    status, _info, params = run(webui, enable_hr=True, hr_second_pass_steps=4, hr_sampler_name="Euler")
    assert status == 200
    assert params["IGA"].endswith(" ok")


def test_hires_checkpoint_is_checked_against_its_own_recipe(webui):
    # turbo's recipe allows 1-4 steps at CFG 1: 8 hires steps are fine for lightning, not for turbo
    status, info, _ = run(webui, enable_hr=True, hr_checkpoint_name="turbo", hr_second_pass_steps=8,
                          hr_sampler_name="Euler a")
    assert status == 200
    assert "IGA-S001 (soft) hires pass: 8 steps" in info["comments"]
    status, body, _ = run(webui, enable_hr=True, hr_checkpoint_name="turbo", hr_second_pass_steps=8,
                          alwayson_scripts={"iga": {"args": [{"mode": "strict"}]}})
    assert status == 422 and "hires steps" in body["detail"]


def test_refiner_is_checked_against_the_refiners_recipe(webui):
    status, info, _ = run(webui, refiner_checkpoint="turbo", refiner_switch_at=0.8)
    assert status == 200
    assert "IGA-S002 (soft) refiner pass: CFG 1.5" in info["comments"]
    fields = {f["field"] for f in record_of(webui)["guard"]["findings"]}
    assert "refiner cfg" in fields


def test_a_refiner_under_the_same_recipe_adds_no_findings(webui):
    status, info, params = run(webui, refiner_checkpoint="lightning", refiner_switch_at=0.8)
    assert status == 200
    # lightning's own recipe checks the refiner pass: same settings, no findings
    assert "refiner pass" not in info["comments"] and params["IGA"].endswith(" ok")
