"""The host-faithful baseline: AUTOMATIC1111 v1.10.1's samplers and schedules, run as that host runs them,
on the evaluation models (`train.py`). Written from the host's code; every step cites where it comes from
(A = AUTOMATIC1111 v1.10.1, `modules/...`):

- model wrapper: k-diffusion's `CompVisDenoiser` / `CompVisVDenoiser` over the model (A sd_samplers_kdiffusion.py:
  51-63), `quantize` = opts.enable_quantization, default False;
- CFG: cond and uncond in one batch, combined on the denoised output, `uncond + (cond - uncond) * scale`
  (A sd_samplers_cfg_denoiser.py `combine_denoised`); timestep samplers combine the eps the same way;
- sigmas: `KDiffusionSampler.get_sigmas` (A sd_samplers_kdiffusion.py:77-126): Automatic -> the sampler's
  `scheduler` option, or the wrapper's own `get_sigmas(n)`; the schedule functions of A sd_schedulers.py
  (Uniform, Karras, Exponential, Polyexponential, SGM Uniform, KL Optimal, Align Your Steps (SD 1.5 sigmas),
  Simple, Normal, DDIM, Beta (alpha = beta = 0.6, the opts defaults)); one more step and the next-to-last
  sigma dropped for DPM2, DPM2 a and DPM++ 3M SDE (`discard_next_to_last_sigma`);
- sampling: the `k-diffusion` package's `sample_*` functions (A sd_samplers_kdiffusion.py:11-27), started from
  per-image noise x sigmas[0] (A 187-194); eta = opts.eta_ancestral = 1 where a function takes eta (A 160-165);
  per-image noise for ancestral steps (A's TorchHijack over `k_diffusion.sampling.torch`) and per-image
  `BrownianTreeNoiseSampler`s for the Brownian samplers (A sd_samplers_kdiffusion.py:137-146); DPM fast and DPM
  adaptive get sigma_min / sigma_max of the wrapper and n = steps (A 205-210); Restart with its automatic
  restart list (A sd_samplers_extra.py);
- LCM: the 50-timestep `LCMCompVisDenoiser` table and `sample_lcm` (A sd_samplers_lcm.py:9-76);
- DDIM, DDIM CFG++, PLMS: timesteps `clip(range(0, 1000, 1000 // steps) + 1, 0, 999)` (A sd_samplers_timesteps.py:
  84-94), the loop over timesteps[len-1] .. timesteps[1] with eta_ddim = 0 and CFG++'s scale / 12.5 and uncond
  direction (A sd_samplers_timesteps_impl.py), from unit-variance noise.

UniPC (A's own port of UniPC, modules/models/diffusion/uni_pc) is not reproduced: it is not in `SAMPLERS`.
Every call returns the images and the `ExecutedSchedule` (what the guard is shown, and what the report records).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import inspect
import itertools
import math
import sys
import types
from dataclasses import dataclass

import numpy as np
import torch

from iga_core.eval.errors import EvalConfigInvalid, EvalUnavailable

#: A1111 v1.10.1's sampler list (A sd_samplers_kdiffusion.py:11-27, sd_samplers_timesteps.py:11-16,
#: sd_samplers_lcm.py:100) without UniPC: (name, function, options)
SAMPLERS = {
    "DPM++ 2M": ("sample_dpmpp_2m", {"scheduler": "karras"}),
    "DPM++ SDE": ("sample_dpmpp_sde", {"scheduler": "karras", "brownian_noise": True}),
    "DPM++ 2M SDE": ("sample_dpmpp_2m_sde", {"scheduler": "exponential", "brownian_noise": True}),
    "DPM++ 2M SDE Heun": ("sample_dpmpp_2m_sde", {"scheduler": "exponential", "brownian_noise": True,
                                                  "solver_type": "heun"}),
    "DPM++ 2S a": ("sample_dpmpp_2s_ancestral", {"scheduler": "karras"}),
    "DPM++ 3M SDE": ("sample_dpmpp_3m_sde", {"scheduler": "exponential", "discard_next_to_last_sigma": True,
                                             "brownian_noise": True}),
    "Euler a": ("sample_euler_ancestral", {}),
    "Euler": ("sample_euler", {}),
    "LMS": ("sample_lms", {}),
    "Heun": ("sample_heun", {}),
    "DPM2": ("sample_dpm_2", {"scheduler": "karras", "discard_next_to_last_sigma": True}),
    "DPM2 a": ("sample_dpm_2_ancestral", {"scheduler": "karras", "discard_next_to_last_sigma": True}),
    "DPM fast": ("sample_dpm_fast", {}),
    "DPM adaptive": ("sample_dpm_adaptive", {}),
    "Restart": ("restart", {"scheduler": "karras"}),
    "DDIM": ("ddim", {"timesteps": True}),
    "DDIM CFG++": ("ddim_cfgpp", {"timesteps": True}),
    "PLMS": ("plms", {"timesteps": True}),
    "LCM": ("lcm", {}),
}
#: A sd_schedulers.py:143-156, in the host's order
SCHEDULES = ("Automatic", "Uniform", "Karras", "Exponential", "Polyexponential", "SGM Uniform", "KL Optimal",
             "Align Your Steps", "Simple", "Normal", "DDIM", "Beta")
NOT_REPRODUCED = {"UniPC": "A1111's own UniPC port (modules/models/diffusion/uni_pc) is not reproduced here"}
#: A sd_schedulers.py get_align_your_steps_sigmas, SD 1.5 values (the models are not SDXL)
AYS_SD15 = [14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029]
BETA_ALPHA = BETA_BETA = 0.6  # A shared_options.py beta_dist_alpha / beta_dist_beta defaults


def k_diffusion():
    """The `k-diffusion` package's sampling and external modules, loaded without its `__init__` (which imports
    its training stack: scikit-image, clean-fid, ...), as the hosts' code imports them; torchvision, which
    only its image helpers use, gets an empty stand-in when absent."""
    if "k_diffusion.sampling" in sys.modules:
        return sys.modules["k_diffusion.sampling"], sys.modules["k_diffusion.external"]
    spec = importlib.util.find_spec("k_diffusion")
    if spec is None or not spec.submodule_search_locations:
        raise EvalUnavailable("the host-faithful baseline needs the k-diffusion package",
                              "pip install --no-deps k-diffusion==0.1.1.post1 torchsde torchdiffeq")
    if importlib.util.find_spec("torchvision") is None and "torchvision" not in sys.modules:
        tv, tr, fn = (types.ModuleType(n) for n in ("torchvision", "torchvision.transforms",
                                                     "torchvision.transforms.functional"))
        tv.__path__, tr.__path__ = [], []
        tv.transforms, tr.functional = tr, fn
        sys.modules.update({"torchvision": tv, "torchvision.transforms": tr, "torchvision.transforms.functional": fn})
    if "k_diffusion" not in sys.modules:
        pkg = types.ModuleType("k_diffusion")
        pkg.__path__ = list(spec.submodule_search_locations)
        pkg.__spec__ = importlib.machinery.ModuleSpec("k_diffusion", None, is_package=True)
        pkg.__spec__.submodule_search_locations = pkg.__path__
        sys.modules["k_diffusion"] = pkg
    for name in ("utils", "sampling", "external"):
        setattr(sys.modules["k_diffusion"], name, importlib.import_module(f"k_diffusion.{name}"))
    return sys.modules["k_diffusion.sampling"], sys.modules["k_diffusion.external"]


class CompVisModel(torch.nn.Module):
    """What the k-diffusion wrappers read of an ldm model: `alphas_cumprod` and `apply_model(x, t, cond)`."""

    def __init__(self, unet, alphas_cumprod: torch.Tensor) -> None:
        super().__init__()
        self.unet = unet
        self.register_buffer("alphas_cumprod", alphas_cumprod.to(torch.float32))

    def apply_model(self, x, t, cond):
        return self.unet(x.float(), t.float(), class_labels=cond).sample


class CfgDenoiser:
    """The host's CFGDenoiser: cond and uncond in one batch, combined on the denoised output (k samplers)."""

    def __init__(self, wrap, labels: torch.Tensor, null: int, cfg: float) -> None:
        self.wrap, self.labels, self.null, self.cfg = wrap, labels, null, cfg
        self.calls = 0

    def __call__(self, x, sigma, **_):
        self.calls += 1
        if self.cfg == 1.0:  # A: uncond still runs, and the combination is the cond result exactly
            return self.wrap(x, sigma, cond=self.labels)
        out = self.wrap(torch.cat([x, x]), torch.cat([sigma, sigma]),
                        cond=torch.cat([self.labels, torch.full_like(self.labels, self.null)]))
        cond, uncond = out.chunk(2)
        return uncond + (cond - uncond) * self.cfg


class _Wrap:
    """The k-diffusion wrapper called with `cond=` (CompVisDenoiser passes extra kwargs to apply_model)."""

    def __init__(self, kd_wrap) -> None:
        self.kd = kd_wrap

    def __call__(self, x, sigma, cond):
        return self.kd(x, sigma, cond=cond)


class LcmDenoiser:
    """A sd_samplers_lcm.py:9-48: an eps wrapper over 50 of the 1000 training timesteps (every 20th from 999)."""

    def __init__(self, external, model: CompVisModel, prediction: str) -> None:
        timesteps, original = 1000, 50
        self.skip = timesteps // original
        acp = model.alphas_cumprod
        valid = torch.zeros(original, dtype=torch.float32)
        for x in range(original):
            valid[original - 1 - x] = acp[timesteps - 1 - x * self.skip]
        base = external.DiscreteEpsDDPMDenoiser if prediction == "eps" else external.DiscreteVDDPMDenoiser
        outer = self

        class Inner(base):
            def sigma_to_t(self, sigma, quantize=None):
                dists = sigma.log() - self.log_sigmas[:, None]
                return dists.abs().argmin(dim=0).view(sigma.shape) * outer.skip + (outer.skip - 1)

            def t_to_sigma(self, t):
                t = torch.clamp(((t - (outer.skip - 1)) / outer.skip).float(), min=0, max=len(self.sigmas) - 1)
                return super().t_to_sigma(t)

            def get_sigmas(self, n=None):
                if n is None:
                    return torch.cat([self.sigmas.flip(0), self.sigmas.new_zeros([1])])
                start, end = self.sigma_to_t(self.sigma_max), self.sigma_to_t(self.sigma_min)
                t = torch.linspace(float(start), float(end), n)
                return torch.cat([self.t_to_sigma(t), torch.zeros(1)])

        self.kd = Inner(lambda x, t, cond: model.apply_model(x, t, cond), valid, quantize=None)


# --- A sd_schedulers.py, written out -------------------------------------------------------------------


def _sigmas_for(schedule: str, n: int, wrap, sampling) -> torch.Tensor:
    smin, smax = float(wrap.sigmas[0]), float(wrap.sigmas[-1])
    if schedule == "Uniform":
        return wrap.get_sigmas(n)
    if schedule == "Karras":
        return sampling.get_sigmas_karras(n, smin, smax, rho=7.0)
    if schedule == "Exponential":
        return sampling.get_sigmas_exponential(n, smin, smax)
    if schedule == "Polyexponential":
        return sampling.get_sigmas_polyexponential(n, smin, smax, rho=1.0)
    if schedule in ("SGM Uniform", "Normal"):
        start, end = wrap.sigma_to_t(torch.tensor(smax)), wrap.sigma_to_t(torch.tensor(smin))
        ts = torch.linspace(float(start), float(end), n + 1)[:-1] if schedule == "SGM Uniform" \
            else torch.linspace(float(start), float(end), n)
        return torch.FloatTensor([float(wrap.t_to_sigma(t)) for t in ts] + [0.0])
    if schedule == "KL Optimal":
        a_min, a_max = math.atan(smin), math.atan(smax)
        idx = torch.arange(n + 1, dtype=torch.float32)
        return torch.tan(idx / n * a_min + (1.0 - idx / n) * a_max)
    if schedule == "Align Your Steps":
        ref = list(AYS_SD15)
        if n != len(ref):
            xs, ys = np.linspace(0, 1, len(ref)), np.log(ref[::-1])
            ref = list(np.exp(np.interp(np.linspace(0, 1, n), xs, ys))[::-1])
        return torch.FloatTensor([*ref, 0.0])
    if schedule == "Simple":
        ss = len(wrap.sigmas) / n
        return torch.FloatTensor([float(wrap.sigmas[-(1 + int(x * ss))]) for x in range(n)] + [0.0])
    if schedule == "DDIM":
        ss = max(len(wrap.sigmas) // n, 1)
        sigs = [float(wrap.sigmas[x]) for x in range(1, len(wrap.sigmas), ss)][::-1]
        return torch.FloatTensor([*sigs, 0.0])
    if schedule == "Beta":
        from scipy import stats

        ts = [stats.beta.ppf(x, BETA_ALPHA, BETA_BETA) for x in 1 - np.linspace(0, 1, n)]
        return torch.FloatTensor([smin + x * (smax - smin) for x in ts] + [0.0])
    raise EvalConfigInvalid(f"unknown schedule type {schedule!r}", f"use one of: {', '.join(SCHEDULES)}")


@dataclass
class HostRun:
    images: np.ndarray  # N x H x W x 3 in [0, 1]; NaN where the host's sampler failed
    executed: dict  # ExecutedSchedule.to_dict()-shaped, plus the model evaluations
    error: str | None = None


class HostSampler:
    """Runs one (sampler, schedule, steps, cfg) cell for a batch of seeds the way A1111 v1.10.1 would."""

    def __init__(self, unet, alphas_cumprod: torch.Tensor, prediction: str, null_label: int) -> None:
        self.sampling, self.external = k_diffusion()
        self.model = CompVisModel(unet, alphas_cumprod).eval()
        self.prediction = prediction
        self.null = null_label
        denoiser = self.external.CompVisVDenoiser if prediction == "v" else self.external.CompVisDenoiser
        self.wrap = denoiser(self.model, quantize=False)
        self._lcm = None

    def lcm_wrap(self):
        if self._lcm is None:
            self._lcm = LcmDenoiser(self.external, self.model, self.prediction).kd
        return self._lcm

    def get_sigmas(self, sampler: str, schedule: str, steps: int, wrap=None) -> torch.Tensor:
        wrap = wrap or self.wrap
        _, options = SAMPLERS[sampler]
        discard = bool(options.get("discard_next_to_last_sigma"))
        n = steps + (1 if discard else 0)
        name = schedule or "Automatic"
        if name == "Automatic":
            auto = options.get("scheduler")
            name = {"karras": "Karras", "exponential": "Exponential"}.get(auto) if auto else None
        sigmas = wrap.get_sigmas(n) if name is None else _sigmas_for(name, n, wrap, self.sampling)
        if discard:
            sigmas = torch.cat([sigmas[:-2], sigmas[-1:]])
        return sigmas.float()

    @staticmethod
    def timesteps(steps: int) -> torch.Tensor:
        return torch.clip(torch.asarray(list(range(0, 1000, 1000 // steps))) + 1, 0, 999)

    def executed(self, sampler: str, schedule: str, steps: int) -> dict:
        """What the host will run, in the guard's ExecutedSchedule form."""
        if sampler not in SAMPLERS:
            raise EvalConfigInvalid(f"{sampler!r} is not in the reproduced A1111 list",
                                    NOT_REPRODUCED.get(sampler, f"use one of: {', '.join(SAMPLERS)}"))
        func, options = SAMPLERS[sampler]
        source = f"A1111 v1.10.1 code path ({sampler}), iga_core/eval/host_sampling.py"
        if options.get("timesteps"):
            ts = [float(t) for t in self.timesteps(steps)]
            return {"kind": "timesteps", "values": ts, "timesteps": ts[1:][::-1], "computed_by": "iga", "source": source}
        wrap = self.lcm_wrap() if sampler == "LCM" else self.wrap
        if func in ("sample_dpm_fast", "sample_dpm_adaptive"):
            return {"kind": "sigma_range", "values": [float(wrap.sigmas[-1]), float(wrap.sigmas[0])], "timesteps": [],
                    "computed_by": "iga", "source": source}
        sigmas = self.get_sigmas(sampler, schedule, steps, wrap)
        ts = wrap.sigma_to_t(sigmas[:-1]).float()
        return {"kind": "sigmas", "values": [float(s) for s in sigmas], "timesteps": [float(t) for t in ts],
                "computed_by": "iga", "source": source}

    def run(self, sampler: str, schedule: str, steps: int, cfg: float, seeds, labels) -> HostRun:
        executed = self.executed(sampler, schedule, steps)
        seeds = [int(s) for s in seeds]
        labels = torch.as_tensor(labels, dtype=torch.long)
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        noise = torch.stack([torch.randn((3, 16, 16), generator=g) for g in gens])
        func, options = SAMPLERS[sampler]
        try:
            with torch.no_grad():
                if options.get("timesteps"):
                    x, calls = self._timestep_sampler(func, noise, steps, cfg, labels)
                else:
                    x, calls = self._k_sampler(sampler, func, options, noise, executed, steps, cfg, labels, seeds, gens)
            images = ((x.double().numpy().transpose(0, 2, 3, 1) + 1.0) / 2.0).clip(0.0, 1.0)
            error = None
            if not np.isfinite(x.numpy()).all():
                error = "non-finite output"
        except Exception as exc:  # the host shows the error and makes no image
            images = np.full((len(seeds), 16, 16, 3), np.nan)
            calls, error = 0, f"{type(exc).__name__}: {exc}"[:300]
        executed["model_calls"] = calls
        return HostRun(images, executed, error)

    def _k_sampler(self, sampler, func, options, noise, executed, steps, cfg, labels, seeds, gens):
        wrap = self.lcm_wrap() if sampler == "LCM" else self.wrap
        den = CfgDenoiser(_Wrap(wrap), labels, self.null, cfg)
        sigmas = self.get_sigmas(sampler, "Automatic", steps, wrap) if executed["kind"] == "sigma_range" \
            else torch.tensor(executed["values"], dtype=torch.float32)
        x = noise * sigmas[0]

        def per_image_noise(*_):
            return torch.stack([torch.randn((3, 16, 16), generator=g) for g in gens])

        if sampler == "LCM":
            for i in range(len(sigmas) - 1):  # A sd_samplers_lcm.py:62-76
                x = den(x, sigmas[i] * x.new_ones([len(x)]))
                if sigmas[i + 1] > 0:
                    x = x + sigmas[i + 1] * per_image_noise()
            return x, den.calls
        if func == "restart":
            return self._restart(den, x, sigmas, per_image_noise), den.calls
        fn = getattr(self.sampling, func)
        params = inspect.signature(fn).parameters
        kwargs = {}
        if "eta" in params:
            kwargs["eta"] = 1.0  # opts.eta_ancestral
        if "solver_type" in params and options.get("solver_type"):
            kwargs["solver_type"] = options["solver_type"]
        if "noise_sampler" in params:
            if options.get("brownian_noise"):
                positive = sigmas[sigmas > 0]
                kwargs["noise_sampler"] = self.sampling.BrownianTreeNoiseSampler(
                    x, positive.min(), sigmas.max(), seed=seeds)
            else:
                kwargs["noise_sampler"] = per_image_noise
        if "sigma_min" in params:  # DPM fast / adaptive: the wrapper's range, n = steps
            kwargs.update(sigma_min=float(wrap.sigmas[0]), sigma_max=float(wrap.sigmas[-1]))
            if "n" in params:
                kwargs["n"] = steps
            out = fn(den, x, disable=True, **kwargs)
        else:
            out = fn(den, x, sigmas, disable=True, **kwargs)
        return out, den.calls

    def _restart(self, den, x, sigmas, per_image_noise):
        """A sd_samplers_extra.py restart_sampler with its automatic restart list."""
        sampling = self.sampling
        s_in = x.new_ones([len(x)])
        steps = len(sigmas) - 1
        restart_list = {}
        if steps >= 20:
            r_steps, r_times = (steps // 4, 2) if steps >= 36 else (9, 1)
            sigmas = sampling.get_sigmas_karras(steps - r_steps * r_times, float(sigmas[-2]), float(sigmas[0]))
            restart_list = {0.1: [r_steps + 1, r_times, 2]}
        restart_list = {int(torch.argmin(abs(sigmas - k), dim=0)): v for k, v in restart_list.items()}
        step_list = []
        for i in range(len(sigmas) - 1):
            step_list.append((sigmas[i], sigmas[i + 1]))
            if i + 1 in restart_list:
                r_steps, r_times, r_max = restart_list[i + 1]
                min_idx, max_idx = i + 1, int(torch.argmin(abs(sigmas - r_max), dim=0))
                if max_idx < min_idx:
                    sr = sampling.get_sigmas_karras(r_steps, float(sigmas[min_idx]), float(sigmas[max_idx]))[:-1]
                    for _ in range(r_times):
                        step_list.extend(itertools.pairwise(sr))
        last = None
        for old, new in step_list:
            if last is None:
                last = old
            elif last < old:
                x = x + per_image_noise() * (old**2 - last**2) ** 0.5
            d = sampling.to_d(x, old, den(x, old * s_in))
            dt = new - old
            if new == 0:
                x = x + d * dt
            else:
                x2 = x + d * dt
                d2 = sampling.to_d(x2, new, den(x2, new * s_in))
                x = x + (d + d2) / 2 * dt
            last = new
        return x

    def _timestep_sampler(self, func, noise, steps, cfg, labels):
        """DDIM (eta 0), DDIM CFG++ and PLMS on the host's timesteps (A sd_samplers_timesteps_impl.py)."""
        acp = self.model.alphas_cumprod.double()
        ts = self.timesteps(steps)
        alphas = acp[ts]
        alphas_prev = acp[torch.nn.functional.pad(ts[:-1], pad=(1, 0))]
        calls = 0
        cfgpp = func == "ddim_cfgpp"
        scale = cfg / 12.5 if cfgpp else cfg

        def eps_of(x, t):
            nonlocal calls
            calls += 1
            tt = torch.full((len(x),), float(t))
            xx, tb = torch.cat([x, x]).float(), torch.cat([tt, tt])
            yy = torch.cat([labels, torch.full_like(labels, self.null)])
            out = self.model.apply_model(xx, tb, yy).double()
            if self.prediction == "v":  # CompVisTimestepsVDenoiser: eps from (x_t, v)
                a = acp[int(t)].sqrt()
                b = (1 - acp[int(t)]).sqrt()
                out = b * torch.cat([x, x]).double() + a * out
            cond, uncond = out.chunk(2)
            return uncond + (cond - uncond) * scale, uncond

        x = noise.double()
        old = []
        for i in range(len(ts) - 1):
            index = len(ts) - 1 - i
            a_t, a_prev = alphas[index], alphas_prev[index]
            e_t, e_unc = eps_of(x, ts[index])
            if func == "plms":
                def step(e, x=x, a_t=a_t, a_prev=a_prev):
                    x0 = (x - (1 - a_t).sqrt() * e) / a_t.sqrt()
                    return a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * e
                if not old:
                    e_next, _ = eps_of(step(e_t), ts[max(index - 1, 0)])
                    e_p = (e_t + e_next) / 2
                elif len(old) == 1:
                    e_p = (3 * e_t - old[-1]) / 2
                elif len(old) == 2:
                    e_p = (23 * e_t - 16 * old[-1] + 5 * old[-2]) / 12
                else:
                    e_p = (55 * e_t - 59 * old[-1] + 37 * old[-2] - 9 * old[-3]) / 24
                old = [*old, e_t][-3:]
                x = step(e_p)
            else:
                x0 = (x - (1 - a_t).sqrt() * e_t) / a_t.sqrt()
                x = a_prev.sqrt() * x0 + (1 - a_prev).sqrt() * (e_unc if cfgpp else e_t)
        return x.float(), calls
