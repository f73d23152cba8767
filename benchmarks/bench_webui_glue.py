"""Per-generation cost of the IGA always-on script, measured through the host double (no model runs).

    python benchmarks/bench_webui_glue.py [--host a1111|forge] [-n 200]

Times the hooks a generation pays for -- `before_process` (recipe lookup from the cache, API defaults),
`process` (guard verdict, audit record, infotext) and the `p.sample` hand-over check -- on fresh `p`
objects that carry the loaded model as the host's do (`p.sd_model`), and one API txt2img round trip
through the double with and without a recipe, so the overhead can be compared with the seconds a real
sampler takes.

The host_run row is the added cost of asking the host what it will run (`host_run.executed` on the host's
own sampler code and `host_run.model_facts`, at process() and again at the hand-over): the same hooks
are timed with those two calls answered from a cache (the baseline: the guard still judges the same
values) and with the real calls, interleaved in one run, and printed as the difference (target: under
1 ms per generation) and the ratio with / without.
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
    return f"{name:<52} median {statistics.median(ms):7.3f} ms   p95 {ms[int(0.95 * (len(ms) - 1))]:7.3f} ms"


def paired(with_fn, without_fn, n: int) -> tuple[list[float], list[float]]:
    """Both variants timed in alternation, so drift in the machine's load hits them alike."""
    a, b = [], []
    for _ in range(n):
        a += timed(with_fn, 1)
        b += timed(without_fn, 1)
    return a, b


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", choices=("a1111", "forge"), default="a1111")
    ap.add_argument("-n", type=int, default=200)
    args = ap.parse_args()
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # the host's "Sampler Scheduler autocorrection" warnings
    import torch

    # the schedules are tensors of a few hundred entries: one thread, so idle intra-op workers spinning on a
    # shared machine do not show up as the glue's cost
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        double = install(args.host, Path(tmp))
        try:
            add_checkpoint(double.models, "lightning.safetensors", LIGHTNING)
            add_checkpoint(double.models, "plain.safetensors", None, seed=2)
            double.start(select="lightning.safetensors")
            from iga_webui import generation, host_run

            model = double.m.sd_models.reload_model_weights()  # what both hosts hold in process() (F loads lazily)

            def make_p(steps=4, sampler="Euler"):
                p = double.m.processing.StableDiffusionProcessingTxt2Img(prompt="a cat", sampler_name=sampler,
                                                                         scheduler="Karras", steps=steps,
                                                                         cfg_scale=1.5)
                p.sd_model = model
                p.is_api = True
                p.setup_prompts()
                p.all_seeds = [1]
                return p

            def hooks(steps=4, sampler="Euler"):
                p = make_p(steps, sampler)
                generation.before_process(p, None)
                generation.process(p, None)
                st = generation.state_of(p)
                assert st.failure is None and st.verdict is not None, st.failure
                generation._recheck(p, st, hires=False)  # what p.sample's wrapper runs first
                return p

            hooks()  # warm the recipe cache (the first lookup hashes the weights) and the host's sampler path
            print(f"host double: {args.host}, n={args.n}")
            print(summary("before_process + process + hand-over, in the recipe", timed(hooks, args.n)))
            print(summary("before_process + process + hand-over, 1 soft warning", timed(lambda: hooks(30), args.n)))

            real_executed, real_facts = host_run.executed, host_run.model_facts
            for sampler in ("Euler", "UniPC", "LCM"):
                p = make_p(sampler=sampler)
                print(summary(f"host_run.executed, {sampler} at 4 steps", timed(lambda p=p: real_executed(p), args.n)))
            print(summary("host_run.model_facts", timed(lambda: real_facts(model), args.n)))

            cached = {}

            def executed_cached(p, *, hires=False, sampler=None):
                key = (p.sampler_name, p.scheduler, p.steps, hires)
                if key not in cached:
                    cached[key] = real_executed(p, hires=hires, sampler=sampler)
                return cached[key]

            facts = real_facts(model)

            def with_host_run():
                host_run.executed, host_run.model_facts = real_executed, real_facts
                hooks()

            def without_host_run():
                host_run.executed, host_run.model_facts = executed_cached, (lambda sd_model: facts)
                hooks()

            try:
                a, b = paired(with_host_run, without_host_run, args.n)
            finally:
                host_run.executed, host_run.model_facts = real_executed, real_facts
            added = statistics.median(a) - statistics.median(b)
            print(summary("  hooks with host_run asking the host's sampler", a))
            print(summary("  hooks with host_run answered from a cache (baseline)", b))
            print(f"{'host_run added cost per generation (process + hand-over)':<52} {added:+7.3f} ms   "
                  f"ratio {statistics.median(a) / statistics.median(b):5.2f}x the baseline   (target < 1 ms)")

            n_api = max(10, args.n // 10)
            print(summary("API txt2img round trip, recipe", timed(lambda: double.api_txt2img({"prompt": "x"}), n_api)))
            double.select("plain.safetensors")
            print(summary("API txt2img round trip, no recipe", timed(lambda: double.api_txt2img({"prompt": "x"}), n_api)))
        finally:
            clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
