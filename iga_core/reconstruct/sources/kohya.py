"""kohya-ss/sd-scripts training metadata (`ss_*`): what the model was trained as."""

from __future__ import annotations

import re

from iga_core.recipe.aliases import normalize_architecture
from iga_core.reconstruct.evidence import Evidence
from iga_core.reconstruct.sources._common import parse_int, parse_size, truthy

SOURCE = "kohya"


def collect(ctx) -> list[Evidence]:
    meta = ctx.metadata
    out: list[Evidence] = []
    version = meta.get("ss_base_model_version", "").strip()
    if version:
        family = normalize_architecture(version)
        if family:
            out.append(
                Evidence("/architecture", family, SOURCE, f"ss_base_model_version = {version!r}", 0.75)
            )
        if re.search(r"_v$|v_?pred", version):  # sd_v2_v: trained with v-parameterization
            out.append(Evidence("/prediction_type", "v", SOURCE, f"ss_base_model_version = {version!r}", 0.8))
    if truthy(meta.get("ss_v2", "")) and not version:
        out.append(Evidence("/architecture", "sd2", SOURCE, "ss_v2 = True", 0.6))
    if truthy(meta.get("ss_zero_terminal_snr", "")):
        out.append(Evidence("/scheduler/zero_terminal_snr", True, SOURCE, "ss_zero_terminal_snr = True", 0.6))
    skip = parse_int(meta.get("ss_clip_skip", ""), 1, 12)
    if skip:
        out.append(Evidence("/clip_skip", skip, SOURCE, f"ss_clip_skip = {skip}", 0.55))
    size = parse_size(meta.get("ss_resolution", ""))
    if size:
        out.append(
            Evidence(
                "/resolution/preferred", [size], SOURCE, f"ss_resolution = {meta['ss_resolution']!r}", 0.5
            )
        )
    return out
