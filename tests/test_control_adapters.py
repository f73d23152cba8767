"""Control adapters (schema 1.1.0 `control`, issue #18 item 6): recommended / allowed ControlNet, T2I-Adapter
and IP-Adapter with weight and guidance hints; soft findings (IGA-S007, IGA-S008) where the host exposes its
units: the ControlNet script's slice of `p.script_args` in the WebUI (host double: controlnet_ext.py), JSON
in `iga check --control` and `POST /iga/v1/check`."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from iga_core.guard import ControlUnit, GuardPolicy, GuardRequest, GuardRequestInvalid, judge
from iga_core.guard.control import kind_of
from iga_core.recipe import Recipe, validate_recipe
from tests.host_double.fixture import host  # noqa: F401 -- the fixture, parametrised over both hosts

ROOT = Path(__file__).resolve().parents[1]
DOC = json.loads((ROOT / "metadata_examples" / "sd15-control.iga.json").read_text(encoding="utf-8"))
RECIPE = Recipe.from_dict(DOC)
NATIVE = {"sampler": "DPM++ 2M", "schedule": "Karras", "steps": 25, "cfg": 7.5}
CANNY = {"model": "control_v11p_sd15_canny [d14c016b]", "preprocessor": "canny", "weight": 1.0}
SDXL_CANNY = {"model": "diffusers_xl_canny_full [2b69fca4]", "preprocessor": "canny", "weight": 1.0}


def _ids(units, recipe=RECIPE, mode="standard"):
    v = judge(recipe, GuardRequest(**NATIVE, control=units), GuardPolicy(mode=mode))
    return v, [f.rule_id for f in v.findings if f.severity != "info"]


@pytest.mark.parametrize(("model", "preprocessor", "kind"), [
    ("control_v11p_sd15_canny [d14c016b]", "canny", "controlnet"),
    ("ip-adapter_sd15 [6a3f6166]", "ip-adapter_clip_sd15", "ip_adapter"),
    ("None", "InsightFace+CLIP-H (IPAdapter)", "ip_adapter"),
    ("t2iadapter_canny_sd15v2 [cecc9ec4]", "canny", "t2i_adapter"),
    ("t2i-adapter_diffusers_xl_lineart [bae0efef]", "lineart", "t2i_adapter"),
])  # fmt: skip
def test_the_kind_comes_from_the_names(model, preprocessor, kind):
    assert kind_of(model, preprocessor) == kind
    unit = ControlUnit.from_names(model, preprocessor)
    assert unit.kind == kind and "[" not in (unit.model or "")  # the host's " [hash]" is cut off


def test_the_example_validates_and_needs_1_1():
    assert validate_recipe(DOC) == []
    assert [p.pointer for p in validate_recipe({**DOC, "iga_version": "1.0.0"})] == ["/control"]
    bad = json.loads(json.dumps(DOC))
    bad["control"]["adapters"][0]["weight"] = {"default": 2.0, "min": 0.4, "max": 1.5}
    assert [p.pointer for p in validate_recipe(bad)] == ["/control/adapters/0/weight/default"]
    bad["control"]["adapters"][0] = {"kind": "lora"}
    assert validate_recipe(bad)[0].pointer == "/control/adapters/0/kind"


def test_listed_adapters_inside_their_hints_pass_quietly():
    ip = {"model": "ip-adapter_sd15 [6a3f6166]", "preprocessor": "ip-adapter_clip_sd15", "weight": 0.7}
    v, ids = _ids([CANNY, ip])
    assert v.allowed and ids == []


def test_an_unlisted_adapter_is_a_soft_finding_that_strict_mode_blocks():
    v, ids = _ids([SDXL_CANNY])
    assert v.allowed and ids == ["IGA-S007"]
    finding = v.warnings[0]
    assert "control unit 1, ControlNet (diffusers_xl_canny_full, canny)" in finding.reason
    assert finding.fix == {"control": []}  # the recipe-conforming units: without it
    assert not _ids([SDXL_CANNY], mode="strict")[0].allowed
    # a recipe that allows unlisted adapters says nothing about them
    allow = Recipe.from_dict({**DOC, "control": {**DOC["control"], "unlisted": "allow"}})
    assert _ids([SDXL_CANNY], allow)[1] == []


def test_weight_and_guidance_outside_the_hint():
    pose = {"model": "control_v11p_sd15_openpose [cab727d4]", "preprocessor": "openpose_full", "weight": 1.0,
            "guidance_end": 0.3}
    v, ids = _ids([{**CANNY, "weight": 1.9}, pose])
    assert ids == ["IGA-S008", "IGA-S008"]
    reasons = " | ".join(f.reason for f in v.warnings)
    assert "weight 1.9 is outside this model's hint 0.4–1.5" in reasons and "guidance end 0.3" in reasons
    fixed = GuardRequest(**NATIVE, control=v.warnings[0].fix["control"])
    assert judge(RECIPE, fixed).findings == ()  # one finding's fix clears them all


def test_unknown_units_and_recipes_without_control_check_nothing():
    assert _ids(None)[1] == [] and _ids([])[1] == []
    plain = Recipe.from_dict({k: v for k, v in DOC.items() if k != "control"} | {"iga_version": "1.0.0"})
    assert _ids([SDXL_CANNY, {**CANNY, "weight": 1.9}], plain)[1] == []


@pytest.mark.parametrize("bad", [
    "canny", [{"model": 3}], [{"model": "x", "weight": 9}], [{"model": "x", "strength": 1}], [{"kind": "lora"}],
    [{"model": "x"}] * 17,
])  # fmt: skip
def test_bad_units_are_typed_errors(bad):
    with pytest.raises(GuardRequestInvalid):
        GuardRequest(control=bad)


def test_request_round_trip():
    request = GuardRequest.from_dict({**NATIVE, "control": [CANNY]})
    assert request.to_dict()["control"] == [{"kind": "controlnet", "model": "control_v11p_sd15_canny",
                                             "preprocessor": "canny", "weight": 1.0}]
    assert GuardRequest.from_dict(request.to_dict()) == request


# --- CLI and API ------------------------------------------------------------------------------------------


def test_cli_check_takes_control_units(capsys, tmp_path):
    from iga_core.cli import main

    path = tmp_path / "control.iga.json"
    path.write_text(json.dumps(DOC), encoding="utf-8")
    base = ["check", str(path), "--sampler", "DPM++ 2M", "--scheduler", "Karras", "--steps", "25", "--cfg", "7.5"]
    assert main([*base, "--control", "control_v11p_sd15_canny,preprocessor=canny,weight=1.0"]) == 0
    assert "inside the recipe" in capsys.readouterr().out
    assert main([*base, "--control", "control_v11p_sd15_canny,preprocessor=canny,weight=1.9", "--mode", "strict"]) == 3
    assert "IGA-S008" in capsys.readouterr().out
    assert main([*base, "--control", "diffusers_xl_canny_full,weight=1", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert [f["rule_id"] for f in body["verdict"]["findings"]] == ["IGA-S007"]
    with pytest.raises(SystemExit):
        main([*base, "--control", "x,strength=2"])


def test_api_check_takes_control_units():
    from iga_core import http_api

    status, body = http_api.check({"recipe": DOC, "request": {**NATIVE, "control": [SDXL_CANNY]}}, lambda n: None)
    assert status == 200 and body["ok"] and body["verdict"]["findings"][0]["rule_id"] == "IGA-S007"
    status, body = http_api.check({"recipe": DOC, "request": {**NATIVE, "control": "canny"}}, lambda n: None)
    assert status == 422 and "control" in body["message"]


# --- the WebUI: the ControlNet script's own arguments -----------------------------------------------------


def test_host_reads_units_as_the_extension_does(host):  # noqa: F811
    from modules.controlnet_ext import ControlNetUnit, Script

    from iga_webui import host as door

    cn, other = Script(), SimpleNamespace(title=lambda: "Other", args_from=0, args_to=1)
    cn.args_from, cn.args_to = 1, 4
    p = SimpleNamespace(scripts=SimpleNamespace(alwayson_scripts=[other, cn]), script_args=(
        "not a unit", ControlNetUnit(enabled=True, module="canny", model="control_v11p_sd15_canny [d14c016b]",
                                     weight=0.8, guidance_end=0.9),
        ControlNetUnit(),  # disabled (the UI default)
        {"model": "ip-adapter_sd15", "module": "ip-adapter_clip_sd15", "weight": "0.5"},  # API dict, no "enabled"
    ))
    units = door.control_units(p)
    assert units[0] == {"model": "control_v11p_sd15_canny [d14c016b]", "preprocessor": "canny", "weight": 0.8,
                        "guidance_start": 0.0, "guidance_end": 0.9}
    # a dict without "enabled": A1111's extension defaults to False (args.py:77); the integrated ControlNet of
    # Forge and every fork to True (F external_code.py:168; docs/hosts.md §13, iga_webui/forks/controlnet.py)
    assert len(units) == (1 if host.host == "a1111" else 2)
    assert door.control_units(SimpleNamespace(scripts=SimpleNamespace(alwayson_scripts=[other]), script_args=())) is None


def test_generate_warns_about_control_units(host):  # noqa: F811
    from iga_core.audit import read_image_metadata
    from tests.webui_recipes import add_checkpoint

    add_checkpoint(host.models, "control.safetensors", DOC, seed=6)
    host.start(select="control.safetensors", extensions=("controlnet_ext",))

    def txt2img(*units, mode=None):
        scripts = {"ControlNet": {"args": [{"enabled": True, **u} for u in units]}}
        if mode:
            scripts["IGA"] = {"args": [{"mode": mode}]}
        return host.api_txt2img({"prompt": "a cat", "save_images": True, "alwayson_scripts": scripts, **{
            "sampler_name": "DPM++ 2M", "scheduler": "Karras", "steps": 25, "cfg_scale": 7.5}})

    def last():
        return [read_image_metadata(f) for f in host.saved_files() if f.suffix == ".png"][-1]

    status, _ = txt2img({**CANNY, "module": "canny"})
    assert status == 200 and [f["rule_id"] for f in last()["guard"]["findings"] if f["severity"] == "soft"] == []
    status, body = txt2img({"model": SDXL_CANNY["model"], "module": "canny", "weight": 1.0})
    assert status == 200 and "IGA-S007" in json.loads(body["info"])["comments"]
    assert "IGA-S007" in [f["rule_id"] for f in last()["guard"]["findings"]]
    status, body = txt2img({"model": CANNY["model"], "module": "canny", "weight": 1.9}, mode="strict")
    assert status == 422 and "IGA-S008" in json.dumps(body)
