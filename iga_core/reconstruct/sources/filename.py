"""The file's own name: distilled models are usually named after how they must be sampled
("sdxl_lightning_4step", "Hyper-SDXL-8steps-CFG", "…turbo…", "…lcm…", "dmd2…", "…schnell…")."""

from __future__ import annotations

from iga_core.recipe.aliases import normalize_architecture
from iga_core.reconstruct.evidence import Evidence
from iga_core.reconstruct.sources._common import profile_evidence

SOURCE = "file-name"


def collect(ctx) -> list[Evidence]:
    out = profile_evidence(ctx.stem, SOURCE, "file name", 0.5)
    out.append(
        Evidence("/model_id", ctx.stem[:200] or "checkpoint", SOURCE, f"file name {ctx.path.name!r}", 0.5)
    )
    out.append(
        Evidence("/title", ctx.stem[:200] or "checkpoint", SOURCE, f"file name {ctx.path.name!r}", 0.3)
    )
    family = normalize_architecture(ctx.stem)
    if family and family != "other":
        out.append(Evidence("/architecture", family, SOURCE, f"file name {ctx.path.name!r}", 0.35))
    return out
