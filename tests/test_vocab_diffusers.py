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
    ("FlowMatchEulerDiscreteScheduler", {"shift": 3.0}, ("euler", "simple", None)),
    ("FlowMatchEulerDiscreteScheduler", {"use_karras_sigmas": True}, ("euler", "karras", None)),
    ("DDIMScheduler", {"timestep_spacing": "trailing"}, ("ddim", None, "trailing")),
    ("DDIMScheduler", {"steps_offset": 1}, ("ddim", None, "leading")),
    ("PNDMScheduler", {"skip_prk_steps": True}, ("plms", None, "leading")),
    ("UniPCMultistepScheduler", {}, ("unipc", None, "linspace")),
    ("LCMScheduler", {}, ("lcm", "lcm", "leading")),
    ("TCDScheduler", {"timestep_spacing": "trailing"}, ("tcd", None, "trailing")),
    ("DEISMultistepScheduler", {"use_karras_sigmas": True}, ("deis", "karras", "linspace")),
    ("dpmsolvermultistepscheduler", {"_class_name": "x", "_diffusers_version": "0.35"}, ("dpmpp_2m", "uniform", "linspace")),
])
def test_from_diffusers(cls, config, expected):
    sampler, schedule, spacing = vocab.from_diffusers(cls, config)
    assert (sampler.id, schedule.id if schedule else None, spacing) == expected


def test_config_without_a_host_sampler_is_unknown_with_the_known_variants():
    with pytest.raises(vocab.UnknownName) as err:
        vocab.from_diffusers("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver"})
    assert "dpmsolver" in str(err.value.name) and any("sde-dpmsolver++" in s for s in err.value.suggestions)
    with pytest.raises(vocab.UnknownName):
        vocab.from_diffusers("PNDMScheduler", {})  # PNDM with Runge-Kutta warm-up is not PLMS


def test_unknown_class_and_spacing():
    with pytest.raises(vocab.UnknownName) as err:
        vocab.from_diffusers("EulerDiscreteSchedular", {})
    assert "EulerDiscreteScheduler" in err.value.suggestions
    with pytest.raises(vocab.UnknownName):
        vocab.from_diffusers("EulerDiscreteScheduler", {"timestep_spacing": "middle"})
    with pytest.raises(vocab.UnknownName):
        vocab.from_diffusers(None, {})


def test_to_diffusers_round_trips_every_expressible_pair():
    pairs = 0
    for sampler in vocab.all_samplers():
        for schedule in [None, *vocab.all_schedules()]:
            out = vocab.to_diffusers(sampler.id, schedule.id if schedule else None)
            if out is None:
                continue
            cls, config = out
            s, sch, _ = vocab.from_diffusers(cls, config)
            assert s.id == sampler.id
            if schedule is not None and not sampler.timestep_based:
                assert sch.id == schedule.id
            pairs += 1
    assert pairs > 50


@pytest.mark.parametrize(("sampler", "schedule", "expected"), [
    ("dpmpp_2m_sde", "karras", ("DPMSolverMultistepScheduler",
                                {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, "solver_type": "midpoint",
                                 "use_karras_sigmas": True})),
    ("euler", "simple", ("EulerDiscreteScheduler", {"timestep_spacing": "trailing"})),
    ("euler", "sgm_uniform", None),  # diffusers has only the approximation (trailing): not claimed as the same
    ("restart", None, None),
    ("ddim", "karras", ("DDIMScheduler", {})),
])
def test_to_diffusers(sampler, schedule, expected):
    assert vocab.to_diffusers(sampler, schedule) == expected


def test_sgm_uniform_records_its_diffusers_approximation():
    assert vocab.resolve_schedule("sgm_uniform").diffusers_approx == "timestep_spacing=trailing"


@pytest.mark.eval
def test_class_defaults_match_the_installed_diffusers():
    """The defaults in data/diffusers.json are diffusers' own: a freshly built scheduler's config maps the
    same way as an empty config."""
    diffusers = pytest.importorskip("diffusers")
    for cls, spec in load_table().diffusers["classes"].items():
        scheduler_cls = getattr(diffusers, cls)
        try:
            config = dict(scheduler_cls().config)
        except ImportError:  # DPMSolverSDEScheduler needs torchsde
            continue
        for key, value in spec["defaults"].items():
            assert config.get(key) == value, (cls, key)
        if cls == "PNDMScheduler":
            config["skip_prk_steps"] = True
            ours = vocab.from_diffusers(cls, {"skip_prk_steps": True})
        else:
            ours = vocab.from_diffusers(cls, {})
        theirs = vocab.from_diffusers(cls, config)
        assert (theirs[0].id, theirs[1] and theirs[1].id, theirs[2]) == (ours[0].id, ours[1] and ours[1].id, ours[2])
