"""The `PanelContext` the WebUI hands to `iga_core.ui` (panel and Recipes tab): host lookups as callables."""

from __future__ import annotations

from typing import Any

from iga_core.ui.context import PanelContext
from iga_webui import decisions, generation, host, loras, recipes, settings


def _checkpoint(checkpoint: str | None):
    """The CheckpointInfo of a checkpoint control value, else of the checkpoint the next Generate runs
    (`host.next_checkpoint`: the selected one, not a leftover model in memory). A fires the control's
    change with the bare name, then "name [hash]" (seen in the running host): the host's own lookup finds both,
    since it retries without the checksum (A sd_models.py:183-200, F 198-215)."""
    info = host.checkpoint_by_name(checkpoint) if checkpoint else None
    return info if info is not None else host.next_checkpoint()


def recipe_source(checkpoint: str | None):
    """The recipe source of a checkpoint control value or of the current checkpoint."""
    info = _checkpoint(checkpoint)
    return recipes.lookup(getattr(info, "filename", None)) if info is not None else None


def host_facts(checkpoint: str | None, recipe, preset: str | None):
    """What the host reads from the model the panel's checkpoint runs as, for the live verdict: the facts
    Generate judges with (`generation.check_facts`)."""
    info = _checkpoint(checkpoint)
    return generation.check_facts(getattr(info, "filename", None), recipe, preset)


def _setting(key: str, default: Any = None) -> Any:
    if key in settings.defaults():
        return settings.get(key)
    return host.option(key, default)


def _checkpoints() -> list[tuple[str, str]]:
    return [(info.title, info.filename) for info in host.checkpoints()]


def _loaded() -> str | None:
    info = host.loaded_checkpoint()
    return getattr(info, "title", None)


def _refresh() -> None:
    """After stamping: rebuild the host's CheckpointInfo list (A shared_items.py:60-62; F 58-60)."""
    recipes.forget()
    host.refresh_checkpoints()


def _lora_source(name: str):
    """A prompt's `<lora:name:…>` to its recipe source, found the way Generate finds it."""
    path = loras.find_lora_file(name)
    return recipes.lookup(path) if path else None


def _recent_decisions(n: int) -> list[dict] | None:
    return decisions.recent(n) if decisions.enabled() else None  # None: the panel says the log is off


def _sent_without_control() -> dict:
    """What the page runs for a control it can leave out (`forks.schedule_control`: Forge Classic's schedule
    type without its dropdown runs Automatic); the panel judges it there when its page has no such control."""
    sent = host.glue("schedule_control").sent_without
    return {"schedule": sent} if sent is not None else {}


def panel_context() -> PanelContext:
    return PanelContext(recipe_source=recipe_source, setting=_setting, samplers=host.sampler_names,
                        schedules=host.schedule_labels,
                        dialect=host.dialect(), checkpoints=_checkpoints, loaded_checkpoint=_loaded,
                        refresh_checkpoints=_refresh, lora_source=_lora_source,
                        recent_decisions=_recent_decisions, host_name=host.profile().name, host_facts=host_facts,
                        supports_distilled_cfg=host.supports_distilled_cfg(), host=host.profile().key,
                        sent_without_control=_sent_without_control)
