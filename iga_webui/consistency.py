"""The "IGA consistency report" entry of the Script dropdown (like X/Y/Z plot): runs the evaluation
protocol (`iga_core.eval.protocol.run_protocol`) on the loaded checkpoint -- one axis varied over values
inside and outside its recipe, the rest fixed to the recipe's Native values, repeated over seeds -- with
the host's progress bar and Interrupt, writes JSON / Markdown / PNG into the outputs folder and shows the
image grid and the headline figure.

Each image is an ordinary `process_images` call on a copy of `p` with samples and grids not saved; the
always-on guard runs for every one in audit mode (the report must generate outside the recipe on purpose)
and records it in each image's audit; they stay out of the decision log, which is for users' decisions.
"""

from __future__ import annotations

import time
from copy import copy
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image

from iga_core.errors import IgaError, IgaInvalid
from iga_core.eval.errors import EvalInterrupted  # the protocol and report need numpy and Pillow, not torch
from iga_core.eval.protocol import ProtocolConfig, run_protocol
from iga_core.eval.report import write_report
from iga_core.presets import resolve_preset
from iga_core.recipe import Recipe
from iga_webui import generation, host, recipes

TITLE = "IGA consistency report"
AXES = ("sampler", "schedule", "steps", "cfg")
#: p field for each protocol parameter
P_FIELDS = {"sampler": "sampler_name", "schedule": "scheduler", "steps": "steps", "cfg": "cfg_scale",
            "width": "width", "height": "height", "seed": "seed"}
OTHER_SAMPLERS = ("Euler a", "DPM++ 2M", "DDIM", "Euler", "Heun", "DPM++ 2M SDE", "LMS", "DPM2", "LCM", "UniPC",
                  "PLMS", "DPM++ SDE")
OTHER_SCHEDULES = ("Karras", "Exponential", "Uniform", "SGM Uniform", "Simple", "Normal", "Beta", "Align Your Steps",
                   "KL Optimal", "DDIM", "Polyexponential")
#: per side of the recipe: the headline needs two values on each side, its interval more (issue #15)
PER_SIDE = 3
DEFAULT_SEEDS = 8


class ReportUnavailable(IgaInvalid):
    """The consistency report cannot run for this checkpoint or these settings."""


def _values_text(text: str, axis: str) -> list:
    items = [v.strip() for v in str(text or "").split(",") if v.strip()]
    if axis == "steps":
        return [int(float(v)) for v in items]
    if axis == "cfg":
        return [float(v) for v in items]
    return items


def _candidates(recipe: Recipe, axis: str) -> list:
    steps, cfg = recipe.steps, recipe.cfg
    if axis == "sampler":
        return [recipe.sampler.name, *(recipe.constraints.allow_samplers or ()), *OTHER_SAMPLERS]
    if axis == "schedule":
        return [recipe.scheduler.name, *(recipe.constraints.allow_schedules or ()), *OTHER_SCHEDULES]
    if axis == "steps":
        lo, hi, d = int(steps.min or 1), int(steps.max or 50), int(steps.default or 20)
        return [d, lo, hi, (lo + hi) // 2, *(recipe.allowed_steps or ()), max(1, lo // 2), max(1, lo - 1), hi + 1,
                2 * hi, 2 * hi + 10, 1]
    lo, hi, d = float(cfg.min or 1.0), float(cfg.max or 12.0), float(cfg.default or 7.0)
    return [d, lo, hi, (lo + hi) / 2, hi + 2.0, 2 * hi + 1.0, 7.0, 12.0, 1.0, max(0.0, lo - 1.0)]


def default_values(recipe: Recipe, axis: str, base: dict | None = None) -> list:
    """Values on both sides of the recipe when the user gives none: up to PER_SIDE inside and PER_SIDE outside
    (as the guard splits them with `base` fixed), inside ones first, so the headline and its interval have
    values on each side to compare."""
    from iga_core.guard import GuardPolicy, GuardRequest, evaluate

    inside, outside = [], []
    for value in _candidates(recipe, axis):
        if value is None or value in inside or value in outside:
            continue
        request = {**(base or {}), axis: value}
        try:
            verdict = evaluate(recipe, GuardRequest(**{k: v for k, v in request.items()
                                                       if k in ("sampler", "schedule", "steps", "cfg")}), GuardPolicy())
        except IgaError:
            continue
        side = outside if any(f.severity in ("hard", "soft") for f in verdict.findings) else inside
        if len(side) < PER_SIDE:
            side.append(value)
    return inside + outside


def base_params(p: Any, recipe: Recipe, axis: str) -> dict:
    """The fixed parameters: the recipe's Native values (so only the axis moves), the rest from p."""
    native = resolve_preset(recipe, "Native")
    base = {"prompt": p.prompt if isinstance(p.prompt, str) else p.prompt[0]}
    for key in ("sampler", "schedule", "steps", "cfg", "width", "height"):
        if key == axis:
            continue
        value = native.get(key)
        base[key] = value if value is not None else getattr(p, P_FIELDS[key])
    return base


def output_folder(p: Any, axis: str) -> Path:
    root = Path(p.outpath_samples or "outputs").parent
    return root / "iga-consistency" / f"{time.strftime('%Y%m%d-%H%M%S')}-{axis}"


def _spelled(caps, kind: str, name: str) -> str:
    """An axis value in the host's spelling; a name the host or the vocabulary lacks is passed as typed
    (the protocol may vary outside what this host offers, and the guard records what ran)."""
    try:
        return caps.spell(kind, name) or name
    except IgaError:
        return name


def make_generate(p: Any, executed: dict | None = None):
    """generate(params) for the protocol; `executed[value]` gets the sigmas / timesteps the host ran for it."""
    caps = host.capabilities()

    def generate(params: dict) -> np.ndarray:
        pc = copy(p)
        pc.n_iter, pc.batch_size = 1, 1
        pc.do_not_save_samples, pc.do_not_save_grid = True, True
        pc.extra_generation_params = dict(p.extra_generation_params or {})
        pc.override_settings = dict(p.override_settings or {})
        pc.comments = {}
        setattr(pc, generation.FORCED_MODE_ATTR, "audit")
        pc.iga_logged = True  # measurements, not user decisions: kept out of the decision log
        for key, value in params.items():
            if key in P_FIELDS:
                setattr(pc, P_FIELDS[key], _spelled(caps, key, value) if key in ("sampler", "schedule") else value)
        if isinstance(params.get("prompt"), str):
            pc.prompt = params["prompt"]
        processed = host.process_images(pc)
        if executed is not None and params.get("axis_value") not in executed:
            executed[params["axis_value"]] = _executed_of(pc)  # after the run: p.sd_model is set by then
        if not processed.images:
            raise EvalInterrupted("generation stopped", "run the report again") if host.state().interrupted \
                else ReportUnavailable(f"no image for {params}", "see the console for the host's error")
        return np.asarray(processed.images[0].convert("RGB"))

    return generate


def _executed_of(pc: Any) -> dict | None:
    """What the host's own sampler will run for this copy of p (iga_webui.host_run); None if it cannot say."""
    try:
        from iga_webui import host_run

        return host_run.executed(pc).to_dict()
    except Exception:  # a host the reader does not know: the report says "not recorded"
        return None


def run_report(p: Any, axis: str, values_text: str, n_seeds: int):
    info = host.loaded_checkpoint() or host.target_checkpoint(p)
    source = recipes.lookup(getattr(info, "filename", None))
    if source is None or source.recipe is None:
        raise ReportUnavailable(f"{getattr(info, 'name', 'the loaded checkpoint')} has no IGA recipe",
                                "stamp one (`iga stamp`) or add a sidecar; the report compares inside vs outside it")
    recipe = source.recipe
    if axis not in AXES:
        raise ReportUnavailable(f"unknown axis {axis!r}", f"choose one of {', '.join(AXES)}")
    base = base_params(p, recipe, axis)
    values = _values_text(values_text, axis) or default_values(recipe, axis, base)
    first_seed = 0 if int(p.seed) < 0 else int(p.seed)
    config = ProtocolConfig.from_dict({
        "name": f"{axis} sweep", "axis": axis, "values": values, "base": base,
        "seeds": list(range(first_seed, first_seed + max(1, int(n_seeds)))),
    })
    total = len(config.values) * len(config.seeds)
    state = host.state()
    state.job_count = total

    def progress(done: int, total_: int, label: str) -> None:
        state.job = f"{TITLE}: {label}"
        state.job_no = done

    executed: dict = {}
    inner = make_generate(p, executed)

    def generate(params: dict):
        return inner({**params, "axis_value": str(params[axis])})

    try:
        result = run_protocol(generate, config, recipe, progress=progress,
                              should_stop=lambda: bool(state.interrupted))
    except EvalInterrupted as exc:
        p.comment(f"[IGA] consistency report interrupted: {exc.message}")
        return host.processed(p, [], p.seed, "")
    folder = output_folder(p, axis)
    result.extras["executed"] = {str(v): executed.get(str(v)) for v in config.values}
    paths = write_report([result], folder, title=TITLE, extras={
        "checkpoint": getattr(info, "name", None), "recipe_source": source.kind, "host": host.host_info()})
    h = result.headline
    ci = h.get("ci95")
    summary = (f"per-seed spread across {axis} values inside ÷ outside the recipe {h['variance_ratio']:.3g}"
               + (f" (95% CI {ci[0]:.3g}–{ci[1]:.3g})" if ci else " (no interval)")
               if h.get("variance_ratio") is not None else (h.get("reason") or "no headline"))
    p.comment(f"[IGA] consistency report written to {folder}: {summary}")
    grids = [Image.open(path).copy() for path in paths.get("images", []) if str(path).endswith("-grid.png")]
    markdown = Path(paths["markdown"]).read_text(encoding="utf-8")
    return host.processed(p, grids, p.seed, markdown)


class ConsistencyReportScript(host.Script):
    def title(self) -> str:
        return TITLE

    def show(self, is_img2img: bool):
        return not is_img2img  # txt2img only: the protocol fixes the prompt, size and seeds

    def ui(self, is_img2img: bool):
        axis = gr.Dropdown(label="Vary", choices=list(AXES), value="sampler", elem_id=self.elem_id("axis"))
        values = gr.Textbox(label="Values (comma-separated; empty: some inside and some outside the recipe)",
                            value="", elem_id=self.elem_id("values"))
        seeds = gr.Slider(label="Seeds per value (the interval needs several)", minimum=2, maximum=32, step=1,
                          value=DEFAULT_SEEDS, elem_id=self.elem_id("seeds"))
        return [axis, values, seeds]

    def run(self, p, axis, values, seeds):
        try:
            return run_report(p, axis, values, seeds)
        except IgaError as exc:
            raise ReportUnavailable(exc.message, exc.hint) from None
