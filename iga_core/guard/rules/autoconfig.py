"""IGA-C…: what a host cannot honour of a recipe. `iga_core.autoconfig` mints these, naming the outcome
(the severity is the registry's): a missing sampler or schedule is hard, a substitute the recipe allows is
soft (docs/guard.md "Auto-configure")."""

from __future__ import annotations

from iga_core.guard.rules import finding_rule

finding_rule("IGA-C001", "autoconfig", {"missing": "hard", "substituted": "soft"}, ("sampler",),
             title="the host lacks the recipe's sampler (soft when a sampler the recipe allows replaces it)",
             remedy="run this model on a host that has the sampler")
finding_rule("IGA-C002", "autoconfig", {"missing": "hard", "substituted": "soft", "unpinned": "soft"}, ("schedule",),
             title="the host lacks the recipe's schedule type (soft when a same-grid or allowed one replaces it, "
                   "or the recipe pins no grid)",
             remedy="run this model on a host that has the schedule type")
finding_rule("IGA-C003", "autoconfig", {"missing": "hard", "substituted": "soft"}, ("sampler", "steps"),
             title="the recipe's sampler, as the host runs it (its own timesteps, LCM's 50-step table), misses the "
                   "recipe's step grid (soft when a sampler and schedule the recipe allows land on it)",
             remedy="run this model where the sampler takes the recipe's timesteps")
finding_rule("IGA-C004", "autoconfig", "soft", ("distilled_cfg",),
             title="the recipe sets a distilled CFG but the host has none",
             remedy="use a host with distilled CFG (Forge)")
