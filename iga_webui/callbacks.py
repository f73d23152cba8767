"""Registers the host callbacks (called once from scripts/iga.py at import). UI callbacks delegate to the
UI part's modules (`ui_wiring`, `recipes_tab`) when they are present."""

from __future__ import annotations

import logging

log = logging.getLogger("iga")


def _after_component(component, **kwargs) -> None:
    from iga_webui import ui_wiring

    ui_wiring.on_after_component(component, **kwargs)


def _ui_tabs():
    from iga_webui import recipes_tab

    return recipes_tab.on_ui_tabs()


def register() -> None:
    from modules import script_callbacks

    from iga_webui import api, image_save, paste, recipes, sent_names, settings

    sent_names.install()  # before the host builds its Api, so its routes bind the wrapped methods
    script_callbacks.on_ui_settings(settings.register, name="iga_settings")
    script_callbacks.on_app_started(api.on_app_started, name="iga_api")
    script_callbacks.on_infotext_pasted(paste.on_infotext_pasted, name="iga_paste_notice")
    script_callbacks.on_before_image_saved(image_save.on_before_image_saved, name="iga_image_metadata")
    script_callbacks.on_image_saved(image_save.on_image_saved, name="iga_image_metadata_exif")
    script_callbacks.on_model_loaded(recipes.on_model_loaded, name="iga_recipe_cache")
    try:
        from iga_webui import ui_wiring  # noqa: F401 -- the UI part; absent in a core-only checkout
    except ImportError:
        log.info("[IGA] ui_wiring not present: auto-apply on checkpoint change is off")
    else:
        script_callbacks.on_after_component(_after_component, name="iga_ui_wiring")
    try:
        from iga_webui import recipes_tab  # noqa: F401
    except ImportError:
        log.info("[IGA] recipes_tab not present: no Recipes tab")
    else:
        script_callbacks.on_ui_tabs(_ui_tabs, name="iga_recipes_tab")
