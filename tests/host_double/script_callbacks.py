"""Mirror of modules/script_callbacks.py (identical in A and F): registration functions and the invokers,
each wrapping every callback in try/except + errors.report (A 253-431) so a failing callback never
stops the host."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from modules import errors

_callbacks: dict[str, list] = defaultdict(list)


class ImageSaveParams:  # A 18-30
    def __init__(self, image, p, filename, pnginfo):
        self.image = image
        self.p = p
        self.filename = filename
        self.pnginfo = pnginfo


def _add(category: str, callback, name=None) -> None:
    from modules import shared

    if name is not None and not shared.FLAVOUR.callback_names:
        # Classic's on_<event>(callback) has no `name` (classic modules/script_callbacks.py:324-328, 378)
        raise TypeError(f"on_{category}() got an unexpected keyword argument 'name'")
    _callbacks[category].append(callback)


def _run(category: str, *args, **kwargs) -> list:
    results = []
    for callback in list(_callbacks[category]):
        try:
            results.append(callback(*args, **kwargs))
        except Exception:
            errors.report(f"Error executing callback {category} for {callback}", exc_info=True)
    return results


def clear_callbacks() -> None:
    _callbacks.clear()


# registration (A 456-609): `name=` is keyword-only in the host; Forge Classic has no `name` (flavours.py)
def on_app_started(callback, *, name=None):
    _add("app_started", callback, name)


def on_model_loaded(callback, *, name=None):
    _add("model_loaded", callback, name)


def on_ui_tabs(callback, *, name=None):
    _add("ui_tabs", callback, name)


def on_ui_settings(callback, *, name=None):
    _add("ui_settings", callback, name)


def on_before_image_saved(callback, *, name=None):
    _add("before_image_saved", callback, name)


def on_image_saved(callback, *, name=None):
    _add("image_saved", callback, name)


def on_before_component(callback, *, name=None):
    _add("before_component", callback, name)


def on_after_component(callback, *, name=None):
    _add("after_component", callback, name)


def on_infotext_pasted(callback, *, name=None):
    _add("infotext_pasted", callback, name)


def on_before_ui(callback, *, name=None):
    _add("before_ui", callback, name)


def on_script_unloaded(callback, *, name=None):
    _add("script_unloaded", callback, name)


# invokers (A 253-399)
def app_started_callback(demo, app) -> None:
    _run("app_started", demo, app)


def model_loaded_callback(sd_model) -> None:
    _run("model_loaded", sd_model)


def ui_tabs_callback() -> list:
    res = []
    for tabs in _run("ui_tabs"):
        res += tabs or []
    return res


def ui_settings_callback() -> None:
    _run("ui_settings")


def before_image_saved_callback(params: ImageSaveParams) -> None:
    _run("before_image_saved", params)


def image_saved_callback(params: ImageSaveParams) -> None:
    _run("image_saved", params)


def after_component_callback(component, **kwargs) -> None:
    _run("after_component", component, **kwargs)


def infotext_pasted_callback(infotext: str, params: dict[str, Any]) -> None:
    _run("infotext_pasted", infotext, params)


def before_ui_callback() -> None:
    _run("before_ui")
