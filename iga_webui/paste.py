"""Paste-back notice: when PNG Info / "Send to" pastes an infotext whose IGA recipe digest differs from the
current checkpoint's recipe, say so (`on_infotext_pasted` runs after parsing and may add keys, A
infotext_utils.py:487). The notice goes into `params["IGA notice"]` for the panel, to the console, and as a
toast: paste runs inside a Gradio event on both hosts, where `gr.Warning` shows (outside one it only
warns)."""

from __future__ import annotations

import logging

from iga_core.errors import IgaError
from iga_core.recipe import Recipe

log = logging.getLogger("iga")
NOTICE_KEY = "IGA notice"


def notice_for(params: dict, current_recipe: Recipe | None) -> str | None:
    from iga_core.audit import compare_to_recipe, from_infotext_params

    try:
        info = from_infotext_params(params)
    except IgaError as exc:
        return f"the IGA fields of this infotext are unreadable and were ignored: {exc.message}"
    if info is None:
        return None
    verdict = compare_to_recipe(info, current_recipe)
    if verdict == "different":
        return ("this image was made with a different recipe than the current checkpoint's; its preset and "
                "overrides may not fit — check the IGA panel before generating")
    if verdict == "none" and current_recipe is None and params.get("IGA recipe"):
        return "this image was made under an IGA recipe, but the current checkpoint has none"
    return None


def on_infotext_pasted(infotext: str, params: dict) -> None:
    from iga_webui.context import recipe_source

    if not any(str(k).startswith("IGA") for k in params):
        return
    source = recipe_source(None)
    notice = notice_for(params, source.recipe if source is not None else None)
    if notice:
        params[NOTICE_KEY] = notice
        log.warning("[IGA] %s", notice)
        import gradio as gr

        gr.Warning(f"IGA: {notice}")
