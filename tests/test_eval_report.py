"""The report writer: files, contents, the no-matplotlib path, and I/O errors (no torch needed)."""

from __future__ import annotations

import json

import pytest

from iga_core.errors import ExitCode
from iga_core.eval import report
from iga_core.eval.errors import EvalUnavailable
from iga_core.eval.protocol import run_protocol
from tests.test_eval_protocol import RECIPE, _config, fake_generate

pytestmark = pytest.mark.eval

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result():
    return run_protocol(fake_generate, _config(), RECIPE)


def test_report_files_and_contents(result, tmp_path):
    pytest.importorskip("matplotlib")
    paths = report.write_report([result], tmp_path, title="Sweep", intro="Why this run.")
    assert len(paths["images"]) == 3
    for name in paths["images"]:
        with open(name, "rb") as fh:
            assert fh.read(8) == PNG
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    run = data["runs"][0]
    assert run["config"]["values"] == list(result.config.values)
    assert run["config"]["base"] == result.config.base and run["config"]["seeds"] == [0, 1, 2]
    assert len(run["recipe_digest"]) == 64 and data["environment"]["libraries"]["numpy"]
    assert run["recipe"] == RECIPE  # the whole recipe travels with the report
    assert data["plots"]["drawn"] is True
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Sweep") and "Why this run." in md and "**Headline:" in md
    assert "| Euler a | outside | IGA-H001 |" in md
    assert not list(tmp_path.glob(".*"))  # atomic writes leave no temp files


def test_without_matplotlib_only_the_grid_is_drawn(result, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "plotting_status", lambda: (False, "matplotlib is not installed"))
    paths = report.write_report([result], tmp_path, title="No plots")
    assert [p.rsplit("-", 1)[-1] for p in paths["images"]] == ["grid.png"]
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["plots"] == {"drawn": False, "note": "matplotlib is not installed"}
    assert "matplotlib is not installed" in (tmp_path / "report.md").read_text(encoding="utf-8")


def test_unwritable_destination_is_a_typed_io_error(result, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EvalUnavailable) as exc:
        report.write_report([result], blocker / "sub", title="x")
    assert exc.value.exit_code == ExitCode.UNAVAILABLE and exc.value.hint


def test_without_timing_removes_every_timing_entry():
    d = {"a": 1, "timing": {"s": 2}, "runs": [{"timing": 3, "b": [{"timing": 4, "c": 5}]}]}
    assert report.without_timing(d) == {"a": 1, "runs": [{"b": [{"c": 5}]}]}
