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
  192), applied right before `p.sample` (reForge processing.py:1065-1083, classic forge_loader.py:263-284).
- `reforge_model_sampling` (reForge): the same, plus what reForge's built-in "Advanced Model Sampling for reForge"
  script will do to this request. Enabled, it replaces the UNet's `model_sampling` in
  `process_before_every_sampling` (reForge processing.py:1461-1465, inside `p.sample`, after IGA's hand-over
  check; extensions-builtin/reForge-advanced_model_sampling/scripts/advanced_model_sampling_script.py:348-395),
  so the model read beforehand is not the one sampled: its mode and sampling type (args 1, 2, 4) give the
  prediction type the host runs, and its Zero SNR box (arg 3) the noise schedule (reForge processing.py:
  1065-1075 forces ZTSNR from args 0 and 3). Seen in a real reForge (docs/hosts.md, "Seen in a real reForge"):
  an eps model run with the script's "v_prediction" passed the guard unchecked before this variant.
  When the script is off but the loaded model's `model_sampling` is still one of its patches, a class named
  `ModelSamplingAdvanced` (every mode's, advanced_model_sampling/nodes_model_advanced.py:89-212; a model loaded
  afresh has model_base.py:103's `ModelSampling`), that patch is what runs: the script clones the UNet patcher
  and adds an object patch (nodes_model_advanced.py:72-96), put on the model when it is loaded for sampling
  (ldm_patched/modules/model_patcher.py:710-715) and never taken off, because loading the unpatched patcher
  of the same model next time detaches the clone with `unpatch_all=False` (model_management.py:649-655,
  model_patcher.py:856-860). Seen in a real reForge: after a Zero SNR run, the next request without the
  script still ran as v with a first sigma of 4518.8.

Each variant's `set_by(sd_model, p)` names what set the prediction type when the checkpoint did not (None:
the checkpoint): the cause the guard's remedy speaks of (GuardRequest.prediction_set_by, host_settings.json
`causes`): `advanced_model_sampling` or `advanced_model_sampling_left_over` on reForge.
"""

from __future__ import annotations

from typing import Any

_FORGE = {"epsilon": "eps", "eps": "eps", "v_prediction": "v", "v": "v", "const": "flow", "edm": "eps"}
#: ldm_patched's prediction mixins, most specific first as they appear in a model_sampling class's MRO
_LDM_PATCHED = {"EDM": "eps", "V_PREDICTION": "v", "EPS": "eps", "CONST": "flow", "COSMOS_RFLOW": "flow",
                "X0": "x0", "IMG_TO_IMG": "x0"}
_REFORGE_AMS = "advanced model sampling for reforge"  # reForge processing.py:1065
#: the class name of every Advanced Model Sampling patch (nodes_model_advanced.py:89, 106, 136, 167, 190, 207)
_REFORGE_AMS_PATCH = "ModelSamplingAdvanced"


class _FromCheckpoint:
    def set_by(self, sd_model: Any, p: Any = None) -> str | None:
        """What set the prediction type when the checkpoint did not; the checkpoint's config or keys (None) here."""
        return None


class LdmConfig(_FromCheckpoint):
    name = "ldm_config"
    source = "a1111 model config"
    reads_checkpoint_keys = False
    #: what this host decides about the model only inside a generation (said with a verdict made before one)
    read_at_generate: tuple[str, ...] = ()

    def prediction(self, sd_model: Any, p: Any = None) -> str | None:
        return {"eps": "eps", "v": "v"}.get(getattr(sd_model, "parameterization", None))

    def zero_terminal_snr(self, sd_model: Any, setting: bool, p: Any = None) -> bool:
        """`setting`: the host's noise-schedule option says zero terminal SNR (`sd_noise_schedule`, the same
        key and values on all five: A shared_options.py:406, F 415, classic 488, Neo 552, reForge 459)."""
        return setting


class ForgePredictor(_FromCheckpoint):
    name = "forge_predictor"
    source = "forge predictor"
    reads_checkpoint_keys = True
    read_at_generate: tuple[str, ...] = ()

    def prediction(self, sd_model: Any, p: Any = None) -> str | None:
        predictor = sd_model.forge_objects.unet.model.predictor
        return _FORGE.get(getattr(predictor, "prediction_type", None))

    def zero_terminal_snr(self, sd_model: Any, setting: bool, p: Any = None) -> bool:
        config = getattr(sd_model, "model_config", None)
        return setting or bool(getattr(config, "ztsnr", False))


class LdmPatchedSampling(_FromCheckpoint):
    name = "ldm_patched_sampling"
    source = "ldm_patched model_sampling"
    reads_checkpoint_keys = True
    read_at_generate: tuple[str, ...] = ()

    def prediction(self, sd_model: Any, p: Any = None) -> str | None:
        sampling = sd_model.forge_objects.unet.model.model_sampling
        for cls in type(sampling).__mro__:
            if cls.__name__ in _LDM_PATCHED:
                return _LDM_PATCHED[cls.__name__]
        return None

    def zero_terminal_snr(self, sd_model: Any, setting: bool, p: Any = None) -> bool:
        return setting or bool(getattr(sd_model, "ztsnr", False))


#: the prediction type each mode of reForge's Advanced Model Sampling gives the UNet (the script's
#: process_before_every_sampling, advanced_model_sampling_script.py:375-393, and the sampling types of its
#: Discrete and Continuous EDM radios, 293 and 301); None: a type IGA has no prediction name for (Stable
#: Cascade, Discrete "lcm")
_AMS_MODES = {"Continuous V": "v", "SD3": "flow", "Aura Flow": "flow", "Flux": "flow"}
_AMS_TYPES = {"eps": "eps", "v_prediction": "v", "x0": "x0", "edm_playground_v2.5": "eps"}


class ReforgeModelSampling(LdmPatchedSampling):
    name = "reforge_model_sampling"
    #: the script's args belong to the request (`p.script_args`), so a check before Generate cannot read them
    read_at_generate = ("the prediction type and noise schedule of the Advanced Model Sampling for reForge script, "
                        "when it is enabled for the request",)

    def prediction(self, sd_model: Any, p: Any = None) -> str | None:
        args = _reforge_ams_args(p)
        if args is None:
            return super().prediction(sd_model)
        mode = args[1] if len(args) > 1 else None
        if mode == "Discrete":
            return _AMS_TYPES.get(args[2] if len(args) > 2 else None)
        if mode == "Continuous EDM":
            return _AMS_TYPES.get(args[4] if len(args) > 4 else None)
        return _AMS_MODES.get(mode)

    def set_by(self, sd_model: Any, p: Any = None) -> str | None:
        """`advanced_model_sampling`: the script is on for this request; `advanced_model_sampling_left_over`: it
        is off, but the model still carries its patch from an earlier run; None: the checkpoint's own."""
        if _reforge_ams_args(p) is not None:
            return "advanced_model_sampling"
        sampling = getattr(sd_model.forge_objects.unet.model, "model_sampling", None)
        return "advanced_model_sampling_left_over" if type(sampling).__name__ == _REFORGE_AMS_PATCH else None

    def zero_terminal_snr(self, sd_model: Any, setting: bool, p: Any = None) -> bool:
        """reForge's own check (processing.py:1065-1070): the script enabled (arg 0) with ZTSNR ticked (arg 3)."""
        if super().zero_terminal_snr(sd_model, setting, p):
            return True
        args = _reforge_ams_args(p)
        return args is not None and len(args) > 3 and bool(args[3])


def _reforge_ams_args(p: Any) -> list | None:
    """This request's args of reForge's Advanced Model Sampling script when it is enabled (arg 0), else None."""
    runner = getattr(p, "scripts", None)
    script = next((s for s in getattr(runner, "alwayson_scripts", []) if getattr(s, "name", None) == _REFORGE_AMS),
                  None)
    if script is None:
        return None
    args = list(getattr(p, "script_args", ()) or ())[script.args_from:script.args_to]
    return args if args and bool(args[0]) else None


VARIANTS = {"ldm_config": LdmConfig(), "forge_predictor": ForgePredictor(),
            "ldm_patched_sampling": LdmPatchedSampling(), "reforge_model_sampling": ReforgeModelSampling()}
