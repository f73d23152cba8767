"""kohya-ss/sd-scripts training metadata (`ss_*`): what the model was trained as.

Written by train_network.py (LoRA and other networks) and the fine-tuning scripts, all values strings:
`ss_network_module` (set only for networks: `networks.lora`, `lycoris.kohya`, …), `ss_base_model_version`
(`sd_v1`, `sd_v2_v`, `sdxl_base_v1-0`, `5-large`, `flux1`, …: `iga_core.recipe.aliases.kohya_base_model`),
`ss_v2`, `ss_zero_terminal_snr`, `ss_clip_skip`, `ss_resolution` (str() of the training resolution: the tuple
`(768, 768)` train_util.py makes of `--resolution`, or the raw `768` / `768,768` / `[768, 768]` older versions
and GUIs wrote), `ss_datasets` (JSON; each dataset's `resolution` as `[w, h]` when a dataset config was used),
and the base model it was trained on: `ss_sd_model_name`, `ss_sd_model_hash` (A1111's old 8-hex AutoV1 of that
file, train_util.model_hash), `ss_new_sd_model_hash` (its full-file sha256)."""

from __future__ import annotations

import json
import re

from iga_core.checkpoint.training import trained_on
from iga_core.recipe.aliases import kohya_base_model, normalize_architecture
from iga_core.reconstruct.evidence import MODEL, Evidence
from iga_core.reconstruct.sources._common import parse_int, parse_size, truthy

SOURCE = "kohya"
_SINGLE = re.compile(r"^\s*[(\[]?\s*(\d{2,5})\s*,?\s*[)\]]?\s*$")


def resolution(text: object) -> dict | None:
    """Every form kohya's `ss_resolution` takes: "(768, 768)", "[768, 768]", "768,768", "768x768", "768"."""
    size = parse_size(str(text).replace("[", "(").replace("]", ")"))
    if size is not None:
        return size
    m = _SINGLE.match(str(text))
    return parse_size(f"{m[1]}x{m[1]}") if m else None


def collect(ctx) -> list[Evidence]:
    meta = ctx.metadata
    out: list[Evidence] = []
    module = meta.get("ss_network_module", "").strip()
    if module:
        out.append(Evidence(MODEL, {"kind": "lora"}, SOURCE, f"ss_network_module = {module!r}: a network "
                            "trained by kohya sd-scripts (LoRA / LyCORIS / …), not a checkpoint", 0.9))  # fmt: skip
    version = meta.get("ss_base_model_version", "").strip()
    if version:
        kind = kohya_base_model(version)
        family = kind.architecture if kind else normalize_architecture(version)
        if family:
            out.append(Evidence("/architecture", family, SOURCE, f"ss_base_model_version = {version!r}", 0.75))
        if kind is not None and (kind.family != kind.architecture or module):
            out.append(Evidence(MODEL, {"family": kind.family, **({"kind": "lora"} if module else {})}, SOURCE,
                                f"ss_base_model_version = {version!r}", 0.75))  # fmt: skip
        if (kind and kind.prediction_type == "v") or (kind is None and re.search(r"_v$|v_?pred", version)):
            out.append(Evidence("/prediction_type", "v", SOURCE, f"ss_base_model_version = {version!r}", 0.8))
    if truthy(meta.get("ss_v2", "")) and not version:
        out.append(Evidence("/architecture", "sd2", SOURCE, "ss_v2 = True", 0.6))
    if truthy(meta.get("ss_zero_terminal_snr", "")):
        out.append(Evidence("/scheduler/zero_terminal_snr", True, SOURCE, "ss_zero_terminal_snr = True", 0.6))
    skip = parse_int(meta.get("ss_clip_skip", ""), 1, 12)
    if skip:
        out.append(Evidence("/clip_skip", skip, SOURCE, f"ss_clip_skip = {skip}", 0.55))
    size = resolution(meta.get("ss_resolution", ""))
    if size:
        out.append(Evidence("/resolution/preferred", [size], SOURCE,
                            f"ss_resolution = {meta['ss_resolution']!r}", 0.5))  # fmt: skip
    else:
        out += _dataset_sizes(meta)
    base = trained_on(meta)
    if base is not None:
        ctx.findings.append(f"trained on {base.describe()}; `iga inspect FILE --base CHECKPOINT` compares a "
                            "checkpoint with it")  # fmt: skip
    return out


def _dataset_sizes(meta: dict[str, str]) -> list[Evidence]:
    try:
        datasets = json.loads(meta.get("ss_datasets", "") or "null")
    except (ValueError, RecursionError):
        return []
    sizes = []
    for d in datasets if isinstance(datasets, list) else []:
        reso = d.get("resolution") if isinstance(d, dict) else None
        if isinstance(reso, list) and len(reso) == 2 and all(isinstance(x, int) for x in reso):
            size = parse_size(f"{reso[0]}x{reso[1]}")
            if size and size not in sizes:
                sizes.append(size)
    if not sizes:
        return []
    return [Evidence("/resolution/preferred", sizes, SOURCE, "ss_datasets: the datasets' training resolutions", 0.5)]
