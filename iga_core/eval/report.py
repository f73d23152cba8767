"""Write protocol results as a report: report.json, report.md, PNG plots and image grids.

The JSON holds every parameter, the recipe digest and the library versions, so anyone can rerun it; wall
clock times live only under "timing" keys, so two runs of the same inputs differ only there. Files are
written to a temporary name in the target folder, fsynced and moved into place.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

from iga_core import __version__
from iga_core.checkpoint.atomic import AtomicWriteFailed, write_atomic, write_text_atomic
from iga_core.eval.errors import EvalUnavailable
from iga_core.eval.metrics import as_float_image
from iga_core.eval.protocol import CIRCULAR, ProtocolResult

REPORT_VERSION = 1
LIBRARIES = ("numpy", "torch", "diffusers", "scipy", "matplotlib", "jsonschema")
GRID_SEEDS = 8
METRIC_LABELS = {
    "sharpness_log10": "sharpness (log10 var. Laplacian)",
    "saturation": "mean saturation",
    "hue": "mean hue",
    "residual_ratio": "residual ratio (1 = true draw)",
    "pairwise_dissimilarity": "pairwise 1 - SSIM",
    "mmd": "MMD² to true draws",
    "ssim_vs_anchor": "SSIM vs anchor",
    "dsaturation_vs_anchor": "Δ saturation vs anchor",
    "dhue_deg_vs_anchor": "Δ hue (°) vs anchor",
    "sharpness_drift_log2_vs_anchor": "sharpness drift (log2) vs anchor",
    "lpips_vs_anchor": "LPIPS vs anchor",
}


def environment() -> dict:
    libs = {}
    for name in LIBRARIES:
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = None
    return {"iga": __version__, "python": sys.version.split()[0], "platform": platform.platform(), "libraries": libs}


def report_dict(results: list[ProtocolResult], *, title: str, extras: dict | None = None) -> dict:
    return {
        "report_version": REPORT_VERSION,
        "title": title,
        "environment": environment(),
        **(extras or {}),
        "runs": [r.to_dict() for r in results],
        "timing": {"total_s": round(sum(r.timing.get("total_s", 0.0) for r in results), 3)},
    }


def without_timing(obj):
    """The report minus every "timing" entry: what must be identical between two runs."""
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if k != "timing"}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


# --- atomic files ---------------------------------------------------------------------------------------


def _save_figure(fig, path: Path) -> None:
    write_atomic(path, lambda fh: fig.savefig(fh, format="png", dpi=110, metadata={"Software": None}), parents=True)


# --- plots ----------------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text).lower()).strip("-") or "run"


def _figure(**kw):
    # matplotlib's Figure, not pyplot: no global backend or figure state in a host process
    from matplotlib.figure import Figure

    return Figure(**kw)


def plotting_status() -> tuple[bool, str]:
    """Whether matplotlib is importable; the host may lack it (then only the image grid is drawn)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False, "matplotlib is not installed (pip install matplotlib); plots skipped, grid drawn with Pillow"
    return True, "matplotlib available"


def _spread_rows(result: ProtocolResult) -> list[tuple[str, float]]:
    ratios = result.headline.get("per_metric_ratio") or {}
    return [(METRIC_LABELS.get(n, n), r) for n, r in ratios.items() if r is not None and np.isfinite(r)]


def has_comparison(result: ProtocolResult) -> bool:
    """Whether the run has a per-seed spread on both sides of the recipe for at least one metric."""
    return bool(_spread_rows(result))


def plot_spread(result: ProtocolResult, path: Path) -> None:
    """Bars: each metric's per-seed spread along the axis inside the recipe, as a fraction of the spread
    outside; the headline's median and its bootstrap interval as a band. Only drawn when there is a
    comparison (`has_comparison`)."""
    rows = _spread_rows(result)
    if not rows:
        raise ValueError("no inside/outside comparison to plot")
    fig = _figure(figsize=(6.4, 1.2 + 0.45 * len(rows)))
    ax = fig.subplots()
    labels, ratios = zip(*rows, strict=True)
    y = np.arange(len(rows))
    ax.barh(y, ratios, color="#3b7dd8")
    ax.axvline(1.0, color="#999", lw=1, ls="--")
    ci = result.headline.get("ci95")
    if ci:
        ax.axvspan(ci[0], ci[1], color="#f0b429", alpha=0.25, label="headline 95 % CI")
        ax.axvline(result.headline["variance_ratio"], color="#b7791f", lw=1.5, label="headline (median)")
        ax.legend(fontsize=7, loc="lower right")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("per-seed spread inside ÷ outside the recipe (log; below 1 = steadier inside)", fontsize=8)
    ax.set_title(result.config.name, fontsize=10)
    fig.tight_layout()
    _save_figure(fig, path)


def plot_values(result: ProtocolResult, path: Path, metric: str) -> None:
    """One metric per axis value (mean over seeds, one dot per seed), inside values in blue."""
    fig = _figure(figsize=(max(5.2, 0.55 * len(result.per_value) + 2), 3.6))
    ax = fig.subplots()
    xs = np.arange(len(result.per_value))
    for i, (value_rows, point) in enumerate(zip(result.per_image, result.points, strict=True)):
        ys = [r.get(metric) for r in value_rows if r.get(metric) is not None and not r["failures"]]
        color = "#3b7dd8" if point.inside else "#d8643b"
        ax.scatter([i] * len(ys), ys, s=8, alpha=0.35, color=color)
        mean = result.per_value[i].get(metric)
        if mean is not None:
            ax.scatter([i], [mean], s=40, color=color, edgecolor="black", zorder=3)
    ax.set_xticks(xs, [str(p.value) for p in result.points], rotation=35, ha="right", fontsize=8)
    ax.set_ylabel(METRIC_LABELS.get(metric, metric), fontsize=9)
    if metric == "residual_ratio":
        ax.axhline(1.0, color="#999", lw=1, ls="--")
        low, high = ax.get_ylim()
        if low > 0 and high / low > 20:  # a prediction-type mismatch lands 30x away from 1
            from matplotlib.ticker import FuncFormatter, NullFormatter

            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_title(f"{result.config.name}\nblue = inside the recipe, orange = outside", fontsize=9)
    fig.tight_layout()
    _save_figure(fig, path)


def plot_grid(result: ProtocolResult, path: Path, seeds: int = GRID_SEEDS, cell: int = 64) -> None:
    """Rows: axis values; columns: the first seeds. Drawn with Pillow, so a host without matplotlib still
    gets it. Non-finite (failed) images show as mid grey; values outside the recipe are marked with x."""
    from PIL import Image, ImageDraw

    n_rows, n_cols = len(result.images), min(seeds, len(result.config.seeds))
    label_w, head_h, pad = 120, 18, 2
    canvas = Image.new("RGB", (label_w + n_cols * (cell + pad), head_h + n_rows * (cell + pad)), "white")
    draw = ImageDraw.Draw(canvas)
    for j in range(n_cols):
        draw.text((label_w + j * (cell + pad) + 2, 3), f"seed {result.config.seeds[j]}", fill="black")
    for i, row in enumerate(result.images):
        y = head_h + i * (cell + pad)
        point = result.points[i]
        draw.text((4, y + cell // 2 - 6), f"{'' if point.inside else 'x '}{point.value}"[:18],
                  fill="#1f5fbf" if point.inside else "#c0392b")
        for j in range(n_cols):
            img = np.nan_to_num(as_float_image(row[j]), nan=0.5, posinf=1.0, neginf=0.0).clip(0, 1)
            tile = Image.fromarray((img * 255).round().astype(np.uint8)).resize((cell, cell), Image.NEAREST)
            canvas.paste(tile, (label_w + j * (cell + pad), y))
    write_atomic(path, lambda fh: canvas.save(fh, format="PNG"), parents=True)


# --- markdown -------------------------------------------------------------------------------------------


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}g}" if abs(x) < 1e4 else f"{x:.3e}"
    return str(x)


def _pct(x) -> str:
    """A reduction in percent: positive = less spread inside the recipe."""
    return "–" if x is None else f"{x:.0f} %"


def _lower(x: float) -> str:
    return f"{x:.0f} % lower" if x >= 0 else f"{-x:.0f} % higher"


def run_markdown(result: ProtocolResult, images: dict[str, str]) -> str:
    d = result.to_dict()
    extra = [k for k in d["per_value"][0] if k not in {"value", "inside", "failure_rate", "failures"}]
    lines = [f"### {result.config.name}", ""]
    lines.append(f"Axis **{result.config.axis}**, {len(result.config.seeds)} seeds, anchor `{d['anchor']}`, "
                 f"fixed parameters `{json.dumps(result.config.base, sort_keys=True)}`, recipe digest `{d['recipe_digest']}`.")
    lines.append("")
    head = ["value", "recipe", "guard", "failures", *extra]
    lines.append("| " + " | ".join(METRIC_LABELS.get(h, h) for h in head) + " |")
    lines.append("|" + "---|" * len(head))
    for point, row in zip(d["split"], d["per_value"], strict=True):
        rules = ", ".join(sorted({f["rule_id"] for f in point["findings"]})) or "–"
        cells = [str(row["value"]), "inside" if row["inside"] else "outside", rules, f"{row['failure_rate']:.0%}"]
        cells += [_fmt(row.get(k)) for k in extra]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    h = d["headline"]
    gi, go = d["groups"]["inside"], d["groups"]["outside"]
    if h.get("per_metric_ratio"):
        lines.append("| metric | per-seed spread ratio inside ÷ outside | reduction | spread of per-value means: reduction |")
        lines.append("|---|---|---|---|")
        for name, ratio in h["per_metric_ratio"].items():
            kind = " (circular)" if name in CIRCULAR else ""
            lines.append(f"| {METRIC_LABELS.get(name, name)}{kind} | {_fmt(ratio)} | "
                         f"{_pct(h['per_metric_reduction_pct'].get(name))} | "
                         f"{_pct(h['mean_spread_reduction_pct'].get(name))} |")
        lines.append(f"| pairwise 1 − SSIM (same seed) | {_fmt(gi.get('pairwise_dissimilarity'))} ÷ "
                     f"{_fmt(go.get('pairwise_dissimilarity'))} | {_pct(h['pairwise_dissimilarity_reduction_pct'])} | |")
        lines.append("")
        lines.append("Per-seed spread = the variance across the values on one side of the recipe for one seed, "
                     "averaged over seeds (it counts that ancestral and SDE samplers draw another picture from the "
                     "same seed). The variance of per-value means is shown for comparison only: it shrinks with the "
                     "number of seeds and favours any small set of deterministic values.")
        lines.append("")
    if h.get("variance_ratio") is None:
        lines.append(f"No headline figure: {h.get('reason') or 'one side is empty'}.")
    else:
        ci = h.get("ci95")
        ci_text = f"95 % CI {_fmt(ci[0])}–{_fmt(ci[1])}" if ci else "no interval (too few values)"
        verdict = ("steadier inside" if ci and ci[1] < 1 else "less steady inside" if ci and ci[0] > 1
                   else "not distinguishable from 1 at this sample size")
        lines.append(f"**Headline: per-seed spread inside ÷ outside the recipe = {_fmt(h['variance_ratio'])} "
                     f"({ci_text}; bootstrap over seeds and values, {h['bootstrap']['draws']} draws): {verdict}. "
                     f"{h['inside_values']} values inside, {h['outside_values']} outside.**")
    if h.get("failure_rate_outside") is not None:
        lines.append("")
        lines.append(f"Failure rate {h['failure_rate_inside']:.0%} inside vs {h['failure_rate_outside']:.0%} outside."
                     if h.get("failure_rate_inside") is not None else
                     f"Failure rate outside {h['failure_rate_outside']:.0%}.")
    if not d["lpips"]["available"]:
        lines += ["", f"LPIPS skipped: {d['lpips']['reason']}."]
    rep = d["seed_repeatability"]
    if rep:
        lines += ["", "Seed repeatability per side (ICC(3,1) over values × seeds; mean Kendall τ between the seed "
                  "vectors of two values):", "", "| metric | ICC inside | ICC outside | τ inside | τ outside |",
                  "|---|---|---|---|---|"]
        for k, v in rep.items():
            lines.append(f"| {METRIC_LABELS.get(k, k)} | {_fmt(v['inside']['icc'], 2)} | {_fmt(v['outside']['icc'], 2)} | "
                         f"{_fmt(v['inside']['kendall_tau'], 2)} | {_fmt(v['outside']['kendall_tau'], 2)} |")
    lines.append("")
    executed = (result.extras or {}).get("executed")
    if executed:
        lines += ["", "What the host executed per value (from its own sampler code):", "",
                  "| value | kind | model evaluated at (timesteps) |", "|---|---|---|"]
        for value, ex in executed.items():
            if not ex:
                lines.append(f"| {value} | not recorded | |")
                continue
            ts = ex.get("timesteps") or []
            shown = ", ".join(f"{t:.0f}" for t in ts[:8]) + (" …" if len(ts) > 8 else "")
            lines.append(f"| {value} | {ex.get('kind')} | {shown or 'its own steps'} |")
    lines += ["", *[f"![{alt}]({src})" for alt, src in images.items()]]
    lines.append("")
    return "\n".join(lines)


def write_report(results: list[ProtocolResult], out_dir, *, title: str, intro: str = "", extras: dict | None = None,
                 image_prefix: str = "eval-") -> dict:
    """Write report.json, report.md and PNGs into out_dir; returns {"json": path, "markdown": path, "images": [...]}.
    Without matplotlib the plots are skipped (the report says so) and only the Pillow grid is drawn."""
    out = Path(out_dir)
    can_plot, plot_note = plotting_status()
    data = report_dict(results, title=title, extras={**(extras or {}), "plots": {"drawn": can_plot, "note": plot_note}})
    try:
        out.mkdir(parents=True, exist_ok=True)
        written, sections = [], []
        for result in results:
            slug = _slug(result.config.name)
            pics = {f"{result.config.name}: image grid": f"{image_prefix}{slug}-grid.png"}
            plot_grid(result, out / pics[f"{result.config.name}: image grid"])
            if can_plot:
                if has_comparison(result):  # else the figure would hold no bars, only a note (issue #15)
                    spread = f"{image_prefix}{slug}-spread.png"
                    plot_spread(result, out / spread)
                    pics[f"{result.config.name}: spread inside vs outside"] = spread
                metric = "residual_ratio" if "residual_ratio" in result.per_value[0] else "sharpness_log10"
                values = f"{image_prefix}{slug}-values.png"
                plot_values(result, out / values, metric)
                pics[f"{result.config.name}: {metric} per value"] = values
            written += [out / p for p in pics.values()]
            sections.append(run_markdown(result, pics))
        env = data["environment"]
        libs = ", ".join(f"{k} {v}" for k, v in env["libraries"].items() if v)
        md = [f"# {title}", "", intro.strip(), "", *sections, "## Environment", "",
              f"iga {env['iga']}, Python {env['python']} on {env['platform']}; {libs}.",
              "" if can_plot else f"\n{plot_note}.", ""]
        write_text_atomic(out / "report.md", "\n".join(md))
        write_text_atomic(out / "report.json", json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    except (OSError, AtomicWriteFailed) as exc:
        reason = exc.message if isinstance(exc, AtomicWriteFailed) else exc.strerror or exc
        raise EvalUnavailable(f"cannot write the report into {out}: {reason}",
                              "pick a writable folder with free space (-o DIR)") from None
    return {"json": str(out / "report.json"), "markdown": str(out / "report.md"), "images": [str(p) for p in written]}
