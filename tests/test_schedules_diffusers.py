"""Cross-check the numpy grids against diffusers' schedulers (installed for tests only; the core never
imports it). diffusers works in float32, hence the tolerances."""

from __future__ import annotations

import numpy as np
import pytest

from iga_core import schedules as S

diffusers = pytest.importorskip("diffusers")
pytestmark = pytest.mark.eval

SD_KW = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear"}
# one step is degenerate in EulerDiscreteScheduler (linspace(0, 999, 1) == [0]; karras divides by n - 1)
STEPS = [2, 4, 7, 10, 25, 30, 50]


def euler(n, **config):
    s = diffusers.EulerDiscreteScheduler(**SD_KW, **config)
    s.set_timesteps(n)
    return s


@pytest.mark.parametrize("n", STEPS)
@pytest.mark.parametrize(("flag", "grid_id"), [("use_karras_sigmas", "karras"),
                                               ("use_exponential_sigmas", "exponential"),
                                               ("use_beta_sigmas", "beta")])
def test_sigma_schedules_match_euler_discrete(n, flag, grid_id):
    theirs = euler(n, **{flag: True}).sigmas.numpy()
    assert np.allclose(S.compute_grid(grid_id, n), theirs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("n", STEPS)
@pytest.mark.parametrize(("spacing", "grid_id", "offset"), [("trailing", "trailing", 0), ("leading", "leading", 1),
                                                            ("linspace", "uniform", 0)])
def test_timestep_spacings_match_euler_discrete_sigmas(n, spacing, grid_id, offset):
    theirs = euler(n, timestep_spacing=spacing, steps_offset=offset).sigmas.numpy()
    ours = S.compute_grid(grid_id, n, steps_offset=offset)
    # "uniform" interpolates log sigma (k-diffusion), diffusers' linspace interpolates sigma: 1e-4 apart
    assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("n", [*STEPS, 1, 3, 6, 9, 33, 999])
@pytest.mark.parametrize(("spacing", "offset"), [("trailing", 0), ("leading", 0), ("leading", 1), ("linspace", 0)])
def test_spacing_timesteps_match_ddim(n, spacing, offset):
    s = diffusers.DDIMScheduler(**SD_KW, timestep_spacing=spacing, steps_offset=offset)
    s.set_timesteps(n)
    assert list(S.spacing_timesteps(spacing, n, steps_offset=offset)) == s.timesteps.tolist()


@pytest.mark.parametrize("n", [1, 2, 3, 4, 6, 8, 16, 50])
def test_lcm_timesteps_match_lcm_scheduler(n):
    s = diffusers.LCMScheduler(**SD_KW)
    s.set_timesteps(n)
    assert list(S.lcm_timesteps(n)) == s.timesteps.tolist()


@pytest.mark.parametrize("shift", [1.0, 3.0])
@pytest.mark.parametrize("n", [1, 4, 28])
def test_flow_sigmas_match_flow_match_euler(shift, n):
    s = diffusers.FlowMatchEulerDiscreteScheduler(shift=shift)
    s.set_timesteps(n)
    assert np.allclose(S.flow_sigmas(n, shift=shift), s.sigmas.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("schedule", ["linear", "scaled_linear", "squaredcos_cap_v2"])
def test_betas_and_alphas_match_ddpm(schedule):
    s = diffusers.DDPMScheduler(beta_schedule=schedule, beta_start=0.00085, beta_end=0.012)
    assert np.allclose(S.make_betas(schedule), s.betas.numpy(), rtol=1e-5, atol=1e-7)
    assert np.allclose(S.alphas_cumprod(S.make_betas(schedule)), s.alphas_cumprod.numpy(), rtol=1e-4)


def test_sd_sigma_table_matches_euler():
    s = diffusers.EulerDiscreteScheduler(**SD_KW)
    table = ((1 - s.alphas_cumprod) / s.alphas_cumprod).sqrt().numpy()
    assert np.allclose(S.NoiseModel.sd().sigmas, table, rtol=1e-4)  # diffusers keeps alphas in float32


def test_zero_terminal_snr_matches_diffusers_except_the_kept_last_value():
    s = diffusers.DDIMScheduler(**SD_KW, rescale_betas_zero_snr=True)
    ours = S.rescale_zero_terminal_snr(S.alphas_cumprod(S.make_betas()))
    theirs = s.alphas_cumprod.numpy()
    assert theirs[-1] == 0.0 and ours[-1] > 0
    assert np.allclose(ours[:-1], theirs[:-1], rtol=1e-4, atol=1e-8)


def test_trailing_grid_for_ztsnr_starts_at_the_terminal_timestep():
    s = diffusers.DDIMScheduler(**SD_KW, rescale_betas_zero_snr=True, timestep_spacing="trailing")
    s.set_timesteps(4)
    assert s.timesteps.tolist()[0] == 999 == S.spacing_timesteps("trailing", 4)[0]
