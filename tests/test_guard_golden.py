"""Golden cases drawn from metadata_examples/: the situations the guard exists for, on the shipped recipes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iga_core import vocab
from iga_core.guard import MODES, GuardPolicy, GuardRequest, evaluate
from iga_core.presets import preset_names, preset_request, resolve_preset
from iga_core.recipe import Recipe
from tests.test_guard_support import example_parsed, native_request

EXAMPLES = example_parsed()
needs_examples = pytest.mark.skipif(not EXAMPLES, reason="metadata_examples/ not present")


def _example(name: str) -> Recipe:
    if name not in EXAMPLES:
        pytest.skip(f"metadata_examples/{name}.iga.json not present")
    return EXAMPLES[name]


def _ids(verdict) -> set[str]:
    return {f.rule_id for f in verdict.findings}


def test_turbo_with_cfg_7_is_a_soft_finding():
    v = evaluate(_example("sdxl-turbo"), native_request(_example("sdxl-turbo"), cfg=7.0))
    assert v.allowed and [f.rule_id for f in v.warnings] == ["IGA-S002"]
    assert v.warnings[0].fix == {"cfg": 1.0}
    assert not evaluate(_example("sdxl-turbo"), native_request(_example("sdxl-turbo"), cfg=7.0),
                        GuardPolicy(mode="strict")).allowed


def test_lightning_with_ddim_is_hard():
    r = _example("sdxl-lightning-4step")
    v = evaluate(r, native_request(r, sampler="DDIM"))
    assert not v.allowed
    assert "IGA-H004" in {f.rule_id for f in v.blocking}  # DDIM's leading grid is not Lightning's trailing one


def test_dmd2_with_20_steps_is_a_hard_grid_finding():
    r = _example("dmd2-sdxl-4step")
    v = evaluate(r, native_request(r, steps=20), GuardPolicy(mode="audit"))
    assert {"IGA-H004", "IGA-S001"} <= _ids(v)
    grid = next(f for f in v.findings if f.rule_id == "IGA-H004")
    # no step count helps: the hosts' LCM runs LCM's 50-step table, which has no t=749 (and the recipe
    # allows LCM only), so the remedy names no fix and says where the grid can be run
    assert grid.fix is None and "ComfyUI custom sigmas" in grid.remedy


def test_vpred_model_run_as_eps_is_hard():
    r = _example("sdxl-vpred-ztsnr")
    v = evaluate(r, native_request(r, prediction_type="epsilon"))
    assert [f.rule_id for f in v.blocking] == ["IGA-H003"]


def test_dmd2_rejects_other_samplers():
    r = _example("dmd2-sdxl-4step")
    v = evaluate(r, native_request(r, sampler="Euler a"))
    assert "IGA-H001" in {f.rule_id for f in v.blocking}


def test_lcm_lora_cfg_above_two_warns():
    r = _example("lcm-lora-sdxl")
    v = evaluate(r, native_request(r, cfg=4.0))
    assert v.allowed and [f.rule_id for f in v.warnings] == ["IGA-S002"]


#: examples whose own sampler A1111 / Forge run on a grid of their own that misses the recipe's:
#: DMD2's LCM (LCM's 50-step table: 999, 759, 499, 259) and Hyper-SD's DDIM (leading timesteps + 1)
HOST_GRID_MISSES = {"dmd2-sdxl-4step", "hyper-sdxl-8step-cfg", "hyper-sd15-8step"}


@needs_examples
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_and_preset_passes_its_own_guard(name):
    """As written, or -- where the hosts run the recipe's own sampler off its grid -- as auto-configure
    sets it for each host, which then lands on the grid (or says it cannot, IGA-C003 hard)."""
    from iga_core.autoconfig import A1111, FORGE, auto_configure

    r = EXAMPLES[name]
    for preset in preset_names(r)[:-1]:
        request = preset_request(resolve_preset(r, preset))
        request = GuardRequest.from_dict({**request.to_dict(), "prediction_type": r.prediction_type})
        v = evaluate(r, request, GuardPolicy(mode="strict"))
        if name not in HOST_GRID_MISSES:
            assert v.allowed and not v.warnings, f"{name} / {preset}: {v.message()}"
            continue
        assert [f.rule_id for f in v.blocking] == ["IGA-H004"], f"{name} / {preset}: {v.message()}"
        for host in (A1111, FORGE):
            config = auto_configure(r, host, preset)
            assert [f.rule_id for f in config.findings] == ["IGA-C003"]
            if config.honoured:
                values = {k: v for k, v in config.values.items() if v is not None}
                v = evaluate(r, GuardRequest(**values, prediction_type=r.prediction_type), GuardPolicy(mode="strict"))
                assert v.allowed and not v.warnings, f"{name} / {preset} on {host.name}: {v.message()}"


_SAMPLERS = sorted({s.names["a1111"] for s in vocab.all_samplers() if s.names.get("a1111")} | {"k_euler_a", "bogus"})
_SCHEDULES = sorted({s.names["forge"] for s in vocab.all_schedules() if s.names.get("forge")} | {"karras", "nope"})


@needs_examples
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(EXAMPLES) or ["none"]),
    sampler=st.one_of(st.none(), st.sampled_from(_SAMPLERS)),
    schedule=st.one_of(st.none(), st.sampled_from(_SCHEDULES)),
    steps=st.one_of(st.none(), st.integers(1, 150)),
    cfg=st.one_of(st.none(), st.floats(0, 30)),
    size=st.one_of(st.none(), st.tuples(st.integers(8, 4096), st.integers(8, 4096))),
    mode=st.sampled_from(MODES),
)
def test_any_request_gets_a_verdict_never_an_exception(name, sampler, schedule, steps, cfg, size, mode):
    request = GuardRequest(sampler=sampler, schedule=schedule, steps=steps, cfg=cfg,
                           width=size[0] if size else None, height=size[1] if size else None)
    v = evaluate(EXAMPLES[name], request, GuardPolicy(mode=mode))
    assert v.allowed == (not v.blocking)
    if mode == "audit":
        assert v.allowed
    for f in v.findings:
        assert f.reason and f.remedy and f.rule_id.startswith("IGA-")


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(r=st.deferred(lambda: _valid_recipes()), sampler=st.sampled_from(_SAMPLERS),
       steps=st.integers(1, 60), cfg=st.floats(0, 20), mode=st.sampled_from(MODES))
def test_any_valid_recipe_gives_a_verdict_and_a_typed_answer_for_native(r, sampler, steps, cfg, mode):
    from iga_core.presets import PresetOutOfRange

    r = Recipe.from_dict(r)
    v = evaluate(r, GuardRequest(sampler=sampler, steps=steps, cfg=cfg), GuardPolicy(mode=mode))
    assert v.allowed == (not v.blocking)
    try:
        native = resolve_preset(r, "Native")
    except PresetOutOfRange as exc:  # a recipe whose own defaults are off its own grid or lists
        assert exc.findings and exc.hint
    else:
        assert native["sampler"] and native["steps"] == r.steps.default


def _valid_recipes():
    from iga_core.recipe import validate_recipe
    from tests.recipe_strategies import recipes

    return recipes().filter(lambda r: validate_recipe(r) == [])


# --- the families issue #18 added: FLUX.1-dev (distilled guidance), Hyper-SD 1.5, LCM-LoRA SD 1.5 ---------------


def test_flux_dev_takes_its_guidance_as_distilled_cfg_not_cfg():
    r = _example("flux1-dev")
    assert r.cfg.distilled.default == 3.5 and r.steps.default == 50  # the authors' values
    assert evaluate(r, native_request(r, distilled_cfg=3.5)).findings == ()
    # the guidance typed into the CFG field (true classifier-free guidance at 3.5) is the mistake it catches
    v = evaluate(r, native_request(r, cfg=3.5, distilled_cfg=3.5))
    assert [f.rule_id for f in v.warnings] == ["IGA-S002"] and v.warnings[0].fix == {"cfg": 1.0}
    v = evaluate(r, native_request(r, distilled_cfg=9.0))
    assert [f.rule_id for f in v.warnings] == ["IGA-S003"] and v.warnings[0].fix == {"distilled_cfg": 5.0}


def test_hyper_sd15_runs_exactly_its_eight_trailing_steps():
    r = _example("hyper-sd15-8step")
    # the hosts' DDIM runs leading timesteps, off the trailing 8-step grid; auto-configure substitutes a pair
    # that lands on it (test_every_example_and_preset_passes_its_own_guard), here Euler + SGM Uniform
    assert "IGA-H004" in evaluate(r, native_request(r)).blocked_ids
    on_grid = native_request(r, sampler="Euler", schedule="SGM Uniform")
    assert evaluate(r, on_grid, GuardPolicy(mode="strict")).allowed
    for off in ({"steps": 20}, {"schedule": "Karras"}):
        v = evaluate(r, GuardRequest.from_dict({**on_grid.to_dict(), **off}))
        assert not v.allowed and "IGA-H004" in v.blocked_ids, off
    assert not evaluate(r, GuardRequest.from_dict({**on_grid.to_dict(), "cfg": 7.0}), GuardPolicy(mode="strict")).allowed


def test_lcm_lora_sd15_refuses_other_samplers_and_high_cfg():
    r = _example("lcm-lora-sd15")
    assert not evaluate(r, native_request(r, sampler="Euler a")).allowed
    v = evaluate(r, native_request(r, cfg=7.0))
    assert [f.rule_id for f in v.warnings] == ["IGA-S002"] and v.warnings[0].fix == {"cfg": 2.0}
