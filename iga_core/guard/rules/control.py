"""IGA-S007 a control adapter the recipe does not list; IGA-S008 a listed adapter's weight or guidance
outside the recipe's hint.

Checked only where the host exposes its control units (`GuardRequest.control`; the WebUI reads them from
the ControlNet script's arguments, the API and CLI take them as JSON) and only when the recipe says
something about adapters (`control`, schema 1.1.0). Soft: an adapter changes the result, it does not break
the model's sampling.
"""

from __future__ import annotations

from iga_core.guard.control import kind_label
from iga_core.guard.rules import Observation, rule


def label(adapter) -> str:
    """"ControlNet control_v11p_sd15_canny (canny)": an adapter of the recipe as findings name it."""
    names = " ".join(x for x in (adapter.model, f"({adapter.preprocessor})" if adapter.preprocessor else None) if x)
    return f"{kind_label(adapter.kind)} {names}".strip()


def _listed(recipe):
    control = recipe.control
    return control.adapters or () if control is not None else ()


def _match(recipe, unit):
    return next((a for a in _listed(recipe) if a.matches(unit.kind, unit.model, unit.preprocessor)), None)


def _names(recipe) -> list[str]:
    return [label(a) for a in _listed(recipe)]


@rule("IGA-S007", "soft", ("control",),
      title="control adapter the recipe does not list",
      remedy="use an adapter the recipe lists (or leave the unit off)")
def unlisted_adapter(ctx):
    """A recipe whose `control.unlisted` is "warn": a ControlNet made for another base model, or an
    IP-Adapter the author found harmful, gives poor results without any error."""
    control, units = ctx.recipe.control, ctx.request.control
    if control is None or control.unlisted != "warn" or not units:
        return
    for i, unit in enumerate(units):
        if _match(ctx.recipe, unit) is None:
            names = _names(ctx.recipe)
            yield Observation("control", names or "no adapter", unit.label(),
                              f"control unit {i + 1}, {unit.label()}, is not among the adapters this model's recipe lists",
                              f"use {' or '.join(names)}, or leave the unit off" if names else "leave the unit off",
                              {"control": _conforming(ctx.recipe, units)})


def _conforming(recipe, units) -> list[dict]:
    """The units as the recipe's hints have them: unlisted ones left off (when the recipe warns about them),
    each listed one's weight and guidance moved into its hint. The machine-readable fix of both rules, so
    applying any one finding's fix clears every control finding."""
    warn = recipe.control is not None and recipe.control.unlisted == "warn"
    out = []
    for unit in units:
        adapter = _match(recipe, unit)
        if adapter is None:
            if not warn:
                out.append(unit.to_dict())
            continue
        fixed = unit.to_dict()
        for key in ("weight", "guidance_start", "guidance_end"):
            hint, value = getattr(adapter, key), getattr(unit, key)
            if _outside(hint, value):
                fixed[key] = _nearest(hint, value)
        out.append(fixed)
    return out


def _outside(hint, value):
    return hint is not None and value is not None and not hint.contains(value)


def _span(hint) -> str:
    lo, hi = hint.min, hint.max
    if lo is not None and hi is not None:
        return f"{lo:g}–{hi:g}"
    return f"at least {lo:g}" if lo is not None else f"at most {hi:g}"


def _nearest(hint, value: float) -> float:
    if hint.min is not None and value < hint.min:
        return hint.min
    return hint.max if hint.max is not None and value > hint.max else value


@rule("IGA-S008", "soft", ("control",),
      title="control adapter weight or guidance range outside the recipe's hint",
      remedy="use the weight and guidance range the recipe gives for that adapter")
def adapter_outside_hint(ctx):
    """Distilled models take control at lower weights (a Lightning checkpoint with a ControlNet at weight
    1.0 over-bakes), and some adapters only work over part of the steps: the recipe's hint says where."""
    units = ctx.request.control
    if not units or ctx.recipe.control is None:
        return
    for i, unit in enumerate(units):
        adapter = _match(ctx.recipe, unit)
        if adapter is None:
            continue
        for key, what in (("weight", "weight"), ("guidance_start", "guidance start"), ("guidance_end", "guidance end")):
            hint, value = getattr(adapter, key), getattr(unit, key)
            if _outside(hint, value):
                yield Observation("control", {key: hint.bounds()}, {key: value},
                                  f"control unit {i + 1}, {unit.label()}: {what} {value:g} is outside this model's "
                                  f"hint {_span(hint)} for {label(adapter)}",
                                  f"use {what} {_nearest(hint, value):g}", {"control": _conforming(ctx.recipe, units)})
