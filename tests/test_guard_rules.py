"""Every guard rule through one contract (like diffusers' SchedulerCommonTest), then per-rule cases.

A subclass names the rule, a recipe and a request that violates it; the base checks what every rule owes:
registration and documentation, determinism, silence on the recipe's own defaults, complete findings,
and a remedy (`fix`) that clears the finding without tripping another rule on the same field.
"""

from __future__ import annotations

import dataclasses
import json
from typing import ClassVar

import pytest

from iga_core.guard import RULES, GuardPolicy, GuardRequest, evaluate, run_rules
from iga_core.guard.engine import clear_caches
from iga_core.guard.rules import REQUEST_RULES, Rule
from iga_core.recipe import Recipe, RecipeInvalid
from tests.test_guard_support import document, native_request, parsed, recipe, with_fix


def _field_names(fix: dict) -> set[str]:
    names = set(fix)
    if names & {"width", "height"}:
        names.add("size")
    if names & {"schedule", "sampler"}:
        names.add("steps")  # a grid fix changes schedule and steps together
    return names


#: a different value for every request field, to show a rule ignores the fields it does not declare
OTHER_VALUES = {"sampler": "Heun", "schedule": "Exponential", "steps": 13, "cfg": 2.5, "distilled_cfg": 9.0,
                "vae": "x.vae.pt", "clip_skip": 3, "width": 640, "height": 1536, "prediction_type": "v",
                "denoising_strength": 0.3, "zero_terminal_snr": True, "architecture": "flux",
                "upstream_architecture": "sd3", "sampler_sent": "Eulerish", "schedule_sent": "Karrasish", "host": "forge-classic",
                "executed": {"kind": "sigmas", "values": [14.6, 1.0, 0.0], "timesteps": [999, 500]},
                "control": [{"model": "t2iadapter_sketch_sd15v2", "weight": 0.3, "guidance_end": 0.2}]}


class RuleContract:
    rule_id: str = ""
    recipe_name: str = ""
    violation: ClassVar[dict] = {}

    @property
    def rule(self) -> Rule:
        return RULES[self.rule_id]

    @property
    def recipe(self) -> Recipe:
        return recipe(self.recipe_name)

    def violating(self) -> GuardRequest:
        return native_request(self.recipe, **self.violation)

    def findings(self, request: GuardRequest):
        return [f for f in run_rules(self.recipe, request) if f.rule_id == self.rule_id]

    def test_is_registered_and_documented(self):
        rule = self.rule
        assert rule.id == self.rule_id
        assert rule.severity == {"H": "hard", "S": "soft", "I": "info"}[self.rule_id[4]]
        assert rule.doc and rule.title and rule.remedy and rule.fields

    def test_fires_on_the_violation(self):
        assert self.findings(self.violating()), f"{self.rule_id} did not fire on {self.violation}"

    def test_silent_on_the_recipes_own_defaults(self):
        assert self.findings(native_request(self.recipe)) == []

    def test_is_deterministic(self):
        first = self.findings(self.violating())
        clear_caches()
        assert self.findings(self.violating()) == first

    def test_findings_are_complete(self):
        for f in self.findings(self.violating()):
            assert (f.rule_id, f.severity) == (self.rule.id, self.rule.severity)
            assert f.field and f.reason and f.remedy
            assert f.expected is not None and f.actual is not None
            assert not f.overridden
            json.dumps(f.to_dict())  # audit records are JSON

    def test_remedy_is_allowed_by_the_recipe(self):
        for f in self.findings(self.violating()):
            assert f.fix, f"{self.rule_id} offers no machine-readable fix"
            fixed = with_fix(self.violating(), f.fix)
            again = [g for g in self.findings(fixed) if g.field == f.field]
            assert again == [], f"applying {f.fix} did not clear {f.advice()}"
            related = [g for g in run_rules(self.recipe, fixed)
                       if g.severity != "info" and g.field in _field_names(f.fix)]
            assert related == [], f"the fix {f.fix} trips {[g.advice() for g in related]}"

    def test_reads_only_its_declared_fields(self):
        """The engine memoises a rule's answer on its declared fields, so nothing else may matter."""
        clear_caches()
        expected = self.findings(self.violating())
        for name, value in OTHER_VALUES.items():
            if name in self.rule.fields:
                continue
            clear_caches()
            assert self.findings(with_fix(self.violating(), {name: value})) == expected, name

    def test_mode_off_reports_nothing(self):
        assert evaluate(self.recipe, self.violating(), GuardPolicy(mode="off")).findings == ()


class TestUnknownSampler(RuleContract):
    rule_id, recipe_name, violation = "IGA-H006", "sd1_anime", {"sampler": "Eulerish a"}


class TestForbiddenSampler(RuleContract):
    rule_id, recipe_name, violation = "IGA-H001", "lightning", {"sampler": "DDIM"}


class TestScheduleNotAllowed(RuleContract):
    rule_id, recipe_name, violation = "IGA-H002", "lightning", {"schedule": "Karras"}


class TestPredictionType(RuleContract):
    rule_id, recipe_name, violation = "IGA-H003", "vpred", {"prediction_type": "epsilon"}


class TestOffGrid(RuleContract):
    rule_id, recipe_name, violation = "IGA-H004", "lightning", {"steps": 7}


class TestNoiseSchedule(RuleContract):
    rule_id, recipe_name, violation = "IGA-H007", "vpred", {"zero_terminal_snr": False}


class TestArchitecture(RuleContract):
    rule_id, recipe_name, violation = "IGA-H008", "dmd2", {"architecture": "sd1"}


class TestAboveMaxResolution(RuleContract):
    rule_id, recipe_name, violation = "IGA-H005", "turbo", {"width": 2048, "height": 1024}


class TestStepsRange(RuleContract):
    rule_id, recipe_name, violation = "IGA-S001", "sd1_anime", {"steps": 80}


class TestCfgRange(RuleContract):
    rule_id, recipe_name, violation = "IGA-S002", "turbo", {"cfg": 7.0}


class TestDistilledCfgRange(RuleContract):
    rule_id, recipe_name, violation = "IGA-S003", "flux", {"distilled_cfg": 7.0}


class TestOtherVae(RuleContract):
    rule_id, recipe_name, violation = "IGA-S004", "sd1_anime", {"vae": "kl-f8-anime2.ckpt"}


class TestAtypicalResolution(RuleContract):
    rule_id, recipe_name, violation = "IGA-S005", "vpred", {"width": 512, "height": 512}


class TestClipSkip(RuleContract):
    rule_id, recipe_name, violation = "IGA-S006", "sd1_anime", {"clip_skip": 1}


class TestUnlistedControlAdapter(RuleContract):
    rule_id, recipe_name, violation = "IGA-S007", "sd1_control", {
        "control": [{"model": "control_v11f1p_sd15_depth [cfd03158]", "preprocessor": "depth_midas"}]}


class TestControlAdapterOutsideItsHint(RuleContract):
    rule_id, recipe_name, violation = "IGA-S008", "sd1_control", {
        "control": [{"model": "control_v11p_sd15_canny [d14c016b]", "preprocessor": "canny", "weight": 1.8,
                     "guidance_end": 0.3}, {"model": "ip-adapter_sd15", "preprocessor": "ip-adapter_clip_sd15",
                                            "weight": 1.4}]}


class TestDiffersFromDefault(RuleContract):
    rule_id, recipe_name, violation = "IGA-I001", "sd1_anime", {"steps": 30, "cfg": 5.0}


class TestImg2imgTooFewSteps(RuleContract):
    rule_id, recipe_name, violation = "IGA-I002", "turbo", {"steps": 1, "denoising_strength": 0.5}


class TestScheduleIgnored(RuleContract):
    rule_id, recipe_name, violation = "IGA-I003", "sd1_anime", {"sampler": "DDIM", "schedule": "Karras"}


def test_every_request_rule_has_a_contract_test():
    covered = {cls.rule_id for cls in RuleContract.__subclasses__()}
    assert covered == {r.id for r in REQUEST_RULES}


def test_every_family_is_in_the_one_registry():
    families = {r.family for r in RULES.values()}
    assert families == {"request", "composition", "autoconfig"}
    for r in RULES.values():
        assert r.title and r.remedy and r.fields and r.severities <= {"hard", "soft", "info"}
        assert (r.check is not None) == (r.family == "request")
        assert r.id[4] in {"request": "HSI", "composition": "M", "autoconfig": "C"}[r.family]
    assert RULES["IGA-C001"].outcomes == {"missing": "hard", "substituted": "soft"}
    assert RULES["IGA-M004"].severity == "hard" and not RULES["IGA-M004"].overridable
    assert RULES["IGA-M007"].overridable


def test_findings_are_minted_only_by_the_registry():
    """No part builds a Finding with a severity of its own: only the registry's `Rule.mint` constructs one
    (verdict.py rebuilds them from JSON)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "iga_core"
    allowed = {root / "guard" / "rules" / "__init__.py", root / "guard" / "verdict.py"}
    offenders = []
    for path in sorted(set(root.rglob("*.py")) - allowed):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "Finding":
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []


def test_minting_an_undeclared_outcome_is_refused():
    from iga_core.guard.rules import UnknownOutcome

    with pytest.raises(UnknownOutcome):
        RULES["IGA-C001"].mint("sampler", "Euler", None, "reason", "remedy", outcome="found")
    assert RULES["IGA-C001"].mint("sampler", "Euler", None, "r", "m", outcome="substituted").severity == "soft"


def test_rules_are_ordered_hard_soft_info():
    severities = [r.severity for r in RULES.values()]
    assert severities == sorted(severities, key=("hard", "soft", "info").index)


# --- per-rule cases beyond the contract ------------------------------------------------------------


def _ids(verdict_or_findings) -> list[str]:
    findings = getattr(verdict_or_findings, "findings", verdict_or_findings)
    return [f.rule_id for f in findings]


def test_unknown_schedule_is_hard_and_never_mapped():
    found = run_rules(recipe("sd1_anime"), GuardRequest(sampler="Euler", schedule="Karras-ish"))
    unknown = [f for f in found if f.rule_id == "IGA-H006"]
    assert [f.field for f in unknown] == ["schedule"]
    assert "IGA-H002" not in _ids(found)  # an unknown schedule is not guessed into an allowed one


@pytest.mark.parametrize("schedule", ["Bong Tangent", "FlowMatchEulerDiscrete"])
def test_forge_neos_own_schedules_are_known_and_judged_on_the_executed_sigmas(schedule):
    """Seen in a real Forge Neo: its Bong Tangent was refused as an unknown schedule (IGA-H006). Neo's two own
    schedules are in the vocabulary, with no grid of iga's (N modules/sd_schedulers.py:166-224, 282-283): a
    lightning recipe's grid rule judges them on the sigmas the host hands over, and only there."""
    from iga_core.guard.request import ExecutedSchedule

    r = recipe("lightning")
    request = GuardRequest(sampler="Euler", schedule=schedule, steps=4, host="forge-neo")
    assert "IGA-H006" not in _ids(run_rules(recipe("sd1_anime"), request))
    assert "IGA-H006" not in _ids(run_rules(r, request))
    # not SDXL-Lightning's 4-step grid (timesteps 999, 749, 499, 249)
    off_grid = ExecutedSchedule(kind="sigmas", values=(14.6, 7.0, 3.0, 1.0, 0.0), timesteps=(999, 900, 800, 700))
    assert "IGA-H004" in _ids(run_rules(r, GuardRequest(sampler="Euler", schedule=schedule, steps=4,
                                                         host="forge-neo", executed=off_grid)))


def test_a_schedule_the_host_writes_as_automatic_is_not_a_replaced_name():
    """Seen in a real Forge Classic: it writes a schedule that is the sampler's own option as "Automatic"
    (classic sd_samplers.py:137-140), so an API request sending DPM++ 2M with Karras -- the sd15 recipe's own
    pair -- was refused as "the host would run Automatic" (IGA-H006). Automatic runs Karras for DPM++ 2M: no
    finding; for Euler a it runs another schedule (Uniform), which is still refused."""
    r = recipe("sd1_anime")
    same = GuardRequest(sampler="DPM++ 2M", schedule="Automatic", schedule_sent="Karras", steps=25,
                        host="forge-classic")
    assert "IGA-H006" not in _ids(run_rules(r, same))
    other = GuardRequest(sampler="Euler a", schedule="Automatic", schedule_sent="Karras", steps=25,
                         host="forge-classic")
    assert "IGA-H006" in _ids(run_rules(r, other))
    # DPM++ 2M SDE has no scheduler option on Classic (Automatic is Uniform there, Exponential on A1111)
    sde = GuardRequest(sampler="DPM++ 2M SDE", schedule="Automatic", schedule_sent="Exponential", steps=25)
    assert "IGA-H006" not in _ids(run_rules(r, sde))
    assert "IGA-H006" in _ids(run_rules(r, dataclasses.replace(sde, host="forge-classic")))


def test_unknown_prediction_type_is_reported():
    found = run_rules(recipe("vpred"), GuardRequest(prediction_type="vee"))
    assert [(f.rule_id, f.field) for f in found] == [("IGA-H006", "prediction_type")]


def test_aliases_from_every_dialect_resolve_to_the_same_sampler():
    r = recipe("lightning")
    for name in ("DDIM", "ddim"):
        assert "IGA-H001" in _ids(run_rules(r, GuardRequest(sampler=name)))
    for name in ("Euler", "k_euler", "euler"):
        assert _ids(run_rules(r, GuardRequest(sampler=name, schedule="sgm_uniform"))) == []


def test_combined_legacy_name_splits_into_sampler_and_schedule():
    # "DPM++ 2M Karras" is DPM++ 2M with the Karras schedule, which Lightning does not allow
    found = run_rules(recipe("lightning"), GuardRequest(sampler="DPM++ 2M Karras"))
    assert "IGA-H002" in _ids(found)


def test_automatic_resolves_to_the_samplers_default_schedule():
    r = recipe("lightning")  # allows SGM Uniform and Simple only
    found = run_rules(r, GuardRequest(sampler="DPM++ 2M", schedule="Automatic"))  # Automatic = Karras
    assert [f.actual for f in found if f.rule_id == "IGA-H002"] == ["Karras"]


def test_timestep_samplers_ignore_the_schedule():
    r = recipe("lightning", constraints={"allow_schedules": ["SGM Uniform"]})
    found = run_rules(r, GuardRequest(sampler="DDIM", schedule="Karras"))
    assert "IGA-H002" not in _ids(found)


def test_whitelist_and_blacklist_samplers():
    r = recipe("turbo")  # allows Euler a, Euler, LCM
    found = run_rules(r, GuardRequest(sampler="DPM++ 2M"))
    assert [f.rule_id for f in found if f.severity != "info"] == ["IGA-H001"]
    finding = run_rules(r, GuardRequest(sampler="DPM++ 2M"))[0]
    assert finding.advice().startswith("DPM++ 2M is not among the samplers allowed by this model's recipe")
    assert finding.fix == {"sampler": "Euler a"}


def test_forbidden_sampler_advice_reads_like_advice():
    finding = run_rules(recipe("lightning"), GuardRequest(sampler="DDIM"))[0]
    assert finding.advice() == "DDIM is forbidden by this model's recipe (IGA-H001); use Euler"


def test_resolution_max_is_per_side_and_remedy_keeps_aspect():
    r = recipe("lightning", resolution={"max": {"width": 1536, "height": 1536}})
    assert "IGA-H005" not in _ids(run_rules(r, GuardRequest(width=1536, height=1536)))
    f = next(f for f in run_rules(r, GuardRequest(width=2048, height=1536)) if f.rule_id == "IGA-H005")
    assert f.fix == {"width": 1536, "height": 1152}


def test_resolution_max_remedy_prefers_a_preferred_size_over_an_atypical_scale():
    r = recipe("lightning")  # preferred 1024x1024 only: 1536x1152 would be far too large an area
    f = next(f for f in run_rules(r, GuardRequest(width=2048, height=1536)) if f.rule_id == "IGA-H005")
    assert f.fix == {"width": 1024, "height": 1024}


@pytest.mark.parametrize(("size", "typical"), [
    ((1024, 1024), True), ((1152, 896), True), ((896, 1152), True), ((832, 1216), True),
    ((512, 512), False), ((1536, 640), False), ((2048, 2048), False),
])
def test_atypical_resolution_thresholds(size, typical):
    found = run_rules(recipe("vpred"), GuardRequest(width=size[0], height=size[1]))
    assert ("IGA-S005" not in _ids(found)) is typical


def test_preset_sizes_count_as_typical():
    # 768x512 is only typical because the recipe's "Wide" preset uses it
    r = recipe("sd1_anime")
    assert "IGA-S005" not in _ids(run_rules(r, GuardRequest(width=768, height=512)))
    assert "IGA-S005" in _ids(run_rules(recipe("sd1_anime", presets=[]), GuardRequest(width=768, height=512)))


def test_steps_remedy_prefers_allowed_subsample_counts():
    r = recipe("dmd2", scheduler={**document("dmd2")["scheduler"], "subsample": {"allowed_steps": [1, 2, 4]}})
    f = next(f for f in run_rules(r, GuardRequest(steps=20)) if f.rule_id == "IGA-S001")
    assert f.fix == {"steps": 4}


@pytest.mark.parametrize(("asked", "fires"), [
    ("vae-ft-mse-840000-ema-pruned.safetensors", False),
    ("/models/VAE/VAE-FT-MSE-840000-EMA-PRUNED.safetensors", False),
    ("C:\\webui\\models\\VAE\\vae-ft-mse-840000-ema-pruned.ckpt", False),
    ("Automatic", False),
    ("None", True),  # the checkpoint's own VAE, which this recipe says is not the one to use
    ("kl-f8-anime2.ckpt", True),
])
def test_vae_matching(asked, fires):
    found = run_rules(recipe("sd1_anime"), GuardRequest(vae=asked))
    assert ("IGA-S004" in _ids(found)) is fires


def test_vae_by_sha256():
    digest = "ab" * 32
    r = recipe("sd1_anime", vae={"sha256": digest})
    assert "IGA-S004" not in _ids(run_rules(r, GuardRequest(vae=digest.upper())))
    assert "IGA-S004" in _ids(run_rules(r, GuardRequest(vae="cd" * 32)))


def test_embedded_vae_recipe_accepts_none():
    r = recipe("lightning")  # sdxl_vae.safetensors, embedded
    assert "IGA-S004" not in _ids(run_rules(r, GuardRequest(vae="None")))


def test_distilled_cfg_ignored_without_a_distilled_range():
    # hosts send a distilled CFG for every model (Forge's 3.5); only recipes that declare one check it
    assert "IGA-S003" not in _ids(run_rules(recipe("turbo"), GuardRequest(distilled_cfg=9.0)))


def test_info_defaults_not_reported_for_disallowed_values():
    found = run_rules(recipe("sd1_anime"), GuardRequest(steps=80))
    assert "IGA-I001" not in _ids(found)


def test_img2img_remedy_falls_back_to_strength_when_steps_cannot_rise():
    r = recipe("turbo", steps={"default": 1, "min": 1, "max": 1})
    f = next(f for f in run_rules(r, GuardRequest(steps=1, denoising_strength=0.5)) if f.rule_id == "IGA-I002")
    assert f.fix == {"denoising_strength": 1.0}


def test_img2img_with_enough_steps_is_quiet():
    assert "IGA-I002" not in _ids(run_rules(recipe("turbo"), GuardRequest(steps=2, denoising_strength=0.5)))


def test_grid_shortcut_agrees_with_classify_grid():
    """The grid rule answers from step counts alone when it can; it must never disagree with the full
    comparison in iga_core.schedules."""
    from iga_core import vocab
    from iga_core.guard.rules.grid import shortcut
    from iga_core.schedules import classify_grid
    from tests.test_guard_support import RECIPES, example_recipes

    decided = 0
    dmd2 = document("dmd2")["scheduler"]
    recipes = [*map(parsed, RECIPES.values()), *map(parsed, example_recipes().values()),
               recipe("dmd2", scheduler={**dmd2, "subsample": {"rule": "divisors"}}),
               recipe("dmd2", scheduler={k: v for k, v in dmd2.items() if k != "subsample"}, steps={"default": 4})]
    schedules = [s.id for s in vocab.all_schedules() if s.id not in ("automatic", "lcm", "sd_turbo") and s.grid_known]
    for r in recipes:
        for steps in (1, 2, 3, 4, 5, 8, 9, 12):
            quick = shortcut(r, steps)
            if quick is None:
                continue
            for sid in schedules:
                full = classify_grid(r.scheduler, sid, steps, architecture=r.architecture)
                assert (quick.kind == "off_grid") == (full.kind == "off_grid"), (r.model_id, sid, steps)
                decided += 1
    assert decided > 500


@pytest.mark.parametrize(("steps_range", "asked", "reason"), [
    ({"default": 25, "min": 15, "max": 50}, 80, "80 steps is outside this model's range 15–50"),
    ({"default": 4, "min": 4, "max": 4}, 8, "8 steps is outside this model's range: it uses 4 steps only"),
    ({"default": 25, "max": 50}, 80, "80 steps is outside this model's range: at most 50 steps"),
    ({"default": 25, "min": 10}, 5, "5 steps is outside this model's range: at least 10 steps"),
])
def test_range_reasons_read_naturally(steps_range, asked, reason):
    f = next(f for f in run_rules(recipe("sd1_anime", steps=steps_range, presets=[]), GuardRequest(steps=asked))
             if f.rule_id == "IGA-S001")
    assert f.reason == reason


def test_schedule_fix_for_a_combined_name_splits_it():
    r = recipe("lightning")
    f = next(f for f in run_rules(r, GuardRequest(sampler="DPM++ 2M Karras")) if f.rule_id == "IGA-H002")
    assert f.fix == {"schedule": "SGM Uniform", "sampler": "DPM++ 2M"}
    fixed = run_rules(r, with_fix(GuardRequest(sampler="DPM++ 2M Karras"), f.fix))
    assert not [g for g in fixed if g.severity == "hard"]
    automatic = next(f for f in run_rules(r, GuardRequest(sampler="DPM++ 2M")) if f.rule_id == "IGA-H002")
    assert automatic.reason.startswith("schedule type Automatic (Karras for DPM++ 2M) is not among")
    assert automatic.fix == {"schedule": "SGM Uniform"}


def test_a_grid_the_maths_cannot_compute_is_refused_at_the_parse_not_a_crash():
    # a Karras rule with rho 0 divides by zero when the grid is built: validation refuses the recipe, so
    # the guard never meets it
    with pytest.raises(RecipeInvalid) as err:
        recipe("sd1_anime", scheduler={"name": "Automatic", "canonical_steps": 1,
                                       "grid": {"kind": "rule", "rule": "karras", "params": {"rho": 0.0}},
                                       "subsample": {"allowed_steps": [1]}},
               steps={"default": 1}, presets=[])
    assert err.value.problems[0].pointer == "/scheduler/grid/params/rho"


def test_grid_remedies_do_not_depend_on_what_was_asked_before():
    r = recipe("dmd2", sampler={"name": "Euler a", "mode": "ancestral"})
    asked = GuardRequest(sampler="Euler a", schedule="SGM Uniform", steps=9)
    unasked = GuardRequest(steps=9)
    clear_caches()
    first = [f.remedy for f in run_rules(r, asked) if f.rule_id == "IGA-H004"]
    second = [f.remedy for f in run_rules(r, unasked) if f.rule_id == "IGA-H004"]
    clear_caches()
    assert [f.remedy for f in run_rules(r, unasked) if f.rule_id == "IGA-H004"] == second
    assert [f.remedy for f in run_rules(r, asked) if f.rule_id == "IGA-H004"] == first
    assert first == ["use 4 steps"] and second == ["use Euler a with SGM Uniform at 4 steps"]


def test_the_hosts_lcm_is_judged_on_its_own_table_even_as_the_recipes_sampler():
    """A1111 / Forge's LCM evaluates the nearest of LCM's 50 timesteps (A sd_samplers_lcm.py:9-48): DMD2's
    own LCM + SGM Uniform at 4 steps runs t=999, 759, 499, 259, off its 999/749/499/249 grid, and no step
    count of LCM gets there, so the remedy names no step count."""
    r = recipe("dmd2")
    grid = [f for f in run_rules(r, native_request(r)) if f.rule_id == "IGA-H004"]
    assert [f.severity for f in grid] == ["hard"] and "759" in grid[0].reason
    assert grid[0].fix is None and "no sampler this recipe allows" in grid[0].remedy
    allowing = recipe("dmd2", constraints={"allow_samplers": ["LCM", "Euler a"]})
    fix = next(f.fix for f in run_rules(allowing, native_request(allowing)) if f.rule_id == "IGA-H004")
    assert fix == {"sampler": "Euler a", "schedule": "SGM Uniform", "steps": 4}
    assert not [f for f in run_rules(allowing, with_fix(native_request(allowing), fix)) if f.severity != "info"]


def test_the_hosts_ddim_is_judged_on_its_own_timesteps_even_as_the_recipes_sampler():
    """Hyper-SD names DDIM with trailing spacing; the hosts' DDIM evaluates range(0, 1000, 1000 // n) + 1
    from the last down to the second (A sd_samplers_timesteps.py:94, sd_samplers_timesteps_impl.py:22-25)."""
    r = recipe("lightning", sampler={"name": "DDIM", "mode": "ode"}, scheduler={
        "name": "Automatic", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]}, "canonical_steps": 4,
        "subsample": {"allowed_steps": [4]}, "spacing": "trailing"}, constraints={})
    assert [f.rule_id for f in run_rules(r, native_request(r)) if f.severity == "hard"] == ["IGA-H004"]


@pytest.mark.parametrize(("host", "set_by", "says"), [
    ("reforge", None, "v_pred"),
    ("reforge", "advanced_model_sampling", "Discrete Sampling Type: v_prediction"),
    ("reforge", "advanced_model_sampling_left_over", "still carries the patch"),
    ("reforge", "something_else", "v_pred"),  # a cause the host has no remedy for: its general one
    ("a1111", "advanced_model_sampling", "v2-inference-v.yaml"),  # a cause another host does not have
])
def test_the_prediction_remedy_names_what_set_the_type(host, set_by, says):
    """IGA-H003's remedy follows `prediction_set_by` where the host has one for that cause (host_settings.json)."""
    r = recipe("vpred")
    request = native_request(r, prediction_type="eps", host=host, prediction_set_by=set_by)
    found = [f for f in run_rules(r, request) if f.rule_id == "IGA-H003"]
    assert len(found) == 1 and says in found[0].remedy, found
