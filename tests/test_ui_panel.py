"""The panel's components and event handlers, exercised through the real wiring of the standalone app.

Runs under gradio 4.40 (system python) and 3.41.2 (/opt/venv-g3). `Events` (tests/browser/ui_events.py) plays
the browser: it calls the handler gradio registered for (component, event) and applies the updates.
"""

from __future__ import annotations

import dataclasses
import json

import gradio as gr
import pytest

from iga_core.guard.rules import VERDICT_RULES
from iga_core.script_args import parse_script_args
from iga_core.ui import view
from iga_core.ui.app import build_app, make_context
from iga_core.ui.context import PanelContext
from iga_core.ui.local_models import LocalModels, UnknownCheckpoint
from iga_core.ui.panel import NOTHING_TO_ACKNOWLEDGE, OVERRIDES_LABEL, PARTS, Panel, build_panel
from tests.browser.ui_events import Events
from tests.browser.ui_models import HOSTILE, LIGHTNING, make_models

pytestmark = pytest.mark.ui


def _find_components(demo: gr.Blocks):
    by_id = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    controls = {name: by_id[f"iga-app-{name}"] for name in ("sampler", "schedule", "steps", "cfg", "width", "height")}
    return controls, by_id["iga-app-checkpoint"], by_id


@pytest.fixture
def models(tmp_path, monkeypatch):
    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "registry"))  # never the user's own registry
    monkeypatch.setenv("IGA_DATA_DIR", str(tmp_path / "data"))  # nor the user's decision log
    return make_models(tmp_path / "models")


def _app(models, **settings) -> Events:
    base = make_context(LocalModels(models))
    ctx = dataclasses.replace(base, setting=lambda key, default=None: settings.get(key, default))
    demo = build_app(models, ctx=ctx)
    controls, checkpoint, by_id = _find_components(demo)
    panel = Panel.from_components("txt2img", ctx, by_id)
    return Events(demo, panel=panel, controls=controls, checkpoint=checkpoint)


@pytest.fixture
def app(models) -> Events:
    return _app(models)


def test_build_panel_makes_every_part_and_no_events(models):
    ctx = make_context(LocalModels(models))
    with gr.Blocks() as demo:
        panel = build_panel("img2img", ctx)
    assert set(panel.components) == set(PARTS)
    assert {c.elem_id for c in panel.components.values()} == {f"iga-img2img-{p}" for p in PARTS}
    assert demo.get_config_file()["dependencies"] == []  # no side effects: events come from Panel.wire
    assert [key for _component, key in panel.infotext_fields]  # paste-back registered
    with pytest.raises(ValueError):
        build_panel("extras", ctx)


def _choice_ids(app, component) -> list[str]:
    return [c[1] if isinstance(c, (list, tuple)) else c for c in app.prop(component, "choices", [])]


def test_override_choices_are_the_soft_rules_that_fired(app):
    # the issue: the list showed all six soft rules whatever the settings; now only those the verdict holds
    soft = sorted(r.id for r in VERDICT_RULES if r.overridable)  # request and composition rules
    assert "IGA-M007" in soft and "IGA-C004" not in soft
    overrides = app.panel.overrides
    app.select("lightning.safetensors")  # Native: inside the recipe, nothing to acknowledge
    assert _choice_ids(app, overrides) == [] and app.prop(overrides, "label") == NOTHING_TO_ACKNOWLEDGE
    app.set(app.panel.advanced, True)
    app.fire(app.panel.advanced)
    app.set(app.controls["cfg"], 7)  # outside CFG 1-2: IGA-S002 fires
    app.fire(app.controls["cfg"])
    assert _choice_ids(app, overrides) == ["IGA-S002"] and app.prop(overrides, "label") == OVERRIDES_LABEL
    app.set(overrides, ["IGA-S002"])
    app.fire(overrides)
    assert _choice_ids(app, overrides) == ["IGA-S002"] and app.args.overrides == ("IGA-S002",)
    app.set(app.controls["cfg"], 1)  # back inside: the ticked rule stays listed, to be unticked
    app.fire(app.controls["cfg"])
    assert _choice_ids(app, overrides) == ["IGA-S002"]
    app.set(overrides, [])
    app.fire(overrides)
    assert _choice_ids(app, overrides) == []
    assert set(_choice_ids(app, overrides)) <= set(soft)


def test_checkpoint_with_recipe_applies_native_and_closes_the_gate(app):
    app.select("lightning.safetensors")
    c = app.controls
    assert [app.value(c[n]) for n in ("sampler", "schedule", "steps", "cfg", "width", "height")] == \
        ["Euler", "SGM Uniform", 4, 1.0, 1024, 1024]
    assert app.prop(c["sampler"], "interactive") is False and app.prop(c["steps"], "interactive") is False
    assert app.prop(c["width"], "interactive") is None  # size is not gated
    assert app.value(app.panel.preset) == "Native"
    assert app.prop(app.panel.preset, "choices") == ["Native", "Fast", "Quality", "Custom"]
    assert app.args.preset == "Native" and app.args.advanced is False
    assert 'data-iga-state="ok"' in app.value(app.panel.verdict)
    assert "test-lightning" in app.value(app.panel.status)


def test_preset_click_pushes_the_preset_values(app):
    app.select("lightning.safetensors")
    app.set(app.panel.preset, "Quality")
    app.fire(app.panel.preset)
    c = app.controls
    assert [app.value(c[n]) for n in ("sampler", "steps", "cfg", "width", "height")] == ["Euler a", 8, 1.5, 896, 1152]
    assert app.args.preset == "Quality"
    app.fire(app.panel.reapply, "click")  # page load / Forge preset radio: same values again
    assert app.value(c["steps"]) == 8 and app.args.preset == "Quality"


def test_opening_the_gate_unlocks_and_records_advanced(app):
    app.select("lightning.safetensors")
    app.set(app.panel.advanced, True)
    app.fire(app.panel.advanced)
    assert app.prop(app.controls["sampler"], "interactive") is True
    assert app.prop(app.panel.override_group, "visible") is True
    assert app.args.advanced is True
    app.select("plain.safetensors")
    app.select("lightning.safetensors")  # a new checkpoint shuts the gate again
    assert app.value(app.panel.advanced) is False and app.prop(app.controls["steps"], "interactive") is False


def test_forbidden_sampler_blocks_live_and_the_preset_becomes_custom(app):
    app.select("lightning.safetensors")
    app.set(app.controls["sampler"], "DDIM")
    app.fire(app.controls["sampler"])
    verdict = app.value(app.panel.verdict)
    assert 'data-iga-state="blocked"' in verdict and "IGA-H001" in verdict
    assert app.value(app.panel.preset) == "Custom" and app.args.preset == "Native"
    app.fire(app.panel.preset)  # the radio turned Custom: in the page its own change event follows
    assert app.args.preset == "Custom" and app.value(app.controls["sampler"]) == "DDIM"  # nothing pushed back
    assert 'data-iga-state="blocked"' in app.value(app.panel.verdict)
    app.set(app.panel.mode, "audit")  # audit mode lets it through but keeps the finding
    app.fire(app.panel.mode)
    assert 'data-iga-state="warn"' in app.value(app.panel.verdict) and app.args.mode == "audit"


def test_soft_overrides_are_recorded_with_the_reason(app):
    app.select("lightning.safetensors")
    app.set(app.controls["cfg"], 2.5)  # above the recipe's CFG 1-2: a soft finding
    app.fire(app.controls["cfg"])
    app.fire(app.panel.preset)
    assert 'data-iga-state="warn"' in app.value(app.panel.verdict) and app.args.preset == "Custom"
    ctx = app.panel.ctx
    current = view.compute(ctx, view.PanelInputs(checkpoint="lightning.safetensors", preset="Custom",
                                                 controls={"sampler": "Euler", "schedule": "SGM Uniform",
                                                           "steps": 4, "cfg": 2.5}), "edit")
    soft = sorted({f.rule_id for f in current.verdict.warnings if f.severity == "soft"})
    assert soft
    app.set(app.panel.advanced, True)
    app.fire(app.panel.advanced)
    app.set(app.panel.overrides, soft)
    app.set(app.panel.reason, "testing high CFG")
    app.fire(app.panel.overrides)
    args = app.args
    assert list(args.overrides) == soft and args.override_reasons == dict.fromkeys(soft, "testing high CFG")
    assert 'data-iga-state="ok"' in app.value(app.panel.verdict)
    assert "overridden" in app.value(app.panel.verdict)


def test_checkpoint_without_recipe_leaves_everything_alone(app):
    app.set(app.controls["steps"], 33)
    app.select("plain.safetensors")
    assert app.value(app.controls["steps"]) == 33
    assert app.prop(app.controls["sampler"], "interactive") is True and app.prop(app.controls["sampler"], "visible")
    assert app.value(app.panel.preset) == "Custom" and app.prop(app.panel.preset, "interactive") is False
    assert 'data-iga-state="none"' in app.value(app.panel.verdict)
    assert "No recipe" in app.value(app.panel.status)


def test_auto_apply_off_keeps_the_values_and_says_custom(models):
    app = _app(models, iga_auto_apply=False)
    app.select("lightning.safetensors")
    assert app.value(app.controls["steps"]) == 20  # the app's default, untouched
    assert app.value(app.panel.preset) == "Custom"
    assert app.prop(app.controls["steps"], "interactive") is False  # the gate still guards the recipe


def test_hide_style_hides_instead_of_locking(models):
    app = _app(models, iga_advanced_gate_style="hide")
    app.select("lightning.safetensors")
    assert app.prop(app.controls["sampler"], "visible") is False
    assert app.prop(app.controls["sampler"], "interactive") is True
    app.set(app.panel.advanced, True)
    app.fire(app.panel.advanced)
    assert app.prop(app.controls["sampler"], "visible") is True


def test_hostile_recipe_text_is_escaped(app):
    app.select("hostile.safetensors")
    status = app.value(app.panel.status)
    assert HOSTILE not in status and "&lt;img src=x onerror=alert(1)&gt;" in status
    assert "<script>" not in status and "<b onmouseover" not in status
    # preset names reach a Radio, which renders text; they are never put into HTML by the panel
    assert "<img src=y onerror=alert(4)>" in app.prop(app.panel.preset, "choices")


def test_paste_back_fields(app):
    assert [c for c, _key in app.panel.infotext_fields] == [app.panel.preset, app.panel.overrides,
                                                             app.panel.notice]
    preset_fn = next(k for c, k in app.panel.infotext_fields if c is app.panel.preset)
    update = preset_fn({"IGA preset": "Fast"})
    assert update["value"] == "Fast" and "Fast" in update["choices"]
    assert preset_fn({}) is None
    overrides_fn = next(k for c, k in app.panel.infotext_fields if c is app.panel.overrides)
    assert overrides_fn({"IGA overrides": "IGA-S002,IGA-S005"}) == ["IGA-S002", "IGA-S005"]
    # a pasted preset the recipe does not have keeps the pasted values (Custom), nothing is pushed
    app.select("lightning.safetensors")
    app.set(app.panel.preset, "Turbo")
    app.fire(app.panel.preset)
    assert app.value(app.panel.preset) == "Custom" and app.value(app.controls["steps"]) == 4


def test_args_default_is_valid_script_args(models):
    with gr.Blocks():
        panel = build_panel("txt2img", make_context(LocalModels(models)))
    assert parse_script_args(panel.args.value).preset == "Native"
    assert json.loads(panel.args.value)["v"] == 1


def test_unreadable_checkpoint_shows_an_error_not_a_traceback(models):
    (models / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    ctx = make_context(LocalModels(models))
    v = view.compute(ctx, view.PanelInputs(checkpoint="broken.safetensors"), "checkpoint")
    assert not v.has_recipe and v.apply == {}
    assert '<div class="iga-warn">embedded recipe unreadable' in v.status_html


def test_only_listed_checkpoints_are_opened(models):
    local = LocalModels(models)
    assert local.names() == ["hostile.safetensors", "lightning.safetensors", "plain.safetensors"]
    for bad in ("../models/plain.safetensors", "/etc/passwd", "", None):
        with pytest.raises(UnknownCheckpoint):
            local.path(bad)


def test_context_setting_falls_back_to_defaults():
    def broken(key, default=None):
        raise RuntimeError("settings not ready")

    ctx = PanelContext(recipe_source=lambda name: None, setting=broken)
    assert ctx.get("iga_auto_apply") is True and ctx.get("iga_advanced_gate_style") == "lock"
    assert LIGHTNING["model_id"] == "test-lightning"


def test_registry_recipe_applies_to_an_unstamped_checkpoint(models, tmp_path):
    from iga_core.checkpoint.hashing import weights_sha256
    from iga_core.checkpoint.registry import Registry

    registry = Registry(tmp_path / "registry")
    recipe = {**LIGHTNING, "model_id": "from-the-registry",
              "hashes": {"weights_sha256": weights_sha256(models / "plain.safetensors")}}
    registry.add(recipe)
    ctx = make_context(LocalModels(models, registry=registry))
    v = view.compute(ctx, view.PanelInputs(checkpoint="plain.safetensors", controls={"steps": 20}), "checkpoint")
    assert v.has_recipe and v.apply == {"steps": 4}
    assert "Registry recipe" in v.status_html and "from-the-registry" in v.status_html


def test_the_live_verdict_judges_with_the_hosts_facts_and_says_what_only_generate_knows(models):
    """The WebUI's context hands the panel what the host reads from the loaded model (`host_facts`): the live
    verdict is judged with it, as Generate is, and says what it could not know; without a host (this app)
    nothing is read and nothing is said."""
    from iga_core.guard import GuardRequest, HostFacts, host_settings

    asked = []

    def facts(checkpoint, recipe, preset):
        asked.append((checkpoint, recipe.model_id, preset))
        return HostFacts(host="reforge", prediction_type="v", zero_terminal_snr=False, architecture="sdxl",
                         source="ldm_patched model_sampling", loaded=True, later=("the sampler's sigmas",))

    base = make_context(LocalModels(models))
    controls = {"sampler": "Euler", "schedule": "SGM Uniform", "steps": 4, "cfg": 1.0, "width": 1024, "height": 1024}
    inputs = view.PanelInputs(checkpoint="lightning.safetensors", mode="standard", controls=controls)
    plain = view.compute(base, inputs, "edit")
    assert plain.verdict.allowed and plain.host_facts is None and "iga-host-facts" not in plain.verdict_html

    judged = view.compute(dataclasses.replace(base, host_facts=facts), inputs, "edit")
    assert asked == [("lightning.safetensors", "test-lightning", "Native")]
    assert not judged.verdict.allowed and judged.verdict.blocked_ids == ("IGA-H003",)
    assert judged.verdict.blocking[0].remedy == host_settings.remedy("reforge", "IGA-H003", "eps")  # the host's own
    assert "Judged with the loaded model as the host reads it (ldm_patched model_sampling): prediction type v" \
        in judged.verdict_html
    assert "Checked only at Generate: the sampler&#x27;s sigmas." in judged.verdict_html

    def broken(checkpoint, recipe, preset):
        raise RuntimeError("model gone")

    failed = view.compute(dataclasses.replace(base, host_facts=broken), inputs, "edit")
    assert failed.verdict.allowed and "reading them failed: RuntimeError" in failed.verdict_html

    reads_v = HostFacts(host="a1111", prediction_type="v")
    assert reads_v.apply(GuardRequest(prediction_type="eps")).prediction_type == "eps"  # a caller's own value wins
    assert reads_v.apply(GuardRequest()).prediction_type == "v"


# --- the host the panel judges for (issue #20) -------------------------------------------------------------

#: a DMD2-style grid run with UniPC: A1111's UniPC steps on its own time grid (on it at 2 steps); Forge Classic
#: and Neo run UniPC on the schedule's sigmas, and Karras at 2 steps is off it
_UNIPC_GRID = {"iga_version": "1.0.0", "model_id": "grid-unipc", "architecture": "sd1", "prediction_type": "eps",
               "sampler": {"name": "UniPC", "mode": "ode"},
               "scheduler": {"name": "Automatic", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]},
                             "canonical_steps": 4, "subsample": {"allowed_steps": [1, 2, 4]}, "spacing": "trailing"},
               "steps": {"default": 4, "min": 1, "max": 8}, "cfg": {"default": 1.0, "min": 1.0, "max": 1.0}}


_SGM_ONLY = {**{k: v for k, v in _UNIPC_GRID.items() if k != "scheduler"}, "model_id": "sgm-only",
             "sampler": {"name": "Euler", "mode": "ode"}, "scheduler": {"name": "SGM Uniform"},
             "constraints": {"allow_schedules": ["SGM Uniform"]}}


def _host_panel(host, controls, sent_without=None, document=_UNIPC_GRID):
    from types import SimpleNamespace

    from iga_core.recipe import Recipe
    from iga_core.ui import view
    from iga_core.ui.context import PanelContext

    source = SimpleNamespace(kind="sidecar", recipe=Recipe.from_dict(document), document=document,
                             problems=(), hash_status="verified")
    ctx = PanelContext(recipe_source=lambda name: source, dialect="forge", host=host,
                       sent_without_control=lambda: dict(sent_without or {}))
    return view.compute(ctx, view.PanelInputs(checkpoint="x", preset="Custom", controls=controls), "edit")


def test_the_live_verdict_judges_as_the_host_runs_the_sampler_or_says_it_cannot():
    controls = {"sampler": "UniPC", "schedule": "Karras", "steps": 2, "cfg": 1.0}
    unknown = _host_panel(None, controls)  # the standalone app: no host
    assert unknown.verdict.allowed and "Forge Classic and Forge Neo run UniPC otherwise" in unknown.status_html
    for host in ("forge-classic", "forge-neo"):
        known = _host_panel(host, controls)
        assert not known.verdict.allowed and known.verdict.blocked_ids == ("IGA-H004",), host
        assert "run UniPC otherwise" not in known.status_html
    assert _host_panel("reforge", controls).verdict.allowed  # reForge's UniPC is A1111's


def test_a_control_the_page_lacks_is_judged_at_what_the_host_sends():
    """Forge Classic's page without its Schedule type dropdown sends Automatic: the panel judges that and a
    remedy needing another schedule starts with the setting that shows the control."""
    controls = {"sampler": "Euler", "steps": 4, "cfg": 1.0}
    view_ = _host_panel("forge-classic", controls, {"schedule": "Automatic"}, _SGM_ONLY)
    (finding,) = [f for f in view_.verdict.findings if f.rule_id == "IGA-H002"]
    assert finding.remedy.startswith('turn on Settings > UI Alternatives > "Display the Scheduler Dropdown"')
    assert finding.remedy.endswith("then use SGM Uniform")
    with_dropdown = _host_panel("forge-classic", {**controls, "schedule": "Automatic"}, {"schedule": "Automatic"},
                                _SGM_ONLY)
    (plain,) = [f for f in with_dropdown.verdict.findings if f.rule_id == "IGA-H002"]
    assert plain.remedy == "use SGM Uniform"
