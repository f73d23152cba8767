"""What `p.distilled_cfg_scale` is, if the host has it (docs/hosts.md §5, §6).

- `cfg_only` (A1111, Forge Classic, reForge): no such field (A processing.py:151-158; classic and reForge
  processing.py have none); CFG is the only guidance.
- `distilled` (Forge): `distilled_cfg_scale` = 3.5 (F processing.py:143), used by guidance-distilled models,
  which set `use_distilled_cfg_scale` (F backend/diffusion_engine/flux.py; infotext "Distilled CFG Scale",
  F processing.py:741-743).
- `distilled_or_shift` (Neo): the same field (Neo processing.py:139) is the distilled CFG of models with
  `use_distilled_cfg_scale` (Flux.1 dev, Neo backend/diffusion_engine/flux.py:41) and the flow *shift* of
  models with `use_shift` (Lumina 2, Wan, Z-Image, ...: Neo lumina.py:37-43, wan.py:43; infotext "Shift",
  Neo processing.py:731-734): a shift is never judged as a CFG.
"""

from __future__ import annotations

from typing import Any


class CfgOnly:
    name = "cfg_only"
    supports_distilled_cfg = False

    def uses_distilled_cfg(self, sd_model: Any, recipe_has_distilled: bool) -> bool:
        return False


class Distilled:
    name = "distilled"
    supports_distilled_cfg = True

    def uses_distilled_cfg(self, sd_model: Any, recipe_has_distilled: bool) -> bool:
        return recipe_has_distilled or bool(getattr(sd_model, "use_distilled_cfg_scale", False))


class DistilledOrShift(Distilled):
    name = "distilled_or_shift"

    def uses_distilled_cfg(self, sd_model: Any, recipe_has_distilled: bool) -> bool:
        if getattr(sd_model, "use_shift", False) and not getattr(sd_model, "use_distilled_cfg_scale", False):
            return False  # the slider holds the model's shift (Neo processing.py:733-734)
        return super().uses_distilled_cfg(sd_model, recipe_has_distilled)


VARIANTS = {"cfg_only": CfgOnly(), "distilled": Distilled(), "distilled_or_shift": DistilledOrShift()}
