"""LoRA tags in the prompt through the host double (A1111 and Forge): the LoRA's recipe composes with the
checkpoint's, the composed recipe sets the API defaults and governs the guard, conflicts between LoRAs are
findings, and the audit names the composed recipe."""

from __future__ import annotations

import json

import pytest

from iga_core.checkpoint.stamp import stamp
from tests.factories import make_checkpoint
from tests.host_double.fixture import started_host
from tests.webui_recipes import BASE_SD15, LCM_LORA, TURBO_LORA, add_checkpoint

pytestmark = pytest.mark.host


def _files(double):
    add_checkpoint(double.models, "sd15.safetensors", BASE_SD15)
    add_checkpoint(double.loras, "lcm.safetensors", LCM_LORA, seed=5)
    add_checkpoint(double.loras, "turbo.safetensors", TURBO_LORA, seed=6)
    add_checkpoint(double.loras / "styles", "ink.safetensors", None, seed=7)  # a LoRA without recipe
    # aliases from the training metadata (`ss_output_name`): one unique, one two files share
    for name, alias, recipe_dict, seed in (("lcm_v2", "fastlcm", LCM_LORA, 9), ("twin_a", "twin", LCM_LORA, 10),
                                           ("twin_b", "twin", TURBO_LORA, 11)):
        path = make_checkpoint(double.loras / "aliased" / f"{name}.safetensors", metadata={"ss_output_name": alias},
                               seed=seed)
        stamp(path, recipe_dict)


started = started_host(_files, select="sd15.safetensors")


@pytest.fixture
def webui(started):
    started.reset("sd15.safetensors")
    return started


def txt2img(webui, prompt, **fields):
    status, body = webui.api_txt2img({"prompt": prompt, "save_images": True, **fields})
    if status != 200:
        return status, body, None
    info = json.loads(body["info"])
    return status, info, webui.m.infotext_utils.parse_generation_parameters(info["infotexts"][0])


def test_a_lora_recipe_replaces_the_sampling_recipe_and_sets_the_defaults(webui):
    from iga_core.audit import read_image_metadata

    status, info, params = txt2img(webui, "a cat <lora:lcm:1>")
    assert status == 200
    assert (params["Sampler"], params["Steps"], params["CFG scale"]) == ("LCM", "4", "1.0")
    assert "composed recipe: checkpoint (base) + lcm (replace, weight 1)" in info["comments"]
    record = read_image_metadata(webui.saved_files()[0])
    assert record["recipe"]["source"] == "composed" and record["recipe"]["model_id"] == "test-sd15"


def test_without_the_tag_the_checkpoint_recipe_governs(webui):
    status, info, params = txt2img(webui, "a cat")
    assert status == 200
    assert (params["Sampler"], params["Steps"]) == ("DPM++ 2M", "25")
    assert "composed" not in info["comments"]


def test_the_composed_ranges_are_enforced(webui):
    # 30 steps is inside the checkpoint's 20-40 but outside the LCM LoRA's 2-8
    status, info, _ = txt2img(webui, "a cat <lora:lcm:0.9>", steps=30, sampler_name="LCM", cfg_scale=1.0)
    assert status == 200 and "IGA-S001" in info["comments"]
    # CFG 7 is the checkpoint's default, but the LoRA allows 1-2: strict mode refuses it
    status, body, _ = txt2img(webui, "a cat <lora:lcm:0.9>", steps=4, sampler_name="LCM", cfg_scale=7.5,
                              alwayson_scripts={"iga": {"args": [{"mode": "strict"}]}})
    assert status == 422 and "IGA-S002" in body["detail"]


def test_weight_zero_and_loras_without_recipe_take_no_part(webui):
    status, info, params = txt2img(webui, "a cat <lora:lcm:0> <lora:ink:0.8>")
    assert status == 200
    assert params["Sampler"] == "DPM++ 2M" and "composed" not in info["comments"]


def test_two_distillation_loras_that_disagree_are_a_blocking_finding(webui):
    status, body, _ = txt2img(webui, "a cat <lora:lcm:1> <lora:turbo:0.8>")
    assert status == 422
    assert "IGA-M003" in body["detail"] and "lcm" in body["detail"] and "turbo" in body["detail"]
    status, info, _ = txt2img(webui, "a cat <lora:lcm:1> <lora:turbo:0.8>",
                              alwayson_scripts={"iga": {"args": [{"mode": "audit"}]}})
    assert status == 200 and "IGA-M003" in info["comments"]


def test_a_malformed_lora_weight_is_refused_with_a_message(webui):
    status, body, _ = txt2img(webui, "a cat <lora:lcm:heavy>")
    assert status == 422 and "not a number" in body["detail"]


def test_a_lora_is_found_by_its_alias_as_the_host_finds_it(webui):
    status, info, params = txt2img(webui, "a cat <lora:fastlcm:1>")
    assert status == 200 and params["Sampler"] == "LCM"
    assert "composed recipe: checkpoint (base) + fastlcm (replace, weight 1)" in info["comments"]


def test_an_alias_two_files_share_names_no_lora_as_on_the_host(webui):
    # the host resolves a shared ("forbidden") alias by file name only, finds none, and skips the tag
    # (A networks.py:294-308): no recipe may be composed from one of the two files either
    status, info, params = txt2img(webui, "a cat <lora:twin:1>")
    assert status == 200 and params["Sampler"] == "DPM++ 2M" and "composed" not in info["comments"]
    status, info, params = txt2img(webui, "a cat <lora:twin_b:1>")  # its file name still works
    assert status == 200 and "twin_b (" in info["comments"]
