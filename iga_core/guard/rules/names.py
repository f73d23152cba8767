"""IGA-H006: a name in the request that the vocabulary does not know.

The hosts silently fall back to their first sampler (DPM++ 2M) for a name they do not know; the guard
refuses instead, because it cannot tell whether an unknown name is inside the recipe.
"""

from __future__ import annotations

from iga_core.guard.context import normalize, resolve_sampler, resolve_schedule, sampler_label, schedule_label
from iga_core.guard.rules import Observation, rule


def _suggestion(exc, fallback: str, kind: str, dialect: str | None = None) -> str:
    """The vocabulary's closest known name, in the request's dialect ("euler_ancestral" -> "Euler a" for
    A1111 / Forge)."""
    for name in getattr(exc, "suggestions", None) or ():
        info, _ = (resolve_sampler if kind == "sampler" else resolve_schedule)(name, dialect)
        if info is not None:
            return sampler_label(info.id, dialect) if kind == "sampler" else schedule_label(info.id, dialect)
    return fallback


@rule("IGA-H006", "hard", ("sampler", "schedule", "prediction_type", "sampler_sent", "schedule_sent", "host",
                           "dialect"),
      title="unknown sampler, schedule or prediction type name (or a combined name that contradicts the "
            "schedule, or a sent name the host would replace with another)",
      remedy="use a known name (`iga vocab` lists them); the closest match is suggested")
def unknown_name(ctx):
    """A sampler, schedule or prediction-type name that no dialect in the vocabulary knows, or a combined
    name ("DPM++ 2M Karras") next to a different explicit schedule: which one the host runs is unclear."""
    recipe, req, dialect = ctx.recipe, ctx.request, ctx.dialect
    if ctx.sampler_unknown is not None:
        fix = _suggestion(ctx.sampler_unknown, ctx.sampler_name(recipe.sampler_info.id), "sampler", dialect)
        yield Observation("sampler", "a known sampler name", req.sampler,
                          f"sampler {req.sampler!r} is not a known sampler name", f"use {fix}", {"sampler": fix})
    if ctx.schedule_unknown is not None:
        own = recipe.schedule_declared
        fix = _suggestion(ctx.schedule_unknown, ctx.schedule_name(own.id) if own is not None else "Automatic",
                          "schedule", dialect)
        yield Observation("schedule", "a known schedule type", req.schedule,
                          f"schedule type {req.schedule!r} is not a known schedule name", f"use {fix}",
                          {"schedule": fix})
    if ctx.names_conflict is not None:
        _, implied, _ = normalize(req.sampler, None)
        fix = implied.label if implied is not None else "Automatic"
        yield Observation("schedule", fix, req.schedule, ctx.names_conflict.message,
                          f"use schedule {fix} (or drop it from the sampler name)", {"schedule": fix})
    yield from _sent_names(ctx)
    if ctx.prediction_unknown:
        fix = recipe.prediction_type
        yield Observation("prediction_type", ["eps", "v", "x0", "flow"], req.prediction_type,
                          f"prediction type {req.prediction_type!r} is not eps, v, x0 or flow",
                          f"use {fix}", {"prediction_type": fix})


def _sent_names(ctx):
    """The names the caller sent before the host rewrote them (`sampler_sent` / `schedule_sent`): both
    hosts replace a name they do not list with DPM++ 2M / Automatic, so the name that runs can differ."""
    req, recipe = ctx.request, ctx.recipe
    for kind, sent, ran in (("sampler", req.sampler_sent, req.sampler), ("schedule", req.schedule_sent, req.schedule)):
        if sent is None or sent == ran:
            continue
        resolve = resolve_sampler if kind == "sampler" else resolve_schedule
        info, err = resolve(sent)
        ran_info = resolve(ran)[0] if ran is not None else None
        if err is not None:
            own = recipe.sampler_info.id if kind == "sampler" else recipe.schedule_declared.id
            fix = _suggestion(err, sampler_label(own) if kind == "sampler" else schedule_label(own), kind)
            close = ", ".join(err.suggestions[:3]) if getattr(err, "suggestions", None) else fix
            yield Observation(kind, f"a known {kind} name", sent,
                              f"{kind} {sent!r} is not a known {kind} name (closest: {close}); the host would "
                              f"silently run {ran or 'its default'} instead", f"use {fix}", {kind: fix})
        elif ran_info is not None and info.id != ran_info.id and not (kind == "schedule" and info.id == "automatic"):
            if kind == "schedule" and ran_info.id == "automatic" and _automatic_runs(ctx, info.id):
                continue  # the host wrote the sampler's own schedule as Automatic: the same one runs
            label = sampler_label(info.id) if kind == "sampler" else schedule_label(info.id)
            yield Observation(kind, label, ran,
                              f"the request asked for {kind} {sent!r} ({label}), but the host would run {ran}",
                              f"use a {kind} this host lists", {kind: ran})


def _automatic_runs(ctx, schedule_id: str) -> bool:
    """Does "Automatic" run `schedule_id` for the request's sampler, as its host runs it? Forge Classic's
    `get_sampler_and_scheduler` writes a schedule that is the sampler's own scheduler option as Automatic
    (classic sd_samplers.py:137-140, from fix_p_invalid_sampler_and_scheduler, 148-154); seen in a real Forge
    Classic: an API request sending DPM++ 2M with Karras, the recipe's own pair, was refused as a replaced name."""
    if ctx.request.sampler is None:
        return False
    _, schedule, err = normalize(ctx.request.sampler, "Automatic", ctx.dialect, ctx.runs)
    return err is None and schedule is not None and schedule.id == schedule_id
