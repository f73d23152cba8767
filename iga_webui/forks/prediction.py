"""Where the loaded model's prediction type and zero-terminal-SNR noise schedule are read (docs/hosts.md §4).

- `ldm_config` (A1111): `sd_model.parameterization` from the model's config ("eps" / "v"; a `<checkpoint>.yaml`
  beside the file sets it, A sd_models_config.py:128-137) and the `sd_noise_schedule` setting (A
  shared_options.py:406), applied to `alphas_cumprod` right before `p.sample` (A processing.py:985, sd_models.py:647-667).
- `forge_predictor` (Forge, Neo): the predictor's `prediction_type` ("epsilon", "v_prediction", "const",
  "edm"; F backend/modules/k_prediction.py:67-72, Neo 63-68), set from the checkpoint's `v_pred` key or a
  YAML (F backend/loader.py:546-560, Neo backend/loader.py:748-768, modules_forge/packages/huggingface_guess/
  model_list.py:192-196); zero terminal SNR from the setting or the checkpoint's `ztsnr` key (`model_config.ztsnr`,
  F backend/loader.py:462, Neo 671), swapped into the predictor's sigmas around `p.sample` (F processing.py:984-988,
  Neo 985-989).
- `ldm_patched_sampling` (Forge Classic, reForge): the class of the UNet's `model_sampling`, built by
  `ldm_patched.modules.model_base.model_sampling` from `EPS` / `V_PREDICTION` / `EDM` / `CONST` / `X0` mixins
  (reForge ldm_patched/modules/model_base.py:59-103), `V_PREDICTION` when the checkpoint has a `v_pred` key
  (reForge supported_models.py:215-218, classic supported_models.py:118) or its config says v (reForge
  forge_loader.py:510-511, classic forge_loader.py:188-189); zero terminal SNR from the setting or the
  checkpoint's `ztsnr` key (`sd_model.ztsnr`, reForge forge_loader.py:391, 513; classic forge_loader.py:110-112,
  192), applied right before `p.sample` (reForge processing.py:1065-1083, classic forge_loader.py:263-284); on
  reForge also when its built-in "Advanced Model Sampling for reForge" script is enabled with its
  zero-terminal-SNR box ticked (reForge processing.py:1065-1070: the script's args 0 and 3).
"""

from __future__ import annotations

from typing import Any

_FORGE = {"epsilon": "eps", "eps": "eps", "v_prediction": "v", "v": "v", "const": "flow", "edm": "eps"}
#: ldm_patched's prediction mixins, most specific first as they appear in a model_sampling class's MRO
_LDM_PATCHED = {"EDM": "eps", "V_PREDICTION": "v", "EPS": "eps", "CONST": "flow", "COSMOS_RFLOW": "flow",
                "X0": "x0", "IMG_TO_IMG": "x0"}
_REFORGE_AMS = "advanced model sampling for reforge"  # reForge processing.py:1065


class LdmConfig:
    name = "ldm_config"
    source = "a1111 model config"
    reads_checkpoint_keys = False

    def prediction(self, sd_model: Any) -> str | None:
        return {"eps": "eps", "v": "v"}.get(getattr(sd_model, "parameterization", None))

    def zero_terminal_snr(self, sd_model: Any, setting: bool, p: Any = None) -> bool:
        """`setting`: the host's noise-schedule option says zero terminal SNR (`sd_noise_schedule`, the same
        key and values on all five: A shared_options.py:406, F 415, classic 488, Neo 552, reForge 459)."""
        return setting


class ForgePredictor:
    name = "forge_predictor"
    source = "forge predictor"
    reads_checkpoint_keys = True

    def prediction(self, sd_model: Any) -> str | None:
        predictor = sd_model.forge_objects.unet.model.predictor
        return _FORGE.get(getattr(predictor, "prediction_type", None))

    def zero_terminal_snr(self, sd_model: Any, setting: bool, p: Any = None) -> bool:
        config = getattr(sd_model, "model_config", None)
        return setting or bool(getattr(config, "ztsnr", False))


class LdmPatchedSampling:
    name = "ldm_patched_sampling"
    source = "ldm_patched model_sampling"
    reads_checkpoint_keys = True

    def prediction(self, sd_model: Any) -> str | None:
        sampling = sd_model.forge_objects.unet.model.model_sampling
        for cls in type(sampling).__mro__:
            if cls.__name__ in _LDM_PATCHED:
                return _LDM_PATCHED[cls.__name__]
        return None

    def zero_terminal_snr(self, sd_model: Any, setting: bool, p: Any = None) -> bool:
        if setting or bool(getattr(sd_model, "ztsnr", False)):
            return True
        return _reforge_ams_ztsnr(p)


def _reforge_ams_ztsnr(p: Any) -> bool:
    """reForge's own check (processing.py:1065-1070): the script enabled (arg 0) with ZTSNR ticked (arg 3)."""
    runner = getattr(p, "scripts", None)
    script = next((s for s in getattr(runner, "alwayson_scripts", []) if getattr(s, "name", None) == _REFORGE_AMS),
                  None)
    if script is None:
        return False
    args = list(getattr(p, "script_args", ()) or ())[script.args_from:script.args_to]
    return len(args) > 3 and bool(args[0]) and bool(args[3])


VARIANTS = {"ldm_config": LdmConfig(), "forge_predictor": ForgePredictor(),
            "ldm_patched_sampling": LdmPatchedSampling()}
