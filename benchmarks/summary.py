"""Run the benchmarks once and print (or write into README) the table of their targets.

    python benchmarks/summary.py [--size-gb 1] [--quick] [--readme README.md]

Runs each benchmark that checks a target in `targets.json` (their own output is printed as it comes, ratios
included), then prints one Markdown table: each target, its goal, the figure this run measured and met / NOT
MET, under a line with the date, the commit, the CPU count and the load average before and after. With
`--readme`, the table replaces what is between README's `<!-- iga-bench:start -->` and `<!-- iga-bench:end -->`
lines, so README's table is always one run's. About 3 minutes at --size-gb 1 on a quiet 2-core machine.
A benchmark that needs what this Python lacks is given its own (`--python BENCH=PATH`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
START, END = "<!-- iga-bench:start -->", "<!-- iga-bench:end -->"


def targets() -> dict[str, dict[str, str]]:
    return json.loads((HERE / "targets.json").read_text("utf-8"))["targets"]


def benches() -> list[str]:
    """The benchmark scripts that check a target, in the order of their first target."""
    return list(dict.fromkeys(t["bench"] for t in targets().values()))


def render(found: list[dict], caption: str) -> str:
    """The Markdown table of every target, with this run's figure (the last one a benchmark reported)."""
    last = {f["id"]: f for f in found}
    lines = [caption, "", "| target | goal | this run | verdict |", "|---|---|---|---|"]
    for tid, t in targets().items():
        f = last.get(tid)
        figure, verdict = (f["figure"], "met" if f["met"] else "**NOT MET**") if f else ("not run", "—")
        lines.append(f"| {t['what']} (`{tid}`) | {t['goal']} | {figure} | {verdict} |")
    return "\n".join(lines)


def write_readme(path: Path, table: str) -> None:
    text = path.read_text("utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} block to replace")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{table}\n{END}{tail}"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new, "utf-8")
    os.replace(tmp, path)  # never half a README


def _commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-gb", default="1", help="bench_checkpoint.py's file size (default 1)")
    ap.add_argument("--quick", action="store_true", help="bench_checkpoint.py --quick (no data-sized rows)")
    ap.add_argument("--python", action="append", default=[], metavar="BENCH=PATH",
                    help="the Python a benchmark runs on (default: this one)")
    ap.add_argument("--readme", type=Path, help="write the table into this README")
    args = ap.parse_args()
    pythons = dict(p.split("=", 1) for p in args.python)
    extra = {"bench_checkpoint.py": ["--size-gb", args.size_gb, *(["--quick"] if args.quick else [])]}
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="iga-bench-summary-") as tmp:
        results = Path(tmp) / "results.jsonl"
        env = {**os.environ, "IGA_BENCH_RESULTS": str(results)}
        for bench in benches():
            cmd = [pythons.get(bench, sys.executable), str(HERE / bench), *extra.get(bench, [])]
            print(f"\n$ {' '.join(cmd[1:])}", flush=True)
            if subprocess.run(cmd, env=env, cwd=ROOT).returncode:
                print(f"# {bench} failed; its targets show as not run", flush=True)
        found = [json.loads(line) for line in results.read_text("utf-8").splitlines()] if results.exists() else []
    caption = (f"One run of `python benchmarks/summary.py{' --quick' if args.quick else ''}`, "
               f"{datetime.date.today().isoformat()}, commit {_commit()}: {os.cpu_count()} CPUs, load average "
               f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} after.")  # fmt: skip
    table = render(found, caption)
    print("\n" + table)
    if args.readme:
        write_readme(args.readme, table)
        print(f"\n# written into {args.readme}")
    return 0 if found else 1


if __name__ == "__main__":
    sys.exit(main())
