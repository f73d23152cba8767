"""Mirror of modules/sd_models.py (A; F differences noted).

- `CheckpointInfo` (A 56-128, F 62-134): filename, name (relative to the models dir), name_for_extra (stem),
  model_name, hash, sha256, shorthash, title "name [shorthash]", ids, metadata (safetensors `__metadata__`
  with string values starting with "{" JSON-decoded, A 284-309), is_safetensors.
- `select_checkpoint()` (A 224-246, F 233-249) honours `opts.sd_model_checkpoint`.
- `get_closet_checkpoint_match()` (A 248-266).
- The loaded model's schedule facts: A builds the LDM model from its config (a `<checkpoint>.yaml` beside
  the file wins, A sd_models_config.py:117-137; `parameterization: "v"` -> k-diffusion's CompVisVDenoiser,
  A sd_samplers_kdiffusion.py:58), keeps `alphas_cumprod` as loaded from the state dict when the file has
  one (A sd_models.py:441, 467-486: the buffer is not converted but takes the file's values, so an fp16
  file gives fp16-rounded alphas -- why A ends 3-step Euler a at sigma 0.0313 where F ends at 0.0292), else
  the config's betas (LDM register_schedule: linear 0.00085..0.012 in float64, kept as float32), and sets
  is_sd1 / is_sd2 / is_sdxl from the state dict (A sd_models.py:379-401). F builds a `Prediction` from the
  diffusers scheduler config (F backend/modules/k_prediction.py:113-168, 330-337): `prediction_type`
  from the `.yaml` beside the checkpoint or the state dict guess (a `v_pred` key: v_prediction), `ztsnr`
  when the state dict has a `ztsnr` key (F backend/loader.py:460-462, 531-567); `ForgeScheduleLinker`
  (F k_diffusion/external.py:40-72) is the sampler's view of it.
- Loading: A loads eagerly (initial load and dropdown change) and fires `on_model_loaded` (A sd_models.py:864);
  F starts with `FakeInitialModel` (no `sd_checkpoint_info`, F 385-408) and loads lazily inside
  `process_images` after `before_process` (F processing.py:804 -> forge_model_reload, sd_models.py:473-518).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

import numpy as np
import torch
from modules import script_callbacks, shared
from modules.sd_models_metadata import read_metadata_from_safetensors  # A 284-309, the one faithful mirror

checkpoints_list: dict[str, CheckpointInfo] = {}
checkpoint_aliases: dict[str, CheckpointInfo] = {}
model_path = ""


class CheckpointInfo:
    def __init__(self, filename):
        self.filename = filename
        abspath = os.path.abspath(filename)
        if model_path and abspath.startswith(os.path.abspath(model_path)):
            name = os.path.relpath(abspath, model_path)
        else:
            name = os.path.basename(filename)
        self.name = name
        self.name_for_extra = os.path.splitext(os.path.basename(filename))[0]
        self.model_name = os.path.splitext(name.replace("/", "_").replace("\\", "_"))[0]
        self.is_safetensors = os.path.splitext(filename)[1].lower() == ".safetensors"
        with open(filename, "rb") as f:
            self.sha256 = hashlib.sha256(f.read()).hexdigest()
        self.hash = self.sha256[:8]
        self.shorthash = self.sha256[:10]
        self.title = f"{name} [{self.shorthash}]"
        self.short_title = f"{self.name_for_extra} [{self.shorthash}]"
        self.ids = [self.hash, self.model_name, self.title, name, self.name_for_extra, f"{name} [{self.hash}]",
                    self.sha256, self.shorthash]
        self.metadata = {}
        if self.is_safetensors:
            try:
                self.metadata = read_metadata_from_safetensors(filename)
            except Exception as e:  # A reports and continues with {}
                from modules import errors
                errors.display(e, f"reading metadata for {filename}")

    def register(self):
        checkpoints_list[self.title] = self
        for id_ in self.ids:
            checkpoint_aliases[id_] = self


def list_models(directory: str | None = None) -> None:
    """A `list_models()` (sd_models.py:140-168) rescans the models folder; the double takes the folder once."""
    global model_path
    model_path = directory or model_path
    checkpoints_list.clear()
    checkpoint_aliases.clear()
    for root, _dirs, files in os.walk(model_path):
        for fn in sorted(files):
            if fn.endswith((".safetensors", ".ckpt")):
                CheckpointInfo(os.path.join(root, fn)).register()


def get_closet_checkpoint_match(search_string):
    if not search_string:
        return None
    info = checkpoint_aliases.get(search_string)
    if info is not None:
        return info
    found = sorted([i for i in checkpoints_list.values() if search_string in i.title], key=lambda x: len(x.title))
    return found[0] if found else None


def select_checkpoint():
    model_checkpoint = shared.opts.sd_model_checkpoint
    info = checkpoint_aliases.get(model_checkpoint)
    if info is not None:
        return info
    if not checkpoints_list:
        return None
    return next(iter(checkpoints_list.values()))


class FakeInitialModel:  # F sd_models.py:385-408: no sd_checkpoint_info before the first generation
    def __init__(self):
        self.cond_stage_model = None
        self.chunk_length = 75


def _state_dict_keys(filename: str) -> dict:
    """The safetensors header's tensor table (what the hosts' loaders look keys up in)."""
    if not filename.endswith(".safetensors"):
        return {}
    with open(filename, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header


def _yaml_parameterization(filename: str) -> str | None:
    """`model.params.parameterization` of the `<checkpoint>.yaml` beside the file (A sd_models_config.py:128-137,
    F backend/loader.py:531-541)."""
    config = os.path.splitext(filename)[0] + ".yaml"
    if not os.path.isfile(config):
        return None
    import yaml

    with open(config, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    return ((data.get("model") or {}).get("params") or {}).get("parameterization")


def _ldm_alphas_cumprod() -> torch.Tensor:
    """LDM DDPM.register_schedule with the SD configs' linear 0.00085..0.012 betas over 1000 steps."""
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    return torch.tensor(np.cumprod(1.0 - betas.numpy(), axis=0), dtype=torch.float32)


def _file_alphas_cumprod(filename: str, keys: dict) -> torch.Tensor | None:
    if "alphas_cumprod" not in keys:
        return None
    from safetensors import safe_open

    with safe_open(filename, framework="pt") as f:
        return f.get_tensor("alphas_cumprod").to(torch.float32)


class Prediction(torch.nn.Module):
    """F backend/modules/k_prediction.py:113-168 (the discrete eps / v predictor), verbatim but for names."""

    def __init__(self, sigma_data=1.0, prediction_type='eps', beta_schedule='linear', linear_start=0.00085,
                 linear_end=0.012, timesteps=1000):
        super().__init__()
        self.sigma_data = sigma_data
        self.prediction_type = prediction_type
        betas = torch.linspace(linear_start ** 0.5, linear_end ** 0.5, timesteps, dtype=torch.float64) ** 2
        alphas_cumprod = torch.cumprod(1. - betas, dim=0)
        sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
        self.register_buffer('alphas_cumprod', alphas_cumprod.float())
        self.set_sigmas(sigmas)

    def set_sigmas(self, sigmas):
        self.register_buffer('sigmas', sigmas.float())
        self.register_buffer('log_sigmas', sigmas.log().float())

    def sigma_min(self):
        return self.sigmas[0]

    def sigma_max(self):
        return self.sigmas[-1]

    def timestep(self, sigma):
        log_sigma = sigma.log()
        dists = log_sigma.to(self.log_sigmas.device) - self.log_sigmas[:, None]
        return dists.abs().argmin(dim=0).view(sigma.shape).to(sigma.device)

    def sigma(self, timestep):
        t = torch.clamp(timestep.float().to(self.log_sigmas.device), min=0, max=(len(self.sigmas) - 1))
        low_idx = t.floor().long()
        high_idx = t.ceil().long()
        w = t.frac()
        log_sigma = (1 - w) * self.log_sigmas[low_idx] + w * self.log_sigmas[high_idx]
        return log_sigma.exp().to(timestep.device)


class ForgeScheduleLinker(torch.nn.Module):
    """F k_diffusion/external.py:40-72: Forge's k-diffusion model wrapper over the predictor."""

    def __init__(self, predictor):
        super().__init__()
        self.predictor = predictor

    @property
    def sigmas(self):
        return self.predictor.sigmas

    @property
    def log_sigmas(self):
        return self.predictor.sigmas.log()

    def get_sigmas(self, n=None):
        from k_diffusion.sampling import append_zero

        if n is None:
            return append_zero(self.sigmas.flip(0))
        t_max = len(self.sigmas) - 1
        t = torch.linspace(t_max, 0, n, device=self.sigmas.device)
        return append_zero(self.t_to_sigma(t))

    def sigma_to_t(self, sigma, quantize=None):
        return self.predictor.timestep(sigma)

    def t_to_sigma(self, t):
        return self.predictor.sigma(t)


class DoubleModel:
    """What the glue and the samplers read from `shared.sd_model` (A 527, F 511; see the module notes)."""

    def __init__(self, info: CheckpointInfo):
        self.sd_checkpoint_info = info
        self.sd_model_hash = info.shorthash
        self.sd_model_checkpoint = info.filename
        keys = _state_dict_keys(info.filename)
        self.is_sdxl = any(k.startswith("conditioner.") for k in keys)
        self.is_sd2 = not self.is_sdxl and any(k.startswith("cond_stage_model.model.") for k in keys)
        self.is_sd1 = not self.is_sdxl and not self.is_sd2
        self.is_sd3 = False
        self.use_distilled_cfg_scale = False
        self.device = "cpu"
        parameterization = _yaml_parameterization(info.filename)
        if shared.HOST == "forge":
            prediction = "v_prediction" if parameterization == "v" or "v_pred" in keys else "epsilon"
            predictor = Prediction(prediction_type=prediction)
            self.forge_objects = _ns(unet=_ns(model=_ns(predictor=predictor)))
            self.model_config = _ns(ztsnr="ztsnr" in keys)  # F backend/loader.py:462
        else:
            self.parameterization = "v" if parameterization == "v" else "eps"
            self.alphas_cumprod = _file_alphas_cumprod(info.filename, keys)
            if self.alphas_cumprod is None:
                self.alphas_cumprod = _ldm_alphas_cumprod()
            self.alphas_cumprod_original = self.alphas_cumprod  # A sd_models.py:467, 486

    def apply_model(self, x, t, cond=None, **kwargs):  # k-diffusion's CompVisDenoiser calls it (never here)
        return torch.zeros_like(x)


def _ns(**kw):
    from types import SimpleNamespace

    return SimpleNamespace(**kw)


def rescale_zero_terminal_snr_abar(alphas_cumprod):  # A sd_models.py:628-644, verbatim
    alphas_bar_sqrt = alphas_cumprod.sqrt()
    alphas_bar_sqrt_0 = alphas_bar_sqrt[0].clone()
    alphas_bar_sqrt_T = alphas_bar_sqrt[-1].clone()
    alphas_bar_sqrt -= (alphas_bar_sqrt_T)
    alphas_bar_sqrt *= alphas_bar_sqrt_0 / (alphas_bar_sqrt_0 - alphas_bar_sqrt_T)
    alphas_bar = alphas_bar_sqrt ** 2
    alphas_bar[-1] = 4.8973451890853435e-08
    return alphas_bar


def apply_alpha_schedule_override(sd_model, p=None):  # A sd_models.py:647-667 (F 361-381, a no-op there)
    if not hasattr(sd_model, 'alphas_cumprod') or not hasattr(sd_model, 'alphas_cumprod_original'):
        return
    sd_model.alphas_cumprod = sd_model.alphas_cumprod_original
    if shared.opts.use_downcasted_alpha_bar:
        if p is not None:
            p.extra_generation_params['Downcast alphas_cumprod'] = shared.opts.use_downcasted_alpha_bar
        sd_model.alphas_cumprod = sd_model.alphas_cumprod.half()
    if shared.opts.sd_noise_schedule == "Zero Terminal SNR":
        if p is not None:
            p.extra_generation_params['Noise Schedule'] = shared.opts.sd_noise_schedule
        sd_model.alphas_cumprod = rescale_zero_terminal_snr_abar(sd_model.alphas_cumprod)


def rescale_zero_terminal_snr_sigmas(sigmas):  # F backend/modules/k_prediction.py:47-64, verbatim
    alphas_cumprod = 1 / ((sigmas * sigmas) + 1)
    alphas_bar_sqrt = alphas_cumprod.sqrt()
    alphas_bar_sqrt_0 = alphas_bar_sqrt[0].clone()
    alphas_bar_sqrt_T = alphas_bar_sqrt[-1].clone()
    alphas_bar_sqrt -= (alphas_bar_sqrt_T)
    alphas_bar_sqrt *= alphas_bar_sqrt_0 / (alphas_bar_sqrt_0 - alphas_bar_sqrt_T)
    alphas_bar = alphas_bar_sqrt**2
    alphas_bar[-1] = 4.8973451890853435e-08
    return ((1 - alphas_bar) / alphas_bar) ** 0.5


def load_model(info: CheckpointInfo | None = None):
    info = info or select_checkpoint()
    shared.sd_model = DoubleModel(info)
    script_callbacks.model_loaded_callback(shared.sd_model)
    return shared.sd_model


def reload_model_weights(sd_model=None, info=None):
    """A: switch to the selected checkpoint when it differs (A 949-994). F: the lazy Forge load
    (`forge_model_reload`, F 473-518), called from `manage_model_and_prompt_cache`."""
    info = info or select_checkpoint()
    current = getattr(shared.sd_model, "sd_checkpoint_info", None)
    if current is None or current.filename != info.filename:
        load_model(info)
    return shared.sd_model


def initial_load() -> None:
    """A: initial load in a background thread at startup (initialize.py:139-156). F: FakeInitialModel."""
    if shared.HOST == "forge":
        shared.sd_model = FakeInitialModel()
    else:
        load_model()
