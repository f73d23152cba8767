"""The preset-first panel: an always-visible accordion on the txt2img and img2img tabs.

`build_panel(tab, ctx)` only creates components (the host calls the script's `ui()` again inside throwaway
Blocks for API defaults, so nothing global happens here). `Panel.wire(controls, checkpoint)` attaches the
events that cross into the host's own controls; the standalone app calls it right away, the WebUI glue
(`iga_webui/ui_wiring.py`) once the whole host UI exists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from iga_core.errors import IgaError
from iga_core.guard.rules import VERDICT_RULES
from iga_core.ui import compat, render, view
from iga_core.ui.context import SETTING_GATE_STYLE, PanelContext
from iga_core.ui.ids import HIDDEN_CLASS, css_class, elem_id

TABS = ("txt2img", "img2img")
#: panel parts, each with element id `iga-<tab>-<part>` (javascript/iga.js finds them by these)
PARTS = ("panel", "status", "notice", "preset", "mode", "advanced", "override-group", "overrides", "reason",
         "verdict", "decisions", "decisions-refresh", "args", "reapply")
#: how many decision-log entries the panel shows
RECENT_DECISIONS = 5
PANEL_INPUTS = ("preset", "mode", "advanced", "overrides", "reason")
_RULE_ID = re.compile(r"IGA-[HSIMC]\d{3}")


def soft_rule_choices() -> list[tuple[str, str]]:
    """(label, rule id) for every soft rule a verdict can hold (request and composition rules): the ones a
    user may acknowledge behind the Advanced gate."""
    return [(f"{rule.id} {rule.title}", rule.id) for rule in VERDICT_RULES if rule.overridable]


OVERRIDES_LABEL = "Acknowledge these soft rules (recorded in the image)"
NOTHING_TO_ACKNOWLEDGE = "No soft rule fired: nothing to acknowledge"


def fired_rule_choices(verdict, selected=()) -> list[tuple[str, str]]:
    """The soft rules the live verdict holds (fired, whether acknowledged or not), plus the ones already
    ticked (a pasted override stays visible to be unticked): the only ones worth acknowledging."""
    keep = {f.rule_id for f in verdict.findings} if verdict is not None else set()
    keep |= set(selected or ())
    return [(label, rule_id) for label, rule_id in soft_rule_choices() if rule_id in keep]


def overrides_update(verdict, selected=()):
    choices = fired_rule_choices(verdict, selected)
    return compat.update(choices=choices, label=OVERRIDES_LABEL if choices else NOTHING_TO_ACKNOWLEDGE)


def _paste_preset(params: Mapping[str, Any]):
    name = params.get("IGA preset")
    if not name:
        return None
    name = str(name)
    # the radio only accepts one of its choices; the pasted name is checked against the recipe on its change
    return compat.update(choices=list(dict.fromkeys([view.NATIVE, name, view.CUSTOM])), value=name)


def _paste_overrides(params: Mapping[str, Any]):
    text = params.get("IGA overrides")
    if not text:
        return None
    return sorted(set(_RULE_ID.findall(str(text))))


def _paste_notice(params: Mapping[str, Any]) -> str:
    """The glue's `IGA notice` (the pasted image was made under another recipe), escaped; a paste without
    one clears the last notice, since it describes an image that is no longer pasted."""
    return render.notice_html(params.get(NOTICE_KEY))


#: the infotext key the WebUI glue sets when a pasted recipe digest differs (iga_webui/paste.py)
NOTICE_KEY = "IGA notice"


def paste_fields(components: Mapping[str, Any]) -> list:
    """(component, infotext key or callable) pairs: "Send to txt2img" and paste restore the preset and the
    acknowledged rules, and show the glue's notice; the values themselves come back through the host's own
    Steps/Sampler/CFG fields."""
    return [(components["preset"], _paste_preset), (components["overrides"], _paste_overrides),
            (components["notice"], _paste_notice)]


def decisions_update(ctx: PanelContext) -> str:
    """The last decisions as HTML; a log that cannot be read says so instead of breaking the panel."""
    if ctx.recent_decisions is None:
        return ""
    try:
        return render.decisions_html(ctx.recent_decisions(RECENT_DECISIONS))
    except IgaError as exc:
        return render.decisions_html((), exc)
    except OSError as exc:
        return render.decisions_html((), exc)


@dataclass
class Panel:
    tab: str
    ctx: PanelContext
    components: dict[str, Any]
    infotext_fields: list = field(default_factory=list)

    @property
    def args(self):
        """The one component whose value is the script-args dict (as JSON text)."""
        return self.components["args"]

    def __getattr__(self, name: str):
        """`panel.preset`, `panel.override_group`, ...: the part of that name (see PARTS)."""
        components = self.__dict__.get("components") or {}
        key = name.replace("_", "-")
        if key in components:
            return components[key]
        raise AttributeError(name)

    @classmethod
    def from_components(cls, tab: str, ctx: PanelContext, found: Mapping[str, Any]) -> Panel:
        """Rebuild a Panel from components captured by element id (the host glue sees them one by one)."""
        components = {part: found[elem_id(tab, part)] for part in PARTS if elem_id(tab, part) in found}
        missing = [p for p in PARTS if p not in components]
        if missing:
            raise KeyError(f"IGA panel for {tab} is missing {', '.join(missing)}")
        return cls(tab, ctx, components, paste_fields(components))

    # -- handlers: plain functions of component values, so tests can call them directly --------------
    def inputs_for(self, values: Mapping[str, Any], choices: Mapping[str, list] | None = None) -> view.PanelInputs:
        return view.PanelInputs(
            checkpoint=values.get("checkpoint"),
            preset=values.get("preset") or view.NATIVE,
            mode=values.get("mode") or view.MODE_SETTING,
            advanced=bool(values.get("advanced")),
            overrides=tuple(values.get("overrides") or ()),
            reason=values.get("reason") or "",
            controls={k: values[k] for k in view.RAW_CONTROLS if k in values},
            choices=dict(choices or {}),
            prompt=values.get("prompt"),
        )

    def control_update(self, name: str, v: view.PanelView) -> dict:
        props: dict[str, Any] = {}
        if name in v.apply:
            props["value"] = v.apply[name]
        if name in view.GATED_CONTROLS:
            if self.ctx.get(SETTING_GATE_STYLE) == "hide":
                props.update(visible=not v.gate_closed, interactive=True)
            else:
                props.update(interactive=not v.gate_closed, visible=True)
        return compat.update(**props)

    def full_updates(self, v: view.PanelView, controls: list[str], trigger: str = "reload",
                     selected: tuple[str, ...] = ()) -> list:
        # The Advanced box is written back only when the view changed it (a checkpoint change closes the
        # gate): echoing the user's own value from its change event raced a quick second click, and a late
        # reply put the box back to where it had just been clicked away from.
        advanced = (compat.update(value=v.advanced, interactive=v.has_recipe) if trigger == "checkpoint"
                    else compat.update(interactive=v.has_recipe))
        return [
            v.status_html,
            compat.update(choices=list(v.preset_choices), value=v.preset, interactive=v.has_recipe),
            advanced,
            compat.update(visible=v.advanced and v.has_recipe),
            v.verdict_html,
            json.dumps(v.args),
            overrides_update(v.verdict, selected),
            *[self.control_update(name, v) for name in controls],
        ]

    @staticmethod
    def light_updates(v: view.PanelView, preset_before: str, selected: tuple[str, ...] = ()) -> list:
        """For a raw control's change: the verdict (and the soft rules it holds, to acknowledge), and the
        preset radio only when it must turn Custom. The radio's own change then recomputes the args; a late
        reply to an earlier edit can therefore never put back a preset (or args) that no longer hold. The
        override list gets new choices only, never a value, so its own change event does not fire."""
        turned_custom = v.preset == view.CUSTOM and preset_before != view.CUSTOM
        return [compat.update(value=view.CUSTOM) if turned_custom else compat.no_change(), v.verdict_html,
                overrides_update(v.verdict, selected)]

    def handle(self, trigger: str, values: Mapping[str, Any], choices: Mapping[str, list] | None = None
               ) -> view.PanelView:
        return view.compute(self.ctx, self.inputs_for(values, choices), trigger)

    def decisions_updates(self, *_ignored) -> list:
        return [compat.update(value=decisions_update(self.ctx), visible=True), compat.update(visible=True)]

    # -- wiring ----------------------------------------------------------------------------------
    def wire(self, controls: Mapping[str, Any], checkpoint=None, *, prompt=None, after_generation=None) -> tuple:
        """Attach the events. `controls` maps raw control names (view.RAW_CONTROLS) to the host's components;
        `checkpoint` is the host's checkpoint control (None: the ctx resolves "the current checkpoint");
        `prompt` the tab's prompt (its LoRA tags compose LoRA recipes in); `after_generation` a component
        the host updates once per generation (its change refreshes the last decisions).
        Returns (fn, inputs, outputs) of the re-apply handler, for a page-load event."""
        names = [n for n in view.RAW_CONTROLS if controls.get(n) is not None]
        extra = [(key, comp) for key, comp in (("checkpoint", checkpoint), ("prompt", prompt)) if comp is not None]
        input_names = [key for key, _ in extra] + list(PANEL_INPUTS) + names
        c = self.components
        inputs = [comp for _, comp in extra] + [c[p] for p in PANEL_INPUTS]
        inputs += [controls[n] for n in names]
        full_outputs = [c["status"], c["preset"], c["advanced"], c["override-group"], c["verdict"], c["args"],
                        c["overrides"]]
        full_outputs += [controls[n] for n in names]
        light_outputs = [c["preset"], c["verdict"], c["overrides"]]
        # a dropdown only takes one of its choices (a VAE file this host does not list is left alone)
        accepted = {n: compat.choice_values(controls[n]) for n in names}
        accepted = {n: values for n, values in accepted.items() if values is not None}

        def full(trigger: str):
            def fn(*values):
                values_by_name = dict(zip(input_names, values, strict=True))
                return self.full_updates(self.handle(trigger, values_by_name, accepted), names, trigger,
                                         tuple(values_by_name.get("overrides") or ()))

            return fn

        def light(*values):
            values_by_name = dict(zip(input_names, values, strict=True))
            return self.light_updates(self.handle("edit", values_by_name, accepted), values_by_name.get("preset"),
                                      tuple(values_by_name.get("overrides") or ()))

        if checkpoint is not None:
            checkpoint.change(full("checkpoint"), inputs=inputs, outputs=full_outputs, **compat.QUIET)
            # a paste-back notice holds until the checkpoint changes
            checkpoint.change(lambda *_: "", inputs=[], outputs=[c["notice"]], **compat.QUIET)
        if prompt is not None:
            prompt.change(full("prompt"), inputs=inputs, outputs=full_outputs, **compat.QUIET)
        c["reapply"].click(full("reload"), inputs=inputs, outputs=full_outputs, **compat.QUIET)
        if self.ctx.recent_decisions is not None:
            # the log is read on page load, on request and after each generation: never per keystroke
            refresh = [c["reapply"].click, c["decisions-refresh"].click]
            if after_generation is not None:
                refresh.append(after_generation.change)
            outputs = [c["decisions"], c["decisions-refresh"]]
            for event in refresh:
                event(self.decisions_updates, inputs=[], outputs=outputs, **compat.QUIET)
        c["preset"].change(full("preset"), inputs=inputs, outputs=full_outputs, **compat.QUIET)
        for part in ("mode", "advanced", "overrides", "reason"):
            c[part].change(full("edit"), inputs=inputs, outputs=full_outputs, **compat.QUIET)
        for name in names:
            controls[name].change(light, inputs=inputs, outputs=light_outputs, **compat.QUIET)
        return full("reload"), inputs, full_outputs


def build_host_notice(tab: str, message: str):
    """The panel on a WebUI the extension does not know: one notice (`iga-<tab>-unknown-host`) saying that
    nothing is guarded, no controls, no events. Returns the notice component."""
    if tab not in TABS:
        raise ValueError(f"tab must be one of {TABS}, got {tab!r}")
    with gr.Accordion("IGA: model recipe", open=True, elem_id=elem_id(tab, "panel"),
                      elem_classes=[css_class("panel")]):
        return gr.HTML(render.host_notice_html(message), elem_id=elem_id(tab, "unknown-host"))


def build_panel(tab: str, ctx: PanelContext) -> Panel:
    """Create the panel's components inside the current Blocks. No events that reach outside the panel, no
    global state: safe to call again and again."""
    if tab not in TABS:
        raise ValueError(f"tab must be one of {TABS}, got {tab!r}")
    c: dict[str, Any] = {}
    with gr.Accordion("IGA: model recipe", open=True, elem_id=elem_id(tab, "panel"),
                      elem_classes=[css_class("panel")]) as c["panel"]:
        c["status"] = gr.HTML(view.render.status_html(None), elem_id=elem_id(tab, "status"))
        c["notice"] = gr.HTML("", elem_id=elem_id(tab, "notice"))
        # "Native" until the first event says otherwise: a page load then applies the recipe's defaults
        c["preset"] = gr.Radio(choices=[view.NATIVE, view.CUSTOM], value=view.NATIVE, label="IGA preset",
                               elem_id=elem_id(tab, "preset"), interactive=False)
        c["verdict"] = gr.HTML(view.render.verdict_html(None, has_recipe=False), elem_id=elem_id(tab, "verdict"))
        c["mode"] = gr.Radio(choices=list(view.MODE_CHOICES), value=view.MODE_SETTING, label="Guard mode",
                             elem_id=elem_id(tab, "mode"))
        c["advanced"] = gr.Checkbox(value=False, label="Advanced: edit sampler, schedule, steps and CFG myself",
                                    elem_id=elem_id(tab, "advanced"), interactive=False)
        with gr.Group(visible=False, elem_id=elem_id(tab, "override-group")) as c["override-group"]:
            # its choices follow the live verdict (`overrides_update`): the soft rules that fired
            c["overrides"] = gr.CheckboxGroup(choices=[], value=[], label=NOTHING_TO_ACKNOWLEDGE,
                                              elem_id=elem_id(tab, "overrides"))
            c["reason"] = gr.Textbox(value="", label="Reason (optional, recorded with the override)",
                                     max_lines=1, elem_id=elem_id(tab, "reason"))
        # shown once the context reads a decision log (the host glue may supply it only at wiring time)
        logged = ctx.recent_decisions is not None
        c["decisions"] = gr.HTML(render.decisions_html(()) if logged else "", visible=logged,
                                 elem_id=elem_id(tab, "decisions"))
        c["decisions-refresh"] = gr.Button("Refresh decisions", size="sm", visible=logged,
                                           elem_id=elem_id(tab, "decisions-refresh"))
        c["args"] = gr.Textbox(value=json.dumps(view.script_args(view.NATIVE, view.MODE_SETTING, (), "", False)),
                               visible=False, elem_id=elem_id(tab, "args"))
        c["reapply"] = gr.Button("Re-apply recipe", elem_id=elem_id(tab, "reapply"), elem_classes=[HIDDEN_CLASS])
    return Panel(tab, ctx, c, paste_fields(c))
