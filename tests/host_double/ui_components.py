"""Mirror of the modules/ui_components.py component the glue uses.

- `FormComponent`: A ui_components.py:4-6 (a marker base with `get_expected_parent`; F the same).
- `DropdownEditable`: A ui_components.py:79-85 (gr.Dropdown with `allow_custom_value=True`), F 90-99 (the
  same with `@wraps`); the hosts' own "Gradio theme" setting uses it (A shared_options.py:337, F 345).
"""

from __future__ import annotations

import gradio as gr


class FormComponent:
    def get_expected_parent(self):
        return gr.components.Form


class DropdownEditable(FormComponent, gr.Dropdown):
    """Same as gr.Dropdown but allows editing value"""

    def __init__(self, **kwargs):
        super().__init__(allow_custom_value=True, **kwargs)

    def get_block_name(self):
        return "dropdown"
