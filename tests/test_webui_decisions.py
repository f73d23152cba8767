"""Decision log through the host double: blocks, warnings and overrides appended (with the output file),
nothing for clean generations or when the setting is off, and `iga audit export` reads what was written."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os

import pytest

from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING, add_checkpoint

pytestmark = pytest.mark.host
INSIDE = {"sampler_name": "Euler", "steps": 4, "cfg_scale": 1.5, "width": 640, "height": 640}


def _checkpoints(double):
    add_checkpoint(double.models, "lightning.safetensors", LIGHTNING)


started = started_host(_checkpoints, select="lightning.safetensors")


@pytest.fixture
def webui(started):
    started.reset("lightning.safetensors")
    from iga_webui import decisions

    for f in decisions.log_path().parent.glob("decisions.jsonl*"):
        f.unlink()
    return started


def entries():
    from iga_webui import decisions

    path = decisions.log_path()
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_log_lives_in_the_data_folder_the_cli_reads(webui):
    from iga_webui import decisions

    assert decisions.log_path() == webui.root / "iga-data" / "decisions.jsonl"


def test_block_warning_and_override_are_logged_clean_runs_are_not(webui):
    webui.m.shared.opts.data["samples_format"] = "png"
    assert webui.api_txt2img({"prompt": "x", "save_images": True})[0] == 200  # clean: no entry
    assert webui.api_txt2img({"prompt": "x", "sampler_name": "DPM++ 2M"})[0] == 422
    assert webui.api_txt2img({"prompt": "x", "steps": 30})[0] == 200
    override = {"mode": "strict", "overrides": ["IGA-S002"], "override_reasons": {"IGA-S002": "testing high CFG"}}
    result = webui.ui_txt2img(override, **{**INSIDE, "cfg_scale": 3.0})
    assert result[0]
    kinds = [e["kind"] for e in entries()]
    assert kinds == ["block", "warn", "override"]
    block, warn, over = entries()
    assert block["request"]["sampler"] == "DPM++ 2M" and block["output"] is None
    assert [f["rule_id"] for f in block["findings"] if f["blocking"]] == ["IGA-H001"]
    assert warn["request"]["steps"] == 30
    assert over["overrides"] == [{"rule_id": "IGA-S002", "reason": "testing high CFG"}]
    assert over["output"] and os.path.exists(over["output"])
    assert block["recipe"]["source"] == "embedded" and block["checkpoint"]["name"] == "lightning"


def test_setting_off_writes_nothing(webui):
    webui.m.shared.opts.data["iga_decision_log"] = False
    webui.api_txt2img({"prompt": "x", "sampler_name": "DPM++ 2M"})
    assert entries() == []


def test_blocked_plot_cells_are_logged(webui):
    webui.ui_xyz("Sampler", "Euler, DPM++ 2M", **INSIDE)
    assert [e["kind"] for e in entries()] == ["block"]


def test_iga_audit_export_reads_the_log_the_webui_wrote(webui):
    from iga_core.cli import main

    webui.api_txt2img({"prompt": "x", "sampler_name": "DPM++ 2M"})
    webui.api_txt2img({"prompt": "x", "steps": 30})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["audit", "export", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["kind"] for r in rows] == ["block", "warn"]
    assert rows[0]["sampler"] == "DPM++ 2M"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["audit", "export", "--format", "json", "--since", "1h"]) == 0
    assert len(json.loads(out.getvalue())) == 2


def test_recent_decisions_for_the_panel(webui):
    from iga_webui import decisions

    webui.api_txt2img({"prompt": "x", "sampler_name": "DPM++ 2M"})
    assert [e["kind"] for e in decisions.recent(5)] == ["block"]
