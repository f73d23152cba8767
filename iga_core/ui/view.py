"""What the panel shows and which values it applies, computed from plain inputs (no gradio here).

One function, `compute`, answers every panel event: given the checkpoint, the panel's own controls and the
host's raw controls, it returns the recipe status, the preset radio, the Advanced gate, the values to push
into the host's controls, the live guard verdict and the script-args dict. The gradio layer (`panel.py`)
only turns a `PanelView` into component updates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from iga_core.autoconfig import HostCapabilities, auto_configure
from iga_core.compose import CHECKPOINT_PART, Addon, Composition, compose, prompt_addons
from iga_core.errors import IgaError
from iga_core.guard import GuardPolicy, GuardRequest, HostFacts, Verdict, judge
from iga_core.guard.context import unknown_host_note
from iga_core.presets import CUSTOM, NATIVE, preset_names
from iga_core.recipe import Recipe
from iga_core.script_args import ScriptArgs
from iga_core.ui import render
from iga_core.ui.context import SETTING_AUTO_APPLY, SETTING_GUARD_MODE, PanelContext
from iga_core.vocab import HOST_VARIANTS, normalize

MODE_SETTING = "Setting"  # the guard-mode radio's "use the iga_guard_mode setting" choice
MODE_CHOICES = (MODE_SETTING, "strict", "standard", "audit", "off")
#: the host's raw controls the panel reads and drives, in a fixed order
#: (distilled CFG exists in Forge only; clip skip and VAE only where the host shows a control for them)
RAW_CONTROLS = ("sampler", "schedule", "steps", "cfg", "distilled_cfg", "width", "height", "clip_skip", "vae")
#: compared as text, not as numbers or vocabulary names
TEXT_CONTROLS = ("vae",)
#: request fields the host's facts fill where the page has no control for them (`HostFacts.clip_skip`: the
#: clip skip Generate runs); a remedy that changes one starts with where the host sets it
FILLED_BY_HOST = ("clip_skip",)
#: the ones the closed Advanced gate hides or locks (size stays free: presets set it, users resize)
GATED_CONTROLS = ("sampler", "schedule", "steps", "cfg", "distilled_cfg")
#: what triggered the computation; "checkpoint", "reload" and "preset" may push values, and "prompt" too when
#: the prompt's LoRA tags changed the effective recipe's values
TRIGGERS = ("checkpoint", "reload", "preset", "prompt", "edit")
#: the name the composed recipe gives the checkpoint's part (the one every entry point gives it)
BASE_PART = CHECKPOINT_PART


@dataclass(frozen=True)
class PanelInputs:
    checkpoint: str | None = None
    preset: str = NATIVE
    mode: str = MODE_SETTING
    advanced: bool = False
    overrides: tuple[str, ...] = ()
    reason: str = ""
    controls: Mapping[str, Any] = field(default_factory=dict)  # raw control name -> current value
    choices: Mapping[str, list] = field(default_factory=dict)  # raw control name -> the values it accepts
    prompt: str | None = None  # the tab's prompt: its <lora:name:w> tags compose LoRA recipes in


@dataclass(frozen=True)
class PanelView:
    has_recipe: bool
    status_html: str
    preset_choices: tuple[str, ...]
    preset: str
    advanced: bool
    gate_closed: bool  # a recipe is active and the Advanced gate is shut: hide or lock GATED_CONTROLS
    apply: dict[str, Any]  # raw control name -> value to push into the host control
    verdict: Verdict | None
    verdict_html: str
    args: dict
    composition: Composition | None = None  # set when LoRA recipes from the prompt were composed in
    host_facts: HostFacts | None = None  # what the host read from the model the verdict was judged with


def preset_choices(recipe: Recipe | None) -> tuple[str, ...]:
    return tuple(preset_names(recipe)) if recipe else (CUSTOM,)


def host_of(ctx: PanelContext) -> HostCapabilities:
    """What the host behind this panel can run: its own dropdown lists, in its dialect."""
    distilled = ctx.supports_distilled_cfg if ctx.supports_distilled_cfg is not None else ctx.dialect == "forge"
    name = ctx.host_name or ("Forge" if ctx.dialect == "forge" else "this WebUI")
    return _capabilities(name, ctx.dialect, tuple(ctx.samplers()), tuple(ctx.schedules()), distilled, ctx.host)


@lru_cache(maxsize=16)
def _capabilities(name: str, dialect: str, samplers: tuple[str, ...], schedules: tuple[str, ...],
                  distilled: bool, host: str | None = None) -> HostCapabilities:
    return HostCapabilities.of_running_host(name, dialect, samplers, schedules, supports_distilled_cfg=distilled,
                                            host=host)


def preset_values(recipe: Recipe, preset: str, ctx: PanelContext, notes: list[str]) -> dict[str, Any]:
    """The concrete values of a preset, named as the host's controls expect them (`auto_configure`, the
    one function that spells a recipe for a host); what the host cannot honour becomes a note."""
    config = auto_configure(recipe, host_of(ctx), preset)
    notes.extend(f.advice() for f in config.findings)
    return {k: v for k, v in config.values.items() if v is not None}


def _same_sampling(a_sampler, a_schedule, b_sampler, b_schedule, runs: str | None = None) -> bool:
    try:
        a_s, a_k = normalize(str(a_sampler), a_schedule, None, runs)
        b_s, b_k = normalize(str(b_sampler), b_schedule, None, runs)
    except IgaError:
        return (a_sampler, a_schedule) == (b_sampler, b_schedule)
    return a_s.id == b_s.id and (a_k.id if a_k else None) == (b_k.id if b_k else None)


def values_match(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """True when every control the host has holds the wanted value (names compared through the vocabulary)."""
    for key, value in wanted.items():
        if key not in current or key in ("sampler", "schedule"):
            continue
        have = current[key]
        if key in TEXT_CONTROLS:
            if str(have) != str(value):
                return False
            continue
        try:
            if not math.isclose(float(have), float(value), rel_tol=0, abs_tol=1e-6):
                return False
        except (TypeError, ValueError):
            return False
    if "sampler" in current and "sampler" in wanted:
        return _same_sampling(current["sampler"], current.get("schedule"), wanted["sampler"], wanted.get("schedule"))
    return True


def _int(value: Any) -> int | None:
    try:
        return round(float(value))
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def guard_request(values: Mapping[str, Any], host: str | None = None,
                  hidden: tuple[str, ...] | None = None) -> GuardRequest:
    def text(key: str) -> str | None:
        value = values.get(key)
        return str(value) if value not in (None, "") else None

    def positive(key: str) -> int | None:
        number = _int(values.get(key))
        return number if number is not None and number >= 1 else None

    return GuardRequest(
        sampler=text("sampler"), schedule=text("schedule"), steps=positive("steps"),
        cfg=_float(values.get("cfg")), distilled_cfg=_float(values.get("distilled_cfg")),
        width=positive("width"), height=positive("height"), clip_skip=positive("clip_skip"),
        host=host, hidden_controls=hidden or None,
    )


def _without_control(ctx: PanelContext, current: Mapping[str, Any]) -> dict[str, Any]:
    """The values the host runs for controls its page left out (Forge Classic's schedule type without its
    dropdown runs Automatic), for the controls the panel was not wired to."""
    try:
        sent = dict(ctx.sent_without_control() or {})
    except Exception:  # a host lookup that misbehaves must not break the panel
        return {}
    return {k: v for k, v in sent.items() if k in RAW_CONTROLS and k not in current}


def _runs_alike(key: str, wanted: Mapping[str, Any], value: Any, ctx: PanelContext) -> bool:
    """Does the host run `value` for `key` the way it runs the wanted one (a schedule compared through the
    sampler as this host runs it: Automatic is Karras for DPM++ 2M)?"""
    if key != "schedule" or not wanted.get("sampler"):
        return str(wanted.get(key)) == str(value)
    runs = ctx.host if ctx.host in HOST_VARIANTS else None
    return _same_sampling(wanted["sampler"], wanted.get(key), wanted["sampler"], value, runs)


def _show_how(ctx: PanelContext, key: str) -> str:
    from iga_core.guard.host_settings import show_control

    return show_control(ctx.host, key) or f"this page has no {key} control"


def effective_mode(mode: str, ctx: PanelContext) -> str:
    return mode if mode in MODE_CHOICES[1:] else str(ctx.get(SETTING_GUARD_MODE))


def script_args(preset: str, mode: str, overrides, reason: str, advanced: bool) -> dict:
    overrides = tuple(sorted({o for o in overrides or () if o}))
    reason = (reason or "").strip()
    return ScriptArgs(
        preset=preset,
        mode=mode if mode in MODE_CHOICES[1:] else None,
        overrides=overrides,
        override_reasons={rule: reason for rule in overrides} if reason else {},
        advanced=bool(advanced),
    ).to_dict()


def _load(ctx: PanelContext, checkpoint: str | None):
    try:
        return ctx.recipe_source(checkpoint or None), None
    except IgaError as exc:
        return None, exc


def _lora_addon(ctx: PanelContext, name: str, weight: float, notes: list[str]) -> Addon | None:
    try:
        source = ctx.lora_source(name)
    except IgaError as exc:
        notes.append(f"LoRA {name}: {exc.message}")
        return None
    except Exception as exc:  # a host lookup that misbehaves must not break the panel
        notes.append(f"LoRA {name}: its recipe could not be looked up ({type(exc).__name__})")
        return None
    return Addon.from_source(name, source, weight)


def compose_prompt(ctx: PanelContext, base: Recipe | None, prompt: str | None, notes: list[str]
                   ) -> Composition | None:
    """The composition of the checkpoint's recipe with the recipes of the LoRAs the prompt tags, as the WebUI
    glue composes it at Generate; None when no tagged LoRA has a recipe (or only weight-0 tags do)."""
    if not prompt or "<" not in prompt:
        return None
    try:
        tags = prompt_addons(prompt)
    except IgaError as exc:
        notes.append(exc.message)
        return None
    addons = [addon for tag in tags if (addon := _lora_addon(ctx, tag.name, tag.weight, notes)) is not None]
    if not addons:
        return None
    try:
        composition = compose(base, addons, base_name=BASE_PART)
    except IgaError as exc:
        notes.append(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
        return None
    return composition if composition.recipe and (composition.composed or composition.findings) else None


def compute(ctx: PanelContext, inputs: PanelInputs, trigger: str) -> PanelView:
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown panel trigger {trigger!r}")
    source, load_error = _load(ctx, inputs.checkpoint)
    recipe = getattr(source, "recipe", None) if source is not None else None
    notes: list[str] = []
    composition = compose_prompt(ctx, recipe, inputs.prompt, notes) if load_error is None else None
    if composition is not None:
        recipe = composition.recipe
    choices = preset_choices(recipe)
    current = {k: v for k, v in inputs.controls.items() if k in RAW_CONTROLS}
    absent = _without_control(ctx, current)  # judged at what the host runs without them

    if not recipe:
        preset, advanced, apply = CUSTOM, bool(inputs.advanced), {}
    else:
        # a pasted name the recipe does not have keeps the pasted values; a new checkpoint starts Native
        # (or with the preset of the same name, when the new recipe has one)
        fallback = CUSTOM if trigger == "preset" else NATIVE
        preset = inputs.preset if inputs.preset in choices else fallback
        if trigger == "checkpoint" and preset == CUSTOM:
            preset = NATIVE
        # a new checkpoint starts with the gate shut; a page reload or preset click keeps the user's choice
        advanced = False if trigger == "checkpoint" else bool(inputs.advanced)
        wanted: dict[str, Any] = {}
        if preset != CUSTOM:
            try:
                wanted = preset_values(recipe, preset, ctx, notes)
            except IgaError as exc:
                notes.append(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
        for key, value in list(wanted.items()):
            if key in absent and not _runs_alike(key, wanted, absent[key], ctx):
                notes.append(f"The recipe's {key} {value} cannot be set on this page; "
                             f"{_show_how(ctx, key)}. Until then it runs {absent[key]}.")
            accepted = inputs.choices.get(key)
            if key in current and accepted is not None and value not in accepted:  # a VAE this WebUI lacks
                notes.append(f"The recipe's {key} {value!r} is not available in this WebUI; left unchanged.")
                del wanted[key]  # what the host cannot show does not make the preset Custom
        pushes = trigger == "preset" or (trigger in ("checkpoint", "reload", "prompt")
                                         and bool(ctx.get(SETTING_AUTO_APPLY)))
        if trigger == "prompt" and values_match(current, wanted):
            pushes = False  # typing in the prompt re-applies nothing unless a LoRA tag changed the recipe
        apply = {k: v for k, v in wanted.items() if k in current} if pushes and preset != CUSTOM else {}
        # the preset is what the controls hold: once they differ (auto-apply off, a manual edit), it is Custom
        if preset != CUSTOM and not values_match({**current, **apply}, wanted):
            preset = CUSTOM

    args = script_args(preset, inputs.mode, inputs.overrides, inputs.reason, advanced)
    verdict, verdict_error, facts = None, load_error, None
    if recipe and verdict_error is None:
        facts = read_host_facts(ctx, inputs.checkpoint, recipe, preset)
        try:
            policy = GuardPolicy(mode=effective_mode(inputs.mode, ctx), overrides=frozenset(args["overrides"]),
                                 override_reasons=args["override_reasons"])
            subject = composition if composition is not None else recipe
            hidden = (*absent, *(k for k in FILLED_BY_HOST if k not in current and k not in absent))
            request = guard_request({**absent, **current, **apply}, ctx.host, hidden)
            verdict = judge(subject, facts.apply(request) if facts is not None else request, policy)
            note = unknown_host_note(request, "in {title} the WebUI's own panel judges what it runs")
            if note:
                notes.append(note)
        except IgaError as exc:
            verdict_error = exc

    return PanelView(
        has_recipe=bool(recipe),
        status_html=render.status_html(source, notes, load_error, composition=composition),
        preset_choices=choices,
        preset=preset,
        advanced=advanced,
        gate_closed=bool(recipe) and not advanced,
        apply=apply,
        verdict=verdict,
        verdict_html=render.verdict_html(verdict, verdict_error, has_recipe=bool(recipe), facts=facts),
        args=args,
        composition=composition,
        host_facts=facts,
    )


def read_host_facts(ctx: PanelContext, checkpoint: str | None, recipe: Recipe, preset: str) -> HostFacts | None:
    """The host's facts about the model the verdict is for (`PanelContext.host_facts`), the ones Generate
    judges with; a host lookup that fails gives no facts and says so, rather than breaking the panel."""
    if ctx.host_facts is None:
        return None
    try:
        return ctx.host_facts(checkpoint or None, recipe, preset)
    except Exception as exc:  # the host's model objects vary: what could not be read is said with the verdict
        return HostFacts(later=(f"the host's facts about the loaded model (reading them failed: "
                                f"{type(exc).__name__})",))
