"""Per-generation cost of the IGA always-on script, measured through the host double (no model runs).

    python benchmarks/bench_webui_glue.py [--host a1111|forge] [-n 200]

Times the two hooks a generation pays for -- `before_process` (recipe lookup from the cache, API
defaults) and `process` (guard verdict, audit record, infotext) -- on fresh `p` objects, and one API
txt2img round trip through the double with and without a recipe, so the overhead can be compared with
the seconds a real sampler takes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.host_double import clear, install  # noqa: E402
from tests.webui_recipes import LIGHTNING, add_checkpoint  # noqa: E402


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    return f"{name:<44} median {statistics.median(ms):7.3f} ms   p95 {ms[int(0.95 * (len(ms) - 1))]:7.3f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", choices=("a1111", "forge"), default="a1111")
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        double = install(args.host, Path(tmp))
        try:
            add_checkpoint(double.models, "lightning.safetensors", LIGHTNING)
            add_checkpoint(double.models, "plain.safetensors", None, seed=2)
            double.start(select="lightning.safetensors")
            from iga_webui import generation

            def make_p(steps=4):
                p = double.m.processing.StableDiffusionProcessingTxt2Img(prompt="a cat", sampler_name="Euler",
                                                                         steps=steps, cfg_scale=1.5)
                p.is_api = True
                p.setup_prompts()
                p.all_seeds = [1]
                return p

            def hooks(steps=4):
                p = make_p(steps)
                generation.before_process(p, None)
                generation.process(p, None)

            generation.before_process(make_p(), None)  # warm the recipe cache (first lookup hashes the weights)
            print(f"host double: {args.host}, n={args.n}")
            print(summary("before_process + process, inside the recipe", timed(hooks, args.n)))
            print(summary("before_process + process, 1 soft warning", timed(lambda: hooks(30), args.n)))
            n_api = max(10, args.n // 10)
            print(summary("API txt2img round trip, recipe", timed(lambda: double.api_txt2img({"prompt": "x"}), n_api)))
            double.select("plain.safetensors")
            print(summary("API txt2img round trip, no recipe", timed(lambda: double.api_txt2img({"prompt": "x"}), n_api)))
        finally:
            clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
