"""How the VAE is chosen and how the effective one is read (docs/hosts.md §3).

- `sd_vae` (A1111, Forge Classic, reForge): the `sd_vae` setting, "Automatic", "None" or a key of
  `sd_vae.vae_dict` (A shared_options.py:207, sd_vae.py:13; classic shared_options.py:208, sd_vae.py:13;
  reForge shared_options.py:235, sd_vae.py:14); an `sd_vae` override is loaded by `process_images` (A
  processing.py:838-839, classic 791-792, reForge 917-918) and `p.sd_vae_name` is set before `process()`
  (A 892-893).
- `modules` (Forge, Neo): `sd_vae` is stubbed; the real choice is `opts.forge_additional_modules`, the full
  paths of VAE and text-encoder files offered by basename in `main_entry.module_list` (F
  modules_forge/shared_options.py:8, main_entry.py:40, 140-164, 258-276; Neo modules_forge/shared_options.py:10,
  main_entry.py:57, 96-115, 172-187); an override is applied by `set_config` (F sysinfo.py:218-260, Neo
  sysinfo.py:209-230).
"""

from __future__ import annotations

import os
from typing import Any

from iga_core.guard.rules.vae import vae_stem
from iga_webui import host


class SdVae:
    name = "sd_vae"
    #: the setting whose top-bar control (when in the quicksettings) holds the VAE the panel sets
    control_setting = "sd_vae"

    def effective(self, p: Any) -> str | None:
        """`p.sd_vae_name` (None = the VAE baked into the checkpoint)."""
        return getattr(p, "sd_vae_name", None)

    def override(self, recipe_vae: Any, overrides: dict) -> tuple[str, Any, str] | None:
        """(override key, value, name shown) that makes the host use the recipe's VAE for one request."""
        if recipe_vae is None or ("sd_vae" in overrides or "forge_additional_modules" in overrides):
            return None
        wanted = recipe_vae.id
        if not wanted and not recipe_vae.embedded:
            return None
        current = host.option("sd_vae", "Automatic")
        if not wanted:  # the checkpoint's own VAE
            return None if current in ("None", "Automatic") else ("sd_vae", "None", "None")
        key = next((k for k in host.vae_names() if vae_stem(k) == vae_stem(wanted)), None)
        if key is None or current == key:
            return None
        return "sd_vae", key, key


class ModuleList:
    name = "modules"
    control_setting = None  # a module list, not one VAE (Neo's SD VAE setting is shown, not used)

    def effective(self, p: Any) -> str | None:
        """The module whose tensors are a VAE's; none among the modules means the checkpoint's own ("None")."""
        modules = host.option("forge_additional_modules") or []
        vaes = [os.path.basename(str(m)) for m in modules if host.is_vae_module(str(m))]
        return vaes[0] if vaes else ("None" if modules else None)

    def override(self, recipe_vae: Any, overrides: dict) -> tuple[str, Any, str] | None:
        """The text encoders kept, the VAE swapped."""
        if recipe_vae is None or ("sd_vae" in overrides or "forge_additional_modules" in overrides):
            return None
        wanted = recipe_vae.id
        if not wanted and not recipe_vae.embedded:
            return None
        current = [str(m) for m in (host.option("forge_additional_modules") or [])]
        kept = [m for m in current if not host.is_vae_module(m)]
        if not wanted:
            return None if kept == current else ("forge_additional_modules", kept, "None")
        modules = host.forge_module_list() or {}
        path = next((v for k, v in modules.items() if vae_stem(k) == vae_stem(wanted)), None)
        if path is None:
            return None
        new = [*kept, str(path)]
        return None if new == current else ("forge_additional_modules", new, os.path.basename(str(path)))


VARIANTS = {"sd_vae": SdVae(), "modules": ModuleList()}
