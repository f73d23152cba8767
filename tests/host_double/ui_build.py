"""The host's UI build, reduced to what the IGA wiring touches.

Mirrors:
- A modules/gradio_extensons.py:17-64 (F modules/gradio_extensions.py:28-91): every component's `__init__`
  reports to `script_callbacks.after_component_callback(component, **kwargs)`.
- the top bar: A quicksettings `setting_sd_model_checkpoint` (A ui_settings.py:42, shared_options.py:333;
  Forge Classic and reForge the same, with `sd_vae` in the default list and reForge also clip skip: classic
  shared_options.py:388, reForge 384); F `main_entry.ui_checkpoint` (no elem_id,
  `elem_classes=['model_selection']`, main_entry.py:69-74), `ui_clip_skip` (121) and the UI-preset radio
  `forge_ui_preset` (main_entry.py:65); Neo's `ui_checkpoint` with `elem_id="setting_sd_model_checkpoint"`, the
  preset a Dropdown (Neo main_entry.py:65-69), no clip-skip control there (an ordinary setting, Neo
  shared_options.py:224).
- the Settings tab: the settings not in the quicksettings list, with the same `setting_<key>` element ids
  (A ui_settings.py:42, 128-129, 155): a control there changes nothing until "Apply settings".
- the distilled CFG slider `{tab}_distilled_cfg_scale` on F (ui.py:322, 715) and Neo (ui.py:247, 643) only.
- per tab, the raw controls with their element ids (processing_scripts/sampler.py:23-32; on Forge Classic the
  Schedule type dropdown only with `show_scheduler` on, else a `gr.State("Automatic")`, classic
  processing_scripts/sampler.py:34-43,
  A ui.py:290-303 / 629-667, F 309-323 / 666-716), then the scripts' UIs (`runner.setup_ui()`), and last the
  `footer` (A ui.py:1161, F 1009), after which everything exists.
"""

from __future__ import annotations

import contextlib
import sys

import gradio as gr


@contextlib.contextmanager
def component_callbacks(script_callbacks):
    """Components (A: IOComponent, F: Component) and blocks (BlockContext: Accordion, Group, Row) alike."""
    bases = [getattr(gr.components, "IOComponent", None) or gr.components.Component, gr.blocks.BlockContext]
    originals = [base.__init__ for base in bases]

    def patched(original):
        def init(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            script_callbacks.after_component_callback(self, **kwargs)
            return result

        return init

    for base, original in zip(bases, originals, strict=True):
        base.__init__ = patched(original)
    try:
        yield
    finally:
        for base, original in zip(bases, originals, strict=True):
            base.__init__ = original


def _tab_controls(tab: str, m, forge: bool) -> None:
    # the prompt (A ui.py toprow: elem_id f"{tab}_prompt"; same in F) and the generation info the output panel
    # rewrites after each generation (A ui_common.py create_output_panel: elem_id f"html_info_{tab}")
    gr.Textbox(value="", label="Prompt", elem_id=f"{tab}_prompt")
    gr.HTML("", elem_id=f"html_info_{tab}")
    samplers = [s.name for s in m.sd_samplers.all_samplers]
    schedules = [s.label for s in m.sd_samplers.schedulers]
    gr.Dropdown(choices=samplers, value=samplers[0], label="Sampling method", elem_id=f"{tab}_sampling")
    setting = m.shared.FLAVOUR.schedule_setting
    if setting is None or getattr(m.shared.opts, setting):
        gr.Dropdown(choices=schedules, value="Automatic", label="Schedule type", elem_id=f"{tab}_scheduler")
    else:  # classic processing_scripts/sampler.py:41-43: no dropdown, the script holds "Automatic"
        gr.State(value="Automatic")
    gr.Slider(1, 150, value=20, step=1, label="Sampling steps", elem_id=f"{tab}_steps")
    gr.Slider(64, 2048, value=512, step=8, label="Width", elem_id=f"{tab}_width")
    gr.Slider(64, 2048, value=512, step=8, label="Height", elem_id=f"{tab}_height")
    gr.Slider(1, 30, value=7.0, step=0.5, label="CFG Scale", elem_id=f"{tab}_cfg_scale")
    if forge:  # F and Neo
        gr.Slider(0, 30, value=3.5, step=0.1, label="Distilled CFG Scale", elem_id=f"{tab}_distilled_cfg_scale")


def build_ui(double) -> gr.Blocks:
    """Build the page the way the host does (call after `double.start()`); returns the root Blocks."""
    m = double.m
    flavour = m.shared.FLAVOUR
    forge = flavour.distilled_cfg
    titles = list(m.sd_models.checkpoints_list)
    current = m.shared.opts.data.get("sd_model_checkpoint") or (titles[0] if titles else None)
    with component_callbacks(m.script_callbacks), gr.Blocks() as demo:
        if flavour.top_bar == "neo":  # Neo main_entry.py make_checkpoint_manager_ui (60-75)
            entry = sys.modules["modules_forge.main_entry"]
            entry.ui_forge_preset = gr.Dropdown(["sd", "xl", "flux", "klein", "qwen", "lumina", "zit", "wan", "anima"],
                                                value="sd", label="UI Preset", elem_id="forge_ui_preset")
            entry.ui_checkpoint = gr.Dropdown(choices=titles, value=current, label="Checkpoint",
                                              elem_id="setting_sd_model_checkpoint", elem_classes=["model_selection"])
        elif flavour.top_bar == "forge":  # F main_entry.py make_checkpoint_manager_ui (57-124): module globals
            entry = sys.modules["modules_forge.main_entry"]
            entry.ui_forge_preset = gr.Radio(["sd", "xl", "flux", "all"], value="sd", label="UI",
                                             elem_id="forge_ui_preset")
            entry.ui_checkpoint = gr.Dropdown(choices=titles, value=current, label="Checkpoint",
                                              elem_classes=["model_selection"])
            entry.ui_clip_skip = gr.Slider(label="Clip skip", value=m.shared.opts.data.get("CLIP_stop_at_last_layers", 1),
                                           minimum=1, maximum=12, step=1)
        settings = _SETTINGS_TAB.get(flavour.top_bar, ())
        quick = [k for k in _quicksettings(m) if k in settings]
        with gr.Row(elem_id="quicksettings"):  # A ui_settings.py:290-292, N 298-300, F 299-301
            for key in quick:
                _setting_component(m, key, titles, current)
        for tab, runner, is_img2img in (("txt2img", m.scripts.scripts_txt2img, False),
                                        ("img2img", m.scripts.scripts_img2img, True)):
            with gr.Tab(tab):
                _tab_controls(tab, m, forge)
                runner.initialize_scripts(is_img2img)
                m.scripts.scripts_current = runner
                runner.setup_ui()
                m.scripts.scripts_current = None
        # the Settings tab: every setting not in the quicksettings list, under the same element id (A
        # ui_settings.py:42, 148-170); it sets nothing until "Apply settings"
        with gr.Tab("Settings"):
            for key in settings:
                if key not in quick:
                    _setting_component(m, key, titles, current)
        gr.HTML("footer", elem_id="footer")
    return demo


#: the settings of the Settings tab the wiring could mistake for page controls, by top bar: A1111-style hosts
#: build all three (A shared_options.py:171, 181, 207); Neo its Clip skip slider and a non-interactive SD VAE
#: (N shared_options.py:224, 263; its checkpoint is "Managed by Forge", 220); Forge none (gr.State, F 173, 183,
#: 209, built without an element id, F ui_settings.py:26-27)
_SETTINGS_TAB = {"quicksettings": ("sd_model_checkpoint", "sd_vae", "CLIP_stop_at_last_layers"),
                 "neo": ("sd_vae", "CLIP_stop_at_last_layers")}


def _quicksettings(m) -> list[str]:
    opts = m.shared.opts
    return list(opts.data.get("quicksettings_list", opts.data.get("quick_setting_list", [])) or [])


def _setting_component(m, key: str, titles: list[str], current):
    """A setting's component as `create_setting_component` builds it, with its `setting_<key>` element id."""
    opts = m.shared.opts
    if key == "sd_model_checkpoint":
        return gr.Dropdown(choices=titles, value=current, label="Stable Diffusion checkpoint", elem_id=f"setting_{key}")
    if key == "sd_vae":  # A shared_items.sd_vae_items: Automatic, None, the files
        return gr.Dropdown(choices=["Automatic", "None", "sdxl_vae.safetensors"], value=opts.sd_vae, label="SD VAE",
                           elem_id=f"setting_{key}")
    return gr.Slider(1, 12, value=opts.CLIP_stop_at_last_layers, step=1, label="Clip skip", elem_id=f"setting_{key}")
