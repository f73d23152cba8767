"""Recipes and helpers shared by the guard, preset, auto-configure and composition tests (no tests here).

The recipes follow the models' published settings (their model cards) so that each rule can be
shown firing on the case it exists for; golden cases from `metadata_examples/` are in test_guard_golden.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from iga_core.guard import GuardRequest
from iga_core.recipe import Recipe

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "metadata_examples"

TURBO = {
    "iga_version": "1.0.0", "model_id": "sdxl-turbo", "architecture": "sdxl", "prediction_type": "eps",
    "sampler": {"name": "Euler a", "mode": "ancestral"},
    "scheduler": {"name": "SGM Uniform", "spacing": "trailing", "subsample": {"rule": "any"}},
    "steps": {"default": 1, "min": 1, "max": 4},
    "cfg": {"default": 1.0, "min": 1.0, "max": 1.0},
    "resolution": {"preferred": [{"width": 512, "height": 512}], "max": {"width": 1024, "height": 1024}},
    "constraints": {"allow_samplers": ["Euler a", "Euler", "LCM"]},
}

LIGHTNING = {
    "iga_version": "1.0.0", "model_id": "sdxl-lightning-4step", "architecture": "sdxl", "prediction_type": "eps",
    "sampler": {"name": "Euler", "mode": "ode"},
    "scheduler": {"name": "SGM Uniform", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]},
                  "canonical_steps": 4, "subsample": {"allowed_steps": [4]}, "spacing": "trailing"},
    "steps": {"default": 4, "min": 4, "max": 4},
    "cfg": {"default": 1.0, "min": 1.0, "max": 1.0},
    "vae": {"id": "sdxl_vae.safetensors", "embedded": True},
    "resolution": {"preferred": [{"width": 1024, "height": 1024}], "max": {"width": 1536, "height": 1536}},
    "constraints": {"forbid_samplers": ["DDIM", "PLMS", "UniPC", "DPM adaptive"],
                    "allow_schedules": ["SGM Uniform", "Simple"]},
}

DMD2 = {
    "iga_version": "1.0.0", "model_id": "dmd2-sdxl-4step", "architecture": "sdxl", "prediction_type": "eps",
    "sampler": {"name": "LCM", "mode": "ancestral"},
    "scheduler": {"name": "SGM Uniform", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]},
                  "canonical_steps": 4, "subsample": {"allowed_steps": [4]}, "spacing": "trailing"},
    "steps": {"default": 4, "min": 1, "max": 8},
    "cfg": {"default": 1.0, "min": 1.0, "max": 1.0},
}

VPRED = {
    "iga_version": "1.0.0", "model_id": "sdxl-vpred-ztsnr", "architecture": "sdxl", "prediction_type": "v",
    "sampler": {"name": "Euler", "mode": "ode"},
    "scheduler": {"name": "Normal", "zero_terminal_snr": True},
    "steps": {"default": 28, "min": 20, "max": 40},
    "cfg": {"default": 4.5, "min": 3.0, "max": 6.0, "rescale": 0.7},
    "resolution": {"preferred": [{"width": 1024, "height": 1024}, {"width": 832, "height": 1216}]},
}

FLUX = {
    "iga_version": "1.0.0", "model_id": "flux1-dev", "architecture": "flux", "prediction_type": "flow",
    "sampler": {"name": "Euler", "mode": "ode"},
    "scheduler": {"name": "Simple"},
    "steps": {"default": 20, "min": 15, "max": 50},
    "cfg": {"default": 1.0, "min": 1.0, "max": 1.0, "distilled": {"default": 3.5, "min": 2.0, "max": 5.0}},
    "resolution": {"preferred": [{"width": 1024, "height": 1024}], "max": {"width": 2048, "height": 2048}},
}

SD1_ANIME = {
    "iga_version": "1.0.0", "model_id": "sd15-anime", "architecture": "sd1", "prediction_type": "eps",
    "sampler": {"name": "DPM++ 2M", "mode": "ode"},
    "scheduler": {"name": "Karras"},
    "steps": {"default": 25, "min": 15, "max": 50},
    "cfg": {"default": 7.0, "min": 4.0, "max": 11.0},
    "vae": {"id": "vae-ft-mse-840000-ema-pruned.safetensors", "embedded": False},
    "clip_skip": 2,
    "resolution": {"preferred": [{"width": 512, "height": 768}, {"width": 512, "height": 512}],
                   "max": {"width": 1024, "height": 1024}},
    "presets": [
        {"name": "Quality", "steps": 40, "cfg": 7.5, "sampler": "DPM++ 2M", "scheduler": "Karras",
         "width": 512, "height": 768, "description": "slower, finer detail"},
        {"name": "Fast", "steps": 15, "cfg": 6.0, "sampler": "k_euler_a", "scheduler": "Automatic",
         "description": "quick drafts"},
        {"name": "Wide", "steps": 25, "cfg": 7.0, "width": 768, "height": 512},
    ],
}

#: schema 1.1.0 control adapters: a canny ControlNet at 0.5-1.2 ending after 60 % of the steps, an IP-Adapter
#: up to 1.0, and a warning for any other adapter
SD1_CONTROL = {**SD1_ANIME, "iga_version": "1.1.0", "model_id": "sd15-control", "control": {
    "unlisted": "warn",
    "adapters": [
        {"kind": "controlnet", "role": "recommended", "model": "control_v11p_sd15_canny", "preprocessor": "canny",
         "weight": {"default": 1.0, "min": 0.5, "max": 1.2}, "guidance_end": {"min": 0.6, "max": 1.0}},
        {"kind": "ip_adapter", "model": "ip-adapter_sd15", "weight": {"max": 1.0}},
    ]}}

RECIPES = {"turbo": TURBO, "lightning": LIGHTNING, "dmd2": DMD2, "vpred": VPRED, "flux": FLUX,
           "sd1_anime": SD1_ANIME, "sd1_control": SD1_CONTROL}


def document(name: str, **changes) -> dict:
    """A deep copy of a test recipe's JSON document with top-level fields replaced."""
    out = copy.deepcopy(RECIPES[name])
    out.update(copy.deepcopy(changes))
    return out


def recipe(name: str, **changes) -> Recipe:
    """A test recipe, parsed (as every boundary parses it) after its top-level fields are replaced."""
    return Recipe.from_dict(document(name, **changes))


def parsed(doc: dict) -> Recipe:
    return Recipe.from_dict(doc)


def native_request(r: Recipe, **changes) -> GuardRequest:
    """The request a host makes when it applies the recipe's Native preset."""
    from iga_core.presets import preset_request, resolve_preset

    req = preset_request(resolve_preset(r, "Native")).to_dict()
    req.setdefault("prediction_type", r.prediction_type)
    req.update(changes)
    return GuardRequest.from_dict(req)


def with_fix(request: GuardRequest, fix: dict) -> GuardRequest:
    return GuardRequest.from_dict({**request.to_dict(), **fix})


def example_recipes() -> dict[str, dict]:
    """metadata_examples/*.iga.json by file stem (empty until the examples land)."""
    return {p.name[: -len(".iga.json")]: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(EXAMPLES.glob("*.iga.json"))}


def example_parsed() -> dict[str, Recipe]:
    """metadata_examples/*.iga.json, parsed."""
    return {name: Recipe.from_dict(d) for name, d in example_recipes().items()}
