"""LoRA recipes: `<lora:name:weight>` tags in the prompt -> the LoRA files' recipes -> the composed recipe
(`iga_core.compose`), which then governs defaults, the guard and the audit like a checkpoint's own.

The LoRA file is found the way the hosts' built-in LoRA extension finds it: its `networks` module keeps
`available_network_aliases` (A extensions-builtin/Lora/networks.py:660-690, F sd_forge_lora/networks.py),
with a scan of `--lora-dir` as the fallback. A LoRA without a recipe takes no part.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from iga_core.compose import CHECKPOINT_PART, Addon, Composition, compose, prompt_addons
from iga_core.recipe import Recipe
from iga_webui import host, recipes

EXTENSIONS = (".safetensors", ".pt", ".ckpt")


def find_lora_file(name: str) -> str | None:
    networks = sys.modules.get("networks")
    aliases = getattr(networks, "available_network_aliases", None)
    if aliases:
        # an alias two files share is "forbidden": the host then looks the tag up by file name only
        # (A networks.py:304, F networks.py:87), so a shared alias never picks one of them at random
        forbidden = getattr(networks, "forbidden_network_aliases", None) or {}
        table = getattr(networks, "available_networks", {}) if name.lower() in forbidden else aliases
        entry = table.get(name)
        if entry is not None:
            return entry.filename
    folder = host.cmd_opt("lora_dir")
    if not folder or not os.path.isdir(folder):
        return None
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix.lower() in EXTENSIONS and path.stem == name:
            return str(path)
    return None


def prompt_of(p: Any) -> str:
    prompt = getattr(p, "prompt", "") or ""
    return prompt[0] if isinstance(prompt, list) and prompt else str(prompt)


def compose_for(p: Any, base: Recipe | None) -> Composition | None:
    """The composition for this prompt's LoRA tags; None when no tagged LoRA has a recipe."""
    addons = []
    for tag in prompt_addons(prompt_of(p)):
        path = find_lora_file(tag.name)
        addon = Addon.from_source(tag.name, recipes.lookup(path) if path else None, tag.weight)
        if addon is not None:
            addons.append(addon)
    if not addons:
        return None
    composition = compose(base, addons, base_name=CHECKPOINT_PART)
    # weight-0 tags only: nothing was composed and nothing to report
    return composition if composition.composed or composition.findings else None


def describe(composition: Composition) -> str:
    parts = [f"{part.name} ({part.role}{'' if part.weight is None else f', weight {part.weight:g}'})"
             for part in composition.parts]
    return "composed recipe: " + " + ".join(parts)
