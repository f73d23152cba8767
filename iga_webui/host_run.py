"""What the host will actually run, read from the host's own code at run time (host-api.md §5, §7).

- `executed(p, hires=...)`: the sigmas (k-diffusion samplers) or timesteps (DDIM, DDIM CFG++, PLMS, UniPC)
  the host hands its sampling function, computed by the host's sampler for the loaded model:
  `sd_samplers.create_sampler` (A sd_samplers.py:33-44), `KDiffusionSampler.get_sigmas` (A
  sd_samplers_kdiffusion.py:77-126, F 81-134), `CompVisSampler.get_timesteps` (A sd_samplers_timesteps.py:84-94),
  img2img / hires steps by `sd_samplers_common.setup_img2img_steps` and the slice the host takes (A
  sd_samplers_kdiffusion.py:134-137, sd_samplers_timesteps.py:97-100). Where the model is evaluated comes from
  the sampler's own model wrapper (`model_wrap.sigma_to_t`: k-diffusion's on A, Forge's predictor, LCM's
  50-step table), from the timestep loop (A sd_samplers_timesteps_impl.py:21-23: timesteps[len-1] .. [1]) and,
  for UniPC, from the host's UniPC time grid (A sd_samplers_timesteps_impl.py:145-165, uni_pc.py:459-474, 746-757).
- `model_facts(sd_model)`: the parameterization, noise schedule and architecture the host uses for the loaded
  checkpoint (A: `sd_model.parameterization` from its config, `opts.sd_noise_schedule`; F: the predictor's
  `prediction_type`, `opts.sd_noise_schedule` or the checkpoint's `ztsnr` key, F processing.py:985).

Both are read-only: the sampler is asked through a view of `p` with its own `extra_generation_params`, so
asking leaves the infotext as the host writes it.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from iga_core.guard import ExecutedSchedule
from iga_webui import host

ZTSNR = "Zero Terminal SNR"  # the opts.sd_noise_schedule choice (A shared_options.py:406, F 415)
#: timestep samplers whose loop evaluates timesteps[len-1] .. timesteps[1] (A sd_samplers_timesteps_impl.py)
_LOOP_SAMPLERS = ("DDIM", "DDIM CFG++", "PLMS")
_PREDICTION = {"eps": "eps", "epsilon": "eps", "v": "v", "v_prediction": "v", "const": "flow", "edm": "eps"}


class _PassView:
    """`p` as the host's sampler sees it for one pass, with a private `extra_generation_params`."""

    def __init__(self, p: Any, hires: bool) -> None:
        self._p = p
        self.is_hr_pass = hires
        self.extra_generation_params = {}
        # A processing.py:1277-1278 fills hr_scheduler in init(), which runs after process()
        hr = getattr(p, "hr_scheduler", None)
        self.hr_scheduler = hr if hr is not None else getattr(p, "scheduler", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._p, name)


def pass_sampler_name(p: Any, hires: bool) -> str:
    """The name the host creates the pass's sampler with (A processing.py:1308, 1384)."""
    return (getattr(p, "hr_sampler_name", None) or p.sampler_name) if hires else p.sampler_name


def _floats(t) -> list[float]:
    return [float(v) for v in t.reshape(-1).tolist()]


def executed(p: Any, *, hires: bool = False, sampler: Any = None) -> ExecutedSchedule:
    """The schedule the host will run for the first pass (or the hires pass) of `p`."""
    from modules import sd_samplers, sd_samplers_common

    if sampler is None:
        sampler = sd_samplers.create_sampler(pass_sampler_name(p, hires), p.sd_model)
    view = _PassView(p, hires)
    img2img = hires or hasattr(p, "init_images")
    name = getattr(getattr(sampler, "config", None), "name", "?")
    source = f"{host.dialect()} {type(sampler).__name__} ({name})"
    steps = (getattr(p, "hr_second_pass_steps", 0) or p.steps) if hires else None
    if hasattr(sampler, "get_sigmas"):
        if img2img:
            total, t_enc = sd_samplers_common.setup_img2img_steps(view, steps)
            sigmas = sampler.get_sigmas(view, total)[total - t_enc - 1:]
        else:
            sigmas = sampler.get_sigmas(view, p.steps)
        if not _takes_sigmas(sampler.func):
            # DPM fast / adaptive: sigma_min, sigma_max (and n) only (A sd_samplers_kdiffusion.py:205-210)
            wrap = sampler.model_wrap.sigmas
            return ExecutedSchedule("sigma_range", (float(wrap[-1]), float(wrap[0])), (), "host", source)
        evaluated = sampler.model_wrap.sigma_to_t(sigmas[:-1].to(sampler.model_wrap.sigmas.device))
        return ExecutedSchedule("sigmas", _floats(sigmas), _floats(evaluated), "host", source)
    if img2img:
        total, t_enc = sd_samplers_common.setup_img2img_steps(view, steps)
        timesteps = sampler.get_timesteps(view, total)[:t_enc]
    else:
        timesteps = sampler.get_timesteps(view, p.steps)
    given = _floats(timesteps)
    if name == "UniPC":
        evaluated = _unipc_times(p.sd_model, timesteps, img2img)
    else:
        evaluated = given[1:][::-1] if name in _LOOP_SAMPLERS else given[::-1]
    return ExecutedSchedule("timesteps", given, evaluated, "host", source)


@functools.lru_cache(maxsize=64)
def _takes_sigmas(func: Any) -> bool:
    """Whether a k-diffusion sampling function takes the sigmas (its signature, read once per function)."""
    return "sigmas" in inspect.signature(func).parameters


def _unipc_times(sd_model: Any, timesteps, img2img: bool) -> list[float]:
    """Where the host's UniPC evaluates the model: its time grid over `len(timesteps)` steps, as model input
    times (t - 1/N) * 1000 (A sd_samplers_timesteps_impl.py:139-140, 145-165)."""
    from modules.models.diffusion.uni_pc import uni_pc
    from modules.shared import opts

    alphas = getattr(sd_model, "alphas_cumprod", None)
    if alphas is None:  # F sd_samplers_timesteps.py:31: derived from the predictor's sigmas
        alphas = 1.0 / (sd_model.forge_objects.unet.model.predictor.sigmas ** 2.0 + 1.0)
    ns = uni_pc.NoiseScheduleVP("discrete", alphas_cumprod=alphas)
    t_start = float(timesteps[-1]) / 1000 + 1 / 1000 if img2img else None
    solver = uni_pc.UniPC(None, ns, predict_x0=True, thresholding=False, variant=opts.uni_pc_variant)
    n = len(timesteps)
    t_0, t_T = 1.0 / ns.total_N, ns.T if t_start is None else t_start
    times = solver.get_time_steps(skip_type=opts.uni_pc_skip_type, t_T=t_T, t_0=t_0, N=n, device="cpu")
    return [(float(t) - 1.0 / ns.total_N) * 1000.0 for t in times[:n]]


def model_facts(sd_model: Any) -> dict:
    """{"prediction_type", "zero_terminal_snr", "architecture", "source"} of the model the host will sample."""
    from modules.shared import opts

    ztsnr = getattr(opts, "sd_noise_schedule", "Default") == ZTSNR
    if host.is_forge():
        predictor = sd_model.forge_objects.unet.model.predictor
        prediction = _PREDICTION.get(getattr(predictor, "prediction_type", None))
        ztsnr = ztsnr or bool(getattr(getattr(sd_model, "model_config", None), "ztsnr", False))
        source = "forge predictor"
    else:
        prediction = _PREDICTION.get(getattr(sd_model, "parameterization", None))
        source = "a1111 model config"
    return {"prediction_type": prediction, "zero_terminal_snr": ztsnr, "architecture": architecture(sd_model),
            "source": source}


def architecture(sd_model: Any) -> str | None:
    """From the host's model flags (A sd_models.py:379-401, F backend/diffusion_engine/base.py:63-67)."""
    for flag, name in (("is_flux", "flux"), ("is_sd3", "sd3"), ("is_sdxl", "sdxl"), ("is_sd2", "sd2"),
                       ("is_sd1", "sd1")):
        if getattr(sd_model, flag, False) is True:
            return name
    return None


def remedy(finding_rule: str, facts: dict, checkpoint_file: str | None, wanted: Any) -> str | None:
    """The setting or file that fixes a model-fact finding on this host."""
    stem = (checkpoint_file or "<checkpoint>").rsplit(".", 1)[0]
    if finding_rule == "IGA-H003":
        if wanted == "v":
            return (f"put {stem}.yaml (model.params.parameterization: \"v\") beside the checkpoint and reload it"
                    + ("; Forge also reads a `v_pred` key in the checkpoint" if host.is_forge() else ""))
        return f"remove the v-prediction config ({stem}.yaml) beside the checkpoint and reload it"
    if finding_rule == "IGA-H007":
        return (f"Settings → Sampler parameters → Noise schedule for sampling: "
                f"{ZTSNR if wanted else 'Default'} (IGA sets it per request when auto-apply is on)")
    return None
