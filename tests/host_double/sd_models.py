"""Mirror of modules/sd_models.py (A v1.10.1; F differences noted).

- `CheckpointInfo` (A 56-128, F 62-134): filename, name (relative to the models dir), name_for_extra (stem),
  model_name, `hash` = the old `model_hash` (64 KiB read at offset 1 MiB, A 203-215 / F 218-230), sha256 and
  shorthash from the hash cache only (`hashes.sha256_from_cache`, A hashes.py:22-38): None until the file is
  hashed, and the title is then just the name (A 94-98); `calculate_shorthash` (A 107-128, F 113-134) hashes,
  adds the hash ids and re-registers under "name [shorthash]". metadata: safetensors `__metadata__` with string
  values starting with "{" JSON-decoded (A 284-309), `modelspec.thumbnail` popped (A 76).
- `get_closet_checkpoint_match` (A 183-200, F 198-215): aliases, then the shortest title containing the text,
  then the same without a trailing " [checksum]" (`re_strip_checksum`, A 180 / F 186).
- `select_checkpoint` (A 218-240, F 233-249): the selected title's alias, else the first checkpoint; with no
  checkpoint at all A raises FileNotFoundError, F prints and returns None.
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
  Neo the same (Neo backend/loader.py:671, 748-768; huggingface_guess/model_list.py:192-196).
- Forge Classic and reForge (the `ldm_patched` backend) keep A1111's LDM wrapper for the sigmas
  (`parameterization`, `alphas_cumprod`: the k-diffusion `CompVisDenoiser` over `sd_model`, reForge
  sd_samplers_kdiffusion.py:83-92, classic 62-66) and run the UNet through ldm_patched's `model_sampling`,
  a class built from a sampling base and a prediction mixin (`model_sampling(config, ModelType)`, classic
  ldm_patched/modules/model_base.py:34-48, reForge 72-103): `V_PREDICTION` when an SDXL state dict has a
  `v_pred` key (classic supported_models.py:117-121, reForge 205-220) or the config says v (classic
  forge_loader.py:188-189, reForge 510-511); `sd_model.ztsnr` when it has a `ztsnr` key (classic
  forge_loader.py:110-112, 192; reForge 391, 513).
- Loading: A loads eagerly (initial load and dropdown change), hashing in `get_checkpoint_state_dict`
  (A 332-333) and firing `on_model_loaded` (A 864, 994), and so do Classic and reForge (classic
  processing.py:781-789, reForge 907-915); F starts with `FakeInitialModel` (no `sd_checkpoint_info`,
  F 385-408) and loads lazily inside `process_images` after `before_process` (F processing.py:804 ->
  `forge_model_reload`, F 473-518, which hashes at F 511), and so does Neo (Neo processing.py:824-831).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct

import numpy as np
import torch
from modules import script_callbacks, shared
from modules.sd_models_metadata import read_metadata_from_safetensors  # A 284-309, the one faithful mirror

checkpoints_list: dict[str, CheckpointInfo] = {}
checkpoint_aliases: dict[str, CheckpointInfo] = {}
model_path = ""
re_strip_checksum = re.compile(r"\s*\[[^]]+]\s*$")
#: the host's sha256 cache (A hashes.py cache("hashes"): title -> {mtime, sha256}); in memory here, so every
#: installed double starts like a host that never hashed these files
_hash_cache: dict[str, dict] = {}


def _sha256_from_cache(filename, title):
    try:
        ondisk_mtime = os.path.getmtime(filename)
    except FileNotFoundError:
        return None
    cached = _hash_cache.get(title)
    if cached is None or ondisk_mtime > cached["mtime"]:
        return None
    return cached["sha256"]


def _sha256(filename, title):
    value = _sha256_from_cache(filename, title)
    if value is not None:
        return value
    with open(filename, "rb") as f:
        value = hashlib.sha256(f.read()).hexdigest()
    _hash_cache[title] = {"mtime": os.path.getmtime(filename), "sha256": value}
    return value


def model_hash(filename):
    """old hash that only looks at a small part of the file and is prone to collisions"""
    try:
        with open(filename, "rb") as file:
            m = hashlib.sha256()
            file.seek(0x100000)
            m.update(file.read(0x10000))
            return m.hexdigest()[0:8]
    except FileNotFoundError:
        return "NOFILE"


class CheckpointInfo:
    def __init__(self, filename):
        self.filename = filename
        abspath = os.path.abspath(filename)
        self.is_safetensors = os.path.splitext(filename)[1].lower() == ".safetensors"
        if model_path and abspath.startswith(os.path.abspath(model_path)):
            name = abspath.replace(os.path.abspath(model_path), "")
        else:
            name = os.path.basename(filename)
        if name.startswith("\\") or name.startswith("/"):
            name = name[1:]
        self.metadata = {}
        if self.is_safetensors:
            try:
                self.metadata = read_metadata_from_safetensors(filename)
                self.modelspec_thumbnail = self.metadata.pop("modelspec.thumbnail", None)
            except Exception as e:  # A reports and continues with {}
                from modules import errors
                errors.display(e, f"reading metadata for {filename}")
        self.name = name
        self.name_for_extra = os.path.splitext(os.path.basename(filename))[0]
        self.model_name = os.path.splitext(name.replace("/", "_").replace("\\", "_"))[0]
        self.hash = model_hash(filename)
        self.sha256 = _sha256_from_cache(self.filename, f"checkpoint/{name}")
        self.shorthash = self.sha256[0:10] if self.sha256 else None
        self.title = name if self.shorthash is None else f"{name} [{self.shorthash}]"
        self.short_title = self.name_for_extra if self.shorthash is None else f"{self.name_for_extra} [{self.shorthash}]"
        self.ids = [self.hash, self.model_name, self.title, name, self.name_for_extra, f"{name} [{self.hash}]"]
        if self.shorthash:
            self.ids += [self.shorthash, self.sha256, f"{self.name} [{self.shorthash}]",
                         f"{self.name_for_extra} [{self.shorthash}]"]

    def register(self):
        checkpoints_list[self.title] = self
        for id_ in self.ids:
            checkpoint_aliases[id_] = self

    def calculate_shorthash(self):
        self.sha256 = _sha256(self.filename, f"checkpoint/{self.name}")
        if self.sha256 is None:
            return
        shorthash = self.sha256[0:10]
        if self.shorthash == self.sha256[0:10]:
            return self.shorthash
        self.shorthash = shorthash
        if self.shorthash not in self.ids:
            self.ids += [self.shorthash, self.sha256, f"{self.name} [{self.shorthash}]",
                         f"{self.name_for_extra} [{self.shorthash}]"]
        old_title = self.title
        self.title = f"{self.name} [{self.shorthash}]"
        self.short_title = f"{self.name_for_extra} [{self.shorthash}]"
        _replace_key(checkpoints_list, old_title, self.title, self)
        self.register()
        return self.shorthash


def _replace_key(d, key, new_key, value):  # A sd_models.py:38-53
    keys = list(d.keys())
    d[new_key] = value
    if key not in keys:
        return d
    index = keys.index(key)
    keys[index] = new_key
    new_d = {k: d[k] for k in keys}
    d.clear()
    d.update(new_d)
    return d


def list_models(directory: str | None = None) -> None:
    """A `list_models()` (sd_models.py:153-177) rescans the models folder; the double takes the folder once
    and leaves out the download of a default model and `--ckpt`."""
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
    checkpoint_info = checkpoint_aliases.get(search_string, None)
    if checkpoint_info is not None:
        return checkpoint_info
    found = sorted([info for info in checkpoints_list.values() if search_string in info.title], key=lambda x: len(x.title))
    if found:
        return found[0]
    search_string_without_checksum = re.sub(re_strip_checksum, "", search_string)
    found = sorted([info for info in checkpoints_list.values() if search_string_without_checksum in info.title],
                   key=lambda x: len(x.title))
    if found:
        return found[0]
    return None


def select_checkpoint():
    """Raises `FileNotFoundError` if no checkpoints are found (A); F prints and returns None."""
    model_checkpoint = shared.opts.sd_model_checkpoint
    checkpoint_info = checkpoint_aliases.get(model_checkpoint, None)
    if checkpoint_info is not None:
        return checkpoint_info
    if len(checkpoints_list) == 0:
        if shared.FLAVOUR.lazy_load:  # F 241-243, Neo 201-203
            print("You do not have any model!")
            return None
        raise FileNotFoundError("No checkpoints found. Can't run without a checkpoint.")
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


def time_snr_shift(alpha, t):  # Neo backend/modules/k_prediction.py:37-40, verbatim
    if alpha == 1.0:
        return t
    return alpha * t / (1 + (alpha - 1) * t)


class PredictionDiscreteFlow(torch.nn.Module):
    """Neo backend/modules/k_prediction.py:320-353 (the discrete flow predictor of Z-Image, Lumina 2, Wan, Qwen)."""

    prediction_type = "const"

    def __init__(self, shift=1.0, multiplier=1000):
        super().__init__()
        self.shift, self.multiplier = shift, multiplier
        self.set_parameters(shift=shift, multiplier=multiplier)

    def set_parameters(self, *, shift=None, multiplier=None, timesteps=1000):
        self.shift = shift or self.shift
        self.multiplier = multiplier or self.multiplier
        ts = self.sigma((torch.arange(1, timesteps + 1, 1) / timesteps) * self.multiplier)
        self.register_buffer("sigmas", ts)

    def set_sigmas(self, sigmas):  # what processing.py's zero-terminal-SNR swap calls (Neo 988-989)
        self.register_buffer("sigmas", sigmas.float())

    @property
    def log_sigmas(self):
        return self.sigmas.log()

    def timestep(self, sigma):
        return sigma * self.multiplier

    def sigma(self, timestep):
        return time_snr_shift(self.shift, timestep / self.multiplier)


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
    """What the glue and the samplers read from `shared.sd_model` (A 527 via 411, F 511; see the module notes)."""

    def __init__(self, info: CheckpointInfo):
        self.sd_checkpoint_info = info
        self.sd_model_hash = info.calculate_shorthash()  # A 333 (get_checkpoint_state_dict) and 411, F 511
        self.sd_model_checkpoint = info.filename
        keys = _state_dict_keys(info.filename)
        self.is_sdxl = any(k.startswith("conditioner.") for k in keys)
        self.is_sd2 = not self.is_sdxl and any(k.startswith("cond_stage_model.model.") for k in keys)
        self.is_sd1 = not self.is_sdxl and not self.is_sd2
        self.is_sd3 = False
        self.use_distilled_cfg_scale = False
        self.device = "cpu"
        parameterization = _yaml_parameterization(info.filename)
        if shared.FLAVOUR.model == "forge":
            prediction = "v_prediction" if parameterization == "v" or "v_pred" in keys else "epsilon"
            with torch.inference_mode():  # F loads under inference mode (sd_models.py:472, backend/loader.py:497):
                predictor = Prediction(prediction_type=prediction)  # its sigmas have no version counter
            self.forge_objects = _ns(unet=_ns(model=_ns(predictor=predictor)))
            self.model_config = _ns(ztsnr="ztsnr" in keys)  # F backend/loader.py:462
            return
        self.parameterization = "v" if parameterization == "v" else "eps"
        self.alphas_cumprod = _file_alphas_cumprod(info.filename, keys)
        if self.alphas_cumprod is None:
            self.alphas_cumprod = _ldm_alphas_cumprod()
        self.alphas_cumprod_original = self.alphas_cumprod  # A sd_models.py:467, 486
        if shared.FLAVOUR.model == "ldm_patched":
            v = parameterization == "v" or (self.is_sdxl and "v_pred" in keys)
            sampling = model_sampling(V_PREDICTION if v else EPS)
            self.forge_objects = _ns(unet=_ns(model=_ns(model_sampling=sampling)))
            self.ztsnr = "ztsnr" in keys
            if shared.HOST == "forge-classic":  # Classic has no SD2 (classic forge_loader.py:193-194)
                self.is_sd2, self.is_sd1 = False, not self.is_sdxl

    def apply_model(self, x, t, cond=None, **kwargs):  # k-diffusion's CompVisDenoiser calls it (never here)
        return torch.zeros_like(x)


class EPS:  # ldm_patched/modules/model_sampling.py (reForge 24-44): the prediction mixins, by name only
    pass


class V_PREDICTION(EPS):  # reForge model_sampling.py:46-49
    pass


class ModelSamplingDiscrete(Prediction):
    """ldm_patched's discrete schedule (reForge ldm_patched/modules/model_sampling.py:100-177, classic the same
    file): linear 0.00085..0.012 betas over 1000 steps, `sigmas`, `set_sigmas`, `sigma(t)`, `timestep(sigma)` --
    the same maths as Forge's discrete predictor (both come from ComfyUI), so `Prediction` serves."""


def model_sampling(mixin):
    """`ldm_patched.modules.model_base.model_sampling` (classic 34-48, reForge 72-103): base and mixin combined."""

    class ModelSampling(ModelSamplingDiscrete, mixin):
        pass

    return ModelSampling(prediction_type="v" if mixin is V_PREDICTION else "eps")


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
    # Classic and reForge also switch for a checkpoint with a `ztsnr` key (classic forge_loader.py:280-284,
    # reForge sd_models.py:939-942); F and Neo do it in process_images instead (see processing.py)
    ztsnr_key = shared.FLAVOUR.model == "ldm_patched" and getattr(sd_model, "ztsnr", False)
    if shared.opts.sd_noise_schedule == "Zero Terminal SNR" or ztsnr_key:
        if p is not None:
            p.extra_generation_params['Noise Schedule'] = "Zero Terminal SNR"
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


class StableDiffusion(DoubleModel):  # F backend/diffusion_engine/sd15.py:16, Neo sd15.py:14
    pass


class StableDiffusionXL(DoubleModel):  # F backend/diffusion_engine/sdxl.py:19, Neo sdxl.py:16
    pass


class ZImage(DoubleModel):
    """Neo backend/diffusion_engine/zimage.py:13-37: a discrete-flow predictor (shift 3.0, multiplier 1.0 from
    huggingface_guess/model_list.py:412-415) whose shift the "Shift" slider (`p.distilled_cfg_scale`) sets when
    the prompt is encoded (zimage.py:40-43); `use_shift` (zimage.py:37), no SD flags (base.py:63-69)."""

    def __init__(self, info: CheckpointInfo):
        super().__init__(info)
        self.is_sd1 = self.is_sd2 = self.is_sdxl = self.is_sd3 = False
        self.use_shift = True
        self.forge_objects = _ns(unet=_ns(model=_ns(predictor=PredictionDiscreteFlow(shift=3.0, multiplier=1.0))))
        self.model_config = _ns(ztsnr=False)

    def get_learned_conditioning(self, p):  # zimage.py:40-43: the shift comes with the prompt
        self.forge_objects.unet.model.predictor.set_parameters(shift=getattr(p, "distilled_cfg_scale", 3.0))


class QwenImage(DoubleModel):
    """Neo backend/diffusion_engine/qwen.py:21-45: a discrete-flow predictor from the guessed config (shift 1.15,
    multiplier 1.0, huggingface_guess/model_list.py:508-511); no shift slider (no `use_shift`), no SD flags."""

    def __init__(self, info: CheckpointInfo):
        super().__init__(info)
        self.is_sd1 = self.is_sd2 = self.is_sdxl = self.is_sd3 = False
        self.forge_objects = _ns(unet=_ns(model=_ns(predictor=PredictionDiscreteFlow(shift=1.15, multiplier=1.0))))
        self.model_config = _ns(ztsnr=False)


def _engine_class(info: CheckpointInfo):
    """The model class the host builds (F / Neo backend/loader.py picks a ForgeDiffusionEngine by the state
    dict's guessed family; A1111, Classic and reForge build one LDM-style model for every family). Neo's
    Z-Image guess: a `cap_embedder.1.weight` of width 3840 (Neo huggingface_guess/detection.py:43-64); its
    Qwen-Image guess: a `txt_norm.weight` (detection.py:244-247)."""
    if not shared.FLAVOUR.forge_backend:
        return DoubleModel
    keys = _state_dict_keys(info.filename)
    cap = keys.get("cap_embedder.1.weight", {}).get("shape") or []
    if shared.HOST == "forge-neo" and cap and cap[0] == 3840:
        return ZImage
    if shared.HOST == "forge-neo" and "txt_norm.weight" in keys:
        return QwenImage
    return StableDiffusionXL if any(k.startswith("conditioner.") for k in keys) else StableDiffusion


def load_model(info: CheckpointInfo | None = None):
    info = info or select_checkpoint()
    shared.sd_model = _engine_class(info)(info)
    script_callbacks.model_loaded_callback(shared.sd_model)
    return shared.sd_model


def reload_model_weights(sd_model=None, info=None):
    """A: switch to the selected checkpoint when it differs (A 940-994). F: the lazy Forge load
    (`forge_model_reload`, F 473-518), called from `manage_model_and_prompt_cache`."""
    info = info or select_checkpoint()
    current = getattr(shared.sd_model, "sd_checkpoint_info", None)
    if current is None or current.filename != info.filename:
        load_model(info)
    return shared.sd_model


def initial_load() -> None:
    """A (and Classic, reForge): initial load in a background thread at startup (initialize.py:139-156).
    F and Neo: FakeInitialModel."""
    if shared.FLAVOUR.lazy_load:
        shared.sd_model = FakeInitialModel()
    else:
        load_model()
