"""The "IGA" settings section (`iga_*` keys), declared in settings.json so the list stays data."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import gradio as gr

from iga_webui import host

_SPEC = Path(__file__).with_name("settings.json")


@lru_cache(maxsize=1)
def spec() -> dict:
    return json.loads(_SPEC.read_text(encoding="utf-8"))


def defaults() -> dict[str, Any]:
    return dict(_defaults())


@lru_cache(maxsize=1)
def _defaults() -> dict[str, Any]:  # read per generation: built once (callers get `defaults()`'s copy)
    return {o["key"]: o["default"] for o in spec()["options"]}


def get(key: str) -> Any:
    """The current value; the registered default until the user changes it (the option may not be
    registered yet when this runs at import time, so read `opts.data` with our own default)."""
    return host.option(key, _defaults()[key])


def register() -> None:
    """on_ui_settings: add every option to the "IGA" section."""
    section = tuple(spec()["section"])
    for o in spec()["options"]:
        component, args = None, None
        if o["component"] == "radio":
            component, args = gr.Radio, {"choices": o["choices"]}
        elif o["component"] == "textbox":
            component = gr.Textbox
        elif o["component"] == "dropdown_editable":  # one click for a listed value, or type your own
            component, args = host.DropdownEditable, {"choices": o["choices"]}
        host.add_option(o["key"], o["default"], o["label"], component, args, section=section, info=o.get("info"))
