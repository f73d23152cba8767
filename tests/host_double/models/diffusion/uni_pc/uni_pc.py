"""Mirror of modules/models/diffusion/uni_pc/uni_pc.py (A1111 v1.10.1; F identical): the parts that decide
where UniPC evaluates the model, copied from the host. `NoiseScheduleVP('discrete')`: A 95-108 (total_N,
T = 1); `UniPC.get_time_steps`: A 459-474, for the 'time_uniform' (the default, A shared_options.py:403)
and 'time_quadratic' skip types ('logSNR' needs the host's interpolation, not mirrored: the double refuses
it). `UniPC.sample` uses t_T = noise_schedule.T (or t_start), t_0 = 1 / total_N and N = steps (A 746-757).
"""

import torch


class NoiseScheduleVP:
    def __init__(self, schedule='discrete', betas=None, alphas_cumprod=None, continuous_beta_0=0.1,
                 continuous_beta_1=20., dtype=torch.float32):
        assert schedule == 'discrete', "the double mirrors the discrete schedule only"
        log_alphas = 0.5 * torch.log(1 - betas).cumsum(dim=0) if betas is not None else 0.5 * torch.log(alphas_cumprod)
        self.schedule = schedule
        self.total_N = len(log_alphas)
        self.T = 1.


class UniPC:
    def __init__(self, model, noise_schedule, predict_x0=True, thresholding=False, max_val=1., variant='bh1',
                 condition=None, unconditional_condition=None, before_sample=None, after_sample=None,
                 after_update=None):
        self.model = model
        self.noise_schedule = noise_schedule
        self.variant = variant
        self.predict_x0 = predict_x0

    def get_time_steps(self, skip_type, t_T, t_0, N, device):
        if skip_type == 'time_uniform':
            return torch.linspace(t_T, t_0, N + 1).to(device)
        elif skip_type == 'time_quadratic':
            t_order = 2
            t = torch.linspace(t_T**(1. / t_order), t_0**(1. / t_order), N + 1).pow(t_order).to(device)
            return t
        raise ValueError(f"the host double does not mirror UniPC skip_type {skip_type}")
