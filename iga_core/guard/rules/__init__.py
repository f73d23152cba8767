"""The rule registry: every finding iga reports is minted here, under a registered id.

Three families share one registry (`RULES`) and one `Finding` shape:

- **request rules** (`IGA-H…` hard, `IGA-S…` soft, `IGA-I…` info): a small function
  `check(ctx: RuleContext) -> Iterable[Observation]` registered with `@rule(...)`; the engine runs them
  against every request. The letter of the id is the severity, so a rule cannot mislabel itself.
- **composition rules** (`IGA-M…`, `composition.py`) and **auto-configure rules** (`IGA-C…`,
  `autoconfig.py`): registered as data with `finding_rule(...)`; `iga_core.compose` and
  `iga_core.autoconfig` mint their findings through `RULES[id].mint(...)`. Where the severity depends on
  what happened (a missing sampler is hard, a substitute soft), the rule names its outcomes and their
  severities, and the minting code names the outcome, never a severity.

Every rule module is imported at the bottom of this file; `RULES` is ordered hard → soft → info, by id.
docs/guard.md and docs/composition.md document each one.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from types import MappingProxyType
from typing import Any

from iga_core.guard.request import RULE_ID_PATTERN
from iga_core.guard.verdict import SEVERITIES, Finding

_PREFIX = {"hard": "IGA-H", "soft": "IGA-S", "info": "IGA-I"}
#: rule families: who mints the findings (the engine runs only "request" rules)
FAMILIES = {"request": "IGA-[HSI]", "composition": "IGA-M", "autoconfig": "IGA-C"}
#: the outcome name of a rule with one severity
DEFAULT_OUTCOME = "found"


@dataclass(frozen=True)
class Observation:
    """What a rule saw; the registry adds the rule id and severity."""

    field: str
    expected: Any
    actual: Any
    reason: str
    remedy: str
    fix: dict | None = None


class UnknownOutcome(ValueError):
    """A finding was minted with an outcome its rule does not declare (a programming error)."""


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str  # the most severe of its outcomes (the only one for request rules)
    fields: tuple[str, ...]  # request (or recipe) fields the rule is about (docs tables, contract tests)
    title: str  # what it checks, one line
    remedy: str  # what the user should do, one line (docs table)
    check: Callable[[Any], Iterable[Observation]] | None = None  # request rules only
    family: str = "request"
    outcomes: Mapping[str, str] = field(default_factory=dict)  # outcome -> severity
    _key: Callable[[Any], Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the memo key: the values of the declared fields, read in one C call
        object.__setattr__(self, "_key", attrgetter(*self.fields))
        object.__setattr__(self, "outcomes", MappingProxyType(dict(self.outcomes or {DEFAULT_OUTCOME: self.severity})))

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip() if self.check is not None else self.title

    @property
    def severities(self) -> frozenset[str]:
        return frozenset(self.outcomes.values())

    @property
    def overridable(self) -> bool:
        """An override can acknowledge this rule's findings (some outcome of it is soft)."""
        return "soft" in self.severities

    def mint(self, field: str, expected: Any, actual: Any, reason: str, remedy: str, fix: dict | None = None, *,
             outcome: str = DEFAULT_OUTCOME) -> Finding:
        """The finding this rule reports for `outcome`, with the severity the registry gives that outcome."""
        try:
            severity = self.outcomes[outcome]
        except KeyError:
            raise UnknownOutcome(f"{self.id} has no outcome {outcome!r} (it has: {', '.join(self.outcomes)})") from None
        return Finding(rule_id=self.id, severity=severity, field=field, expected=expected, actual=actual,
                       reason=reason, remedy=remedy, fix=fix)

    def __call__(self, ctx) -> tuple[Finding, ...]:
        """A request rule's findings. It reads only its declared request `fields` (a contract test checks
        this), so its answer is memoised per recipe on those values."""
        memo = ctx.recipe.memo
        key = (self.id, self._key(ctx.request))
        found = memo.get(key)
        if found is None:
            found = tuple(self.mint(o.field, o.expected, o.actual, o.reason, o.remedy, o.fix) for o in self.check(ctx))
            if len(memo) >= MEMO_LIMIT:  # random input must not grow memory without bound
                memo.clear()
            memo[key] = found
        return found


#: entries kept per recipe before its memo is emptied
MEMO_LIMIT = 20_000

_REGISTRY: dict[str, Rule] = {}


def _register(new: Rule) -> None:
    if not RULE_ID_PATTERN.match(new.id):
        raise ValueError(f"rule id {new.id!r} is not IGA-<H|S|I|M|C><3 digits>")
    if new.id in _REGISTRY:
        raise ValueError(f"rule id {new.id} registered twice")
    _REGISTRY[new.id] = new


def rule(rule_id: str, severity: str, fields: tuple[str, ...], *, title: str, remedy: str):
    """Register request rule `check` under `rule_id`; the id's letter must match the severity."""
    if severity not in SEVERITIES or not rule_id.startswith(_PREFIX[severity]):
        raise ValueError(f"rule id {rule_id!r} does not fit severity {severity!r}")

    def register(check):
        _register(Rule(rule_id, severity, tuple(fields), title, remedy, check))
        return check

    return register


def finding_rule(rule_id: str, family: str, severity: str | Mapping[str, str], fields: tuple[str, ...], *,
                 title: str, remedy: str) -> None:
    """Register a rule whose findings another part mints (`family` "composition" IGA-M…, "autoconfig"
    IGA-C…). `severity` is one severity, or {outcome: severity} when it depends on what happened."""
    if family not in FAMILIES or family == "request" or not rule_id.startswith(FAMILIES[family]):
        raise ValueError(f"rule id {rule_id!r} does not fit family {family!r}")
    outcomes = dict(severity) if isinstance(severity, Mapping) else {DEFAULT_OUTCOME: severity}
    if not outcomes or not set(outcomes.values()) <= set(SEVERITIES):
        raise ValueError(f"rule {rule_id}: severities must be among {SEVERITIES}")
    worst = min(outcomes.values(), key=SEVERITIES.index)
    _register(Rule(rule_id, worst, tuple(fields), title, remedy, None, family, outcomes))


for _module in ("names", "sampler", "schedule", "prediction", "grid", "resolution", "numbers", "vae",
                "clip_skip", "defaults", "img2img", "host_model", "control", "composition", "autoconfig"):
    importlib.import_module(f"{__name__}.{_module}")

#: id -> Rule, every family: hard rules first, then soft, then info; by id within each
RULES: dict[str, Rule] = {
    r.id: r for r in sorted(_REGISTRY.values(), key=lambda r: (SEVERITIES.index(r.severity), r.id))
}
#: the rules the engine runs against every request, in RULES order
REQUEST_RULES: tuple[Rule, ...] = tuple(r for r in RULES.values() if r.family == "request")
#: the rules whose findings can appear in a verdict (request and composition): what an override may name
VERDICT_RULES: tuple[Rule, ...] = tuple(r for r in RULES.values() if r.family in ("request", "composition"))
