"""Legacy reconstruction, one source at a time, on generated checkpoints carrying each kind of metadata."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from iga_core.checkpoint.safetensors_io import CheckpointUnreadable, HeaderError
from iga_core.reconstruct import reconstruct
from tests.reconstruct_support import (
    FAMILIES,
    FLUX_SCHNELL,
    SDXL,
    SDXL_UNET_ONLY,
    bf16,
    checkpoint,
    f16,
    f32,
    write_tensors,
)


def field(result, pointer: str):
    return next(f for f in result.fields if f.pointer == pointer)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_from_tensor_layout(tmp_path: Path, family: str):
    r = reconstruct(checkpoint(tmp_path, "model.safetensors", FAMILIES[family]))
    assert r.recipe["architecture"] == family
    assert field(r, "/architecture").source == "tensor-layout"
    assert r.status == "reconstructed" and r.problems == ()


def test_diffusers_unet_family_from_cross_attention_width(tmp_path: Path):
    r = reconstruct(checkpoint(tmp_path, "diffusion_pytorch_model.safetensors", SDXL_UNET_ONLY))
    assert r.recipe["architecture"] == "sdxl"
    assert "2048" in field(r, "/architecture").detail
    assert r.recipe["vae"] == {"embedded": False}


def test_modelspec_keys(tmp_path: Path):
    meta = {
        "modelspec.architecture": "stable-diffusion-v2-768-v",
        "modelspec.prediction_type": "v",
        "modelspec.resolution": "768x768",
        "modelspec.encoder_layer": "2",
        "modelspec.title": "My SD2 768",
        "modelspec.usage_hint": "use 30 steps",
    }
    r = reconstruct(checkpoint(tmp_path, "m.safetensors", FAMILIES["sd2"], meta))
    assert r.recipe["prediction_type"] == "v" and field(r, "/prediction_type").confidence >= 0.9
    assert r.recipe["resolution"]["preferred"] == [{"width": 768, "height": 768}]
    assert r.recipe["clip_skip"] == 2 and field(r, "/clip_skip").source == "modelspec"
    assert r.recipe["title"] == "My SD2 768" and "use 30 steps" in r.recipe["notes"]


def test_modelspec_architecture_names_a_distilled_model(tmp_path: Path):
    r = reconstruct(
        checkpoint(tmp_path, "x.safetensors", FLUX_SCHNELL, {"modelspec.architecture": "flux-1-schnell"})
    )
    assert r.recipe["prediction_type"] == "flow" and r.recipe["steps"] == {"default": 4, "min": 1, "max": 4}
    assert field(r, "/steps").source == "profile:schnell"


def test_kohya_training_metadata(tmp_path: Path):
    meta = {"ss_base_model_version": "sd_v2_v", "ss_clip_skip": "2", "ss_zero_terminal_snr": "True",
            "ss_resolution": "(768, 768)", "ss_network_module": "networks.lora"}  # fmt: skip
    r = reconstruct(checkpoint(tmp_path, "k.safetensors", FAMILIES["sd1"] | {}, meta))
    assert r.recipe["prediction_type"] == "v" and field(r, "/prediction_type").source == "kohya"
    assert r.recipe["scheduler"]["zero_terminal_snr"] is True
    assert r.recipe["clip_skip"] == 2
    assert r.recipe["resolution"]["preferred"] == [{"width": 768, "height": 768}]
    # the tensor layout (SD1) is more certain than the training metadata (sd_v2): a reported conflict
    assert r.recipe["architecture"] == "sd1"
    assert any("conflict on /architecture" in f for f in r.findings)


def test_marker_tensors_v_pred_and_ztsnr(tmp_path: Path):
    tensors = {**SDXL, "v_pred": ("F32", [0]), "ztsnr": ("F32", [0])}
    r = reconstruct(
        checkpoint(tmp_path, "noob.safetensors", tensors, {"modelspec.prediction_type": "epsilon"})
    )
    assert r.recipe["prediction_type"] == "v" and field(r, "/prediction_type").source == "marker-tensor"
    assert r.recipe["scheduler"]["zero_terminal_snr"] is True
    assert any("conflict on /prediction_type" in f and "modelspec" in f for f in r.findings)


@pytest.mark.parametrize(("dtype", "encode"), [("F32", f32), ("F16", f16), ("BF16", bf16)])
def test_edm_vpred_sigma_range_is_read_from_the_tensors(tmp_path: Path, dtype, encode):
    path = write_tensors(tmp_path / "edm.safetensors", {
        "edm_vpred.sigma_max": (dtype, [1], encode(120.0)),
        "edm_vpred.sigma_min": (dtype, [1], encode(0.5)),
        "conditioner.embedders.0.transformer.text_model.embeddings.position_ids": ("F32", [1], f32(0.0)),
    })  # fmt: skip
    r = reconstruct(path)
    assert r.recipe["prediction_type"] == "v"
    assert r.recipe["scheduler"]["sigma_max"] == pytest.approx(120.0)
    assert r.recipe["scheduler"]["sigma_min"] == pytest.approx(0.5)
    assert r.recipe["architecture"] == "sdxl"


def test_edm_latent_markers_give_a_finding(tmp_path: Path):
    r = reconstruct(
        checkpoint(tmp_path, "pg.safetensors", {**SDXL, "edm_mean": ("F32", [4]), "edm_std": ("F32", [4])})
    )
    assert any("EDM" in f for f in r.findings)
    assert r.recipe["scheduler"]["sigma_max"] == 80.0


def test_yaml_parameterization_is_read_as_data(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "v2.safetensors", FAMILIES["sd2"])
    (tmp_path / "v2.yaml").write_text("model:\n  target: ldm.models.diffusion.ddpm.LatentDiffusion\n"
                                      "  params:\n    parameterization: \"v\"\n")  # fmt: skip
    r = reconstruct(ckpt)
    assert r.recipe["prediction_type"] == "v" and field(r, "/prediction_type").source == "yaml"


def test_yaml_vscaling_target(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "x.safetensors")
    (tmp_path / "x.yaml").write_text("model:\n  params:\n    denoiser_config:\n"
                                     "      target: sgm.modules.diffusionmodules.denoiser_scaling.VScaling\n")  # fmt: skip
    assert reconstruct(ckpt).recipe["prediction_type"] == "v"


def test_a_hostile_yaml_is_never_executed(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "evil.safetensors")
    marker = tmp_path / "pwned"
    (tmp_path / "evil.yaml").write_text(
        f'model: !!python/object/apply:os.system ["touch {marker}"]\n'
        "bomb: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    )
    r = reconstruct(ckpt)
    assert not marker.exists()
    assert any("evil.yaml is not valid YAML" in f for f in r.findings)
    assert r.problems == ()


def test_without_pyyaml_the_yaml_is_skipped_with_a_finding(tmp_path: Path, monkeypatch):
    ckpt = checkpoint(tmp_path, "v2.safetensors", FAMILIES["sd2"])
    (tmp_path / "v2.yaml").write_text("model:\n  params:\n    parameterization: v\n")
    monkeypatch.setitem(sys.modules, "yaml", None)
    r = reconstruct(ckpt)
    assert any("PyYAML is not installed" in f for f in r.findings)
    assert field(r, "/prediction_type").source != "yaml"


def test_diffusers_configs_beside_the_file(tmp_path: Path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionXLPipeline"}))
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "scheduler" / "scheduler_config.json").write_text(json.dumps({
        "_class_name": "EulerDiscreteScheduler", "prediction_type": "v_prediction", "timestep_spacing": "trailing",
        "rescale_betas_zero_snr": True, "use_karras_sigmas": False,
    }))  # fmt: skip
    (tmp_path / "unet").mkdir()
    ckpt = checkpoint(tmp_path / "unet", "diffusion_pytorch_model.safetensors", {"x.weight": ("F16", [4])})
    r = reconstruct(ckpt)
    assert r.recipe["architecture"] == "sdxl" and field(r, "/architecture").source == "diffusers"
    assert r.recipe["prediction_type"] == "v"
    assert (
        r.recipe["scheduler"]["spacing"] == "trailing" and r.recipe["scheduler"]["zero_terminal_snr"] is True
    )
    assert r.recipe["sampler"]["name"] == "Euler" and field(r, "/sampler/name").source == "diffusers"


def test_civitai_info(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "juggernaut.safetensors")
    info = {
        "baseModel": "SDXL Lightning",
        "name": "v9 Lightning",
        "model": {"name": "Juggernaut XL"},
        "images": [
            {
                "meta": {
                    "sampler": "DPM++ SDE Karras",
                    "steps": 6,
                    "cfgScale": 2,
                    "Size": "832x1216",
                    "clipSkip": 2,
                }
            },
            {"meta": {"sampler": "DPM++ SDE Karras", "steps": 5, "cfgScale": 1.5, "Size": "832x1216"}},
            {"meta": None},
            "garbage",
        ],
    }
    (tmp_path / "juggernaut.civitai.info").write_text(json.dumps(info))
    r = reconstruct(ckpt)
    assert r.recipe["title"] == "Juggernaut XL v9 Lightning"
    # the distilled profile (named by baseModel) outranks what example images happened to use
    assert field(r, "/steps").source == "profile:lightning"
    weak = [e for e in r.evidence if e.source == "civitai" and e.pointer == "/sampler/name"]
    assert weak and weak[0].value == "DPM++ SDE" and weak[0].confidence < 0.3
    assert r.recipe["clip_skip"] == 2


def test_civitai_example_images_fill_in_when_nothing_better_exists(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "merge.safetensors", FAMILIES["sd1"])
    images = [{"meta": {"sampler": "DPM++ 2M Karras", "steps": s, "cfgScale": 5}} for s in (28, 30, 32)]
    (tmp_path / "merge.civitai.info").write_text(json.dumps({"baseModel": "SD 1.5", "images": images}))
    r = reconstruct(ckpt)
    assert r.recipe["sampler"]["name"] == "DPM++ 2M" and r.recipe["scheduler"]["name"] == "Karras"
    assert r.recipe["steps"]["default"] == 30 and r.recipe["cfg"]["default"] == 5.0


def test_user_metadata_preferred_vae(tmp_path: Path):
    a1111 = checkpoint(tmp_path, "a.safetensors")
    (tmp_path / "a.json").write_text(json.dumps({"description": "", "vae": "sdxl_vae.safetensors"}))
    assert reconstruct(a1111).recipe["vae"]["id"] == "sdxl_vae.safetensors"
    forge = checkpoint(tmp_path, "f.safetensors", {"x.weight": ("F16", [4])})
    (tmp_path / "f.json").write_text(json.dumps({"vae_te": ["clip_l.safetensors", "ae.safetensors"],
                                                 "sd_version_str": "SdVersion.Flux"}))  # fmt: skip
    r = reconstruct(forge)
    assert r.recipe["vae"]["id"] == "ae.safetensors" and r.recipe["architecture"] == "flux"
    automatic = checkpoint(tmp_path, "n.safetensors")
    (tmp_path / "n.json").write_text(json.dumps({"vae": "Automatic"}))
    assert "id" not in reconstruct(automatic).recipe.get("vae", {})


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        (
            "sdxl_lightning_4step_unet",
            {"steps": {"default": 4, "min": 4, "max": 4}, "grid": [999, 749, 499, 249]},
        ),
        ("sdxl_lightning_2step", {"steps": {"default": 2, "min": 2, "max": 2}, "grid": [999, 499]}),
        ("sdxl_lightning_1step_x0", {"prediction_type": "x0"}),
        ("Hyper-SDXL-8steps-CFG-lora", {"cfg": {"default": 5.0, "min": 5.0, "max": 8.0}, "sampler": "DDIM"}),
        ("Hyper-SDXL-8steps-lora", {"cfg": {"default": 1.0, "min": 1.0, "max": 1.0}}),
        ("Hyper-SDXL-1step-Unet", {"sampler": "TCD"}),
        ("sd_xl_turbo_1.0_fp16", {"steps": {"default": 1, "min": 1, "max": 4}, "sampler": "Euler a"}),
        ("lcm-lora-sdxl", {"sampler": "LCM", "cfg": {"default": 1.0, "min": 1.0, "max": 2.0}}),
        ("dmd2_sdxl_4step_unet_fp16", {"sampler": "LCM", "grid": [999, 749, 499, 249]}),
    ],
)
def test_file_name_patterns(tmp_path: Path, name: str, expect: dict):
    r = reconstruct(checkpoint(tmp_path, f"{name}.safetensors"))
    assert r.problems == ()
    if "steps" in expect:
        assert r.recipe["steps"] == expect["steps"]
    if "grid" in expect:
        assert r.recipe["scheduler"]["grid"]["values"] == expect["grid"]
    if "cfg" in expect:
        assert r.recipe["cfg"] == expect["cfg"]
    if "sampler" in expect:
        assert r.recipe["sampler"]["name"] == expect["sampler"]
    if "prediction_type" in expect:
        assert r.recipe["prediction_type"] == expect["prediction_type"]
    assert field(r, "/sampler/name").source.startswith("profile:")
    assert field(r, "/sampler/name").confidence < 0.7  # a name is only a hint


def test_schnell_by_name_alone_on_a_flux_file(tmp_path: Path):
    r = reconstruct(checkpoint(tmp_path, "flux1-schnell-fp8.safetensors", FLUX_SCHNELL))
    assert r.recipe["architecture"] == "flux" and r.recipe["prediction_type"] == "flow"
    assert r.recipe["cfg"]["max"] == 1.0 and r.recipe["steps"]["max"] == 4


def test_flux_dev_layout_keeps_distilled_guidance(tmp_path: Path):
    r = reconstruct(checkpoint(tmp_path, "flux1-dev.safetensors", FAMILIES["flux"]))
    assert r.recipe["cfg"]["distilled"]["default"] == 3.5 and r.recipe["prediction_type"] == "flow"


def test_a_pickle_checkpoint_is_never_opened(tmp_path: Path):
    ckpt = tmp_path / "old_lcm.ckpt"
    ckpt.write_bytes(b"\x80\x04not really a pickle")
    r = reconstruct(ckpt)
    assert any("never unpickled" in f for f in r.findings)
    assert r.recipe["sampler"]["name"] == "LCM" and r.problems == ()


def test_bad_inputs_give_typed_errors(tmp_path: Path):
    with pytest.raises(CheckpointUnreadable):
        reconstruct(tmp_path / "missing.safetensors")
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(HeaderError):
        reconstruct(broken)


def test_broken_side_files_give_findings_not_errors(tmp_path: Path):
    ckpt = checkpoint(tmp_path, "b.safetensors")
    (tmp_path / "b.json").write_text("{not json")
    (tmp_path / "b.civitai.info").write_bytes(b"\xff\xfe")
    (tmp_path / "model_index.json").write_text("[1, 2]")
    r = reconstruct(ckpt)
    assert any("b.json is not valid JSON" in f for f in r.findings)
    assert any("b.civitai.info is not UTF-8" in f for f in r.findings)
    assert r.problems == ()
