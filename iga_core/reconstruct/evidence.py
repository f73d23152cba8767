"""One observation about one recipe field, with where it came from and how much to trust it.

Confidence scale (0..1), used by every source:
  0.9+   the file states the field itself (ModelSpec prediction_type, a `v_pred` marker tensor)
  0.7+   structure that decides it (tensor layout, diffusers model_index / scheduler config)
  0.5+   indirect statements (kohya training metadata, a distilled model's name, CivitAI base model)
  0.2-   weak hints (CivitAI example images, the family's usual settings)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Pseudo-pointer for "this file is a known distilled model": value {"profile": name, "n": int|None, "cfg": bool}.
PROFILE = "#profile"


@dataclass(frozen=True)
class Evidence:
    pointer: str  # JSON pointer of the recipe field ("/steps" is the whole steps object), or PROFILE
    value: Any
    source: str  # "modelspec", "kohya", "marker-tensor", "tensor-layout", "yaml", "diffusers", ...
    detail: str  # what was read, e.g. 'modelspec.prediction_type = "v"'
    confidence: float

    def to_dict(self) -> dict:
        return {"pointer": self.pointer, "value": self.value, "source": self.source, "detail": self.detail,
                "confidence": round(self.confidence, 3)}  # fmt: skip
