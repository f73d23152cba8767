"""`evaluate(recipe, request, policy) -> Verdict`: pure and deterministic.

Order of work: digest the recipe (cached by content), resolve the request's names through the vocabulary
(an unknown name is a hard finding, never a silent fallback), run every rule in `RULES`, then let the
policy decide what blocks. Nothing here reads settings, files or the clock.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import replace

from iga_core.guard.context import (
    GuardRecipeError,
    RecipeView,
    RuleContext,
    build_view,
    canonical_prediction_type,
    normalize,
    resolve_schedule,
)
from iga_core.guard.request import GuardPolicy, GuardRequest
from iga_core.guard.rules import RULES
from iga_core.guard.verdict import Finding, Verdict, sort_findings
from iga_core.vocab import ConflictingNames

_VIEW_CACHE: OrderedDict[str, RecipeView] = OrderedDict()  # canonical JSON of the recipe -> view
_BY_ID: OrderedDict[int, RecipeView] = OrderedDict()  # id() of a recipe dict seen lately -> view
_VIEW_CACHE_SIZE = 16  # hosts use one or two recipes at a time (base, refiner, LoRA compositions)


def _as_dict(recipe) -> dict:
    if isinstance(recipe, dict):
        return recipe
    to_dict = getattr(recipe, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise GuardRecipeError(f"the guard needs a recipe dict or Recipe, got {type(recipe).__name__}",
                           "pass the parsed recipe")


def recipe_view(recipe) -> RecipeView:
    """The digested recipe, cached by content. The same dict passed again is recognised by identity and
    confirmed by equality with the view's own copy (cheaper than a JSON dump, and an in-place edit still
    misses); anything else is keyed by its canonical JSON."""
    if isinstance(recipe, RecipeView):
        return recipe
    recipe = _as_dict(recipe)
    view = _BY_ID.get(id(recipe))
    if view is not None and view.recipe == recipe:
        return view
    view = _by_content(recipe)
    _BY_ID[id(recipe)] = view
    if len(_BY_ID) > _VIEW_CACHE_SIZE:
        _BY_ID.popitem(last=False)
    return view


def clear_caches() -> None:
    """Forget every digested recipe (tests and benchmarks measure cold behaviour with this)."""
    _VIEW_CACHE.clear()
    _BY_ID.clear()


def _by_content(recipe: dict) -> RecipeView:
    try:
        key = json.dumps(recipe, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        return build_view(recipe)  # not JSON-like: build_view raises the clear error
    view = _VIEW_CACHE.get(key)
    if view is None:
        view = build_view(recipe)
        _VIEW_CACHE[key] = view
        if len(_VIEW_CACHE) > _VIEW_CACHE_SIZE:
            _VIEW_CACHE.popitem(last=False)
    else:
        _VIEW_CACHE.move_to_end(key)
    return view


def build_context(view: RecipeView, request: GuardRequest) -> RuleContext:
    """Resolve the request's names. A missing sampler means "the recipe's" only for resolving Automatic."""
    sampler = schedule = sampler_unknown = schedule_unknown = conflict = None
    ignored = False
    if request.sampler is not None:
        sampler, schedule, err = normalize(request.sampler, request.schedule)
        if isinstance(err, ConflictingNames):
            sampler, _, _ = normalize(request.sampler, None)
            conflict, schedule = err, None
        elif err is not None:
            # tell which name is unknown: the sampler alone, or the schedule next to a known sampler
            sampler, _, sampler_err = normalize(request.sampler, None)
            if sampler_err is not None:
                sampler_unknown = sampler_err
            if request.schedule is not None:
                _, schedule_unknown = resolve_schedule(request.schedule)
            schedule = None
        elif sampler.timestep_based and request.schedule is not None:
            named, _ = resolve_schedule(request.schedule)
            ignored = named is not None and named.id != "automatic"
    elif request.schedule is not None:
        _, schedule, err = normalize(view.sampler.label, request.schedule)
        if err is not None:
            schedule_unknown = resolve_schedule(request.schedule)[1] or err
    prediction, prediction_unknown = None, False
    if request.prediction_type is not None:
        prediction = canonical_prediction_type(request.prediction_type)
        prediction_unknown = prediction is None
    return RuleContext(view=view, request=request, sampler=sampler, schedule=schedule,
                       sampler_unknown=sampler_unknown, schedule_unknown=schedule_unknown, names_conflict=conflict,
                       schedule_ignored=ignored, prediction_type=prediction,
                       prediction_unknown=prediction_unknown)


def run_rules(recipe, request: GuardRequest) -> tuple[Finding, ...]:
    """Every rule's findings for this request, sorted hard → soft → info, before any policy applies."""
    ctx = build_context(recipe_view(recipe), request)
    findings = []
    for rule in RULES.values():
        findings.extend(rule(ctx))
    return sort_findings(findings)


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
    ignored = tuple(sorted(o for o in policy.overrides if o.startswith("IGA-H")))
    return Verdict(allowed=not blocked, mode=policy.mode, findings=tuple(marked),
                   blocked_ids=tuple(blocked), ignored_overrides=ignored)


def evaluate(recipe, request: GuardRequest, policy: GuardPolicy | None = None) -> Verdict:
    """Check `request` against `recipe` (dict or Recipe) under `policy` (default: standard mode)."""
    policy = policy or GuardPolicy()
    if policy.mode == "off":
        return Verdict(allowed=True, mode="off")
    return apply_policy(run_rules(recipe, request), policy)
