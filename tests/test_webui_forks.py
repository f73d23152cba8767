"""Each fork's differences, through the host double as that fork (tests/host_double/flavours.py; the glue side
is iga_webui/hosts.json and iga_webui/forks/, the facts docs/hosts.md): the host named by its own version
module, the loaded model's prediction type and noise schedule read where each fork keeps them, the top bar
that only Forge and Neo build in modules_forge.main_entry, Classic's own hires CFG field and its API's 404 for
an unlisted sampler, and Neo's flow families whose "Shift" slider is not a CFG."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from tests.factories import SD1_TENSORS
from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING, add_checkpoint, recipe

pytestmark = pytest.mark.host

SDXL_KEYS = {**SD1_TENSORS, "conditioner.embedders.1.model.ln_final.weight": ("F16", [8])}
VPRED = recipe(LIGHTNING, model_id="test-vpred-xl", architecture="sdxl", prediction_type="v", constraints={},
               resolution={"preferred": [{"width": 1024, "height": 1024}], "max": {"width": 1024, "height": 1024}})
#: Neo's Z-Image: the double's guess needs only the width of `cap_embedder.1.weight` (Neo detection.py:43-64)
ZIMAGE_KEYS = {"cap_embedder.1.weight": ("F16", [3840, 1]), "layers.0.attention.qkv.weight": ("F16", [8, 8])}
#: Neo's Qwen-Image guess: a `txt_norm.weight` (Neo detection.py:244-247)
QWEN_KEYS = {"txt_norm.weight": ("F16", [8]), "img_in.weight": ("F16", [8, 64]),
             "transformer_blocks.0.attn.to_q.weight": ("F16", [8, 8])}
#: the Z-Image-Turbo recipe written from its authors' settings (metadata_examples/README.md)
ZIMAGE = json.loads((Path(__file__).resolve().parents[1] / "metadata_examples" / "z-image-turbo.iga.json").read_text())


def _checkpoints(double):
    from tests.factories import make_checkpoint

    add_checkpoint(double.models, "plain.safetensors", LIGHTNING)
    make_checkpoint(double.models / "vpred-key-xl.safetensors", {**SDXL_KEYS, "v_pred": ("F32", [0])}, seed=3)
    make_checkpoint(double.models / "ztsnr-key.safetensors", {**SD1_TENSORS, "ztsnr": ("F32", [0])}, seed=4)
    make_checkpoint(double.models / "yaml-v.safetensors", seed=5)
    (double.models / "yaml-v.yaml").write_text('model:\n  params:\n    parameterization: "v"\n')
    from iga_core.checkpoint.stamp import stamp

    stamp(double.models / "vpred-key-xl.safetensors", VPRED)
    make_checkpoint(double.models / "zimage.safetensors", ZIMAGE_KEYS, seed=6, max_elements=4096)  # real width
    stamp(double.models / "zimage.safetensors", ZIMAGE)
    make_checkpoint(double.models / "qwen-zrecipe.safetensors", QWEN_KEYS, seed=7, max_elements=4096)
    stamp(double.models / "qwen-zrecipe.safetensors", ZIMAGE)  # a Z-Image recipe on a Qwen-Image checkpoint


started = started_host(_checkpoints, select="plain.safetensors")


@pytest.fixture
def webui(started):
    started.reset("plain.safetensors")
    return started


def _loaded(webui, name):
    webui.select(name)
    return webui.m.sd_models.reload_model_weights()  # F and Neo load lazily; A, Classic and reForge already have


def test_the_host_is_named_by_its_own_version_module(webui, capfd):
    from iga_webui import host, host_probe

    assert host.profile().key == webui.host and host.host_info()["name"] == webui.host
    assert host.profile().version_checked
    assert host_probe._announced == [f"IGA runs on {host.profile().name} {host.profile().version}."]
    capfd.readouterr()
    host_probe.announce()  # the start said it already: not again
    assert "[IGA]" not in capfd.readouterr().err


#: (checkpoint, {host: (prediction, zero terminal SNR)}) -- what each host itself makes of the file
#: A1111 reads a YAML only (A sd_models_config.py:128-137) and no `ztsnr` key; Forge / Neo read a `v_pred` or
#: `ztsnr` key (F backend/loader.py:462, 546-560); Classic / reForge read `v_pred` for SDXL and `ztsnr`
#: (classic supported_models.py:117-121, forge_loader.py:110-112; reForge supported_models.py:215-218, 391)
MODEL_FACTS = {
    "vpred-key-xl.safetensors": {"a1111": ("eps", False), "*": ("v", False)},
    "ztsnr-key.safetensors": {"a1111": ("eps", False), "*": ("eps", True)},
    "yaml-v.safetensors": {"*": ("v", False)},
    "plain.safetensors": {"*": ("eps", False)},
}


@pytest.mark.parametrize("name", sorted(MODEL_FACTS))
def test_each_host_reads_the_prediction_and_noise_schedule_where_it_keeps_them(webui, name):
    from iga_webui import host_run

    facts = host_run.model_facts(_loaded(webui, name))
    want = MODEL_FACTS[name].get(webui.host) or MODEL_FACTS[name]["*"]
    assert (facts["prediction_type"], facts["zero_terminal_snr"]) == want
    assert facts["source"] == {"a1111": "a1111 model config", "forge": "forge predictor", "forge-neo": "forge predictor",
                               "forge-classic": "ldm_patched model_sampling", "reforge": "ldm_patched model_sampling"}[webui.host]
    assert facts["architecture"] == ("sdxl" if "xl" in name else "sd1")


def test_a_vpred_recipe_on_a_checkpoint_with_a_vpred_key(webui):
    """The forks run a `v_pred` checkpoint as v-prediction: the recipe is honoured. A1111 runs it as eps: refused."""
    webui.select("vpred-key-xl.safetensors")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras", "width": 1024, "height": 1024})
    if webui.host == "a1111":
        assert status == 422 and "IGA-H003" in body["detail"]
        return
    assert status == 200, body
    assert webui.last_api_p().iga_state.request.prediction_type == "v"


def test_reforge_counts_its_advanced_model_sampling_zero_terminal_snr(webui):
    """reForge also switches to zero terminal SNR when its built-in "Advanced Model Sampling for reForge" is on
    with the ZTSNR box ticked (reForge processing.py:1065-1075: the script's args 0 and 3)."""
    from types import SimpleNamespace

    from iga_webui import host

    reader = host.glue("prediction")
    model = _loaded(webui, "plain.safetensors")
    script = SimpleNamespace(name="advanced model sampling for reforge", args_from=1, args_to=5)
    p = SimpleNamespace(scripts=SimpleNamespace(alwayson_scripts=[script]), script_args=(0, True, "x", 1.0, True))
    off = SimpleNamespace(scripts=p.scripts, script_args=(0, True, "x", 1.0, False))
    says = reader.zero_terminal_snr(model, False, p), reader.zero_terminal_snr(model, False, off)
    assert says == ((True, False) if webui.host == "reforge" else (False, False))  # Classic has no such script


def test_only_forge_and_neo_have_a_main_entry_top_bar(webui):
    from iga_webui import host

    has = webui.host in ("forge", "forge-neo")
    assert host.glue("top_bar").has_main_entry is has
    # before the profile, the glue imported modules_forge.main_entry on every host shipping modules_forge:
    # an ImportError on Classic and reForge; now they are asked for what they have
    assert host.forge_main_entry("ui_checkpoint") is None or has
    assert host.forge_module_list() == {} or has


def test_the_hires_pass_is_judged_with_the_hosts_own_hires_cfg(webui):
    status, body = webui.api_txt2img({"prompt": "x", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras", "enable_hr": True, "hr_scale": 1.5,
                                      "denoising_strength": 0.5, "hr_cfg": 7.0, "hr_cfg_scale": 7.0})
    assert status == 200, body
    request = webui.last_api_p().iga_state.verdict
    hires_cfg = [f for f in request.findings if f.rule_id == "IGA-S002" and f.field == "hires cfg"]
    # Forge, Neo and reForge read `hr_cfg`, Classic `hr_cfg_scale`, A1111 has no hires CFG (forks/hires_cfg.py)
    assert bool(hires_cfg) is (webui.host != "a1111")


def test_neo_runs_z_image_as_a_flow_model_and_its_shift_is_not_a_cfg(webui):
    if webui.host != "forge-neo":
        pytest.skip("Z-Image is a Neo family")
    from iga_webui import host_run

    facts = host_run.model_facts(_loaded(webui, "zimage.safetensors"))
    assert (facts["prediction_type"], facts["architecture"]) == ("flow", "z-image")
    runs = {}
    for shift in (3.0, 9.0):  # the "Shift" slider is p.distilled_cfg_scale on use_shift models (Neo processing.py:733)
        status, body = webui.api_txt2img({"prompt": "x", "steps": 8, "cfg_scale": 1.0, "sampler_name": "Euler",
                                          "scheduler": "Simple", "distilled_cfg_scale": shift})
        assert status == 200, body
        p = webui.last_api_p()
        assert p.iga_state.request.distilled_cfg is None  # not judged as a distilled CFG
        assert not [f for f in p.iga_state.verdict.findings if f.rule_id == "IGA-H003"]
        assert f"Shift: {shift}" in json.loads(body["info"])["infotexts"][0]
        runs[shift] = p.iga_state.record["host_run"]["passes"]["first"]["values"]
    # the schedule the host runs follows the shift (Neo zimage.py:40-43): the guard judges the one that runs
    assert runs[3.0][1] < runs[9.0][1]


def test_callbacks_register_the_way_each_host_takes_them(webui):
    """Classic's `on_<event>(callback)` has no `name=` (classic modules/script_callbacks.py:324-328, 378): in a
    real Classic, passing it stopped scripts/iga.py from loading. Every callback the extension needs is there."""
    from iga_webui import host

    assert host.glue("callbacks").name == ("positional" if webui.host == "forge-classic" else "named")
    registered = webui.m.script_callbacks._callbacks
    for event in ("ui_settings", "app_started", "ui_tabs", "after_component", "before_image_saved"):
        assert registered[event], event
    with pytest.raises(TypeError) if webui.host == "forge-classic" else contextlib.nullcontext():
        webui.m.script_callbacks.on_ui_settings(lambda: None, name="probe")
    webui.m.script_callbacks._callbacks["ui_settings"][:] = [
        c for c in registered["ui_settings"] if getattr(c, "__name__", "") != "<lambda>"]


def test_neo_refuses_a_z_image_recipe_on_a_qwen_image_checkpoint(webui):
    """Schema 1.2.0 names Neo's families: the engine class Neo builds (QwenImage, Neo qwen.py:21) is `qwen-image`,
    the recipe says `z-image`, and IGA-H008 refuses what was once `other` against `other` (not caught)."""
    if webui.host != "forge-neo":
        pytest.skip("Qwen-Image and Z-Image are Neo families")
    from iga_webui import host_run

    facts = host_run.model_facts(_loaded(webui, "qwen-zrecipe.safetensors"))
    assert (facts["prediction_type"], facts["architecture"]) == ("flow", "qwen-image")
    status, body = webui.api_txt2img({"prompt": "x", "steps": 8, "cfg_scale": 1.0, "sampler_name": "Euler",
                                      "scheduler": "Simple", "distilled_cfg_scale": 3.0})
    assert status == 422 and "IGA-H008" in body["detail"], body
    assert "z-image" in body["detail"] and "qwen-image" in body["detail"]
