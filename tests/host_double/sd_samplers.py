"""Mirror of modules/sd_samplers.py and the sampler classes behind it (A1111 v1.10.1; Forge's additions when
the double runs as Forge), computing with the real k-diffusion package (`k_diffusion_pkg`).

- Lists, names, aliases and options: A sd_samplers_kdiffusion.py:11-27, sd_samplers_timesteps.py:11-16,
  sd_samplers_lcm.py:100; F sd_samplers_kdiffusion.py:14-34 (adds HeunPP2, IPNDM, IPNDM_V, DEIS) and
  modules_forge/alter_samplers.py:20-22 (DDPM). `create_sampler`: A sd_samplers.py:33-44.
- `KDiffusionSampler.get_sigmas`: A sd_samplers_kdiffusion.py:79-132, F 81-134 (the same code); the model
  wrapper is k-diffusion's `CompVisDenoiser` / `CompVisVDenoiser` on A (A 55-62) and Forge's
  `ForgeScheduleLinker` over the model's predictor on F (F 60-66, F k_diffusion/external.py:40-72).
- `CompVisSampler.get_timesteps` (DDIM, DDIM CFG++, PLMS, UniPC): A sd_samplers_timesteps.py:86-96, F 62-72 (F the same).
- `LCMSampler` with `LCMCompVisDenoiser` (50 original timesteps): A sd_samplers_lcm.py:9-56, 91-96; F reads
  the predictor's sigmas instead of `alphas_cumprod` (F sd_samplers_lcm.py:16-22).
- `sample` / `sample_img2img` do what the hosts do up to the call of the sampling function (A
  sd_samplers_kdiffusion.py:134-234, sd_samplers_timesteps.py:98-163) and then, instead of denoising,
  record what the function would have been given in `p.double_executed` (a test aid).
- `get_sampler_and_scheduler`, `get_sampler_from_infotext` / `get_scheduler_from_infotext`,
  `fix_p_invalid_sampler_and_scheduler`: A sd_samplers.py:69-74, 101-129 (unknown names fall back to
  samplers[0] silently).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections import namedtuple

import k_diffusion
import torch
from modules import sd_samplers_common, sd_schedulers, shared
from modules.shared import opts

SamplerData = namedtuple("SamplerData", ["name", "constructor", "aliases", "options"])  # A sd_samplers_common.py


# --- k-diffusion samplers ---------------------------------------------------------------------------------

def restart_sampler(model, x, sigmas, extra_args=None, callback=None, disable=None, s_noise=1., restart_list=None):
    """A sd_samplers_extra.py:8 (signature only: the double never denoises)."""


def _forge_only(name):
    """Samplers in Forge's own k_diffusion copy (F k_diffusion/sampling.py:771-933), not in the package."""
    def sampler(model, x, sigmas, extra_args=None, callback=None, disable=None):
        """signature only"""
    sampler.__name__ = name
    return sampler


_K_SAMPLERS = [
    ('DPM++ 2M', 'sample_dpmpp_2m', ['k_dpmpp_2m'], {'scheduler': 'karras'}),
    ('DPM++ SDE', 'sample_dpmpp_sde', ['k_dpmpp_sde'], {'scheduler': 'karras', "second_order": True, "brownian_noise": True}),
    ('DPM++ 2M SDE', 'sample_dpmpp_2m_sde', ['k_dpmpp_2m_sde'], {'scheduler': 'exponential', "brownian_noise": True}),
    ('DPM++ 2M SDE Heun', 'sample_dpmpp_2m_sde', ['k_dpmpp_2m_sde_heun'], {'scheduler': 'exponential', "brownian_noise": True, "solver_type": "heun"}),
    ('DPM++ 2S a', 'sample_dpmpp_2s_ancestral', ['k_dpmpp_2s_a'], {'scheduler': 'karras', "uses_ensd": True, "second_order": True}),
    ('DPM++ 3M SDE', 'sample_dpmpp_3m_sde', ['k_dpmpp_3m_sde'], {'scheduler': 'exponential', 'discard_next_to_last_sigma': True, "brownian_noise": True}),
    ('Euler a', 'sample_euler_ancestral', ['k_euler_a', 'k_euler_ancestral'], {"uses_ensd": True}),
    ('Euler', 'sample_euler', ['k_euler'], {}),
    ('LMS', 'sample_lms', ['k_lms'], {}),
    ('Heun', 'sample_heun', ['k_heun'], {"second_order": True}),
    ('DPM2', 'sample_dpm_2', ['k_dpm_2'], {'scheduler': 'karras', 'discard_next_to_last_sigma': True, "second_order": True}),
    ('DPM2 a', 'sample_dpm_2_ancestral', ['k_dpm_2_a'], {'scheduler': 'karras', 'discard_next_to_last_sigma': True, "uses_ensd": True, "second_order": True}),
    ('DPM fast', 'sample_dpm_fast', ['k_dpm_fast'], {"uses_ensd": True}),
    ('DPM adaptive', 'sample_dpm_adaptive', ['k_dpm_ad'], {"uses_ensd": True}),
    ('Restart', restart_sampler, ['restart'], {'scheduler': 'karras', "second_order": True}),
]
_F_K_SAMPLERS = [
    ('HeunPP2', _forge_only('sample_heunpp2'), ['heunpp2'], {}),
    ('IPNDM', _forge_only('sample_ipndm'), ['ipndm'], {}),
    ('IPNDM_V', _forge_only('sample_ipndm_v'), ['ipndm_v'], {}),
    ('DEIS', _forge_only('sample_deis'), ['deis'], {}),
]


class Sampler:  # A sd_samplers_common.py:228-250, the fields used here
    def __init__(self, funcname):
        self.funcname = funcname
        self.func = funcname
        self.config = None  # set by create_sampler


def _model_wrap(sd_model):
    """The k-diffusion model wrapper each host builds (A sd_samplers_kdiffusion.py:51-63, F 60-66, Neo 51-57;
    Classic 60-66 and reForge 81-92 build A's `CompVisDenoiser` over `sd_model`)."""
    if shared.FLAVOUR.forge_backend:
        from modules.sd_models import ForgeScheduleLinker

        wrap = ForgeScheduleLinker(sd_model.forge_objects.unet.model.predictor)
        wrap.inner_model = sd_model
        return wrap
    denoiser = (k_diffusion.external.CompVisVDenoiser if sd_model.parameterization == "v"
                else k_diffusion.external.CompVisDenoiser)
    return denoiser(sd_model, quantize=opts.enable_quantization)


class KDiffusionSampler(Sampler):
    def __init__(self, funcname, sd_model, options=None):
        super().__init__(funcname)
        self.options = options or {}
        self.func = funcname if callable(funcname) else getattr(k_diffusion.sampling, funcname)
        self.model_wrap = _model_wrap(sd_model)

    def get_sigmas(self, p, steps):  # A sd_samplers_kdiffusion.py:79-132 (F 81-134), verbatim
        discard_next_to_last_sigma = self.config is not None and self.config.options.get('discard_next_to_last_sigma', False)
        if opts.always_discard_next_to_last_sigma and not discard_next_to_last_sigma:
            discard_next_to_last_sigma = True
            p.extra_generation_params["Discard penultimate sigma"] = True

        steps += 1 if discard_next_to_last_sigma else 0

        scheduler_name = (p.hr_scheduler if p.is_hr_pass else p.scheduler) or 'Automatic'
        if scheduler_name == 'Automatic':
            scheduler_name = self.config.options.get('scheduler', None)

        scheduler = sd_schedulers.schedulers_map.get(scheduler_name)

        m_sigma_min, m_sigma_max = self.model_wrap.sigmas[0].item(), self.model_wrap.sigmas[-1].item()
        sigma_min, sigma_max = (0.1, 10) if opts.use_old_karras_scheduler_sigmas else (m_sigma_min, m_sigma_max)

        if p.sampler_noise_scheduler_override:
            sigmas = p.sampler_noise_scheduler_override(steps)
        elif scheduler is None or scheduler.function is None:
            sigmas = self.model_wrap.get_sigmas(steps)
        else:
            sigmas_kwargs = {'sigma_min': sigma_min, 'sigma_max': sigma_max}

            if scheduler.label != 'Automatic' and not p.is_hr_pass:
                p.extra_generation_params["Schedule type"] = scheduler.label
            elif scheduler.label != p.extra_generation_params.get("Schedule type"):
                p.extra_generation_params["Hires schedule type"] = scheduler.label

            if opts.sigma_min != 0 and opts.sigma_min != m_sigma_min:
                sigmas_kwargs['sigma_min'] = opts.sigma_min
                p.extra_generation_params["Schedule min sigma"] = opts.sigma_min

            if opts.sigma_max != 0 and opts.sigma_max != m_sigma_max:
                sigmas_kwargs['sigma_max'] = opts.sigma_max
                p.extra_generation_params["Schedule max sigma"] = opts.sigma_max

            if scheduler.default_rho != -1 and opts.rho != 0 and opts.rho != scheduler.default_rho:
                sigmas_kwargs['rho'] = opts.rho
                p.extra_generation_params["Schedule rho"] = opts.rho

            if scheduler.need_inner_model:
                sigmas_kwargs['inner_model'] = self.model_wrap

            if scheduler.label == 'Beta':
                p.extra_generation_params["Beta schedule alpha"] = opts.beta_dist_alpha
                p.extra_generation_params["Beta schedule beta"] = opts.beta_dist_beta

            sigmas = scheduler.function(n=steps, **sigmas_kwargs, device='cpu')

        if discard_next_to_last_sigma:
            sigmas = torch.cat([sigmas[:-2], sigmas[-1:]])

        return sigmas.cpu()

    def _record(self, p, sigmas):
        parameters = inspect.signature(self.func).parameters
        given = sigmas if 'sigmas' in parameters else None  # DPM fast / adaptive get sigma_min/max and n only
        evaluated = None if given is None else self.model_wrap.sigma_to_t(given[:-1]).tolist()
        p.double_executed.append({"sampler": self.config.name, "sigmas": None if given is None else given.tolist(),
                                  "timesteps": evaluated, "is_hr_pass": bool(p.is_hr_pass)})

    def sample(self, p, x, conditioning, unconditional_conditioning, steps=None, image_conditioning=None):
        steps = steps or p.steps
        self._record(p, self.get_sigmas(p, steps))

    def sample_img2img(self, p, x, noise, conditioning, unconditional_conditioning, steps=None, image_conditioning=None):
        steps, t_enc = sd_samplers_common.setup_img2img_steps(p, steps)
        sigmas = self.get_sigmas(p, steps)
        self._record(p, sigmas[steps - t_enc - 1:])


# --- LCM ------------------------------------------------------------------------------------------------

class LCMCompVisDenoiser(k_diffusion.external.DiscreteEpsDDPMDenoiser):  # A sd_samplers_lcm.py:9-48
    def __init__(self, model):
        timesteps = 1000
        original_timesteps = 50
        self.skip_steps = timesteps // original_timesteps
        if shared.FLAVOUR.forge_backend:  # F sd_samplers_lcm.py:16-17
            alphas_cumprod = 1.0 / (model.forge_objects.unet.model.predictor.sigmas ** 2.0 + 1.0)
        else:
            alphas_cumprod = model.alphas_cumprod
        alphas_cumprod_valid = torch.zeros((original_timesteps), dtype=torch.float32)
        for x in range(original_timesteps):
            alphas_cumprod_valid[original_timesteps - 1 - x] = alphas_cumprod[timesteps - 1 - x * self.skip_steps]
        super().__init__(model, alphas_cumprod_valid, quantize=None)

    def get_sigmas(self, n=None):
        if n is None:
            return k_diffusion.sampling.append_zero(self.sigmas.flip(0))
        start = self.sigma_to_t(self.sigma_max)
        end = self.sigma_to_t(self.sigma_min)
        t = torch.linspace(start, end, n)
        return k_diffusion.sampling.append_zero(self.t_to_sigma(t))

    def sigma_to_t(self, sigma, quantize=None):
        log_sigma = sigma.log()
        dists = log_sigma - self.log_sigmas[:, None]
        return dists.abs().argmin(dim=0).view(sigma.shape) * self.skip_steps + (self.skip_steps - 1)

    def t_to_sigma(self, timestep):
        t = torch.clamp(((timestep - (self.skip_steps - 1)) / self.skip_steps).float(), min=0, max=(len(self.sigmas) - 1))
        return super().t_to_sigma(t)


def sample_lcm(model, x, sigmas, extra_args=None, callback=None, disable=None, noise_sampler=None):
    """A sd_samplers_lcm.py:62-76 (signature only)."""


class LCMSampler(KDiffusionSampler):  # A sd_samplers_lcm.py:91-96
    def __init__(self, funcname, sd_model, options=None):
        super().__init__(funcname, sd_model, options)
        self.model_wrap = LCMCompVisDenoiser(sd_model)


# --- timestep samplers ------------------------------------------------------------------------------------

def _timestep_fn(name):
    def fn(model, x, timesteps, extra_args=None, callback=None, disable=None):
        """A sd_samplers_timesteps_impl.py (signature only)."""
    fn.__name__ = name
    return fn


class CompVisSampler(Sampler):  # A sd_samplers_timesteps.py:72-167
    def __init__(self, funcname, sd_model):
        super().__init__(funcname)
        self.sd_model = sd_model

    def get_timesteps(self, p, steps):  # A sd_samplers_timesteps.py:86-96, F 62-72, verbatim
        discard_next_to_last_sigma = self.config is not None and self.config.options.get('discard_next_to_last_sigma', False)
        if opts.always_discard_next_to_last_sigma and not discard_next_to_last_sigma:
            discard_next_to_last_sigma = True
            p.extra_generation_params["Discard penultimate sigma"] = True

        steps += 1 if discard_next_to_last_sigma else 0

        timesteps = torch.clip(torch.asarray(list(range(0, 1000, 1000 // steps)), device='cpu') + 1, 0, 999)

        return timesteps

    def _record(self, p, timesteps):
        p.double_executed.append({"sampler": self.config.name, "timesteps_given": timesteps.tolist(),
                                  "is_hr_pass": bool(p.is_hr_pass)})

    def sample(self, p, x, conditioning, unconditional_conditioning, steps=None, image_conditioning=None):
        steps = steps or p.steps
        self._record(p, self.get_timesteps(p, steps))

    def sample_img2img(self, p, x, noise, conditioning, unconditional_conditioning, steps=None, image_conditioning=None):
        steps, t_enc = sd_samplers_common.setup_img2img_steps(p, steps)
        self._record(p, self.get_timesteps(p, steps)[:t_enc])


def _k_data(label, funcname, aliases, options):
    cls = LCMSampler if label == 'LCM' else KDiffusionSampler
    return SamplerData(label, lambda model, funcname=funcname: cls(funcname, model), aliases, options)


_TIMESTEP_SAMPLERS = [('DDIM', 'ddim', ['ddim'], {}), ('DDIM CFG++', 'ddim_cfgpp', ['ddim_cfgpp'], {}),
                      ('PLMS', 'plms', ['plms'], {}), ('UniPC', 'unipc', ['unipc'], {})]


def _ts_data(label, fn, aliases, options):
    return SamplerData(label, lambda model, fn=_timestep_fn(fn): CompVisSampler(fn, model), aliases, options)


def _fork_k(label, funcname, aliases, options=None):
    """A fork's own k-diffusion function (not in the package): the host's get_sigmas, signature only here."""
    fn = _forge_only(funcname)
    return SamplerData(label, lambda model, fn=fn: KDiffusionSampler(fn, model), aliases, options or {})


def _pick(rows, *names):
    by_name = {r[0]: r for r in rows}
    return [by_name[n] for n in names]


def _forks_lists():
    """Each host's list, in its order (SAMPLER_LISTS below cites the source of each)."""
    k = {r[0]: r for r in _K_SAMPLERS}
    ts = {r[0]: r for r in _TIMESTEP_SAMPLERS}
    lcm = _k_data('LCM', sample_lcm, ['k_lcm'], {})
    a1111 = [_k_data(*r) for r in _K_SAMPLERS] + [_ts_data(*r) for r in _TIMESTEP_SAMPLERS] + [lcm]
    forge = ([_k_data(*r) for r in _K_SAMPLERS + _F_K_SAMPLERS] + [_ts_data(*r) for r in _TIMESTEP_SAMPLERS]
             + [lcm, _fork_k('DDPM', 'sample_ddpm', ['ddpm'])])
    # Forge Classic: classic sd_samplers_kdiffusion.py:18-31 (no schedule option on DPM++ 2M SDE; UniPC and
    # DDPM are k-diffusion samplers), sd_samplers_timesteps.py:13-16, sd_samplers_lcm.py:109, then the CFG++
    # samplers of modules_forge/forge_alter_samplers.py:47-54 (classic sd_samplers.py:20-26)
    classic = [
        _k_data(*k['DPM++ 2M']), _k_data(*k['DPM++ SDE']),
        _k_data('DPM++ 2M SDE', 'sample_dpmpp_2m_sde', ['k_dpmpp_2m_sde_ka'], {"brownian_noise": True}),
        _k_data(*k['DPM++ 3M SDE']), _k_data(*k['Euler a']), _k_data(*k['Euler']), _k_data(*k['LMS']),
        _k_data(*k['Heun']),
        _k_data('DPM2', 'sample_dpm_2', ['k_dpm_2'], {'scheduler': 'karras', 'discard_next_to_last_sigma': True,
                                                      "second_order": True}),
        _k_data(*k['Restart']),
        _fork_k('UniPC', 'sample_unipc', ['unipc'], {"discard_next_to_last_sigma": True}),
        _fork_k('DDPM', 'sample_ddpm', ['ddpm']),
        _ts_data(*ts['DDIM']), _ts_data(*ts['PLMS']), lcm,
        *[_fork_k(label, key, [key]) for label, key in (
            ("DPM++ 2M CFG++", "dpmpp_2m_cfg_pp"), ("DPM++ SDE CFG++", "dpmpp_sde_cfg_pp"),
            ("DPM++ 2M SDE CFG++", "dpmpp_2m_sde_cfg_pp"), ("DPM++ 3M SDE CFG++", "dpmpp_3m_sde_cfg_pp"),
            ("Euler a CFG++", "euler_ancestral_cfg_pp"), ("Euler CFG++", "euler_cfg_pp"))],
    ]
    # Neo: Neo sd_samplers_kdiffusion.py:13-31 (LCM is a plain k-diffusion sampler there, no 50-step table;
    # UniPC a k-diffusion one), sd_samplers_timesteps.py:13-16, forge_alter_samplers.py:46-50
    neo = [
        _k_data(*k['DPM++ 2M']), _k_data(*k['DPM++ SDE']),
        _k_data('DPM++ 2M SDE', 'sample_dpmpp_2m_sde', ['k_dpmpp_2m_sde_ka'], {"brownian_noise": True}),
        _k_data(*k['DPM++ 3M SDE']),
        _fork_k('DPM++ 2s a RF', 'sample_dpmpp_2s_ancestral_RF', ['sample_dpmpp_2s_ancestral_RF']),
        _k_data(*k['Euler a']), _k_data(*k['Euler']), _fork_k('ER SDE', 'sample_er_sde', ['er_side']),
        _fork_k('LCM', 'sample_lcm', ['k_lcm']), _k_data(*k['LMS']), _k_data(*k['Heun']),
        _k_data('DPM2', 'sample_dpm_2', ['k_dpm_2'], {'scheduler': 'karras', 'discard_next_to_last_sigma': True,
                                                      "second_order": True}),
        _fork_k('Res Multistep', 'sample_res_multistep', ['res_multistep']),
        _fork_k('Kohaku LoNyu Yog', 'sample_Kohaku_LoNyu_Yog', ['Kohaku_LoNyu_Yog']),
        _k_data(*k['Restart']),
        _fork_k('UniPC', 'sample_unipc', ['unipc'], {"discard_next_to_last_sigma": True}),
        _ts_data(*ts['DDIM']), _ts_data(*ts['PLMS']),
        *[_fork_k(label, key, [key]) for label, key in (
            ("DPM++ 2M CFG++", "dpmpp_2m_cfg_pp"), ("Euler a CFG++", "euler_ancestral_cfg_pp"),
            ("Euler CFG++", "euler_cfg_pp"))],
    ]
    # reForge: reForge sd_samplers_kdiffusion.py:22-48 (A's list and the Dy / Negative samplers; its "Euler A2"
    # (30) is dropped at 50-54 because the default k-diffusion, `sd_sampling` "A1111" (12-14), has no
    # `sample_euler_a2`: absent from /sdapi/v1/samplers in a real reForge, docs/hosts.md "Seen in a real
    # reForge"), sd_samplers_timesteps.py:13-19 (the CFG++ ones commented out), LCM, then the first and the
    # Forge entries of modules_forge/forge_alter_samplers.py:218-250 (the rest are left out here)
    reforge = [_k_data(*r) for r in _K_SAMPLERS]
    reforge += [_fork_k(label, key, [key]) for label, key in (
        ('Euler Dy', 'sample_euler_dy'), ('Euler SMEA Dy', 'sample_euler_smea_dy'),
        ('Euler Negative', 'sample_euler_negative'), ('Euler Negative Dy', 'sample_euler_dy_negative'))]
    reforge += [_ts_data(*ts['DDIM']), _ts_data(*ts['PLMS']), _ts_data(*ts['UniPC']), lcm]
    reforge += [_fork_k(label, key, [key]) for label, key in (
        ('DPM++ SDE Classic', 'dpmpp_sde_classic'), ('ER SDE', 'ER SDE'), ('Euler CFG++', 'euler_cfg_pp'),
        ('DPM++ 2M CFG++', 'dpmpp_2m_cfg_pp'), ('RES Multistep', 'res_multistep'), ('DDPM', 'ddpm'),
        ('HeunPP2', 'heunpp2'), ('IPNDM', 'ipndm'), ('IPNDM_V', 'ipndm_v'), ('DEIS', 'deis'))]
    return {"a1111": a1111, "forge": forge, "forge-classic": classic, "forge-neo": neo, "reforge": reforge}


#: A sd_samplers.py:11-16 (kdiffusion 11-27, timesteps 11-16, lcm 100); F adds HeunPP2 .. DEIS
#: (F sd_samplers_kdiffusion.py:14-34) and DDPM (F modules_forge/alter_samplers.py:20-22); the forks as above
SAMPLER_LISTS = _forks_lists()
all_samplers = SAMPLER_LISTS[shared.FLAVOUR.samplers]
all_samplers_map = {x.name: x for x in all_samplers}
samplers = all_samplers
samplers_for_img2img = all_samplers
samplers_map = {}
for _s in all_samplers:
    samplers_map[_s.name.lower()] = _s.name
    for _alias in _s.aliases:
        samplers_map[_alias.lower()] = _s.name

schedulers = sd_schedulers.schedulers
schedulers_map = sd_schedulers.schedulers_map


def find_sampler_config(name):  # A sd_samplers.py:24-30
    return all_samplers_map.get(name) if name is not None else all_samplers[0]


def create_sampler(name, model):  # A sd_samplers.py:33-44
    config = find_sampler_config(name)
    assert config is not None, f'bad sampler name: {name}'
    if model.is_sdxl and config.options.get("no_sdxl", False):
        raise Exception(f"Sampler {config.name} is not supported for SDXL")
    sampler = config.constructor(model)
    sampler.config = config
    return sampler


@functools.cache
def get_sampler_and_scheduler(sampler_name, scheduler_name, *, convert_automatic=True):  # A sd_samplers.py:101-122
    default_sampler = samplers[0]
    found_scheduler = schedulers_map.get(scheduler_name, schedulers[0])
    name = sampler_name or default_sampler.name
    for scheduler in schedulers:
        for name_option in [scheduler.label, scheduler.name, *(scheduler.aliases or [])]:
            if name.endswith(" " + name_option):
                found_scheduler = scheduler
                name = name[0:-(len(name_option) + 1)]
                break
    sampler = all_samplers_map.get(name, default_sampler)
    if convert_automatic and sampler.options.get("scheduler", None) == found_scheduler.name:
        found_scheduler = schedulers[0]
    return sampler.name, found_scheduler.label


def get_sampler_from_infotext(d: dict):  # A sd_samplers.py:69-70
    return get_sampler_and_scheduler(d.get("Sampler"), d.get("Schedule type"))[0]


def get_scheduler_from_infotext(d: dict):  # A sd_samplers.py:73-74
    return get_sampler_and_scheduler(d.get("Sampler"), d.get("Schedule type"))[1]


def fix_p_invalid_sampler_and_scheduler(p):  # A sd_samplers.py:125-129
    i_sampler_name, i_scheduler = p.sampler_name, p.scheduler
    # Forge Classic writes a schedule that is the sampler's own option as Automatic here too (classic
    # sd_samplers.py:137-140, 148-154: its get_sampler_and_scheduler has no convert_automatic); A, F, Neo do not
    convert = shared.HOST == "forge-classic"
    p.sampler_name, p.scheduler = get_sampler_and_scheduler(p.sampler_name, p.scheduler, convert_automatic=convert)
    if p.sampler_name != i_sampler_name or i_scheduler != p.scheduler:
        logging.warning(f'Sampler Scheduler autocorrection: "{i_sampler_name}" -> "{p.sampler_name}", "{i_scheduler}" -> "{p.scheduler}"')
