"""What the host will actually run, read from the host's own code at run time (host-api.md §5, §7).

- `executed(p, hires=...)`: the sigmas (k-diffusion samplers) or timesteps (DDIM, DDIM CFG++, PLMS, UniPC)
  the host hands its sampling function, computed by the host's sampler for the loaded model:
  `sd_samplers.create_sampler` (A sd_samplers.py:33-44), `KDiffusionSampler.get_sigmas` (A
  sd_samplers_kdiffusion.py:79-132, F 81-134), `CompVisSampler.get_timesteps` (A sd_samplers_timesteps.py:86-96, F 62-72),
  img2img / hires steps by `sd_samplers_common.setup_img2img_steps` and the slice the host takes (A
  sd_samplers_kdiffusion.py:134-138, sd_samplers_timesteps.py:98-102; F 136-143, 74-83). Where the model is evaluated comes from
  the sampler's own model wrapper (`model_wrap.sigma_to_t`: k-diffusion's on A, Forge's predictor, LCM's
  50-step table), from the timestep loop (A sd_samplers_timesteps_impl.py:22-25: timesteps[len-1] .. [1]) and,
  for UniPC, from the host's UniPC time grid (A sd_samplers_timesteps_impl.py:159-160, 170-176, uni_pc.py:459-474, 746-757).
- `model_facts(sd_model, p)`: the parameterization, noise schedule and architecture the host uses for the
  loaded checkpoint, read by this host's variant of `iga_webui.forks.prediction` / `.architecture` (A:
  `sd_model.parameterization` from its config, `opts.sd_noise_schedule`; Forge and Neo: the predictor's
  `prediction_type`, `opts.sd_noise_schedule` or the checkpoint's `ztsnr` key, F processing.py:985; Forge
  Classic and reForge: the ldm_patched `model_sampling` class and `sd_model.ztsnr`; docs/hosts.md §4).

Both are read-only: the sampler is asked through a view of `p` with its own `extra_generation_params`, so
asking leaves the infotext as the host writes it.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
from typing import Any

from iga_core.guard import ExecutedSchedule, HostFacts, host_settings
from iga_core.guard.host_settings import NOISE_SCHEDULE_OPTION
from iga_webui import host

log = logging.getLogger("iga")

#: timestep samplers whose loop evaluates timesteps[len-1] .. timesteps[1] (A sd_samplers_timesteps_impl.py)
_LOOP_SAMPLERS = ("DDIM", "DDIM CFG++", "PLMS")


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
    source = f"{host.profile().key} {type(sampler).__name__} ({name})"
    steps = (getattr(p, "hr_second_pass_steps", 0) or p.steps) if hires else None
    if hasattr(sampler, "get_sigmas"):
        if img2img:
            total, t_enc = sd_samplers_common.setup_img2img_steps(view, steps)
            sigmas = sampler.get_sigmas(view, total)[total - t_enc - 1:]
        else:
            sigmas = sampler.get_sigmas(view, p.steps)
        if not _takes_sigmas(sampler.func):
            # DPM fast / adaptive: sigma_min, sigma_max (and n) only (A sd_samplers_kdiffusion.py:204-210, F 212-218)
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


#: the options the hosts' sampler code reads while it computes a schedule: A sd_samplers_kdiffusion.py:55-62
#: (quantize), 79-132 (discard, old Karras sigmas, sigma min/max, rho, Beta's alpha/beta),
#: sd_samplers_common.py:22-31 (img2img_fix_steps), UniPC's variant / skip type (`_unipc_times`), and the
#: noise schedule and alpha downcast that set the model's table (A sd_models.py:650-667)
SCHEDULE_OPTIONS = ("always_discard_next_to_last_sigma", "use_old_karras_scheduler_sigmas", "sigma_min", "sigma_max",
                    "rho", "beta_dist_alpha", "beta_dist_beta", "enable_quantization", "img2img_fix_steps",
                    "uni_pc_variant", "uni_pc_skip_type", "sd_noise_schedule", "use_downcasted_alpha_bar")


class _Same:
    """An object compared by identity (and, for a tensor, its in-place version counter)."""

    __slots__ = ("obj", "version")

    def __init__(self, obj: Any) -> None:
        try:
            version = getattr(obj, "_version", None)
        except RuntimeError:  # an inference-mode tensor (Forge builds its predictor's sigmas so) has no
            version = None  # version counter; it cannot be changed in place outside inference mode either
        self.obj, self.version = obj, version

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj and other.version == self.version

    def __hash__(self) -> int:
        return id(self.obj)


def inputs_key(p: Any, hires: bool) -> tuple:
    """Everything the host's sampler reads to compute a pass's schedule: `p`'s sampler fields, the model and
    its noise table (A `alphas_cumprod`, F the predictor's sigmas, which the noise-schedule override swaps
    right before p.sample, A processing.py:985 / F 985-996) and the options above. Equal keys give equal
    schedules, so the hand-over check reuses what process() asked."""
    from modules.shared import opts

    model = getattr(p, "sd_model", None)
    table = getattr(model, "alphas_cumprod", None)
    if table is None and host.is_forge():
        table = getattr(getattr(getattr(getattr(model, "forge_objects", None), "unet", None), "model", None), "predictor", None)
        table = getattr(table, "sigmas", None)
    fields = ("sampler_name", "scheduler", "steps", "hr_sampler_name", "hr_scheduler", "hr_second_pass_steps",
              "denoising_strength", "sampler_noise_scheduler_override")
    return (hires, hasattr(p, "init_images"), tuple(_Same(getattr(p, f, None)) if f.endswith("override")
                                                     else getattr(p, f, None) for f in fields),
            _Same(model), _Same(table), _option_values(opts))


def _option_values(opts: Any) -> tuple:
    """SCHEDULE_OPTIONS' values for a memo key. The hosts' `Options` keep what is set in the `data` dict and
    answer the rest from `data_labels` defaults, which never change (A options.py:85-260,
    `Options.__getattr__`); so the dict's values, read in one C call, change exactly when an option does (an
    option set to its default reads as a change: one more question to the host, never a stale answer)."""
    data = getattr(opts, "data", None)
    if type(data) is dict:
        return tuple(map(data.get, SCHEDULE_OPTIONS))
    return tuple(getattr(opts, k, None) for k in SCHEDULE_OPTIONS)


def executed_or_error(p: Any, *, hires: bool = False, memo: dict | None = None
                      ) -> tuple[ExecutedSchedule | None, str | None]:
    """`executed`, or (None, why) when the host's own sampler code raises computing it: the host will raise
    the same when it samples (e.g. DDIM / PLMS / UniPC on a hires pass at denoising strength 0 divide by zero
    steps, A sd_samplers_timesteps.py:94), so the pass is judged on iga's model of it instead of leaving
    the whole generation unchecked. With `memo` (one per generation), a pass whose `inputs_key` is unchanged
    is not asked again."""
    key = None
    if memo is not None:
        try:
            key = inputs_key(p, hires)
        except Exception:  # an object the key cannot read (the hosts' tensors vary): ask the host every time
            log.debug("[IGA] no memo key for this pass", exc_info=True)
            memo = None
    if memo is not None and hires in memo and memo[hires][0] == key:
        return memo[hires][1]
    try:
        result = executed(p, hires=hires), None
    except Exception as exc:  # the host's code, not ours: any error it raises is the host's to report
        result = None, f"{type(exc).__name__}: {exc}"
    if memo is not None:
        memo[hires] = (key, result)
    return result


def _unipc_times(sd_model: Any, timesteps, img2img: bool) -> list[float]:
    """Where the host's UniPC evaluates the model: its time grid over `len(timesteps)` steps, as model input
    times (t - 1/N) * 1000 (A sd_samplers_timesteps_impl.py:159-160, 170-176). No timesteps (an img2img or
    hires pass whose `setup_img2img_steps` gives t_enc 0: one step, A sd_samplers_common.py:22-31) is no
    evaluation; the host's `unipc` then fails on `timesteps[-1]` (A sd_samplers_timesteps_impl.py:174)."""
    from modules.models.diffusion.uni_pc import uni_pc
    from modules.shared import opts

    if not len(timesteps):
        return []
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


def model_facts(sd_model: Any, p: Any = None, *, noise_schedule: str | None = None) -> dict:
    """{"prediction_type", "zero_terminal_snr", "architecture", "source"} of the model the host will sample, and
    "prediction_set_by" when something other than the checkpoint set its prediction type (forks/prediction.py),
    read where this host keeps them (`iga_webui.forks.prediction`, `.architecture`: A1111's model config,
    Forge's and Neo's predictor, Forge Classic's and reForge's ldm_patched model_sampling). `noise_schedule`:
    the value of the host's noise-schedule option to assume (what Generate will set for the request, for a
    check made before it); None: the option as it is now."""
    from modules.shared import opts

    reader = host.glue("prediction")
    option = noise_schedule if noise_schedule is not None else getattr(opts, NOISE_SCHEDULE_OPTION, "Default")
    setting = option == host_settings.noise_schedule(host.dialect(), True)
    facts = {"prediction_type": reader.prediction(sd_model, p),
             "zero_terminal_snr": reader.zero_terminal_snr(sd_model, setting, p),
             "architecture": architecture(sd_model), "source": reader.source}
    set_by = reader.set_by(sd_model, p)
    if set_by is not None:  # not the checkpoint: reForge's Advanced Model Sampling, or its patch left over
        facts["prediction_set_by"] = set_by
    return facts


def host_facts(facts: dict | None, *, later: tuple[str, ...] = ()) -> HostFacts:
    """`model_facts`'s answer (None: not read) as the guard's `HostFacts`, with this host's key: the one
    shape Generate, the panel and POST /iga/v1/check hand the judge."""
    model = {k: v for k, v in (facts or {}).items() if k in HostFacts.FIELDS or k == "source"}
    return HostFacts(host=host.profile().key, loaded=facts is not None, later=later, **model)


#: what no check before Generate can know, whatever the host: the sampler is created inside the generation
EXECUTED_LATER = ("the sigmas or timesteps the host's sampler will run (the sampler is created at Generate; "
                  "until then the live verdict judges IGA's own model of the schedule)")


def _same_file(a: Any, b: Any) -> bool:
    return a is not None and b is not None and os.path.normcase(os.path.realpath(str(a))) == \
        os.path.normcase(os.path.realpath(str(b)))


def loaded_facts(checkpoint_file: str | None, *, noise_schedule: str | None = None) -> HostFacts:
    """The host facts of `checkpoint_file` for a check made before Generate (the panel's live verdict, POST
    /iga/v1/check): `model_facts` of the model the host has loaded -- the reader Generate's request is built
    with -- when that model is this checkpoint. A checkpoint the host has not loaded (Forge and Neo load at
    Generate, F processing.py:829-836; another file than the loaded one) gets only the host's key, and
    `later` says that its prediction type, noise schedule and architecture are read when it is loaded."""
    later = (EXECUTED_LATER, *host.glue("prediction").read_at_generate)
    model = host.loaded_model()
    info = getattr(model, "sd_checkpoint_info", None)
    if not _same_file(getattr(info, "filename", None), checkpoint_file):
        what = os.path.basename(str(checkpoint_file)) if checkpoint_file else "a recipe that names no checkpoint"
        return host_facts(None, later=(f"the prediction type, noise schedule and architecture the host reads from "
                                       f"{what}: it is not the loaded model, and the host reads them when "
                                       f"Generate loads it", *later))
    try:
        facts = model_facts(model, None, noise_schedule=noise_schedule)
    except Exception as exc:  # the host's model object, not ours: say what could not be read
        log.debug("[IGA] the loaded model's facts could not be read", exc_info=True)
        return host_facts(None, later=(f"the loaded model's prediction type, noise schedule and architecture "
                                       f"(reading them failed: {type(exc).__name__}: {exc})", *later))
    return host_facts(facts, later=later)


def architecture(sd_model: Any) -> str | None:
    """From the host's model (`iga_webui.forks.architecture`: A sd_models.py:379-401 flags; Forge's and Neo's
    engine class, F backend/diffusion_engine/base.py:55-67)."""
    return host.glue("architecture").of(sd_model)
