"""Forge Classic's page has no Schedule type dropdown unless Settings > UI Alternatives > "Display the Scheduler
Dropdown" is on (classic modules/shared_options.py:361-365, default off); without it a UI generation runs
"Automatic" (classic processing_scripts/sampler.py:34-43, 63-66). The guard judges that, and a remedy that needs
another schedule says to turn the setting on instead of naming a control the page lacks; Generate, the panel
and the API (which always takes a `scheduler` field) each as the host runs them
(`iga_webui.forks.schedule_control`, the double's option in tests/host_double/shared.py and ui_build.py)."""

from __future__ import annotations

import pytest

from tests.browser.ui_events import Events
from tests.host_double.fixture import host, started_host  # noqa: F401
from tests.host_double.ui_build import build_ui
from tests.webui_recipes import LIGHTNING, add_checkpoint, recipe

pytestmark = pytest.mark.host
SETTING = "Display the Scheduler Dropdown"
#: a recipe whose schedule is not Euler's default (the model's discretisation, Uniform) and the only one it allows
SGM_ONLY = recipe(LIGHTNING, model_id="test-sgm-only", scheduler={"name": "SGM Uniform"},
                  constraints={"allow_schedules": ["SGM Uniform"]},
                  presets=[dict(LIGHTNING["presets"][0], scheduler="SGM Uniform")])
INSIDE = {"sampler_name": "Euler", "steps": 4, "cfg_scale": 1.5, "width": 640, "height": 640}


def _checkpoints(double):
    add_checkpoint(double.models, "sgm.safetensors", SGM_ONLY)


started = started_host(_checkpoints, select="sgm.safetensors")


@pytest.fixture
def webui(started):
    started.reset("sgm.safetensors")
    return started


def _hidden(double) -> bool:
    return double.flavour.schedule_setting is not None


def _schedule_remedy(verdict) -> str:
    found = [f for f in verdict.findings if f.rule_id == "IGA-H002"]
    assert found, [f.rule_id for f in verdict.findings]
    return found[0].remedy


def test_generate_without_the_dropdown_names_the_setting(webui):
    """Classic with the setting off runs Automatic (Uniform for Euler), outside the recipe: refused, and the
    remedy says which setting shows the schedule control. Every other host has the dropdown: "use SGM Uniform"."""
    from iga_webui import host as glue_host

    if _hidden(webui):
        webui.m.shared.opts.data[webui.flavour.schedule_setting] = False
    assert glue_host.schedule_control_shown() is not _hidden(webui)
    images, _js, _info, html_log = webui.ui_txt2img(scheduler="SGM Uniform", **INSIDE)
    st = webui.last_p.iga_state
    if not _hidden(webui):
        assert images and st.verdict.allowed  # the page sent SGM Uniform
        return
    assert not images and "IGA-H002" in html_log  # the page sent Automatic, whatever the test asked for
    assert webui.last_p.scheduler == "Automatic"
    remedy = _schedule_remedy(st.verdict)
    assert remedy.startswith(f'turn on Settings > UI Alternatives > "{SETTING}" and reload the UI')
    assert remedy.endswith("then use SGM Uniform")
    assert st.request.hidden_controls == ("schedule",)


def test_generate_with_the_dropdown_on_or_through_the_api_says_nothing_about_it(webui):
    from iga_webui import host as glue_host

    assert glue_host.schedule_control_shown()  # the double starts with Classic's setting on
    webui.ui_txt2img(scheduler="Automatic", **INSIDE)
    remedy = _schedule_remedy(webui.last_p.iga_state.verdict)
    assert remedy == "use SGM Uniform" and webui.last_p.iga_state.request.hidden_controls is None
    if _hidden(webui):
        webui.m.shared.opts.data[webui.flavour.schedule_setting] = False
    status, body = webui.api_txt2img({"prompt": "x", "scheduler": "Karras", **INSIDE})
    assert status == 422 and "IGA-H002" in body["detail"]
    assert SETTING not in body["detail"]  # the API takes a scheduler field on every host
    assert webui.last_api_p().iga_state.request.hidden_controls is None


@pytest.mark.ui
def test_the_panel_judges_what_a_page_without_the_dropdown_runs(host, monkeypatch):  # noqa: F811
    """The live verdict judged no schedule at all where the page had no dropdown: green on Classic while
    Generate refused. Now it judges Automatic, as the page sends it, and says how to show the control."""
    monkeypatch.setenv("IGA_CACHE_DIR", str(host.root / "cache"))
    add_checkpoint(host.models, "sgm.safetensors", SGM_ONLY)
    add_checkpoint(host.models, "plain.safetensors", None, seed=1)
    if _hidden(host):
        host.m.shared.opts.data[host.flavour.schedule_setting] = False
    host.start(select="plain.safetensors")
    page = Events(build_ui(host))
    checkpoint = next(b for b in page.blocks.values() if getattr(b, "elem_id", None) == "setting_sd_model_checkpoint"
                       or (getattr(b, "label", None) == "Checkpoint" and "model_selection" in (b.elem_classes or [])))
    page.set(checkpoint, host.m.sd_models.get_closet_checkpoint_match("sgm.safetensors").title)
    page.fire(checkpoint)
    verdict = page.value(page.by_elem_id("iga-txt2img-verdict"))
    status = page.value(page.by_elem_id("iga-txt2img-status"))
    if not _hidden(host):
        assert page.value(page.by_elem_id("txt2img_scheduler")) == "SGM Uniform"
        assert 'data-iga-state="ok"' in verdict and SETTING not in verdict + status
        return
    assert not [b for b in page.blocks.values() if getattr(b, "elem_id", None) == "txt2img_scheduler"]
    assert 'data-iga-state="blocked"' in verdict and "IGA-H002" in verdict
    assert SETTING in verdict  # the remedy
    assert "cannot be set on this page" in status and SETTING in status  # the preset's schedule
