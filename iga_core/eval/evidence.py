"""The pre-registered experiment (docs/evaluation.md, "Pre-registration"): the trained models, sampled as
A1111 v1.10.1 samples them (the baseline arm) and through the guard (the IGA arm), scored in the features of
the classifier trained here, with bootstrap intervals over draws and seeds.

    result = run_evidence(quick=False, progress=print)   # the numbers; `evidence_report` writes the files

Everything is fixed by `data/trained/evidence.json` (draws, seeds, sweeps, bootstrap) and the shipped models;
the same inputs give the same numbers (times live only under "timing").
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import torch

from iga_core.eval import glyphs, train
from iga_core.eval import metrics as M
from iga_core.eval import stats as S
from iga_core.eval.host_sampling import SAMPLERS, SCHEDULES, HostSampler

PLAN_FILE = train.DATA / "evidence.json"
MODEL_PREDICTION = {"eps": "eps", "v": "v", "student": "eps"}
KEYS = ("sampler", "schedule", "steps", "cfg")

Progress = Callable[[str], None]


@cache
def evidence_plan() -> dict:
    return json.loads(PLAN_FILE.read_text(encoding="utf-8"))


def draw_configs(k: int, seed: int) -> list[dict]:
    """The baseline draws: uniform over the host's samplers and schedules, steps and CFG in the plan's ranges."""
    d = evidence_plan()["draws"]
    rng = np.random.default_rng(seed)
    samplers, schedules = list(SAMPLERS), list(SCHEDULES)
    cfgs = np.arange(d["cfg"][0], d["cfg"][1] + 1e-9, d["cfg_step"])
    return [{"sampler": samplers[rng.integers(len(samplers))], "schedule": schedules[rng.integers(len(schedules))],
             "steps": int(rng.integers(d["steps"][0], d["steps"][1] + 1)), "cfg": float(cfgs[rng.integers(len(cfgs))])}
            for _ in range(k)]


def _key(c: dict) -> tuple:
    return tuple(c[k] for k in KEYS)


# --- the models ----------------------------------------------------------------------------------------


class Bench:
    """The shipped models, their recipes (read back from the stamped files), the classifier and the test set."""

    def __init__(self, folder: Path = train.DATA) -> None:
        from iga_core.checkpoint.stamp import read_embedded
        from iga_core.recipe import Recipe

        torch.set_num_threads(1)
        warnings.filterwarnings("ignore", module="torchsde")
        acp = train.alphas_cumprod()
        null = train.plan()["null_label"]
        self.recipes = {m: Recipe.from_dict(read_embedded(folder / train.FILES[m])) for m in train.DIFFUSION_MODELS}
        self.samplers = {m: HostSampler(train.load_unet(m, folder), acp, MODEL_PREDICTION[m], null)
                         for m in train.DIFFUSION_MODELS}
        self.classifier = train.load_classifier(folder)
        test, self.test_labels = glyphs.named_set("test")
        self.ref_features, _ = self.features(test)
        self.ref_mu, self.ref_cov = S.gaussian_stats(self.ref_features)
        self.ref_std = self.ref_features.std(axis=0)
        self.cells: dict = {}

    def features(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(glyphs.to_model(np.nan_to_num(images, nan=0.5)))
        with torch.no_grad():
            f, logits = self.classifier(x)
        return f.double().numpy(), torch.log_softmax(logits, 1).double().numpy()

    def cell(self, model: str, config: dict, seeds: list[int]) -> dict:
        """Images and per-image measurements of one configuration, memoised (the IGA arm repeats cells)."""
        key = (model, _key(config), tuple(seeds))
        if key in self.cells:
            return self.cells[key]
        labels = [s % 10 for s in seeds]
        started = time.process_time()
        run = self.samplers[model].run(config["sampler"], config["schedule"], config["steps"], config["cfg"], seeds, labels)
        feats, logp = self.features(run.images)
        failures = []
        for img, lp in zip(run.images, logp, strict=True):
            f = M.detect_failures(img)
            if "nan" not in f and math.exp(lp.max()) < evidence_plan()["unrecognisable_below"]:
                f.append("unrecognisable")
            failures.append(f)
        hs = [M.hue_saturation(img) if np.isfinite(img).all() else (float("nan"), float("nan")) for img in run.images]
        out = {"images": run.images, "features": feats, "target_logp": logp[np.arange(len(seeds)), labels],
               "correct": logp.argmax(1) == np.array(labels), "failed": np.array([bool(f) for f in failures]),
               "failures": failures, "hue": np.array([h for h, _ in hs]), "saturation": np.array([s for _, s in hs]),
               "executed": run.executed, "error": run.error, "cpu_s": time.process_time() - started}
        self.cells[key] = out
        return out

    def fd(self, feats: np.ndarray) -> float:
        mu, cov = S.gaussian_stats(feats)
        return S.frechet_from_stats(mu, cov, self.ref_mu, self.ref_cov)


# --- the IGA arm ---------------------------------------------------------------------------------------


def through_guard(recipe, config: dict, sampler: HostSampler, prediction: str, mode: str) -> tuple[dict, list]:
    """The configuration the IGA arm runs: allowed -> as drawn; blocked -> the blocking findings' fixes applied
    and judged again (up to 5 rounds), else the recipe's Native preset. Returns (config, trail)."""
    from iga_core.guard import ExecutedSchedule, GuardPolicy, GuardRequest, judge
    from iga_core.presets import resolve_preset

    policy = GuardPolicy(mode=mode)
    current, trail = dict(config), []
    for _ in range(6):
        if current["sampler"] not in SAMPLERS:
            break
        executed = ExecutedSchedule.from_dict(sampler.executed(current["sampler"], current["schedule"], current["steps"]))
        request = GuardRequest(sampler=current["sampler"], schedule=current["schedule"], steps=current["steps"],
                               cfg=current["cfg"], prediction_type=prediction, executed=executed)
        verdict = judge(recipe, request, policy)
        if verdict.allowed:
            return current, trail
        fix = {}
        for f in verdict.blocking:
            fix.update({k: v for k, v in (f.fix or {}).items() if k in KEYS})
        trail.append({"blocked_by": list(verdict.blocked_ids), "fix": fix})
        if not fix or all(current.get(k) == v for k, v in fix.items()):
            break
        current.update(fix)
    native = resolve_preset(recipe, "Native")
    current = {"sampler": native["sampler"], "schedule": native["schedule"] or "Automatic",
               "steps": int(native["steps"]), "cfg": float(native["cfg"])}
    trail.append({"native": current})
    return current, trail


# --- statistics ----------------------------------------------------------------------------------------


def _log_fd_var(bench: Bench, cells: list[dict], seeds: np.ndarray, cfg_idx: np.ndarray, cache_fd: dict) -> float:
    vals = []
    for i in cfg_idx:
        c = cells[i]
        key = (id(c), seeds.tobytes())
        if key not in cache_fd:
            cache_fd[key] = math.log(bench.fd(c["features"][seeds]))
        vals.append(cache_fd[key])
    return float(np.var(vals, ddof=1))


def _arm_summary(bench: Bench, cells: list[dict]) -> dict:
    fds = [bench.fd(c["features"]) for c in cells]
    logit = np.stack([c["target_logp"] for c in cells])
    hue = np.stack([c["hue"] for c in cells])
    sat = np.stack([c["saturation"] for c in cells])
    return {"fd": fds, "var_log_fd": float(np.var(np.log(fds), ddof=1)) if len(fds) > 1 else None,
            "mean_fd": float(np.mean(fds)), "accuracy": float(np.mean([c["correct"].mean() for c in cells])),
            "failure_rate": float(np.mean([c["failed"].mean() for c in cells])),
            "icc": S.icc_consistency(logit), "kendall_tau": S.mean_pairwise_tau(logit),
            "hue_spread": float(np.nanmean([M.axis_spread(hue[:, j], circular=True) for j in range(hue.shape[1])])),
            "saturation_spread": float(np.nanmean([M.axis_spread(sat[:, j]) for j in range(sat.shape[1])]))}


def _pair_distances(bench: Bench, cells: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """K x K x n same-seed distances: standardised classifier features, and 1 - SSIM."""
    k, n = len(cells), len(cells[0]["features"])
    z = np.stack([c["features"] / bench.ref_std for c in cells])
    feat = np.linalg.norm(z[:, None] - z[None, :], axis=-1)
    ssim = np.zeros((k, k, n))
    for i in range(k):
        for j in range(i + 1, k):
            for s in range(n):
                a, b = cells[i]["images"][s], cells[j]["images"][s]
                d = 1.0 - M.ssim(a, b) if np.isfinite(a).all() and np.isfinite(b).all() else np.nan
                ssim[i, j, s] = ssim[j, i, s] = d
    return feat, ssim


def _pairs_mean(d: np.ndarray, idx: np.ndarray, seeds: np.ndarray) -> float:
    i, j = np.triu_indices(len(idx), 1)
    return float(np.nanmean(d[idx[i]][:, :, seeds][np.arange(len(i)), idx[j]]))


def _ratio(a, b):
    return a / b if b and math.isfinite(a) and math.isfinite(b) and b > 0 else float("nan")


def headline_statistics(bench: Bench, arms: dict, draws: int, seed: int) -> dict:
    """arms[model] = {"baseline": cells, "iga": cells, "strict": cells}: H, per-model ratios and the secondary
    differences, each with a percentile bootstrap interval (draws and seeds resampled per model, paired)."""
    models = list(arms)
    n = len(arms[models[0]]["baseline"][0]["features"])
    k = {m: len(arms[m]["baseline"]) for m in models}
    pairs = {m: {arm: _pair_distances(bench, arms[m][arm]) for arm in ("baseline", "iga")} for m in models}
    cache_fd: dict = {}

    def measures(cfg_idx: dict, seeds: np.ndarray) -> dict:
        out = {}
        num = den = 0.0
        for m in models:
            vb = _log_fd_var(bench, arms[m]["baseline"], seeds, cfg_idx[m], cache_fd)
            vi = _log_fd_var(bench, arms[m]["iga"], seeds, cfg_idx[m], cache_fd)
            vs = _log_fd_var(bench, arms[m]["strict"], seeds, cfg_idx[m], cache_fd)
            num, den = num + vi, den + vb
            out[f"{m}.ratio"] = _ratio(vi, vb)
            out[f"{m}.ratio_strict"] = _ratio(vs, vb)
            for arm in ("baseline", "iga"):
                cells = [arms[m][arm][i] for i in cfg_idx[m]]
                out[f"{m}.{arm}.mean_fd"] = float(np.mean([cache_fd[(id(c), seeds.tobytes())] for c in cells]))
                out[f"{m}.{arm}.accuracy"] = float(np.mean([c["correct"][seeds].mean() for c in cells]))
                out[f"{m}.{arm}.failure_rate"] = float(np.mean([c["failed"][seeds].mean() for c in cells]))
                logit = np.stack([c["target_logp"][seeds] for c in cells])
                out[f"{m}.{arm}.icc"] = S.icc_consistency(logit)
                out[f"{m}.{arm}.feature_distance"] = _pairs_mean(pairs[m][arm][0], cfg_idx[m], seeds)
                out[f"{m}.{arm}.ssim_distance"] = _pairs_mean(pairs[m][arm][1], cfg_idx[m], seeds)
            for q in ("mean_fd", "accuracy", "failure_rate", "icc"):
                out[f"{m}.diff.{q}"] = out[f"{m}.iga.{q}"] - out[f"{m}.baseline.{q}"]
            for q in ("feature_distance", "ssim_distance"):
                out[f"{m}.ratio.{q}"] = _ratio(out[f"{m}.iga.{q}"], out[f"{m}.baseline.{q}"])
        out["H"] = _ratio(num, den)
        fb = np.mean([out[f"{m}.baseline.failure_rate"] for m in models])
        fi = np.mean([out[f"{m}.iga.failure_rate"] for m in models])
        out["failure_reduction"] = 1.0 - fi / fb if fb > 0 else float("nan")
        return out

    full = {m: np.arange(k[m]) for m in models}
    point = measures(full, np.arange(n))
    # the mean log-FD above is a log: report the FD means on their own scale as well
    rng = np.random.default_rng(seed)
    reps: dict = {key: [] for key in point}
    for _ in range(draws):
        idx = {m: S.resample(rng, k[m]) for m in models}
        seeds = S.resample(rng, n)
        r = measures(idx, seeds)
        for key, v in r.items():
            reps[key].append(v)
    return {key: {"value": v if math.isfinite(v) else None, "ci95": S.percentile_interval(reps[key])}
            for key, v in point.items()}


def per_config_interval(bench: Bench, cell: dict, draws: int, seed: int) -> list[float] | None:
    rng = np.random.default_rng(seed)
    n = len(cell["features"])
    return S.percentile_interval([bench.fd(cell["features"][S.resample(rng, n)]) for _ in range(draws)])


# --- the run -------------------------------------------------------------------------------------------


def run_evidence(*, quick: bool = False, folder: Path = train.DATA, progress: Progress | None = None,
                 models: tuple[str, ...] = train.DIFFUSION_MODELS, preload: dict | None = None,
                 bench: Bench | None = None) -> dict:
    """The whole experiment. `models` restricts it to some models (a worker of `compute_cells`); `preload`
    are cells computed before (by workers in other processes): they are used instead of sampling again."""
    plan = evidence_plan()
    size = plan["quick" if quick else "full"]
    seeds = list(range(size["seeds"]))
    say = progress or (lambda _: None)
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    bench = bench or Bench(folder)
    bench.cells.update(preload or {})
    draws = draw_configs(size["draws"], plan["draws"]["seed"])
    out: dict = {"plan": plan, "quick": quick, "seeds": seeds, "draws": draws, "models": {}}
    arms: dict = {}
    for m in models:
        recipe, sampler = bench.recipes[m], bench.samplers[m]
        rows, cells = [], {"baseline": [], "iga": [], "strict": []}
        for i, c in enumerate(draws):
            say(f"{m}: draw {i + 1}/{len(draws)} {c}")
            fixed, trail = through_guard(recipe, c, sampler, MODEL_PREDICTION[m], "standard")
            strict, strail = through_guard(recipe, c, sampler, MODEL_PREDICTION[m], "strict")
            row = {"drawn": c, "iga": fixed, "iga_trail": trail, "strict": strict, "strict_trail": strail,
                   "guard_accepted": not trail}
            for arm, conf in (("baseline", c), ("iga", fixed), ("strict", strict)):
                cell = bench.cell(m, conf, seeds)
                cells[arm].append(cell)
                row[arm + "_cell"] = {"fd": bench.fd(cell["features"]), "accuracy": float(cell["correct"].mean()),
                                      "failure_rate": float(cell["failed"].mean()), "error": cell["error"],
                                      "executed": cell["executed"]}
            rows.append(row)
        arms[m] = cells
        summary = {arm: _arm_summary(bench, cells[arm]) for arm in cells}
        acc = [i for i, r in enumerate(rows) if r["guard_accepted"]]
        blk = [i for i, r in enumerate(rows) if not r["guard_accepted"]]
        split = {}
        for name, idx in (("accepted", acc), ("blocked", blk)):
            fds = [rows[i]["baseline_cell"]["fd"] for i in idx]
            split[name] = {"draws": len(idx), "mean_fd": float(np.mean(fds)) if fds else None,
                           "var_log_fd": float(np.var(np.log(fds), ddof=1)) if len(fds) > 1 else None}
        for r in rows:
            r["baseline_cell"]["fd_ci95"] = per_config_interval(bench, bench.cells[(m, _key(r["drawn"]), tuple(seeds))],
                                                                plan["per_config_bootstrap"], plan["bootstrap"]["seed"])
        out["models"][m] = {"rows": rows, "arms": summary, "baseline_split": split,
                            "recipe": bench.recipes[m].to_dict()}
    say("bootstrap")
    out["headline"] = headline_statistics(bench, arms, size["bootstrap"], plan["bootstrap"]["seed"])
    out["sweeps"] = run_sweeps(bench, seeds[: size["sweep_seeds"]], quick, say, models)
    out["noise_floor"] = noise_floor(bench, len(seeds), plan["noise_floor_sets"])
    out["grids"] = {m: {arm: [bench.cells[(m, _key(r[key]), tuple(seeds))]["images"][:8]
                              for r in out["models"][m]["rows"][:8]]
                        for arm, key in (("baseline", "drawn"), ("iga", "iga"))} for m in models}
    out["timing"] = {"cpu_s": round(time.process_time() - t_cpu, 1), "wall_s": round(time.perf_counter() - t_wall, 1),
                     "cells": len(bench.cells)}
    return out


def run_sweeps(bench: Bench, seeds: list[int], quick: bool, say: Progress,
               models: tuple[str, ...] = train.DIFFUSION_MODELS) -> dict:
    plan = evidence_plan()["sweeps"]
    out = {}
    for name, sweep in plan.items():
        values = sweep["quick_values"] if quick else sweep["values"]
        res = {}
        for m in models:
            rows = []
            for v in values:
                c = {**sweep["base"], sweep["axis"]: v}
                if sweep["axis"] == "sampler" and SAMPLERS[v][1].get("timesteps"):
                    c["schedule"] = "Automatic"  # a timestep sampler ignores the schedule type
                say(f"sweep {name}, {m}: {v}")
                fixed, trail = through_guard(bench.recipes[m], c, bench.samplers[m], MODEL_PREDICTION[m], "standard")
                row = {"value": v, "drawn": c, "iga": fixed, "guard_accepted": not trail}
                for arm, conf in (("baseline", c), ("iga", fixed)):
                    cell = bench.cell(m, conf, seeds)
                    row[arm] = {"fd": bench.fd(cell["features"]), "accuracy": float(cell["correct"].mean()),
                                "failure_rate": float(cell["failed"].mean()), "error": cell["error"],
                                "executed": cell["executed"]}
                rows.append(row)
            vb = np.var(np.log([r["baseline"]["fd"] for r in rows]), ddof=1)
            vi = np.var(np.log([r["iga"]["fd"] for r in rows]), ddof=1)
            res[m] = {"rows": rows, "var_log_fd": {"baseline": float(vb), "iga": float(vi)}, "ratio": _ratio(vi, vb)}
        out[name] = res
    # the prediction-type check: the v teacher run as eps (a host without its v config)
    m = "v"
    if m not in models:
        return out
    as_eps = HostSampler(bench.samplers[m].model.unet, train.alphas_cumprod(), "eps", train.plan()["null_label"])
    native = {"sampler": "Heun", "schedule": "Exponential", "steps": 24, "cfg": 3.0}
    labels = [s % 10 for s in seeds]
    wrong = as_eps.run(native["sampler"], native["schedule"], native["steps"], native["cfg"], seeds, labels)
    right = bench.cell(m, native, seeds)
    out["prediction_type"] = {"config": native, "as_v_fd": bench.fd(right["features"]),
                              "as_eps_fd": bench.fd(bench.features(wrong.images)[0])}
    return out


def noise_floor(bench: Bench, n: int, sets: int) -> dict:
    """FD of n fresh real images against the test set: what a perfect sampler would score with n seeds."""
    fds = []
    for k in range(sets):
        imgs, _ = glyphs.render(n, 900_000 + k, labels=[s % 10 for s in range(n)])
        fds.append(bench.fd(bench.features(imgs)[0]))
    return {"median": float(np.median(fds)), "p95": float(np.percentile(fds, 95)), "sets": sets, "n": n}


def compute_cells(model: str, *, quick: bool = False, folder: Path = train.DATA) -> dict:
    """Every cell one model needs (draws in all arms, sweeps), for a worker process: run_evidence(preload=...)
    merges the workers' cells and computes the statistics over all models. The cells are the same as a
    single-process run computes (each depends only on its model, configuration and seeds)."""
    bench = Bench(folder)
    run_evidence(quick=quick, folder=folder, models=(model,), bench=bench)
    return {k: v for k, v in bench.cells.items() if k[0] == model}


def run_evidence_parallel(*, quick: bool = False, jobs: int = 1, folder: Path = train.DATA,
                          progress: Progress | None = None) -> dict:
    """run_evidence with the models' cells computed in up to `jobs` worker processes (same numbers)."""
    if jobs <= 1:
        return run_evidence(quick=quick, folder=folder, progress=progress)
    from concurrent.futures import ProcessPoolExecutor

    preload: dict = {}
    with ProcessPoolExecutor(max_workers=min(jobs, len(train.DIFFUSION_MODELS))) as pool:
        futures = {m: pool.submit(compute_cells, m, quick=quick, folder=folder) for m in train.DIFFUSION_MODELS}
        for m, f in futures.items():
            preload.update(f.result())
            if progress:
                progress(f"cells of {m} done")
    return run_evidence(quick=quick, folder=folder, progress=progress, preload=preload)
