"""The Recipes tab: checkpoints with their recipe status, a recipe editor (form + raw JSON, validated live,
errors next to the fields) and the write actions, in the standalone app and in the WebUI.

`build_recipes_tab(ctx)` creates the components; `RecipesTab.wire(after_write=None)` attaches the events.
The logic lives in `recipes_actions` (no gradio); every handler here turns an `IgaError` into a message
on the page, never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from iga_core.errors import IgaError
from iga_core.ui import compat
from iga_core.ui import recipes_actions as actions
from iga_core.ui.context import PanelContext
from iga_core.ui.ids import css_class, elem_id
from iga_core.ui.render import MESSAGE, esc

GROUPS = (*actions.ERROR_GROUPS, "other")


def _message(text: str, tone: str = "note") -> str:
    return f'<div class="{css_class("result")} {css_class(tone)}">{esc(text, MESSAGE)}</div>'


def _error(exc: IgaError) -> str:
    return _message(f"{exc.message} ({exc.hint})" if exc.hint else exc.message, "error")


def _file_path(value: Any) -> str | None:
    """gradio 4 gives a path; gradio 3 a tempfile wrapper with `.name`."""
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "name", None)


def _progress_callback(progress, what: str):
    def report(done: int, total: int) -> None:
        if total:
            progress(done / total, desc=what)

    return report


@dataclass
class RecipesTab:
    ctx: PanelContext
    c: dict[str, Any] = field(default_factory=dict)

    # -- handlers (plain functions of component values) ------------------------------------------
    def editor_outputs(self, recipe: dict | None, text: str | None = None, notes: list[str] | None = None) -> list:
        """json, form fields..., group errors..., notes."""
        text = actions.to_text(recipe) if text is None and recipe is not None else (text or "")
        form = actions.form_values(recipe or {})
        parsed, problems = actions.check_text(text)
        errors = actions.grouped_errors(problems, parsed)
        note_html = "".join(_message(n) for n in notes or ())
        return [text, *[form[k] for k in actions.FORM_FIELDS], *[errors[g] for g in GROUPS], note_html]

    def failed_editor(self, exc: IgaError) -> list:
        return [compat.no_change()] * (1 + len(actions.FORM_FIELDS) + len(GROUPS)) + [_error(exc)]

    def start_from(self, kind: str, title: str | None = None, template: str | None = None, image=None) -> list:
        try:
            if kind == "template":
                recipe, notes = actions.load_template(template or ""), [f"Template {template}."]
            elif kind == "checkpoint":
                recipe, notes = actions.recipe_of(self.ctx, title or ""), [f"The recipe of {title}."]
            elif kind == "reconstruct":
                recipe, notes = actions.reconstructed(self.ctx, title or "")
                notes = ["Reconstructed (best effort, not written anywhere until you save it):", *notes]
            else:
                path = _file_path(image)
                if not path:
                    return self.failed_editor(actions.RecipesTabRefused("no image given", "upload a PNG, JPEG or WebP"))
                recipe, notes = actions.from_image(path)
        except IgaError as exc:
            return self.failed_editor(exc)
        return self.editor_outputs(recipe, notes=notes)

    def form_changed(self, text: str, *form_values) -> list:
        """Write the form into the JSON (when the JSON parses) and re-validate."""
        form = dict(zip(actions.FORM_FIELDS, form_values, strict=True))
        try:
            recipe = actions.apply_form(actions.parse_text(text), form)
        except (IgaError, ValueError, TypeError):
            recipe = None
        new_text = actions.to_text(recipe) if recipe is not None else text
        parsed, problems = actions.check_text(new_text)
        errors = actions.grouped_errors(problems, parsed)
        return [new_text, *[errors[g] for g in GROUPS]]

    def json_changed(self, text: str) -> list:
        parsed, problems = actions.check_text(text)
        errors = actions.grouped_errors(problems, parsed)
        return [errors[g] for g in GROUPS]

    def json_left(self, text: str) -> list:
        """Leaving the JSON box: copy what it says into the form."""
        try:
            recipe = actions.parse_text(text)
        except IgaError:
            return [compat.no_change()] * len(actions.FORM_FIELDS)
        form = actions.form_values(recipe)
        return [form[k] for k in actions.FORM_FIELDS]

    def listing(self, current: str | None) -> list:
        names = actions.titles(self.ctx)
        value = current if current in names else None
        return [actions.checkpoint_table(self.ctx), compat.update(choices=names, value=value)]

    def details(self, title: str | None) -> str:
        return actions.describe(self.ctx, title)

    def selected(self, title: str | None) -> list:
        """[details, table]: the table again too, since the panel may have just verified this file."""
        return [actions.describe(self.ctx, title), actions.checkpoint_table(self.ctx)]

    def verify(self, title: str | None, progress=None) -> list:
        """[details, table] after re-hashing the selected file."""
        progress = gr.Progress() if progress is None else progress
        html = actions.describe(self.ctx, title, verify="always", progress=_progress_callback(progress, "hashing"))
        return [html, actions.checkpoint_table(self.ctx)]

    def ask(self, action: str, title: str | None) -> list:
        """Stamp in place and strip rewrite the file: explain first, act on Confirm."""
        if not title:
            return [compat.update(visible=False), "", _message("Select a checkpoint first.", "error")]
        text = actions.STAMP_WARNING if action == "stamp" else actions.STRIP_WARNING
        return [compat.update(visible=True), action, _message(f"{title}: {text}", "warn")]

    def act(self, action: str, title: str | None, text: str, copy_name: str = "", progress=None) -> list:
        """Run a write action; returns [result html, confirm group, pending action, table, details]."""
        progress = gr.Progress() if progress is None else progress
        report = _progress_callback(progress, action)
        try:
            if not title:
                raise actions.RecipesTabRefused("no checkpoint selected", "select a checkpoint in the list")
            if action == "stamp":
                result = actions.stamp_in_place(self.ctx, title, text, report)
            elif action == "copy":
                result = actions.stamp_copy(self.ctx, title, text, copy_name, report)
            elif action == "sidecar":
                result = actions.save_sidecar(self.ctx, title, text, report)
            elif action == "strip":
                result = actions.strip_recipe(self.ctx, title)
            else:
                raise actions.RecipesTabRefused(f"nothing to confirm ({action!r})", "press an action button first")
            message = _message(result.message, "ok")
        except IgaError as exc:
            message = _error(exc)
        return [message, compat.update(visible=False), "", actions.checkpoint_table(self.ctx), self.details(title)]

    def export(self, text: str) -> list:
        try:
            return [actions.export_file(text), _message("Exported; download the file below.", "ok")]
        except IgaError as exc:
            return [None, _error(exc)]

    # -- wiring ----------------------------------------------------------------------------------
    # gr.Progress() as a default argument is how gradio (3 and 4) hands a handler its progress bar (B008 noqa)
    def wire(self, after_write: tuple | None = None) -> None:
        """Attach the events; `after_write` = (fn, inputs, outputs) runs after every write (the standalone
        app refreshes its checkpoint dropdown with it; the WebUI refresh goes through `ctx.refresh_checkpoints`)."""
        c = self.c
        form = [c[k] for k in actions.FORM_FIELDS]
        errors = [c[f"errors-{g}"] for g in GROUPS]
        editor = [c["json"], *form, *errors, c["notes"]]
        c["refresh"].click(self.listing, inputs=[c["checkpoint"]], outputs=[c["table"], c["checkpoint"]])
        c["checkpoint"].change(self.selected, inputs=[c["checkpoint"]], outputs=[c["details"], c["table"]],
                               **compat.QUIET)
        c["verify"].click(lambda title, progress=gr.Progress(): self.verify(title, progress),  # noqa: B008
                          inputs=[c["checkpoint"]], outputs=[c["details"], c["table"]])
        c["load-template"].click(lambda t: self.start_from("template", template=t), inputs=[c["template"]],
                                 outputs=editor)
        c["load-current"].click(lambda title: self.start_from("checkpoint", title=title), inputs=[c["checkpoint"]],
                                outputs=editor)
        c["reconstruct"].click(lambda title: self.start_from("reconstruct", title=title), inputs=[c["checkpoint"]],
                               outputs=editor)
        c["image"].upload(lambda image: self.start_from("image", image=image), inputs=[c["image"]], outputs=editor)
        for component in form:
            component.change(self.form_changed, inputs=[c["json"], *form], outputs=[c["json"], *errors],
                             **compat.QUIET)
        c["json"].change(self.json_changed, inputs=[c["json"]], outputs=errors, **compat.QUIET)
        c["json"].blur(self.json_left, inputs=[c["json"]], outputs=form, **compat.QUIET)

        result_outputs = [c["result"], c["confirm-group"], c["pending"], c["table"], c["details"]]
        write_events = [
            c["confirm"].click(lambda a, t, j, progress=gr.Progress(): self.act(a, t, j, progress=progress),  # noqa: B008
                               inputs=[c["pending"], c["checkpoint"], c["json"]], outputs=result_outputs),
            c["stamp-copy"].click(lambda t, j, n, progress=gr.Progress(): self.act("copy", t, j, n, progress),  # noqa: B008
                                  inputs=[c["checkpoint"], c["json"], c["copy-name"]], outputs=result_outputs),
            c["sidecar"].click(lambda t, j, progress=gr.Progress(): self.act("sidecar", t, j, progress=progress),  # noqa: B008
                               inputs=[c["checkpoint"], c["json"]], outputs=result_outputs),
        ]
        ask_outputs = [c["confirm-group"], c["pending"], c["result"]]
        c["stamp"].click(lambda t: self.ask("stamp", t), inputs=[c["checkpoint"]], outputs=ask_outputs)
        c["strip"].click(lambda t: self.ask("strip", t), inputs=[c["checkpoint"]], outputs=ask_outputs)
        c["cancel"].click(lambda: [compat.update(visible=False), "", ""], outputs=ask_outputs)
        c["export"].click(self.export, inputs=[c["json"]], outputs=[c["export-file"], c["result"]])
        for event in write_events:
            event.then(self.listing, inputs=[c["checkpoint"]], outputs=[c["table"], c["checkpoint"]])
            if after_write is not None:
                fn, inputs, outputs = after_write
                event.then(fn, inputs=inputs, outputs=outputs)


def _number(label: str, key: str, precision: int | None) -> gr.Number:
    return gr.Number(value=None, label=label, precision=precision, elem_id=elem_id("recipes", key))


def build_recipes_tab(ctx: PanelContext, selected: str | None = None) -> RecipesTab:
    """Create the tab's components in the current Blocks (no events; see `RecipesTab.wire`). `selected`: the
    checkpoint picked at first (the standalone app's top one)."""
    c: dict[str, Any] = {}
    names = actions.titles(ctx)
    selected = selected if selected in names else None
    with gr.Row(elem_id=elem_id("recipes")):
        with gr.Column():
            c["checkpoint"] = gr.Dropdown(choices=names, value=selected, label="Checkpoint",
                                          elem_id=elem_id("recipes", "checkpoint"))
            c["refresh"] = gr.Button("Refresh list", elem_id=elem_id("recipes", "refresh"))
            c["details"] = gr.HTML(actions.describe(ctx, selected), elem_id=elem_id("recipes", "details"))
            c["verify"] = gr.Button("Verify hashes", elem_id=elem_id("recipes", "verify"))
            c["table"] = gr.HTML(actions.checkpoint_table(ctx), elem_id=elem_id("recipes", "table"),
                                 elem_classes=[css_class("recipes-list")])
        with gr.Column():
            with gr.Row():
                c["template"] = gr.Dropdown(choices=actions.template_names(), value=None, label="Template",
                                            elem_id=elem_id("recipes", "template"))
                c["load-template"] = gr.Button("Start from template", elem_id=elem_id("recipes", "load-template"))
            with gr.Row():
                c["load-current"] = gr.Button("Start from the checkpoint's recipe",
                                              elem_id=elem_id("recipes", "load-current"))
                c["reconstruct"] = gr.Button("Reconstruct from the file", elem_id=elem_id("recipes", "reconstruct"))
            c["image"] = gr.File(label="Start from an image's IGA data (PNG, JPEG, WebP)",
                                 file_types=[".png", ".jpg", ".jpeg", ".webp"], elem_id=elem_id("recipes", "image"))
            c["notes"] = gr.HTML("", elem_id=elem_id("recipes", "notes"))
            with gr.Row():
                c["model_id"] = gr.Textbox(label="Model id", elem_id=elem_id("recipes", "model_id"))
                c["title"] = gr.Textbox(label="Title", elem_id=elem_id("recipes", "title"))
                c["prediction_type"] = gr.Dropdown(choices=list(actions.PREDICTION_TYPES), value="eps",
                                                   label="Prediction type", elem_id=elem_id("recipes", "prediction"))
            c["errors-identity"] = gr.HTML("", elem_id=elem_id("recipes", "errors-identity"))
            with gr.Row():
                c["sampler"] = gr.Dropdown(choices=list(ctx.samplers()), value=None, allow_custom_value=True,
                                           label="Sampler", elem_id=elem_id("recipes", "sampler"))
                c["schedule"] = gr.Dropdown(choices=list(ctx.schedules()), value=None, allow_custom_value=True,
                                            label="Schedule type", elem_id=elem_id("recipes", "schedule"))
            c["errors-sampling"] = gr.HTML("", elem_id=elem_id("recipes", "errors-sampling"))
            with gr.Row():
                c["steps_default"] = _number("Steps", "steps-default", 0)
                c["steps_min"] = _number("min", "steps-min", 0)
                c["steps_max"] = _number("max", "steps-max", 0)
            c["errors-steps"] = gr.HTML("", elem_id=elem_id("recipes", "errors-steps"))
            with gr.Row():
                c["cfg_default"] = _number("CFG", "cfg-default", None)
                c["cfg_min"] = _number("min", "cfg-min", None)
                c["cfg_max"] = _number("max", "cfg-max", None)
            c["errors-cfg"] = gr.HTML("", elem_id=elem_id("recipes", "errors-cfg"))
            with gr.Row():
                c["width"] = _number("Width", "width", 0)
                c["height"] = _number("Height", "height", 0)
            c["errors-resolution"] = gr.HTML("", elem_id=elem_id("recipes", "errors-resolution"))
            c["json"] = gr.Textbox(value="", lines=16, max_lines=40, label="Recipe JSON",
                                   elem_id=elem_id("recipes", "json"))
            c["errors-other"] = gr.HTML("", elem_id=elem_id("recipes", "errors-other"))
            with gr.Row():
                c["stamp"] = gr.Button("Stamp in place", variant="primary", elem_id=elem_id("recipes", "stamp"))
                c["sidecar"] = gr.Button("Save as sidecar", elem_id=elem_id("recipes", "sidecar"))
                c["strip"] = gr.Button("Strip", elem_id=elem_id("recipes", "strip"))
                c["export"] = gr.Button("Export", elem_id=elem_id("recipes", "export"))
            with gr.Row():
                c["copy-name"] = gr.Textbox(label="Copy file name", placeholder="my-model.iga.safetensors",
                                            elem_id=elem_id("recipes", "copy-name"))
                c["stamp-copy"] = gr.Button("Stamp as a copy", elem_id=elem_id("recipes", "stamp-copy"))
            with gr.Group(visible=False, elem_id=elem_id("recipes", "confirm-group"),
                          elem_classes=[css_class("confirm")]) as c["confirm-group"]:
                c["confirm"] = gr.Button("Confirm", variant="stop", elem_id=elem_id("recipes", "confirm"))
                c["cancel"] = gr.Button("Cancel", elem_id=elem_id("recipes", "cancel"))
            c["pending"] = gr.Textbox(value="", visible=False, elem_id=elem_id("recipes", "pending"))
            c["result"] = gr.HTML("", elem_id=elem_id("recipes", "result"))
            c["export-file"] = gr.File(label="Exported recipe", interactive=False,
                                       elem_id=elem_id("recipes", "export-file"))
    return RecipesTab(ctx, c)
