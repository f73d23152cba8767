"""Second passes: hires fix and the refiner, each checked against the recipe that governs it.

- Hires fix (txt2img): `hr_sampler_name`, `hr_scheduler`, `hr_second_pass_steps` (0 = same as the first
  pass), denoising strength, and the hires CFG where the host has one (Forge, Neo and reForge `hr_cfg`, Forge
  Classic `hr_cfg_scale`); governed by the `hr_checkpoint_name` checkpoint's
  recipe when one is chosen, else by the first pass's (A processing.py:1166-1183, 1252-1281, 1364-1454).
  The target size is not checked: hires fix exists to go past the native size.
- Refiner: the same sampler, schedule, steps and CFG continue on `refiner_checkpoint` from
  `refiner_switch_at`, so the first pass's request is checked against the refiner's recipe too.
The glue reads which passes run, their settings and the host's facts about them from `p`;
`iga_core.guard.Pass` derives each pass's request from the first pass's, and `iga_core.guard.judge` folds
every pass into one verdict (their fields prefixed with the pass name), exactly as the API and `iga check`
do with the passes they are given.
"""

from __future__ import annotations

from typing import Any

from iga_core.guard import ExecutedSchedule, GuardRequest, Pass
from iga_core.recipe import Recipe
from iga_webui import host, host_run, recipes

SAME = ("", "None", "none", "Use same sampler", "Use same scheduler", "Use same checkpoint")


def _given(value: Any) -> bool:
    return value is not None and value not in SAME


def _checkpoint_for(checkpoint_name: Any, fallback: Recipe | None) -> tuple[Recipe | None, Any, bool]:
    """(the recipe that governs a pass on `checkpoint_name`, its CheckpointInfo, whether it is another
    checkpoint than the first pass's): the first pass's recipe when the pass names none."""
    if not _given(checkpoint_name):
        return fallback, None, False
    info = host.checkpoint_by_name(str(checkpoint_name))
    if info is None:
        return None, None, True  # the host itself raises "Could not find checkpoint" later
    source = recipes.lookup(info.filename)
    return (source.recipe if source is not None else None), info, True


def _architecture(info: Any, recipe: Recipe | None) -> str | None:
    """A second checkpoint's architecture before the host loads it: from its tensors, else its recipe."""
    found = host.checkpoint_architecture(info) if info is not None else None
    return found or (recipe.architecture if recipe is not None else None)


def hires_fields(p: Any, run: dict | None = None, upstream: str | None = None,
                 architecture: str | None = None) -> dict:
    """The hires pass's own settings and the host's facts about it: its sampler's schedule from the host
    (`run` passes.hires, recorded at the hand-over with the hires checkpoint loaded, else computed now on the
    loaded model). What it leaves out (None: "Use same", 0 steps) it takes from the first pass."""
    recorded = ((run or {}).get("passes") or {}).get("hires")
    failed = ((run or {}).get("errors") or {}).get("hires")
    if recorded:
        executed = ExecutedSchedule.from_dict(recorded)
    elif failed:
        executed = None  # the host's sampler raised computing it: judged on iga's model of the pass
    else:
        executed, error = host_run.executed_or_error(p, hires=True)
        if run is not None:
            run.setdefault("passes" if executed is not None else "errors", {})["hires"] = (
                executed.to_dict() if executed is not None else error)
    hires_model = (run or {}).get("hires_model") or {}
    return {
        "executed": executed,
        "architecture": hires_model.get("architecture") or architecture,
        "upstream_architecture": upstream,
        "prediction_type": hires_model.get("prediction_type"),
        "zero_terminal_snr": hires_model.get("zero_terminal_snr"),
        "sampler": p.hr_sampler_name if _given(getattr(p, "hr_sampler_name", None)) else None,
        "schedule": p.hr_scheduler if _given(getattr(p, "hr_scheduler", None)) else None,
        "steps": int(p.hr_second_pass_steps) if p.hr_second_pass_steps else None,
        "cfg": host.hires_cfg(p),  # Forge, Neo, reForge `hr_cfg`; Classic `hr_cfg_scale` (iga_webui.forks.hires_cfg)
        "denoising_strength": float(p.denoising_strength) if p.denoising_strength is not None else None,
    }


def hires_request(p: Any, first: GuardRequest, run: dict | None = None, upstream: str | None = None,
                  architecture: str | None = None) -> GuardRequest:
    """The hires pass's request as the judge derives it (what the hand-over check compares with)."""
    return Pass.hires(None, first, **hires_fields(p, run, upstream, architecture)).request


def extra_passes(p: Any, first_recipe: Recipe | None, first_request: GuardRequest,
                 run: dict | None = None) -> list[Pass]:
    """The hires and refiner passes this generation runs, each with the recipe that governs it. A pass on
    another checkpoint carries that checkpoint's architecture (the host's, once loaded; else its recipe's)
    and the first pass's as `upstream_architecture`: the first pass's recipe judges the hand-over of latents
    even when the second checkpoint has no recipe. A pass with no recipe to be checked against is left out."""
    out = []
    upstream = first_request.architecture
    if getattr(p, "enable_hr", False):
        recipe, info, other = _checkpoint_for(getattr(p, "hr_checkpoint_name", None), first_recipe)
        arch = _architecture(info, recipe) if other else upstream
        fields = hires_fields(p, run, upstream if other else None, arch)  # records the host's hires schedule
        if recipe is not None or (other and first_recipe is not None):
            out.append(Pass.hires(recipe if recipe is not None else first_recipe, first_request, **fields))
    refiner = getattr(p, "refiner_checkpoint", None)
    if _given(refiner):
        # the refiner loads only at the switch step (A sd_samplers_common.py:158 apply_refiner): its
        # architecture comes from its tensors (or recipe); with no recipe of its own, the first pass's
        # recipe still judges the hand-over of its latents (IGA-H008), and only that
        recipe, info, _ = _checkpoint_for(refiner, None)
        arch = _architecture(info, recipe)
        if recipe is not None:
            out.append(Pass.refiner(recipe, first_request, architecture=arch, upstream_architecture=upstream))
        elif first_recipe is not None and arch is not None:
            out.append(Pass("refiner", first_recipe, GuardRequest(architecture=arch, upstream_architecture=upstream)))
    return out
