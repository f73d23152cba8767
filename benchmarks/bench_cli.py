"""CLI start-up: each light command, run from the shell as a user runs it, against `python -c` anchors.

    python benchmarks/bench_cli.py [-n 15]

About 30 s on a quiet machine (7 commands x 16 runs). Check `uptime` first and quote the load average.

Times whole processes (spawn to exit), wall clock and CPU (user + sys of the child), in interleaved
rounds: every round runs every command once, in a rotating order, so a slow moment of a shared machine
falls on all of them alike. Prints each command's median and the ratio of medians against the anchor
`python -c "import safetensors"` measured in the same rounds (target: at most 2x for `--help`, `inspect`,
`hash` (cached), `verify` and an in-place `stamp`), and against `python -c pass`.

The commands run as the `iga` console script does (`from iga_core.cli import main`), from this checkout,
on a tiny stamped checkpoint whose hashes are cached (a 2 KiB file: the start-up is what is measured, the
work of each command is microseconds), with compiled bytecode in a temp folder as an installed package has
it. `tests/test_cli_imports.py` guards the cause (no heavy import in these commands); this script gives
the time, which no test asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._targets import check  # noqa: E402
from tests.factories import make_checkpoint  # noqa: E402
from tests.webui_recipes import LIGHTNING  # noqa: E402

TARGET = 2.0  # x the anchor
#: the commands' target ids in benchmarks/targets.json
TARGET_IDS = {"iga --help": "cli-help", "iga inspect": "cli-inspect", "iga hash (cached)": "cli-hash",
              "iga verify": "cli-verify", "iga stamp (in place)": "cli-stamp"}
ENTRY = "import sys; from iga_core.cli import main; sys.exit(main())"  # what the console script runs


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(cmd: list[str], env: dict) -> tuple[float, float]:
    cpu, wall = child_cpu(), time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall, cpu = time.perf_counter() - wall, child_cpu() - cpu
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return wall, cpu


def rounds(commands: dict[str, list[str]], env: dict, n: int) -> dict[str, dict[str, list[float]]]:
    spent = {name: {"wall": [], "cpu": []} for name in commands}
    names = list(commands)
    for i in range(n):
        for name in names[i % len(names):] + names[:i % len(names)]:
            wall, cpu = run_once(commands[name], env)
            spent[name]["wall"].append(wall)
            spent[name]["cpu"].append(cpu)
    return spent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=15, help="rounds (default 15)")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="iga-bench-cli-"))
    try:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(PYTHONPATH=str(ROOT), IGA_CACHE_DIR=str(folder / "cache"), IGA_DATA_DIR=str(folder / "data"),
                   PYTHONPYCACHEPREFIX=str(folder / "pyc"))  # fmt: skip
        env.pop("IGA_REGISTRY", None)
        ckpt = make_checkpoint(folder / "model.safetensors")
        recipe = folder / "recipe.json"
        recipe.write_text(json.dumps(LIGHTNING), encoding="utf-8")
        py = sys.executable
        iga = [py, "-c", ENTRY]
        # the first stamp (a rewrite, which validates the recipe and hashes the file) and a warm-up of every
        # command, which compiles the bytecode: neither is timed
        subprocess.run([*iga, "stamp", "--yes", str(ckpt), str(recipe)], env=env, check=True, capture_output=True)
        commands = {
            "python -c pass": [py, "-c", "pass"],
            "python -c 'import safetensors'": [py, "-c", "import safetensors"],
            "iga --help": [*iga, "--help"],
            "iga inspect": [*iga, "inspect", str(ckpt)],
            "iga hash (cached)": [*iga, "hash", str(ckpt)],
            "iga verify": [*iga, "verify", str(ckpt)],
            "iga stamp (in place)": [*iga, "stamp", str(ckpt), str(recipe)],
        }
        for cmd in commands.values():
            run_once(cmd, env)
        spent = rounds(commands, env, args.n)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    med = {name: {k: statistics.median(v) for k, v in s.items()} for name, s in spent.items()}
    anchor, bare = med["python -c 'import safetensors'"], med["python -c pass"]
    print(f"# {args.n} interleaved rounds; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"python {sys.version.split()[0]}")  # fmt: skip
    header = ("what", "wall ms (median)", "CPU ms (median)", "x import safetensors (wall / CPU)", "x python -c pass")
    rows = []
    for name, m in med.items():
        ratio = f"{m['wall'] / anchor['wall']:.2f} / {m['cpu'] / anchor['cpu']:.2f}"
        if name in TARGET_IDS:
            x = m["wall"] / anchor["wall"]
            ok = check(TARGET_IDS[name], f"{x:.2f}x ({m['wall'] * 1e3:.0f} ms against {anchor['wall'] * 1e3:.0f} ms)",
                       x <= TARGET)
            ratio += f"  (target <= {TARGET:g}x wall: {ok})"
        rows.append((name, f"{m['wall'] * 1e3:.1f}", f"{m['cpu'] * 1e3:.1f}", ratio,
                     f"{m['wall'] / bare['wall']:.2f}"))  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print(" | ".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
