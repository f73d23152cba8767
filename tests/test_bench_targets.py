"""README's performance table is one run of the benchmarks' targets: every target a benchmark checks is in
benchmarks/targets.json, every one there is checked by the benchmark it names, and README's table lists
exactly those, in that order (a target added without regenerating the table fails here)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def _summary():
    spec = importlib.util.spec_from_file_location("iga_bench_summary", BENCH / "summary.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _targets() -> dict:
    return json.loads((BENCH / "targets.json").read_text("utf-8"))["targets"]


def _named(bench: Path) -> tuple[set[str], set[str]]:
    """(ids passed to check() as literals, every string literal of the script that names a declared target):
    a script may pass an id through a table or a loop, so the second set is what it can check."""
    text = bench.read_text("utf-8")
    literal = set(re.findall(r"""\bcheck\(\s*["']([a-z0-9-]+)["']""", text))
    return literal, set(re.findall(r"""["']([a-z0-9-]+)["']""", text)) & set(_targets())


def test_every_checked_target_is_declared_and_every_declared_one_is_checked():
    targets = _targets()
    for bench in sorted(BENCH.glob("bench_*.py")):
        literal, checked = _named(bench)
        assert literal <= set(targets), f"{bench.name} checks undeclared targets {literal - set(targets)}"
        declared = {tid for tid, t in targets.items() if t["bench"] == bench.name}
        assert declared <= checked, f"{bench.name} never checks {declared - checked}"
    assert all((BENCH / t["bench"]).is_file() for t in targets.values())


def test_readme_table_lists_every_target_in_order():
    text = (ROOT / "README.md").read_text("utf-8")
    summary = _summary()
    block = text.split(summary.START, 1)[1].split(summary.END, 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| ") and not line.startswith("| target ")]
    ids = [re.search(r"\(`([a-z0-9-]+)`\)", row).group(1) for row in rows]
    assert ids == list(_targets()), "README's table is stale: run python benchmarks/summary.py --readme README.md"
    assert "One run of `python benchmarks/summary.py" in block  # the caption says which run it is


def test_render_marks_each_target_from_the_last_figure_reported(tmp_path):
    summary = _summary()
    first = next(iter(_targets()))
    table = summary.render([{"id": first, "figure": "3.0x", "met": False},
                            {"id": first, "figure": "1.5x", "met": True}], "caption")
    row = next(line for line in table.splitlines() if f"(`{first}`)" in line)
    assert "1.5x" in row and row.endswith("| met |")
    others = [line for line in table.splitlines() if line.startswith("| ") and "`)" in line and first not in line]
    assert others and all("not run" in line for line in others)
    readme = tmp_path / "README.md"
    readme.write_text(f"a\n{summary.START}\nold\n{summary.END}\nb\n", "utf-8")
    summary.write_readme(readme, table)
    assert readme.read_text("utf-8") == f"a\n{summary.START}\n{table}\n{summary.END}\nb\n"
