"""The always-on IGA script through the host double, once as A1111 v1.10.1 and once as Forge:
API defaults, real blocking (HTTP 422 / UI error, no image), soft findings per mode, overrides, infotext
and saved-file audit, paste-back, hostile recipe strings, extension failures."""

from __future__ import annotations

import json
import logging

import pytest
from PIL import Image

from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING, TURBO, add_checkpoint, recipe

pytestmark = pytest.mark.host
HOSTILE = '<img src=x onerror=alert(1)>, "IGA: v1 off ok", Steps: 99\nNegative prompt: pwned'


DISTILLED = recipe(TURBO, model_id="test-distilled",
                   cfg={"default": 1.0, "min": 1.0, "max": 1.0, "distilled": {"default": 2.5, "min": 2.0, "max": 4.0}})


def _checkpoints(double):
    add_checkpoint(double.models, "distilled.safetensors", DISTILLED, seed=4)
    add_checkpoint(double.models, "lightning.safetensors", LIGHTNING)
    add_checkpoint(double.models, "turbo.safetensors", TURBO, seed=1)
    add_checkpoint(double.models, "plain.safetensors", None, seed=2)
    tampered = add_checkpoint(double.models, "tampered.safetensors", LIGHTNING, seed=8)
    data = bytearray(tampered.read_bytes())
    data[-1] ^= 0xFF  # same size, other weights: the stamped weights hash no longer matches
    tampered.write_bytes(bytes(data))
    evil = recipe(LIGHTNING, model_id=HOSTILE, title=HOSTILE, notes=HOSTILE)
    evil["presets"] = [dict(LIGHTNING["presets"][0], name="Q, x: y", description=HOSTILE)]
    add_checkpoint(double.models, "evil.safetensors", evil, seed=3)


started = started_host(_checkpoints, select="lightning.safetensors")


@pytest.fixture
def webui(started):
    started.reset("lightning.safetensors")
    return started


def info_of(body: dict) -> dict:
    return json.loads(body["info"])


def params_of(infotext: str, host) -> dict:
    return host.m.infotext_utils.parse_generation_parameters(infotext)


def ui_comments(result) -> str:
    return result[3]


# --- defaults for omitted API fields ---------------------------------------------------------------------

def test_api_fields_left_out_take_the_recipe_defaults(webui):
    status, body = webui.api_txt2img({"prompt": "a cat"})
    assert status == 200
    params = params_of(info_of(body)["infotexts"][0], webui)
    assert (params["Steps"], params["Sampler"], params["CFG scale"]) == ("4", "Euler", "1.5")
    assert (params["Size-1"], params["Size-2"]) == ("640", "640")
    assert params["Schedule type"] == "Karras"
    assert "applied Native values" in info_of(body)["comments"]
    assert params["IGA"].endswith(" ok")


def test_api_fields_the_caller_sent_are_kept(webui):
    status, body = webui.api_txt2img({"prompt": "a cat", "steps": 6, "cfg_scale": 2.0, "width": 768, "height": 768})
    assert status == 200
    params = params_of(info_of(body)["infotexts"][0], webui)
    assert (params["Steps"], params["CFG scale"], params["Size-1"]) == ("6", "2.0", "768")
    assert "steps=" not in info_of(body)["comments"]


def test_api_preset_from_the_script_args(webui):
    status, body = webui.api_txt2img({"prompt": "a cat", "alwayson_scripts": {"IGA": {"args": [{"preset": "Quality"}]}}})
    assert status == 200
    params = params_of(info_of(body)["infotexts"][0], webui)
    assert (params["Steps"], params["CFG scale"], params["IGA preset"]) == ("8", "2.0", "Quality")


def test_custom_preset_keeps_the_api_defaults(webui):
    body = {"prompt": "a cat", "alwayson_scripts": {"iga": {"args": [{"preset": "Custom", "mode": "audit"}]}}}
    status, answer = webui.api_txt2img(body)
    assert status == 200
    params = params_of(info_of(answer)["infotexts"][0], webui)
    assert params["Steps"] == "50"
    assert "IGA-S001" in info_of(answer)["comments"]  # audit mode records what is outside the recipe


def test_target_checkpoint_is_the_selected_one_even_before_forge_loads_it(webui):
    webui.select("turbo.safetensors")  # A: reloads now; F: only records the choice (lazy load)
    status, body = webui.api_txt2img({"prompt": "a cat"})
    assert status == 200
    params = params_of(info_of(body)["infotexts"][0], webui)
    assert (params["Model"], params["Steps"], params["Sampler"]) == ("turbo", "2", "Euler a")


def test_override_settings_checkpoint_is_the_target(webui):
    status, body = webui.api_txt2img({"prompt": "x", "override_settings": {"sd_model_checkpoint": "turbo"}})
    assert status == 200
    params = params_of(info_of(body)["infotexts"][0], webui)
    assert (params["Model"], params["Steps"]) == ("turbo", "2")


# --- hard violations block for real --------------------------------------------------------------------

def test_hard_violation_through_the_api_is_http_422_and_saves_nothing(webui):
    status, body = webui.api_txt2img({"prompt": "a cat", "sampler_name": "DPM++ 2M", "save_images": True})
    assert status == 422
    assert body["error"] == "GuardBlocked"
    for words in ("IGA-H001", "DPM++ 2M", "Euler", "use Euler"):
        assert words in body["detail"]
    assert body["body"]["verdict"]["blocked_ids"] == ["IGA-H001"]
    assert body["body"]["audit"]["guard"]["outcome"] == "blocked"
    # each host's error JSON shape (A api_middleware, F app handler)
    assert ("message" in body) == (webui.flavour.api_errors == "app")
    assert ("errors" in body) == (webui.flavour.api_errors == "middleware")
    assert webui.saved_files() == []
    # the same request inside the recipe does save
    status, _ = webui.api_txt2img({"prompt": "a cat", "save_images": True})
    assert status == 200
    assert len(webui.saved_files()) == 1


def test_hard_violation_in_the_ui_shows_the_error_and_makes_no_image(webui):
    images, _js, _info, html_log = webui.ui_txt2img(sampler_name="DPM++ 2M", steps=4, cfg_scale=1.5)
    assert images == []
    assert html_log.startswith("<div class='error'>GuardBlocked: ")
    assert "IGA-H001" in html_log
    assert webui.saved_files() == []
    assert webui.last_p.double_passes == []  # the sampler never ran


def test_img2img_is_blocked_too(webui):
    p = webui.m.processing.StableDiffusionProcessingImg2Img(prompt="x", sampler_name="DPM++ 2M", steps=4,
                                                             cfg_scale=1.5, init_images=[Image.new("RGB", (8, 8))])
    images, _js, _info, html_log = webui.m.txt2img.ui_generate(p, webui.ui_args(img2img=True), img2img=True)
    assert images == [] and "IGA-H001" in html_log


# --- soft findings per mode ----------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "made", "comment"), [
    ("standard", True, "IGA-S001 (soft)"),
    ("strict", False, None),
    ("audit", True, "audit only, not enforced: IGA-S001"),
    ("off", True, None),
])
def test_soft_findings_follow_the_mode(webui, mode, made, comment):
    result = webui.ui_txt2img({"mode": mode}, sampler_name="Euler", steps=30, cfg_scale=1.5, width=640, height=640)
    images = result[0]
    assert bool(images) == made
    if not made:
        assert "IGA-S001" in result[3] and "GuardBlocked" in result[3]
        return
    comments = ui_comments(result)
    if comment:
        assert comment in comments
    else:
        assert "IGA-S001" not in comments
    params = params_of(images[0].info["parameters"], webui)
    assert params["IGA"].split()[1] == mode


def test_mode_comes_from_the_setting_when_args_say_null(webui):
    webui.m.shared.opts.data["iga_guard_mode"] = "strict"
    result = webui.ui_txt2img({"mode": None}, sampler_name="Euler", steps=30, cfg_scale=1.5)
    assert result[0] == [] and "IGA-S001" in result[3]


# --- overrides ------------------------------------------------------------------------------------------

def test_overrides_are_applied_logged_and_recorded(webui, caplog):
    args = {"mode": "strict", "overrides": ["IGA-S001"], "override_reasons": {"IGA-S001": "testing, long: runs"},
            "advanced": True}
    with caplog.at_level(logging.INFO, logger="iga"):
        result = webui.ui_txt2img(args, sampler_name="Euler", steps=30, cfg_scale=1.5, width=640, height=640)
    assert result[0], result[3]
    assert "override IGA-S001 acknowledged (steps): testing, long: runs" in result[3]
    assert any("override IGA-S001 acknowledged" in r.getMessage() for r in caplog.records)
    params = params_of(result[0][0].info["parameters"], webui)
    assert params["IGA overrides"] == "IGA-S001"
    assert "override" in params["IGA"]


def test_an_override_cannot_lift_a_hard_rule(webui):
    result = webui.ui_txt2img({"overrides": ["IGA-H001"]}, sampler_name="DPM++ 2M", steps=4, cfg_scale=1.5)
    assert result[0] == [] and "cannot be overridden" in result[3]


def test_bad_script_args_from_the_api_are_refused(webui):
    status, body = webui.api_txt2img({"prompt": "x", "alwayson_scripts": {"iga": {"args": [{"overide": ["IGA-S001"]}]}}})
    assert status == 422
    assert "unknown key" in body["detail"] and "args-schema" in body["detail"]


def test_unknown_alwayson_script_is_the_hosts_422(webui):
    status, body = webui.api_txt2img({"prompt": "x", "alwayson_scripts": {"igaa": {"args": []}}})
    assert status == 422 and "igaa" in body["detail"]


# --- audit: infotext, saved files (PNG, JPEG, WebP, grids), paste-back ---------------------------------

@pytest.mark.parametrize("fmt", ["png", "jpg", "webp"])
def test_saved_files_carry_the_infotext_and_the_full_record(webui, fmt):
    from iga_core.audit import read_image_metadata

    webui.m.shared.opts.data["samples_format"] = fmt
    status, _ = webui.api_txt2img({"prompt": "a cat", "save_images": True})
    assert status == 200
    (saved,) = webui.saved_files()
    assert saved.suffix == f".{fmt}"
    geninfo, _ = webui.m.images.read_info_from_image(Image.open(saved))
    params = params_of(geninfo, webui)
    assert params["IGA"].endswith(" ok") and params["IGA preset"] == "Native"
    record = read_image_metadata(saved)
    assert record["recipe"]["model_id"] == "test-lightning"
    assert record["params"]["steps"] == 4
    assert record["recipe"]["digest"].startswith(params["IGA recipe"])


def test_image_metadata_setting_off_keeps_only_the_infotext(webui):
    from iga_core.audit import read_image_metadata

    webui.m.shared.opts.data["iga_image_metadata"] = False
    webui.api_txt2img({"prompt": "a cat", "save_images": True})
    (saved,) = webui.saved_files()
    assert read_image_metadata(saved) is None
    assert "IGA:" in Image.open(saved).info["parameters"]


def test_grids_carry_the_record(webui):
    from iga_core.audit import read_image_metadata

    status, _ = webui.api_txt2img({"prompt": "a cat", "batch_size": 2, "save_images": True})
    assert status == 200
    grids = [f for f in webui.saved_files() if "grid" in f.name]
    assert len(grids) == 1
    assert read_image_metadata(grids[0])["params"]["seeds"] == [1234, 1235]


def test_filename_pattern_setting(webui):
    webui.m.shared.opts.data["iga_filename_pattern"] = "[seed]-[checkpoint_name]-[iga_preset]-[iga_status]"
    webui.api_txt2img({"prompt": "a cat", "save_images": True})
    assert [f.name for f in webui.saved_files()] == ["00000-1234-lightning-Native-ok.png"]


def test_paste_back_restores_preset_and_overrides(webui):
    args = {"preset": "Quality", "overrides": ["IGA-S002"], "override_reasons": {"IGA-S002": "x"}, "mode": "strict"}
    result = webui.ui_txt2img(args, sampler_name="Euler", steps=8, cfg_scale=3.0, width=640, height=640)
    assert result[0], result[3]
    params = params_of(result[0][0].info["parameters"], webui)
    webui.m.script_callbacks.infotext_pasted_callback(result[0][0].info["parameters"], params)
    restored = {}
    for field in webui.m.scripts.scripts_txt2img.infotext_fields:
        component, target = field[0], field[1]
        value = target(params) if callable(target) else params.get(target)
        restored[getattr(component, "label", None)] = value
    assert any(v == ["IGA-S002"] for v in restored.values()), restored
    preset_values = [v for v in restored.values() if isinstance(v, dict) and v.get("value") == "Quality"]
    assert preset_values, restored
    assert "IGA notice" not in params  # same recipe: no notice


def test_pasting_an_image_made_with_another_recipe_shows_a_notice(webui):
    status, body = webui.api_txt2img({"prompt": "a cat"})
    assert status == 200
    text = info_of(body)["infotexts"][0]
    webui.select("turbo.safetensors")
    if webui.flavour.lazy_load:  # F and Neo load lazily: make the selected model the loaded one
        webui.m.sd_models.reload_model_weights()
    params = params_of(text, webui)
    with pytest.warns(UserWarning, match="IGA: this image was made with a different recipe"):  # gr.Warning
        webui.m.script_callbacks.infotext_pasted_callback(text, params)
    assert "different recipe" in params["IGA notice"]


def test_garbage_iga_fields_in_a_pasted_infotext_give_a_notice_not_a_crash(webui):
    params = {"Steps": "4", "IGA": "v9 nonsense", "IGA recipe": "zz"}
    with pytest.warns(UserWarning, match="unreadable"):
        webui.m.script_callbacks.infotext_pasted_callback("x", params)
    assert "unreadable" in params["IGA notice"]
    assert webui.m.errors.REPORTS == []


# --- hostile strings, no recipe, failures ---------------------------------------------------------------

def test_a_recipe_with_hostile_strings_round_trips_and_is_escaped(webui):
    host = webui
    host.select("evil.safetensors")
    status, body = host.api_txt2img({"prompt": "a cat", "save_images": True,
                                     "alwayson_scripts": {"iga": {"args": [{"preset": "Q, x: y"}]}}})
    assert status == 200, body
    text = info_of(body)["infotexts"][0]
    params = params_of(text, host)
    assert params["Steps"] == "8"  # the injected "Steps: 99" stayed inside the recipe, not the infotext
    assert params["IGA preset"] == "Q, x: y"
    assert params.get("Negative prompt", "") == "" and "pwned" not in text
    images, _js, _info, html_log = host.ui_txt2img(sampler_name="DPM++ 2M", steps=4, cfg_scale=1.5)
    assert images == [] and "<img" not in html_log


def test_checkpoint_without_recipe_runs_and_says_so(webui):
    webui.select("plain.safetensors")
    status, body = webui.api_txt2img({"prompt": "a cat", "sampler_name": "DPM++ 2M"})
    assert status == 200
    params = params_of(info_of(body)["infotexts"][0], webui)
    assert params["Steps"] == "50" and params["IGA"].endswith("norecipe")


def test_a_failure_inside_the_extension_is_shown_and_marked(webui, monkeypatch):
    from iga_webui import passes

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(passes, "extra_passes", broken)
    result = webui.ui_txt2img(sampler_name="Euler", steps=4, cfg_scale=1.5)
    assert result[0], "the user's generation must go on"
    assert "internal error in process: RuntimeError: simulated bug" in result[3]
    params = params_of(result[0][0].info["parameters"], webui)
    assert params["IGA"].endswith("error")


def test_the_script_is_registered_once_per_tab_with_one_arg(webui):
    for img2img in (False, True):
        script = webui.script(img2img)
        assert script is not None and script.alwayson
        assert script.args_to - script.args_from == 1
    assert webui.m.errors.REPORTS == []
    assert webui.m.shared.opts.data_labels["iga_guard_mode"].section == ("iga", "IGA")


def test_an_unknown_preset_from_the_api_is_refused(webui):
    status, body = webui.api_txt2img({"prompt": "x", "alwayson_scripts": {"iga": {"args": [{"preset": "Turbo"}]}}})
    assert status == 422 and "Turbo" in body["detail"]


def test_an_unreadable_checkpoint_file_does_not_stop_generation(webui, monkeypatch):
    from iga_core.errors import IgaIOError
    from iga_webui import recipes

    def unreadable(path):
        raise IgaIOError("cannot read the header", "check the file")

    monkeypatch.setattr(recipes, "lookup", unreadable)
    status, body = webui.api_txt2img({"prompt": "x"})
    assert status == 200
    assert "internal error in recipe lookup" in info_of(body)["comments"]
    assert params_of(info_of(body)["infotexts"][0], webui)["IGA"].endswith("error")


def test_forge_distilled_cfg_is_defaulted_and_checked_a1111_has_none(webui):
    webui.select("distilled.safetensors")
    status, body = webui.api_txt2img({"prompt": "x"})
    assert status == 200
    comments = info_of(body)["comments"]
    if webui.flavour.distilled_cfg:
        assert "distilled_cfg_scale=2.5" in comments  # the API default 3.5 counted as omitted
        status, body = webui.api_txt2img({"prompt": "x", "distilled_cfg_scale": 6.0})
        assert status == 200 and "IGA-S003" in info_of(body)["comments"]
    else:  # nothing set, and the reason said (auto-configure's finding for a host without distilled CFG)
        assert "distilled_cfg_scale=" not in comments and "IGA-C004" in comments


def test_img2img_through_the_api_checks_the_denoising_request(webui):
    status, body = webui.api_img2img({"prompt": "x", "init_images": [Image.new("RGB", (8, 8))],
                                      "denoising_strength": 0.5, "sampler_name": "DPM++ 2M"})
    assert status == 422 and "IGA-H001" in body["detail"]
    status, body = webui.api_img2img({"prompt": "x", "init_images": [Image.new("RGB", (8, 8))],
                                      "denoising_strength": 0.5})
    assert status == 200
    params = params_of(info_of(body)["infotexts"][0], webui)
    assert params["Denoising strength"] == "0.5" and params["IGA"].split()[-1] in ("ok", "warn")


# "never" first: once any lookup has hashed the file, the core's hash cache knows the mismatch anyway
@pytest.mark.parametrize(("verification", "warned"), [("never", False), ("first", True), ("always", True)])
def test_hash_verification_setting_reports_a_recipe_stamped_for_other_weights(webui, verification, warned):
    from iga_webui import recipes

    recipes.forget()
    webui.m.shared.opts.data["iga_hash_verification"] = verification
    webui.select("tampered.safetensors")
    status, body = webui.api_txt2img({"prompt": "x"})
    assert status == 200
    assert ("weights hash mismatch" in info_of(body)["comments"]) == warned


def test_auto_apply_off_leaves_api_defaults_alone(webui):
    webui.m.shared.opts.data["iga_auto_apply"] = False
    status, body = webui.api_txt2img({"prompt": "x"})
    assert status == 200
    params = params_of(info_of(body)["infotexts"][0], webui)
    assert params["Steps"] == "50" and "IGA-S001" in info_of(body)["comments"]


def test_the_host_version_is_recorded_and_asked_once_per_process(webui):
    from iga_core.audit import read_image_metadata

    calls = __import__("sys").modules["launch"].CALLS
    for _ in range(2):
        assert webui.api_txt2img({"prompt": "a cat", "save_images": True})[0] == 200
    # the fork's own version module (modules_forge/forge_version.py); A1111's version API, asked once
    expected = {"a1111": "v1.10.1", "forge": "2.0.1v1.10.1", "forge-neo": "neo 2.22", "forge-classic": "classic",
                "reforge": "1.0.0v2-v1.10.1RC"}[webui.host]
    assert [read_image_metadata(f)["host"] for f in webui.saved_files()] == [{"name": webui.host, "version": expected}] * 2
    # `git describe` once on A1111, however many images (and tests) came before; never on a fork
    assert calls == ([expected] if webui.host == "a1111" else [])
