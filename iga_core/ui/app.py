"""The standalone app: `python -m iga_core ui [--models DIR]`.

A plain Gradio page with what a WebUI tab has (a checkpoint list and the raw sampler, schedule, steps, CFG
and size controls), the same IGA panel the hosts show, and the Recipes tab. It generates nothing: "Check"
shows what the guard would say at Generate, and logs it as Generate would (a block, a warning, an override:
the panel's "Last decisions" shows it). The Recipes tab works on the checkpoint picked at the top.
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from iga_core import __version__, paths
from iga_core.audit.record import build_record
from iga_core.decision_log import DecisionLog, entry_from_record
from iga_core.errors import IgaError
from iga_core.guard import GuardPolicy, judge
from iga_core.ui import compat, view
from iga_core.ui.context import PanelContext
from iga_core.ui.ids import elem_id
from iga_core.ui.local_models import LocalLoras, LocalModels
from iga_core.ui.panel import build_panel
from iga_core.ui.recipes_tab import build_recipes_tab
from iga_core.ui.render import esc
from iga_core.untrusted_text import neutralise
from iga_core.vocab import names_in

DIALECT = "a1111"  # the standalone app shows the names A1111 v1.10.1 shows
HOST = {"name": "iga ui", "version": __version__}  # how a Check's log entry names where it was made
#: what the Guard box says once the settings changed after a Check (its result no longer holds)
STALE = "The settings changed since the last Check: press Check to see what Generate would do now."


def assets() -> tuple[str, str]:
    """(css, js) of the extension (the clone's root, or the packaged copy: `paths.shipped`); empty when absent."""
    css_path, js_path = paths.shipped("style.css"), paths.shipped("javascript") / "iga.js"
    css = css_path.read_text(encoding="utf-8") if css_path.is_file() else ""
    js = js_path.read_text(encoding="utf-8") if js_path.is_file() else ""
    return css, js


def decision_log_path() -> Path:
    """The log the WebUI writes and `iga audit export` reads by default."""
    return paths.decision_log_path()


def recent_decisions(path: Path):
    def read(n: int) -> list[dict]:
        return DecisionLog(path).tail(n).entries if path.exists() else []

    return read


def append_decision(path: Path):
    def write(entry: dict) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        DecisionLog(path).append(entry)

    return write


def make_context(models: LocalModels, loras: LocalLoras | None = None, log_path: Path | None = None
                 ) -> PanelContext:
    samplers = [name for _id, name, _aliases in names_in("sampler", DIALECT)]
    schedules = [name for _id, name, _aliases in names_in("schedule", DIALECT)]
    loras = loras if loras is not None else LocalLoras(None)
    log_path = log_path if log_path is not None else decision_log_path()
    return PanelContext(
        recipe_source=models.source,
        samplers=lambda: samplers,
        schedules=lambda: schedules,
        dialect=DIALECT,
        checkpoints=models.pairs,
        lora_source=loras.source,
        recent_decisions=recent_decisions(log_path),
        log_decision=append_decision(log_path),
    )


def lora_list_html(names: list[str]) -> str:
    """The LoRA names as HTML code spans, each escaped: a file name is untrusted (a backtick in it would end
    a Markdown code span and turn the rest into markup)."""
    found = ", ".join(f"<code>{esc(n)}</code>" for n in names) if names else "none"
    return f"LoRAs with recipes: add a tag such as <code>&lt;lora:NAME:1&gt;</code> to the prompt. Found: {found}"


def check(ctx: PanelContext, checkpoint, args_json, values: dict, prompt: str | None = None) -> str:
    """What the guard would say if Generate were pressed now, neutralised for the text box (the verdict
    quotes recipe text)."""
    return neutralise(_check(ctx, checkpoint, args_json, values, prompt), lines=True)


def _check(ctx: PanelContext, checkpoint, args_json, values: dict, prompt: str | None = None) -> str:
    """The guard's answer (the same evaluation the WebUI runs, with the prompt's LoRA recipes composed in)."""
    try:
        source = ctx.recipe_source(checkpoint)
        notes: list[str] = []
        base = source.recipe if source is not None else None
        composition = view.compose_prompt(ctx, base, prompt, notes)
        recipe = composition.recipe if composition is not None else base
        if not recipe:
            return "No recipe: the guard has nothing to check; the settings are used as they are."
        args = json.loads(args_json or "{}")
        policy = GuardPolicy(mode=args.get("mode") or view.effective_mode("", ctx),
                             overrides=frozenset(args.get("overrides") or ()),
                             override_reasons=args.get("override_reasons") or {})
        subject = composition if composition is not None else recipe
        request = view.guard_request(values)
        verdict = judge(subject, request, policy)
        logged = _log_check(ctx, checkpoint, source, recipe, request, policy, verdict, args)
        return verdict.message() + logged
    except IgaError as exc:
        return f"{exc.message}\n  hint: {exc.hint}" if exc.hint else exc.message


def _log_check(ctx: PanelContext, checkpoint, source, recipe, request, policy, verdict, args: dict) -> str:
    """Log the Check as Generate would log the generation (blocks, warnings, overrides; a clean pass is not
    logged); "" or a line saying the log could not be written (the verdict is shown either way)."""
    if ctx.log_decision is None:
        return ""
    try:
        weights = getattr(getattr(source, "weights", None), "expected", None)
        record = build_record(params=request.to_dict(), recipe=recipe, verdict=verdict, preset=args.get("preset"),
                              policy=policy, host=HOST, checkpoint={"name": checkpoint, "weights_sha256": weights},
                              source=getattr(source, "kind", None), advanced=bool(args.get("advanced")))
        entry = entry_from_record(record)
        if entry is not None:
            ctx.log_decision(entry)
    except (IgaError, OSError) as exc:
        return f"\n(the decision log could not be written: {getattr(exc, 'message', None) or exc})"
    return ""


def stale(current: str | None):
    """The Guard box after a settings change: the last Check's answer no longer holds."""
    return STALE if current and current != STALE else compat.no_change()


def follow(picked: str | None, other: str | None):
    """One checkpoint dropdown following the other (no update when they agree, so the two never ping-pong)."""
    return compat.update(value=picked) if picked and picked != other else compat.no_change()


def raw_controls(samplers: list[str], schedules: list[str]) -> dict:
    """The controls a WebUI tab has, with A1111's defaults and ranges."""
    return {
        "sampler": gr.Dropdown(choices=samplers, value="DPM++ 2M", label="Sampling method",
                               elem_id=elem_id("app", "sampler")),
        "schedule": gr.Dropdown(choices=schedules, value="Automatic", label="Schedule type",
                                elem_id=elem_id("app", "schedule")),
        "steps": gr.Slider(1, 150, value=20, step=1, label="Sampling steps", elem_id=elem_id("app", "steps")),
        "cfg": gr.Slider(1, 30, value=7, step=0.5, label="CFG Scale", elem_id=elem_id("app", "cfg")),
        "width": gr.Slider(64, 2048, value=512, step=8, label="Width", elem_id=elem_id("app", "width")),
        "height": gr.Slider(64, 2048, value=512, step=8, label="Height", elem_id=elem_id("app", "height")),
    }


def build_app(models_dir: str | Path, *, ctx: PanelContext | None = None, loras_dir: str | Path | None = None
              ) -> gr.Blocks:
    """`loras_dir`: the LoRA folder; None looks beside the models folder (`Lora/`, or the demo's)."""
    compat.serve_fixes()
    models = LocalModels(models_dir)
    loras = LocalLoras(loras_dir) if loras_dir is not None else LocalLoras.beside(models_dir)
    ctx = ctx or make_context(models, loras)
    lora_names = loras.names()
    css, js = assets()
    names = models.names()
    samplers, schedules = list(ctx.samplers()), list(ctx.schedules())
    with gr.Blocks(title="IGA: model recipes", css=css, analytics_enabled=False) as demo:
        gr.Markdown("## IGA: the model's own recipe\nPick a checkpoint and a preset; open *Advanced* to edit "
                    "the raw settings. This page checks settings, it does not generate images. The demo "
                    "checkpoints are yours to edit in the Recipes tab; `iga ui --reset-demo` makes them again.")
        with gr.Row():
            checkpoint = gr.Dropdown(choices=names, value=names[0] if names else None, label="Checkpoint",
                                     elem_id=elem_id("app", "checkpoint"))
            refresh = gr.Button("Refresh list", elem_id=elem_id("app", "refresh"))
        with gr.Tabs():
            with gr.Tab("txt2img", elem_id=elem_id("app", "tab", "txt2img")), gr.Row():
                with gr.Column():
                    prompt = gr.Textbox(value="a lighthouse at dusk", label="Prompt", lines=2,
                                        elem_id=elem_id("app", "prompt"))
                    gr.HTML(lora_list_html(lora_names), elem_id=elem_id("app", "lora-list"))
                    controls = raw_controls(samplers, schedules)
                    check_button = gr.Button("Check (what Generate would do)", variant="primary",
                                             elem_id=elem_id("app", "check"))
                    check_out = gr.Textbox(label="Guard", lines=6, interactive=False,
                                           elem_id=elem_id("app", "check-result"))
                with gr.Column():
                    panel = build_panel("txt2img", ctx)
            with gr.Tab("Recipes", elem_id=elem_id("app", "tab", "recipes")):
                recipes = build_recipes_tab(ctx, selected=names[0] if names else None)

        reload_fn, reload_inputs, reload_outputs = panel.wire(controls, checkpoint, prompt=prompt,
                                                              after_generation=check_out)
        demo.load(reload_fn, inputs=reload_inputs, outputs=reload_outputs, **compat.QUIET)
        control_names = list(controls)
        check_button.click(lambda ck, a, pr, *v: check(ctx, ck, a, dict(zip(control_names, v, strict=True)), pr),
                           inputs=[checkpoint, panel.args, prompt, *controls.values()], outputs=[check_out])
        # a Check's answer holds for the settings it judged: any change makes it stale, said once (the box's
        # change refreshes the last decisions, so it is not rewritten per keystroke)
        for source in (checkpoint, prompt, panel.args, *controls.values()):
            source.change(stale, inputs=[check_out], outputs=[check_out], **compat.QUIET)
        # the Recipes tab works on the checkpoint picked at the top, and picking one there picks it here
        checkpoint.change(follow, inputs=[checkpoint, recipes.c["checkpoint"]], outputs=[recipes.c["checkpoint"]],
                          **compat.QUIET)
        recipes.c["checkpoint"].change(follow, inputs=[recipes.c["checkpoint"], checkpoint], outputs=[checkpoint],
                                       **compat.QUIET)

        def refreshed(current):
            choices = models.names()
            return compat.update(choices=choices, value=current if current in choices else
                                 (choices[0] if choices else None))

        refresh.click(refreshed, inputs=[checkpoint], outputs=[checkpoint])
        recipes.wire(after_write=(refreshed, [checkpoint], [checkpoint]))
        if js:
            compat.load_js(demo, "() => {\n" + js + "\nif (window.IGA) { window.IGA.start(); }\n}")
    return demo
