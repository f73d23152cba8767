"""Validation beyond the golden invalid examples: hostile documents, versions, vocabulary checks, and
the promise that every problem points at a real place and says how to fix it."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recipe_strategies import recipes

from iga_core.recipe import validate_recipe
from iga_core.recipe.validate import MAX_BYTES, MAX_DEPTH, MAX_NODES

BASE = {
    "iga_version": "1.0.0",
    "model_id": "m",
    "prediction_type": "eps",
    "sampler": {"name": "Euler"},
    "scheduler": {"name": "Karras"},
    "steps": {"default": 20, "min": 10, "max": 40},
    "cfg": {"default": 7.0, "min": 1.0, "max": 12.0},
}


def _with(**changes) -> dict:
    d = copy.deepcopy(BASE)
    d.update(changes)
    return d


def _resolve(doc, pointer: str):
    """Follow a JSON pointer; a pointer to a missing key resolves to its parent object."""
    node = doc
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        elif part in node:
            node = node[part]
        else:
            return node
    return node


@pytest.mark.parametrize(
    ("value", "pointer", "fragment"),
    [
        (float("nan"), "/cfg/default", "not finite"),
        (float("inf"), "/cfg/default", "not finite"),
        (2**53, "/cfg/default", "too large"),
        ((7.0,), "/cfg/default", "not a JSON value"),
    ],
)
def test_non_json_numbers_and_types_are_refused(value, pointer, fragment):
    d = _with(cfg={"default": value})
    problems = validate_recipe(d)
    assert any(p.pointer == pointer and fragment in p.message for p in problems), problems


def test_deep_nesting_is_refused_before_any_recursive_walk():
    deep: object = "leaf"
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = {"x-d": deep}
    problems = validate_recipe(_with(**{"x-deep": deep}))
    assert len(problems) == 1 and f"deeper than {MAX_DEPTH}" in problems[0].message


def test_too_many_values_and_too_many_bytes_are_refused():
    many = validate_recipe(_with(**{"x-many": list(range(MAX_NODES + 1))}))
    assert "more than" in many[0].message and many[0].pointer == ""
    big = validate_recipe(_with(**{"x-big": "a" * MAX_BYTES}))
    assert "bytes of JSON" in big[0].message


def test_non_string_keys_are_refused():
    problems = validate_recipe(_with(**{"x-k": {1: "a"}}))
    assert problems[0].pointer == "/x-k" and "not a string" in problems[0].message


@pytest.mark.parametrize("value", [None, [], "recipe", 3])
def test_a_recipe_must_be_an_object(value):
    problems = validate_recipe(value)
    assert problems[0].pointer == "" and "JSON object" in problems[0].message


def test_patch_versions_are_read_newer_minor_versions_are_not():
    assert validate_recipe(_with(iga_version="1.0.7")) == []
    assert validate_recipe(_with(iga_version="1.1.0")) == []  # 1.1.0 only adds the optional pipelines
    assert validate_recipe(_with(iga_version="1.2.0")) == []  # 1.2.0 only adds architecture names
    problems = validate_recipe(_with(iga_version="1.3.0"))
    assert problems[0].pointer == "/iga_version" and "newer" in problems[0].message


def test_the_newer_architecture_names_need_schema_1_2_and_other_stays_valid():
    assert validate_recipe(_with(iga_version="1.2.0", architecture="z-image", prediction_type="flow")) == []
    problems = validate_recipe(_with(iga_version="1.1.0", architecture="z-image", prediction_type="flow"))
    assert [p.pointer for p in problems] == ["/architecture"] and "needs schema 1.2.0" in problems[0].message
    assert validate_recipe(_with(iga_version="1.1.0", architecture="other", prediction_type="flow")) == []
    problems = validate_recipe(_with(iga_version="1.2.0", architecture="hunyuan"))
    assert problems and problems[0].pointer == "/architecture"
    problems = validate_recipe(_with(iga_version="0.9.0"))
    assert problems[0].pointer == "/iga_version" and "not one iga knows" in problems[0].message
    problems = validate_recipe(_with(iga_version="one"))
    assert problems[0].pointer == "/iga_version" and "expected form" in problems[0].message


def test_x_keys_are_allowed_at_every_level_unknown_keys_are_not():
    d = _with(**{"x-top": 1})
    d["sampler"]["x-inner"] = {"anything": [1, 2]}
    d["steps"]["x-why"] = "distilled"
    assert validate_recipe(d) == []
    d["steps"]["why"] = "distilled"
    assert [p.pointer for p in validate_recipe(d)] == ["/steps/why"]


def test_sigma_grid_rules():
    three = {"default": 3}  # the grid's own step count: a default off its grid is refused (see below)
    ok = {"name": "Karras", "grid": {"kind": "sigmas", "values": [14.6, 3.0, 0.5, 0.0]}, "canonical_steps": 3,
          "sigma_min": 0.0292, "sigma_max": 14.6146}  # fmt: skip
    assert validate_recipe(_with(scheduler=ok, steps=three)) == []
    above = copy.deepcopy(ok)
    above["grid"]["values"][0] = 20.0
    assert [p.pointer for p in validate_recipe(_with(scheduler=above, steps=three))] == ["/scheduler/grid/values/0"]
    below = copy.deepcopy(ok)
    below["grid"]["values"][2] = 0.01
    assert [p.pointer for p in validate_recipe(_with(scheduler=below, steps=three))] == ["/scheduler/grid/values/2"]
    wrong_count = {**ok, "canonical_steps": 4}
    problems = validate_recipe(_with(scheduler=wrong_count, steps=three))
    assert (
        problems[0].pointer == "/scheduler/canonical_steps" and "set canonical_steps to 3" in problems[0].hint
    )


def test_default_and_preset_steps_must_lie_on_the_recipes_own_grid():
    # the guard refuses these (IGA-H004), so the recipe's Native preset or its own preset would be blocked
    pinned = {"name": "Karras", "grid": {"kind": "sigmas", "values": [14.6, 3.0, 0.5, 0.0]}}
    problems = validate_recipe(_with(scheduler=pinned, steps={"default": 2}))
    assert [p.pointer for p in problems] == ["/steps/default"] and "only the canonical count" in problems[0].message
    assert "3 steps" in problems[0].hint
    rule = {"name": "Karras", "grid": {"kind": "rule", "rule": "karras"}, "canonical_steps": 8,
            "subsample": {"rule": "any"}}  # fmt: skip
    assert validate_recipe(_with(scheduler=rule, steps={"default": 4})) == []
    problems = validate_recipe(_with(scheduler=rule, steps={"default": 12, "max": 40}))
    assert [p.pointer for p in problems] == ["/steps/default"] and "more steps than the grid has" in problems[0].message
    preset = {"name": "Fast", "steps": 6, "cfg": 7.0}
    listed = {**rule, "subsample": {"allowed_steps": [4, 8]}}
    problems = validate_recipe(_with(scheduler=listed, steps={"default": 8}, presets=[preset]))
    assert [p.pointer for p in problems] == ["/presets/0/steps"]
    # a schedule without a grid formula ("Automatic") pins nothing through canonical_steps alone
    assert validate_recipe(_with(scheduler={"name": "Automatic", "canonical_steps": 4})) == []


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({"rho": 0.0}, "must be above 0"), ({"rho": 1e-9}, "below 0.05"), ({"rho": 1e6}, "above 100"),
     ({"rho": "7"}, "not a number")],
)
def test_grid_rule_params_outside_what_the_maths_takes_are_refused(params, fragment):
    scheduler = {"name": "Karras", "grid": {"kind": "rule", "rule": "karras", "params": params}, "canonical_steps": 20,
                 "subsample": {"rule": "any"}}  # fmt: skip
    problems = validate_recipe(_with(scheduler=scheduler))
    assert [p.pointer for p in problems] == ["/scheduler/grid/params/rho"] and fragment in problems[0].message
    assert "0.05 to 100" in problems[0].hint


def test_subsample_rules():
    grid = {"kind": "timesteps", "values": [999, 874, 749, 624, 499, 374, 249, 124]}
    divisors = {"name": "SGM Uniform", "grid": grid, "subsample": {"rule": "divisors"}}
    assert validate_recipe(_with(scheduler=divisors, steps={"default": 4})) == []
    problems = validate_recipe(_with(scheduler=divisors, steps={"default": 3}))
    assert problems[0].pointer == "/steps/default" and "does not divide" in problems[0].message
    prefix = {**divisors, "subsample": {"rule": "prefix"}}
    assert validate_recipe(_with(scheduler=prefix, steps={"default": 8})) == []
    problems = validate_recipe(_with(scheduler=prefix, steps={"default": 9}))
    assert "more than the grid's 8 steps" in problems[0].message


def test_preset_distilled_cfg_needs_a_distilled_range():
    preset = {"name": "Flux", "steps": 20, "cfg": 1.0, "distilled_cfg": 3.5}
    problems = validate_recipe(_with(presets=[preset]))
    assert problems[0].pointer == "/presets/0/distilled_cfg"
    cfg = {"default": 1.0, "min": 1.0, "max": 1.0, "distilled": {"default": 3.5, "min": 1.0, "max": 5.0}}
    assert validate_recipe(_with(cfg=cfg, presets=[preset])) == []
    problems = validate_recipe(_with(cfg=cfg, presets=[{**preset, "distilled_cfg": 9.0}]))
    assert problems[0].pointer == "/presets/0/distilled_cfg" and "outside" in problems[0].message


def test_preset_size_beyond_max_resolution():
    resolution = {"preferred": [{"width": 1024, "height": 1024}], "max": {"width": 1536, "height": 1536}}
    preset = {"name": "Tall", "steps": 20, "cfg": 7.0, "width": 1024, "height": 2048}
    problems = validate_recipe(_with(resolution=resolution, presets=[preset]))
    assert [p.pointer for p in problems] == ["/presets/0/height"]


def test_vocabulary_normalises_names_before_comparing():
    # "k_euler" (k-diffusion alias) and "euler" (ComfyUI) are the sampler the recipe calls "Euler".
    d = _with(constraints={"allow_samplers": ["euler"], "allow_schedules": ["karras"]})
    d["sampler"]["name"] = "k_euler"
    assert validate_recipe(d) == []
    d["constraints"]["forbid_schedules"] = ["Karras"]
    problems = validate_recipe(d)
    assert {p.pointer for p in problems} == {"/constraints/forbid_schedules/0", "/scheduler/name"}


def test_sampler_mode_must_match_the_vocabulary():
    d = _with(sampler={"name": "Euler a", "mode": "ode"})
    problems = validate_recipe(d)
    assert problems[0].pointer == "/sampler/mode" and "'ancestral'" in problems[0].hint
    assert validate_recipe(_with(sampler={"name": "Euler a", "mode": "ancestral"})) == []


def test_the_automatic_schedule_is_always_allowed():
    d = _with(scheduler={"name": "Automatic"}, constraints={"allow_schedules": ["Karras"]})
    assert validate_recipe(d) == []


# Mutations that break one thing; each problem must point into the document and carry a hint.
MUTATIONS = [
    ("/steps/default", -1), ("/steps/min", 99), ("/cfg/max", 0.5), ("/cfg/default", "7"), ("/model_id", ""),
    ("/prediction_type", "velocity"), ("/sampler/mode", "x"), ("/sampler/params", []), ("/scheduler/spacing", 1),
    ("/scheduler/grid", {"kind": "timesteps", "values": [1, 2]}), ("/scheduler/grid", {"kind": "rule"}),
    ("/scheduler/subsample", {}), ("/clip_skip", 13), ("/vae", {"sha256": "XYZ"}),
    ("/resolution", {"preferred": []}), ("/presets", [{"name": "a"}]), ("/hashes", {"weights_sha256": 5}),
    ("/constraints", {"allow_samplers": ["Euler", "Euler"]}), ("/title", "t" * 500), ("/iga_version", 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("pointer", "value"), MUTATIONS, ids=[m[0] + "=" + json.dumps(m[1])[:20] for m in MUTATIONS]
)
def test_every_problem_points_into_the_document_and_has_a_hint(pointer, value):
    d = copy.deepcopy(BASE)
    parent = _resolve(d, pointer.rsplit("/", 1)[0] or "")
    parent[pointer.rsplit("/", 1)[1]] = value
    problems = validate_recipe(d)
    assert problems, f"{pointer}={value!r} validated"
    for p in problems:
        assert p.pointer == "" or p.pointer.startswith("/")
        _resolve(d, p.pointer)  # raises if the pointer leads nowhere
        assert p.message and p.hint and "Traceback" not in p.message


@settings(max_examples=100, deadline=None)
@given(recipes(), st.data())
def test_random_damage_gives_problems_never_exceptions(d, data):
    # Replace one value anywhere with a value of another type: validation reports, never raises.
    paths = []
    stack = [((), d)]
    while stack:
        path, node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            paths.append((*path, k))
            stack.append(((*path, k), v))
    path = data.draw(st.sampled_from(paths))
    junk = data.draw(st.sampled_from([None, -1, 1e309 * 0, "", [], {}, True, "x" * 300, 10**20]))
    target = d
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = junk
    problems = validate_recipe(d)
    assert all(p.hint for p in problems)
