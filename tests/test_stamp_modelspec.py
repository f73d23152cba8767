"""Stamping writes a complete ModelSpec header (the spec's MUST keys), never clobbers an author's keys, and
says "conflict" where the file's own ModelSpec contradicts the recipe on how the model runs."""

from __future__ import annotations

import json

import pytest

from iga_core.checkpoint import stamp
from iga_core.checkpoint.safetensors_io import read_header
from iga_core.cli import main
from tests.factories import make_checkpoint
from tests.reconstruct_support import SD2, SD3, SDXL
from tests.test_reconstruct_interop import REFINER, kohya_modelspec

# Stability-AI/ModelSpec README.md (spec 1.0.1, commit fe8dc60), "Specification": the keys marked MUST —
# "If the key is not present, the model does not include this metadata" — and, for image generation models,
# `resolution` (MUST; "adapter and component models can leave this off").
MUST = ("modelspec.sai_model_spec", "modelspec.architecture", "modelspec.implementation", "modelspec.title")
MUST_IMAGE = ("modelspec.resolution",)

RECIPE = {
    "iga_version": "1.0.0",
    "model_id": "my-xl",
    "title": "My XL v2",
    "architecture": "sdxl",
    "prediction_type": "eps",
    "sampler": {"name": "Euler a"},
    "scheduler": {"name": "Automatic"},
    "steps": {"default": 30, "min": 20, "max": 40},
    "cfg": {"default": 6.0, "min": 4.0, "max": 8.0},
}


def spec_header(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k.startswith("modelspec.")}


def test_a_stamp_writes_a_complete_modelspec_header(tmp_path):
    path = make_checkpoint(tmp_path / "xl.safetensors", SDXL)
    result = stamp.stamp(path, RECIPE)
    meta = read_header(path).metadata
    assert all(k in meta for k in (*MUST, *MUST_IMAGE)), spec_header(meta)
    assert meta["modelspec.sai_model_spec"] == "1.0.1"
    assert meta["modelspec.architecture"] == "stable-diffusion-xl-v1-base"  # the spec's own example id
    assert meta["modelspec.implementation"] == "https://github.com/Stability-AI/generative-models"
    assert meta["modelspec.title"] == "My XL v2"
    assert meta["modelspec.resolution"] == "1024x1024"  # kohya determine_resolution's SDXL default
    assert meta["modelspec.prediction_type"] == "epsilon"
    assert meta["modelspec.hash_sha256"] == "0x" + result.weights_sha256
    assert result.modelspec_conflicts == {}


@pytest.mark.parametrize(
    ("tensors", "recipe", "arch", "resolution"),
    [
        (SD2, {"architecture": "sd2", "prediction_type": "v"}, "stable-diffusion-v2-768-v", "768x768"),
        (SD2, {"architecture": "sd2", "prediction_type": "eps"}, "stable-diffusion-v2-512", "512x512"),
        (REFINER, {"architecture": "sdxl"}, "stable-diffusion-xl-v1-refiner", "1024x1024"),
        (SDXL, {"architecture": "sdxl", "x-iga-model": {"kind": "checkpoint", "family": "sdxl", "variant": "edit"}},
         "stable-diffusion-xl-v1-edit", "1024x1024"),
        (SD3, {"architecture": "sd3", "prediction_type": "flow"}, "stable-diffusion-v3-medium", "1024x1024"),
        ({"double_blocks.0.img_attn.qkv.weight": ("BF16", [9216, 3072]), "guidance_in.in_layer.weight": ("BF16", [3072, 256])},
         {"architecture": "flux", "prediction_type": "flow"}, "flux-1-dev", "1024x1024"),
    ],
)  # fmt: skip
def test_architecture_ids(tmp_path, tensors, recipe, arch, resolution):
    path = make_checkpoint(tmp_path / "m.safetensors", tensors)
    stamp.stamp(path, {**RECIPE, **recipe})
    meta = read_header(path).metadata
    assert meta["modelspec.architecture"] == arch and meta["modelspec.resolution"] == resolution
    if recipe.get("prediction_type") == "flow":
        assert "modelspec.prediction_type" not in meta  # the spec knows v and epsilon only


def test_a_lora_gets_an_adapter_id(tmp_path):
    # kohya networks/lora.py names: lora_unet_*, lora_te_*; A1111 reads lora_up / lora_down / alpha
    tensors = {
        "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.lora_down.weight": ("F16", [8, 768]),
        "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", [320, 8]),
        "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.alpha": ("F16", []),
    }
    path = make_checkpoint(tmp_path / "style.safetensors", tensors)
    stamp.stamp(path, {**RECIPE, "architecture": "sd1", "model_id": "style"})
    meta = read_header(path).metadata
    # kohya sai_model_spec.py: architecture + "/lora"; implementation IMPL_DIFFUSERS for a non-SDXL LoRA
    assert meta["modelspec.architecture"] == "stable-diffusion-v1/lora"
    assert meta["modelspec.implementation"] == "diffusers"


def test_an_authors_header_is_never_clobbered(tmp_path):
    author = kohya_modelspec("stable-diffusion-xl-v1-base", prediction_type="epsilon", resolution="896x1152")
    author["modelspec.title"] = "Author's Title"
    author["modelspec.author"] = "someone"
    path = make_checkpoint(tmp_path / "xl.safetensors", SDXL, author)
    result = stamp.stamp(path, RECIPE)
    meta = read_header(path).metadata
    assert {k: meta[k] for k in author} == author
    assert result.modelspec_kept["modelspec.title"] == "Author's Title"
    assert set(result.modelspec_added) == {"modelspec.hash_sha256"}
    assert result.modelspec_conflicts == {}


def test_eps_recipe_on_a_v_file_is_a_conflict(tmp_path):
    path = make_checkpoint(tmp_path / "v.safetensors", SDXL, {"modelspec.prediction_type": "v"})
    result = stamp.stamp(path, RECIPE)
    assert read_header(path).metadata["modelspec.prediction_type"] == "v"
    conflict = result.modelspec_conflicts["modelspec.prediction_type"]
    assert conflict["file"] == "v" and conflict["recipe"] == "eps"
    [note] = [n for n in result.notices if "modelspec.prediction_type" in n]
    assert note.startswith("conflict:") and "v-prediction" in note and "left unchanged" not in note


def test_flow_recipe_on_kohyas_sd3_epsilon_names_kohya(tmp_path):
    meta = kohya_modelspec("stable-diffusion-3-medium", prediction_type="epsilon", resolution="1024x1024")
    path = make_checkpoint(tmp_path / "sd3.safetensors", SD3, meta)
    result = stamp.stamp(path, {**RECIPE, "architecture": "sd3", "prediction_type": "flow"})
    assert "kohya sd-scripts writes 'epsilon'" in result.modelspec_conflicts["modelspec.prediction_type"]["message"]


def test_an_architecture_conflict(tmp_path):
    path = make_checkpoint(tmp_path / "x.safetensors", SDXL, {"modelspec.architecture": "flux-1-dev"})
    result = stamp.stamp(path, RECIPE)
    assert result.modelspec_conflicts["modelspec.architecture"]["file"] == "flux-1-dev"


def test_no_partial_header_when_no_architecture_is_known(tmp_path):
    path = make_checkpoint(tmp_path / "x.safetensors", {"unknown.weight": ("F16", [4])})
    recipe = {k: v for k, v in RECIPE.items() if k != "architecture"}
    result = stamp.stamp(path, recipe)
    meta = read_header(path).metadata
    assert not [k for k in meta if k.startswith("modelspec.")]
    assert any(n.startswith("no ModelSpec keys written") for n in result.notices)


def test_a_restamp_keeps_its_own_keys_in_step(tmp_path):
    path = make_checkpoint(tmp_path / "xl.safetensors", SDXL)
    stamp.stamp(path, RECIPE)
    result = stamp.stamp(path, {**RECIPE, "title": "Renamed", "prediction_type": "v"})
    meta = read_header(path).metadata
    assert meta["modelspec.title"] == "Renamed" and meta["modelspec.prediction_type"] == "v"
    assert result.modelspec_kept == {} and result.modelspec_conflicts == {}


def test_the_stamped_header_reads_back_as_what_the_recipe_says(tmp_path):
    from iga_core.reconstruct import reconstruct

    path = make_checkpoint(tmp_path / "v2.safetensors", SD2)
    stamp.stamp(path, {**RECIPE, "architecture": "sd2", "prediction_type": "v"})
    r = reconstruct(path)
    assert r.recipe["architecture"] == "sd2" and r.recipe["prediction_type"] == "v"


def test_cli_stamp_prints_the_conflict(tmp_path, capsys):
    path = make_checkpoint(tmp_path / "v.safetensors", SDXL, {"modelspec.prediction_type": "v"})
    (tmp_path / "r.json").write_text(json.dumps(RECIPE))
    assert main(["stamp", str(path), str(tmp_path / "r.json"), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "note: conflict: the recipe says prediction_type 'eps'" in out
