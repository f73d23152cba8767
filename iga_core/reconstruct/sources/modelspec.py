"""Stability AI ModelSpec keys (`modelspec.*`) in the header metadata.

The architecture id is read through `iga_core.recipe.aliases.modelspec_architecture` (the spec's, kohya's and
SwarmUI's ids: family, variant, adapter, and what the id itself fixes, e.g. `…-768-v` = v-prediction). The
writer is recorded when it can be told: kohya sd-scripts sets `modelspec.implementation_version` to
`sd-scripts/<commit>` and titles unnamed outputs `LoRA@<timestamp>` / `Checkpoint@<timestamp>`
(library/sai_model_spec.py), and writes its `ss_*` keys beside them; `iga_core.reconstruct.weigh` uses that
to discount the `prediction_type = epsilon` kohya writes into models that cannot be epsilon."""

from __future__ import annotations

import re

from iga_core.recipe.aliases import modelspec_architecture, normalize_architecture, normalize_prediction_type
from iga_core.reconstruct.evidence import MODEL, PROFILE, Evidence
from iga_core.reconstruct.sources._common import parse_int, parse_size, profile_evidence

SOURCE = "modelspec"
KOHYA = "kohya sd-scripts"
_KOHYA_TITLE = re.compile(r"^(LoRA|Checkpoint|TextualInversion)@\d+(\.\d+)?$")


def writer(meta: dict[str, str]) -> str | None:
    version = meta.get("modelspec.implementation_version", "")
    if version.startswith("sd-scripts/") or _KOHYA_TITLE.match(meta.get("modelspec.title", "")):
        return KOHYA
    if any(k.startswith("ss_") for k in meta):
        return KOHYA
    return None


def collect(ctx) -> list[Evidence]:
    meta = ctx.metadata
    out: list[Evidence] = []
    by = writer(meta) if any(k.startswith("modelspec.") for k in meta) else None

    def said(key: str) -> str | None:
        value = meta.get(f"modelspec.{key}")
        return value.strip() if isinstance(value, str) and value.strip() else None

    arch = said("architecture")
    if arch:
        out += _architecture(ctx, arch, by)
    pred = said("prediction_type")
    if pred:
        value = normalize_prediction_type(pred)
        if value:
            out.append(Evidence("/prediction_type", value, SOURCE, f"modelspec.prediction_type = {pred!r}"
                                + (f" (written by {by})" if by else ""), 0.95, writer=by))  # fmt: skip
        else:
            ctx.findings.append(f"modelspec.prediction_type {pred!r} is not a prediction type iga knows")
    res = said("resolution")
    if res and parse_size(res):
        out.append(
            Evidence(
                "/resolution/preferred", [parse_size(res)], SOURCE, f"modelspec.resolution = {res!r}", 0.8
            )
        )
    layer = said("encoder_layer")
    if layer and parse_int(layer, 1, 12):
        out.append(
            Evidence(
                "/clip_skip", parse_int(layer, 1, 12), SOURCE, f"modelspec.encoder_layer = {layer!r}", 0.8
            )
        )
    title = said("title")
    if title and not (by == KOHYA and _KOHYA_TITLE.match(title)):
        out.append(Evidence("/title", title[:200], SOURCE, "modelspec.title", 0.9))
        out += profile_evidence(title, SOURCE, "modelspec.title", 0.6)
    hint = said("usage_hint")
    if hint:
        out.append(
            Evidence("/notes", f"Author's usage hint: {hint}"[:2000], SOURCE, "modelspec.usage_hint", 0.9)
        )
    steps = said("timestep_range")
    if steps:
        ctx.findings.append(
            f"modelspec.timestep_range = {steps!r}: a timestep-expert model (not expressed in the recipe)"
        )
    return out


def _architecture(ctx, arch: str, by: str | None) -> list[Evidence]:
    detail = f"modelspec.architecture = {arch!r}" + (f" (written by {by})" if by else "")
    kind = modelspec_architecture(arch)
    if kind is None:
        family = normalize_architecture(arch.partition("/")[0])
        ctx.findings.append(f"modelspec.architecture {arch!r} is not an id iga knows"
                            + (f"; read as {family}" if family else ""))  # fmt: skip
        return [Evidence("/architecture", family, SOURCE, detail, 0.6)] if family else []
    out = [Evidence("/architecture", kind.architecture, SOURCE, detail, 0.9)]
    model = {"kind": kind.adapter if kind.adapter in ("lora", "textual-inversion", "vae") else "checkpoint",
             "family": kind.family}  # fmt: skip
    if kind.variant:
        model["variant"] = kind.variant
    out.append(Evidence(MODEL, model, SOURCE, detail, 0.9))
    if kind.adapter:
        ctx.findings.append(f"modelspec.architecture {arch!r} describes a {kind.adapter}, not a full checkpoint")
    if kind.prediction_type:  # the id itself says it: stable-diffusion-v2-768-v
        out.append(Evidence("/prediction_type", kind.prediction_type, SOURCE, detail, 0.9, writer=by))
    if kind.profile:
        out.append(Evidence(PROFILE, {"profile": kind.profile, "n": None, "cfg": False}, SOURCE,
                            f"{detail} is {kind.profile}", 0.8))  # fmt: skip
    else:
        out += profile_evidence(arch.partition("/")[0], SOURCE, "modelspec.architecture", 0.8)
    return out
