"""Where the hires pass keeps its own CFG (docs/hosts.md §5).

- `none` (A1111): the hires pass runs with the first pass's CFG (A processing.py:1166-1183 has no field).
- `hr_cfg` (Forge, Neo, reForge): `hr_cfg` = 1.0 (F processing.py:1202, Neo 1220, reForge 1298).
- `hr_cfg_scale` (Forge Classic): `hr_cfg_scale` = None (classic processing.py:1120), the denoiser's
  `cond_scale` in the hires pass (classic sd_samplers_kdiffusion.py:211, 273); the UI sends it only when the
  hires sampler options are shown (classic txt2img.py:70).
"""

from __future__ import annotations

from typing import Any


class NoHiresCfg:
    name = "none"

    def value(self, p: Any) -> float | None:
        return None


class Attribute:
    def __init__(self, name: str) -> None:
        self.name = name

    def value(self, p: Any) -> float | None:
        value = getattr(p, self.name, None)
        return float(value) if value is not None else None


VARIANTS = {"none": NoHiresCfg(), "hr_cfg": Attribute("hr_cfg"), "hr_cfg_scale": Attribute("hr_cfg_scale")}
