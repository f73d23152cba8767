"""classify_grid: canonical grid, allowed monotone subsample, off-grid, endpoints (trailing vs leading,
zero terminal SNR), with the distilled-model cases the guard exists for (DMD2, Lightning, Turbo)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iga_core import schedules as S
from iga_core.recipe import Scheduler


def classify(sched: dict, schedule_id, steps, **kw):
    """classify_grid reads the typed scheduler block; these cases write it as JSON, some broken on purpose."""
    return S.classify_grid(Scheduler.unchecked(sched), schedule_id, steps, **kw)

DMD2 = {"name": "SGM Uniform", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]},
        "canonical_steps": 4, "subsample": {"allowed_steps": [4]}, "spacing": "trailing"}
LIGHTNING = {"name": "SGM Uniform", "spacing": "trailing", "canonical_steps": 4,
             "grid": {"kind": "rule", "rule": "trailing"}, "subsample": {"rule": "divisors"}}
TURBO = {"name": "SGM Uniform", "spacing": "trailing", "subsample": {"rule": "any"}}
VPRED_ZTSNR = {"name": "Normal", "zero_terminal_snr": True}


def kind(sched, schedule_id, steps, **kw):
    return classify(sched, schedule_id, steps, **kw).kind


# --- DMD2: explicit timesteps [999, 749, 499, 249] --------------------------------------------------------

@pytest.mark.parametrize("schedule_id", ["sgm_uniform", "SGM Uniform", "simple", "turbo", "trailing"])
def test_dmd2_grid_is_met_by_trailing_style_schedules(schedule_id):
    m = classify(DMD2, schedule_id, 4)
    assert m.kind == "canonical" and m.ok
    assert m.canonical == (999.0, 749.0, 499.0, 249.0) and m.pinned


def test_dmd2_lcm_default_timesteps_are_off_grid():
    m = classify(DMD2, "lcm", 4)  # diffusers LCMScheduler: 999, 759, 499, 259
    assert m.kind == "off_grid" and not m.ok
    assert "759" in m.reason and "749" in m.reason


@pytest.mark.parametrize("schedule_id", ["karras", "exponential", "uniform", "align_your_steps", "beta"])
def test_dmd2_other_schedules_are_off_grid(schedule_id):
    assert kind(DMD2, schedule_id, 4) == "off_grid"


def test_dmd2_leading_fails_the_trailing_endpoint():
    m = classify(DMD2, "ddim", 4)
    assert m.kind == "off_grid" and "751" in m.reason and "999" in m.reason and "trailing" in m.reason


@pytest.mark.parametrize(("allowed", "steps", "expected"), [
    ([4], 2, "off_grid"),
    ([1, 2, 4], 2, "subsample"),
    ([1, 2, 4], 1, "subsample"),
    ([1, 2, 4], 3, "off_grid"),  # 999, 666, 333 is not inside the grid
    ([1, 2, 3, 4], 3, "off_grid"),  # allowed, but still not a subsample
    ([1, 2, 4], 8, "off_grid"),
])
def test_dmd2_subsampling(allowed, steps, expected):
    m = classify({**DMD2, "subsample": {"allowed_steps": allowed}}, "sgm_uniform", steps)
    assert m.kind == expected, m.reason


def test_subsample_reason_names_the_rule():
    m = classify({**DMD2, "subsample": {"allowed_steps": [4]}}, "sgm_uniform", 2)
    assert "2-of-4 subsample" in m.reason and "not in subsample.allowed_steps [4]" in m.reason
    m = classify({k: v for k, v in DMD2.items() if k != "subsample"}, "sgm_uniform", 2)
    assert m.kind == "off_grid" and "no scheduler.subsample" in m.reason


def test_dmd2_one_step_model():
    one = {"name": "Simple", "grid": {"kind": "timesteps", "values": [399]}, "canonical_steps": 1}
    m = classify(one, "simple", 1)
    assert m.kind == "off_grid" and "399" in m.reason


# --- Lightning: a rule grid (trailing at 4 steps), divisors subsampling -------------------------------------

@pytest.mark.parametrize(("schedule_id", "steps", "expected"), [
    ("sgm_uniform", 4, "canonical"), ("simple", 4, "canonical"), ("trailing", 4, "canonical"),
    ("sgm_uniform", 2, "subsample"), ("trailing", 1, "subsample"),
    ("sgm_uniform", 3, "off_grid"), ("karras", 4, "off_grid"), ("ddim", 4, "off_grid"), ("leading", 4, "off_grid"),
    ("sgm_uniform", 8, "off_grid"),
])
def test_lightning(schedule_id, steps, expected):
    assert kind(LIGHTNING, schedule_id, steps) == expected


def test_prefix_and_any_rules():
    prefix = {**LIGHTNING, "subsample": {"rule": "prefix"}}
    assert kind(prefix, "trailing", 1) == "subsample"  # [999] is the first entry
    assert kind(prefix, "trailing", 2) == "off_grid"  # [999, 499] is not the first two
    assert kind({**LIGHTNING, "subsample": {"rule": "any"}}, "trailing", 2) == "subsample"


def test_tolerance_is_one_timestep_by_default():
    assert kind(DMD2, "sgm_uniform", 4, tolerance=0.5) == "off_grid"  # 749.25 vs 749
    assert S.DEFAULT_TOLERANCE == 1.0


# --- sigma grids -----------------------------------------------------------------------------------------

def test_sigma_grid():
    sigmas = [float(x) for x in S.compute_grid("karras", 10)]
    sched = {"name": "Karras", "grid": {"kind": "sigmas", "values": sigmas}, "canonical_steps": 10}
    assert kind(sched, "karras", 10) == "canonical"
    assert kind(sched, "exponential", 10) == "off_grid"
    assert kind(sched, "karras", 5) == "off_grid"  # 5-step Karras is not inside the 10-step one
    assert kind(sched, "Karras", 10, params={"rho": 3.0}) == "off_grid"


def test_rule_grid_without_canonical_steps_accepts_any_count_of_that_rule():
    sched = {"name": "Karras", "grid": {"kind": "rule", "rule": "karras", "params": {"rho": 7.0}}}
    assert kind(sched, "karras", 13) == "canonical"
    assert kind(sched, "exponential", 13) == "off_grid"


def test_recipe_sigma_range_bounds_both_grids():
    sched = {"name": "Karras", "grid": {"kind": "rule", "rule": "karras"}, "sigma_min": 0.1, "sigma_max": 10.0}
    m = classify(sched, "karras", 8)
    assert m.kind == "canonical" and m.requested[0] < 999  # sigma_max 10 sits below the top timestep


def test_ays_grid_needs_the_architecture():
    table = S.ays_tables()["align_your_steps"]["sdxl"]
    sched = {"name": "Align Your Steps", "grid": {"kind": "sigmas", "values": [*table, 0.0]}, "canonical_steps": 11}
    assert kind(sched, "align_your_steps", 11, architecture="sdxl") == "canonical"
    assert kind(sched, "align_your_steps", 11) == "off_grid"  # the SD 1.5 table


# --- recipes that pin no grid ------------------------------------------------------------------------------

def test_unpinned_recipe_same_schedule_is_canonical_at_any_steps():
    for steps in (1, 7, 25, 60):
        assert kind({"name": "Karras"}, "karras", steps) == "canonical"
    assert kind({"name": "Karras"}, "Karras", 25) == "canonical"


def test_unpinned_recipe_other_schedule_is_not_a_violation():
    m = classify({"name": "Karras"}, "exponential", 25)
    assert m.kind == "unpinned" and m.ok and not m.pinned and "pins no grid" in m.reason


def test_equivalent_schedules_are_canonical():
    assert kind({"name": "Normal"}, "uniform", 20) == "canonical"  # same grid on a discrete model


def test_turbo_trailing_endpoint():
    assert kind(TURBO, "sgm_uniform", 1) == "canonical"
    assert kind(TURBO, "karras", 2) == "unpinned"  # starts at 999 like trailing
    m = classify(TURBO, "ddim", 2)
    assert m.kind == "off_grid" and "501" in m.reason


def test_zero_terminal_snr_needs_the_terminal_timestep():
    assert kind(VPRED_ZTSNR, "normal", 28) == "canonical"
    assert kind(VPRED_ZTSNR, "karras", 28) == "unpinned"  # Karras from the ZTSNR sigma_max starts at t=999
    m = classify(VPRED_ZTSNR, "ddim", 28)  # DDIM schedule: every 35th sigma from t=1, up to t=981
    assert m.kind == "off_grid" and "zero terminal SNR" in m.reason and "981" in m.reason


def test_leading_spacing_recipe_has_no_endpoint_demand():
    assert kind({"name": "DDIM", "spacing": "leading"}, "karras", 20) == "unpinned"


def test_recipe_with_unknown_or_automatic_schedule_name():
    assert kind({"name": "Automatic"}, "karras", 20) == "unpinned"
    assert kind({"name": "no such schedule"}, "karras", 20) == "unpinned"
    assert kind({"name": "Automatic", "zero_terminal_snr": True}, "ddim", 20) == "off_grid"


# --- timestep samplers -------------------------------------------------------------------------------------

def test_timestep_sampler_is_judged_by_its_own_grid():
    ddim_grid = S.timestep_sampler_schedule("DDIM")
    assert kind(DMD2, ddim_grid, 4) == "off_grid"
    assert kind({"name": "DDIM", "grid": {"kind": "timesteps", "values": [751, 501, 251]}}, ddim_grid, 4) == "canonical"
    # the DDIM schedule's 4 timesteps: the hosts' DDIM loop never evaluates the last one (t=1), so 4 DDIM
    # steps run 3 of them (A1111 v1.10.1 sd_samplers_timesteps_impl.py:22-25)
    assert kind({"name": "DDIM", "grid": {"kind": "timesteps", "values": [751, 501, 251, 1]}}, ddim_grid, 4) == "off_grid"


# --- errors and output --------------------------------------------------------------------------------------

def test_bad_input():
    with pytest.raises(S.ScheduleInputError):
        classify({"name": "Karras", "grid": {"kind": "wiggly"}}, "karras", 4)
    with pytest.raises(S.ScheduleInputError):
        classify({"name": "Karras", "grid": {"kind": "sigmas", "values": [1.0]}}, "karras", 4)
    with pytest.raises(S.ScheduleInputError):
        classify(DMD2, "karras", 0)
    from iga_core.vocab import UnknownName

    with pytest.raises(UnknownName):
        classify(DMD2, "karras-ish", 4)


def test_match_serialises():
    d = classify(DMD2, "lcm", 4).to_dict()
    assert json.loads(json.dumps(d))["kind"] == "off_grid"
    assert d["requested"] == [999.0, 759.0, 499.0, 259.0] and d["schedule_id"] == "lcm" and d["steps"] == 4


def test_custom_betas():
    betas = S.make_betas("linear", beta_start=0.0001, beta_end=0.02)
    assert kind({"name": "Karras"}, "karras", 10, betas=betas) == "canonical"
    assert kind(DMD2, "trailing", 4, betas=betas) == "canonical"


@pytest.mark.parametrize("grid", [
    {"kind": "timesteps", "values": ["a", "b"]},
    {"kind": "timesteps", "values": []},
    {"kind": "timesteps", "values": [999, float("nan")]},
    {"kind": "sigmas", "values": [14.6, -1.0, 0.0]},
    {"kind": "rule", "rule": "karras", "params": {"rho": "steep"}},
    {"kind": "rule", "rule": "lcm", "params": {"original_inference_steps": "many"}},
])
def test_hand_written_garbage_grids_are_typed_errors(grid):
    with pytest.raises(S.ScheduleInputError) as err:
        classify({"name": "Karras", "grid": grid}, "karras", 4)
    assert err.value.hint


@given(st.sampled_from([g for g in S.GRID_IDS if g != "lcm"]), st.integers(1, 60), st.sampled_from(["sd1", "sdxl"]))
@settings(max_examples=150, deadline=None)
def test_every_grid_is_canonical_against_itself(grid_id, steps, arch):
    if grid_id == "sd_turbo":
        steps = min(steps, 10)  # SwarmUI's turbo has at most 10 steps
    sigmas = S.compute_grid(grid_id, steps, architecture=arch)
    pinned = {"name": "Karras", "grid": {"kind": "sigmas", "values": sigmas.tolist()}}
    assert classify(pinned, grid_id, steps, architecture=arch).kind == "canonical"
    as_rule = {"name": "Karras", "grid": {"kind": "rule", "rule": grid_id}, "canonical_steps": steps}
    assert classify(as_rule, grid_id, steps, architecture=arch).kind == "canonical"
