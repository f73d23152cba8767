"""The engine: modes, overrides, verdict text and serialisation, purity, bad input."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from iga_core.errors import IgaError
from iga_core.guard import (
    MODES,
    GuardPolicy,
    GuardRecipeError,
    GuardRequest,
    GuardRequestInvalid,
    Verdict,
    evaluate,
)
from iga_core.recipe import Recipe, RecipeInvalid
from tests.test_guard_support import document, native_request, recipe

# Lightning with a forbidden sampler on the right grid (one hard finding), CFG 3 (soft, IGA-S002) and a VAE
# other than its own (soft, IGA-S004). The hosts' UniPC runs 999, 749.25, 499.5, 249.75 at 4 steps: Lightning's
# grid (DPM adaptive, used here before, picks its own steps and is off every grid: A1111 v1.10.1
# sd_samplers_kdiffusion.py:207-209 hands it only sigma_min / sigma_max).
MIXED = {"sampler": "UniPC", "schedule": "SGM Uniform", "steps": 4, "cfg": 3.0,
         "vae": "other_vae.safetensors", "width": 1024, "height": 1024}
SOFT_ONLY = {"sampler": "Euler", "schedule": "SGM Uniform", "steps": 4, "cfg": 3.0}


def _verdict(request: dict, **policy) -> Verdict:
    return evaluate(recipe("lightning"), GuardRequest(**request), GuardPolicy(**policy))


def test_native_request_is_allowed_without_findings_in_every_mode():
    # DMD2's own LCM misses its grid on the hosts' LCM table (test_guard_rules.py)
    for r in ("turbo", "lightning", "vpred", "flux", "sd1_anime"):
        for mode in MODES:
            v = evaluate(recipe(r), native_request(recipe(r)), GuardPolicy(mode=mode))
            assert v.allowed and v.findings == (), (r, mode, v.message())


def test_standard_blocks_hard_and_warns_soft():
    v = _verdict(MIXED)
    assert not v.allowed
    assert [f.rule_id for f in v.blocking] == ["IGA-H001"]
    assert {f.rule_id for f in v.warnings} == {"IGA-S002", "IGA-S004"}
    assert _verdict(SOFT_ONLY).allowed


def test_strict_blocks_soft_unless_overridden():
    v = _verdict(SOFT_ONLY, mode="strict")
    assert not v.allowed and v.blocked_ids == ("IGA-S002",)
    v = _verdict(SOFT_ONLY, mode="strict", overrides=frozenset({"IGA-S002"}),
                 override_reasons={"IGA-S002": "testing high CFG"})
    assert v.allowed
    assert [f.rule_id for f in v.overridden] == ["IGA-S002"]
    assert v.overridden[0].overridden


def test_finding_state_is_what_each_finding_did_and_the_advice_text_says_so():
    v = _verdict(MIXED, mode="standard", overrides=frozenset({"IGA-S002"}))
    states = {f.rule_id: v.finding_state(f) for f in v.findings}
    assert states["IGA-H001"] == "blocks" and states["IGA-S002"] == "overridden" and states["IGA-S004"] == "warns"
    assert all(states[f.rule_id] == "note" for f in v.infos)
    assert "[hard, BLOCKS]" in v.message() and "[soft, overridden]" in v.message()


def test_a_hard_finding_cannot_be_overridden():
    v = _verdict(MIXED, mode="strict", overrides=frozenset({"IGA-H001", "IGA-S002", "IGA-S004"}))
    assert not v.allowed
    assert v.blocked_ids == ("IGA-H001",)
    assert v.ignored_overrides == ("IGA-H001",)
    assert not any(f.overridden for f in v.findings if f.severity == "hard")
    assert "override of IGA-H001 ignored" in v.message()


def test_audit_records_everything_and_blocks_nothing():
    v = _verdict(MIXED, mode="audit")
    assert v.allowed and v.blocked_ids == ()
    assert {f.rule_id for f in v.findings} >= {"IGA-H001", "IGA-S002", "IGA-S004"}
    assert v.summary().startswith("allowed (audit only)")


def test_off_checks_nothing_not_even_a_broken_recipe():
    v = evaluate({"not": "a recipe"}, GuardRequest(sampler="DDIM"), GuardPolicy(mode="off"))
    assert v.allowed and v.findings == () and v.summary() == "guard off: nothing checked"


def test_findings_are_sorted_hard_soft_info():
    v = _verdict({**MIXED, "sampler": "DDIM", "steps": 5, "width": 4096}, mode="audit")
    order = [f.severity for f in v.findings]
    assert order == sorted(order, key=("hard", "soft", "info").index)


def test_evaluate_is_pure():
    r = recipe("sd1_anime")
    before = copy.deepcopy(r)
    request = GuardRequest(sampler="Euler a", steps=80, cfg=15.0, width=2048, height=2048, clip_skip=1)
    first = evaluate(r, request, GuardPolicy(mode="strict"))
    assert evaluate(r, request, GuardPolicy(mode="strict")) == first
    assert r == before


def test_each_recipe_carries_its_own_memo():
    """Rule answers are memoised on the Recipe object (frozen: its content cannot change under the memo), so
    a recipe with other fields is judged on its own facts even after the first one was judged."""
    r = recipe("sd1_anime")
    assert evaluate(r, GuardRequest(steps=60)).warnings
    assert r.memo
    wider = recipe("sd1_anime", steps={"default": 25, "min": 15, "max": 80})
    assert not wider.memo and not evaluate(wider, GuardRequest(steps=60)).warnings
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.steps = wider.steps


def test_the_whole_request_memo_answers_as_a_fresh_judge_would():
    """run_rules keeps each whole request's findings on the recipe; a request that differs from an earlier
    one in any field -- a host fact such as the prediction type or the executed grid included -- gets its
    own answer, the same one a recipe that never judged anything gives."""
    shared = recipe("sd1_anime")
    grid = {"kind": "sigmas", "values": [14.6, 3.2, 0.4, 0.0], "timesteps": [999.0, 687.0, 146.0]}
    base = native_request(shared)
    requests = [base, dataclasses.replace(base, steps=80), dataclasses.replace(base, prediction_type="v"),
                dataclasses.replace(base, executed=grid), dataclasses.replace(base, executed={**grid, "values": [9.0, 0.0]}),
                base, dataclasses.replace(base, prediction_type="v")]  # fmt: skip
    for request in requests + requests[::-1]:
        assert evaluate(shared, request) == evaluate(recipe("sd1_anime"), request)
    assert evaluate(shared, requests[2]) != evaluate(shared, base)


def test_verdict_round_trips_through_json():
    v = _verdict(MIXED, mode="strict", overrides=frozenset({"IGA-S004", "IGA-H001"}))
    again = Verdict.from_dict(json.loads(json.dumps(v.to_dict())))
    assert again == v
    assert again.summary() == v.summary()


def test_summary_and_message_read_like_advice():
    v = _verdict(MIXED)
    assert v.summary() == "blocked by IGA-H001 (sampler)"
    lines = v.message().splitlines()
    assert lines[1] == "- [hard, BLOCKS] UniPC is forbidden by this model's recipe (IGA-H001); use Euler"
    assert "asked: UniPC; recipe allows: Euler" in lines[2]
    assert any("CFG 3 is outside this model's range: it uses CFG 1 only" in line and "use CFG 1" in line for line in lines)
    ok = _verdict(SOFT_ONLY)
    assert ok.summary() == "allowed with 1 warning: IGA-S002 (cfg)"


@pytest.mark.parametrize("bad", [
    {"steps": 0}, {"steps": 2.5}, {"steps": True}, {"cfg": "7"}, {"cfg": float("nan")},
    {"width": -8}, {"denoising_strength": 1.5}, {"sampler": 3}, {"nonsense": 1}, {"vae": "x" * 5000},
])
def test_bad_requests_raise_a_typed_error(bad):
    with pytest.raises(GuardRequestInvalid) as err:
        GuardRequest.from_dict(bad)
    assert err.value.message and err.value.hint


@pytest.mark.parametrize("bad", [
    {"mode": "lenient"}, {"overrides": ["S002"]}, {"overrides": "IGA-S002"}, {"extra": True},
])
def test_bad_policies_raise_a_typed_error(bad):
    with pytest.raises(GuardRequestInvalid):
        GuardPolicy.from_dict(bad)


def test_policy_round_trip():
    p = GuardPolicy(mode="strict", overrides=["IGA-S002"], override_reasons={"IGA-S002": "why"})
    assert GuardPolicy.from_dict(p.to_dict()) == p
    assert p.overrides == frozenset({"IGA-S002"})


@pytest.mark.parametrize("broken", [
    "not a dict",
    {"sampler": {"name": "Euler"}},
    {**document("lightning"), "sampler": {"name": "Frobnicator"}},
    {**document("lightning"), "prediction_type": "banana"},
    {**document("lightning"), "cfg": {"default": "high"}},
    {**document("lightning"), "constraints": {"forbid_samplers": ["NoSuchSampler"]}},
    {**document("lightning"), "resolution": {"preferred": [{"width": "wide"}]}},
])
def test_broken_recipes_are_refused_at_the_parse_and_never_reach_the_guard(broken):
    with pytest.raises(RecipeInvalid) as err:
        Recipe.from_dict(broken)
    assert isinstance(err.value, IgaError) and err.value.hint
    with pytest.raises(GuardRecipeError) as err:
        evaluate(broken, GuardRequest(sampler="Euler"))  # an unparsed document is refused, not judged
    assert "Recipe.from_dict" in err.value.hint


def test_conflicting_combined_name_is_a_hard_finding():
    v = evaluate(recipe("sd1_anime"), GuardRequest(sampler="DPM++ 2M Karras", schedule="Exponential"))
    assert not v.allowed
    f = v.blocking[0]
    assert (f.rule_id, f.field, f.fix) == ("IGA-H006", "schedule", {"schedule": "Karras"})
