"""One observation about one recipe field, with where it came from and how much to trust it.

Confidence scale (0..1), used by every source:
  0.9+   the file states the field itself (ModelSpec prediction_type, a `v_pred` marker tensor)
  0.7+   structure that decides it (tensor layout, diffusers model_index / scheduler config)
  0.5+   indirect statements (kohya training metadata, a distilled model's name, CivitAI base model)
  0.2-   weak hints (CivitAI example images, the family's usual settings)

A source's confidence says how sure it is; `iga_core.reconstruct.weigh` then asks whether the source can
know the field at all (a prediction type the model family cannot have is no evidence) and records a
`Conflict` where it cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Pseudo-pointer for "this file is a known distilled model": value {"profile": name, "n": int|None, "cfg": bool}.
PROFILE = "#profile"
# The recipe extension key that keeps what the schema's `architecture` cannot say: the model family
# (flux2, auraflow, ...), the variant (refiner, inpainting, edit, ...) and the kind of file (lora, ...).
MODEL = "/x-iga-model"


@dataclass(frozen=True)
class Evidence:
    pointer: str  # JSON pointer of the recipe field ("/steps" is the whole steps object), or PROFILE
    value: Any
    source: str  # "modelspec", "kohya", "marker-tensor", "tensor-layout", "yaml", "diffusers", ...
    detail: str  # what was read, e.g. 'modelspec.prediction_type = "v"'
    confidence: float
    writer: str | None = None  # the tool that wrote what was read, when known ("kohya sd-scripts")

    def to_dict(self) -> dict:
        d = {"pointer": self.pointer, "value": self.value, "source": self.source, "detail": self.detail,
             "confidence": round(self.confidence, 3)}  # fmt: skip
        if self.writer:
            d["writer"] = self.writer
        return d


@dataclass(frozen=True)
class Conflict:
    """Two sources disagree on a field: which was kept, which was not, and why."""

    pointer: str
    kept: Evidence | None  # None when nothing that can know the field said anything
    rejected: Evidence
    reason: str

    def to_dict(self) -> dict:
        return {"pointer": self.pointer, "kept": self.kept.to_dict() if self.kept else None,
                "rejected": self.rejected.to_dict(), "reason": self.reason}  # fmt: skip

    def message(self) -> str:
        kept = (f"kept {self.kept.source} ({self.kept.value!r}: {self.kept.detail})" if self.kept
                else "nothing else says it")  # fmt: skip
        return (f"conflict on {self.pointer}: {self.rejected.source} says {self.rejected.value!r} "
                f"({self.rejected.detail}); {kept}: {self.reason}")  # fmt: skip
