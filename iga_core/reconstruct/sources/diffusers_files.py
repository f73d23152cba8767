"""A diffusers layout around the file: `scheduler_config.json` (how the authors sample) and
`model_index.json` (which pipeline, hence which family), in the file's folder or its parent."""

from __future__ import annotations

from pathlib import Path

from iga_core.recipe.aliases import diffusers_pipeline, normalize_prediction_type
from iga_core.reconstruct.evidence import MODEL, PROFILE, Evidence
from iga_core.reconstruct.sources._common import profile_evidence

SOURCE = "diffusers"
_SHARED = ("StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline",
           "StableDiffusionInstructPix2PixPipeline", "LatentConsistencyModelPipeline")  # fmt: skip


def _candidates(ctx, *relative: str) -> list[Path]:
    folder = ctx.path.parent
    return [base / rel for base in (folder, folder.parent) for rel in relative]


def _first_json(ctx, *relative: str) -> tuple[Path | None, dict | None]:
    for path in _candidates(ctx, *relative):
        data = ctx.read_json(path)
        if isinstance(data, dict):
            return path, data
    return None, None


def collect(ctx) -> list[Evidence]:
    return _scheduler(ctx) + _model_index(ctx)


def _scheduler(ctx) -> list[Evidence]:
    path, config = _first_json(ctx, "scheduler_config.json", "scheduler/scheduler_config.json")
    if config is None:
        return []
    where = f"{path.parent.name}/{path.name}"
    out: list[Evidence] = []
    cls = config.get("_class_name")
    pred = config.get("prediction_type")
    if isinstance(cls, str) and "FlowMatch" in cls:
        out.append(Evidence("/prediction_type", "flow", SOURCE, f"{where}: {cls}", 0.9))
    elif isinstance(pred, str) and normalize_prediction_type(pred):
        out.append(Evidence("/prediction_type", normalize_prediction_type(pred), SOURCE,
                            f"{where}: prediction_type = {pred!r}", 0.9))  # fmt: skip
    spacing = config.get("timestep_spacing")
    if spacing in ("leading", "linspace", "trailing"):
        out.append(
            Evidence("/scheduler/spacing", spacing, SOURCE, f"{where}: timestep_spacing = {spacing!r}", 0.9)
        )
    if config.get("rescale_betas_zero_snr") is True:
        out.append(
            Evidence("/scheduler/zero_terminal_snr", True, SOURCE, f"{where}: rescale_betas_zero_snr", 0.9)
        )
    if isinstance(cls, str):
        out += _sampler_from_class(ctx, cls, config, where)
        out += profile_evidence(cls, SOURCE, f"{where}: scheduler class", 0.6)
    return out


def _sampler_from_class(ctx, cls: str, config: dict, where: str) -> list[Evidence]:
    from iga_core import vocab

    try:
        sampler, schedule, _spacing = vocab.from_diffusers(cls, config)
    except vocab.UnknownName:
        ctx.findings.append(f"{where}: scheduler class {cls!r} is not in the vocabulary; sampler not read")
        return []
    out = [Evidence("/sampler/name", sampler.label, SOURCE, f"{where}: {cls}", 0.7)]
    if schedule is not None:
        out.append(Evidence("/scheduler/name", schedule.label, SOURCE, f"{where}: {cls} config", 0.7))
    return out


def _model_index(ctx) -> list[Evidence]:
    """The pipeline class names the family; a class several families share (StableDiffusionPipeline runs
    SD 1.x and 2.x) is decided by `unet/config.json` (`iga_core.recipe.aliases.diffusers_pipeline`)."""
    path, index = _first_json(ctx, "model_index.json")
    if index is None:
        return []
    cls = index.get("_class_name")
    if not isinstance(cls, str):
        return []
    unet = ctx.read_json(path.parent / "unet" / "config.json")
    kind = diffusers_pipeline(cls, unet if isinstance(unet, dict) else None)
    where = f"{path.parent.name}/model_index.json: {cls}"
    if kind is None:
        ctx.findings.append(f"{where}: " + ("a pipeline several model families share, and unet/config.json "
                            "does not say which" if cls in _SHARED else "a pipeline iga does not know"))  # fmt: skip
        return []
    detail = kind.matched.replace("model_index.json", f"{path.parent.name}/model_index.json")
    out = [Evidence("/architecture", kind.architecture, SOURCE, detail, 0.8)]
    model = {"kind": "checkpoint", "family": kind.family, **({"variant": kind.variant} if kind.variant else {})}
    out.append(Evidence(MODEL, model, SOURCE, detail, 0.8))
    if kind.profile:
        out.append(Evidence(PROFILE, {"profile": kind.profile, "n": None, "cfg": False}, SOURCE, detail, 0.8))
    return out
