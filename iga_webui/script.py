"""The one always-on Script ("IGA") on txt2img and img2img, on A1111 v1.10.1 and Forge.

Hooks (A processing.py:821 / F 818 `before_process`, A 915 / F 907 `process`): `before_process` fills API-omitted fields from the recipe (the model may not be
loaded yet on Forge); `process` checks the effective settings, writes the audit record into infotext and
blocks for real through `p.sample` when the guard refuses. The single script arg is the versioned dict of
`iga_core.script_args`, held by one hidden component.
"""

from __future__ import annotations

from typing import Any

from iga_core.ui.panel import build_panel
from iga_webui import generation, host, xyz
from iga_webui.context import panel_context

TITLE = "IGA"


class IgaScript(host.Script):
    sorting_priority = 5  # Forge only: keep the panel near the top of the accordions; A ignores it
    create_group = True

    def __init__(self) -> None:
        super().__init__()
        self._ui_default: Any = None

    def title(self) -> str:
        return TITLE

    def show(self, is_img2img: bool):
        return host.AlwaysVisible

    def ui(self, is_img2img: bool):
        # No side effects here: the API calls ui() twice more inside throwaway Blocks for default args.
        panel = build_panel("img2img" if is_img2img else "txt2img", panel_context())
        self._ui_default = panel.args.value
        self.infotext_fields = list(panel.infotext_fields)
        return [panel.args]

    def _args(self, p: Any, raw: Any) -> Any:
        # An API caller who leaves out "alwayson_scripts": {"iga": ...} gets the UI component's default,
        # which describes the UI's state, not a choice: treat it as "not sent" (-> ScriptArgs defaults).
        if getattr(p, "is_api", False) and raw is not None and raw == self._ui_default:
            return None
        return raw

    def setup(self, p, *args):
        xyz.start_run(p)  # runs once on the outer p of an X/Y/Z plot, before its cells are copied

    def before_process(self, p, *args):
        generation.before_process(p, self._args(p, args[0] if args else None))

    def process(self, p, *args):
        generation.process(p, self._args(p, args[0] if args else None))

    def postprocess(self, p, processed, *args):
        generation.postprocess(p, processed)

    def postprocess_image(self, p, pp, *args):
        st = generation.state_of(p)
        if st is not None and xyz.in_plot(p):
            pp.image = xyz.label_image(pp.image, st.verdict)
