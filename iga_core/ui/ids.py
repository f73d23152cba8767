"""Element ids and CSS classes: one rule shared with javascript/iga.js (`IGA.id`).

Every id is `iga-` + the parts joined by `-`, e.g. `elem_id("txt2img", "verdict")` -> `iga-txt2img-verdict`.
"""

from __future__ import annotations

PREFIX = "iga"
#: CSS class that hides a component which must stay in the DOM (gradio 4 drops `visible=False` ones)
HIDDEN_CLASS = "iga-hidden"


def elem_id(*parts: str) -> str:
    return "-".join((PREFIX, *parts))


def css_class(*parts: str) -> str:
    return "-".join((PREFIX, *parts))
