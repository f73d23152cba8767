"""`iga eval --demo`: the protocol on the analytic reference model, no checkpoint or download needed.

The experiments are data (`data/demo.json`); each runs `run_protocol` with a `ReferenceGenerator` and the
variant's recipe (`data/recipes/reference-<variant>.json`), adds the mixture-based quality scores, and
the report gets a summary table with the headline numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path

from iga_core.eval.errors import EvalConfigInvalid, UnknownDemoExperiment
from iga_core.eval.protocol import ProtocolConfig, ProtocolResult, run_protocol
from iga_core.eval.reference_model import DISTILLED_GRID, VARIANTS, GaussianMixtureImages, MixtureSpec
from iga_core.eval.reference_sampling import ReferenceGenerator
from iga_core.eval.reference_scores import MixtureScores
from iga_core.eval.report import write_report
from iga_core.recipe import Recipe

DATA = Path(__file__).with_name("data")

INTRO = """
This report comes from `iga eval --demo`: the IGA reproducibility protocol run on an analytic reference
model instead of a real checkpoint. The data distribution is a Gaussian mixture (component std 0.15)
around 16 procedurally drawn 16×16 RGB images; its exact denoiser is wrapped as an eps-prediction, a
v-prediction and a 4-step distilled network (accurate only on timesteps 999/749/499/249) and sampled with
real diffusers schedulers. Each variant carries an IGA recipe; the guard (standard mode) decides which
axis values are inside it. Quality is measured against the known distribution: the residual ratio (1 for a
true draw, < 1 over-smoothed, > 1 noisy) and MMD² to fresh mixture draws (lower is better; below the
noise floor, the 95th percentile that sets of true draws of the same size score, a sampler is
indistinguishable from the true distribution).

What this toy shows: that the protocol, the guard split and the metrics work end to end, and — on this
model — how much a wrong prediction type, an off-grid schedule or a foreign step count damages samples.
What it does not show: anything about real checkpoints. The recipes were written from the toy's own
measured behaviour, as a model author would write them from their tests; the 30–50 % figure claimed for
real models has to be measured on real models (the WebUI "IGA consistency report" runs this protocol on
the loaded checkpoint).
""".strip()


@cache
def demo_plan() -> dict:
    return json.loads((DATA / "demo.json").read_text(encoding="utf-8"))


def reference_recipe(variant: str) -> Recipe:
    if variant not in VARIANTS:
        raise EvalConfigInvalid(f"unknown reference variant {variant!r}", f"use one of: {', '.join(VARIANTS)}")
    return Recipe.from_dict(json.loads((DATA / "recipes" / f"reference-{variant}.json").read_text(encoding="utf-8")))


def experiment_config(exp: dict, recipe: Recipe, *, quick: bool) -> ProtocolConfig:
    plan = demo_plan()
    base = {
        "prompt": plan["prompt"],
        "width": plan["size"],
        "height": plan["size"],
        "sampler": recipe.sampler.name,
        "schedule": recipe.scheduler.name,
        "steps": recipe.steps.default,
        "cfg": recipe.cfg.default,
    }
    base.pop(exp["axis"], None)
    values = exp.get("quick_values", exp["values"]) if quick else exp["values"]
    n_seeds = plan["seeds"]["quick" if quick else "full"]
    return ProtocolConfig.from_dict({"name": exp["title"], "axis": exp["axis"], "values": values, "base": base,
                                     "seeds": list(range(n_seeds))})


def summarize(exp: dict, result: ProtocolResult, floor: float) -> dict:
    """One row of the demo's headline table. Quality is given as [min, max] over the values on each side:
    a mean could land near the ideal by averaging over- and under-dispersed samplers."""
    def value_range(key: str, inside: bool):
        vals = [v[key] for v in result.per_value if v["inside"] is inside and v.get(key) is not None]
        return [float(min(vals)), float(max(vals))] if vals else None

    h = result.headline
    return {
        "id": exp["id"],
        "title": exp["title"],
        "variant": exp["variant"],
        "axis": exp["axis"],
        "inside": [p.value for p in result.points if p.inside],
        "outside": [p.value for p in result.points if not p.inside],
        "variance_reduction_pct": h.get("variance_reduction_pct"),
        "residual_ratio_inside": value_range("residual_ratio", True),
        "residual_ratio_outside": value_range("residual_ratio", False),
        "mmd_inside": value_range("mmd", True),
        "mmd_outside": value_range("mmd", False),
        "mmd_noise_floor": floor,
        "failure_rate_inside": h.get("failure_rate_inside"),
        "failure_rate_outside": h.get("failure_rate_outside"),
    }


def run_demo(*, quick: bool = False, only: list[str] | None = None,
             progress: Callable[[str], None] | None = None) -> tuple[list[ProtocolResult], list[dict]]:
    plan = demo_plan()
    experiments = [e for e in plan["experiments"] if not only or e["id"] in only]
    if only and len(experiments) != len(set(only)):
        known = ", ".join(e["id"] for e in plan["experiments"])
        raise UnknownDemoExperiment(f"unknown demo experiment in {only}", f"use one of: {known}")
    mixture = GaussianMixtureImages(MixtureSpec())
    scores = MixtureScores(mixture, plan["prompt"])
    results, summary = [], []
    for exp in experiments:
        if progress:
            progress(exp["title"])
        recipe = reference_recipe(exp["variant"])
        config = experiment_config(exp, recipe, quick=quick)
        generator = ReferenceGenerator(exp["variant"], mixture)
        result = run_protocol(generator, config, recipe,
                              image_scores={"residual_ratio": scores.residual_ratio}, set_scores={"mmd": scores.mmd})
        floor = scores.noise_floor(len(config.seeds))
        result.extras = {
            "experiment": exp["id"],
            "model": {"variant": VARIANTS[exp["variant"]].to_dict(), "mixture": mixture.spec.to_dict(),
                      "distilled_grid": list(DISTILLED_GRID)},
            "schedulers": {str(v): generator.describe(config.params(v, 0)) for v in config.values},
            "mmd_noise_floor": floor,
        }
        results.append(result)
        summary.append(summarize(exp, result, floor))
    return results, summary


def _f(x, fmt: str = "{:.3g}") -> str:
    return "–" if x is None else fmt.format(x)


def _span(r) -> str:
    if r is None:
        return "–"
    return _f(r[0]) if _f(r[0]) == _f(r[1]) else f"{_f(r[0])}–{_f(r[1])}"


def summary_markdown(summary: list[dict]) -> str:
    lines = ["## Headline", "",
             "| experiment | inside the recipe | spread reduction (inside vs outside) | residual ratio inside / outside (true draws: 1) | MMD² inside / outside (noise floor) | failures inside / outside |",
             "|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(
            f"| {s['title']} | {', '.join(map(str, s['inside'])) or '–'} | {_f(s['variance_reduction_pct'], '{:.0f} %')} | "
            f"{_span(s['residual_ratio_inside'])} / {_span(s['residual_ratio_outside'])} | "
            f"{_span(s['mmd_inside'])} / {_span(s['mmd_outside'])} ({_f(s['mmd_noise_floor'])}) | "
            f"{_f(s['failure_rate_inside'], '{:.0%}')} / {_f(s['failure_rate_outside'], '{:.0%}')} |")
    lines += ["", "Ranges are min–max over the axis values on each side. The spread reduction is the median, over "
              "metrics, of how much less each metric's mean moves between values inside the recipe than between "
              "values outside it; it needs at least two values on each side.", ""]
    return "\n".join(lines)


def write_demo(out_dir, *, quick: bool = False, only: list[str] | None = None,
               progress: Callable[[str], None] | None = None) -> tuple[dict, list[dict]]:
    results, summary = run_demo(quick=quick, only=only, progress=progress)
    intro = INTRO + "\n\n" + summary_markdown(summary)
    paths = write_report(results, out_dir, title="IGA consistency report: reference model demo", intro=intro,
                         extras={"demo": {"quick": quick, "plan": demo_plan(), "summary": summary}})
    return paths, summary
