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


@pytest.fixture()
def tiny_evidence(heavy, monkeypatch):
    """The shipped trained models at the smallest size that exercises every part of the report."""
    from iga_core.eval import evidence, train

    if not (train.DATA / "models.json").is_file():
        pytest.skip("the trained models are not in this checkout (iga eval train -o iga_core/eval/data/trained)")
    plan = json.loads(evidence.PLAN_FILE.read_text(encoding="utf-8"))
    plan["quick"] = {"draws": 3, "seeds": 10, "bootstrap": 30, "sweep_seeds": 10}
    plan["noise_floor_sets"] = 3
    plan["per_config_bootstrap"] = 20
    for sweep in plan["sweeps"].values():
        sweep["quick_values"] = sweep["quick_values"][:2]
    monkeypatch.setattr(evidence, "evidence_plan", lambda: plan)
    return plan


def test_demo_quick_writes_the_evidence_report(tiny_evidence, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["eval", "--demo", "--quick", "-o", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["ok"] is True and "H" in printed["headline"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["quick"] is True and len(report["draws"]) == 3
    row = report["models"]["student"]["rows"][0]
    assert row["baseline_cell"]["executed"]["kind"] in ("sigmas", "timesteps", "sigma_range")  # recorded per cell
    assert row["iga"]["steps"] == 4  # the student's recipe: the guard fixed the draw
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "**Headline H" in md and "too few draws and seeds to be evidence" in md
    for name in printed["images"]:
        assert Path(name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the same inputs give the same numbers, also with the models sampled in worker processes
    again = tmp_path / "again"
    assert main(["eval", "--demo", "--quick", "--jobs", "3", "-o", str(again), "--json"]) == 0
    from iga_core.eval.report import without_timing

    second = json.loads((again / "report.json").read_text(encoding="utf-8"))
    assert without_timing({k: v for k, v in report.items() if k != "environment"}) == \
        without_timing({k: v for k, v in second.items() if k != "environment"})


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
    assert main(["eval"]) == ExitCode.USAGE  # nothing said what to run: the command line is wrong
    assert "train, --demo or --config" in capsys.readouterr().err
    assert main(["eval", "train", "--demo"]) == ExitCode.USAGE
    with pytest.raises(SystemExit) as exc:
        main(["eval", "nope"])
    assert exc.value.code == 2
