"""Recipe composition rules: replace (distillation add-ons), narrow (style add-ons), conflicts as findings."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from iga_core import compose as composition
from iga_core.compose import Addon, ComposeError, Composition
from iga_core.guard import GuardRequest, evaluate
from iga_core.recipe import Recipe, RecipeInvalid, metadata_sha256, validate_recipe
from tests.test_guard_support import document as recipe
from tests.test_guard_support import example_recipes

EXAMPLES = example_recipes()


def _parse(doc) -> tuple[Recipe | None, str | None]:
    """A recipe document parsed as find_recipe parses a LoRA's (invalid: no recipe, the first problem)."""
    if not isinstance(doc, dict):
        return None, "not a JSON object"
    try:
        return Recipe.from_dict(doc), None
    except RecipeInvalid as exc:
        return None, exc.problems[0].message


@dataclass
class Composed:
    """A composition whose recipe is read back as its JSON document, so the cases compare JSON fields."""

    result: Composition

    @property
    def recipe(self) -> dict | None:
        return self.result.recipe.to_dict() if self.result.recipe is not None else None

    @property
    def typed(self) -> Recipe | None:
        return self.result.recipe

    def __getattr__(self, name):
        return getattr(self.result, name)


def compose(base: dict | None, entries, **kw) -> Composed:
    """The cases write documents: parse them as the boundaries do, then compose the typed recipes."""
    addons = [Addon(name, *_parse(doc)[:1], weight, _parse(doc)[1]) for name, doc, weight in entries]
    return Composed(composition.compose(Recipe.from_dict(base) if base is not None else None, addons, **kw))


def addon_mode(doc: dict) -> str:
    return composition.addon_mode(Recipe.from_dict(doc))


def _example(name: str) -> dict:
    if name not in EXAMPLES:
        pytest.skip(f"metadata_examples/{name}.iga.json not present")
    return copy.deepcopy(EXAMPLES[name])


def style(model_id: str = "ink-style", **fields) -> dict:
    """A style LoRA's recipe: it states ranges, not a sampling method of its own."""
    out = {"iga_version": "1.0.0", "model_id": model_id, "architecture": "sd1", "prediction_type": "eps",
           "sampler": {"name": "Euler a"}, "scheduler": {"name": "Automatic"},
           "steps": {"default": 30, "min": 10, "max": 60}, "cfg": {"default": 6.0, "min": 3.0, "max": 12.0}}
    out.update(fields)
    return out


def _ids(c) -> list[str]:
    return [f.rule_id for f in c.findings]


def _assert_valid(c) -> None:
    assert validate_recipe(c.recipe) == [], validate_recipe(c.recipe)
    assert c.typed.digest == c.recipe["hashes"]["metadata_sha256"]
    assert c.recipe["hashes"]["metadata_sha256"] == metadata_sha256(c.recipe)
    assert "weights_sha256" not in c.recipe["hashes"]


def test_no_addons_keeps_the_base():
    base = recipe("sd1_anime")
    c = compose(base, [])
    _assert_valid(c)
    assert {k: v for k, v in c.recipe.items() if k not in ("hashes", "x-composition")} == base
    assert c.findings == () and not c.composed


def test_weight_zero_is_inactive():
    c = compose(recipe("sd1_anime"), [("ink", style(cfg={"default": 6.0, "min": 5.0, "max": 6.0}), 0.0)])
    assert c.recipe["cfg"] == recipe("sd1_anime")["cfg"]
    assert [(p.name, p.role) for p in c.parts] == [("base", "base"), ("ink", "inactive")]


def test_mode_is_explicit_or_inferred():
    assert addon_mode(style()) == "narrow"
    assert addon_mode(recipe("lightning")) == "replace"  # pins a grid
    assert addon_mode(style(sampler={"name": "LCM"}, constraints={"allow_samplers": ["LCM"]})) == "replace"
    assert addon_mode({**recipe("lightning"), "x-compose": "narrow"}) == "narrow"
    assert addon_mode(style(**{"x-compose": "replace"})) == "replace"


def test_distillation_lora_replaces_the_sampling_recipe():
    base, lcm = _example("sdxl-base"), _example("lcm-lora-sdxl")
    c = compose(base, [("lcm-lora-sdxl", lcm, 1.0)])
    _assert_valid(c)
    r = c.recipe
    assert (r["sampler"], r["scheduler"], r["steps"], r["cfg"]) == (lcm["sampler"], lcm["scheduler"], lcm["steps"],
                                                                    lcm["cfg"])
    assert r["constraints"] == lcm["constraints"] and [p["name"] for p in r["presets"]] == ["LCM 4", "LCM 8"]
    assert (r["model_id"], r["vae"], r["clip_skip"]) == (base["model_id"], base["vae"], base["clip_skip"])
    assert c.sources["sampler"] == "lcm-lora-sdxl" and c.sources["vae"] == "base"
    assert _ids(c) == ["IGA-M006"]
    assert r["title"].endswith("+ lcm-lora-sdxl")
    assert r["x-composition"]["parts"][1] == {"name": "lcm-lora-sdxl", "model_id": "lcm-lora-sdxl",
                                              "weight": 1.0, "role": "replace"}
    # the guard now protects the LoRA's recipe: the base's Euler is refused, LCM at 4 steps passes
    assert not evaluate(c.typed, GuardRequest(sampler="Euler", steps=4, cfg=1.0)).allowed
    assert evaluate(c.typed, GuardRequest(sampler="LCM", steps=4, cfg=1.5)).allowed


def test_replace_drops_the_bases_constraints_and_presets():
    base = recipe("sd1_anime", constraints={"forbid_samplers": ["LCM"]})
    lcm = style("lcm-lora", sampler={"name": "LCM"}, steps={"default": 4, "min": 2, "max": 8},
                cfg={"default": 1.0, "min": 1.0, "max": 2.0}, constraints={"allow_samplers": ["LCM"]})
    c = compose(base, [("lcm-lora", lcm, 1.0)])
    _assert_valid(c)
    assert c.recipe["constraints"] == {"allow_samplers": ["LCM"]}
    assert "presets" not in c.recipe  # the base's presets describe the sampling that was replaced
    assert evaluate(c.typed, GuardRequest(sampler="LCM", steps=4, cfg=1.0)).allowed


def test_style_lora_narrows_ranges():
    ink = style(steps={"default": 30, "min": 20, "max": 40}, cfg={"default": 6.0, "min": 5.0, "max": 9.0})
    c = compose(recipe("sd1_anime"), [("ink", ink, 0.7)])  # base steps 15-50, CFG 4-11
    _assert_valid(c)
    assert c.recipe["steps"] == {"default": 25, "min": 20, "max": 40}
    assert c.recipe["cfg"] == {"default": 7.0, "min": 5.0, "max": 9.0}
    assert c.recipe["sampler"] == recipe("sd1_anime")["sampler"]  # a narrowing add-on's sampler is not applied
    assert c.sources["steps.range"] == "ink" and "steps.default" not in c.sources
    assert _ids(c) == ["IGA-M009"]  # the base's "Fast" preset (15 steps) no longer fits


def test_default_outside_the_narrowed_range_moves_in():
    c = compose(recipe("sd1_anime"), [("soft", style(cfg={"default": 4.5, "min": 4.0, "max": 5.0}), 1.0)])
    assert c.recipe["cfg"] == {"default": 5.0, "min": 4.0, "max": 5.0}
    assert _ids(c)[0] == "IGA-M005" and c.findings[0].actual == 7.0 and c.findings[0].expected == 5.0
    assert set(_ids(c)[1:]) == {"IGA-M009"}  # every base preset asks for CFG 6 or more


def test_two_style_loras_that_disagree_are_a_hard_finding():
    a = style("a", cfg={"default": 4.0, "min": 4.0, "max": 5.0})
    b = style("b", cfg={"default": 8.0, "min": 8.0, "max": 9.0})
    c = compose(recipe("sd1_anime"), [("a", a, 1.0), ("b", b, 1.0)])
    _assert_valid(c)
    hard = [f for f in c.findings if f.severity == "hard"]
    assert [(f.rule_id, f.field) for f in hard] == [("IGA-M004", "cfg")]
    assert c.recipe["cfg"]["min"] == 4.0 and c.recipe["cfg"]["max"] == 5.0  # the earlier (a's) range is kept
    assert "b allows cfg 8–9" in hard[0].reason


def test_narrowing_is_order_independent_when_ranges_overlap():
    a = style("a", steps={"default": 25, "min": 18, "max": 30}, cfg={"default": 6.0, "min": 4.5, "max": 8.0})
    b = style("b", steps={"default": 30, "min": 22, "max": 45}, cfg={"default": 7.0, "min": 5.5, "max": 10.0})
    ab = compose(recipe("sd1_anime"), [("a", a, 1.0), ("b", b, 1.0)]).recipe
    ba = compose(recipe("sd1_anime"), [("b", b, 1.0), ("a", a, 1.0)]).recipe
    for key in ("steps", "cfg"):
        assert ab[key] == ba[key]
    assert ab["steps"] == {"default": 25, "min": 22, "max": 30}


def test_two_distillation_loras_that_disagree():
    base, lcm, light = _example("sdxl-base"), _example("lcm-lora-sdxl"), _example("sdxl-lightning-4step")
    c = compose(base, [("lcm", lcm, 0.5), ("lightning", light, 1.0)])
    _assert_valid(c)
    assert ("IGA-M003", "hard") in [(f.rule_id, f.severity) for f in c.findings]
    assert c.recipe["scheduler"] == light["scheduler"]  # the higher weight wins
    assert {p.name: p.role for p in c.parts} == {"base": "base", "lcm": "ignored", "lightning": "replace"}
    tie = compose(base, [("lcm", lcm, 1.0), ("lightning", light, 1.0)])
    assert tie.recipe["sampler"] == lcm["sampler"]  # a tie goes to the first named


def test_the_same_distillation_recipe_twice_is_no_conflict():
    light = _example("sdxl-lightning-4step")
    c = compose(_example("sdxl-base"), [("l1", light, 1.0), ("l2", copy.deepcopy(light), 0.5)])
    assert "IGA-M003" not in _ids(c)


@pytest.mark.parametrize(("field", "value", "rule", "severity"), [
    ("prediction_type", "v", "IGA-M001", "hard"),
    ("architecture", "sdxl", "IGA-M002", "hard"),
    ("clip_skip", 1, "IGA-M007", "soft"),
    ("vae", {"id": "kl-f8-anime2.ckpt"}, "IGA-M007", "soft"),
])
def test_model_fields_stay_the_bases(field, value, rule, severity):
    c = compose(recipe("sd1_anime"), [("odd", style(**{field: value}), 1.0)])
    assert [(f.rule_id, f.severity, f.field) for f in c.findings] == [(rule, severity, field)]
    assert c.recipe[field] == recipe("sd1_anime")[field]


def test_a_lora_saying_its_vae_is_embedded_says_nothing_about_the_base():
    c = compose(recipe("sd1_anime"), [("lora", style(vae={"embedded": True}), 1.0)])
    assert _ids(c) == []


def test_forbid_lists_add_up_and_allow_lists_intersect():
    base = recipe("sd1_anime", constraints={"forbid_samplers": ["DDIM"], "allow_schedules": ["Karras", "Exponential"]})
    addon = style(constraints={"forbid_samplers": ["PLMS", "ddim"], "allow_schedules": ["exponential", "karras",
                                                                                         "Normal"]})
    c = compose(base, [("x", addon, 1.0)])
    _assert_valid(c)
    assert c.recipe["constraints"] == {"forbid_samplers": ["DDIM", "PLMS"], "allow_schedules": ["Karras", "Exponential"]}


def test_an_addon_forbidding_the_default_sampler_moves_it_to_an_allowed_one():
    addon = style(constraints={"forbid_samplers": ["DPM++ 2M"], "allow_samplers": ["Euler a", "Euler"]})
    addon["x-compose"] = "narrow"
    c = compose(recipe("sd1_anime"), [("x", addon, 1.0)])
    _assert_valid(c)
    assert c.recipe["sampler"] == {"name": "Euler a"} and "IGA-M005" in _ids(c)
    assert not evaluate(c.typed, GuardRequest(sampler="DPM++ 2M")).allowed
    no_alternative = style(constraints={"forbid_samplers": ["DPM++ 2M"]})
    c = compose(recipe("sd1_anime"), [("x", no_alternative, 1.0)])
    _assert_valid(c)
    assert [(f.rule_id, f.field) for f in c.findings] == [("IGA-M004", "constraints.allow_samplers")]
    assert "constraints" not in c.recipe  # the add-on's sampler lists are not applied


def test_nothing_ends_up_both_allowed_and_forbidden():
    base = recipe("sd1_anime", constraints={"allow_samplers": ["DPM++ 2M", "Euler a"]})
    addon = style(sampler={"name": "Heun"}, constraints={"forbid_samplers": ["Euler a"]})
    c = compose(base, [("x", addon, 1.0)])
    _assert_valid(c)
    assert c.recipe["constraints"] == {"forbid_samplers": ["Euler a"], "allow_samplers": ["DPM++ 2M"]}
    addon = style(sampler={"name": "Heun"}, constraints={"forbid_samplers": ["Euler a", "DPM++ 2M"]})
    c = compose(base, [("x", addon, 1.0)])
    _assert_valid(c)
    assert [f.rule_id for f in c.findings] == ["IGA-M004"] and c.recipe["constraints"] == base["constraints"]


def test_resolution_max_narrows_and_preferred_sizes_follow():
    addon = style(resolution={"max": {"width": 640, "height": 640}})
    c = compose(recipe("sd1_anime"), [("small", addon, 1.0)])  # base prefers 512x768 and 512x512
    _assert_valid(c)
    assert c.recipe["resolution"] == {"preferred": [{"width": 512, "height": 512}],
                                      "max": {"width": 640, "height": 640}}


def test_presets_that_no_longer_fit_are_dropped():
    c = compose(recipe("sd1_anime"), [("ink", style(steps={"default": 30, "min": 20, "max": 35}), 1.0)])
    _assert_valid(c)
    assert [p["name"] for p in c.recipe["presets"]] == ["Wide"]  # Quality (40 steps) and Fast (15) do not fit
    assert [f.actual for f in c.findings if f.rule_id == "IGA-M009"] == ["Quality", "Fast"]


def test_no_base_recipe_uses_the_first_active_addon():
    light = _example("sdxl-lightning-4step")
    c = compose(None, [("off", style(), 0), ("lightning", light, 1.0)])
    _assert_valid(c)
    assert c.recipe["model_id"] == light["model_id"]
    assert [(p.name, p.role) for p in c.parts] == [("off", "inactive"), ("lightning", "base")]
    assert compose(None, []).recipe is None
    assert compose(None, [("off", light, 0.0)]).recipe is None


def test_an_invalid_addon_recipe_is_ignored_with_a_finding():
    c = compose(recipe("sd1_anime"), [("broken", {"iga_version": "1.0.0"}, 1.0), ("junk", "text", 1.0)])
    assert [(f.rule_id, f.severity) for f in c.findings] == [("IGA-M010", "soft"), ("IGA-M010", "soft")]
    assert [p.role for p in c.parts[1:]] == ["ignored", "ignored"]


@pytest.mark.parametrize("entry", [("x", "recipe", 1.0), Addon("x", None, "heavy"), Addon("", None, 1.0),
                                   Addon("x", None, float("nan")), Addon("x", None, True), Addon("x", {}, 1.0)])
def test_malformed_entries_raise_a_typed_error(entry):
    with pytest.raises(ComposeError):
        composition.compose(Recipe.from_dict(recipe("sd1_anime")), [entry])


def test_an_unparsed_base_raises_a_typed_error():
    with pytest.raises(ComposeError) as err:
        composition.compose(recipe("sd1_anime"), [])
    assert "Recipe.from_dict" in err.value.hint


def test_compose_does_not_change_its_inputs():
    base, lcm, ink = _example("sdxl-base"), _example("lcm-lora-sdxl"), style(architecture="sdxl")
    before = copy.deepcopy((base, lcm, ink))
    compose(base, [("lcm", lcm, 1.0), ("ink", ink, 1.0)])
    assert (base, lcm, ink) == before


_SAMPLERS = ["Euler", "Euler a", "DPM++ 2M", "DDIM", "LCM", "Heun"]
_SCHEDULES = ["Karras", "Exponential", "SGM Uniform", "Normal", "Simple"]


def _range(draw, low, high, integer=False):
    num = st.integers(low, high) if integer else st.floats(low, high, allow_nan=False).map(lambda x: round(x, 1))
    a, b = sorted((draw(num), draw(num)))
    return {"default": draw(st.sampled_from([a, b])), "min": a, "max": b}


@st.composite
def narrowing_addons(draw):
    lists = {}
    for key, pool in (("forbid_samplers", _SAMPLERS), ("allow_samplers", _SAMPLERS),
                      ("forbid_schedules", _SCHEDULES), ("allow_schedules", _SCHEDULES)):
        chosen = draw(st.lists(st.sampled_from(pool), unique=True, max_size=3))
        if chosen:
            lists[key] = chosen
    for kind in ("samplers", "schedules"):  # a valid recipe never allows and forbids the same name
        if f"allow_{kind}" in lists and f"forbid_{kind}" in lists:
            lists[f"forbid_{kind}"] = [n for n in lists[f"forbid_{kind}"] if n not in lists[f"allow_{kind}"]]
            if not lists[f"forbid_{kind}"]:
                del lists[f"forbid_{kind}"]
    addon = style(draw(st.text("abcdefgh", min_size=1, max_size=6)),
                  steps=_range(draw, 1, 80, integer=True), cfg=_range(draw, 1.0, 15.0))
    addon["sampler"] = {"name": lists.get("allow_samplers", ["Euler"])[0]}
    addon["scheduler"] = {"name": lists.get("allow_schedules", ["Karras"])[0]}
    if lists:
        addon["constraints"] = lists
    if draw(st.booleans()):
        addon["resolution"] = {"max": {"width": draw(st.sampled_from([512, 768, 1024])),
                                       "height": draw(st.sampled_from([512, 768, 1024]))}}
    addon["x-compose"] = "narrow"
    assume(validate_recipe(addon) == [])
    return addon


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(addons=st.lists(narrowing_addons(), min_size=1, max_size=3))
def test_any_narrowing_composition_is_a_valid_recipe(addons):
    c = compose(recipe("sd1_anime"), [(a["model_id"] + str(i), a, 1.0) for i, a in enumerate(addons)])
    _assert_valid(c)
    native = evaluate(c.typed, GuardRequest(sampler=c.recipe["sampler"]["name"],
                                             schedule=c.recipe["scheduler"]["name"],
                                             steps=c.recipe["steps"]["default"], cfg=c.recipe["cfg"]["default"]))
    assert native.allowed, native.message()


@pytest.mark.skipif(not EXAMPLES, reason="metadata_examples/ not present")
@pytest.mark.parametrize(("base_name", "addon_name"), list(itertools.product(sorted(EXAMPLES), repeat=2)))
def test_every_composition_of_examples_is_a_valid_recipe(base_name, addon_name):
    c = compose(EXAMPLES[base_name], [(addon_name, EXAMPLES[addon_name], 1.0)])
    _assert_valid(c)
    evaluate(c.typed, GuardRequest(sampler="Euler", steps=8, cfg=2.0))  # the guard can run on it


@pytest.mark.parametrize(("prompt", "expected"), [
    ("a cat <lora:lcm-lora-sdxl:1>", [("lora", "lcm-lora-sdxl", 1.0, 1.0)]),
    ("<lora:ink>, sketch", [("lora", "ink", 1.0, 1.0)]),
    ("<lora:ink:0.6:0.3> <lyco:detail:0.5>", [("lora", "ink", 0.3, 0.6), ("lyco", "detail", 0.5, 0.5)]),
    ("<lora:ink:te=0.2:unet=0>", [("lora", "ink", 0.0, 0.2)]),
    ("<lora:ink:-0.5>", [("lora", "ink", -0.5, -0.5)]),
    ("<hypernet:h:1> <lora::1> no tags here", []),
])
def test_prompt_addons_parse_like_the_hosts(prompt, expected):
    from iga_core.compose import prompt_addons

    assert [(t.kind, t.name, t.weight, t.te_weight) for t in prompt_addons(prompt)] == expected


@pytest.mark.parametrize("prompt", ["<lora:ink:strong>", "<lora:ink:1:unet=lots>", "<lora:ink:inf>"])
def test_prompt_addons_refuse_a_weight_that_is_no_number(prompt):
    from iga_core.compose import prompt_addons

    with pytest.raises(ComposeError):
        prompt_addons(prompt)


def test_a_composition_is_built_once_per_base_and_addons():
    """compose is pure: the same base with the same add-on recipes and weights shares one composition (its
    recipe digested and classified once), other weights or other recipes get their own (issue #19)."""
    base = Recipe.from_dict(style("base-style"))
    lora = Recipe.from_dict(style("lora-style", steps={"default": 20, "min": 15, "max": 40}))
    first = composition.compose(base, [Addon("lora", lora, 0.8)])
    assert composition.compose(base, [Addon("lora", lora, 0.8)]) is first
    other = composition.compose(base, [Addon("lora", lora, 0.5)])
    assert other is not first and other.to_dict() == composition._compose(base, [Addon("lora", lora, 0.5)],
                                                                         "base").to_dict()
    twin = Recipe.from_dict(style("lora-style", steps={"default": 20, "min": 15, "max": 40}))  # equal, not the same
    again = composition.compose(base, [Addon("lora", twin, 0.8)])
    assert again is not first and again.to_dict() == first.to_dict()
    for i in range(composition.COMPOSE_MEMO + 2):  # bounded per base
        composition.compose(base, [Addon("lora", lora, 0.01 * (i + 1))])
    assert len(base.memo["compose"]) <= composition.COMPOSE_MEMO
