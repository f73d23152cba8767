"""Civitai Helper's `<checkpoint>.civitai.info` (the model-version API response): the base model, the
model name, and the parameters of the example images (weak evidence: images show what worked once).

The info is first checked against the file's hashes (`iga_core.checkpoint.civitai_info.check`): an info saved
for another file says nothing about this one and is not used. `baseModel` is read through CivitAI's own list
(`iga_core.recipe.aliases.civitai_base_model`: "SD 2.1 768" is v-prediction, "Pony V7" AuraFlow, "Flux.2 D"
FLUX.2), never through free-text patterns when the list knows the name."""

from __future__ import annotations

import statistics
from collections import Counter

from iga_core.checkpoint.civitai_info import check
from iga_core.recipe.aliases import civitai_base_model, normalize_architecture
from iga_core.reconstruct.evidence import MODEL, PROFILE, Evidence
from iga_core.reconstruct.sources._common import parse_int, parse_size, profile_evidence

SOURCE = "civitai"
WEAK = 0.25


def collect(ctx) -> list[Evidence]:
    path = ctx.beside(".civitai.info")
    info = ctx.read_json(path)
    if not isinstance(info, dict):
        return []
    verdict = check(ctx.path, info, info_name=path.name)
    if not verdict.usable:
        ctx.findings.append(verdict.message)
        return []
    if verdict.status == "unchecked":
        ctx.findings.append(verdict.message)
    out: list[Evidence] = []
    base = info.get("baseModel")
    if isinstance(base, str) and base.strip():
        out += _base_model(ctx, base)
    model = info.get("model") if isinstance(info.get("model"), dict) else {}
    name = " ".join(str(x) for x in (model.get("name"), info.get("name")) if isinstance(x, str) and x.strip())
    if name:
        out.append(Evidence("/title", name[:200], SOURCE, "model and version name", 0.6))
        out += profile_evidence(name, SOURCE, "model name", 0.55)
    return out + _from_images(ctx, info.get("images"))


def _base_model(ctx, base: str) -> list[Evidence]:
    detail = f"baseModel = {base!r}"
    kind = civitai_base_model(base)
    if kind is None:
        family = normalize_architecture(base)
        ctx.findings.append(f"civitai baseModel {base!r} is not in CivitAI's list of base models iga knows"
                            + (f"; read as {family}" if family else ""))  # fmt: skip
        return ([Evidence("/architecture", family, SOURCE, detail, 0.5)] if family else []) + profile_evidence(
            base, SOURCE, "baseModel", 0.6
        )
    out = [Evidence("/architecture", kind.architecture, SOURCE, detail, 0.7)]
    model = {"family": kind.family, **({"variant": kind.variant} if kind.variant else {})}
    out.append(Evidence(MODEL, model, SOURCE, detail, 0.7))
    if kind.prediction_type:
        out.append(Evidence("/prediction_type", kind.prediction_type, SOURCE, detail, 0.7))
    if kind.profile:
        out.append(Evidence(PROFILE, {"profile": kind.profile, "n": None, "cfg": False}, SOURCE,
                            f"{detail} is {kind.profile}", 0.6))  # fmt: skip
    if kind.note:
        ctx.findings.append(f"civitai {detail}: {kind.note}")
    if kind.family in ("video", "hosted"):
        ctx.findings.append(f"civitai {detail}: {kind.describe()}")
    return out


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
