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
ZTSNR = recipe(LIGHTNING, model_id="test-ztsnr", prediction_type="v", constraints={},
               scheduler={"name": "Karras", "zero_terminal_snr": True})
DMD2 = recipe(LIGHTNING, model_id="test-dmd2", sampler={"name": "Euler a", "mode": "ancestral"},
              scheduler={"name": "SGM Uniform", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]},
                         "canonical_steps": 4, "subsample": {"allowed_steps": [4]}},
              steps={"default": 4, "min": 4, "max": 4}, constraints={}, presets=[])


KARRAS = recipe(LIGHTNING, model_id="test-karras", sampler={"name": "DPM++ 2M", "mode": "ode"},
                scheduler={"name": "Karras"}, steps={"default": 25, "min": 10, "max": 50}, constraints={}, presets=[])


def _checkpoints(double):
    add_checkpoint(double.models, "karras.safetensors", KARRAS, seed=18)
    add_checkpoint(double.models, "vpred.safetensors", VPRED, seed=11)
    add_checkpoint(double.models, "vpred_ok.safetensors", VPRED, seed=12)
    (double.models / "vpred_ok.yaml").write_text('model:\n  params:\n    parameterization: "v"\n')
    add_checkpoint(double.models, "clipvae.safetensors", CLIPVAE, seed=13)
    add_checkpoint(double.models, "dmd2.safetensors", DMD2, seed=14)
    add_checkpoint(double.models, "ztsnr.safetensors", ZTSNR, seed=15)
    (double.models / "ztsnr.yaml").write_text('model:\n  params:\n    parameterization: "v"\n')
    vae_dir = double.root / "models" / "VAE"
    vae_dir.mkdir(parents=True, exist_ok=True)
    from tests.factories import make_checkpoint

    make_checkpoint(vae_dir / "anime.vae.safetensors", {"decoder.conv_in.weight": ("F16", [4, 4])})
    # Flux-style modules (Forge's VAE / Text Encoder list, F main_entry.py:140-164): tensors say which is the VAE
    make_checkpoint(vae_dir / "ae.safetensors", {"decoder.conv_in.weight": ("F16", [4, 4]),
                                                 "encoder.conv_in.weight": ("F16", [4, 4])})
    te_dir = double.root / "models" / "text_encoder"
    make_checkpoint(te_dir / "clip_l.safetensors", {"text_model.encoder.layers.0.mlp.fc1.weight": ("F16", [4, 4]),
                                                    "text_model.embeddings.token_embedding.weight": ("F16", [4, 4])})
    make_checkpoint(te_dir / "t5xxl_fp16.safetensors", {"encoder.block.0.layer.0.SelfAttention.k.weight": ("F16", [4, 4]),
                                                        "shared.weight": ("F16", [4, 4])})
    # a checkpoint of another architecture (SDXL tensor names, A sd_models_config.py:71-115), with and
    # without a recipe of its own
    sdxl = {"conditioner.embedders.1.model.ln_final.weight": ("F16", [8]),
            "model.diffusion_model.input_blocks.0.0.weight": ("F16", [8, 4, 3, 3])}
    make_checkpoint(double.models / "sdxl_refiner.safetensors", sdxl, seed=16)
    path = make_checkpoint(double.models / "sdxl_stamped.safetensors", sdxl, seed=17)
    from iga_core.checkpoint.stamp import stamp

    stamp(path, recipe(LIGHTNING, model_id="test-sdxl", architecture="sdxl", constraints={}))


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


#: the file each host reads the prediction type from, as the hard finding's remedy names it
#: (A sd_models_config.py:117-135; F backend/loader.py:530-567 and huggingface_guess's `v_pred` key)
PREDICTION_REMEDY = {"a1111": "AUTOMATIC1111 reads that file before guessing"}  # every fork: "`v_pred` key"


def test_a_vpred_recipe_on_an_eps_model_names_the_hosts_remedy(webui):
    webui.select("vpred.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras"})
    assert status == 422, body
    finding = next(f for f in webui.last_api_p().iga_state.verdict.blocking if f.rule_id == "IGA-H003")
    assert ".yaml named like the checkpoint" in finding.remedy and PREDICTION_REMEDY.get(webui.host, "`v_pred` key") in finding.remedy
    assert finding.remedy in body["detail"]


def test_zero_terminal_snr_is_applied_for_the_request_and_said(webui):
    """The recipe's zero terminal SNR reaches the host's noise-schedule option through override settings
    (restored afterwards), is said in a comment and the audit, and the host's sampler then runs the
    rescaled schedule (A sd_models.py:650-667 before p.sample, A processing.py:985; F 985-996)."""
    webui.select("ztsnr.safetensors")
    status, body = webui.api_txt2img({"prompt": "x"})
    assert status == 200, body
    p = webui.last_api_p()
    assert p.override_settings["sd_noise_schedule"] == "Zero Terminal SNR"
    assert "noise_schedule=Zero Terminal SNR" in json.loads(body["info"])["comments"]
    record = p.iga_state.record
    assert record["host_run"]["applied"]["noise_schedule"] == "Zero Terminal SNR"
    assert record["host_run"]["model"]["zero_terminal_snr"] is True and p.iga_state.verdict.allowed
    first = record["host_run"]["passes"]["first"]
    assert first["values"][0] > 1000 and first["values"] == pytest.approx(p.double_executed[0]["sigmas"], rel=1e-6)
    assert webui.m.shared.opts.data.get("sd_noise_schedule", "Default") == "Default"  # restored afterwards


def test_zero_terminal_snr_not_applied_is_a_hard_finding_naming_the_setting(webui):
    webui.m.shared.opts.data["iga_auto_apply"] = False
    webui.select("ztsnr.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras"})
    assert status == 422, body
    finding = next(f for f in webui.last_api_p().iga_state.verdict.blocking if f.rule_id == "IGA-H007")
    assert finding.remedy.startswith("Settings > Sampler parameters > Noise schedule for sampling: Zero Terminal SNR")
    assert webui.last_api_p().double_executed == []


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


@pytest.mark.parametrize(("sampler", "schedule"), [("ER SDE", "Karras"), ("Kohaku LoNyu Yog", "Automatic"),
                                                   ("DPM++ 2s a RF", "Exponential")])
def test_a_sampler_or_schedule_only_this_fork_lists_is_judged_not_refused_as_unknown(webui, sampler, schedule):
    """Seen in a real Forge Neo: its own ER SDE (its default for Anima) and Bong Tangent were refused with
    IGA-H006, "not a known sampler name", though the user picked them from the host's own list. They are in the
    vocabulary now: judged like any other pair (the recipe's sampler rules, the host's executed sigmas); Neo's
    two schedules, which the double does not compute, in tests/test_guard_rules.py."""
    listed = {s.name for s in webui.m.sd_samplers.all_samplers}
    labels = {s.label for s in webui.m.sd_samplers.schedulers}
    if sampler not in listed or schedule not in labels:
        pytest.skip(f"{webui.host} does not list {sampler} / {schedule}")
    webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": sampler, "scheduler": schedule})
    st = webui.last_api_p().iga_state
    assert st.verdict is not None and "IGA-H006" not in {f.rule_id for f in st.verdict.findings}


def test_the_recipes_own_pair_sent_explicitly_runs_where_the_host_writes_it_as_automatic(webui):
    """Seen in a real Forge Classic: an API request sending DPM++ 2M with Karras, the recipe's own pair, was
    refused with IGA-H006 ("the host would run Automatic"): Classic writes a schedule that is the sampler's own
    option as Automatic (classic sd_samplers.py:137-140), which runs Karras for DPM++ 2M all the same."""
    webui.reset("karras.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 25, "cfg_scale": 1.5, "sampler_name": "DPM++ 2M",
                                      "scheduler": "Karras"})
    p = webui.last_api_p()
    assert p.scheduler == ("Automatic" if webui.host == "forge-classic" else "Karras")  # the host's own rewrite
    assert "IGA-H006" not in {f.rule_id for f in p.iga_state.verdict.findings}
    assert status == 200, body


def test_a_misspelt_sampler_is_refused_by_name(webui):
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Eular a"})
    if webui.flavour.api_unlisted_sampler == "404":  # Forge Classic: the host's own 404, nothing generated
        assert status == 404 and body["detail"] == "Sampler not found" and webui.saved_files() == []
        return
    assert status == 422, body
    assert "'Eular a'" in body["detail"] and "Euler a" in body["detail"]
    assert webui.last_api_p().double_executed == []
    # the names offered are this host's own (seen in a real Forge Neo: a vocabulary name it lacks was offered)
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "DPM++ 2N"})
    offered = body["detail"].split("closest names this WebUI has: ")[1].split(")")[0].split(", ")
    listed = {s.name for s in webui.m.sd_samplers.all_samplers}
    assert status == 422 and offered and set(offered) <= listed and "DPM++ 2M" in offered


def test_the_audit_record_carries_the_executed_sigmas(webui):
    status, body = webui.api_txt2img({"prompt": "x"})  # omitted fields take the recipe's: Euler a, SGM Uniform, 4
    assert status == 200, body
    p = webui.last_api_p()
    ran = p.double_executed[0]
    first = p.iga_state.record["host_run"]["passes"]["first"]
    assert first["computed_by"] == "host" and first["kind"] == "sigmas"
    assert first["values"] == ran["sigmas"]  # exactly what the sampler was handed: not rounded
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


def test_the_recipes_settings_are_restored_on_a_host_whose_settings_were_never_saved(webui):
    """The hosts restore only override keys already in `opts.data` (A processing.py:823, F 820), which holds
    only config.json's keys (A options.py:197-202); seen in both real hosts: without the glue's help a
    recipe's clip skip and VAE stayed set, and the next model without a recipe ran with them."""
    opts = webui.m.shared.opts
    for key in ("CLIP_stop_at_last_layers", "sd_vae", "forge_additional_modules"):
        opts.data.pop(key, None)  # a fresh host: no config.json
    defaults = {k: opts.get_default(k) for k in ("CLIP_stop_at_last_layers", "sd_vae")}
    webui.select("clipvae.safetensors")
    for sampler in ("Euler", "DDIM"):  # one that runs, one the recipe's grid refuses
        webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": sampler,
                           "scheduler": "Karras"})
        assert {k: getattr(opts, k) for k in defaults} == defaults
        if webui.flavour.vae == "modules":
            assert getattr(opts, "forge_additional_modules", None) in (None, [], opts.get_default("forge_additional_modules"))


def _hires(**fields) -> dict:
    return {"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler", "scheduler": "Karras",
            "enable_hr": True, "hr_scale": 1.5, "denoising_strength": 0.5, **fields}


def test_the_audit_record_carries_the_hires_pass_as_the_host_ran_it(webui):
    """hires steps 0 means the first pass's steps (A processing.py:1454: steps=hr_second_pass_steps or
    steps); the hires pass's executed sigmas are recorded unrounded as the host's sampler got them."""
    webui.select("clipvae.safetensors")
    status, body = webui.api_txt2img(_hires(hr_second_pass_steps=0))
    assert status == 200, body
    p = webui.last_api_p()
    ran = {e["is_hr_pass"]: e for e in p.double_executed}
    hires = p.iga_state.record["host_run"]["passes"]["hires"]
    assert hires["values"] == ran[True]["sigmas"] and len(hires["timesteps"]) == 4
    assert p.iga_state.record["host_run"]["passes"]["first"]["values"] == ran[False]["sigmas"]


@pytest.mark.parametrize(("sampler", "fields"), [("UniPC", {"steps": 1, "hr_second_pass_steps": 0}),
                                                 ("UniPC", {"hr_second_pass_steps": 1}),
                                                 ("DDIM", {"denoising_strength": 0.0})])
def test_a_hires_pass_the_hosts_sampler_cannot_schedule_leaves_the_first_pass_checked(webui, sampler, fields):
    """A hires pass whose img2img steps give t_enc 0 (one step; A sd_samplers_common.py:22-31) evaluates
    UniPC nowhere, and a timestep sampler at denoising 0 divides by zero steps (A sd_samplers_timesteps.py:94):
    the glue records what the host's code said and still judges every pass, never 'internal error'."""
    body = _hires(hr_sampler_name=sampler, **fields)
    _status, answer = webui.api_txt2img(body)
    p = webui.last_api_p()
    st = p.iga_state
    assert st.failure is None and st.verdict is not None, answer
    assert st.record["guard"]["outcome"] != "error"
    assert "first" in st.record["host_run"]["passes"]
    errors = st.record["host_run"].get("errors", {})
    hires = st.record["host_run"]["passes"].get("hires")
    assert (hires is None) == ("hires" in errors)
    if hires is not None and hires["kind"] == "timesteps":  # A / F: UniPC is a timestep sampler (Classic, Neo:
        assert hires["timesteps"] == []  # k-diffusion); over no timesteps the model is never evaluated


# --- names as sent: the API body, its pasted infotext, keyword calls, failures, reloads -------------------

def test_a_pasted_infotext_with_an_unknown_sampler_is_refused_by_name(webui):
    """The host's apply_infotext turns 'Eular a' into DPM++ 2M before any script runs (A api.py:363-411 ->
    get_sampler_from_infotext, sd_samplers.py:69-70); IGA refuses by the name in the infotext."""
    infotext = "a cat\nSteps: 4, Sampler: Eular a, CFG scale: 1.5, Seed: 1, Size: 512x512"
    status, body = webui.api_txt2img({"prompt": "x", "infotext": infotext})
    assert status == 422, body
    assert "'Eular a'" in body["detail"] and "Euler a" in body["detail"] and "DPM++ 2M" in body["detail"]
    p = webui.last_api_p()
    assert p.sampler_name == "DPM++ 2M" and p.double_executed == []  # what the host made of it never ran


def test_a_pasted_infotext_alias_runs_as_what_it_names_and_is_recorded(webui):
    infotext = "a cat\nSteps: 4, Sampler: k_euler_a, Schedule type: SGM Uniform, CFG scale: 1.5, Seed: 1"
    status, body = webui.api_txt2img({"prompt": "x", "infotext": infotext})
    assert status == 200, body
    p = webui.last_api_p()
    assert [e["sampler"] for e in p.double_executed] == ["Euler a"]
    assert p.iga_state.record["host_run"]["names"]["sampler"] == {"sent": "k_euler_a", "ran_as": "Euler a"}
    assert "k_euler_a" in json.loads(body["info"])["comments"]


def test_a_sampler_sent_on_purpose_is_not_taken_for_an_omitted_field(webui):
    """'Euler' is the API model's default sampler_index (A api/models.py:104), but a caller who sends it
    means it: the recipe's Euler a is not put in its place (and then refused as not what was sent)."""
    status, body = webui.api_txt2img({"prompt": "x", "sampler_name": "Euler", "scheduler": "SGM Uniform"})
    assert status == 200, body
    p = webui.last_api_p()
    assert [e["sampler"] for e in p.double_executed] == ["Euler"]
    assert "sampler_name" not in p.iga_state.applied and p.iga_state.applied["steps"] == 4


#: a request every host accepts as it is; what the glue saw of it exists only through the capture
LISTED = {"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler", "scheduler": "SGM Uniform"}


def _captured(webui) -> dict:
    return webui.last_api_p().iga_state.sent


def test_the_capture_takes_the_request_by_position_too(webui):
    status, body = webui.api.text2imgapi(dict(LISTED))
    assert status == 200, body
    assert _captured(webui) == {"sampler": "Euler", "schedule": "SGM Uniform"}


def test_notes_that_cannot_be_read_leave_the_hosts_call_alone(webui, monkeypatch):
    from iga_webui import sent_names

    def broken(req):
        raise RuntimeError("unreadable request")

    monkeypatch.setattr(sent_names, "names_of", broken)
    status, body = webui.api_txt2img({"prompt": "x"})
    assert status == 200, body
    assert webui.last_api_p().iga_state.sent == {}


def test_a_host_call_that_raises_resets_the_notes(webui):
    from iga_webui import sent_names

    status, body = webui.api_txt2img({"prompt": "x", "alwayson_scripts": {"no such script": {"args": []}}})
    assert status == 422, body  # the host's own refusal (A api.py:355-356), untouched
    assert sent_names.current() is None


def test_a_reloaded_module_keeps_one_wrapper_and_the_capture(webui):
    import importlib

    from iga_webui import sent_names

    api_cls = type(webui.api)
    bound_before = webui.api.text2imgapi  # a route bound before the reload keeps the earlier wrapper
    original = api_cls.text2imgapi.__wrapped__
    reloaded = importlib.reload(sent_names)
    assert reloaded.install()
    assert api_cls.text2imgapi.__wrapped__ is original  # re-wrapped from the host's method: one layer
    for call in (bound_before, webui.api.text2imgapi):
        status, body = call(txt2imgreq=dict(LISTED))
        assert status == 200, body
        assert _captured(webui) == {"sampler": "Euler", "schedule": "SGM Uniform"}


def test_the_hand_over_asks_the_host_again_only_when_the_schedule_can_differ(webui, monkeypatch):
    """process() and the p.sample hand-over both need the schedule; the second ask is skipped only while
    everything the host's sampler reads is unchanged: p's fields, the model, its noise table (by identity
    and in-place version: the noise-schedule override swaps or rescales it, A sd_models.py:650-667, F
    processing.py:985-996) and the sampler options."""
    from iga_webui import host_run

    m = webui.m
    model = m.sd_models.reload_model_weights()
    p = m.processing.StableDiffusionProcessingTxt2Img(sampler_name="Euler", scheduler="Karras", steps=4)
    p.sd_model = model
    calls = []
    real = host_run.executed
    monkeypatch.setattr(host_run, "executed", lambda p, **kw: calls.append(1) or real(p, **kw))
    memo = {}
    first = host_run.executed_or_error(p, memo=memo)
    assert host_run.executed_or_error(p, memo=memo) is first and len(calls) == 1
    if webui.flavour.forge_backend:  # F swaps the predictor's inference-mode sigmas (processing.py:985-996)
        predictor = model.forge_objects.unet.model.predictor
        predictor.set_sigmas(predictor.sigmas.clone())
    else:
        model.alphas_cumprod.mul_(1.0)  # an in-place change A's override makes (sd_models.py:650-667)
    host_run.executed_or_error(p, memo=memo)
    m.shared.opts.data["rho"] = 3.0
    host_run.executed_or_error(p, memo=memo)
    p.steps = 5
    host_run.executed_or_error(p, memo=memo)
    assert len(calls) == 4



# --- VAE, clip skip and the architecture of second passes ----------------------------------------------

def test_forge_reads_the_vae_of_a_flux_style_module_list_by_its_tensors(webui):
    """Forge's `forge_additional_modules` lists VAE and text encoders together (F main_entry.py:258-276);
    the VAE is the module whose tensors are a VAE's (`ae.safetensors`), not the first one (`clip_l`)."""
    if webui.flavour.vae != "modules":
        pytest.skip("Forge's and Neo's module list only")
    import sys

    from iga_webui import host

    entry = sys.modules["modules_forge.main_entry"]
    paths = [entry.module_list[n] for n in ("clip_l.safetensors", "t5xxl_fp16.safetensors", "ae.safetensors")]
    webui.m.shared.opts.data["forge_additional_modules"] = paths
    p = webui.m.processing.StableDiffusionProcessingTxt2Img()
    assert host.effective_vae(p) == "ae.safetensors"
    webui.m.shared.opts.data["forge_additional_modules"] = paths[:2]  # text encoders only: the model's own VAE
    assert host.effective_vae(p) == "None"
    webui.select("clipvae.safetensors")  # its recipe names anime.vae.safetensors: swapped in, encoders kept
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras"})
    assert status == 200, body
    sent = webui.last_api_p().override_settings["forge_additional_modules"]
    assert sent == [*paths[:2], entry.module_list["anime.vae.safetensors"]]


def test_clip_skip_and_vae_set_by_the_request_itself_are_left_alone(webui):
    webui.select("clipvae.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras", "override_settings": {"CLIP_stop_at_last_layers": 1}})
    assert status == 200, body
    p = webui.last_api_p()
    assert p.override_settings["CLIP_stop_at_last_layers"] == 1
    assert "clip_skip" not in p.iga_state.host_run.get("applied", {})
    assert "IGA-S006" in {f.rule_id for f in p.iga_state.verdict.findings}  # judged as it runs: clip skip 1


@pytest.mark.parametrize("refiner", ["sdxl_refiner", "sdxl_stamped"])
def test_a_refiner_of_another_architecture_is_refused_before_denoising(webui, refiner):
    """An SDXL refiner after an SD 1.5 first pass decodes latents from another latent space: hard, whether
    or not the refiner has a recipe (its architecture read from its tensors before the host loads it)."""
    webui.select("clipvae.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras", "refiner_checkpoint": refiner,
                                      "refiner_switch_at": 0.8})
    assert status == 422, body
    assert "IGA-H008" in body["detail"] and "refiner pass: this pass's checkpoint is sdxl but it continues sd1" \
        in body["detail"]
    assert webui.last_api_p().double_executed == []


def test_a_hires_checkpoint_of_another_architecture_is_refused_before_denoising(webui):
    webui.select("clipvae.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras", "enable_hr": True, "hr_scale": 1.5,
                                      "denoising_strength": 0.5, "hr_checkpoint_name": "sdxl_refiner"})
    assert status == 422, body
    assert "hires pass: this pass's checkpoint is sdxl but it continues sd1" in body["detail"]
    assert webui.last_api_p().double_executed == []


def test_clip_skip_and_vae_from_the_recipe_reach_a_generate_click_without_quicksettings(webui):
    """The UI path too: no quicksetting control is needed, the override settings carry what the host does
    not already hold (restored after the generation, A processing.py:823-858, F sysinfo.py set_config)."""
    webui.select("clipvae.safetensors")
    before = webui.m.shared.opts.CLIP_stop_at_last_layers  # its default: this host never saved its settings
    webui.ui_txt2img(steps=4, cfg_scale=1.5, sampler_name="Euler", scheduler="Karras")
    p = webui.last_p
    assert p.override_settings.get("CLIP_stop_at_last_layers", before) == 2
    assert ("clip_skip" in p.iga_state.host_run.get("applied", {})) == (before != 2)
    vae_key = "forge_additional_modules" if webui.flavour.vae == "modules" else "sd_vae"
    assert vae_key in p.override_settings
    assert p.iga_state.record["params"]["vae"] == "anime.vae.safetensors"
    assert p.iga_state.record["params"]["clip_skip"] == 2
    assert not [f for f in p.iga_state.verdict.findings if f.rule_id in ("IGA-S004", "IGA-S006")]
    assert webui.m.shared.opts.CLIP_stop_at_last_layers == before  # restored afterwards


def test_on_a_4_step_grid_unipc_runs_on_it_and_lcm_with_sgm_uniform_does_not(webui):
    """What the hosts' own samplers run decides: UniPC's time grid at 4 steps is 999, 749.25, 499.5, 249.75
    (A sd_samplers_timesteps_impl.py:159-160, 170-176), LCM's table gives 999, 759, 499, 259
    (A sd_samplers_lcm.py:9-48)."""
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "UniPC"})
    assert status == 200, body
    first = webui.last_api_p().iga_state.record["host_run"]["passes"]["first"]
    if webui.host == "forge-neo":
        # Neo: UniPC and LCM are k-diffusion samplers on the schedule's sigmas, read back through Forge's
        # predictor (Neo sd_samplers_kdiffusion.py:23, 30; no LCM table): SGM Uniform lands on the grid for both
        assert first["timesteps"] == pytest.approx([999, 749, 500, 250], abs=0.6)
        status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "LCM",
                                          "scheduler": "SGM Uniform"})
        assert status == 200, body
        return
    assert first["timesteps"] == pytest.approx([999, 749.25, 499.5, 249.75])
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "LCM",
                                      "scheduler": "SGM Uniform"})
    if webui.host == "forge-neo":
        assert status == 200, body
        return
    assert status == 422, body
    assert "IGA-H004" in body["detail"] and "759" in body["detail"]
    assert webui.last_api_p().double_executed == []


def test_a_pass_whose_memo_key_cannot_be_read_is_still_asked_and_judged(webui, monkeypatch):
    """The memo only saves asking twice: if its key cannot be built (a tensor the host made in a way the key
    cannot read, as Forge's inference-mode sigmas once did), the host is asked and the pass judged anyway."""
    from iga_webui import host_run

    def unreadable(p, hires):
        raise RuntimeError("Inference tensors do not track version counter.")

    monkeypatch.setattr(host_run, "inputs_key", unreadable)
    webui.select("vpred.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras"})
    assert status == 422 and "IGA-H003" in body["detail"], body
    st = webui.last_api_p().iga_state
    assert st.failure is None and "first" in st.host_run["passes"]
