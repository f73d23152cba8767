"""Host glue for the panel: auto-apply on checkpoint change and the Advanced gate in A1111 and Forge.

`scripts/iga.py` registers `on_after_component` with `script_callbacks.on_after_component`. The host calls it
for every component it builds; this module keeps the instances it needs by element id (the host's raw
controls, the checkpoint control, the IGA panels) and, when the page `footer` is created (the whole UI exists
then, in both hosts: A ui.py:1161, F 1009), wires each tab's panel to them with `Panel.wire`.

Pitfalls handled (seen in both running hosts): A fires the checkpoint change twice (bare name, then "name [hash]") and
again on page load: the handler is idempotent and matches by name. Forge fires nothing on page reload and
its UI-preset radio overwrites sampler and CFG: javascript/iga.js clicks each panel's hidden re-apply button
after the page has loaded and after that radio changes. The setting `iga_auto_apply` turns auto-apply off; a
checkpoint without a recipe leaves the controls alone (both decided in `iga_core.ui.view.compute`).
"""

from __future__ import annotations

import sys
from typing import Any

from iga_core.ui.panel import Panel
from iga_webui import host, page
from iga_webui.context import panel_context

TABS = ("txt2img", "img2img")
#: raw control name -> host element id per tab (A and F processing_scripts/sampler.py:23-32; CFG A ui.py:303 / 667,
#: F 322-323 / 715-716; size A ui.py:290-291 / 629-630, F 309-310 / 666-667)
CONTROL_IDS = {
    tab: {
        "sampler": f"{tab}_sampling",
        "schedule": f"{tab}_scheduler",
        "steps": f"{tab}_steps",
        "cfg": f"{tab}_cfg_scale",
        "distilled_cfg": f"{tab}_distilled_cfg_scale",  # Forge only
        "width": f"{tab}_width",
        "height": f"{tab}_height",
    }
    for tab in TABS
}
#: the tab's prompt (its LoRA tags compose LoRA recipes into the panel) and the generation-info HTML the
#: host rewrites after every generation (its change refreshes the panel's last decisions); same ids in A and F
PROMPT_IDS = {tab: f"{tab}_prompt" for tab in TABS}
AFTER_GENERATION_IDS = {tab: f"html_info_{tab}" for tab in TABS}
#: a setting's element id, in the top bar when it is in the quicksettings list and in the Settings tab otherwise
#: (A ui_settings.py:42); only the top bar's is a control of the page (`_top_bar_setting`)
A1111_CHECKPOINT_ID = "setting_sd_model_checkpoint"  # also Neo's own top-bar dropdown (N main_entry.py:67)
A1111_CLIP_SKIP_ID = "setting_CLIP_stop_at_last_layers"
A1111_VAE_ID = "setting_sd_vae"  # Forge's VAE / Text Encoder multiselect holds modules, not one VAE
WIRE_AT = "footer"

_WANTED = {elem for ids in CONTROL_IDS.values() for elem in ids.values()} | {
    A1111_CHECKPOINT_ID, A1111_CLIP_SKIP_ID, A1111_VAE_ID, *PROMPT_IDS.values(), *AFTER_GENERATION_IDS.values()}


class _Capture:
    """Components seen since the last wiring, by element id, reset after each wiring. The latest instance
    wins: the API builds extra copies in throwaway Blocks only after the UI exists (`create_api` runs after
    `create_ui`), so they land after a reset and are replaced when a UI reload builds the real ones again."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.by_id: dict[str, Any] = {}
        self.forge_checkpoint = None
        self.forge_clip_skip = None

    def keep(self, component, kwargs: dict) -> None:
        elem_id = kwargs.get("elem_id")
        if isinstance(elem_id, str) and (elem_id in _WANTED or elem_id.startswith("iga-")):
            self.by_id[elem_id] = component
        # Forge's top bar has no element ids (F main_entry.py:69-74): its checkpoint is the "model_selection" one
        classes = kwargs.get("elem_classes")
        if kwargs.get("label") == "Checkpoint" and classes == ["model_selection"]:
            self.forge_checkpoint = component


_capture = _Capture()
wired_tabs: list[str] = []  # the tabs wired by the latest UI build (read by tests and for the log line)


def _log(message: str) -> None:
    print(f"[IGA] {message}", file=sys.stderr)


def _top_bar_setting(key: str):
    """The top bar's control of setting `key`, or None. `setting_<key>` is also the element id of the same
    setting in the Settings tab, which changes nothing until "Apply settings"; a key in the quicksettings list is
    built in the top bar instead (`host.quicksettings`). Seen in a real Forge Neo: wired to the Settings tab's
    Clip skip slider, the panel pushed the recipe's clip skip into it and judged that, while the setting Generate
    runs stayed 2."""
    return _capture.by_id.get(f"setting_{key}") if key in host.quicksettings() else None


def _checkpoint_control():
    if host.glue("top_bar").has_main_entry:  # Forge's has no element id, Neo's has A1111's (N main_entry.py:67)
        return (_capture.by_id.get(A1111_CHECKPOINT_ID) or _capture.forge_checkpoint
                or host.forge_main_entry("ui_checkpoint"))
    return _top_bar_setting("sd_model_checkpoint")


def _clip_skip_control():
    return _top_bar_setting("CLIP_stop_at_last_layers") or host.forge_main_entry("ui_clip_skip")


def wire(ctx=None) -> list[str]:
    """Wire every captured panel to the host controls; returns the tabs wired."""
    if ctx is None:
        ctx = panel_context()
    checkpoint = _checkpoint_control()
    clip_skip = _clip_skip_control()
    page.clip_skip_control = clip_skip is not None
    done = []
    for tab in TABS:
        try:
            panel = Panel.from_components(tab, ctx, _capture.by_id)
        except KeyError:
            continue  # the script is not shown on this tab (or the panel is not installed)
        controls = {name: _capture.by_id.get(elem) for name, elem in CONTROL_IDS[tab].items()}
        controls["clip_skip"] = clip_skip
        vae_setting = host.glue("vae").control_setting  # None on Forge and Neo (`forks/vae.py`)
        controls["vae"] = _top_bar_setting(vae_setting) if vae_setting else None
        panel.wire({k: v for k, v in controls.items() if v is not None}, checkpoint,
                   prompt=_capture.by_id.get(PROMPT_IDS[tab]),
                   after_generation=_capture.by_id.get(AFTER_GENERATION_IDS[tab]))
        done.append(tab)
    if checkpoint is None and done:
        _log("checkpoint control not found: the panel follows the current checkpoint only on page load")
    return done


def on_after_component(component, **kwargs) -> None:
    """Global `script_callbacks.on_after_component` callback."""
    global wired_tabs
    _capture.keep(component, kwargs)
    if kwargs.get("elem_id") != WIRE_AT:
        return
    try:
        wired_tabs = wire()
    finally:
        _capture.reset()
