"""The evidence report's plots draw what the run measured, whatever its shape."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.eval


def test_a_bootstrap_interval_that_misses_the_full_sample_fd_is_drawn(tmp_path):
    """Resampling seeds with repeats biases a Fréchet distance upward, so its bootstrap interval can lie
    above the full-sample value (seen in the quick demo: matplotlib refused the negative error bar)."""
    from iga_core.eval.evidence_report import plot_fd_per_config

    rows = [{"baseline_cell": {"fd": 2.0, "fd_ci95": [2.5, 4.0]}, "iga_cell": {"fd": 1.0}},
            {"baseline_cell": {"fd": 3.0, "fd_ci95": None}, "iga_cell": {"fd": 1.5}}]
    result = {"models": {"eps": {"rows": rows}}, "noise_floor": {"p95": 0.5}}
    plot_fd_per_config(result, tmp_path / "fd.png")
    assert (tmp_path / "fd.png").stat().st_size > 0
