"""What the panel needs from its host, as plain callables (`PanelContext`).

The WebUI glue, the standalone app and the tests each supply their own, so the panel never imports a host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: settings the panel reads (registered by the WebUI glue; the standalone app answers with the defaults)
SETTING_AUTO_APPLY = "iga_auto_apply"  # bool: apply the recipe/preset when the checkpoint changes
SETTING_GATE_STYLE = "iga_advanced_gate_style"  # "hide" | "lock": what the closed Advanced gate does
SETTING_GUARD_MODE = "iga_guard_mode"  # strict | standard | audit | off: the mode when the panel says "Setting"
SETTING_DEFAULTS: dict[str, Any] = {
    SETTING_AUTO_APPLY: True,
    SETTING_GATE_STYLE: "lock",
    SETTING_GUARD_MODE: "standard",
}


def _default_setting(key: str, default: Any = None) -> Any:
    return SETTING_DEFAULTS.get(key, default)


def _no_checkpoints() -> list[str]:
    return []


def _no_lora_recipe(name: str) -> None:
    return None


@dataclass(frozen=True)
class PanelContext:
    """Host lookups for the panel and the Recipes tab.

    recipe_source(checkpoint) -> `iga_core.checkpoint.sources.RecipeSource` or None; `checkpoint` is the value of the
        host's checkpoint control (A1111 titles look like "name.safetensors [hash]"), None for "the current one".
    setting(key, default) -> the value of an `iga_*` setting.
    samplers() / schedules() -> the names the host's dropdowns accept (empty: accept any name).
    dialect: the vocabulary the host's controls speak ("a1111" or "forge"; see `iga_core.vocab.export_name`).
    host_name: the host's name in notes ("reForge", ...); None: "Forge" for the forge dialect, else "this WebUI".
    supports_distilled_cfg: does the host have a distilled-CFG control (Forge, Neo: yes; reForge and Forge
        Classic speak the forge dialect without one); None: as the dialect says.
    host_facts(checkpoint, recipe, preset) -> `iga_core.guard.HostFacts` or None: what the host reads from the
        model `checkpoint` (the control's value, None for the current one) runs as -- its prediction type,
        noise schedule, architecture, the host's key -- as Generate will judge it with `recipe` and `preset`;
        the live verdict is judged with them. None (the standalone app, no host): nothing is read.
    host: the host's key (iga_webui/hosts.json: "a1111", "forge", "forge-neo", "forge-classic", "reforge"):
        the live verdict judges the request as that host runs it (Classic's and Neo's UniPC on the schedule's
        sigmas) and names its settings; None (the standalone app): as A1111 / Forge run it.
    sent_without_control() -> {raw control name: value} for controls the host's page can leave out, and what
        the host then runs ({"schedule": "Automatic"} on Forge Classic without "Display the Scheduler
        Dropdown"); a control the panel was not wired to is judged at that value and its remedies say how to
        show it.
    checkpoints() -> the checkpoint files the Recipes tab lists, as (title, path) pairs.
    loaded_checkpoint() -> the path of the checkpoint loaded (memory-mapped) right now, or None.
    refresh_checkpoints() -> re-read the host's checkpoint list after a write (metadata is cached by mtime).
    lora_source(name) -> the recipe source of the LoRA a `<lora:name:w>` prompt tag names, or None (no such
        LoRA, or it has no recipe); the panel composes those recipes with the checkpoint's.
    recent_decisions(n) -> the last n decision-log entries, newest last (None: the log is switched off);
        the field left None hides the panel's section.
    log_decision(entry) -> append one decision-log entry (`decision_log.entry_from_record`): the standalone
        app's Check logs what Generate would decide; None (the WebUI) logs at generation instead.
    """

    recipe_source: Callable[[str | None], Any]
    setting: Callable[[str, Any], Any] = _default_setting
    samplers: Callable[[], Sequence[str]] = _no_checkpoints
    schedules: Callable[[], Sequence[str]] = _no_checkpoints
    dialect: str = "a1111"
    checkpoints: Callable[[], Sequence[tuple[str, str]]] = field(default=lambda: [])
    loaded_checkpoint: Callable[[], str | None] = field(default=lambda: None)
    refresh_checkpoints: Callable[[], None] = field(default=lambda: None)
    lora_source: Callable[[str], Any] = _no_lora_recipe
    recent_decisions: Callable[[int], Sequence[dict] | None] | None = None
    log_decision: Callable[[dict], None] | None = None
    host_name: str | None = None
    supports_distilled_cfg: bool | None = None
    host_facts: Callable[[str | None, Any, str], Any] | None = None
    host: str | None = None
    sent_without_control: Callable[[], Mapping[str, Any]] = field(default=lambda: {})

    def get(self, key: str) -> Any:
        """A setting, falling back to the panel's documented default."""
        try:
            return self.setting(key, SETTING_DEFAULTS.get(key))
        except Exception:  # a host settings object that misbehaves must not break the panel
            return SETTING_DEFAULTS.get(key)
