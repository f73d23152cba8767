"""Mirror of modules/sd_samplers.py + sd_schedulers.py (A; F extras when the double runs as Forge).

Sampler and scheduler names, aliases and default schedules as listed in A sd_samplers_kdiffusion.py:11-27,
sd_samplers_timesteps.py:11-16, sd_samplers_lcm.py:100; F adds HeunPP2, IPNDM, IPNDM_V, DEIS, DDPM
(F sd_samplers_kdiffusion.py:14-34, alter_samplers.py:20-22) and the Turbo / AYS GITS / AYS 11 / AYS 32
schedules (F sd_schedulers.py:211-230). `get_sampler_and_scheduler` and
`fix_p_invalid_sampler_and_scheduler` are copied in behaviour from A sd_samplers.py:100-129 (unknown names
fall back to samplers[0] silently).
"""

from __future__ import annotations

import functools
import logging
from collections import namedtuple

from modules import shared

SamplerData = namedtuple("SamplerData", ["name", "constructor", "aliases", "options"])
Scheduler = namedtuple("Scheduler", ["name", "label", "aliases"])

_A_SAMPLERS = [
    ("DPM++ 2M", ["k_dpmpp_2m"], {"scheduler": "karras"}),
    ("DPM++ SDE", ["k_dpmpp_sde"], {"scheduler": "karras"}),
    ("DPM++ 2M SDE", ["k_dpmpp_2m_sde"], {"scheduler": "exponential"}),
    ("DPM++ 2M SDE Heun", ["k_dpmpp_2m_sde_heun"], {"scheduler": "exponential"}),
    ("DPM++ 2S a", ["k_dpmpp_2s_a"], {"scheduler": "karras"}),
    ("DPM++ 3M SDE", ["k_dpmpp_3m_sde"], {"scheduler": "exponential"}),
    ("Euler a", ["k_euler_a", "k_euler_ancestral"], {}),
    ("Euler", ["k_euler"], {}),
    ("LMS", ["k_lms"], {}),
    ("Heun", ["k_heun"], {}),
    ("DPM2", ["k_dpm_2"], {"scheduler": "karras"}),
    ("DPM2 a", ["k_dpm_2_a"], {"scheduler": "karras"}),
    ("DPM fast", ["k_dpm_fast"], {}),
    ("DPM adaptive", ["k_dpm_ad"], {}),
    ("Restart", ["restart"], {"scheduler": "karras"}),
    ("DDIM", ["ddim"], {}),
    ("DDIM CFG++", ["ddim_cfgpp"], {}),
    ("PLMS", ["plms"], {}),
    ("UniPC", ["unipc"], {}),
    ("LCM", ["k_lcm"], {}),
]
_F_SAMPLERS = [
    ("HeunPP2", ["heunpp2"], {}),
    ("IPNDM", ["ipndm"], {}),
    ("IPNDM_V", ["ipndm_v"], {}),
    ("DEIS", ["deis"], {}),
    ("DDPM", ["ddpm"], {}),
]
_A_SCHEDULERS = [
    ("automatic", "Automatic", None), ("uniform", "Uniform", None), ("karras", "Karras", None),
    ("exponential", "Exponential", None), ("polyexponential", "Polyexponential", None),
    ("sgm_uniform", "SGM Uniform", ["SGMUniform"]), ("kl_optimal", "KL Optimal", None),
    ("align_your_steps", "Align Your Steps", None), ("simple", "Simple", None), ("normal", "Normal", None),
    ("ddim", "DDIM", None), ("beta", "Beta", None),
]
_F_SCHEDULERS = [
    ("turbo", "Turbo", None), ("align_your_steps_GITS", "Align Your Steps GITS", None),
    ("align_your_steps_11", "Align Your Steps 11", None), ("align_your_steps_32", "Align Your Steps 32", None),
]

_forge = shared.HOST == "forge"
all_samplers = [SamplerData(n, None, a, o) for n, a, o in _A_SAMPLERS + (_F_SAMPLERS if _forge else [])]
all_samplers_map = {x.name: x for x in all_samplers}
samplers = all_samplers
samplers_for_img2img = all_samplers
samplers_map = {}
for _s in all_samplers:
    samplers_map[_s.name.lower()] = _s.name
    for _alias in _s.aliases:
        samplers_map[_alias.lower()] = _s.name

schedulers = [Scheduler(n, label, aliases) for n, label, aliases in _A_SCHEDULERS + (_F_SCHEDULERS if _forge else [])]
schedulers_map = {**{x.name: x for x in schedulers}, **{x.label: x for x in schedulers}}


def find_sampler_config(name):
    return all_samplers_map.get(name) if name is not None else all_samplers[0]


@functools.cache
def get_sampler_and_scheduler(sampler_name, scheduler_name, *, convert_automatic=True):
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


def fix_p_invalid_sampler_and_scheduler(p):
    i_sampler_name, i_scheduler = p.sampler_name, p.scheduler
    p.sampler_name, p.scheduler = get_sampler_and_scheduler(p.sampler_name, p.scheduler, convert_automatic=False)
    if p.sampler_name != i_sampler_name or i_scheduler != p.scheduler:
        logging.warning(f'Sampler Scheduler autocorrection: "{i_sampler_name}" -> "{p.sampler_name}", "{i_scheduler}" -> "{p.scheduler}"')
