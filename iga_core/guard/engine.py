"""The engine under the one judge (`iga_core.guard.judge`): run the request rules, then apply the policy.
Pure and deterministic.

Order of work: resolve the request's names through the vocabulary (an unknown name is a hard finding,
never a silent fallback), run every request rule in `RULES` against the typed recipe, then let the policy
decide what blocks. The recipe's own derived facts and each rule's memoised answers live on the `Recipe`
object, so a recipe parsed once at its boundary is digested once. Nothing here reads settings, files or the
clock.
"""

from __future__ import annotations

from dataclasses import replace

from iga_core.guard import host_settings
from iga_core.guard.context import (
    RuleContext,
    canonical_prediction_type,
    normalize,
    require_recipe,
    resolve_sampler,
    resolve_schedule,
    runs_on,
    same_grid_ids,
    sampler_label,
    schedule_label,
)
from iga_core.guard.request import GuardPolicy, GuardRequest
from iga_core.guard.rules import MEMO_LIMIT, REQUEST_RULES, RULES
from iga_core.guard.verdict import Finding, Verdict, sort_findings
from iga_core.recipe import Recipe
from iga_core.vocab import ConflictingNames


def clear_caches() -> None:
    """Forget the memoised name lookups (tests and benchmarks measure cold behaviour with this; a recipe's
    own memo goes with the Recipe object)."""
    for cached in (normalize, resolve_sampler, resolve_schedule, sampler_label, schedule_label, same_grid_ids):
        cached.cache_clear()


def build_context(recipe: Recipe, request: GuardRequest) -> RuleContext:
    """Resolve the request's names. A missing sampler means "the recipe's" only for resolving Automatic."""
    sampler = schedule = sampler_unknown = schedule_unknown = conflict = None
    ignored = False
    dialect = request.dialect
    runs = runs_on(request)
    if request.sampler is not None:
        sampler, schedule, err = normalize(request.sampler, request.schedule, dialect, runs)
        if isinstance(err, ConflictingNames):
            sampler, _, _ = normalize(request.sampler, None, dialect, runs)
            conflict, schedule = err, None
        elif err is not None:
            # tell which name is unknown: the sampler alone, or the schedule next to a known sampler
            sampler, _, sampler_err = normalize(request.sampler, None, dialect, runs)
            if sampler_err is not None:
                sampler_unknown = sampler_err
            if request.schedule is not None:
                _, schedule_unknown = resolve_schedule(request.schedule, dialect)
            schedule = None
        elif sampler.ignores_schedule(runs) and request.schedule is not None:
            named, _ = resolve_schedule(request.schedule, dialect)
            ignored = named is not None and named.id != "automatic"
    elif request.schedule is not None:
        _, schedule, err = normalize(recipe.sampler_info.label, request.schedule, dialect, runs)
        if err is not None:
            schedule_unknown = resolve_schedule(request.schedule, dialect)[1] or err
    prediction, prediction_unknown = None, False
    if request.prediction_type is not None:
        prediction = canonical_prediction_type(request.prediction_type)
        prediction_unknown = prediction is None
    return RuleContext(recipe=recipe, request=request, sampler=sampler, schedule=schedule,
                       sampler_unknown=sampler_unknown, schedule_unknown=schedule_unknown, names_conflict=conflict,
                       schedule_ignored=ignored, prediction_type=prediction,
                       prediction_unknown=prediction_unknown, dialect=dialect, runs=runs)


def run_rules(recipe: Recipe, request: GuardRequest) -> tuple[Finding, ...]:
    """Every request rule's findings, sorted hard → soft → info, before any policy applies.

    A pure function of the recipe and the whole request (each rule's own memo keys on the fields it
    declares; this one on all of them), so it is memoised per recipe: a generation repeating the last
    one's settings -- the common case -- resolves no names and runs no rule."""
    recipe = require_recipe(recipe)
    memo = recipe.memo
    key = (_RUN_RULES, request)
    found = memo.get(key)  # hashable: __post_init__ admits only strings, numbers, booleans and frozen parts
    if found is None:
        found = _run_rules(recipe, request)
        if len(memo) >= MEMO_LIMIT:  # random input must not grow memory without bound
            memo.clear()
        memo[key] = found
    return found


#: the memo key's tag for whole-request answers (a rule id can never equal it)
_RUN_RULES = "run_rules"


def _run_rules(recipe: Recipe, request: GuardRequest) -> tuple[Finding, ...]:
    ctx = build_context(recipe, request)
    findings = []
    for rule in REQUEST_RULES:
        findings.extend(rule(ctx))
    if request.hidden_controls:
        findings = [_through_hidden_controls(f, request) for f in findings]
    return sort_findings(findings)


def _through_hidden_controls(finding: Finding, request: GuardRequest) -> Finding:
    """A remedy that changes a field the request's page has no control for (Forge Classic's schedule type
    without its dropdown) starts with how to show that control: "pick Karras" alone names a control the
    user cannot see. Setting a hidden schedule to Automatic, which is what such a page sends, needs nothing."""
    hidden = [k for k, v in (finding.fix or {}).items() if k in request.hidden_controls
              and not (k == "schedule" and str(v).strip().lower() == "automatic")]
    if not hidden:
        return finding
    steps = [host_settings.show_control(request.host, k)
             or f"this page has no {k.replace('_', ' ')} control: send {k} through the API instead" for k in hidden]
    return replace(finding, remedy=f"{'; '.join(dict.fromkeys(steps))}; then {finding.remedy}")


def _blocks(finding, mode: str) -> bool:
    if mode == "audit" or finding.severity == "info":
        return False
    return finding.severity == "hard" or mode == "strict"


def apply_policy(findings, policy: GuardPolicy) -> Verdict:
    """Decide: which findings block under `policy.mode`, which soft ones the overrides acknowledge."""
    if policy.mode == "off":
        return Verdict(allowed=True, mode="off")
    marked, blocked = [], []
    for f in findings:
        if f.severity == "soft" and f.rule_id in policy.overrides:
            f = replace(f, overridden=True)
        elif _blocks(f, policy.mode) and f.rule_id not in blocked:
            blocked.append(f.rule_id)
        marked.append(f)
    # an override never lifts a hard rule; the verdict lists the hard ids that were named anyway
    ignored = tuple(sorted(o for o in policy.overrides
                           if o.startswith("IGA-H") or (o in RULES and not RULES[o].overridable)))
    return Verdict(allowed=not blocked, mode=policy.mode, findings=tuple(marked),
                   blocked_ids=tuple(blocked), ignored_overrides=ignored)
