"""Mirror of modules/sd_samplers_common.py: `setup_img2img_steps` (A 22-31, F the same), which decides how
many steps an img2img or hires pass schedules and how many of them it runs."""

from modules.shared import opts


def setup_img2img_steps(p, steps=None):
    if opts.img2img_fix_steps or steps is not None:
        requested_steps = (steps or p.steps)
        steps = int(requested_steps / min(p.denoising_strength, 0.999)) if p.denoising_strength > 0 else 0
        t_enc = requested_steps - 1
    else:
        steps = p.steps
        t_enc = int(min(p.denoising_strength, 0.999) * steps)

    return steps, t_enc
