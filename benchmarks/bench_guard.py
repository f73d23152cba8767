"""Guard speed: 10,000 random requests against the largest example recipe.

    python benchmarks/bench_guard.py [--n 10000] [--seed 0] [--mode standard] [--recipe PATH]

Prints the median and p99 time per `evaluate` call (targets: median ≤ 100 µs, p99 ≤ 1 ms), plus the
one-off costs for reference: parsing the recipe (validation, done once at its boundary) and the first call
(the recipe's derived facts and cold name caches). Requests mix valid and invalid
names in several dialects, steps, CFG, sizes, VAEs, clip skip, prediction types and img2img strength,
drawn from a seeded generator so runs are comparable.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from iga_core import vocab  # noqa: E402
from iga_core.guard import MODES, GuardPolicy, GuardRequest, evaluate  # noqa: E402
from iga_core.guard.engine import clear_caches  # noqa: E402
from iga_core.recipe import Recipe  # noqa: E402

SIZES = [(512, 512), (512, 768), (768, 512), (1024, 1024), (1152, 896), (832, 1216), (1536, 640), (2048, 2048),
         (640, 480), (1920, 1080)]


def largest_example() -> Path:
    return max((ROOT / "metadata_examples").glob("*.iga.json"), key=lambda p: p.stat().st_size)


def name_pool(kind: str) -> list[str]:
    infos = vocab.all_samplers() if kind == "sampler" else vocab.all_schedules()
    names = sorted({n for info in infos for n in info.all_names()})
    extra = ["DPM++ 2M Karras", "Euler a Karras", "not-a-name"] if kind == "sampler" else ["nope"]
    return [*names, *extra]


def random_request(rng: random.Random, samplers: list[str], schedules: list[str]) -> GuardRequest:
    def maybe(value, p=0.85):
        return value if rng.random() < p else None

    width, height = rng.choice(SIZES)
    return GuardRequest(
        sampler=maybe(rng.choice(samplers)), schedule=maybe(rng.choice(schedules), 0.7),
        steps=maybe(rng.randint(1, 60)), cfg=maybe(round(rng.uniform(0.0, 15.0), 1)),
        distilled_cfg=maybe(round(rng.uniform(1.0, 6.0), 1), 0.2),
        vae=maybe(rng.choice(["None", "Automatic", "sdxl_vae.safetensors", "other.vae.pt"]), 0.5),
        clip_skip=maybe(rng.choice([1, 2]), 0.5), width=maybe(width), height=maybe(height),
        prediction_type=maybe(rng.choice(["eps", "epsilon", "v_prediction", "flow"]), 0.3),
        denoising_strength=maybe(round(rng.uniform(0.05, 1.0), 2), 0.25),
    )


def _stats(label: str, times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    median = statistics.median(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"per evaluation, {label}: median {median:.1f} µs, p99 {p99:.1f} µs, max {times[-1]:.0f} µs, "
          f"mean {statistics.fmean(times):.1f} µs")
    return median, p99


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", choices=MODES, default="standard")
    ap.add_argument("--recipe", type=Path, default=None)
    args = ap.parse_args(argv)

    path = args.recipe or largest_example()
    document = json.loads(path.read_text(encoding="utf-8"))
    t0 = time.perf_counter_ns()
    recipe = Recipe.from_dict(document)
    parse_us = (time.perf_counter_ns() - t0) / 1000
    policy = GuardPolicy(mode=args.mode)
    rng = random.Random(args.seed)
    samplers, schedules = name_pool("sampler"), name_pool("schedule")
    requests = [random_request(rng, samplers, schedules) for _ in range(args.n)]

    clear_caches()
    t0 = time.perf_counter_ns()
    evaluate(recipe, requests[0], policy)
    first_us = (time.perf_counter_ns() - t0) / 1000

    wall, cpu, blocked, findings = [], [], 0, 0
    gc.disable()  # as timeit does: a collection pause is not the guard's cost
    try:
        for request in requests:
            c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
            verdict = evaluate(recipe, request, policy)
            wall.append((time.perf_counter_ns() - t0) / 1000)
            cpu.append((time.thread_time_ns() - c0) / 1000)
            blocked += not verdict.allowed
            findings += len(verdict.findings)
    finally:
        gc.enable()
    print(f"recipe: {path.name} ({path.stat().st_size} bytes), mode {args.mode}, {args.n} random requests, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"parse (validate + typed model, once per recipe file): {parse_us:.0f} µs")
    print(f"first call (derived facts + cold caches): {first_us:.0f} µs")
    median, p99 = _stats("wall time", wall)
    _stats("CPU time ", cpu)
    print(f"blocked {blocked}/{args.n}, {findings / args.n:.2f} findings per request")
    ok = median <= 100 and p99 <= 1000
    print("targets on wall time (median ≤ 100 µs, p99 ≤ 1 ms):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
