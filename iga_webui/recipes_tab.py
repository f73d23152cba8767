"""The Recipes tab in the WebUI (`script_callbacks.on_ui_tabs`, registered by iga_webui/callbacks.py).

The tab itself is `iga_core.ui.recipes_tab`; the host supplies its checkpoint list, the loaded checkpoint
(never rewritten) and the refresh after a write (`shared_items.refresh_checkpoints()`, A shared_items.py:60-62, F 58-60)
through `iga_webui.context.panel_context()`.
"""

from __future__ import annotations

import gradio as gr

from iga_core.ui.recipes_tab import build_recipes_tab
from iga_webui.context import panel_context

TAB_TITLE = "IGA Recipes"
TAB_ID = "iga_recipes"  # the host wraps it as gr.TabItem(elem_id="tab_iga_recipes")


def on_ui_tabs():
    with gr.Blocks(analytics_enabled=False) as blocks:
        build_recipes_tab(panel_context()).wire()
    return [(blocks, TAB_TITLE, TAB_ID)]
