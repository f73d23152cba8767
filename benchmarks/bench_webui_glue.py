"""Per-generation cost of the IGA always-on script, measured through the host double (no model runs).

    python benchmarks/bench_webui_glue.py [--host a1111|forge] [-n 300]

Times the two hooks a generation pays for -- `before_process` (recipe lookup from the cache, API
defaults) and `process` (guard verdict, audit record, infotext) -- on fresh `p` objects whose recipe was
read before (the state after the first generation with a model), in interleaved rounds: each round runs
every row once, so a slow moment of a shared machine falls on all of them. The anchors, in the same
rounds: what `process` asks of the host itself (`create_sampler` and its sigmas, the schedule the host
will run: the host builds them again when it samples, A processing.py:1308 / sd_samplers_kdiffusion.py),
and the schema check of one audit record (`validate_record`: what every image cost before records were
built valid by construction). IGA's own share is the hooks minus the host's part, per round. Target
(issue #19): IGA's own share under 0.2 ms. Then one API txt2img round trip through the double with and
without a recipe, for scale.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.host_double import clear, install  # noqa: E402
from tests.webui_recipes import LCM_LORA, LIGHTNING, add_checkpoint  # noqa: E402

TARGET_MS = 0.2


def rounds(rows: dict, n: int) -> dict[str, list[float]]:
    """Wall seconds of each row's function, `n` rounds, every row once per round in a rotating order."""
    spent = {name: [] for name in rows}
    names = list(rows)
    for i in range(n):
        for name in names[i % len(names):] + names[:i % len(names)]:
            start = time.perf_counter()
            rows[name]()
            spent[name].append(time.perf_counter() - start)
    return spent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", choices=("a1111", "forge"), default="a1111")
    ap.add_argument("-n", type=int, default=300)
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # the double's sampler autocorrection notes, once per p
    with tempfile.TemporaryDirectory() as tmp:
        double = install(args.host, Path(tmp))
        try:
            add_checkpoint(double.models, "lightning.safetensors", LIGHTNING)
            add_checkpoint(double.models, "plain.safetensors", None, seed=2)
            add_checkpoint(double.loras, "lcm.safetensors", LCM_LORA, seed=5)
            double.start(select="lightning.safetensors")
            from iga_core.audit import validate_record
            from iga_webui import generation

            m = double.m

            def make_p(steps=4, prompt="a cat"):
                p = m.processing.StableDiffusionProcessingTxt2Img(prompt=prompt, sampler_name="Euler",
                                                                  steps=steps, cfg_scale=1.5)  # fmt: skip
                p.is_api = True
                p.sd_model = m.shared.sd_model  # as process_images sets it before the scripts run (the double's :354)
                p.setup_prompts()
                p.all_seeds = [1]
                return p

            def hooks(steps=4, prompt="a cat"):
                p = make_p(steps, prompt)
                generation.before_process(p, None)
                generation.process(p, None)
                return p

            def host_schedule():  # what process() asks of the host: its sampler for the pass, and the sigmas
                p = make_p()
                sampler = m.sd_samplers.create_sampler(p.sampler_name, p.sd_model)
                sigmas = sampler.get_sigmas(p, p.steps)
                sampler.model_wrap.sigma_to_t(sigmas[:-1])

            record = generation.state_of(hooks()).record
            for prompt in ("a cat", "a cat <lora:lcm:1>"):
                hooks(prompt=prompt)  # the first lookup reads and hashes; the first composition composes
            rows = {
                "host: create_sampler + sigmas (anchor)": host_schedule,
                "validate_record, one record (anchor)": lambda: validate_record(record),
                "hooks, inside the recipe": hooks,
                "hooks, 1 soft warning": lambda: hooks(30),
                "hooks, with a LoRA recipe composed": lambda: hooks(4, "a cat <lora:lcm:1>"),
            }
            for fn in rows.values():
                fn()
            spent = rounds(rows, args.n)
            host = spent["host: create_sampler + sigmas (anchor)"]
            schema = statistics.median(spent["validate_record, one record (anchor)"])
            print(f"# host double {args.host}, {args.n} interleaved rounds; {os.cpu_count()} CPUs, load average "
                  f"{os.getloadavg()[0]:.1f}")  # fmt: skip
            print(f"{'what':<44} {'median ms':>10} {'IGA own ms':>11} {'x host anchor':>14} {'x schema check':>15}")
            for name, times in spent.items():
                med = statistics.median(times)
                own = ""
                if name.startswith("hooks"):
                    own_s = statistics.median([a - b for a, b in zip(times, host, strict=True)])
                    own = f"{own_s * 1e3:.3f}" + (" ok" if own_s * 1e3 < TARGET_MS else " OVER")
                print(f"{name:<44} {med * 1e3:10.3f} {own:>11} {med / statistics.median(host):14.2f} "
                      f"{med / schema:15.2f}")  # fmt: skip
            n_api = max(10, args.n // 10)
            api = {"API txt2img round trip, recipe": lambda: double.api_txt2img({"prompt": "x"})}
            for name, fn in api.items():
                print(f"{name:<44} {statistics.median(rounds({name: fn}, n_api)[name]) * 1e3:10.3f}")
            double.select("plain.safetensors")
            name = "API txt2img round trip, no recipe"
            fn = lambda: double.api_txt2img({"prompt": "x"})  # noqa: E731
            print(f"{name:<44} {statistics.median(rounds({name: fn}, n_api)[name]) * 1e3:10.3f}")
        finally:
            clear()
    return 0


if __name__ == "__main__":
    sys.exit(main())
