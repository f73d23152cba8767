"""The guard's rule registry: one calling convention for every rule.

A rule is a small function `check(ctx: RuleContext) -> Iterable[Observation]` registered with `@rule(...)`
under a stable id (`IGA-H…` hard, `IGA-S…` soft, `IGA-I…` info). The registry turns each observation into
a `Finding` carrying the rule's id and severity, so a rule cannot mislabel itself. Every rule module is
imported at the bottom of this file; `RULES` is ordered by id. README "Guard rules" documents each one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from iga_core.guard.request import RULE_ID_PATTERN
from iga_core.guard.verdict import SEVERITIES, Finding

_PREFIX = {"hard": "IGA-H", "soft": "IGA-S", "info": "IGA-I"}


@dataclass(frozen=True)
class Observation:
    """What a rule saw; the registry adds the rule id and severity."""

    field: str
    expected: Any
    actual: Any
    reason: str
    remedy: str
    fix: dict | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    fields: tuple[str, ...]  # request fields the rule reads (README table, contract tests)
    title: str  # what it checks, one line
    remedy: str  # what the user should do, one line (README table)
    check: Callable[[Any], Iterable[Observation]]
    _key: Callable[[Any], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the memo key: the values of the declared fields, read in one C call
        object.__setattr__(self, "_key", attrgetter(*self.fields))

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip()

    def __call__(self, ctx) -> tuple[Finding, ...]:
        """The rule's findings. A rule reads only its declared request `fields` (a contract test checks
        this), so its answer is memoised per recipe on those values."""
        memo = ctx.recipe.memo
        key = (self.id, self._key(ctx.request))
        found = memo.get(key)
        if found is None:
            found = tuple(
                Finding(rule_id=self.id, severity=self.severity, field=o.field, expected=o.expected,
                        actual=o.actual, reason=o.reason, remedy=o.remedy, fix=o.fix)
                for o in self.check(ctx)
            )
            if len(memo) >= MEMO_LIMIT:  # random input must not grow memory without bound
                memo.clear()
            memo[key] = found
        return found


#: entries kept per recipe before its memo is emptied
MEMO_LIMIT = 20_000

_REGISTRY: dict[str, Rule] = {}


def rule(rule_id: str, severity: str, fields: tuple[str, ...], *, title: str, remedy: str):
    """Register `check` under `rule_id`; the id's letter must match the severity."""
    if severity not in SEVERITIES or not RULE_ID_PATTERN.match(rule_id) or not rule_id.startswith(_PREFIX[severity]):
        raise ValueError(f"rule id {rule_id!r} does not fit severity {severity!r}")
    if rule_id in _REGISTRY:
        raise ValueError(f"rule id {rule_id} registered twice")

    def register(check):
        _REGISTRY[rule_id] = Rule(rule_id, severity, tuple(fields), title, remedy, check)
        return check

    return register


for _module in ("names", "sampler", "schedule", "prediction", "grid", "resolution", "numbers", "vae",
                "clip_skip", "defaults", "img2img", "host_model"):
    importlib.import_module(f"{__name__}.{_module}")

#: id -> Rule: hard rules first, then soft, then info; by id within each
RULES: dict[str, Rule] = {
    r.id: r for r in sorted(_REGISTRY.values(), key=lambda r: (SEVERITIES.index(r.severity), r.id))
}
