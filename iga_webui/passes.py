"""Second passes: hires fix and the refiner, each checked against the recipe that governs it.

- Hires fix (txt2img): `hr_sampler_name`, `hr_scheduler`, `hr_second_pass_steps` (0 = same as the first
  pass), denoising strength, and on Forge `hr_cfg`; governed by the `hr_checkpoint_name` checkpoint's
  recipe when one is chosen, else by the first pass's (A processing.py:1166-1183, 1252-1281, 1364-1454).
  The target size is not checked: hires fix exists to go past the native size.
- Refiner: the same sampler, schedule, steps and CFG continue on `refiner_checkpoint` from
  `refiner_switch_at`, so the first pass's request is checked against the refiner's recipe too.
Findings of every pass go into one verdict (their field is prefixed with the pass name) so the audit
record and the infotext cover both passes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from iga_core.guard import GuardPolicy, GuardRequest, Verdict, evaluate, run_rules
from iga_core.guard.engine import apply_policy
from iga_core.guard.verdict import sort_findings
from iga_core.recipe import Recipe
from iga_webui import host, recipes

SAME = ("", "None", "none", "Use same sampler", "Use same scheduler", "Use same checkpoint")


def _given(value: Any) -> bool:
    return value is not None and value not in SAME


def _recipe_for(checkpoint_name: Any, fallback: Recipe | None) -> tuple[Recipe | None, str | None]:
    if not _given(checkpoint_name):
        return fallback, None
    info = host.checkpoint_by_name(str(checkpoint_name))
    if info is None:
        return None, str(checkpoint_name)  # the host itself raises "Could not find checkpoint" later
    source = recipes.lookup(info.filename)
    return (source.recipe if source is not None else None), info.name_for_extra


def hires_request(p: Any, host_run: dict | None = None, upstream: str | None = None,
                  architecture: str | None = None) -> GuardRequest:
    """The hires pass as the host runs it: its sampler's schedule from the host (`host_run` passes.hires,
    recorded at the hand-over with the hires checkpoint loaded, else computed now on the loaded model)."""
    from iga_core.guard import ExecutedSchedule
    from iga_webui import host_run as run

    forge_cfg = host.is_forge() and getattr(p, "hr_cfg", None) is not None
    recorded = ((host_run or {}).get("passes") or {}).get("hires")
    executed = ExecutedSchedule.from_dict(recorded) if recorded else run.executed(p, hires=True)
    if host_run is not None and not recorded:
        host_run.setdefault("passes", {})["hires"] = executed.to_dict()
    hires_model = (host_run or {}).get("hires_model") or {}
    return GuardRequest(
        executed=executed,
        architecture=hires_model.get("architecture") or architecture,
        upstream_architecture=upstream,
        prediction_type=hires_model.get("prediction_type"),
        zero_terminal_snr=hires_model.get("zero_terminal_snr"),
        sampler=p.hr_sampler_name if _given(getattr(p, "hr_sampler_name", None)) else p.sampler_name,
        schedule=p.hr_scheduler if _given(getattr(p, "hr_scheduler", None)) else (p.scheduler or None),
        steps=int(p.hr_second_pass_steps or p.steps),
        cfg=float(p.hr_cfg) if forge_cfg else float(p.cfg_scale),
        denoising_strength=float(p.denoising_strength) if p.denoising_strength is not None else None,
    )


def second_passes(p: Any, first_recipe: Recipe | None, first_request: GuardRequest,
                  host_run: dict | None = None) -> list[tuple[str, Recipe, GuardRequest]]:
    """(pass name, governing recipe, request) for each extra pass that has a recipe to be checked against.
    A pass on another checkpoint carries that checkpoint's architecture (the host's, once loaded; else its
    recipe's) and the first pass's as `upstream_architecture`: the first pass's recipe judges the hand-over
    of latents even when the second checkpoint has no recipe."""
    out = []
    upstream = first_request.architecture
    if getattr(p, "enable_hr", False):
        recipe, _ = _recipe_for(getattr(p, "hr_checkpoint_name", None), first_recipe)
        other = _given(getattr(p, "hr_checkpoint_name", None))
        arch = (recipe.architecture if recipe is not None else None) if other else upstream
        request = hires_request(p, host_run, upstream if other else None, arch)
        if recipe is not None or (other and first_recipe is not None):
            out.append(("hires", recipe if recipe is not None else first_recipe, request))
    refiner = getattr(p, "refiner_checkpoint", None)
    if _given(refiner):
        recipe, _ = _recipe_for(refiner, None)
        # the refiner loads only at the switch step (A sd_samplers_common.py apply_refiner), so its
        # architecture is known here from its recipe only; without one there is nothing to compare
        if recipe is not None:
            out.append(("refiner", recipe, dataclasses.replace(first_request, architecture=recipe.architecture,
                                                               upstream_architecture=upstream)))
    return out


def _relabel(finding, name: str):
    return dataclasses.replace(finding, field=f"{name} {finding.field}", reason=f"{name} pass: {finding.reason}")


def combine(first: Verdict | None, extra: list[tuple[str, Verdict]], mode: str) -> Verdict | None:
    """One verdict for the whole generation: allowed only if every pass is."""
    if not extra:
        return first
    findings = list(first.findings) if first is not None else []
    blocked = list(first.blocked_ids) if first is not None else []
    ignored = list(first.ignored_overrides) if first is not None else []
    for name, verdict in extra:
        findings += [_relabel(f, name) for f in verdict.findings]
        blocked += [b for b in verdict.blocked_ids if b not in blocked]
        ignored += [i for i in verdict.ignored_overrides if i not in ignored]
    allowed = (first is None or first.allowed) and all(v.allowed for _, v in extra)
    return Verdict(allowed=allowed, mode=mode, findings=sort_findings(findings), blocked_ids=tuple(blocked),
                   ignored_overrides=tuple(ignored))


def evaluate_all(p: Any, recipe: Recipe | None, request: GuardRequest, policy: GuardPolicy,
                 extra_findings: tuple = (), host_run: dict | None = None) -> Verdict | None:
    """`extra_findings`: findings about the recipe itself (LoRA composition conflicts), judged by the same
    policy as the first pass's."""
    first = None
    if recipe is not None:
        first = (apply_policy(sort_findings([*run_rules(recipe, request), *extra_findings]), policy)
                 if extra_findings else evaluate(recipe, request, policy))
    extra = [(name, evaluate(r, req, policy)) for name, r, req in second_passes(p, recipe, request, host_run)]
    return combine(first, extra, policy.mode)
