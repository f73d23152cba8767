"""Registers the host callbacks (called once from scripts/iga.py at import). Every part is imported here,
at load: a part that is missing or cannot load (a gradio incompatibility in the panel) fails the script's
load, which the host reports with its traceback, instead of silently dropping a feature."""

from __future__ import annotations

from iga_webui import api, host, image_save, paste, recipes, recipes_tab, sent_names, settings, ui_wiring


def register() -> None:
    sent_names.install()  # before the host builds its Api, so its routes bind the wrapped methods
    host.reraise_own_errors_of_the_main_thread()  # reForge / Classic: a refusal under Generate keeps its reason
    host.on("ui_settings", settings.register, "iga_settings")
    host.on("app_started", api.on_app_started, "iga_api")
    host.on("infotext_pasted", paste.on_infotext_pasted, "iga_paste_notice")
    host.on("before_image_saved", image_save.on_before_image_saved, "iga_image_metadata")
    host.on("image_saved", image_save.on_image_saved, "iga_image_metadata_exif")
    host.on("model_loaded", recipes.on_model_loaded, "iga_recipe_cache")
    host.on("after_component", ui_wiring.on_after_component, "iga_ui_wiring")
    host.on("ui_tabs", recipes_tab.on_ui_tabs, "iga_recipes_tab")
