"""What the txt2img / img2img page has, recorded when `ui_wiring` wires the panel, for the remedies of a UI
generation: a remedy that changes a field the page has no control for starts with where the host sets it
(`GuardRequest.hidden_controls`). None until a UI is built (the API, tests without a page)."""

from __future__ import annotations

#: is there a clip-skip control on the page (A1111 / Classic quicksettings, Forge's `ui_clip_skip`, reForge's
#: default quicksettings)? Neo has none: its Clip skip is an ordinary setting (N shared_options.py:224)
clip_skip_control: bool | None = None


def lacks_clip_skip() -> bool:
    return clip_skip_control is False
