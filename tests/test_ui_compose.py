"""The panel's follow-ups (issue #9) in the standalone app, under gradio 4.40 and 3.41.2: LoRA tags in the
prompt compose LoRA recipes into the panel (sources, IGA-M findings, live verdict), the last decisions of
the log, and the paste-back notice."""

from __future__ import annotations

import dataclasses

import gradio as gr
import pytest

from iga_core.decision_log import DecisionLog
from iga_core.ui import view
from iga_core.ui.app import build_app, check, make_context
from iga_core.ui.local_models import LocalLoras, LocalModels
from iga_core.ui.panel import Panel, build_panel
from tests.browser.ui_events import Events
from tests.browser.ui_models import HOSTILE, make_loras, make_models

pytestmark = pytest.mark.ui
LCM = "<lora:lcm-lora-demo:1>"


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "registry"))
    monkeypatch.setenv("IGA_DATA_DIR", str(tmp_path / "data"))
    return make_models(tmp_path / "models"), make_loras(tmp_path / "Lora")


def _app(models, log=None) -> Events:
    demo = build_app(models)  # finds the LoRA folder beside the models folder (models/../Lora)
    by_id = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    controls = {n: by_id[f"iga-app-{n}"] for n in ("sampler", "schedule", "steps", "cfg", "width", "height")}
    page = Events(demo, panel=Panel.from_components("txt2img", make_context(LocalModels(models)), by_id),
                  controls=controls, checkpoint=by_id["iga-app-checkpoint"])
    page.prompt = by_id["iga-app-prompt"]
    return page


def _type(page: Events, prompt: str) -> None:
    page.set(page.prompt, prompt)
    page.fire(page.prompt)


def _sampling(page: Events) -> list:
    return [page.value(page.controls[n]) for n in ("sampler", "schedule", "steps", "cfg")]


def test_lcm_lora_tag_composes_and_applies_its_recipe(folders):
    page = _app(folders[0])
    page.select("lightning.safetensors")
    assert _sampling(page) == ["Euler", "SGM Uniform", 4, 1.0]
    _type(page, f"a lighthouse {LCM}")
    assert _sampling(page) == ["LCM", "Automatic", 4, 1.0]  # the LoRA replaces the sampling recipe
    assert page.value(page.panel.preset) == "Native" and "LCM 8" in page.prop(page.panel.preset, "choices")
    status = page.value(page.panel.status)
    assert "Composed with LoRA recipes" in status and "lcm-lora-demo" in status and "replaces the sampling" in status
    assert 'data-iga-state="ok"' in page.value(page.panel.verdict)
    # the live verdict judges the composed recipe: the checkpoint's own sampler is now outside it
    page.set(page.panel.advanced, True)
    page.fire(page.panel.advanced)
    page.set(page.controls["sampler"], "Euler")
    page.fire(page.controls["sampler"])
    assert 'data-iga-state="blocked"' in page.value(page.panel.verdict)
    # "Check" (what Generate would do) composes the same way
    ctx = make_context(LocalModels(folders[0]), LocalLoras(folders[1]))
    values = {"sampler": "Euler", "steps": 4, "cfg": 1.0}
    assert "(IGA-H001)" in check(ctx, "lightning.safetensors", "{}", values, f"x {LCM}")
    assert "(IGA-H001)" not in check(ctx, "lightning.safetensors", "{}", values, "x")


def test_removing_the_tag_restores_the_checkpoint_recipe(folders):
    page = _app(folders[0])
    page.select("lightning.safetensors")
    _type(page, f"a lighthouse {LCM}")
    _type(page, "a lighthouse")
    assert _sampling(page) == ["Euler", "SGM Uniform", 4, 1.0]
    assert "Composed" not in page.value(page.panel.status)


def test_typing_without_a_recipe_change_pushes_nothing(folders):
    page = _app(folders[0])
    page.select("lightning.safetensors")
    page.set(page.panel.advanced, True)
    page.fire(page.panel.advanced)
    page.set(page.controls["steps"], 6)
    page.fire(page.controls["steps"])
    page.fire(page.panel.preset)
    _type(page, "a lighthouse <lora:plain-lora:1> <lora:missing:1>")  # LoRAs without recipes take no part
    assert page.value(page.controls["steps"]) == 6 and page.value(page.panel.preset) == "Custom"
    assert "Composed" not in page.value(page.panel.status)


def test_style_lora_narrows_and_weight_zero_is_inactive(folders):
    ctx = make_context(LocalModels(folders[0]), LocalLoras(folders[1]))
    inputs = view.PanelInputs(checkpoint="lightning.safetensors", controls={"steps": 4, "cfg": 1.0},
                              prompt="<lora:lcm-lora-demo:0> <lora:ink-style-demo:0.6>")
    v = view.compute(ctx, inputs, "prompt")
    roles = {p.name: p.role for p in v.composition.parts}
    assert roles == {"checkpoint": "base", "lcm-lora-demo": "inactive", "ink-style-demo": "narrow"}
    assert "0.6" in v.status_html and "weight 0: inactive" in v.status_html
    # LIGHTNING's CFG 1-2 and the style's 3-6 do not overlap: a composition finding in the verdict
    assert any(f.rule_id.startswith("IGA-M") for f in v.verdict.findings)
    assert any(f"<b>{f.rule_id}</b>" in v.verdict_html for f in v.verdict.findings if f.rule_id.startswith("IGA-M"))


def test_conflicting_loras_are_a_finding_and_hostile_names_are_escaped(folders):
    ctx = make_context(LocalModels(folders[0]), LocalLoras(folders[1]))
    alone = view.compute(ctx, view.PanelInputs(checkpoint="plain.safetensors", prompt=LCM), "prompt")
    # as at Generate (iga_webui.loras.compose_for): a lone LoRA on a checkpoint without recipe composes nothing
    assert not alone.has_recipe and alone.composition is None
    inputs = view.PanelInputs(checkpoint="lightning.safetensors", controls={"sampler": "LCM", "steps": 4},
                              prompt=f"{LCM} <lora:hostile:0.5>")
    v = view.compute(ctx, inputs, "prompt")
    assert "IGA-M003" in v.verdict.blocked_ids and 'data-iga-state="blocked"' in v.verdict_html
    assert HOSTILE not in v.status_html and HOSTILE not in v.verdict_html
    assert "&lt;img src=x onerror=alert(1)&gt;" in v.status_html


def test_bad_tags_and_failing_lookups_become_notes(folders):
    def broken(name):
        raise RuntimeError("host not ready")

    ctx = dataclasses.replace(make_context(LocalModels(folders[0])), lora_source=broken)
    v = view.compute(ctx, view.PanelInputs(checkpoint="lightning.safetensors", prompt=f"x {LCM}"), "prompt")
    assert v.composition is None and "could not be looked up (RuntimeError)" in v.status_html
    v = view.compute(ctx, view.PanelInputs(checkpoint="lightning.safetensors", prompt="<lora:x:abc>"), "prompt")
    assert "not a number" in v.status_html and v.has_recipe


def test_last_decisions_are_shown_escaped_and_refreshed(folders, tmp_path):
    log = DecisionLog(tmp_path / "decisions.jsonl")
    ctx = make_context(LocalModels(folders[0]), log_path=log.path)
    with gr.Blocks():
        panel = build_panel("txt2img", ctx)
    assert panel.decisions.visible is not False
    demo = build_app(folders[0], ctx=ctx)
    by_id = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    page = Events(demo)
    refresh = by_id["iga-txt2img-decisions-refresh"]
    page.fire(refresh, "click")
    assert "No blocks, warnings or overrides logged yet" in page.value(by_id["iga-txt2img-decisions"])
    for i, rule in enumerate(("IGA-H001", "IGA-S002")):
        log.append({"kind": "block" if i == 0 else "warn", "time": f"2026-11-26T10:0{i}:00Z", "mode": "standard",
                    "outcome": "blocked" if i == 0 else "warned", "checkpoint": {"name": HOSTILE},
                    "findings": [{"rule_id": rule}]})
    page.fire(by_id["iga-app-check"], "click")
    assert "IGA-H001" not in page.value(by_id["iga-txt2img-decisions"])  # the log is not read per event
    page.fire(by_id["iga-app-check-result"])  # what follows in a browser: the result changed, like a generation
    html = page.value(by_id["iga-txt2img-decisions"])
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert html.index("IGA-S002") < html.index("IGA-H001")  # newest first
    assert 'class="iga-decision-block"' in html


def test_without_a_decision_log_the_section_is_hidden(folders):
    ctx = dataclasses.replace(make_context(LocalModels(folders[0])), recent_decisions=None)
    with gr.Blocks() as demo:
        panel = build_panel("txt2img", ctx)
        panel.wire({})
    assert panel.decisions.visible is False
    ids = {panel.decisions._id, panel.decisions_refresh._id}
    outputs = {i for dep, _fn in Events(demo).deps for i in dep["outputs"]}
    assert Events(demo).deps and not ids & outputs  # the panel's events never touch the hidden section


def test_paste_notice_is_escaped_and_cleared_by_a_checkpoint_change(folders):
    page = _app(folders[0])
    notice_fn = next(k for c, k in page.panel.infotext_fields if c is page.panel.notice)
    html = notice_fn({"IGA notice": f"made with {HOSTILE}"})
    assert HOSTILE not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and 'class="iga-notice"' in html
    assert notice_fn({"Steps": "20"}) == ""  # a paste without a notice clears the last one
    page.set(page.panel.notice, html)
    page.select("plain.safetensors")
    assert page.value(page.panel.notice) == ""
