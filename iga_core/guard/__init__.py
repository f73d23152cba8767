"""The guard: checks a generation request against a model's recipe, before any compute is spent.

    from iga_core.guard import GuardPolicy, GuardRequest, Pass, judge
    verdict = judge(recipe, GuardRequest(sampler="DDIM", steps=20), GuardPolicy(mode="standard"))
    verdict.allowed, verdict.message()

`judge` is the one decision every entry point asks (Generate, the panel, the API, the CLI): a recipe or a
composition, the request, the policy and the extra passes; `evaluate` is its one-recipe form. Rules live in
`iga_core.guard.rules` (registry `RULES`, every finding family). Presets (`iga_core.presets`) and host
auto-configuration (`iga_core.autoconfig`) build on the guard, a layer above it.
"""

from __future__ import annotations

from iga_core.guard.context import GuardRecipeError
from iga_core.guard.control import ControlUnit, ControlUnitInvalid
from iga_core.guard.engine import run_rules
from iga_core.guard.judge import PASS_NAMES, Pass, PassInvalid, evaluate, judge
from iga_core.guard.request import MODES, ExecutedSchedule, GuardPolicy, GuardRequest, GuardRequestInvalid
from iga_core.guard.rules import RULES, Rule
from iga_core.guard.verdict import Finding, Verdict

__all__ = [
    "MODES", "PASS_NAMES", "RULES", "ControlUnit", "ControlUnitInvalid", "ExecutedSchedule", "Finding", "GuardPolicy", "GuardRecipeError",
    "GuardRequest", "GuardRequestInvalid", "Pass", "PassInvalid", "Rule", "Verdict", "evaluate", "judge", "run_rules",
]

