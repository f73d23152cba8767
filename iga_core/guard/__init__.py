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

from iga_core.lazy import lazy_exports

# loaded on first use (iga_core.lazy): `MODES` for a command's --help does not load the rules
__all__ = lazy_exports(__name__, {
    "iga_core.guard.context": ("GuardRecipeError",),
    "iga_core.guard.control": ("ControlUnit", "ControlUnitInvalid"),
    "iga_core.guard.engine": ("run_rules",),
    "iga_core.guard.judge": ("PASS_NAMES", "Pass", "PassInvalid", "evaluate", "judge"),
    "iga_core.guard.modes": ("MODES",),
    "iga_core.guard.request": ("ExecutedSchedule", "GuardPolicy", "GuardRequest", "GuardRequestInvalid",
                                 "HostFacts"),
    "iga_core.guard.rules": ("RULES", "Rule"),
    "iga_core.guard.verdict": ("Finding", "Verdict"),
})
