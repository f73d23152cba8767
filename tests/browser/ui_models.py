"""Checkpoint folders for the UI tests: tiny files stamped with recipes the tests know by heart.

Shared by tests/test_ui_*.py (handlers, both gradio versions) and tests/browser (the standalone app in
Chromium). Everything is built from `tests.factories.make_checkpoint` and `iga_core.checkpoint.stamp`.
"""

from __future__ import annotations

import copy
from pathlib import Path

from iga_core.checkpoint.stamp import stamp
from iga_core.presets import check_presets
from iga_core.recipe import Recipe
from tests.factories import make_checkpoint

HOSTILE = "<img src=x onerror=alert(1)>"

#: a distilled-style recipe: Euler + SGM Uniform, 2-8 steps, CFG 1-2, DDIM and PLMS forbidden
LIGHTNING = {
    "iga_version": "1.0.0",
    "model_id": "test-lightning",
    "title": "Test Lightning",
    "architecture": "sdxl",
    "prediction_type": "eps",
    "sampler": {"name": "Euler", "mode": "ode"},
    "scheduler": {"name": "SGM Uniform"},
    "steps": {"default": 4, "min": 2, "max": 8},
    "cfg": {"default": 1.0, "min": 1.0, "max": 2.0},
    "resolution": {"preferred": [{"width": 1024, "height": 1024}], "max": {"width": 1536, "height": 1536}},
    "constraints": {"forbid_samplers": ["DDIM", "PLMS"]},
    "presets": [
        {"name": "Fast", "steps": 2, "cfg": 1.0, "description": "two steps"},
        {"name": "Quality", "steps": 8, "cfg": 1.5, "sampler": "Euler a", "scheduler": "SGM Uniform",
         "width": 896, "height": 1152, "description": "more steps, a little guidance"},
    ],
}


def hostile_recipe() -> dict:
    """Every free-text field carries markup that would run if it reached HTML unescaped."""
    recipe = copy.deepcopy(LIGHTNING)
    recipe["model_id"] = HOSTILE
    recipe["title"] = "<script>alert(2)</script>"
    recipe["notes"] = '<b onmouseover="alert(3)">notes</b>'
    recipe["presets"][0]["name"] = "<img src=y onerror=alert(4)>"
    return recipe


def make_models(folder: Path) -> Path:
    """lightning.safetensors (LIGHTNING), hostile.safetensors (hostile_recipe), plain.safetensors (no recipe)."""
    # the tests click every preset: each must resolve inside its own recipe under the current guard rules
    problems = check_presets(Recipe.from_dict(LIGHTNING)) + check_presets(Recipe.from_dict(hostile_recipe()))
    assert not problems, f"test recipe presets are outside their recipe: {problems}"
    folder.mkdir(parents=True, exist_ok=True)
    stamp(make_checkpoint(folder / "lightning.safetensors", seed=1), LIGHTNING)
    stamp(make_checkpoint(folder / "hostile.safetensors", seed=2), hostile_recipe())
    make_checkpoint(folder / "plain.safetensors", seed=3)
    return folder


def hostile_lora() -> dict:
    """A replacing LoRA recipe whose model_id is markup and whose sampling disagrees with the LCM demo LoRA."""
    recipe = copy.deepcopy(LIGHTNING)
    recipe.update(model_id=HOSTILE, title="hostile LoRA", **{"x-compose": "replace"})
    recipe["sampler"] = {"name": "Euler a", "mode": "ancestral"}
    recipe.pop("presets")
    return recipe


def make_loras(folder: Path) -> Path:
    """The demo LoRAs (lcm-lora-demo replaces, ink-style-demo narrows; iga_core/ui/demo_loras) plus
    hostile.safetensors (hostile_lora) and plain-lora.safetensors (no recipe)."""
    from iga_core.ui.demo_models import ensure_demo_loras

    ensure_demo_loras(folder)
    stamp(make_checkpoint(folder / "hostile.safetensors", seed=11), hostile_lora())
    make_checkpoint(folder / "plain-lora.safetensors", seed=12)
    return folder
