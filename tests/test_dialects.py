"""Each dialect's semantics, as data: which samplers honour a schedule in which host, what a name really
runs, eta defaults, and remedies in the user's own dialect (issue #16, items 3-4).

Facts, each from the host's own code:
- A1111 v1.10.1 / Forge dfdcbab: DDIM, DDIM CFG++, PLMS and UniPC step on their own timesteps and ignore the
  schedule type (A sd_samplers_timesteps.py:86-96); every k-diffusion function with an `eta` parameter gets
  opts.eta_ancestral, default 1.0 (A sd_samplers_common.py:293, 303-307, shared_options.py:390), including
  sample_dpm_fast / sample_dpm_adaptive whose own default is eta=0 (k_diffusion/sampling.py).
- ComfyUI comfy/samplers.py: sampler_object("ddim") is ksampler("euler"), run on the scheduler's sigmas;
  uni_pc / uni_pc_bh2 run on the scheduler's sigmas (extra_samplers/uni_pc.py sample_unipc); dpm_fast /
  dpm_adaptive are called without eta (so 0); KSampler.DISCARD_PENULTIMATE_SIGMA_SAMPLERS = dpm_2,
  dpm_2_ancestral, uni_pc, uni_pc_bh2.
- A1111 Uniform (k-diffusion get_sigmas: t = linspace(999, 0, n)) is ComfyUI normal (normal_scheduler:
  linspace(timestep(sigma_max), timestep(sigma_min), n)).
"""

from __future__ import annotations

import json
from pathlib import Path

from iga_core.reconstruct import reconstruct
from tests.reconstruct_support import checkpoint

# --- item 3: a diffusers flow config beside a file ----------------------------------------------------------

def test_a_flow_prediction_unipc_config_reconstructs_as_flow(tmp_path: Path):
    # Wan 2.x / SANA scheduler_config.json: UniPC with flow sigmas and prediction_type "flow_prediction"
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "scheduler" / "scheduler_config.json").write_text(json.dumps({
        "_class_name": "UniPCMultistepScheduler", "_diffusers_version": "0.35.2", "prediction_type": "flow_prediction",
        "use_flow_sigmas": True, "flow_shift": 3.0, "solver_order": 2, "solver_type": "bh2",
    }))
    (tmp_path / "transformer").mkdir()
    ckpt = checkpoint(tmp_path / "transformer", "diffusion_pytorch_model.safetensors", {"x.weight": ("F16", [4])})
    r = reconstruct(ckpt)
    assert r.recipe["prediction_type"] == "flow"
    assert r.recipe["sampler"]["name"] == "UniPC BH2"  # ComfyUI's uni_pc_bh2, not A1111's UniPC (bh1)
    assert r.recipe["scheduler"]["name"] == "Simple"  # flow sigmas 1 - k/N, not "Uniform"
