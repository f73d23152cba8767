"""The guard: checks a generation request against a model's recipe, before any compute is spent.

    from iga_core.guard import GuardPolicy, GuardRequest, Pass, judge
    verdict = judge(recipe, GuardRequest(sampler="DDIM", steps=20), GuardPolicy(mode="standard"))
    verdict.allowed, verdict.message()

`judge` is the one decision every entry point asks (Generate, the panel, the API, the CLI): a recipe or a
composition, the request, the policy and the extra passes; `evaluate` is its one-recipe form. Rules live in
`iga_core.guard.rules` (registry `RULES`, every finding family); presets in `iga_core.presets`; host
auto-configuration in `iga_core.autoconfig` (both re-exported here for the documented interface).
"""

from __future__ import annotations

from iga_core.guard.context import GuardRecipeError
from iga_core.guard.engine import run_rules
from iga_core.guard.judge import PASS_NAMES, Pass, PassInvalid, evaluate, judge
from iga_core.guard.request import MODES, ExecutedSchedule, GuardPolicy, GuardRequest, GuardRequestInvalid
from iga_core.guard.rules import RULES, Rule
from iga_core.guard.verdict import Finding, Verdict

__all__ = [
    "MODES", "PASS_NAMES", "RULES", "ExecutedSchedule", "Finding", "GuardPolicy", "GuardRecipeError",
    "GuardRequest", "GuardRequestInvalid", "Pass", "PassInvalid", "Rule", "Verdict", "auto_configure", "evaluate",
    "judge", "resolve_preset", "run_rules",
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
