"""How evidence becomes one recipe: most confident wins, partial objects are completed, conflicts are
reported, and whatever the inputs, the result validates and every field says where it came from."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iga_core.recipe import validate_recipe
from iga_core.reconstruct import reconstruct
from iga_core.reconstruct.combine import choose, repair
from iga_core.reconstruct.evidence import Evidence
from tests.reconstruct_support import FAMILIES, checkpoint


def test_the_most_confident_evidence_wins_and_conflicts_are_reported():
    findings: list[str] = []
    chosen = choose([
        Evidence("/prediction_type", "eps", "modelspec", "said eps", 0.6),
        Evidence("/prediction_type", "v", "marker-tensor", "v_pred", 0.95),
        Evidence("/prediction_type", "eps", "family-default", "usual", 0.2),
    ], findings)  # fmt: skip
    assert chosen["/prediction_type"].value == "v"
    assert len(findings) == 1 and "modelspec" in findings[0]  # weak disagreement is not worth a finding


def test_a_partial_object_is_completed_from_weaker_evidence():
    chosen = choose([
        Evidence("/steps", {"default": 30}, "civitai", "median", 0.25),
        Evidence("/steps", {"default": 25, "min": 1, "max": 150}, "family-default", "usual", 0.2),
    ], [])  # fmt: skip
    assert chosen["/steps"].value == {"default": 30, "min": 1, "max": 150}
    assert chosen["/steps"].source == "civitai"


def test_repair_makes_ranges_and_grids_agree():
    findings: list[str] = []
    recipe = {
        "iga_version": "1.0.0", "model_id": "m", "prediction_type": "eps", "sampler": {"name": "Euler"},
        "scheduler": {"name": "SGM Uniform", "grid": {"kind": "timesteps", "values": [999, 499]},
                      "canonical_steps": 2, "subsample": {"allowed_steps": [2]}},
        "steps": {"default": 30, "min": 1, "max": 8}, "cfg": {"default": 0.5, "min": 1.0, "max": 2.0},
        "resolution": {"preferred": [{"width": 4096, "height": 4096}], "max": {"width": 1024, "height": 1024}},
    }  # fmt: skip
    repaired = repair(recipe, findings)
    assert validate_recipe(repaired) == []
    assert repaired["steps"] == {"default": 2, "min": 2, "max": 2} and repaired["cfg"]["min"] == 0.5
    assert "resolution" not in repaired and any("dropped /resolution" in f for f in findings)


def test_confidence_lookup_walks_up_to_the_reconstructed_field(tmp_path: Path):
    r = reconstruct(checkpoint(tmp_path, "sdxl_lightning_4step.safetensors"))
    assert r.confidence("/steps/default") == r.confidence("/steps") > 0
    assert r.confidence("/architecture") == 0.85
    assert r.confidence("/hashes") is None


def test_to_dict_is_json(tmp_path: Path):
    r = reconstruct(checkpoint(tmp_path, "lcm.safetensors"))
    data = json.loads(json.dumps(r.to_dict()))
    assert data["status"] == "reconstructed" and data["recipe"] == r.recipe and data["fields"]


NAMES = [
    "model",
    "sdxl_lightning_4step",
    "Hyper-SD15-8steps-CFG",
    "turbo",
    "lcm_merge",
    "dmd2_1step",
    "flux1-schnell",
    "x",
]
META = {
    "modelspec.architecture": st.sampled_from(["stable-diffusion-xl-v1-base", "flux-1-dev", "stable-diffusion-v2-768-v",
                                               "sd3/lora", "???", ""]),
    "modelspec.prediction_type": st.sampled_from(["v", "epsilon", "sample", "weird"]),
    "modelspec.resolution": st.sampled_from(["1024x1024", "768x768", "12x12", "big"]),
    "modelspec.encoder_layer": st.sampled_from(["1", "2", "13", "x"]),
    "ss_base_model_version": st.sampled_from(["sd_v1", "sd_v2_v", "sdxl_base_v1-0", "flux1", "nope"]),
    "ss_clip_skip": st.sampled_from(["None", "2", "-1"]),
    "ss_zero_terminal_snr": st.sampled_from(["True", "False", "maybe"]),
    "ss_resolution": st.sampled_from(["(512, 512)", "(1024,1024)", "[1, 2]"]),
}  # fmt: skip
SIDE_FILES = {
    ".yaml": st.sampled_from(["model:\n  params:\n    parameterization: v\n", "- [unclosed", "a: 1\n"]),
    ".json": st.sampled_from(['{"vae": "x.safetensors"}', '{"vae_te": ["ae.safetensors"]}', "[]", "{"]),
    ".civitai.info": st.sampled_from(['{"baseModel": "SDXL Turbo"}', '{"baseModel": "Flux.1 S"}',
                                      '{"images": [{"meta": {"steps": 9999999, "cfgScale": -4, "sampler": "??"}}]}',
                                      '{"images": [{"meta": {"steps": 12, "cfgScale": 3.5, "sampler": "Euler"}}]}']),
}  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(FAMILIES)),
    st.sampled_from(NAMES),
    st.fixed_dictionaries({}, optional=META),
    st.fixed_dictionaries({}, optional=SIDE_FILES),
    st.booleans(),
)
def test_any_mix_of_evidence_gives_a_valid_recipe_with_provenance(family, name, meta, side, markers):
    tensors = dict(FAMILIES[family])
    if markers:
        tensors.update({"v_pred": ("F32", [0]), "ztsnr": ("F32", [0])})
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ckpt = checkpoint(folder, f"{name}.safetensors", tensors, meta or None)
        for suffix, text in side.items():
            (folder / f"{name}{suffix}").write_text(text)
        r = reconstruct(ckpt)
    assert r.problems == () and validate_recipe(r.recipe) == []
    assert r.status == "reconstructed"
    for key in r.recipe:
        if key not in ("iga_version", "notes"):
            assert r.confidence("/" + key) is not None or any(
                f.pointer.startswith(f"/{key}/") for f in r.fields
            ), key
    assert all(0 < f.confidence <= 1 for f in r.fields)
