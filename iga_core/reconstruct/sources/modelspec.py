"""Stability AI ModelSpec keys (`modelspec.*`) in the header metadata."""

from __future__ import annotations

from iga_core.recipe.aliases import normalize_architecture, normalize_prediction_type
from iga_core.reconstruct.evidence import Evidence
from iga_core.reconstruct.sources._common import parse_int, parse_size, profile_evidence

SOURCE = "modelspec"


def collect(ctx) -> list[Evidence]:
    meta = ctx.metadata
    out: list[Evidence] = []

    def said(key: str) -> str | None:
        value = meta.get(f"modelspec.{key}")
        return value.strip() if isinstance(value, str) and value.strip() else None

    arch = said("architecture")
    if arch:
        base, _, adapter = arch.partition("/")
        if adapter:
            ctx.findings.append(
                f"modelspec.architecture {arch!r} describes a {adapter}, not a full checkpoint"
            )
        family = normalize_architecture(base)
        if family:
            out.append(Evidence("/architecture", family, SOURCE, f"modelspec.architecture = {arch!r}", 0.9))
        if base.endswith("-v"):  # e.g. stable-diffusion-v2-768-v: the id itself says v-prediction
            out.append(Evidence("/prediction_type", "v", SOURCE, f"modelspec.architecture = {arch!r}", 0.8))
        out += profile_evidence(base, SOURCE, "modelspec.architecture", 0.8)
    pred = said("prediction_type")
    if pred:
        value = normalize_prediction_type(pred)
        if value:
            out.append(
                Evidence("/prediction_type", value, SOURCE, f"modelspec.prediction_type = {pred!r}", 0.95)
            )
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
    if title:
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
