"""The "IGA consistency report" Script-dropdown entry through the host double (A1111 and Forge): runs the
protocol on the loaded checkpoint, writes the report into the outputs folder, shows its grid and headline,
stops on Interrupt, and refuses a checkpoint without recipe with a message."""

from __future__ import annotations

import json

import pytest

from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING, add_checkpoint, recipe

pytestmark = pytest.mark.host
TITLE = "IGA consistency report"


def _files(double):
    add_checkpoint(double.models, "lightning.safetensors", recipe(LIGHTNING, resolution={"max": {"width": 1024, "height": 1024}}))
    add_checkpoint(double.models, "plain.safetensors", None, seed=2)


started = started_host(_files, select="lightning.safetensors")


@pytest.fixture
def webui(started):
    started.reset("lightning.safetensors")
    return started


def reports(webui):
    return sorted(webui.outputs.glob("iga-consistency/*/report.json"))


def test_the_report_runs_on_the_loaded_checkpoint_and_is_written_and_shown(webui):
    images, _js, info_html, html_log = webui.ui_selectable(TITLE, ["steps", "4, 8, 30, 50", 2], seed=7,
                                                          width=64, height=64)
    assert "consistency report written to" in html_log
    (report,) = reports(webui)
    data = json.loads(report.read_text())
    (run,) = data["runs"]
    assert run["config"]["axis"] == "steps" and run["config"]["seeds"] == [7, 8]
    assert data["checkpoint"] == "lightning.safetensors" and data["recipe_source"] == "embedded"
    inside = [p["value"] for p in run["split"] if p["inside"]]
    assert inside == [4, 8]  # 30 and 50 are outside lightning's 4-8
    assert (report.parent / "report.md").exists()
    executed = run["extras"]["executed"]  # the host's executed grid per value, from its own sampler code
    assert set(executed) == {"4", "8", "30", "50"} and executed["4"]["kind"] in ("sigmas", "timesteps")
    assert "ci95" in run["headline"], run["headline"]
    assert set(run["seed_repeatability"]["saturation"]) == {"inside", "outside"}
    assert len(images) == 1 and images[0].size[0] > 64  # the report's image grid
    assert "IGA consistency report" in info_html
    # the measurements were generated but not saved as samples, nor logged as user decisions
    assert not (webui.outputs / "txt2img-images").exists()
    assert not (webui.root / "iga-data" / "decisions.jsonl").exists()


def test_interrupt_stops_the_report_without_writing_it(webui, monkeypatch):
    from iga_webui import consistency

    real = consistency.make_generate

    def interrupting(p, *args):
        inner = real(p, *args)

        def generate(params):
            image = inner(params)
            webui.m.shared.state.interrupt()  # the user pressed Interrupt during the first image
            return image

        return generate

    monkeypatch.setattr(consistency, "make_generate", interrupting)
    images, *_rest, html_log = webui.ui_selectable(TITLE, ["steps", "4, 30", 2], width=64, height=64)
    assert images == [] and "consistency report interrupted" in html_log
    assert reports(webui) == []


def test_a_checkpoint_without_recipe_gets_a_clear_refusal(webui):
    webui.select("plain.safetensors")
    images, *_rest, html_log = webui.ui_selectable(TITLE, ["sampler", "", 2], width=64, height=64)
    assert images == []
    assert "ReportUnavailable" in html_log and "has no IGA recipe" in html_log


def test_default_values_straddle_the_recipe(webui):  # the glue module imports the host's modules
    from iga_core.guard import GuardPolicy, GuardRequest, evaluate
    from iga_core.recipe import Recipe
    from iga_webui.consistency import default_values

    lightning = Recipe.from_dict(LIGHTNING)
    native = {"sampler": "Euler", "schedule": "Karras", "steps": 4, "cfg": 1.5}
    for axis in ("steps", "sampler", "cfg", "schedule"):
        base = {k: v for k, v in native.items() if k != axis}
        values = default_values(lightning, axis, base)
        judged = [evaluate(lightning, GuardRequest(**{**base, axis: v}), GuardPolicy()).findings for v in values]
        inside = [not any(f.severity in ("hard", "soft") for f in found) for found in judged]
        # enough values on each side for the headline (two per side) wherever the recipe leaves room for them:
        # this recipe forbids one sampler only, and pins no schedule
        assert sum(inside) >= 2, axis
        if axis == "sampler":
            assert [v for v, x in zip(values, inside, strict=True) if not x] == ["DPM++ 2M"]
        elif axis != "schedule":
            assert sum(not x for x in inside) >= 2, axis
