"""Civitai Helper's `<checkpoint>.civitai.info` (the model-version API response): the base model, the
model name, and the parameters of the example images (weak evidence: images show what worked once)."""

from __future__ import annotations

import statistics
from collections import Counter

from iga_core.recipe.aliases import normalize_architecture
from iga_core.reconstruct.evidence import Evidence
from iga_core.reconstruct.sources._common import parse_int, parse_size, profile_evidence

SOURCE = "civitai"
WEAK = 0.25


def collect(ctx) -> list[Evidence]:
    path = ctx.beside(".civitai.info")
    info = ctx.read_json(path)
    if not isinstance(info, dict):
        return []
    out: list[Evidence] = []
    base = info.get("baseModel")
    if isinstance(base, str) and base.strip():
        family = normalize_architecture(base)
        if family:
            out.append(Evidence("/architecture", family, SOURCE, f"baseModel = {base!r}", 0.7))
        out += profile_evidence(base, SOURCE, "baseModel", 0.6)
    model = info.get("model") if isinstance(info.get("model"), dict) else {}
    name = " ".join(str(x) for x in (model.get("name"), info.get("name")) if isinstance(x, str) and x.strip())
    if name:
        out.append(Evidence("/title", name[:200], SOURCE, "model and version name", 0.6))
        out += profile_evidence(name, SOURCE, "model name", 0.55)
    return out + _from_images(ctx, info.get("images"))


def _from_images(ctx, images) -> list[Evidence]:
    metas = [img.get("meta") for img in images if isinstance(img, dict)] if isinstance(images, list) else []
    metas = [m for m in metas if isinstance(m, dict)]
    if not metas:
        return []
    what = f"{len(metas)} example image(s)"
    out: list[Evidence] = []
    samplers = Counter(
        m["sampler"] for m in metas if isinstance(m.get("sampler"), str) and m["sampler"].strip()
    )
    if samplers:
        out += _sampler_evidence(ctx, samplers.most_common(1)[0][0], what)
    steps = [s for s in (parse_int(m.get("steps"), 1, 10000) for m in metas) if s]
    if steps:
        out.append(Evidence("/steps", {"default": int(statistics.median_low(steps))}, SOURCE,
                            f"median steps of {what}", WEAK))  # fmt: skip
    cfgs = [c for c in (_number(m.get("cfgScale")) for m in metas) if c is not None and 0 <= c <= 100]
    if cfgs:
        out.append(Evidence("/cfg", {"default": float(statistics.median_low(cfgs))}, SOURCE,
                            f"median CFG of {what}", WEAK))  # fmt: skip
    skips = Counter(s for s in (parse_int(m.get("clipSkip", m.get("Clip skip")), 1, 12) for m in metas) if s)
    if skips:
        out.append(
            Evidence(
                "/clip_skip", skips.most_common(1)[0][0], SOURCE, f"most common clip skip of {what}", WEAK
            )
        )
    sizes = Counter(str(m["Size"]) for m in metas if parse_size(m.get("Size", "")))
    if sizes:
        size = parse_size(sizes.most_common(1)[0][0])
        out.append(Evidence("/resolution/preferred", [size], SOURCE, f"most common size of {what}", WEAK))
    return out


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _sampler_evidence(ctx, name: str, what: str) -> list[Evidence]:
    from iga_core import vocab

    try:
        sampler, schedule = vocab.normalize(name, None)
    except vocab.UnknownName:
        ctx.findings.append(
            f"civitai example images use sampler {name!r}, which the vocabulary does not know"
        )
        return []
    out = [Evidence("/sampler/name", sampler.label, SOURCE, f"most common sampler of {what}: {name!r}", WEAK)]
    if schedule is not None and name.strip() != sampler.label:
        out.append(
            Evidence("/scheduler/name", schedule.label, SOURCE, f"from the sampler name {name!r}", WEAK)
        )
    return out
