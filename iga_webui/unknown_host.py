"""The extension on a WebUI it does not know (no entry of `hosts.json` matches, docs/hosts.md §1): one
always-on "IGA" script whose panel says so, and nothing else -- no recipe applied, nothing judged, nothing
written into images, no callbacks, no routes. Guessing which fork's glue fits would guard with the wrong
facts; an extension that loads and silently does nothing would be worse than one that says it does not
support the host. The console says it once (`host_probe.announce`), the panel on both tabs.
"""

from __future__ import annotations

from iga_core.ui.panel import build_host_notice
from iga_webui import host_probe

TITLE = "IGA"


def script_class():
    """The always-on notice script built on the host's own `Script` base, or None when the host has no
    `modules.scripts` (then nothing can show in the UI; the console line stands alone)."""
    base = host_probe.script_base()
    if base is None:
        return None
    script, always_visible = base

    class IgaUnknownHost(script):
        """Says that this WebUI is unknown to IGA; guards nothing."""

        def title(self) -> str:
            return TITLE

        def show(self, is_img2img: bool):
            return always_visible

        def ui(self, is_img2img: bool):
            build_host_notice("img2img" if is_img2img else "txt2img", host_probe.announce())
            return []

    return IgaUnknownHost
