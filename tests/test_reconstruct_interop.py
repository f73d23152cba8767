"""Reconstruction against metadata written the way the real tools write it: kohya sd-scripts' ModelSpec keys,
CivitAI base models, diffusers pipeline folders, ModelSpec / SwarmUI architecture ids. Each fixture cites the
upstream code or file it copies the facts from (no upstream code is copied)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iga_core.recipe.aliases import civitai_base_model, family_info, modelspec_architecture
from iga_core.reconstruct import reconstruct
from tests.reconstruct_support import FAMILIES, SD2, SD3, SDXL, checkpoint

FIXTURES = Path(__file__).parent / "fixtures"


def field(result, pointer: str):
    return next(f for f in result.fields if f.pointer == pointer)


def kohya_modelspec(architecture: str, *, prediction_type: str | None, resolution: str, lora: bool = False) -> dict:
    """`modelspec.*` as kohya sd-scripts writes them (library/sai_model_spec.py build_metadata at commit
    48d368fa): sai_model_spec 1.0.1, the architecture id, implementation (IMPL_STABILITY_AI for a Stable
    Diffusion checkpoint, IMPL_DIFFUSERS for a non-SDXL LoRA), an unnamed output's title `Checkpoint@<ts>` /
    `LoRA@<ts>`, the ISO date, the resolution, `implementation_version` sd-scripts/<commit>, and
    `prediction_type` = "v" or "epsilon" for every model_config but Flux."""
    meta = {
        "modelspec.sai_model_spec": "1.0.1",
        "modelspec.architecture": architecture,
        "modelspec.implementation": "diffusers" if lora else "https://github.com/Stability-AI/generative-models",
        "modelspec.title": ("LoRA" if lora else "Checkpoint") + "@1718000000.5",
        "modelspec.date": "2024-06-10T06:13:20",
        "modelspec.resolution": resolution,
        "modelspec.implementation_version": "sd-scripts/48d368fa557731ad0488c07304dfeba8c07910eb",
    }
    if prediction_type is not None:
        meta["modelspec.prediction_type"] = prediction_type
    return meta


# --- item 1: what each source can know ------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["stable-diffusion-3-medium", "stable-diffusion-3-5-large"])
def test_kohya_epsilon_on_sd3_is_not_evidence(tmp_path: Path, arch: str):
    # sd3_train_network.py passes sd3=<model type> ("medium" / "5-large", library/sd3_utils.py) and
    # build_metadata still writes prediction_type "epsilon": SD 3 is a rectified-flow model
    meta = kohya_modelspec(arch, prediction_type="epsilon", resolution="1024x1024")
    r = reconstruct(checkpoint(tmp_path, "sd3_ft.safetensors", SD3, meta))
    assert r.recipe["architecture"] == "sd3"
    assert r.recipe["prediction_type"] == "flow"
    assert field(r, "/prediction_type").source == "model-family"
    [conflict] = [c for c in r.conflicts if c.pointer == "/prediction_type"]
    assert conflict.rejected.source == "modelspec" and conflict.rejected.value == "eps"
    assert conflict.rejected.writer == "kohya sd-scripts" and "kohya sd-scripts writes 'epsilon'" in conflict.reason
    assert conflict.kept.value == "flow"
    assert any(f.startswith("conflict on /prediction_type") for f in r.findings)
    ignored = [e for e in r.evidence if e.source == "modelspec" and e.pointer == "/prediction_type"]
    assert ignored[0].confidence <= 0.05
    # an unnamed output's title (Checkpoint@<timestamp>) is not taken for the model's title
    assert r.recipe["title"] != "Checkpoint@1718000000.5"


def test_a_kohya_sd3_lora_gets_flow_too(tmp_path: Path):
    # networks/lora_sd3.py names modules lora_unet_joint_blocks_* ; architecture id + "/lora"
    tensors = {
        "lora_unet_joint_blocks_0_x_block_attn_qkv.lora_down.weight": ("BF16", [16, 1536]),
        "lora_unet_joint_blocks_0_x_block_attn_qkv.lora_up.weight": ("BF16", [4608, 16]),
        "lora_unet_joint_blocks_0_x_block_attn_qkv.alpha": ("BF16", []),
    }
    meta = kohya_modelspec("stable-diffusion-3-5-large/lora", prediction_type="epsilon", resolution="1024x1024",
                           lora=True) | {"ss_network_module": "networks.lora_sd3", "ss_base_model_version": "5-large"}  # fmt: skip
    r = reconstruct(checkpoint(tmp_path, "sd35_style.safetensors", tensors, meta))
    assert r.recipe["architecture"] == "sd3" and r.recipe["prediction_type"] == "flow"
    assert r.model["kind"] == "lora"


def test_another_writers_epsilon_on_sd3_tensors_is_a_conflict_too(tmp_path: Path):
    r = reconstruct(checkpoint(tmp_path, "m.safetensors", SD3, {"modelspec.prediction_type": "epsilon"}))
    assert r.recipe["prediction_type"] == "flow"
    [conflict] = [c for c in r.conflicts if c.pointer == "/prediction_type"]
    assert "kohya" not in conflict.reason and "never 'eps'" in conflict.reason


def test_a_statement_beats_a_family_guessed_from_the_file_name(tmp_path: Path):
    # nothing in the tensors says SD 3; only the file name does: the file's own statement stands
    r = reconstruct(checkpoint(tmp_path, "sd3_merge.safetensors", {"x.weight": ("F16", [4])},
                               {"modelspec.prediction_type": "epsilon"}))  # fmt: skip
    assert r.recipe["prediction_type"] == "eps"
    assert any(c.pointer == "/architecture" and "doubtful" in c.reason for c in r.conflicts)


def test_kohya_epsilon_on_sdxl_is_evidence(tmp_path: Path):
    meta = kohya_modelspec("stable-diffusion-xl-v1-base", prediction_type="epsilon", resolution="1024x1024")
    r = reconstruct(checkpoint(tmp_path, "xl.safetensors", SDXL, meta))
    assert r.recipe["prediction_type"] == "eps" and field(r, "/prediction_type").source == "modelspec"
    assert not [c for c in r.conflicts if c.pointer == "/prediction_type"]


def test_conflicts_are_structured_in_the_json(tmp_path: Path):
    meta = {"ss_base_model_version": "sd_v2", "ss_network_module": ""}
    r = reconstruct(checkpoint(tmp_path, "k.safetensors", FAMILIES["sd1"], meta))
    [c] = [c.to_dict() for c in r.conflicts if c.pointer == "/architecture"]
    assert c["kept"]["source"] == "tensor-layout" and c["rejected"]["source"] == "kohya" and c["reason"]
    assert r.to_dict()["conflicts"] == [x.to_dict() for x in r.conflicts]


# --- item 2: CivitAI base models --------------------------------------------------------------------------


def test_every_civitai_base_model_is_mapped():
    upstream = json.loads((FIXTURES / "civitai_base_models_upstream.json").read_text())["names"]
    assert len(upstream) > 70
    for name in upstream:
        kind = civitai_base_model(name)
        assert kind is not None, name
        assert family_info(kind.family)["architecture"] == kind.architecture


@pytest.mark.parametrize(
    ("base", "architecture", "family", "prediction"),
    [
        ("SD 2.0 768", "sd2", "sd2", "v"),  # stabilityai/stable-diffusion-2: the 768-v model
        ("SD 2.1 768", "sd2", "sd2", "v"),  # stabilityai/stable-diffusion-2-1 (v), -2-1-base is eps
        ("SD 2.1", "sd2", "sd2", None),
        ("Pony V7", "other", "auraflow", "flow"),  # baseModelGroupConfig PonyV7: "built on AuraFlow"
        ("Pony", "sdxl", "sdxl", None),
        ("Flux.2 D", "flux2", "flux2", "flow"),
        ("Flux.2 Klein 9B", "flux2", "flux2", "flow"),
        ("Flux.1 D", "flux", "flux", "flow"),
        ("SD 3.5 Large", "sd3", "sd3", "flow"),
        ("Illustrious", "sdxl", "sdxl", None),
    ],
)
def test_civitai_base_model_reconstruction(tmp_path: Path, base, architecture, family, prediction):
    ckpt = checkpoint(tmp_path, "m.safetensors", {"x.weight": ("F16", [4])})
    (tmp_path / "m.civitai.info").write_text(json.dumps({"baseModel": base, "name": "v1", "model": {"name": "M"}}))
    r = reconstruct(ckpt)
    assert r.recipe["architecture"] == architecture
    assert r.family == family
    if family != architecture:
        assert r.recipe["x-iga-model"]["family"] == family
    if prediction is not None:
        assert r.recipe["prediction_type"] == prediction
        assert field(r, "/prediction_type").confidence >= 0.5
    if prediction == "v":
        assert not any("nothing in this file says which" in f for f in r.findings)


def test_sd35_large_turbo_is_not_sdxl_turbo(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "m.safetensors", SD3)
    (tmp_path / "m.civitai.info").write_text(json.dumps({"baseModel": "SD 3.5 Large Turbo"}))
    r = reconstruct(ckpt)
    assert not any(f.source == "profile:turbo" for f in r.fields)
    assert r.recipe["prediction_type"] == "flow"


def test_an_unknown_base_model_is_said(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "m.safetensors", SDXL)
    (tmp_path / "m.civitai.info").write_text(json.dumps({"baseModel": "Totally New 9"}))
    r = reconstruct(ckpt)
    assert any("'Totally New 9' is not in CivitAI's list" in f for f in r.findings)


# --- item 2: diffusers pipelines -------------------------------------------------------------------------


def diffusers_folder(root: Path, index: dict, unet: dict | None, scheduler: dict | None) -> Path:
    """A diffusers repository layout: model_index.json, unet/config.json, scheduler/scheduler_config.json,
    unet/diffusion_pytorch_model.safetensors."""
    root.mkdir(parents=True)
    (root / "model_index.json").write_text(json.dumps(index))
    (root / "unet").mkdir()
    if unet is not None:
        (root / "unet" / "config.json").write_text(json.dumps(unet))
    if scheduler is not None:
        (root / "scheduler").mkdir()
        (root / "scheduler" / "scheduler_config.json").write_text(json.dumps(scheduler))
    return checkpoint(root / "unet", "diffusion_pytorch_model.safetensors", {"conv_in.weight": ("F16", [320, 4, 3, 3])})


# stabilityai/stable-diffusion-2-1: model_index.json, unet/config.json and scheduler/scheduler_config.json
# (the keys that matter, values as published: a StableDiffusionPipeline with a 1024-wide UNet, v_prediction)
SD21_INDEX = {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.8.0",
              "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
              "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}  # fmt: skip
SD21_UNET = {"_class_name": "UNet2DConditionModel", "cross_attention_dim": 1024, "in_channels": 4,
             "attention_head_dim": [5, 10, 20, 20], "sample_size": 96, "use_linear_projection": True}  # fmt: skip
SD21_SCHEDULER = {"_class_name": "DDIMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                  "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000,
                  "prediction_type": "v_prediction", "set_alpha_to_one": False, "steps_offset": 1}  # fmt: skip
# runwayml/stable-diffusion-v1-5: the same pipeline class, a 768-wide UNet, epsilon (PNDMScheduler)
SD15_UNET = {"_class_name": "UNet2DConditionModel", "cross_attention_dim": 768, "in_channels": 4, "sample_size": 64}
SD15_SCHEDULER = {"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
                  "beta_start": 0.00085, "num_train_timesteps": 1000, "skip_prk_steps": True, "steps_offset": 1}  # fmt: skip
# stabilityai/stable-diffusion-xl-refiner-1.0: StableDiffusionXLImg2ImgPipeline, no first text encoder,
# requires_aesthetics_score, a UNet with 1280-wide cross-attention (OpenCLIP bigG only)
REFINER_INDEX = {"_class_name": "StableDiffusionXLImg2ImgPipeline", "_diffusers_version": "0.19.0.dev0",
                 "force_zeros_for_empty_prompt": False, "requires_aesthetics_score": True,
                 "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": [None, None],
                 "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
                 "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}  # fmt: skip
REFINER_UNET = {"_class_name": "UNet2DConditionModel", "cross_attention_dim": 1280, "in_channels": 4,
                "addition_embed_type": "text_time", "projection_class_embeddings_input_dim": 2560}  # fmt: skip


def test_stable_diffusion_pipeline_of_sd21_is_sd2_v(tmp_path: Path):
    r = reconstruct(diffusers_folder(tmp_path / "sd21", SD21_INDEX, SD21_UNET, SD21_SCHEDULER))
    assert r.recipe["architecture"] == "sd2" and "cross_attention_dim 1024" in field(r, "/architecture").detail
    assert r.recipe["prediction_type"] == "v" and field(r, "/prediction_type").source == "diffusers"


def test_stable_diffusion_pipeline_of_sd15_is_sd1(tmp_path: Path):
    r = reconstruct(diffusers_folder(tmp_path / "sd15", {**SD21_INDEX, "scheduler": ["diffusers", "PNDMScheduler"]},
                                     SD15_UNET, SD15_SCHEDULER))  # fmt: skip
    assert r.recipe["architecture"] == "sd1" and r.recipe["prediction_type"] == "eps"


def test_stable_diffusion_pipeline_without_unet_config_is_not_guessed(tmp_path: Path):
    r = reconstruct(diffusers_folder(tmp_path / "x", SD21_INDEX, None, None))
    assert not any(f.source == "diffusers" and f.pointer == "/architecture" for f in r.fields)
    assert any("several model families share" in f for f in r.findings)


def test_sdxl_refiner_pipeline_is_kept_distinct(tmp_path: Path):
    r = reconstruct(diffusers_folder(tmp_path / "refiner", REFINER_INDEX, REFINER_UNET, None))
    assert r.recipe["architecture"] == "sdxl"
    assert r.recipe["x-iga-model"] == {"kind": "checkpoint", "family": "sdxl", "variant": "refiner"}


# --- item 2: ModelSpec / SwarmUI architecture ids and tensor layouts --------------------------------------


def test_modelspec_768_v_id_gives_v_without_the_sd2_doubt(tmp_path: Path):
    # the spec's own example of ids that must differ: "SDV2-512 and SDv2-768-v" (Stability-AI/ModelSpec README)
    r = reconstruct(checkpoint(tmp_path, "m.safetensors", SD2, {"modelspec.architecture": "stable-diffusion-v2-768-v"}))
    assert r.recipe["prediction_type"] == "v" and field(r, "/prediction_type").source == "modelspec"
    assert not any("nothing in this file says which" in f for f in r.findings)


@pytest.mark.parametrize(
    ("arch", "family", "variant", "adapter"),
    [
        ("stable-diffusion-xl-v1-refiner", "sdxl", "refiner", None),  # ModelSpec README listing
        ("stable-diffusion-xl-v1-edit", "sdxl", "edit", None),
        ("stable-diffusion-v1-inpainting", "sd1", "inpainting", None),
        ("stable-diffusion-v2-depth", "sd2", "depth", None),
        ("Flux.1-dev/kontext", "flux", "edit", None),  # SwarmUI T2IModelClassSorter.cs
        ("flux.2-klein-4b", "flux2", None, None),
        ("auraflow-v1", "auraflow", None, None),
        ("stable-diffusion-v3.5-large/lora", "sd3", None, "lora"),
        ("stable-diffusion-v1/textual-inversion", "sd1", None, "textual-inversion"),
        ("chroma", "chroma", None, None),  # kohya ARCH_FLUX_1_CHROMA
    ],
)
def test_modelspec_ids(arch, family, variant, adapter):
    kind = modelspec_architecture(arch)
    assert (kind.family, kind.variant, kind.adapter) == (family, variant, adapter)


def test_refiner_id_reaches_the_recipe(tmp_path: Path):
    r = reconstruct(checkpoint(tmp_path, "r.safetensors", SDXL, {"modelspec.architecture": "stable-diffusion-xl-v1-refiner"}))
    assert r.recipe["x-iga-model"]["variant"] == "refiner"
    assert any("refiner" in f and "second pass" in f for f in r.findings) or r.model["variant"] == "refiner"


# A1111 v1.10.1 modules/sd_models_config.py guess_model_config_from_state_dict: conditioner.embedders.0 alone
# is the SDXL refiner; a UNet whose input_blocks.0.0.weight takes 9 channels is an inpainting model, 8
# instruct-pix2pix
REFINER = {
    "conditioner.embedders.0.model.ln_final.weight": ("F16", [1280]),
    "model.diffusion_model.input_blocks.0.0.weight": ("F16", [384, 4, 3, 3]),
    "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": ("F16", [768, 1280]),
}
SD15_INPAINT = {
    "model.diffusion_model.input_blocks.0.0.weight": ("F16", [320, 9, 3, 3]),
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": ("F16", [320, 768]),
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": ("F16", [8, 768]),
}
PIX2PIX = {**SD15_INPAINT, "model.diffusion_model.input_blocks.0.0.weight": ("F16", [320, 8, 3, 3])}


@pytest.mark.parametrize(("tensors", "family", "variant"), [(REFINER, "sdxl", "refiner"), (SD15_INPAINT, "sd1", "inpainting"),
                                                            (PIX2PIX, "sd1", "edit")])  # fmt: skip
def test_variants_from_the_tensor_layout(tmp_path: Path, tensors, family, variant):
    r = reconstruct(checkpoint(tmp_path, "v.safetensors", tensors))
    assert r.recipe["architecture"] == family
    assert r.recipe["x-iga-model"]["variant"] == variant


# Comfy-Org/ComfyUI comfy/model_detection.py (commit 0b61ce5b): FLUX.2 has double_stream_modulation_img
# besides double_blocks, Chroma a distilled_guidance_layer, AuraFlow double_layers.*.attn.w1q
@pytest.mark.parametrize(
    ("tensors", "family"),
    [
        ({"double_blocks.0.img_attn.qkv.weight": ("BF16", [18432, 6144]),
          "double_stream_modulation_img.lin.weight": ("BF16", [36864, 6144])}, "flux2"),
        ({"double_blocks.0.img_attn.qkv.weight": ("BF16", [9216, 3072]),
          "distilled_guidance_layer.norms.0.scale": ("BF16", [5120])}, "chroma"),
        ({"double_layers.0.attn.w1q.weight": ("BF16", [3072, 3072])}, "auraflow"),
    ],
)  # fmt: skip
def test_flow_families_from_tensors_are_not_flux1(tmp_path: Path, tensors, family):
    r = reconstruct(checkpoint(tmp_path, "x.safetensors", tensors))
    # schema 1.2.0 names FLUX.2 and Chroma; AuraFlow stays `other`, its family kept in x-iga-model
    assert r.recipe["architecture"] == (family if family != "auraflow" else "other") and r.family == family
    assert r.recipe["prediction_type"] == "flow"
    assert r.recipe.get("x-iga-model", {}).get("family", r.recipe["architecture"]) == family


@pytest.mark.parametrize(
    ("tensors", "family"),
    [
        ({"model.diffusion_model.cap_embedder.1.weight": ("BF16", [2304, 1])}, "lumina"),
        ({"model.diffusion_model.cap_embedder.1.weight": ("BF16", [3840, 1])}, "z-image"),
        ({"model.diffusion_model.txt_norm.weight": ("BF16", [3584]),
          "model.diffusion_model.img_in.weight": ("BF16", [3072, 64])}, "qwen-image"),
        ({"model.diffusion_model.head.modulation": ("F32", [1, 2, 5120])}, "wan"),
        ({"model.diffusion_model.blocks.0.mlp.layer1.weight": ("BF16", [8, 8]),
          "model.diffusion_model.llm_adapter.blocks.0.cross_attn.q_proj.weight": ("BF16", [8, 8])}, "anima"),
    ],
)  # fmt: skip
def test_neo_families_are_named_from_their_tensor_layout(tmp_path: Path, tensors, family):
    """Forge Neo's own detection keys (huggingface_guess/detection.py:43-64, 83, 204-207, 244), schema 1.2.0 names."""
    from tests.factories import make_checkpoint

    r = reconstruct(make_checkpoint(tmp_path / "x.safetensors", tensors, max_elements=4096))  # the real widths
    assert r.recipe["architecture"] == family and r.family == family and r.recipe["iga_version"] == "1.2.0"
    if family != "anima":  # Anima's prediction type is not known to iga (model_families.json)
        assert r.recipe["prediction_type"] == "flow"
