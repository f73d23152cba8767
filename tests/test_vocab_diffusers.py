"""diffusers scheduler classes and config flags <-> (sampler, schedule, spacing)."""

from __future__ import annotations

import pytest

from iga_core import vocab
from iga_core.vocab.table import load_table


@pytest.mark.parametrize(("cls", "config", "expected"), [
    ("EulerDiscreteScheduler", {}, ("euler", "uniform", "linspace")),
    ("EulerDiscreteScheduler", {"timestep_spacing": "trailing"}, ("euler", "simple", "trailing")),
    ("EulerDiscreteScheduler", {"use_karras_sigmas": True}, ("euler", "karras", "linspace")),
    ("EulerDiscreteScheduler", {"use_exponential_sigmas": True}, ("euler", "exponential", "linspace")),
    ("EulerDiscreteScheduler", {"use_beta_sigmas": True}, ("euler", "beta", "linspace")),
    ("EulerDiscreteScheduler", {"timestep_spacing": "leading", "steps_offset": 1}, ("euler", "ddim", "leading")),
    ("EulerAncestralDiscreteScheduler", {"timestep_spacing": "trailing"}, ("euler_a", "simple", "trailing")),
    ("DPMSolverMultistepScheduler", {}, ("dpmpp_2m", "uniform", "linspace")),
    ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}, ("dpmpp_2m", "karras", "linspace")),
    ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}, ("dpmpp_2m_sde", "uniform", "linspace")),
    ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": True},
     ("dpmpp_2m_sde", "karras", "linspace")),
    ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "solver_type": "heun"},
     ("dpmpp_2m_sde_heun", "uniform", "linspace")),
    ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "solver_order": 3},
     ("dpmpp_3m_sde", "uniform", "linspace")),
    ("KDPM2AncestralDiscreteScheduler", {"use_karras_sigmas": True}, ("dpm2_a", "karras", "linspace")),
    ("EDMDPMSolverMultistepScheduler", {}, ("dpmpp_2m", "karras", None)),
    ("EDMEulerScheduler", {"sigma_schedule": "exponential"}, ("euler", "exponential", None)),
    # FlowMatch*: linspace(1, 1/1000, N) before the shift, ComfyUI's "normal" (see test below)
    ("FlowMatchEulerDiscreteScheduler", {"shift": 3.0}, ("euler", "normal", None)),
    ("FlowMatchEulerDiscreteScheduler", {"use_karras_sigmas": True}, ("euler", "karras", None)),
    # step() with stochastic_sampling: x0, then re-noised to the next sigma: the LCM sampler, not ODE Euler
    ("FlowMatchEulerDiscreteScheduler", {"stochastic_sampling": True}, ("lcm", "normal", None)),
    ("FlowMatchLCMScheduler", {"shift": 3.0}, ("lcm", "normal", None)),
    ("FlowMatchHeunDiscreteScheduler", {}, ("heun", "normal", None)),
    ("DDIMScheduler", {"timestep_spacing": "trailing"}, ("ddim", None, "trailing")),
    ("DDIMScheduler", {"steps_offset": 1}, ("ddim", None, "leading")),
    ("PNDMScheduler", {"skip_prk_steps": True}, ("plms", None, "leading")),
    ("PNDMScheduler", {}, ("plms", None, "leading")),  # with PRK warm-up: plms, noted as inexact
    # diffusers' UniPC defaults to solver_type "bh2" (ComfyUI's uni_pc_bh2) and honours the sigma flags
    ("UniPCMultistepScheduler", {}, ("unipc_bh2", "uniform", "linspace")),
    ("UniPCMultistepScheduler", {"solver_type": "bh1"}, ("unipc", "uniform", "linspace")),
    ("UniPCMultistepScheduler", {"use_karras_sigmas": True}, ("unipc_bh2", "karras", "linspace")),
    ("UniPCMultistepScheduler", {"solver_type": "bh1", "use_karras_sigmas": True, "timestep_spacing": "trailing"},
     ("unipc", "karras", "trailing")),
    # Wan / SANA-style flow configs (use_flow_sigmas + prediction_type "flow_prediction")
    ("UniPCMultistepScheduler", {"use_flow_sigmas": True, "prediction_type": "flow_prediction", "flow_shift": 3.0},
     ("unipc_bh2", "simple", "linspace")),
    ("DPMSolverMultistepScheduler", {"use_lu_lambdas": True}, ("dpmpp_2m", "exponential", "linspace")),
    ("DPMSolverMultistepScheduler", {"use_flow_sigmas": True, "prediction_type": "flow_prediction"},
     ("dpmpp_2m", "simple", "linspace")),
    ("LCMScheduler", {}, ("lcm", "simple", "leading")),
    ("DDIMParallelScheduler", {"timestep_spacing": "trailing"}, ("ddim", None, "trailing")),
    ("DDPMParallelScheduler", {}, ("ddpm", "ddim", "leading")),
    ("TCDScheduler", {"timestep_spacing": "trailing"}, ("tcd", None, "trailing")),
    ("DEISMultistepScheduler", {"use_karras_sigmas": True}, ("deis", "karras", "linspace")),
    ("dpmsolvermultistepscheduler", {"_class_name": "x", "_diffusers_version": "0.35"}, ("dpmpp_2m", "uniform", "linspace")),
])
def test_from_diffusers(cls, config, expected):
    sampler, schedule, spacing = vocab.from_diffusers(cls, config)
    assert (sampler.id, schedule.id if schedule else None, spacing) == expected


@pytest.mark.parametrize(("cls", "config", "nearest"), [
    ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver"}, "DPM++ 2M"),
    ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver"}, "DPM++ 2M SDE"),
    ("DPMSolverMultistepScheduler", {"solver_order": 3}, "DPM++ 3M SDE"),  # DPM-Solver++ 3M without noise
    ("DPMSolverSinglestepScheduler", {}, "DPM++ 2S a"),
    ("DPMSolverSinglestepScheduler", {"solver_order": 3}, "DPM++ 2M"),
    ("UniPCMultistepScheduler", {"predict_x0": False}, "UniPC"),
])
def test_configs_no_host_runs_are_refused_with_the_reason_and_the_nearest_host_sampler(cls, config, nearest):
    with pytest.raises(vocab.NoHostSampler) as err:
        vocab.from_diffusers(cls, config)
    assert isinstance(err.value, vocab.UnknownName) and cls in err.value.message and err.value.why
    assert err.value.nearest == nearest and nearest in err.value.hint
    assert err.value.to_dict()["nearest"] == nearest


def test_unknown_config_values_list_the_known_variants():
    with pytest.raises(vocab.UnknownName) as err:
        vocab.from_diffusers("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver+++"})
    assert not isinstance(err.value, vocab.NoHostSampler)
    assert any("sde-dpmsolver++" in s for s in err.value.suggestions)


def test_inexact_mappings_say_how_the_host_sampler_differs():
    prk = vocab.describe_diffusers("PNDMScheduler", {})
    assert not prk.exact and "Runge-Kutta" in prk.notes[0]
    assert vocab.describe_diffusers("PNDMScheduler", {"skip_prk_steps": True}).exact
    unipc = vocab.describe_diffusers("UniPCMultistepScheduler", {})  # diffusers order 2; hosts run order 3
    assert not unipc.exact and "solver_order" in unipc.notes[0]
    assert vocab.describe_diffusers("UniPCMultistepScheduler", {"solver_order": 3}).exact
    assert vocab.describe_diffusers("EulerDiscreteScheduler", {}).to_dict()["exact"] is True


def test_unknown_class_and_spacing():
    with pytest.raises(vocab.UnknownName) as err:
        vocab.from_diffusers("EulerDiscreteSchedular", {})
    assert "EulerDiscreteScheduler" in err.value.suggestions
    with pytest.raises(vocab.UnknownName):
        vocab.from_diffusers("EulerDiscreteScheduler", {"timestep_spacing": "middle"})
    with pytest.raises(vocab.UnknownName):
        vocab.from_diffusers(None, {})


@pytest.mark.parametrize("flow", [False, True])
def test_to_diffusers_round_trips_every_expressible_pair(flow):
    pairs = 0
    for sampler in vocab.all_samplers():
        for schedule in [None, *vocab.all_schedules()]:
            out = vocab.to_diffusers(sampler.id, schedule.id if schedule else None, flow=flow)
            if out is None:
                continue
            cls, config = out
            found = vocab.describe_diffusers(cls, config)
            assert found.sampler.id == sampler.id and found.exact
            if schedule is not None and not sampler.in_dialect("diffusers").timestep_based:
                assert found.schedule.id == schedule.id
            pairs += 1
    assert pairs > (5 if flow else 50)


@pytest.mark.parametrize(("sampler", "schedule", "expected"), [
    ("dpmpp_2m_sde", "karras", ("DPMSolverMultistepScheduler",
                                {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, "solver_type": "midpoint",
                                 "use_karras_sigmas": True})),
    ("euler", "simple", ("EulerDiscreteScheduler", {"timestep_spacing": "trailing"})),
    ("euler", "sgm_uniform", None),  # diffusers has only the approximation (trailing): not claimed as the same
    ("restart", None, None),
    ("ddim", "karras", ("DDIMScheduler", {})),
    # UniPC keeps its schedule both ways, and its solver variant
    ("unipc", "karras", ("UniPCMultistepScheduler", {"solver_type": "bh1", "predict_x0": True, "solver_order": 3,
                                                      "use_karras_sigmas": True})),
    ("unipc_bh2", None, ("UniPCMultistepScheduler", {"solver_type": "bh2", "predict_x0": True, "solver_order": 3})),
    ("lcm", "simple", ("LCMScheduler", {})),
    ("lcm", "karras", None),  # LCMScheduler has its own timesteps
    ("plms", None, ("PNDMScheduler", {"skip_prk_steps": True})),  # not the PRK warm-up, which runs differently
    ("dpmpp_2m", "exponential", ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2,
                                                                "use_exponential_sigmas": True})),
])
def test_to_diffusers(sampler, schedule, expected):
    assert vocab.to_diffusers(sampler, schedule) == expected


def test_to_diffusers_for_flow_models_uses_the_flow_match_classes():
    assert vocab.to_diffusers("euler", "normal", flow=True) == ("FlowMatchEulerDiscreteScheduler", {})
    assert vocab.to_diffusers("lcm", "normal", flow=True) == ("FlowMatchEulerDiscreteScheduler",
                                                              {"stochastic_sampling": True})
    assert vocab.to_diffusers("euler", "normal") is None  # no discrete-model class gives ComfyUI's normal by name


def test_sgm_uniform_records_its_diffusers_approximation():
    assert vocab.resolve_schedule("sgm_uniform").diffusers_approx == "timestep_spacing=trailing"


def _outcome(cls, config):
    try:
        return vocab.describe_diffusers(cls, config).to_dict()
    except vocab.NoHostSampler as exc:
        return ("refused", exc.nearest)


@pytest.mark.eval
def test_class_defaults_match_the_installed_diffusers():
    """The defaults in data/diffusers.json are diffusers' own (0.35.2 in the CI venv): a freshly built
    scheduler's config maps the same way as an empty config, and every flag a class lists is a real
    constructor argument of that class."""
    import inspect

    diffusers = pytest.importorskip("diffusers")
    for cls, spec in load_table().diffusers["classes"].items():
        scheduler_cls = getattr(diffusers, cls)
        params = inspect.signature(scheduler_cls.__init__).parameters
        assert set(spec.get("flags") or ()) <= set(params), cls
        for rule in spec["rules"]:
            assert set(rule.get("when", {})) <= set(params), (cls, rule)
        try:
            config = dict(scheduler_cls().config)
        except ImportError:  # DPMSolverSDEScheduler needs torchsde
            continue
        for key, value in spec["defaults"].items():
            assert config.get(key) == value, (cls, key)
        assert _outcome(cls, config) == _outcome(cls, {}), cls


@pytest.mark.eval
def test_the_flag_schedules_are_the_grids_diffusers_builds():
    """use_lu_lambdas spaces log sigma evenly: the same sigmas as use_exponential_sigmas (so Exponential);
    use_flow_sigmas gives 1 - k/N (x 0.999) before the shift, ComfyUI's "simple" on a flow model;
    FlowMatchEuler spaces sigmas evenly from 1 to 1/1000 (ComfyUI's "normal": linspace between the ends)."""
    import numpy as np

    diffusers = pytest.importorskip("diffusers")
    sd = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}
    for n in (4, 10, 25):
        lu = diffusers.DPMSolverMultistepScheduler(use_lu_lambdas=True, **sd)
        ex = diffusers.DPMSolverMultistepScheduler(use_exponential_sigmas=True, **sd)
        lu.set_timesteps(n)
        ex.set_timesteps(n)
        assert np.allclose(lu.sigmas.numpy(), ex.sigmas.numpy(), rtol=1e-5)
        flow = diffusers.UniPCMultistepScheduler(use_flow_sigmas=True, prediction_type="flow_prediction")
        flow.set_timesteps(n)
        simple = 0.999 * (1 - np.arange(n) / n)  # ComfyUI simple: sigmas[-(1 + int(k * 1000 / n))] for t/1000 = 1 - k/n
        assert np.allclose(flow.sigmas.numpy()[:-1], simple, atol=1.5e-3)
        fm = diffusers.FlowMatchEulerDiscreteScheduler()
        fm.set_timesteps(n)
        normal = np.linspace(1000, 1, n) / 1000  # normal_scheduler: linspace(timestep(sigma_max), timestep(sigma_min))
        assert np.allclose(fm.sigmas.numpy()[:-1], normal, atol=1e-6)


@pytest.mark.eval
def test_stochastic_flow_match_euler_steps_like_flow_match_lcm():
    """Both step to x0 and re-noise to the next sigma with fresh noise (the LCM sampler)."""
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    out = []
    for scheduler in (diffusers.FlowMatchEulerDiscreteScheduler(stochastic_sampling=True),
                      diffusers.FlowMatchLCMScheduler()):
        scheduler.set_timesteps(4)
        sample, model_output = torch.ones(1, 4, 2, 2), torch.full((1, 4, 2, 2), 0.5)
        torch.manual_seed(0)
        out.append(scheduler.step(model_output, scheduler.timesteps[0], sample).prev_sample)
    assert torch.allclose(out[0], out[1], atol=1e-6)


def test_lcm_scheduler_timesteps_are_the_hosts_lcm_sampler_on_simple():
    """A1111's LCM sampler snaps the Simple schedule's sigmas to its 50-entry table (sd_samplers_lcm.py:9-48):
    exactly LCMScheduler's timesteps (999, 759, 499, 259 at 4) at every step count, so LCMScheduler is LCM +
    Simple, a schedule the hosts have."""
    import numpy as np

    from iga_core.schedules.grids import compute_timesteps

    options = dict(vocab.resolve_sampler("LCM").grid_options)
    for n in range(1, 51):
        ours = compute_timesteps("simple", n, sampler_options=options).astype(int)
        assert np.array_equal(ours, compute_timesteps("lcm", n)), n
