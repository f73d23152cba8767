"""IGA-H003: the model would be sampled with the wrong prediction type."""

from __future__ import annotations

from iga_core.guard import host_settings
from iga_core.guard.rules import Observation, rule

_NAMES = {"eps": "epsilon (eps)", "v": "v-prediction", "x0": "sample (x0)", "flow": "flow matching"}


@rule("IGA-H003", "hard", ("prediction_type", "host", "prediction_set_by"),
      title="prediction type differs from the recipe's (when the host knows it)",
      remedy="load the model as the recipe's prediction type (e.g. a v-pred model as v)")
def wrong_prediction_type(ctx):
    """A v-prediction model run as epsilon (or the reverse) gives grey or burnt images whatever the other
    settings; checked only when the host reports the prediction type it will use. The remedy names the file
    that host reads the prediction type from, when the request says which host runs it, or what else set it
    there (`prediction_set_by`: reForge's Advanced Model Sampling script, or its patch left on the model)."""
    expected = ctx.recipe.prediction_type
    if ctx.prediction_type is None or ctx.prediction_type == expected:
        return
    yield Observation("prediction_type", expected, ctx.prediction_type,
                      f"this model predicts {_NAMES[expected]}, but the request runs it as "
                      f"{_NAMES[ctx.prediction_type]}",
                      host_settings.remedy(ctx.request.host, "IGA-H003", expected, ctx.request.prediction_set_by)
                      or f"use prediction type {expected}",
                      {"prediction_type": expected})
