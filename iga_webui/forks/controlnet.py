"""Which ControlNet the host runs, and so what a unit dict without "enabled" means (docs/hosts.md §6).

- `extension` (A1111): sd-webui-controlnet, an extension; its unit's `enabled` defaults to False
  (Mikubill/sd-webui-controlnet internal_controlnet/args.py:53-163).
- `integrated` (Forge, Neo, Forge Classic, reForge): the built-in `sd_forge_controlnet`, title "ControlNet"
  (F extensions-builtin/sd_forge_controlnet/scripts/controlnet.py:61-62, Neo 58-59, classic 48-49, reForge
  69-70), whose `ControlNetUnit.enabled` defaults to True (F lib_controlnet/external_code.py:207, Neo 160,
  classic 175, reForge 230).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ControlNet:
    name: str
    unit_enabled_by_default: bool


VARIANTS = {"extension": ControlNet("extension", False), "integrated": ControlNet("integrated", True)}
