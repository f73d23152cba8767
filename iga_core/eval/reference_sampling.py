"""Sample the reference network with real diffusers schedulers, as a host would sample a checkpoint.

`ReferenceGenerator(variant)` is a `generate(params) -> image` function for the protocol runner. Sampler
and schedule names go through `iga_core.vocab.normalize` (any dialect, combined names like
"DPM++ 2M Karras", "Automatic"), then through `data/reference_samplers.json` to a diffusers scheduler
class and config. `params["prediction_type"]` is what the *host* believes the model predicts; leaving it
out uses the variant's true type, setting it wrong reproduces a prediction-type mismatch.

Each seed has its own `torch.Generator`, for the initial noise and for the noise ancestral/SDE steps
add, so an image depends only on its own seed and `generate_batch` equals one-by-one generation
(up to floating-point rounding in the batched matrix products).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import diffusers
import numpy as np
import torch

from iga_core.eval.errors import EvalConfigInvalid
from iga_core.eval.reference_model import (
    SD_BETAS,
    VARIANTS,
    GaussianMixtureImages,
    MixtureSpec,
    ReferenceNetwork,
    ReferenceVariant,
)

DATA_FILE = Path(__file__).with_name("data") / "reference_samplers.json"


@cache
def sampler_table() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class SchedulerChoice:
    """The scheduler a (sampler, schedule, prediction type) request turned into, for the report."""

    sampler_id: str
    schedule_id: str | None
    class_name: str
    config: dict
    dropped: dict  # schedule flags a timestep sampler ignores (as the host's DDIM / UniPC do); else empty

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def choose_scheduler(sampler: str, schedule: str | None, prediction_type: str) -> SchedulerChoice:
    from iga_core.vocab import normalize

    table = sampler_table()
    sampler_info, schedule_info = normalize(sampler, schedule)
    entry = table["samplers"].get(sampler_info.id)
    if entry is None:
        raise EvalConfigInvalid(
            f"the reference model has no diffusers scheduler for sampler {sampler_info.label!r}",
            f"use one of: {', '.join(sorted(table['samplers']))}",
        )
    schedule_id = schedule_info.id if schedule_info is not None else None
    flags = {}
    if schedule_id is not None:
        if schedule_id not in table["schedules"]:
            raise EvalConfigInvalid(
                f"the reference model has no diffusers equivalent of schedule {schedule_info.label!r}",
                f"use one of: {', '.join(sorted(table['schedules']))}",
            )
        flags = table["schedules"][schedule_id]
    if prediction_type not in table["prediction_types"]:
        raise EvalConfigInvalid(
            f"unknown prediction type {prediction_type!r}", f"use one of: {', '.join(table['prediction_types'])}"
        )
    cls = getattr(diffusers, entry["class"])
    accepted = set(inspect.signature(cls.__init__).parameters)
    sd_config = {k: v for k, v in table["sd_config"].items() if k in accepted}
    config = {**SD_BETAS, **sd_config, **entry["config"], "prediction_type": table["prediction_types"][prediction_type]}
    if entry.get("ignores_schedule"):
        # a timestep sampler: the host runs its own spacing whatever the schedule type says
        ignored = {"schedule": schedule} if schedule not in (None, "", "Automatic") else {}
        return SchedulerChoice(sampler_info.id, schedule_id, entry["class"], config, {**ignored, **flags})
    missing = {k: v for k, v in flags.items() if k not in accepted}
    if missing:
        raise EvalConfigInvalid(
            f"diffusers' {entry['class']} cannot run {sampler_info.label!r} with the {schedule_info.label} schedule "
            f"(it takes no {', '.join(missing)}), while the WebUI would",
            "leave the schedule out for this sampler or drop the sampler: running it on another schedule than the "
            "other values would confound the comparison",
        )
    config.update(flags)
    return SchedulerChoice(sampler_info.id, schedule_id, entry["class"], config, {})


def build_scheduler(choice: SchedulerChoice):
    return getattr(diffusers, choice.class_name)(**choice.config)


class ReferenceGenerator:
    """generate(params) -> HxWx3 float image in [0, 1] for one variant of the reference model.

    params: sampler, schedule, steps, cfg, seed, prompt, and optionally width/height (must equal the
    mixture's size) and prediction_type (the host's belief; default: the variant's true type).
    """

    def __init__(self, variant: str | ReferenceVariant, mixture: GaussianMixtureImages | None = None) -> None:
        if isinstance(variant, str):
            if variant not in VARIANTS:
                raise EvalConfigInvalid(f"unknown reference variant {variant!r}", f"use one of: {', '.join(VARIANTS)}")
            variant = VARIANTS[variant]
        self.variant = variant
        self.mixture = mixture or GaussianMixtureImages(MixtureSpec())
        self.network = ReferenceNetwork(variant, self.mixture)

    def describe(self, params: dict) -> dict:
        """What a params dict means for this model (scheduler class, config, dropped flags)."""
        choice = choose_scheduler(params["sampler"], params.get("schedule"), self._prediction(params))
        return choice.to_dict()

    def _prediction(self, params: dict) -> str:
        return params.get("prediction_type") or self.variant.prediction_type

    def __call__(self, params: dict) -> np.ndarray:
        return self.generate_batch(params, [int(params["seed"])])[0]

    def generate_batch(self, params: dict, seeds: list[int]) -> np.ndarray:
        size = self.mixture.spec.size
        for key in ("width", "height"):
            if params.get(key) not in (None, size):
                raise EvalConfigInvalid(
                    f"the reference model makes {size}x{size} images, {key} {params[key]} was asked",
                    f"set width and height to {size}",
                )
        steps = int(params["steps"])
        if steps < 1:
            raise EvalConfigInvalid(f"steps must be at least 1, got {steps}", "use a positive step count")
        scheduler = build_scheduler(choose_scheduler(params["sampler"], params.get("schedule"), self._prediction(params)))
        scheduler.set_timesteps(steps)
        generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        shape = (1, *self.mixture.shape)
        x = torch.cat([torch.randn(shape, generator=g, dtype=torch.float64) for g in generators])
        x = x * scheduler.init_noise_sigma
        takes_generator = "generator" in inspect.signature(scheduler.step).parameters
        step_kwargs = {"generator": generators} if takes_generator else {}
        cfg, prompt = float(params.get("cfg", 1.0)), params.get("prompt")
        with torch.no_grad():
            for t in scheduler.timesteps:
                model_in = scheduler.scale_model_input(x, t)
                out = self.network(model_in, float(t), prompt, cfg)
                x = scheduler.step(out, t, x, **step_kwargs).prev_sample
        images = ((x.numpy() + 1.0) / 2.0).transpose(0, 2, 3, 1)  # N x H x W x 3; NaN stays NaN
        return np.clip(images, 0.0, 1.0)
