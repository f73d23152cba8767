"""IGA-H003: the model would be sampled with the wrong prediction type."""

from __future__ import annotations

from iga_core.guard.rules import Observation, rule

_NAMES = {"eps": "epsilon (eps)", "v": "v-prediction", "x0": "sample (x0)", "flow": "flow matching"}


@rule("IGA-H003", "hard", ("prediction_type",),
      title="prediction type differs from the recipe's (when the host knows it)",
      remedy="load the model as the recipe's prediction type (e.g. a v-pred model as v)")
def wrong_prediction_type(ctx):
    """A v-prediction model run as epsilon (or the reverse) gives grey or burnt images whatever the other
    settings; checked only when the host reports the prediction type it will use."""
    expected = ctx.recipe.prediction_type
    if ctx.prediction_type is None or ctx.prediction_type == expected:
        return
    yield Observation("prediction_type", expected, ctx.prediction_type,
                      f"this model predicts {_NAMES[expected]}, but the request runs it as "
                      f"{_NAMES[ctx.prediction_type]}",
                      f"use prediction type {expected}", {"prediction_type": expected})
