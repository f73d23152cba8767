"""Sigma and timestep grids: the training schedule, each schedule type's defining property, the hosts'
quirks (AYS interpolation, DDIM's extra points, KL Optimal's final sigma), and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iga_core import schedules as S
from iga_core import vocab
from iga_core.errors import IgaInvalid
from iga_core.recipe import Scheduler

SD = S.NoiseModel.sd()
DIVISORS_OF_1000 = [1, 2, 4, 5, 8, 10, 20, 25, 40, 50]


def t_of(grid):
    return SD.sigma_to_t(grid[:-1])


# --- training schedule ------------------------------------------------------------------------------------

def test_sd_sigma_range():
    assert SD.sigma_min == pytest.approx(0.0292, abs=1e-4)
    assert SD.sigma_max == pytest.approx(14.6146, abs=1e-4)
    assert len(SD.sigmas) == 1000 and np.all(np.diff(SD.sigmas) > 0)


def test_scaled_linear_betas_are_squares_of_a_linspace():
    betas = S.make_betas("scaled_linear")
    assert betas[0] == pytest.approx(0.00085) and betas[-1] == pytest.approx(0.012)
    assert np.allclose(np.diff(np.sqrt(betas)), np.diff(np.sqrt(betas))[0])
    assert np.allclose(S.make_betas("linear"), np.linspace(0.00085, 0.012, 1000))
    cos = S.make_betas("squaredcos_cap_v2")
    assert cos.max() <= 0.999 and np.all(np.diff(cos) >= 0)


def test_zero_terminal_snr_rescaling():
    ab = S.alphas_cumprod(S.make_betas())
    z = S.rescale_zero_terminal_snr(ab)
    assert z[0] == pytest.approx(ab[0])  # the first timestep keeps its SNR
    assert z[-1] == 4.8973451890853435e-08  # A1111 keeps the last one finite (sd_models.py:643)
    assert np.all(np.diff(z) < 0)
    ztsnr = S.NoiseModel.sd(zero_terminal_snr=True)
    assert ztsnr.sigma_max > 1000 and ztsnr.sigma_min == pytest.approx(SD.sigma_min)


@given(st.floats(min_value=0, max_value=999))
@settings(max_examples=200, deadline=None)
def test_t_and_sigma_maps_are_inverse(t):
    assert float(SD.sigma_to_t(SD.t_to_sigma(t))) == pytest.approx(t, abs=1e-6)


def test_sigma_to_t_clamps_outside_the_table():
    assert SD.sigma_to_t(1e6) == 999 and SD.sigma_to_t(1e-6) == 0


def test_bad_inputs_are_typed_errors():
    for call in (
        lambda: S.make_betas("cosine"),
        lambda: S.make_betas(num_train_timesteps=1),
        lambda: S.alphas_cumprod([0.5, 1.5]),
        lambda: S.NoiseModel(np.array([2.0, 1.0])),
        lambda: S.compute_grid("karras", 0),
        lambda: S.compute_grid("karras", 4.5),
        lambda: S.compute_grid("karras", True),
        lambda: S.compute_grid("karras", 5000),
        lambda: S.compute_grid("no_such_schedule", 4),
        lambda: S.compute_grid("karras", 4, sigma_min=20.0),
        lambda: S.compute_grid("beta", 4, params={"alpha": 0}),
        lambda: S.spacing_timesteps("middle", 4),
        lambda: S.lcm_timesteps(60),
        lambda: S.flow_sigmas(4, shift=0),
    ):
        with pytest.raises(S.ScheduleInputError) as err:
            call()
        assert isinstance(err.value, IgaInvalid) and err.value.hint


def test_every_vocabulary_schedule_has_a_grid():
    for info in vocab.all_schedules():
        if info.id != vocab.AUTOMATIC and info.grid_known:
            assert info.id in S.GRID_IDS


def test_model_specific_schedules_say_why_no_grid_is_computed():
    """SwarmUI's ltxv, flux2, ideogram4 ... take the model and image size (SwarmKSampler.py:400-430); Forge
    Neo's Bong Tangent and FlowMatchEulerDiscrete are its own (N modules/sd_schedulers.py:166-224, 282-283)."""
    specific = [s.id for s in vocab.all_schedules() if not s.grid_known]
    assert set(specific) == {"ltxv", "ltxv_image", "flux2", "ideogram4", "ideogram4_turbo", "bong_tangent",
                             "flow_match"}
    for sid in specific:
        assert sid not in S.GRID_IDS
        with pytest.raises(S.ScheduleInputError, match="depend on the model"):
            S.compute_grid(sid, 4)


def test_swarmui_turbo_is_comfyui_sd_turbo_scheduler():
    """ComfyUI SDTurboScheduler / SwarmKSampler.py:396-399: timesteps flip(arange(1, 11) * 100 - 1)[:steps]."""
    m = S.NoiseModel.sd()
    for n in (1, 4, 10):
        expected = np.append(m.sigmas[(np.arange(1, 11) * 100 - 1)[::-1][:n]], 0.0)
        assert np.allclose(S.compute_grid("sd_turbo", n, model=m), expected)
    assert not np.allclose(S.compute_grid("sd_turbo", 4), S.compute_grid("turbo", 4))  # Forge's Turbo: 999, 749, ...
    with pytest.raises(S.ScheduleInputError, match="at most 10"):
        S.compute_grid("sd_turbo", 11)


# --- shape of every grid ----------------------------------------------------------------------------------

@pytest.mark.parametrize("grid_id", S.GRID_IDS)
@pytest.mark.parametrize("steps", [1, 2, 3, 4, 7, 10, 11, 20, 32, 33])
def test_every_grid_is_finite_non_increasing_and_ends_low(grid_id, steps):
    if (grid_id == "lcm" and steps > 50) or (grid_id == "sd_turbo" and steps > 10):
        return  # LCM's table holds 50 steps; SwarmUI's turbo 10 (tested above)
    g = S.compute_grid(grid_id, steps)
    assert np.all(np.isfinite(g)) and np.all(g >= 0)
    assert np.all(np.diff(g) <= 1e-12), g
    assert g[-1] <= SD.sigma_min + 1e-9
    # the hosts' DDIM schedule takes every (1000 // steps)-th sigma from t=1, which can be more than `steps`
    expected = len(range(1, 1000, 1000 // steps)) + 1 if grid_id == "ddim" else steps + 1
    assert len(g) == expected


# --- each schedule's defining property -------------------------------------------------------------------

@pytest.mark.parametrize("n", [3, 10, 25])
def test_karras(n):
    g = S.compute_grid("karras", n)
    assert g[0] == pytest.approx(SD.sigma_max) and g[-2] == pytest.approx(SD.sigma_min) and g[-1] == 0
    root = g[:-1] ** (1 / 7)
    assert np.allclose(np.diff(root), np.diff(root)[0])
    other = S.compute_grid("karras", n, params={"rho": 3.0})
    assert np.allclose(np.diff(other[:-1] ** (1 / 3)), np.diff(other[:-1] ** (1 / 3))[0])


def test_exponential_and_polyexponential():
    e = S.compute_grid("exponential", 12)
    assert np.allclose(np.diff(np.log(e[:-1])), np.diff(np.log(e[:-1]))[0])
    assert np.allclose(S.compute_grid("polyexponential", 12), e)  # rho 1 is exponential
    assert not np.allclose(S.compute_grid("polyexponential", 12, params={"rho": 2.0}), e)


def test_sigma_range_overrides():
    g = S.compute_grid("karras", 10, sigma_min=0.1, sigma_max=10.0)
    assert g[0] == pytest.approx(10.0) and g[-2] == pytest.approx(0.1)


@pytest.mark.parametrize("n", [4, 9, 30])
def test_uniform_normal_and_sgm_uniform_are_even_in_t(n):
    assert np.allclose(t_of(S.compute_grid("uniform", n)), np.linspace(999, 0, n))
    assert np.allclose(S.compute_grid("normal", n), S.compute_grid("uniform", n))
    assert np.allclose(t_of(S.compute_grid("sgm_uniform", n)), np.linspace(999, 0, n + 1)[:-1])


@pytest.mark.parametrize("n", DIVISORS_OF_1000)
def test_simple_and_turbo_are_trailing_and_ddim_is_leading_offset_1(n):
    trailing = S.compute_grid("trailing", n)
    assert np.array_equal(S.compute_grid("simple", n), trailing)
    assert np.array_equal(S.compute_grid("turbo", n), trailing)
    assert np.array_equal(S.compute_grid("ddim", n), S.compute_grid("leading", n, steps_offset=1))


def test_ddim_schedule_adds_points_when_1000_is_not_divisible():
    # every 142nd sigma from t=1: 1, 143, ..., 995 is 8 points for 7 steps (as A1111 ddim_scheduler does)
    g = S.compute_grid("ddim", 7)
    assert len(g) == 9 and list(np.round(t_of(g))) == [995.0 - 142 * i for i in range(8)]


def test_kl_optimal_is_even_in_arctan_and_ends_at_sigma_min():
    g = S.compute_grid("kl_optimal", 8)
    assert len(g) == 9 and g[-1] == pytest.approx(SD.sigma_min) and g[0] == pytest.approx(SD.sigma_max)
    assert np.allclose(np.diff(np.arctan(g)), np.diff(np.arctan(g))[0])


def test_beta_schedule_is_symmetric_for_equal_parameters():
    g = S.compute_grid("beta", 9)[:-1]
    u = (g - SD.sigma_min) / (SD.sigma_max - SD.sigma_min)
    assert g[0] == pytest.approx(SD.sigma_max) and g[-1] == pytest.approx(SD.sigma_min)
    assert np.allclose(u + u[::-1], 1.0)


def test_beta_quantile_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    for a, b in [(0.6, 0.6), (0.5, 0.7), (2.0, 5.0), (1.0, 1.0), (0.3, 3.0)]:
        for q in np.linspace(0, 1, 41):
            assert S.beta_ppf(float(q), a, b) == pytest.approx(stats.beta.ppf(q, a, b), abs=1e-10)
            assert S.beta_cdf(float(q), a, b) == pytest.approx(stats.beta.cdf(q, a, b), abs=1e-10)


@pytest.mark.parametrize("table_id", ["align_your_steps", "align_your_steps_gits", "align_your_steps_11",
                                      "align_your_steps_32"])
@pytest.mark.parametrize("arch", ["sd1", "sdxl"])
def test_align_your_steps_tables(table_id, arch):
    table = S.ays_tables()[table_id][arch]
    exact = S.compute_grid(table_id, len(table), architecture=arch)
    assert list(exact) == [*table, 0.0]  # a step count equal to the table length uses it as published
    for n in (4, 10, 20):
        g = S.compute_grid(table_id, n, architecture=arch)
        assert len(g) == n + 1 and g[0] == pytest.approx(table[0]) and g[-2] == pytest.approx(table[-1])
        # log-linear interpolation: each point lies on the table's log-sigma polyline
        xs = np.linspace(0, 1, len(table))
        assert np.allclose(np.log(g[:-1][::-1]), np.interp(np.linspace(0, 1, n), xs, np.log(table[::-1])))


def test_ays_tables_differ_per_architecture_and_unknown_arch_uses_sd1():
    assert not np.allclose(S.compute_grid("align_your_steps", 11, architecture="sdxl"),
                           S.compute_grid("align_your_steps", 11, architecture="sd1"))
    assert np.array_equal(S.compute_grid("align_your_steps", 11, architecture="flux"),
                          S.compute_grid("align_your_steps", 11))


def test_linear_quadratic():
    g = S.compute_grid("linear_quadratic", 10)
    assert len(g) == 11 and g[0] == pytest.approx(SD.sigma_max) and g[-1] == 0
    # the first half falls linearly to threshold_noise * sigma_max
    assert np.allclose(np.diff(g[:5]), -0.025 / 5 * SD.sigma_max)
    assert list(S.compute_grid("linear_quadratic", 1)) == pytest.approx([SD.sigma_max, 0.0])


@pytest.mark.parametrize(("spacing", "n", "offset", "expected"), [
    ("trailing", 4, 0, [999, 749, 499, 249]),
    ("leading", 4, 1, [751, 501, 251, 1]),
    ("leading", 4, 0, [750, 500, 250, 0]),
    ("linspace", 4, 0, [999, 666, 333, 0]),
    ("trailing", 1, 0, [999]),
    ("trailing", 3, 0, [999, 666, 332]),
])
def test_spacing_timesteps(spacing, n, offset, expected):
    assert list(S.spacing_timesteps(spacing, n, steps_offset=offset)) == expected


@pytest.mark.parametrize(("n", "expected"), [(4, [999, 759, 499, 259]), (1, [999]), (2, [999, 499])])
def test_lcm_timesteps(n, expected):
    assert list(S.lcm_timesteps(n)) == expected


def test_timesteps_of_sigma_grids_and_spacings():
    assert list(S.compute_timesteps("trailing", 4)) == [999, 749, 499, 249]
    assert np.allclose(S.compute_timesteps("simple", 4), [999, 749, 499, 249])
    assert np.allclose(S.compute_timesteps("sgm_uniform", 4), [999, 749.25, 499.5, 249.75])
    assert S.compute_timesteps("karras", 4, zero_terminal_snr=True)[0] == pytest.approx(999)


def test_flow_sigmas():
    assert np.allclose(S.flow_sigmas(4), [1.0, 0.667, 0.334, 0.001, 0.0])
    s = S.flow_sigmas(4, shift=3.0)
    low = 3 * 0.001 / (1 + 2 * 0.001)
    base = np.linspace(1.0, low, 4)
    assert np.allclose(s[:-1], 3 * base / (1 + 2 * base)) and s[-1] == 0
    assert S.time_shift_exponential(0.0, 1.0, 0.5) == pytest.approx(0.5)
    assert S.time_shift_exponential(math.log(3.0), 1.0, 0.5) == pytest.approx(0.75)


def test_sampler_grids_are_where_the_hosts_timestep_samplers_evaluate():
    assert S.compute_timesteps("ddim_timesteps", 4).tolist() == [751, 501, 251]
    assert S.compute_timesteps("unipc_timesteps", 4).tolist() == [999, 749.25, 499.5, 249.75]
    # at 3 steps the host's UniPC runs len(range(0, 1000, 333)) = 4 steps
    assert S.compute_timesteps("unipc_timesteps", 3).tolist() == [999, 749.25, 499.5, 249.75]
    with pytest.raises(S.ScheduleInputError):  # one DDIM step: the host's loop evaluates nothing
        S.compute_timesteps("ddim_timesteps", 1)
    assert not set(S.SAMPLER_GRIDS) & set(S.GRID_IDS)  # no schedule a user or recipe can name


def test_custom_betas_build_their_own_table():
    g = S.compute_grid("karras", 5, betas=S.make_betas("linear", beta_start=0.0001, beta_end=0.02))
    assert g[0] == pytest.approx(S.NoiseModel.from_betas(S.make_betas("linear", beta_start=0.0001,
                                                                        beta_end=0.02)).sigma_max)


def test_timestep_sampler_schedule():
    # the hosts' DDIM / PLMS evaluate range(0, 1000, 1000 // steps) + 1 without its first entry, UniPC its own
    # time_uniform grid (A1111 v1.10.1 sd_samplers_timesteps.py:94, sd_samplers_timesteps_impl.py:22-25, 176)
    assert S.timestep_sampler_schedule("DDIM") == "ddim_timesteps"
    assert S.timestep_sampler_schedule("plms") == "ddim_timesteps"
    assert S.timestep_sampler_schedule("UniPC") == "unipc_timesteps"
    assert S.timestep_sampler_schedule("TCDScheduler") == "lcm"
    assert S.timestep_sampler_schedule("Euler") is None


@pytest.mark.parametrize("rho", [0.0, 1e-9, 0.001, -1.0, 1e300, float("nan")])
def test_karras_rho_the_maths_cannot_take_is_a_typed_error(rho):
    rule = {"name": "Karras", "grid": {"kind": "rule", "rule": "karras", "params": {"rho": rho}}, "canonical_steps": 4}
    with pytest.raises(S.ScheduleParamError) as info:
        S.classify_grid(Scheduler.unchecked(rule), "karras", 4)
    assert isinstance(info.value, IgaInvalid) and "rho" in info.value.message and info.value.hint
    with pytest.raises(S.ScheduleParamError):
        S.compute_grid("karras", 4, params={"rho": rho})


@pytest.mark.parametrize(
    ("schedule", "params"),
    [("linear_quadratic", {"linear_steps": 4}), ("linear_quadratic", {"threshold_noise": 0}),
     ("beta", {"alpha": 0}), ("polyexponential", {"rho": 0})],
)
def test_other_params_the_maths_cannot_take_are_typed_errors(schedule, params):
    with pytest.raises(S.ScheduleParamError):
        S.compute_grid(schedule, 4, params=params)


def test_an_overflowing_sigma_range_is_a_typed_error_not_an_overflow():
    with pytest.raises(S.ScheduleInputError, match="cannot be computed"):
        S.compute_grid("karras", 4, sigma_max=1e300, params={"rho": 0.05})
