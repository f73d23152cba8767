"""Write the pre-registered experiment (`evidence.run_evidence`) as report.json, report.md and PNGs.

report.json holds every number, draw, guard trail and the executed sigmas / timesteps of every cell (no
images); report.md the headline with its interval and decision, the per-model and secondary figures, the
sweeps; the PNGs are the per-configuration FD with intervals, the sample grids per arm and the sweeps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from iga_core.checkpoint.atomic import AtomicWriteFailed, write_atomic, write_text_atomic
from iga_core.eval.errors import EvalUnavailable
from iga_core.eval.protocol import _clean
from iga_core.eval.report import _figure, _save_figure, environment, plotting_status

MODEL_TITLES = {"eps": "eps teacher", "v": "v teacher", "student": "4-step student"}
CLAIM_RATIO = 0.7  # the design's 30-50 % claim: H <= 0.7


def decision(ci) -> str:
    if not ci:
        return "no interval"
    if ci[1] < CLAIM_RATIO:
        return "supported (upper bound below 0.7)"
    if ci[0] > CLAIM_RATIO:
        return "contradicted (lower bound above 0.7)"
    return "inconclusive (the interval contains 0.7)"


def _f(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and not np.isfinite(x):
        return "–"
    return f"{x:.{digits}g}" if isinstance(x, float) else str(x)


def _ci(entry: dict, digits: int = 3) -> str:
    ci = entry.get("ci95")
    return f"{_f(entry.get('value'), digits)} [{_f(ci[0], digits)}, {_f(ci[1], digits)}]" if ci else _f(entry.get("value"))


def plot_fd_per_config(result: dict, path: Path) -> None:
    models = list(result["models"])
    fig = _figure(figsize=(11, 3.4))
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    floor = result["noise_floor"]["p95"]
    for ax, m in zip(axes, models, strict=True):
        rows = result["models"][m]["rows"]
        order = np.argsort([r["baseline_cell"]["fd"] for r in rows])
        xs = np.arange(len(rows))
        base = np.array([rows[i]["baseline_cell"]["fd"] for i in order])
        lo = np.array([(rows[i]["baseline_cell"]["fd_ci95"] or [np.nan, np.nan])[0] for i in order])
        hi = np.array([(rows[i]["baseline_cell"]["fd_ci95"] or [np.nan, np.nan])[1] for i in order])
        iga = np.array([rows[i]["iga_cell"]["fd"] for i in order])
        # the interval as drawn from its own ends: a bootstrap FD interval need not contain the full-sample FD
        # (resampling with repeats biases FD upward), so it is no error bar around the point
        ax.vlines(xs - 0.12, lo, hi, color="#d8643b", lw=0.8, label="baseline (A1111) 95 % CI")
        ax.scatter(xs - 0.12, base, s=10, color="#d8643b", zorder=3, label="baseline (A1111)")
        ax.scatter(xs + 0.12, iga, s=10, color="#3b7dd8", zorder=3, label="IGA arm")
        ax.axhline(floor, color="#999", ls="--", lw=0.8, label="noise floor (p95)")
        ax.set_yscale("log")
        ax.set_title(MODEL_TITLES.get(m, m), fontsize=9)
        ax.set_xlabel("draw (sorted by baseline FD)", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel("FD to the test set (classifier features)", fontsize=8)
    axes[0].legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    _save_figure(fig, path)


def plot_sweep(result: dict, name: str, path: Path) -> None:
    sweep = result["sweeps"][name]
    models = list(sweep)
    fig = _figure(figsize=(11, 3.6))
    axes = fig.subplots(1, len(models), squeeze=False)[0]
    for ax, m in zip(axes, models, strict=True):
        rows = sweep[m]["rows"]
        xs = np.arange(len(rows))
        ax.plot(xs, [r["baseline"]["fd"] for r in rows], "o-", ms=3, color="#d8643b", lw=0.8, label="baseline")
        ax.plot(xs, [r["iga"]["fd"] for r in rows], "s-", ms=3, color="#3b7dd8", lw=0.8, label="IGA arm")
        ax.set_yscale("log")
        ax.set_xticks(xs, [str(r["value"]) for r in rows], rotation=60, ha="right", fontsize=6)
        ax.set_title(f"{MODEL_TITLES.get(m, m)}: {name} sweep", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    axes[0].set_ylabel("FD", fontsize=8)
    axes[0].legend(fontsize=6)
    fig.tight_layout()
    _save_figure(fig, path)


def plot_grids(result: dict, model: str, path: Path, cell: int = 32) -> None:
    from PIL import Image, ImageDraw

    arms = result["grids"][model]
    rows = len(arms["baseline"])
    cols = len(arms["baseline"][0]) if rows else 0
    pad, head, gap = 2, 16, 16
    width = 2 * cols * (cell + pad) + gap
    canvas = Image.new("RGB", (width, head + rows * (cell + pad)), "white")
    draw = ImageDraw.Draw(canvas)
    for a, arm in enumerate(("baseline", "iga")):
        x0 = a * (cols * (cell + pad) + gap)
        draw.text((x0 + 2, 2), "baseline (A1111)" if arm == "baseline" else "IGA arm", fill="black")
        for i, imgs in enumerate(arms[arm]):
            for j, img in enumerate(imgs):
                arr = (np.nan_to_num(np.asarray(img), nan=0.5).clip(0, 1) * 255).round().astype(np.uint8)
                tile = Image.fromarray(arr).resize((cell, cell), Image.NEAREST)
                canvas.paste(tile, (x0 + j * (cell + pad), head + i * (cell + pad)))
    write_atomic(path, lambda fh: canvas.save(fh, format="PNG"), parents=True)


def markdown(result: dict, pictures: dict) -> str:
    h = result["headline"]
    H = h["H"]
    lines = ["# IGA evidence: trained models, host-faithful baseline, pre-registered metrics", ""]
    if result["quick"]:
        lines += ["**Quick mode (CI size): too few draws and seeds to be evidence.**", ""]
    lines += [f"**Headline H = between-configuration variance of log FD, IGA arm ÷ A1111 baseline (summed over the "
              f"three models) = {_ci(H)}** (95 % bootstrap CI over draws and seeds, "
              f"{result['plan']['full' if not result['quick'] else 'quick']['bootstrap']} replicates). "
              f"The design's 30–50 % claim (H ≤ 0.7): **{decision(H.get('ci95'))}**.", "",
              f"{len(result['draws'])} draws per model, {len(result['seeds'])} seeds each (seed mod 10 = class); "
              f"noise floor of FD with {result['noise_floor']['n']} real images: median "
              f"{_f(result['noise_floor']['median'])}, 95th percentile {_f(result['noise_floor']['p95'])}.", ""]
    lines += ["| model | Var log FD baseline / IGA / strict | ratio IGA ÷ baseline | ratio strict ÷ baseline | "
              "mean log FD IGA − baseline | accuracy IGA − baseline | failure rate baseline / IGA | ICC IGA − baseline | "
              "same-seed feature distance ratio | same-seed 1−SSIM ratio | draws the guard accepted |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for m, d in result["models"].items():
        a = d["arms"]
        accepted = sum(r["guard_accepted"] for r in d["rows"])
        lines.append(
            f"| {MODEL_TITLES.get(m, m)} | {_f(a['baseline']['var_log_fd'])} / {_f(a['iga']['var_log_fd'])} / "
            f"{_f(a['strict']['var_log_fd'])} | {_ci(h[f'{m}.ratio'])} | {_ci(h[f'{m}.ratio_strict'])} | "
            f"{_ci(h[f'{m}.diff.mean_fd'])} | {_ci(h[f'{m}.diff.accuracy'])} | "
            f"{_f(a['baseline']['failure_rate'])} / {_f(a['iga']['failure_rate'])} | {_ci(h[f'{m}.diff.icc'])} | "
            f"{_ci(h[f'{m}.ratio.feature_distance'])} | {_ci(h[f'{m}.ratio.ssim_distance'])} | "
            f"{accepted}/{len(d['rows'])} |")
    lines += ["", f"Failure rate, relative reduction IGA vs baseline (all models): {_ci(h['failure_reduction'])} "
              "(claim: ≥ 0.2).", ""]
    lines += ["Hue and saturation (per-seed spread across draws; circular variance for hue):", "",
              "| model | hue spread baseline / IGA | saturation spread baseline / IGA | ICC baseline / IGA | "
              "Kendall τ baseline / IGA |", "|---|---|---|---|---|"]
    for m, d in result["models"].items():
        a = d["arms"]
        lines.append(f"| {MODEL_TITLES.get(m, m)} | {_f(a['baseline']['hue_spread'])} / {_f(a['iga']['hue_spread'])} | "
                     f"{_f(a['baseline']['saturation_spread'])} / {_f(a['iga']['saturation_spread'])} | "
                     f"{_f(a['baseline']['icc'])} / {_f(a['iga']['icc'])} | "
                     f"{_f(a['baseline']['kendall_tau'])} / {_f(a['iga']['kendall_tau'])} |")
    lines += ["", "Within the baseline: draws the guard accepts vs those it blocks (FD of the baseline run):", "",
              "| model | accepted: draws, mean FD, Var log FD | blocked: draws, mean FD, Var log FD |", "|---|---|---|"]
    for m, d in result["models"].items():
        sp = d["baseline_split"]
        lines.append(f"| {MODEL_TITLES.get(m, m)} | {sp['accepted']['draws']}, {_f(sp['accepted']['mean_fd'])}, "
                     f"{_f(sp['accepted']['var_log_fd'])} | {sp['blocked']['draws']}, {_f(sp['blocked']['mean_fd'])}, "
                     f"{_f(sp['blocked']['var_log_fd'])} |")
    for name, sweep in result["sweeps"].items():
        if name == "prediction_type":
            continue
        lines += ["", f"### {name.capitalize()} sweep", "", "| value | " + " | ".join(
            f"{MODEL_TITLES.get(m, m)} FD baseline / IGA" for m in sweep) + " |", "|---|" + "---|" * len(sweep)]
        values = [r["value"] for r in next(iter(sweep.values()))["rows"]]
        for i, v in enumerate(values):
            cells = [f"{_f(sweep[m]['rows'][i]['baseline']['fd'])} / {_f(sweep[m]['rows'][i]['iga']['fd'])}"
                     + ("" if sweep[m]["rows"][i]["guard_accepted"] else " (fixed)") for m in sweep]
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
        lines.append("| Var log FD ratio IGA ÷ baseline | " + " | ".join(_f(sweep[m]["ratio"]) for m in sweep) + " |")
    pt = result["sweeps"]["prediction_type"]
    lines += ["", f"Prediction type: the v teacher at {pt['config']} scores FD {_f(pt['as_v_fd'])} sampled as v and "
              f"{_f(pt['as_eps_fd'])} sampled as eps (what a host without its v config does).", ""]
    lines += [f"![{alt}]({src})" for alt, src in pictures.items()]
    t = result["timing"]
    env = environment()
    lines += ["", f"Ran in {t['wall_s']:.0f} s wall, {t['cpu_s']:.0f} s CPU ({t['cells']} cells); "
              f"iga {env['iga']}, Python {env['python']}, " + ", ".join(f"{k} {v}" for k, v in env["libraries"].items() if v)
              + ".", ""]
    return "\n".join(lines)


def to_json(result: dict) -> dict:
    out = {k: v for k, v in result.items() if k != "grids"}
    return _clean({"report": "iga evidence", "environment": environment(), **out})


def write_evidence(result: dict, out_dir) -> dict:
    out = Path(out_dir)
    can_plot, note = plotting_status()
    pictures = {}
    try:
        out.mkdir(parents=True, exist_ok=True)
        # the numbers first: a plot that fails must not lose them
        write_text_atomic(out / "report.json", json.dumps(to_json(result), indent=1, sort_keys=True,
                                                          ensure_ascii=False) + "\n")
        if can_plot:
            plot_fd_per_config(result, out / "evidence-fd-per-config.png")
            pictures["FD per configuration, both arms"] = "evidence-fd-per-config.png"
            for name in result["sweeps"]:
                if name != "prediction_type":
                    plot_sweep(result, name, out / f"evidence-sweep-{name}.png")
                    pictures[f"{name} sweep"] = f"evidence-sweep-{name}.png"
        for m in result["grids"]:
            plot_grids(result, m, out / f"evidence-grid-{m}.png")
            pictures[f"samples, {MODEL_TITLES.get(m, m)}: rows = draws, columns = seeds"] = f"evidence-grid-{m}.png"
        md = markdown(result, pictures) + ("" if can_plot else f"\n{note}.\n")
        write_text_atomic(out / "report.md", md)
    except (OSError, AtomicWriteFailed) as exc:
        reason = exc.message if isinstance(exc, AtomicWriteFailed) else exc.strerror or exc
        raise EvalUnavailable(f"cannot write the report into {out}: {reason}",
                              "pick a writable folder with free space (-o DIR)") from None
    return {"json": str(out / "report.json"), "markdown": str(out / "report.md"),
            "images": [str(out / p) for p in pictures.values()]}
