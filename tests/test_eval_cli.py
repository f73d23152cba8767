"""`iga eval`: the demo and --config runs write a report; bad input gives a typed error and an exit code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iga_core.cli import main
from iga_core.errors import ExitCode

pytestmark = pytest.mark.eval


@pytest.fixture()
def heavy():
    pytest.importorskip("torch", reason="iga eval needs torch")
    pytest.importorskip("diffusers", reason="iga eval needs diffusers")


def test_demo_quick_writes_report_files(heavy, tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["eval", "--demo", "--quick", "--only", "prediction-v", "-o", str(out), "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["ok"] is True and printed["summary"][0]["id"] == "prediction-v"
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    run = report["runs"][0]
    assert [p["value"] for p in run["split"] if not p["inside"]] == ["eps", "x0"]
    assert {f["rule_id"] for p in run["split"] for f in p["findings"]} == {"IGA-H003"}
    assert report["environment"]["libraries"]["diffusers"]
    assert report["demo"]["quick"] is True
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "| experiment |" in md and "does not show" in md
    for name in printed["images"]:
        assert Path(name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_config_run_on_a_reference_variant(heavy, tmp_path, capsys):
    cfg = tmp_path / "run.json"
    cfg.write_text(json.dumps({
        "variant": "distilled",
        "protocol": {"name": "steps", "axis": "steps", "values": [2, 4], "seeds": [0, 1],
                     "base": {"prompt": "checker", "sampler": "Euler", "schedule": "SGM Uniform", "cfg": 1.0}},
    }), encoding="utf-8")
    assert main(["eval", "--config", str(cfg), "-o", str(tmp_path / "out")]) == 0
    assert "wrote" in capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["config_file"]["variant"] == "distilled"
    assert [p["inside"] for p in report["runs"][0]["split"]] == [False, True]


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        ("{not json", 1, "is not JSON"),
        ("[1, 2]", 1, "JSON object"),
        ('{"variant": "eps", "colour": 1}', 1, "unknown keys"),
        ('{"variant": "eps", "protocol": {"axis": "vae", "values": [1, 2], "seeds": [0]}}', 1, "axis must be"),
        ('{"variant": "xl", "protocol": {"axis": "steps", "values": [1, 2], "seeds": [0]}}', 1, "unknown reference variant"),
    ],
)
def test_bad_config_files_exit_with_a_message(heavy, tmp_path, capsys, content, code, message):
    cfg = tmp_path / "bad.json"
    cfg.write_text(content, encoding="utf-8")
    assert main(["eval", "--config", str(cfg), "-o", str(tmp_path / "out")]) == code
    err = capsys.readouterr().err
    assert message in err and "hint:" in err and "Traceback" not in err


def test_missing_config_file_is_an_io_error(heavy, tmp_path, capsys):
    assert main(["eval", "--config", str(tmp_path / "nope.json")]) == ExitCode.UNAVAILABLE
    assert "cannot read" in capsys.readouterr().err


def test_usage_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["eval"])
    assert exc.value.code == 2
    assert main(["eval", "--config", "x.json", "--only", "sampler-eps"]) == ExitCode.USAGE
    assert "--only" in capsys.readouterr().err


def test_unknown_demo_experiment(heavy, tmp_path, capsys):
    assert main(["eval", "--demo", "--quick", "--only", "nope", "-o", str(tmp_path)]) == ExitCode.USAGE
    assert "sampler-distilled" in capsys.readouterr().err
