"""Recipes and checkpoints the WebUI glue tests share (tiny files built on the spot)."""

from __future__ import annotations

import copy
from pathlib import Path

from tests.factories import make_checkpoint

LIGHTNING = {
    "iga_version": "1.0.0", "model_id": "test-lightning", "architecture": "sd1", "prediction_type": "eps",
    "sampler": {"name": "Euler", "mode": "ode"}, "scheduler": {"name": "Karras"},
    "steps": {"default": 4, "min": 4, "max": 8}, "cfg": {"default": 1.5, "min": 1.0, "max": 2.0},
    "resolution": {"preferred": [{"width": 640, "height": 640}], "max": {"width": 1024, "height": 1024}},
    "constraints": {"forbid_samplers": ["DPM++ 2M"]},
    "presets": [{"name": "Quality", "steps": 8, "cfg": 2.0, "sampler": "Euler", "scheduler": "Karras",
                 "width": 640, "height": 640, "description": "slower, finer"}],
}
TURBO = {
    "iga_version": "1.0.0", "model_id": "test-turbo", "architecture": "sd1", "prediction_type": "eps",
    "sampler": {"name": "Euler a", "mode": "ancestral"}, "scheduler": {"name": "Automatic"},
    "steps": {"default": 2, "min": 1, "max": 4}, "cfg": {"default": 1.0, "min": 1.0, "max": 1.0},
}


def recipe(base: dict, **changes) -> dict:
    out = copy.deepcopy(base)
    out.update(changes)
    return out


def add_checkpoint(folder: Path, name: str, recipe_dict: dict | None = None, *, seed: int = 0) -> Path:
    path = make_checkpoint(Path(folder) / name, seed=seed)
    if recipe_dict is not None:
        from iga_core.checkpoint.stamp import stamp

        stamp(path, recipe_dict)
    return path

BASE_SD15 = {
    "iga_version": "1.0.0", "model_id": "test-sd15", "architecture": "sd1", "prediction_type": "eps",
    "sampler": {"name": "DPM++ 2M", "mode": "ode"}, "scheduler": {"name": "Karras"},
    "steps": {"default": 25, "min": 20, "max": 40}, "cfg": {"default": 7.0, "min": 5.0, "max": 9.0},
}
LCM_LORA = {
    "iga_version": "1.0.0", "model_id": "test-lcm-lora", "architecture": "sd1", "prediction_type": "eps",
    "sampler": {"name": "LCM", "mode": "ancestral"}, "scheduler": {"name": "Karras"},
    "steps": {"default": 4, "min": 2, "max": 8}, "cfg": {"default": 1.0, "min": 1.0, "max": 2.0},
    "x-compose": "replace",
}
TURBO_LORA = {
    "iga_version": "1.0.0", "model_id": "test-turbo-lora", "architecture": "sd1", "prediction_type": "eps",
    "sampler": {"name": "Euler a", "mode": "ancestral"}, "scheduler": {"name": "Karras"},
    "steps": {"default": 1, "min": 1, "max": 2}, "cfg": {"default": 1.0, "min": 1.0, "max": 1.0},
    "x-compose": "replace",
}
