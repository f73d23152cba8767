"""The `PanelContext` the WebUI hands to `iga_core.ui` (panel and Recipes tab): host lookups as callables."""

from __future__ import annotations

from typing import Any

from iga_webui import decisions, host, loras, recipes, settings


def recipe_source(checkpoint: str | None):
    """The recipe source of a checkpoint control value ("name.safetensors [hash]") or of the current one."""
    info = host.checkpoint_by_name(checkpoint) if checkpoint else None
    if info is None and checkpoint:
        # A fires the change with the bare name first, then with " [hash]" appended (host-api.md §13)
        info = host.checkpoint_by_name(checkpoint.split(" [")[0])
    if info is None:
        from modules import sd_models

        info = host.loaded_checkpoint() or sd_models.select_checkpoint()
    return recipes.lookup(getattr(info, "filename", None)) if info is not None else None


def _setting(key: str, default: Any = None) -> Any:
    from modules import shared

    if key in settings.defaults():
        return settings.get(key)
    return shared.opts.data.get(key, default)


def _samplers() -> list[str]:
    from modules import sd_samplers  # `all_samplers`: SamplerData(name, ...) list, A and F sd_samplers.py:11

    return [s.name for s in sd_samplers.all_samplers]


def _schedules() -> list[str]:
    try:
        from modules import sd_schedulers  # `schedulers`: Scheduler(name, label, ...), A 130 / F 211

        return [s.label for s in sd_schedulers.schedulers]
    except ImportError:  # the host double keeps schedulers in sd_samplers
        from modules import sd_samplers

        return [s.label for s in getattr(sd_samplers, "schedulers", [])]


def _checkpoints() -> list[tuple[str, str]]:
    from modules import sd_models  # `checkpoints_list`: title -> CheckpointInfo, A sd_models.py:24 / F 30

    return [(info.title, info.filename) for info in sd_models.checkpoints_list.values()]


def _loaded() -> str | None:
    info = host.loaded_checkpoint()
    return getattr(info, "title", None)


def _refresh() -> None:
    """After stamping: rebuild the host's CheckpointInfo list (A shared_items.py:60-62; F main_entry.py)."""
    recipes.forget()
    try:
        from modules import shared_items
    except ImportError:
        return
    shared_items.refresh_checkpoints()


def _lora_source(name: str):
    """A prompt's `<lora:name:…>` to its recipe source, found the way Generate finds it."""
    path = loras.find_lora_file(name)
    return recipes.lookup(path) if path else None


def _recent_decisions(n: int) -> list[dict] | None:
    return decisions.recent(n) if decisions.enabled() else None  # None: the panel says the log is off


def panel_context():
    from iga_core.ui.context import PanelContext

    return PanelContext(recipe_source=recipe_source, setting=_setting, samplers=_samplers, schedules=_schedules,
                        dialect=host.dialect(), checkpoints=_checkpoints, loaded_checkpoint=_loaded,
                        refresh_checkpoints=_refresh, lora_source=_lora_source,
                        recent_decisions=_recent_decisions)
