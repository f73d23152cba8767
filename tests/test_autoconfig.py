"""Auto-configure: values in each host's vocabulary, substitutes the recipe allows, findings for the rest."""

from __future__ import annotations

import pytest

from iga_core import vocab
from iga_core.autoconfig import A1111, FORGE, HostCapabilities, UnknownHost, auto_configure, host_capabilities
from iga_core.guard import GuardPolicy, GuardRequest, evaluate
from iga_core.presets import PresetNotFound
from tests.test_guard_support import example_parsed, recipe

EXAMPLES = example_parsed()


def _ids(config) -> list[tuple[str, str]]:
    return [(f.rule_id, f.severity) for f in config.findings]


def _request(values: dict, prediction_type: str) -> GuardRequest:
    """The request a host makes with these values; the noise-schedule option becomes the host fact it sets."""
    values = {k: v for k, v in values.items() if v is not None}
    noise = values.pop("noise_schedule", None)
    ztsnr = None if noise is None else noise == "Zero Terminal SNR"
    return GuardRequest(prediction_type=prediction_type, zero_terminal_snr=ztsnr, **values)


def test_host_lists_come_from_the_vocabulary():
    assert "HeunPP2" in FORGE.samplers and "HeunPP2" not in A1111.samplers
    assert "Turbo" in FORGE.schedules and "Turbo" not in A1111.schedules
    assert FORGE.supports_distilled_cfg and not A1111.supports_distilled_cfg
    assert {n for _, n, _ in vocab.names_in("sampler", "a1111")} == set(A1111.samplers)
    assert host_capabilities("Forge") is FORGE
    with pytest.raises(UnknownHost):
        host_capabilities("comfy")


def test_a_host_listing_unknown_names_is_refused():
    with pytest.raises(UnknownHost):
        HostCapabilities("odd", ["Euler", "Warp Drive"], ["Karras"])
    with pytest.raises(UnknownHost):
        HostCapabilities("odd", ["Euler"], ["Karras"], dialect="klingon")


def test_a_custom_host_in_another_dialect():
    comfy = HostCapabilities("ComfyUI", ["euler", "lcm"], ["sgm_uniform", "simple"], dialect="comfyui")
    config = auto_configure(recipe("dmd2"), comfy)
    assert (config.values["sampler"], config.values["schedule"]) == ("lcm", "sgm_uniform") and config.honoured


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("host", [A1111, FORGE], ids=["a1111", "forge"])
def test_honoured_configs_pass_the_guard(name, host):
    r = EXAMPLES[name]
    config = auto_configure(r, host)
    if config.honoured:
        v = evaluate(r, _request(config.values, r.prediction_type), GuardPolicy(mode="strict"))
        assert v.allowed, v.message()


def test_values_are_spelled_in_the_hosts_vocabulary():
    r = recipe("sd1_anime", sampler={"name": "dpmpp_2m"}, scheduler={"name": "karras"})  # ComfyUI spelling
    values = auto_configure(r, A1111).values
    assert (values["sampler"], values["schedule"]) == ("DPM++ 2M", "Karras")
    assert values["clip_skip"] == 2 and values["vae"] == "vae-ft-mse-840000-ema-pruned.safetensors"


def test_a_forge_neo_sampler_is_spelled_as_neo_lists_it():
    """Neo's own ER SDE and Bong Tangent are forge-dialect aliases only (Forge does not list them): a recipe
    naming them (ComfyUI's er_sde) is applied on a host that lists them, in the host's own spelling, and
    reported as missing on one that does not."""
    neo = HostCapabilities("Forge Neo", ["DPM++ 2M", "Euler", "ER SDE"], ["Karras", "Beta", "Bong Tangent"],
                           dialect="forge", host="forge-neo")
    assert neo.spell("sampler", "er_sde") == "ER SDE" and neo.spell("schedule", "bong_tangent") == "Bong Tangent"
    assert FORGE.spell("sampler", "er_sde") is None
    r = recipe("sd1_anime", sampler={"name": "er_sde"}, scheduler={"name": "beta"})
    assert (auto_configure(r, neo).values["sampler"], auto_configure(r, neo).values["schedule"]) == ("ER SDE", "Beta")
    assert auto_configure(r, FORGE).values["sampler"] != "ER SDE"


def test_a_preset_is_configured_too():
    values = auto_configure(recipe("sd1_anime"), A1111, preset="Fast").values
    assert (values["sampler"], values["steps"], values["cfg"]) == ("Euler a", 15, 6.0)
    assert auto_configure(recipe("sd1_anime"), A1111, preset="Custom").values == {}
    with pytest.raises(PresetNotFound):
        auto_configure(recipe("sd1_anime"), A1111, preset="Nope")


def test_forge_only_schedule_on_a1111_gets_a_same_grid_substitute():
    r = recipe("turbo", scheduler={"name": "Turbo", "spacing": "trailing"}, steps={"default": 4, "min": 1, "max": 4})
    forge = auto_configure(r, FORGE)
    assert forge.values["schedule"] == "Turbo" and forge.findings == ()
    a1111 = auto_configure(r, A1111)
    assert _ids(a1111) == [("IGA-C002", "soft")]
    assert a1111.values["schedule"] == "SGM Uniform"  # Forge's Turbo is trailing spacing, as SGM Uniform
    assert a1111.honoured


def test_forge_only_schedule_with_no_equivalent_is_hard_when_the_recipe_pins_it():
    r = recipe("sd1_anime", scheduler={"name": "Align Your Steps 32"},
               constraints={"allow_schedules": ["Align Your Steps 32"]}, presets=[])
    config = auto_configure(r, A1111)
    assert _ids(config) == [("IGA-C002", "hard")] and not config.honoured
    assert config.values["schedule"] is None
    assert auto_configure(r, FORGE).honoured


def test_forge_only_sampler_on_a1111():
    r = recipe("sd1_anime", sampler={"name": "DEIS"}, presets=[])
    config = auto_configure(r, A1111)
    assert _ids(config) == [("IGA-C001", "hard")] and config.values["sampler"] is None
    r = recipe("sd1_anime", sampler={"name": "DEIS"}, presets=[], constraints={"allow_samplers": ["DEIS", "DPM++ 2M"]})
    config = auto_configure(r, A1111)
    assert _ids(config) == [("IGA-C001", "soft")] and config.values["sampler"] == "DPM++ 2M"
    assert config.findings[0].fix == {"sampler": "DPM++ 2M"}


def test_explicit_grid_no_host_timestep_sampler_reaches_is_run_by_its_euler_step():
    """Hyper-SD's DDIM (trailing) misses its grid on the hosts' DDIM (leading + 1); the recipe allows any
    sampler, and Euler (DDIM's step with eta 0) with SGM Uniform lands on 999, 874, ..., 124."""
    hyper = EXAMPLES.get("hyper-sdxl-8step-cfg")
    if hyper is None:
        pytest.skip("metadata_examples/hyper-sdxl-8step-cfg.iga.json not present")
    for host in (A1111, FORGE):
        config = auto_configure(hyper, host)
        assert _ids(config) == [("IGA-C003", "soft")] and config.honoured
        assert (config.values["sampler"], config.values["schedule"], config.values["steps"]) == \
            ("Euler", "SGM Uniform", 8)
        assert config.findings[0].fix == {"sampler": "Euler", "schedule": "SGM Uniform"}


def test_explicit_timestep_grid_reachable_through_sgm_uniform():
    """DMD2's [999, 749, 499, 249] is what SGM Uniform gives at 4 steps, but the hosts' LCM evaluates LCM's
    50-step table (999, 759, 499, 259): with no allow list, Euler a with SGM Uniform is what lands."""
    for host in (A1111, FORGE):
        config = auto_configure(recipe("dmd2"), host)
        assert config.honoured and _ids(config) == [("IGA-C003", "soft")]
        assert (config.values["sampler"], config.values["schedule"]) == ("Euler a", "SGM Uniform")


def test_a_recipe_allowing_only_the_hosts_off_grid_sampler_is_hard_and_names_what_would_land():
    dmd2 = EXAMPLES.get("dmd2-sdxl-4step")
    if dmd2 is None:
        pytest.skip("metadata_examples/dmd2-sdxl-4step.iga.json not present")
    for host in (A1111, FORGE):
        config = auto_configure(dmd2, host)
        assert _ids(config) == [("IGA-C003", "hard")] and not config.honoured
        finding = config.findings[0]
        assert "759" in finding.reason and "Euler a with SGM Uniform" in finding.remedy
        assert config.values["sampler"] == "LCM"  # left as the recipe says: the guard refuses it (IGA-H004)


def test_a_host_whose_samplers_iga_does_not_model_keeps_the_recipes_sampler():
    """ComfyUI's lcm runs the schedule's sigmas as given (no 50-step table): no grid substitute there."""
    comfy = HostCapabilities("ComfyUI", ["euler", "euler_ancestral", "lcm"], ["sgm_uniform"], dialect="comfyui")
    assert auto_configure(recipe("dmd2"), comfy).values["sampler"] == "lcm"


def test_unpinned_recipe_without_an_equivalent_schedule_is_soft():
    r = recipe("sd1_anime", scheduler={"name": "Align Your Steps 32"})  # no grid, no allow list
    config = auto_configure(r, A1111)
    assert _ids(config) == [("IGA-C002", "soft")] and config.values["schedule"] is None
    assert config.honoured


def test_distilled_cfg_needs_forge():
    assert auto_configure(recipe("flux"), FORGE).values["distilled_cfg"] == 3.5
    config = auto_configure(recipe("flux"), A1111)
    assert _ids(config) == [("IGA-C004", "soft")] and config.values["distilled_cfg"] is None


def test_to_dict_is_json_ready():
    import json

    data = json.loads(json.dumps(auto_configure(recipe("flux"), A1111).to_dict()))
    assert data["honoured"] is True and data["findings"][0]["rule_id"] == "IGA-C004"


@pytest.mark.parametrize(("host", "fixture"), [(A1111, "a1111"), (FORGE, "forge")])
def test_ready_made_hosts_match_the_hosts_own_api_lists(host, fixture):
    """tests/fixtures/host_samplers_*.json hold what /sdapi/v1/samplers and /schedulers return."""
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).parent / "fixtures" / f"host_samplers_{fixture}.json").read_text("utf-8"))
    assert set(host.samplers) == {s["name"] for s in data["samplers"]}
    assert set(host.schedules) == {s["label"] for s in data["schedulers"]}


@pytest.mark.parametrize("host", [A1111, FORGE], ids=["a1111", "forge"])
def test_the_noise_schedule_is_configured_where_the_recipe_states_it(host):
    """A1111 and Forge take zero terminal SNR from one option a script can set per request
    (sd_noise_schedule, A shared_options.py:406, F 415): auto-configure names its value."""
    assert auto_configure(recipe("vpred"), host).values["noise_schedule"] == "Zero Terminal SNR"
    plain = recipe("vpred", scheduler={"name": "Normal", "zero_terminal_snr": False})
    assert auto_configure(plain, host).values["noise_schedule"] == "Default"
    assert "noise_schedule" not in auto_configure(recipe("sd1_anime"), host).values  # the recipe says nothing
    comfy = HostCapabilities("ComfyUI", ["euler"], ["normal"], dialect="comfyui")
    assert auto_configure(recipe("vpred"), comfy).values["noise_schedule"] is None  # no such option there
