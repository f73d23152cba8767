"""IGA-S004: a VAE other than the recipe's.

Request values: a file name or path (compared by stem, case-insensitively), a 64-hex sha256 (compared with
`vae.sha256`), "None" (the checkpoint's own VAE) or "Automatic" (the host decides; not checked).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath, PureWindowsPath

from iga_core.guard.rules import Observation, rule

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_EXTENSIONS = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf")
BUILT_IN = ("none", "")


def vae_stem(name: str) -> str:
    base = PureWindowsPath(PurePosixPath(name.strip()).name).name.lower()
    for ext in _EXTENSIONS:
        if base.endswith(ext):
            base = base[: -len(ext)]
            break
    return base[:-4] if base.endswith(".vae") else base


def _matches(recipe_vae, asked: str) -> bool | None:
    """True/False when decidable, None when the request does not say which VAE runs."""
    key = asked.strip().lower()
    if key == "automatic":
        return None
    if key in BUILT_IN:
        return bool(recipe_vae.embedded) if recipe_vae.embedded is not None else None
    if _HEX64.match(asked.strip()):
        return asked.strip().lower() == str(recipe_vae.sha256).lower() if recipe_vae.sha256 else None
    if recipe_vae.id:
        return vae_stem(asked) == vae_stem(recipe_vae.id)
    return False if recipe_vae.embedded else None


@rule("IGA-S004", "soft", ("vae",),
      title="VAE other than the recipe's",
      remedy="select the recipe's VAE (or None for the checkpoint's embedded one)")
def other_vae(ctx):
    """A different VAE shifts colours and detail; NaNs with fp16 SDXL VAEs are the classic case."""
    recipe_vae, asked = ctx.recipe.vae, ctx.request.vae
    if recipe_vae is None or asked is None or _matches(recipe_vae, asked) is not False:
        return
    if recipe_vae.embedded and not recipe_vae.id:
        fix, expected = "None", "the checkpoint's embedded VAE"
    else:
        fix = recipe_vae.id or recipe_vae.sha256
        expected = fix
    yield Observation("vae", expected, asked, f"VAE {asked} is not this model's VAE",
                      f"use VAE {fix}", {"vae": fix})
