"""Where the loaded model's architecture is read (docs/hosts.md §4).

- `model_flags` (A1111, Forge Classic, reForge): `is_sd1` / `is_sd2` / `is_sdxl` / `is_sd3` on the model (A
  sd_models.py:379-401; classic forge_loader.py:147, 193-194 sets is_sdxl, is_sd2 = False (Classic has no SD2), is_sd1; reForge
  forge_loader.py:519-525 adds is_sd3).
- `engine_class` (Forge, Neo): the model is a `ForgeDiffusionEngine` subclass per family; Forge keeps the SD
  flags for the legacy families only (F backend/diffusion_engine/base.py:55-67) and has no flag for Flux, so the
  class names the family (F backend/diffusion_engine/{sd15,sd20,sdxl,sd35,flux,chroma}.py; Neo adds Flux2,
  Lumina2, QwenImage, ZImage, Wan, Anima: Neo backend/diffusion_engine/{flux2,lumina,qwen,zimage,wan,anima}.py,
  each `class …(ForgeDiffusionEngine)` at line 13-21). Schema 1.2.0 names each of them; a family without a
  name would be "other".
"""

from __future__ import annotations

from typing import Any

_FLAGS = (("is_flux", "flux"), ("is_sd3", "sd3"), ("is_sdxl", "sdxl"), ("is_sd2", "sd2"), ("is_sd1", "sd1"))
#: ForgeDiffusionEngine subclass -> recipe architecture (F and Neo backend/diffusion_engine/)
ENGINE_CLASSES = {
    "StableDiffusion": "sd1", "StableDiffusion2": "sd2", "StableDiffusionXL": "sdxl",
    "StableDiffusionXLRefiner": "sdxl", "StableDiffusion3": "sd3", "Flux": "flux",
    "Chroma": "chroma", "Flux2": "flux2", "Lumina2": "lumina", "QwenImage": "qwen-image", "ZImage": "z-image",
    "Wan": "wan", "Anima": "anima",
}


def _flags(sd_model: Any) -> str | None:
    for flag, name in _FLAGS:
        if getattr(sd_model, flag, False) is True:
            return name
    return None


class ModelFlags:
    name = "model_flags"

    def of(self, sd_model: Any) -> str | None:
        return _flags(sd_model)


class EngineClass:
    name = "engine_class"

    def of(self, sd_model: Any) -> str | None:
        for cls in type(sd_model).__mro__:
            if cls.__name__ in ENGINE_CLASSES:
                return ENGINE_CLASSES[cls.__name__]
        return _flags(sd_model)


VARIANTS = {"model_flags": ModelFlags(), "engine_class": EngineClass()}
