"""What the guard found (`Finding`) and what it decided (`Verdict`), with the advice text users read.

A finding is data first (rule id, field, expected, actual, a machine-readable `fix`) and text second
(`reason`, `remedy`), so the UI, the CLI, the API and the audit record all show the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("hard", "soft", "info")
_SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}


def steps_text(n: float) -> str:
    """"1 step", "4 steps"."""
    return f"{n:g} step" if n == 1 else f"{n:g} steps"


def range_text(low: Any, high: Any) -> str:
    """"exactly 1", "1–2", "at least 3", "at most 8" for a recipe range."""
    if low is not None and low == high:
        return f"exactly {format_value(low)}"
    if low is None:
        return f"at most {format_value(high)}"
    if high is None:
        return f"at least {format_value(low)}"
    return f"{format_value(low)}–{format_value(high)}"


def format_value(value: Any) -> str:
    """Short human text for an expected/actual value: ranges as "1–2", lists as "a, b or c"."""
    if value is None:
        return "—"
    if isinstance(value, dict) and set(value) <= {"min", "max"}:
        low, high = value.get("min"), value.get("max")
        if low == high:
            return format_value(low)
        if low is None or high is None:  # "at most 1024×1024", never "—–1024×1024"
            return range_text(low, high)
        return f"{format_value(low)}–{format_value(high)}"
    if isinstance(value, dict) and set(value) == {"width", "height"}:
        return f"{value['width']}×{value['height']}"
    if isinstance(value, (list, tuple)):
        items = [format_value(v) for v in value]
        if len(items) <= 1:
            return "".join(items)
        return ", ".join(items[:-1]) + " or " + items[-1]
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True)
class Finding:
    """One rule's observation about one field of a request.

    `fix` holds the request fields that would clear the finding (e.g. {"sampler": "Euler a"}); `remedy` is
    the same advice as text. `overridden` is set by the engine when the policy acknowledges a soft rule.
    """

    rule_id: str
    severity: str
    field: str
    expected: Any
    actual: Any
    reason: str
    remedy: str
    fix: dict | None = None
    overridden: bool = False

    def advice(self) -> str:
        """One line: "DDIM is forbidden by this model's recipe (IGA-H001); use Euler a"."""
        text = f"{self.reason} ({self.rule_id})"
        return f"{text}; {self.remedy}" if self.remedy else text

    def to_dict(self) -> dict:
        return {
            "rule_id": self.rule_id, "severity": self.severity, "field": self.field,
            "expected": self.expected, "actual": self.actual, "reason": self.reason,
            "remedy": self.remedy, "fix": self.fix, "overridden": self.overridden,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Finding:
        return cls(
            rule_id=d["rule_id"], severity=d["severity"], field=d["field"], expected=d.get("expected"),
            actual=d.get("actual"), reason=d.get("reason", ""), remedy=d.get("remedy", ""),
            fix=d.get("fix"), overridden=bool(d.get("overridden", False)),
        )


def sort_findings(findings) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.rule_id, f.field)))


@dataclass(frozen=True)
class Verdict:
    """The guard's decision: `allowed`, under which `mode`, and every finding (sorted hard → soft → info).

    `blocked_ids` lists the rule ids that stopped the request; `ignored_overrides` the override ids the
    policy named that could not apply (hard rules, which only the mode can lift).
    """

    allowed: bool
    mode: str
    findings: tuple[Finding, ...] = ()
    blocked_ids: tuple[str, ...] = ()
    ignored_overrides: tuple[str, ...] = field(default=())
    # a recipe with several pipelines (schema 1.1.0): the one the request fits (when it fits none: the
    # nearest, whose findings these are), and every pipeline the judge weighed, in the recipe's order
    pipeline: str | None = None
    pipelines: tuple[str, ...] = ()

    @property
    def pipeline_text(self) -> str:
        """"" for a one-pipeline recipe; else "pipeline Turbo" or "nearest pipeline Turbo (fits none of …)"."""
        if not self.pipeline:
            return ""
        if self.allowed and not self.blocking:
            return f"pipeline {self.pipeline}"
        return f"nearest pipeline {self.pipeline}; fits none of {', '.join(self.pipelines)}"

    @property
    def blocking(self) -> tuple[Finding, ...]:
        ids = set(self.blocked_ids)
        return tuple(f for f in self.findings if f.rule_id in ids and not f.overridden)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        """Hard or soft findings that did not block (standard mode's soft ones, everything in audit mode)."""
        ids = set(self.blocked_ids)
        return tuple(f for f in self.findings
                     if f.severity != "info" and not f.overridden and f.rule_id not in ids)

    def finding_state(self, finding: Finding) -> str:
        """What a finding did to this request: "overridden", "blocks", "note" (info) or "warns"."""
        if finding.overridden:
            return "overridden"
        if finding.rule_id in self.blocked_ids:
            return "blocks"
        return "note" if finding.severity == "info" else "warns"

    @property
    def overridden(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.overridden)

    @property
    def infos(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "info")

    def summary(self) -> str:
        """One line for a status bar or a log: "blocked by IGA-H001 (sampler)", "allowed with 1 warning ..."."""
        def ids(items) -> str:
            return ", ".join(f"{f.rule_id} ({f.field})" for f in items)

        if self.mode == "off":
            return "guard off: nothing checked"
        text = self._summary(ids)
        return f"{text} ({self.pipeline_text})" if self.pipeline else text

    def _summary(self, ids) -> str:
        if not self.allowed:
            return f"blocked by {ids(self.blocking)}"
        parts = []
        if self.warnings:
            n = len(self.warnings)
            parts.append(f"{n} warning{'s' if n != 1 else ''}: {ids(self.warnings)}")
        if self.overridden:
            parts.append(f"overridden: {ids(self.overridden)}")
        prefix = "allowed (audit only)" if self.mode == "audit" else "allowed"
        if parts:
            return f"{prefix} with " + "; ".join(parts)
        notes = len(self.infos)
        return f"{prefix}: inside the recipe" + (f" ({notes} note{'s' if notes != 1 else ''})" if notes else "")

    def message(self) -> str:
        """Multi-line advice: per finding the rule, what was asked, what the recipe allows, how to fix it."""
        lines = [self.summary()]
        for f in self.findings:
            state = self.finding_state(f)
            lines.append(f"- [{f.severity}, {'BLOCKS' if state == 'blocks' else state}] {f.advice()}")
            allows = "expected" if f.severity == "info" else "recipe allows"
            lines.append(f"    asked: {format_value(f.actual)}; {allows}: {format_value(f.expected)}")
        for rule_id in self.ignored_overrides:
            lines.append(f"- override of {rule_id} ignored: hard rules cannot be overridden; "
                         "only the guard mode (audit or off) lets such a request through")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "allowed": self.allowed, "mode": self.mode, "summary": self.summary(),
            "findings": [f.to_dict() for f in self.findings],
            "blocked_ids": list(self.blocked_ids), "ignored_overrides": list(self.ignored_overrides),
            **({"pipeline": self.pipeline, "pipelines": list(self.pipelines)} if self.pipeline else {}),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Verdict:
        return cls(
            allowed=bool(d["allowed"]), mode=d["mode"],
            findings=tuple(Finding.from_dict(f) for f in d.get("findings", ())),
            blocked_ids=tuple(d.get("blocked_ids", ())), ignored_overrides=tuple(d.get("ignored_overrides", ())),
            pipeline=d.get("pipeline"), pipelines=tuple(d.get("pipelines", ())),
        )
