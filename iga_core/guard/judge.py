"""The one judge: every entry point (Generate, the panel, `POST /iga/v1/check`, `iga check`) asks this
function, so a LoRA composition, a hires pass or a refiner means the same verdict everywhere.

    judge(subject, request, policy, passes=()) -> Verdict | None

`subject` is what governs the first pass: a parsed `Recipe`, or a composition of recipes (anything with
`.recipe` and `.findings`, i.e. `iga_core.compose.Composition`), whose own findings (IGA-M…) are weighed
with the request's under the same policy. Each further `Pass` (hires fix, refiner) is judged against the
recipe that governs it, with its own request; its findings are labelled with the pass name and go into the
same verdict, which allows the generation only if every pass is allowed.

A recipe with several pipelines (schema 1.1.0, `Recipe.pipeline_views`) is judged once per pipeline and the
verdict is the best fit's: allowed when the request fits any pipeline, `Verdict.pipeline` names the one
it fits (or, refused, the nearest, whose findings it carries).

Host facts travel on the request (`GuardRequest`) and on each pass: a later field on `Pass` (the pass
checkpoint's facts) or on `GuardRequest` (what the host will execute) reaches the rules without a change to
this signature.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from iga_core.errors import IgaInvalid
from iga_core.guard.context import require_recipe
from iga_core.guard.engine import apply_policy, run_rules
from iga_core.guard.request import GuardPolicy, GuardRequest
from iga_core.guard.verdict import Finding, Verdict, sort_findings
from iga_core.recipe import Recipe

#: the extra passes a generation can have, in the order they run
PASS_NAMES = ("hires", "refiner")
#: request fields a hires pass takes from the first pass unless it sets its own (A processing.py:1252-1281:
#: hr_sampler_name / hr_scheduler "Use same", hr_second_pass_steps 0 = the first pass's); the target size is
#: not judged, since hires fix exists to go past the native size
HIRES_INHERITS = ("sampler", "schedule", "steps", "cfg", "host", "dialect")  # host, dialect: the same WebUI runs it


class PassInvalid(IgaInvalid):
    """A pass description (name, fields) is not one the judge knows."""


class ComposedSubject(Protocol):
    """What the judge reads of a composition (`iga_core.compose.Composition`, a layer above the guard)."""

    recipe: Recipe | None
    findings: tuple[Finding, ...]


Subject = Recipe | ComposedSubject


@dataclass(frozen=True)
class Pass:
    """One more sampling pass of the same generation, judged against the recipe that governs it.

    `subject`: that recipe (a `Recipe`, or a composition), None when the pass has no recipe to be checked
    against (it is then skipped); `request`: what the pass will run. Build one with `Pass.hires(...)` /
    `Pass.refiner(...)` so every entry point derives a pass's request from the first pass the same way.
    """

    name: str
    subject: Subject | None
    request: GuardRequest

    def __post_init__(self) -> None:
        if self.name not in PASS_NAMES:
            raise PassInvalid(f"unknown pass {self.name!r}", f"use one of: {', '.join(PASS_NAMES)}")

    @classmethod
    def hires(cls, subject: Subject | None, first: GuardRequest, **own: Any) -> Pass:
        """The hires-fix pass: `own` fields (sampler, schedule, steps, cfg, denoising_strength, ...) over the
        first pass's sampler, schedule, steps and CFG; a field given as None takes the first pass's."""
        inherited = {k: getattr(first, k) for k in HIRES_INHERITS}
        fields = {**inherited, **{k: v for k, v in own.items() if v is not None}}
        return cls("hires", subject, GuardRequest(**fields))

    @classmethod
    def refiner(cls, subject: Subject | None, first: GuardRequest, **facts: Any) -> Pass:
        """The refiner: the same sampler, schedule, steps and CFG continue on the refiner checkpoint from
        `refiner_switch_at`, so the first pass's request is judged against the refiner's recipe; `facts` are
        the refiner checkpoint's own (its architecture, the architecture whose latents it continues)."""
        return cls("refiner", subject, dataclasses.replace(first, **facts) if facts else first)


def _parts(subject: Subject | None) -> tuple[Recipe | None, tuple[Finding, ...]]:
    """(the governing recipe, the subject's own findings)."""
    if subject is None or isinstance(subject, Recipe):
        return subject, ()
    if not (hasattr(subject, "recipe") and hasattr(subject, "findings")):
        require_recipe(subject)  # a raw document or anything else: the typed refusal
    recipe = subject.recipe
    return (require_recipe(recipe) if recipe is not None else None), tuple(subject.findings)


def _judge_one(subject: Subject | None, request: GuardRequest, policy: GuardPolicy) -> Verdict | None:
    recipe, extra = _parts(subject)
    if recipe is None:
        return None
    views = recipe.pipeline_views
    if len(views) == 1:
        return apply_policy(sort_findings([*run_rules(recipe, request), *extra]), policy)
    # several pipelines (schema 1.1.0): the request is judged against each; the verdict is the best fit's,
    # naming it (a request that fits none gets the nearest pipeline's findings, and says so)
    judged = [(name, apply_policy(sort_findings([*run_rules(view, request), *extra]), policy))
              for name, view in views]
    index = min(range(len(judged)), key=lambda i: (_fit(judged[i][1]), i))
    name, verdict = judged[index]
    return dataclasses.replace(verdict, pipeline=name, pipelines=tuple(n for n, _ in judged))


def _fit(verdict: Verdict) -> tuple[int, ...]:
    """How badly a request misses one pipeline: refused first, then by what blocks, warns and notes."""
    hard = sum(1 for f in verdict.findings if f.severity == "hard" and not f.overridden)
    soft = sum(1 for f in verdict.findings if f.severity == "soft" and not f.overridden)
    return (not verdict.allowed, len(verdict.blocking), hard, soft, len(verdict.overridden), len(verdict.infos))


def _relabel(finding: Finding, name: str) -> Finding:
    return dataclasses.replace(finding, field=f"{name} {finding.field}", reason=f"{name} pass: {finding.reason}")


def _combine(first: Verdict | None, extra: list[tuple[str, Verdict]], mode: str) -> Verdict | None:
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
                   ignored_overrides=tuple(ignored), pipeline=first.pipeline if first is not None else None,
                   pipelines=first.pipelines if first is not None else ())


def judge(subject: Subject | None, request: GuardRequest, policy: GuardPolicy | None = None,
          passes: Iterable[Pass] = ()) -> Verdict | None:
    """The verdict on a generation: `request` against `subject` (a Recipe or a composition), plus every
    extra pass against its own recipe, under one `policy` (default: standard mode). None when neither the
    first pass nor any extra pass has a recipe (nothing to judge). Mode "off" judges nothing."""
    policy = policy or GuardPolicy()
    passes = tuple(passes)
    for p in passes:
        if not isinstance(p, Pass):
            raise PassInvalid(f"a pass must be a Pass, got {type(p).__name__}", "build it with Pass.hires / Pass.refiner")
    names = [p.name for p in passes]
    if len(set(names)) != len(names):
        raise PassInvalid(f"a pass is named twice: {', '.join(names)}", "give each of hires and refiner at most once")
    governed = _parts(subject)[0] is not None or any(_parts(p.subject)[0] is not None for p in passes)
    if not governed:
        return None
    if policy.mode == "off":
        return Verdict(allowed=True, mode="off")
    first = _judge_one(subject, request, policy)
    extra = [(p.name, v) for p in passes if (v := _judge_one(p.subject, p.request, policy)) is not None]
    return _combine(first, extra, policy.mode)


def evaluate(recipe: Recipe, request: GuardRequest, policy: GuardPolicy | None = None) -> Verdict:
    """`judge` for one parsed recipe, no composition and no extra pass (mode "off" checks nothing at all)."""
    policy = policy or GuardPolicy()
    if policy.mode == "off":
        return Verdict(allowed=True, mode="off")
    return judge(require_recipe(recipe), request, policy)
