"""The reproducibility protocol: vary one axis, hold everything else, split by the guard, repeat over seeds.

    result = run_protocol(generate, ProtocolConfig.from_dict({...}), recipe,
                          progress=lambda done, total, label: ..., should_stop=lambda: False)

`generate(params) -> image` is the only thing a host supplies (an HxWx3 uint8 or 0..1 float array). The
params dict is `config.base` with the axis value and the seed filled in. Every axis value is judged by
the guard (`iga_core.guard.evaluate`, standard mode); it is *inside* the recipe when the verdict has no
hard and no soft findings. The metrics then compare how much the images move along the axis inside the
recipe with how much they move outside it: the headline is the per-seed spread inside ÷ outside (median
over metrics) with a bootstrap 95 % interval over seeds and values (`_headline`); seed repeatability
(ICC, Kendall tau) is given per side.

Nothing here reads the clock except the separate `timing` field, and seeds fix all randomness, so the
same inputs give the same `result.to_dict()` minus `timing`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from itertools import combinations

import numpy as np

from iga_core.eval import metrics as M
from iga_core.eval import stats as S
from iga_core.eval.errors import EvalConfigInvalid, EvalInterrupted
from iga_core.eval.lpips_local import LpipsScorer, lpips_status

AXES = ("sampler", "schedule", "steps", "cfg", "prediction_type")
AXIS_TYPES = {"sampler": str, "schedule": str, "steps": int, "cfg": float, "prediction_type": str}
CONFIG_KEYS = ("name", "axis", "values", "base", "seeds", "anchor")

#: per-image metrics whose spread along the axis is compared inside vs outside; hue is an angle
SPREAD_METRICS = ("sharpness_log10", "saturation", "hue")
CIRCULAR = frozenset({"hue"})

Generate = Callable[[dict], object]
Progress = Callable[[int, int, str], None]
ImageScore = Callable[[np.ndarray], float]
SetScore = Callable[[list[np.ndarray]], float]


@dataclass(frozen=True)
class ProtocolConfig:
    """One protocol run: the axis, its values, the fixed parameters and the seeds."""

    name: str
    axis: str
    values: tuple
    base: dict
    seeds: tuple[int, ...]
    anchor: object = None  # the value every image is compared to; default: base[axis] or first inside

    @classmethod
    def from_dict(cls, d: dict) -> ProtocolConfig:
        if not isinstance(d, dict):
            raise EvalConfigInvalid("a protocol config must be a JSON object", "see docs/evaluation.md, 'Your own sweep'")
        unknown = sorted(set(d) - set(CONFIG_KEYS))
        if unknown:
            raise EvalConfigInvalid(f"unknown protocol keys: {', '.join(unknown)}", f"allowed: {', '.join(CONFIG_KEYS)}")
        axis = d.get("axis")
        if axis not in AXES:
            raise EvalConfigInvalid(f"axis must be one of {', '.join(AXES)}, got {axis!r}", "vary exactly one of these")
        values = d.get("values")
        if not isinstance(values, list) or len(values) < 2:
            raise EvalConfigInvalid("values must list at least two axis values", f"e.g. two {axis} values")
        values = tuple(_coerce(axis, v) for v in values)
        if len(set(values)) != len(values):
            raise EvalConfigInvalid(f"values repeat: {list(values)}", "list each value once")
        base = d.get("base", {})
        if not isinstance(base, dict):
            raise EvalConfigInvalid("base must be an object of fixed parameters", "e.g. {\"prompt\": ..., \"steps\": 20}")
        if "seed" in base:
            raise EvalConfigInvalid("base must not fix the seed", "list the seeds under 'seeds'")
        seeds = d.get("seeds")
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise EvalConfigInvalid("seeds must be a non-empty list of integers", "e.g. [0, 1, 2, 3]")
        if len(set(seeds)) != len(seeds):
            raise EvalConfigInvalid("seeds repeat", "list each seed once")
        anchor = d.get("anchor")
        if anchor is not None:
            anchor = _coerce(axis, anchor)
            if anchor not in values:
                raise EvalConfigInvalid(f"anchor {anchor!r} is not one of the values", "pick the anchor from values")
        return cls(str(d.get("name") or f"{axis} sweep"), axis, values, dict(base), tuple(seeds), anchor)

    def to_dict(self) -> dict:
        return {"name": self.name, "axis": self.axis, "values": list(self.values), "base": dict(self.base),
                "seeds": list(self.seeds), "anchor": self.anchor}

    def params(self, value, seed: int) -> dict:
        return {**self.base, self.axis: value, "seed": seed}


def _coerce(axis: str, value):
    kind = AXIS_TYPES[axis]
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise EvalConfigInvalid(f"{axis} value {value!r} has the wrong type", f"use {kind.__name__} values")
    try:
        out = kind(value)
    except (TypeError, ValueError):
        raise EvalConfigInvalid(f"{axis} value {value!r} is not a {kind.__name__}", f"use {kind.__name__} values") from None
    if kind is int and out != value:
        raise EvalConfigInvalid(f"{axis} value {value!r} is not a whole number", "use integers")
    if kind is float and not math.isfinite(out):
        raise EvalConfigInvalid(f"{axis} value {value!r} is not finite", "use finite numbers")
    return out


# --- guard split ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AxisPoint:
    value: object
    inside: bool
    findings: tuple[dict, ...]  # hard/soft findings of the guard, as Finding.to_dict()

    def to_dict(self) -> dict:
        return {"value": self.value, "inside": self.inside, "findings": list(self.findings)}


def guard_request(params: dict):
    from iga_core.guard import GuardRequest

    names = {f.name for f in fields(GuardRequest)}
    return GuardRequest(**{k: v for k, v in params.items() if k in names and v is not None})


def split_by_guard(recipe, config: ProtocolConfig) -> tuple[AxisPoint, ...]:
    """Judge every axis value with the guard (standard mode). A value is inside when its verdict has no
    hard and no soft findings. The fixed parameters, with the recipe's own value on the axis, must be
    inside, else the split would measure the fixed parameters, not the axis."""
    from iga_core.guard import GuardPolicy, evaluate
    from iga_core.recipe import Recipe

    # a recipe document (an eval config's JSON) is parsed here: a typed RecipeInvalid before any image
    recipe = recipe if isinstance(recipe, Recipe) else Recipe.from_dict(recipe)
    policy = GuardPolicy(mode="standard")

    def problems(params: dict) -> tuple[dict, ...]:
        verdict = evaluate(recipe, guard_request(params), policy)
        return tuple(f.to_dict() for f in verdict.findings if f.severity in ("hard", "soft"))

    base_problems = problems(config.params(_recipe_value(recipe, config.axis), 0))
    if base_problems:
        rules = ", ".join(sorted({f["rule_id"] for f in base_problems}))
        raise EvalConfigInvalid(
            f"the fixed parameters are already outside the recipe ({rules})",
            "fix prompt-independent parameters (size, VAE, CFG, steps...) to recipe values; vary only the axis",
        )
    return tuple(AxisPoint(v, not (found := problems(config.params(v, 0))), found) for v in config.values)


def _recipe_value(recipe, axis: str):
    """The recipe's own value for an axis: what the fixed parameters are checked with."""
    return {
        "sampler": lambda: recipe.sampler.name,
        "schedule": lambda: recipe.scheduler.name,
        "steps": lambda: recipe.steps.default,
        "cfg": lambda: recipe.cfg.default,
        "prediction_type": lambda: recipe.prediction_type,
    }[axis]()


# --- the run --------------------------------------------------------------------------------------------


@dataclass
class ProtocolResult:
    """Everything a report needs. `images[i][j]` is value i, seed j (kept out of the JSON)."""

    config: ProtocolConfig
    points: tuple[AxisPoint, ...]
    anchor: object
    per_image: list[list[dict]]
    per_value: list[dict]
    groups: dict
    repeatability: dict
    headline: dict
    lpips: dict
    thresholds: dict
    recipe_digest: str | None
    recipe: dict = field(default_factory=dict)  # recorded whole, so a rerun needs nothing else
    extras: dict = field(default_factory=dict)  # what the caller adds (model description, notes)
    timing: dict = field(default_factory=dict)
    images: list[list[np.ndarray]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        return _clean({
            "config": self.config.to_dict(),
            "recipe_digest": self.recipe_digest,
            "recipe": self.recipe,
            "anchor": self.anchor,
            "split": [p.to_dict() for p in self.points],
            "per_value": self.per_value,
            "per_image": self.per_image,
            "groups": self.groups,
            "seed_repeatability": self.repeatability,
            "headline": self.headline,
            "lpips": self.lpips,
            "failure_thresholds": self.thresholds,
            "extras": self.extras,
            "timing": self.timing,
        })


def run_protocol(
    generate: Generate,
    config: ProtocolConfig,
    recipe,
    *,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    image_scores: dict[str, ImageScore] | None = None,
    set_scores: dict[str, SetScore] | None = None,
    thresholds: M.FailureThresholds | None = None,
    use_lpips: bool = True,
    bootstrap_draws: int = S.BOOTSTRAP_DRAWS,
) -> ProtocolResult:
    """Run the protocol against `recipe` (a dict or an `iga_core.recipe.Recipe`). `image_scores` add per-image metrics (their spread is compared like the built-in
    ones); `set_scores` score all seeds of one value together (e.g. a two-sample distance)."""
    from iga_core.recipe import metadata_sha256

    thresholds = thresholds or M.FailureThresholds()
    recipe_dict = recipe.to_dict() if hasattr(recipe, "to_dict") else dict(recipe)  # dict or Recipe
    started = time.perf_counter()
    points = split_by_guard(recipe, config)
    anchor = _anchor(config, points)
    image_scores, set_scores = dict(image_scores or {}), dict(set_scores or {})
    status = lpips_status() if use_lpips else None
    lpips = LpipsScorer() if status and status.available else None

    total = len(config.values) * len(config.seeds)
    images: list[list[np.ndarray]] = []
    done = 0
    for value in config.values:
        row = []
        for seed in config.seeds:
            if should_stop is not None and should_stop():
                raise EvalInterrupted(f"stopped after {done} of {total} images", "run it again to get a report")
            row.append(_checked_image(generate(config.params(value, seed)), value, seed))
            done += 1
            if progress is not None:
                progress(done, total, f"{config.axis}={value} seed={seed}")
        images.append(row)
    generated = time.perf_counter()

    a = config.values.index(anchor)
    per_image = [
        [_image_metrics(img, images[a][j], thresholds, image_scores, lpips) for j, img in enumerate(row)]
        for row in images
    ]
    metric_names = (*SPREAD_METRICS, *image_scores)
    per_value = [
        _value_summary(config.values[i], points[i].inside, per_image[i], images[i], metric_names, set_scores)
        for i in range(len(config.values))
    ]
    groups = {
        name: _group_stats([i for i, p in enumerate(points) if p.inside is (name == "inside")], per_image, per_value,
                           images, (*metric_names, *set_scores))
        for name in ("inside", "outside")
    }
    result = ProtocolResult(
        config=config,
        points=points,
        anchor=anchor,
        per_image=per_image,
        per_value=per_value,
        groups=groups,
        repeatability=_repeatability(per_image, points, metric_names),
        headline=_headline(groups, per_image, points, metric_names, draws=bootstrap_draws),
        lpips=status.to_dict() if status else {"available": False, "reason": "disabled by the caller"},
        thresholds=thresholds.to_dict(),
        recipe_digest=metadata_sha256(recipe_dict),
        recipe=recipe_dict,
        images=images,
    )
    result.timing = {"generate_s": round(generated - started, 3), "total_s": round(time.perf_counter() - started, 3),
                     "images": total}
    return result


def _anchor(config: ProtocolConfig, points: Sequence[AxisPoint]):
    if config.anchor is not None:
        return config.anchor
    if config.base.get(config.axis) in config.values:
        return config.base[config.axis]
    return next((p.value for p in points if p.inside), config.values[0])


def _checked_image(image, value, seed) -> np.ndarray:
    """The image as an HxWx3 array in its own dtype: a host's uint8 output stays uint8 (an 8-byte float
    copy of a 1024x1024 image is 25 MB, and a sweep keeps every image for the pairwise metrics)."""
    if hasattr(image, "convert") and getattr(image, "mode", "RGB") != "RGB":
        image = image.convert("RGB")  # PIL images from a host (RGBA, L, ...)
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or not (arr.dtype == np.uint8 or np.issubdtype(arr.dtype, np.floating)):
        raise EvalConfigInvalid(
            f"generate() returned an unusable image for value {value!r}, seed {seed}: "
            f"shape {arr.shape}, dtype {arr.dtype}",
            "return an HxWx3 uint8 array, a 0..1 float array or an RGB PIL image",
        )
    return arr


def _finite(image: np.ndarray) -> bool:
    return image.dtype == np.uint8 or bool(np.isfinite(image).all())


def _image_metrics(img, anchor_img, thresholds, image_scores, lpips) -> dict:
    failures = M.detect_failures(img, thresholds)
    out: dict = {"failures": failures}
    if "nan" in failures:
        return out  # nothing else is measurable on a non-finite image
    hue, sat = M.hue_saturation(img)
    out.update({"sharpness_log10": math.log10(M.sharpness(img) + 1e-12), "saturation": sat, "hue": hue})
    for name, fn in image_scores.items():
        out[name] = float(fn(img))
    if _finite(anchor_img):
        a_hue, a_sat = M.hue_saturation(anchor_img)
        out["vs_anchor"] = {
            "ssim": M.ssim(img, anchor_img),
            "dhue_deg": M.hue_difference_deg(a_hue, hue),
            "dsaturation": sat - a_sat,
            "sharpness_drift_log2": M.sharpness_drift(img, anchor_img),
            **({"lpips": lpips(img, anchor_img)} if lpips else {}),
        }
    return out


def _column(rows: list[dict], name: str) -> np.ndarray:
    return np.array([r.get(name, np.nan) for r in rows], dtype=np.float64)


def _value_summary(value, inside, rows, imgs, metric_names, set_scores) -> dict:
    ok = [r for r in rows if not r["failures"]]
    summary = {
        "value": value,
        "inside": inside,
        "failure_rate": 1.0 - len(ok) / len(rows),
        "failures": {k: sum(k in r["failures"] for r in rows) for k in M.FAILURE_KINDS},
    }
    for name in metric_names:
        col = _column(rows, name)
        col = col[np.isfinite(col)]
        if name in CIRCULAR:
            summary[name] = M.circular_mean_deg(col)[0] if len(col) else None
        else:
            summary[name] = float(col.mean()) if len(col) else None
    vs = [r["vs_anchor"] for r in rows if "vs_anchor" in r]
    for key in ("ssim", "dsaturation", "sharpness_drift_log2", "lpips"):
        col = [v[key] for v in vs if key in v]
        summary[f"{key}_vs_anchor"] = float(np.mean(col)) if col else None
    dh = [v["dhue_deg"] for v in vs if math.isfinite(v["dhue_deg"])]  # grey images have no hue
    summary["dhue_deg_vs_anchor"] = (
        M.hue_difference_deg(0.0, M.circular_mean_deg(np.mod(dh, 360.0))[0]) if dh else None
    )
    finite = [img for img in imgs if _finite(img)]
    for name, fn in set_scores.items():
        summary[name] = float(fn(finite)) if len(finite) >= 2 else None
    return summary


def _group_stats(idx: list[int], per_image, per_value, images, metric_names) -> dict:
    """How much each metric moves across the group's axis values.

    `spread` (the headline's basis): the variance, across the group's values, of each value's mean over
    seeds -- a systematic shift the axis causes. `per_seed_spread`: the variance across values for one
    seed, averaged over seeds; it also counts that ancestral/SDE samplers draw a different picture from
    the same seed. `pairwise_dissimilarity`: mean 1 - SSIM between images of one seed. Failed images are
    left out of all three and counted in `failure_rate`."""
    stats: dict = {"values": len(idx)}
    if not idx:
        return stats
    n_seeds = len(per_image[0])
    rows = [per_image[i][j] for i in idx for j in range(n_seeds)]
    stats["failure_rate"] = sum(bool(r["failures"]) for r in rows) / len(rows)
    spread, per_seed = {}, {}
    for name in metric_names:
        circular = name in CIRCULAR
        means = [np.nan if per_value[i].get(name) is None else per_value[i][name] for i in idx]
        spread[name] = _finite_or_none(M.axis_spread(means, circular=circular))
        if all(name not in r for r in rows):
            continue  # a set score has no per-image value
        seeds = [
            M.axis_spread([np.nan if per_image[i][j]["failures"] else per_image[i][j].get(name, np.nan) for i in idx],
                          circular=circular)
            for j in range(n_seeds)
        ]
        finite = [x for x in seeds if math.isfinite(x)]
        per_seed[name] = float(np.mean(finite)) if finite else None
    stats["spread"] = spread
    stats["per_seed_spread"] = per_seed
    dissim = [
        1.0 - M.ssim(images[i][j], images[k][j])
        for j in range(n_seeds)
        for i, k in combinations(idx, 2)
        if _finite(images[i][j]) and _finite(images[k][j])
    ]
    stats["pairwise_dissimilarity"] = float(np.mean(dissim)) if dissim else None
    return stats


def _finite_or_none(x: float):
    return float(x) if math.isfinite(x) else None


def _matrix(per_image, idx, name) -> np.ndarray:
    """values x seeds of one per-image metric; failed images are NaN."""
    return np.array([[np.nan if r["failures"] else r.get(name, np.nan) for r in per_image[i]] for i in idx],
                    dtype=np.float64)


def _repeatability(per_image, points, metric_names) -> dict:
    """Seed repeatability per side of the recipe: does a seed that scores high under one value score high
    under the others? ICC(3,1) over the values x seeds matrix (values as raters) and the mean Kendall tau
    between the seed vectors of every pair of values, each computed inside and outside separately (a
    pooled figure would mix the two sides it is meant to compare)."""
    out: dict = {}
    sides = {"inside": [i for i, p in enumerate(points) if p.inside],
             "outside": [i for i, p in enumerate(points) if not p.inside]}
    for name in metric_names:
        if name in CIRCULAR:
            continue  # an angle has no ranking
        entry = {}
        for side, idx in sides.items():
            m = _matrix(per_image, idx, name)
            keep = np.isfinite(m).all(axis=0) if m.size else np.zeros(0, bool)
            m = m[:, keep] if m.size else m
            entry[side] = {"icc": _finite_or_none(S.icc_consistency(m)) if len(idx) >= 2 else None,
                           "kendall_tau": _finite_or_none(S.mean_pairwise_tau(m)) if len(idx) >= 2 else None,
                           "values": len(idx), "seeds": int(keep.sum())}
        out[name] = entry
    return out


def _reduction(inside, outside):
    if inside is None or outside is None or outside <= 0:
        return None
    return 100.0 * (1.0 - inside / outside)


def _per_seed_spread(m: np.ndarray, circular: bool) -> float:
    """Mean over seeds (columns) of the spread across values (rows)."""
    vals = [M.axis_spread(m[:, j], circular=circular) for j in range(m.shape[1])]
    vals = [v for v in vals if math.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def _ratio(a: float, b: float) -> float:
    return a / b if math.isfinite(a) and math.isfinite(b) and b > 0 else float("nan")


def _headline(groups: dict, per_image, points, metric_names, *, draws: int = S.BOOTSTRAP_DRAWS) -> dict:
    """The headline: how much a seed's image moves when the axis value changes, inside the recipe relative
    to outside it. Per metric, the per-seed spread (variance across the side's values for one seed, mean
    over seeds) inside divided by the same outside; the figure is the median of those ratios over metrics,
    and its 95 % interval comes from a bootstrap that resamples seeds (paired between the sides) and values
    within each side. Per-value means are not used: their variance shrinks with the number of seeds and
    rewards any small set of deterministic values (issue #15)."""
    inside, outside = groups["inside"], groups["outside"]
    base = {"statistic": "median over metrics of per-seed spread inside / outside (variance across values "
                         "for one seed, mean over seeds)",
            "failure_rate_inside": inside.get("failure_rate"), "failure_rate_outside": outside.get("failure_rate"),
            "failure_reduction_pct": _reduction(inside.get("failure_rate"), outside.get("failure_rate")),
            "inside_values": inside.get("values", 0), "outside_values": outside.get("values", 0)}
    if inside.get("values", 0) < 2 or outside.get("values", 0) < 2:
        return {**base, "variance_ratio": None, "ci95": None, "variance_reduction_pct": None,
                "reason": "the headline needs at least two values on each side of the recipe "
                          f"({base['inside_values']} inside, {base['outside_values']} outside); list more values"}
    idx_in = [i for i, p in enumerate(points) if p.inside]
    idx_out = [i for i, p in enumerate(points) if not p.inside]
    names = [n for n in metric_names if any(n in r for row in per_image for r in row)]
    mats = {n: (_matrix(per_image, idx_in, n), _matrix(per_image, idx_out, n)) for n in names}

    def ratios(seeds=None, rows_in=None, rows_out=None) -> dict:
        out = {}
        for n, (a, b) in mats.items():
            a = a if rows_in is None else a[rows_in]
            b = b if rows_out is None else b[rows_out]
            if seeds is not None:
                a, b = a[:, seeds], b[:, seeds]
            out[n] = _ratio(_per_seed_spread(a, n in CIRCULAR), _per_seed_spread(b, n in CIRCULAR))
        return out

    def median(r: dict) -> float:
        finite = [v for v in r.values() if math.isfinite(v)]
        return float(np.median(finite)) if finite else float("nan")

    point = ratios()
    n_seeds = len(per_image[0])

    def replicate(rng):
        seeds, rows_in, rows_out = S.resample(rng, n_seeds), S.resample(rng, len(idx_in)), S.resample(rng, len(idx_out))
        if len(set(rows_in.tolist())) < 2 or len(set(rows_out.tolist())) < 2:
            return float("nan")  # a side drawn as one value repeated has no spread: undefined, counted as such
        return median(ratios(seeds, rows_in, rows_out))

    boot = S.bootstrap_ci(replicate, draws=draws)
    figure = median(point)
    ci = boot["ci"]
    return {**base,
            "variance_ratio": _finite_or_none(figure),
            "ci95": ci,
            "variance_reduction_pct": None if not math.isfinite(figure) else 100.0 * (1.0 - figure),
            "reduction_ci95_pct": None if ci is None else [100.0 * (1.0 - ci[1]), 100.0 * (1.0 - ci[0])],
            "bootstrap": {k: boot[k] for k in ("draws", "undefined", "seed", "level")},
            "reason": None if math.isfinite(figure) else "no metric has a finite spread on both sides",
            "per_metric_ratio": {n: _finite_or_none(v) for n, v in point.items()},
            "per_metric_reduction_pct": {n: (None if not math.isfinite(v) else 100.0 * (1.0 - v))
                                         for n, v in point.items()},
            "mean_spread_reduction_pct": {n: _reduction(inside["spread"].get(n), outside["spread"].get(n))
                                          for n in inside.get("spread", {})},
            "pairwise_dissimilarity_reduction_pct": _reduction(inside.get("pairwise_dissimilarity"),
                                                               outside.get("pairwise_dissimilarity"))}


def _clean(obj):
    """JSON-safe and stable: NaN/inf become null, floats keep 6 significant digits, numpy scalars unwrap."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        x = float(obj)
        return float(f"{x:.6g}") if math.isfinite(x) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj
