"""Auto-apply and the Advanced gate in the hosts: iga_webui/ui_wiring.py through the host double, as A1111 and
as Forge, under both gradio versions. The page is built like the host builds it (tests/host_double/ui_build.py):
every component reports to `on_after_component`, and the panels are wired when the footer appears."""

from __future__ import annotations

import pytest

from iga_core.checkpoint.stamp import stamp
from tests.browser.ui_events import Events
from tests.browser.ui_models import LIGHTNING, make_models
from tests.factories import make_checkpoint
from tests.host_double.fixture import host  # noqa: F401
from tests.host_double.ui_build import build_ui

pytestmark = pytest.mark.ui
TABS = ("txt2img", "img2img")


def _page(double, monkeypatch, quicksettings: list[str] | None = None) -> Events:
    """The host's page; `quicksettings`: what the user put in the top bar (else the host's default list)."""
    monkeypatch.setenv("IGA_CACHE_DIR", str(double.root / "cache"))
    monkeypatch.setenv("IGA_REGISTRY", str(double.root / "registry"))
    make_models(double.models)
    double.start(select="plain.safetensors")
    if quicksettings is not None:
        key = "quick_setting_list" if "quick_setting_list" in double.m.shared.opts.data else "quicksettings_list"
        double.m.shared.opts.data[key] = list(quicksettings)
    demo = build_ui(double)
    from iga_webui import ui_wiring

    assert ui_wiring.wired_tabs == list(TABS)
    page = Events(demo)
    if double.flavour.top_bar == "forge":
        page.checkpoint = next(b for b in page.blocks.values()
                               if getattr(b, "label", None) == "Checkpoint" and "model_selection" in (b.elem_classes or []))
    else:
        page.checkpoint = page.by_elem_id("setting_sd_model_checkpoint")
    return page


def _title(double, name: str) -> str:
    return double.m.sd_models.get_closet_checkpoint_match(name).title  # "name.safetensors [shorthash]"


def test_the_page_records_whether_it_has_a_clip_skip_control(host, monkeypatch):  # noqa: F811
    """Neo's page has none (its Clip skip is an ordinary setting, N shared_options.py:224), nor A1111's and
    Classic's by default; Forge's top bar and reForge's default quicksettings have one. A UI generation's
    IGA-S006 remedy starts with where the setting is exactly where the page lacks the control."""
    _page(host, monkeypatch)
    from iga_webui import page

    assert page.clip_skip_control == (host.host in ("forge", "reforge"))


def test_checkpoint_change_applies_the_recipe_on_both_tabs(host, monkeypatch):  # noqa: F811
    page = _page(host, monkeypatch)
    # A fires the change with the bare name first, then with " [hash]" (seen in the running host): same result twice
    for value in ("lightning.safetensors", _title(host, "lightning.safetensors")):
        page.set(page.checkpoint, value)
        page.fire(page.checkpoint)
        for tab in TABS:
            steps, sampler = page.by_elem_id(f"{tab}_steps"), page.by_elem_id(f"{tab}_sampling")
            assert page.value(steps) == 4 and page.value(sampler) == "Euler"
            assert page.value(page.by_elem_id(f"{tab}_scheduler")) == "SGM Uniform"
            assert page.value(page.by_elem_id(f"{tab}_cfg_scale")) == 1.0
            assert page.value(page.by_elem_id(f"{tab}_width")) == 1024
            assert page.prop(sampler, "interactive") is False  # the Advanced gate is shut
            assert 'data-iga-state="ok"' in page.value(page.by_elem_id(f"iga-{tab}-verdict"))
    if host.flavour.distilled_cfg:  # the recipe has no distilled CFG: Forge's slider is left alone but gated
        distilled = page.by_elem_id("txt2img_distilled_cfg_scale")
        assert page.value(distilled) == 3.5 and page.prop(distilled, "interactive") is False


def test_advanced_gate_unlocks_the_host_controls(host, monkeypatch):  # noqa: F811
    page = _page(host, monkeypatch)
    page.set(page.checkpoint, _title(host, "lightning.safetensors"))
    page.fire(page.checkpoint)
    advanced = page.by_elem_id("iga-txt2img-advanced")
    page.set(advanced, True)
    page.fire(advanced)
    assert page.prop(page.by_elem_id("txt2img_steps"), "interactive") is True
    assert page.prop(page.by_elem_id("img2img_steps"), "interactive") is False  # each tab has its own gate
    steps = page.by_elem_id("txt2img_steps")
    page.set(steps, 30)
    page.fire(steps)
    page.fire(page.by_elem_id("iga-txt2img-preset"))  # the radio turned Custom; its change follows
    verdict = page.value(page.by_elem_id("iga-txt2img-verdict"))
    assert 'data-iga-state="warn"' in verdict or 'data-iga-state="blocked"' in verdict
    assert '"preset": "Custom"' in page.value(page.by_elem_id("iga-txt2img-args"))
    assert '"advanced": true' in page.value(page.by_elem_id("iga-txt2img-args"))


def test_checkpoint_without_recipe_and_auto_apply_off(host, monkeypatch):  # noqa: F811
    page = _page(host, monkeypatch)
    steps = page.by_elem_id("txt2img_steps")
    page.set(page.checkpoint, _title(host, "plain.safetensors"))
    page.fire(page.checkpoint)
    assert page.value(steps) == 20 and page.prop(steps, "interactive") is True
    host.m.shared.opts.data["iga_auto_apply"] = False
    page.set(page.checkpoint, _title(host, "lightning.safetensors"))
    page.fire(page.checkpoint)
    assert page.value(steps) == 20  # left as the user had it
    assert page.value(page.by_elem_id("iga-txt2img-preset")) == "Custom"


def test_reapply_restores_the_recipe_after_a_host_reset(host, monkeypatch):  # noqa: F811
    """Forge's page load and UI-preset radio reset sampler and CFG; javascript/iga.js then clicks re-apply."""
    page = _page(host, monkeypatch)
    page.set(page.checkpoint, _title(host, "lightning.safetensors"))
    page.fire(page.checkpoint)
    cfg, sampler = page.by_elem_id("txt2img_cfg_scale"), page.by_elem_id("txt2img_sampling")
    page.set(cfg, 7.0)
    page.set(sampler, "DPM++ 2M")
    page.fire(page.by_elem_id("iga-txt2img-reapply"), "click")
    assert page.value(cfg) == 1.0 and page.value(sampler) == "Euler"


def test_ui_reload_wires_the_new_page(host, monkeypatch):  # noqa: F811
    page = _page(host, monkeypatch)
    from iga_webui import ui_wiring

    rebuilt = build_ui(host)  # "Reload UI": every component is created again, then a new footer
    assert ui_wiring.wired_tabs == list(TABS)
    second = Events(rebuilt)
    assert second.by_elem_id("txt2img_steps") is not page.by_elem_id("txt2img_steps")
    assert any(dep["inputs"] for dep, _fn in second.deps)  # the new page's controls carry the events


def test_vae_is_applied_only_where_the_host_offers_it(host, monkeypatch):  # noqa: F811
    """A1111's VAE quicksetting takes the recipe's VAE ("None" = the checkpoint's baked-in one) when it has
    that choice; a VAE file the host does not list is left alone. Forge has no single-VAE control."""
    host.models.mkdir(parents=True, exist_ok=True)
    stamp(make_checkpoint(host.models / "baked.safetensors", seed=5), {**LIGHTNING, "vae": {"embedded": True}})
    stamp(make_checkpoint(host.models / "other-vae.safetensors", seed=6),
          {**LIGHTNING, "vae": {"id": "someone_elses_vae.safetensors"}})
    page = _page(host, monkeypatch, quicksettings=["sd_model_checkpoint", "sd_vae"])  # A1111 users add sd_vae
    if host.flavour.vae == "modules":  # Forge's SD VAE is "Managed by Forge"; Neo's shown, not used (N 263)
        vaes = [b for b in page.blocks.values() if getattr(b, "elem_id", None) == "setting_sd_vae"]
        page.set(page.checkpoint, _title(host, "baked.safetensors"))
        page.fire(page.checkpoint)
        assert all(page.value(b) == "Automatic" for b in vaes) and len(vaes) == (host.host == "forge-neo")
        return
    vae = page.by_elem_id("setting_sd_vae")
    page.set(page.checkpoint, _title(host, "other-vae.safetensors"))
    page.fire(page.checkpoint)
    assert page.value(vae) == "Automatic" and page.value(page.by_elem_id("txt2img_steps")) == 4
    page.set(page.checkpoint, _title(host, "baked.safetensors"))
    page.fire(page.checkpoint)
    assert page.value(vae) == "None"
    assert page.value(page.by_elem_id("iga-txt2img-preset")) == "Native"
    page.set(page.checkpoint, _title(host, "other-vae.safetensors"))
    page.fire(page.checkpoint)
    assert "someone_elses_vae.safetensors" in page.value(page.by_elem_id("iga-txt2img-status"))  # said, not done
    assert page.value(vae) == "None"
    assert page.value(page.by_elem_id("iga-txt2img-preset")) == "Native"  # a missing file is not a user change


def test_the_settings_tab_is_not_the_page(host, monkeypatch):  # noqa: F811
    """Seen in a real Forge Neo: the Settings tab's Clip skip slider carries the quicksetting's element id
    (`setting_<key>`, A ui_settings.py:42); wired to it, the panel pushed the recipe's clip skip into a control
    that sets nothing until "Apply settings", and judged that value while Generate ran the setting (2). A
    setting outside the quicksettings list is now no control of the page: left alone, and judged as the host
    runs it (the host's setting under Custom)."""
    from iga_webui import page as glue_page

    host.models.mkdir(parents=True, exist_ok=True)
    stamp(make_checkpoint(host.models / "baked.safetensors", seed=5),
          {**LIGHTNING, "vae": {"embedded": True}, "clip_skip": 2})
    page = _page(host, monkeypatch, quicksettings=["sd_model_checkpoint"])
    in_settings = {b.elem_id: b for b in page.blocks.values()
                   if getattr(b, "elem_id", None) in ("setting_sd_vae", "setting_CLIP_stop_at_last_layers")}
    before = {elem: page.value(b) for elem, b in in_settings.items()}
    page.set(page.checkpoint, _title(host, "baked.safetensors"))
    page.fire(page.checkpoint)
    assert page.value(page.by_elem_id("txt2img_steps")) == 4  # the recipe reached the page's own controls
    assert {elem: page.value(b) for elem, b in in_settings.items()} == before  # the Settings tab: untouched
    assert glue_page.clip_skip_control == (host.host == "forge")  # Forge's own top-bar slider


def test_lora_tag_in_the_prompt_composes_through_the_glue(host, monkeypatch):  # noqa: F811
    """The panel's LoRA lookup is the glue's (iga_webui.loras: the host's LoRA list, else --lora-dir)."""
    from tests.browser.ui_models import make_loras

    make_loras(host.loras)
    page = _page(host, monkeypatch)
    page.set(page.checkpoint, _title(host, "lightning.safetensors"))
    page.fire(page.checkpoint)
    prompt = page.by_elem_id("txt2img_prompt")
    page.set(prompt, "a lighthouse <lora:lcm-lora-demo:1>")
    page.fire(prompt)
    assert page.value(page.by_elem_id("txt2img_sampling")) == "LCM"
    assert page.value(page.by_elem_id("img2img_sampling")) == "Euler"  # the other tab has its own prompt
    status = page.value(page.by_elem_id("iga-txt2img-status"))
    assert "Composed with LoRA recipes" in status and "lcm-lora-demo" in status


def test_last_decisions_follow_the_glue_log(host, monkeypatch):  # noqa: F811
    from iga_core.decision_log import DecisionLog

    log = DecisionLog(host.root / "decisions.jsonl")
    monkeypatch.setenv("IGA_DECISION_LOG", str(log.path))
    page = _page(host, monkeypatch)
    decisions = page.by_elem_id("iga-txt2img-decisions")
    page.fire(page.by_elem_id("iga-txt2img-reapply"), "click")  # javascript/iga.js clicks it after page load
    assert page.prop(decisions, "visible") is True and "No blocks" in page.value(decisions)
    log.append({"kind": "block", "mode": "standard", "outcome": "blocked", "checkpoint": {"name": "lightning"},
                "findings": [{"rule_id": "IGA-H001"}]})
    page.fire(page.by_elem_id("html_info_txt2img"))  # the host rewrote the generation info: a generation ran
    assert "IGA-H001" in page.value(decisions) and "lightning" in page.value(decisions)
    host.m.shared.opts.data["iga_decision_log"] = False  # the setting turns the log (and the table) off
    page.fire(page.by_elem_id("iga-txt2img-decisions-refresh"), "click")
    assert "IGA-H001" not in page.value(decisions) and "decision log is off" in page.value(decisions)


def test_paste_notice_reaches_the_panel_until_the_checkpoint_changes(host, monkeypatch):  # noqa: F811
    """The glue's on_infotext_pasted sets params["IGA notice"]; the panel's paste field shows it, escaped."""
    import warnings

    page = _page(host, monkeypatch)
    params = {"Steps": "4", "IGA": "v9 <b>nonsense</b>", "IGA recipe": "zz"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gr.Warning outside an event only warns
        host.m.script_callbacks.infotext_pasted_callback("x", params)
    notice = page.by_elem_id("iga-txt2img-notice")
    field = next(target for component, target, *_ in host.m.scripts.scripts_txt2img.infotext_fields
                 if component is notice)
    html = field(params)
    assert "<b>nonsense" in params["IGA notice"]  # the glue quotes the pasted value ...
    assert "unreadable" in html and "<b>nonsense" not in html and "&lt;b&gt;nonsense" in html  # ... escaped
    page.set(notice, html)
    page.set(page.checkpoint, _title(host, "lightning.safetensors"))
    page.fire(page.checkpoint)
    assert page.value(notice) == ""
