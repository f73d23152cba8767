"""The guard judges what the host will run, through the host double on both pins: the loaded model's
prediction type, the names the caller sent before the host rewrote them, the schedule the host's sampler
computes (recorded in the audit record), and the recipe's clip skip and VAE applied through override
settings to an API request that does not set them."""

from __future__ import annotations

import json

import pytest

from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING, add_checkpoint, recipe

pytestmark = pytest.mark.host

VPRED = recipe(LIGHTNING, model_id="test-vpred", prediction_type="v", constraints={})
CLIPVAE = recipe(LIGHTNING, model_id="test-clipvae", clip_skip=2, vae={"id": "anime.vae.safetensors"},
                 constraints={})
DMD2 = recipe(LIGHTNING, model_id="test-dmd2", sampler={"name": "Euler a", "mode": "ancestral"},
              scheduler={"name": "SGM Uniform", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]},
                         "canonical_steps": 4, "subsample": {"allowed_steps": [4]}},
              steps={"default": 4, "min": 4, "max": 4}, constraints={}, presets=[])


def _checkpoints(double):
    add_checkpoint(double.models, "vpred.safetensors", VPRED, seed=11)
    add_checkpoint(double.models, "vpred_ok.safetensors", VPRED, seed=12)
    (double.models / "vpred_ok.yaml").write_text('model:\n  params:\n    parameterization: "v"\n')
    add_checkpoint(double.models, "clipvae.safetensors", CLIPVAE, seed=13)
    add_checkpoint(double.models, "dmd2.safetensors", DMD2, seed=14)
    vae_dir = double.root / "models" / "VAE"
    vae_dir.mkdir(parents=True, exist_ok=True)
    from tests.factories import make_checkpoint

    make_checkpoint(vae_dir / "anime.vae.safetensors", {"decoder.conv_in.weight": ("F16", [4, 4])})


started = started_host(_checkpoints, select="dmd2.safetensors")


@pytest.fixture
def webui(started):
    started.reset("dmd2.safetensors")
    return started


def test_vpred_recipe_on_an_eps_model_is_refused_before_denoising(webui):
    webui.select("vpred.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras"})
    assert status == 422, body
    assert "IGA-H003" in body["detail"] and "v-prediction" in body["detail"]
    assert webui.last_api_p().double_executed == []  # the sampler never ran


def test_vpred_recipe_on_a_v_model_runs(webui):
    webui.select("vpred_ok.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras"})
    assert status == 200, body
    assert webui.last_api_p().iga_state.request.prediction_type == "v"


@pytest.mark.parametrize("sent", ["k_euler_a", "euler_ancestral", "EulerAncestralDiscreteScheduler"])
def test_an_alias_runs_as_what_it_names(webui, sent):
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": sent})
    if webui.flavour.api_unlisted_sampler == "404":  # Forge Classic refuses a name it does not list itself,
        assert status == 404 and body["detail"] == "Sampler not found"  # before any script (classic api.py:66-71)
        return
    assert status == 200, body
    p = webui.last_api_p()
    assert [e["sampler"] for e in p.double_executed] == ["Euler a"]
    assert p.iga_state.record["host_run"]["names"]["sampler"] == {"sent": sent, "ran_as": "Euler a"}
    assert p.iga_state.verdict.allowed


def test_a_misspelt_sampler_is_refused_by_name(webui):
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Eular a"})
    if webui.flavour.api_unlisted_sampler == "404":  # Forge Classic: the host's own 404, nothing generated
        assert status == 404 and body["detail"] == "Sampler not found" and webui.saved_files() == []
        return
    assert status == 422, body
    assert "'Eular a'" in body["detail"] and "Euler a" in body["detail"]
    assert webui.last_api_p().double_executed == []


def test_the_audit_record_carries_the_executed_sigmas(webui):
    status, body = webui.api_txt2img({"prompt": "x"})  # omitted fields take the recipe's: Euler a, SGM Uniform, 4
    assert status == 200, body
    p = webui.last_api_p()
    ran = p.double_executed[0]
    first = p.iga_state.record["host_run"]["passes"]["first"]
    assert first["computed_by"] == "host" and first["kind"] == "sigmas"
    assert first["values"] == pytest.approx(ran["sigmas"], abs=1e-5)
    assert first["timesteps"] == pytest.approx([999, 749.25, 499.5, 249.75], abs=0.6)
    assert p.iga_state.verdict.allowed and not p.iga_state.verdict.findings


def test_clip_skip_and_vae_from_the_recipe_reach_an_api_request(webui):
    webui.select("clipvae.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras"})
    assert status == 200, body
    p = webui.last_api_p()
    text = json.loads(body["info"])["infotexts"][0]
    assert "Clip skip: 2" in text
    assert p.iga_state.record["params"]["vae"] == "anime.vae.safetensors"
    # Neo's clip skip defaults to 2 already (Neo shared_options.py:224): nothing to apply there
    default = webui.m.shared.opts.get_default("CLIP_stop_at_last_layers")
    assert p.iga_state.record["host_run"]["applied"].get("clip_skip") == (None if default == 2 else 2)
    assert not [f for f in p.iga_state.verdict.findings if f.rule_id in ("IGA-S004", "IGA-S006")]
