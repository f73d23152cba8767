"""The guard: checks a generation request against a model's recipe, before any compute is spent.

    from iga_core.guard import GuardPolicy, GuardRequest, evaluate
    verdict = evaluate(recipe, GuardRequest(sampler="DDIM", steps=20), GuardPolicy(mode="standard"))
    verdict.allowed, verdict.message()

Rules live in `iga_core.guard.rules` (registry `RULES`); presets in `iga_core.presets`; host
auto-configuration in `iga_core.autoconfig` (both re-exported here for the documented interface).
"""

from __future__ import annotations

from iga_core.guard.context import GuardRecipeError
from iga_core.guard.engine import evaluate, run_rules
from iga_core.guard.request import MODES, ExecutedSchedule, GuardPolicy, GuardRequest, GuardRequestInvalid
from iga_core.guard.rules import RULES, Rule
from iga_core.guard.verdict import Finding, Verdict

__all__ = [
    "MODES", "RULES", "ExecutedSchedule", "Finding", "GuardPolicy", "GuardRecipeError", "GuardRequest",
    "GuardRequestInvalid", "Rule", "Verdict", "auto_configure", "evaluate", "resolve_preset", "run_rules",
]


def __getattr__(name: str):
    # presets and autoconfig build on the guard, so they are imported on first use, not at import time
    if name == "resolve_preset":
        from iga_core.presets import resolve_preset

        return resolve_preset
    if name == "auto_configure":
        from iga_core.autoconfig import auto_configure

        return auto_configure
    raise AttributeError(name)
