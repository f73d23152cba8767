"""Several named pipelines in one recipe (schema 1.1.0, issue #18 item 5): validation, the one judge (a
request that fits any pipeline passes and the verdict and audit record name it; one that fits none is
refused), presets grouped per pipeline, the panel, composition, and the same answers through `iga check`,
`POST /iga/v1/check` and Generate in the host double."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from iga_core.compose import Addon, compose
from iga_core.guard import GuardPolicy, GuardRequest, judge
from iga_core.presets import preset_groups, preset_names, resolve_preset
from iga_core.recipe import Recipe, migrate, validate_recipe
from iga_core.ui import render, view
from iga_core.ui.context import PanelContext
from tests.host_double.fixture import host  # noqa: F401 -- the fixture, parametrised over both hosts

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads((ROOT / "metadata_examples" / "two-pipeline-sdxl.iga.json").read_text(encoding="utf-8"))

#: a small sd1 recipe the host double can run: the full model, and a fast pipeline (Euler a, 4-8 steps, CFG 1-2)
#: (not Euler: the API's default sampler, which the glue reads as "not sent" and fills from the recipe)
TWO = {
    "iga_version": "1.1.0", "model_id": "test-two-pipelines", "architecture": "sd1", "prediction_type": "eps",
    "sampler": {"name": "DPM++ 2M"}, "scheduler": {"name": "Karras"},
    "steps": {"default": 25, "min": 20, "max": 40}, "cfg": {"default": 7.0, "min": 5.0, "max": 9.0},
    "resolution": {"preferred": ["640x640"], "max": "1024x1024"},
    "constraints": {"allow_samplers": ["DPM++ 2M", "Euler"]},
    "presets": [{"name": "Quality", "steps": 35, "cfg": 7.5}],
    "pipelines": [{
        "name": "Fast", "description": "the fused few-step distillation",
        "sampler": {"name": "Euler a"}, "scheduler": {"name": "SGM Uniform"},
        "steps": {"default": 4, "min": 4, "max": 8}, "cfg": {"default": 1.0, "min": 1.0, "max": 2.0},
        "constraints": {"allow_samplers": ["Euler a"]},
        "presets": [{"name": "Fast 8", "steps": 8, "cfg": 1.5}],
    }],
}
FULL_REQUEST = {"sampler": "DPM++ 2M", "schedule": "Karras", "steps": 25, "cfg": 7.0}
FAST_REQUEST = {"sampler": "Euler a", "schedule": "SGM Uniform", "steps": 6, "cfg": 1.5}
NEITHER_REQUEST = {"sampler": "LCM", "steps": 30, "cfg": 7.0}


@pytest.fixture(scope="module")
def two() -> Recipe:
    return Recipe.from_dict(TWO)


# --- the schema ------------------------------------------------------------------------------------------


def test_the_examples_are_valid_and_round_trip():
    assert validate_recipe(TWO) == [] and validate_recipe(EXAMPLE) == []
    assert Recipe.from_dict(EXAMPLE).to_dict() == EXAMPLE


def test_pipelines_need_schema_1_1_and_migrate_brings_them_there():
    old = {**TWO, "iga_version": "1.0.0"}
    problems = validate_recipe(old)
    assert [p.pointer for p in problems] == ["/pipelines"] and "needs schema 1.1.0" in problems[0].message
    out, changes = migrate(old)
    assert out["iga_version"] == "1.2.0" and validate_recipe(out) == [] and changes
    out, _ = migrate(old, "1.1.0")
    assert out["iga_version"] == "1.1.0" and validate_recipe(out) == []


@pytest.mark.parametrize(("change", "pointer", "fragment"), [
    (lambda d: d["pipelines"][0].update(name="default"), "/pipelines/0/name", "reserved"),
    (lambda d: d["pipelines"][0].update(name="Quality"), "/pipelines/0/name", "already used at /presets/0/name"),
    (lambda d: d["pipelines"][0]["presets"][0].update(name="quality"), "/pipelines/0/presets/0/name", "already used"),
    (lambda d: d["pipelines"][0]["presets"][0].update(cfg=3.0), "/pipelines/0/presets/0/cfg", "outside the recipe's CFG"),
    (lambda d: d["pipelines"][0]["steps"].update(default=12), "/pipelines/0/steps/default", "above max 8"),
    (lambda d: d["pipelines"][0].update(sampler={"name": "Eulr"}), "/pipelines/0/sampler/name", "unknown sampler"),
    # its own presets are checked against the ranges it inherits
    (lambda d: d["pipelines"][0].pop("steps"), "/pipelines/0/presets/0/steps", "outside the recipe's steps 20..40"),
    # a field it inherits that clashes with one it sets: said at the pipeline, "with the recipe's ..."
    (lambda d: d["pipelines"][0].update(scheduler={"name": "SGM Uniform", "subsample": [4, 8]}, steps=None,
                                        presets=None), "/pipelines/0", "with the recipe's steps"),
    (lambda d: d["pipelines"][0].update(x=1), "/pipelines/0/x", "unknown key"),
])  # fmt: skip
def test_pipeline_problems_point_into_the_pipeline(change, pointer, fragment):
    d = copy.deepcopy(TWO)
    change(d)
    d["pipelines"][0] = {k: v for k, v in d["pipelines"][0].items() if v is not None}
    problems = validate_recipe(d)
    assert any(p.pointer == pointer and fragment in p.message for p in problems), [str(p) for p in problems]


def test_views_are_the_recipe_as_each_pipeline_runs_it(two):
    (n0, full), (n1, fast) = two.pipeline_views
    assert (n0, n1) == ("default", "Fast")
    assert full.sampler.name == "DPM++ 2M" and [p.name for p in full.presets] == ["Quality"]
    assert fast.sampler.name == "Euler a" and fast.steps.max == 8 and [p.name for p in fast.presets] == ["Fast 8"]
    assert fast.resolution == two.resolution and fast.pipelines is None and full.pipelines is None
    assert two.pipeline_of("Fast 8") == "Fast" and two.pipeline_of("Native") == "default"
    assert two.pipeline_of("nope") is None


# --- the judge --------------------------------------------------------------------------------------------


def test_a_request_of_either_pipeline_passes_and_is_named(two):
    full = judge(two, GuardRequest(**FULL_REQUEST))
    assert full.allowed and full.findings == () and full.pipeline == "default"
    fast = judge(two, GuardRequest(**FAST_REQUEST))
    assert fast.allowed and not fast.warnings and fast.pipeline == "Fast"
    assert fast.pipelines == ("default", "Fast") and "(pipeline Fast)" in fast.summary()
    assert fast.to_dict()["pipeline"] == "Fast"


def test_a_request_that_fits_neither_is_refused_with_the_nearest(two):
    v = judge(two, GuardRequest(**NEITHER_REQUEST))
    assert not v.allowed and "IGA-H001" in v.blocked_ids
    assert "fits none of default, Fast" in v.summary()
    # strict mode: Fast's values at 20 steps warn in both pipelines, so they are refused
    strict = judge(two, GuardRequest(**{**FAST_REQUEST, "steps": 20}), GuardPolicy(mode="strict"))
    assert not strict.allowed


def test_a_one_pipeline_verdict_is_unchanged(two):
    one = Recipe.from_dict({k: v for k, v in TWO.items() if k != "pipelines"})
    v = judge(one, GuardRequest(**FULL_REQUEST))
    assert v.pipeline is None and "pipeline" not in v.to_dict() and "pipeline" not in v.summary()
    # Fast's request is only warned about where there is no Fast pipeline
    assert judge(one, GuardRequest(**FAST_REQUEST)).blocked_ids == ("IGA-H001",)


def test_presets_group_per_pipeline_and_resolve_in_their_own(two):
    assert preset_groups(two) == [("default", ["Native", "Quality"]), ("Fast", ["Fast", "Fast 8"])]
    assert preset_names(two) == ["Native", "Quality", "Fast", "Fast 8", "Custom"]
    fast = resolve_preset(two, "Fast")
    assert (fast["sampler"], fast["schedule"], fast["steps"], fast["cfg"], fast["pipeline"]) == (
        "Euler a", "SGM Uniform", 4, 1.0, "Fast")
    eight = resolve_preset(two, "fast 8")
    assert (eight["preset"], eight["steps"], eight["cfg"], eight["width"]) == ("Fast 8", 8, 1.5, 640)
    assert resolve_preset(two, "Native")["pipeline"] == "default"


def test_the_audit_record_names_the_pipeline(two):
    from iga_core.audit import build_record, validate_record

    verdict = judge(two, GuardRequest(**FAST_REQUEST))
    record = build_record(params={**FAST_REQUEST, "seed": 1}, recipe=two, verdict=verdict, preset="Fast 8",
                          policy=GuardPolicy(), host={"name": "a1111"}, checkpoint={"name": "two.safetensors"})
    assert record["guard"]["pipeline"] == "Fast" and validate_record(record) == record


# --- the panel ------------------------------------------------------------------------------------------


def _panel(preset: str, controls: dict, trigger: str = "preset") -> view.PanelView:
    source = SimpleNamespace(kind="sidecar", recipe=Recipe.from_dict(TWO), document=TWO, problems=(),
                             hash_status="verified")
    ctx = PanelContext(recipe_source=lambda name: source)
    return view.compute(ctx, view.PanelInputs(checkpoint="two", preset=preset, controls=controls), trigger)


def test_the_panel_shows_the_pipelines_as_preset_groups_and_applies_them():
    controls = {"sampler": "DPM++ 2M", "schedule": "Karras", "steps": 25, "cfg": 7.0, "width": 640, "height": 640}
    v = _panel("Fast", controls)
    assert v.preset_choices == ("Native", "Quality", "Fast", "Fast 8", "Custom") and v.preset == "Fast"
    assert v.apply["sampler"] == "Euler a" and v.apply["steps"] == 4 and v.apply["cfg"] == 1.0
    assert v.verdict.allowed and v.verdict.pipeline == "Fast" and "pipeline Fast" in v.verdict_html
    assert "iga-pipelines" in v.status_html and "presets: Fast, Fast 8" in v.status_html
    assert "presets: Native, Quality" in v.status_html
    one = render.status_html(SimpleNamespace(kind="sidecar", recipe=Recipe.from_dict(
        {k: x for k, x in TWO.items() if k != "pipelines"}), document=None, problems=(), hash_status=""))
    assert "iga-pipelines" not in one


# --- composition ------------------------------------------------------------------------------------------


def test_a_narrowing_lora_narrows_every_pipeline(two):
    style = Recipe.from_dict({"iga_version": "1.0.0", "model_id": "style", "prediction_type": "eps",
                              "sampler": {"name": "Euler a"}, "scheduler": {"name": "Automatic"},
                              "steps": {"default": 6}, "cfg": {"default": 1.5, "min": 1.0, "max": 8.0},
                              "x-compose": "narrow"})
    composed = compose(two, [Addon("style", style, 1.0)]).recipe
    assert [n for n, _ in composed.pipeline_views] == ["default", "Fast"]
    assert composed.cfg.max == 8.0 and composed.pipeline_view("Fast").cfg.max == 2.0
    assert validate_recipe(composed.to_dict()) == []
    assert judge(composed, GuardRequest(**FAST_REQUEST)).pipeline == "Fast"
    assert judge(composed, GuardRequest(**{**FULL_REQUEST, "cfg": 8.5})).warnings  # narrowed to 8


def test_a_replacing_lora_sets_the_sampling_alone(two):
    lcm = Recipe.from_dict({"iga_version": "1.0.0", "model_id": "lcm", "prediction_type": "eps",
                            "sampler": {"name": "LCM"}, "scheduler": {"name": "Automatic"},
                            "steps": {"default": 4, "min": 2, "max": 8}, "cfg": {"default": 1.0, "min": 1.0, "max": 2.0},
                            "x-compose": "replace"})
    composed = compose(two, [Addon("lcm", lcm, 1.0)]).recipe
    assert composed.pipelines is None and composed.sampler.name == "LCM"


# --- the same answers through the CLI, the API and the host double ----------------------------------------


def _cli(capsys, *argv) -> tuple[int, str]:
    from iga_core.cli import main

    code = main(["check", *map(str, argv)])
    return code, capsys.readouterr().out


def test_cli_check(capsys, tmp_path):
    path = tmp_path / "two.iga.json"
    path.write_text(json.dumps(TWO), encoding="utf-8")
    code, out = _cli(capsys, path, "--sampler", "Euler a", "--scheduler", "SGM Uniform", "--steps", "6", "--cfg", "1.5")
    assert code == 0 and "pipeline Fast" in out
    code, out = _cli(capsys, path, "--sampler", "DPM++ 2M", "--scheduler", "Karras", "--steps", "25", "--cfg", "7",
                     "--json")
    assert code == 0 and json.loads(out)["verdict"]["pipeline"] == "default"
    code, out = _cli(capsys, path, "--sampler", "LCM", "--steps", "30", "--cfg", "7")
    assert code == 3 and "fits none of default, Fast" in out
    code, out = _cli(capsys, path, "--preset", "Fast 8", "--json")
    body = json.loads(out)
    assert code == 0 and body["request"]["steps"] == 8 and body["verdict"]["pipeline"] == "Fast"


def test_api_check():
    from iga_core import http_api

    for request, pipeline, ok in ((FULL_REQUEST, "default", True), (FAST_REQUEST, "Fast", True),
                                  (NEITHER_REQUEST, "default", False)):
        status, body = http_api.check({"recipe": TWO, "request": request}, lambda name: None)
        assert status == 200 and body["ok"] is ok and body["verdict"]["pipeline"] == pipeline, body
    status, body = http_api.check({"recipe": TWO, "preset": "Fast"}, lambda name: None)
    assert status == 200 and body["ok"] and body["verdict"]["pipeline"] == "Fast"


@pytest.mark.host
def test_generate_through_the_host_double(host):  # noqa: F811 -- the fixture, parametrised over both hosts
    from iga_core.audit import read_image_metadata
    from tests.webui_recipes import add_checkpoint

    add_checkpoint(host.models, "two.safetensors", TWO, seed=5)
    host.start(select="two.safetensors")

    def txt2img(**body):
        return host.api_txt2img({"prompt": "a cat", "save_images": True, **body})

    def records():
        return [read_image_metadata(f) for f in host.saved_files() if f.suffix == ".png"]

    status, _ = txt2img(sampler_name="Euler a", scheduler="SGM Uniform", steps=6, cfg_scale=1.5)
    assert status == 200 and records()[-1]["guard"]["pipeline"] == "Fast"
    status, _ = txt2img(sampler_name="DPM++ 2M", scheduler="Karras", steps=25, cfg_scale=7.0)
    assert status == 200 and records()[-1]["guard"]["pipeline"] == "default"
    status, _ = txt2img(alwayson_scripts={"IGA": {"args": [{"preset": "Fast 8"}]}})
    assert status == 200
    last = records()[-1]
    assert last["guard"]["pipeline"] == "Fast" and (last["params"]["steps"], last["params"]["cfg"]) == (8, 1.5)
    before = len(records())
    status, body = txt2img(sampler_name="LCM", steps=30, cfg_scale=7.0)
    assert status == 422 and len(records()) == before
    assert "fits none of default, Fast" in json.dumps(body)


@pytest.mark.host
def test_the_check_route_through_the_webui_api(host):  # noqa: F811
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from tests.webui_recipes import add_checkpoint

    add_checkpoint(host.models, "two.safetensors", TWO, seed=5)
    host.refresh_checkpoints()
    from iga_webui import api

    app = FastAPI()
    api.on_app_started(None, app)
    client = TestClient(app)
    for request, pipeline, ok in ((FAST_REQUEST, "Fast", True), (NEITHER_REQUEST, "default", False)):
        answer = client.post("/iga/v1/check", json={"checkpoint": "two", "request": request})
        body = answer.json()
        assert answer.status_code == 200 and body["ok"] is ok and body["verdict"]["pipeline"] == pipeline, body
