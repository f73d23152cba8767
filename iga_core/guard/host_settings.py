"""How each WebUI is told a model fact the guard checks: the remedy a hard finding names on that host
(IGA-H003 prediction type, IGA-H007 noise schedule), the noise-schedule option a script can set for one
request, and how to show a control the host's page may leave out (Forge Classic's schedule type). The facts, with the host lines they come from, are data: `data/host_settings.json`."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _data() -> dict:
    return json.loads((Path(__file__).with_name("data") / "host_settings.json").read_text(encoding="utf-8"))


def _key(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _entry(table: dict, host: str | None) -> dict:
    """`table[host]`, following a string entry to the host it names ("forge-neo": "forge")."""
    entry = table.get(host or "")
    for _ in range(len(table)):
        if not isinstance(entry, str):
            break
        entry = table.get(entry)
    return entry if isinstance(entry, dict) else {}


def remedy(host: str | None, rule_id: str, wanted, cause: str | None = None) -> str | None:
    """The setting or file that gives `wanted` on `host` (a key of iga_webui/hosts.json: "a1111", "forge",
    "forge-neo", "forge-classic", "reforge"); None where it is not known. `cause`: what set the value the host
    runs, when not the checkpoint (`GuardRequest.prediction_set_by`); its own remedy comes first where the host
    has one (`causes`), else the host's general one."""
    entry = _entry(_data()["remedies"], host)
    if cause is not None:
        specific = entry.get("causes", {}).get(cause, {}).get(rule_id, {}).get(_key(wanted))
        if specific is not None:
            return specific
    return entry.get(rule_id, {}).get(_key(wanted))


#: the host option a script sets per request (override_settings) for the noise schedule
NOISE_SCHEDULE_OPTION: str = _data()["noise_schedule"]["option"]


def noise_schedule(host: str | None, zero_terminal_snr: bool) -> str | None:
    """`host`'s value of its noise-schedule option for a zero-terminal-SNR (or default) schedule; None when
    the host has no such option."""
    return _entry(_data()["noise_schedule"], host).get(_key(zero_terminal_snr))


def show_control(host: str | None, control: str) -> str | None:
    """How to make `host`'s page show the control of request field `control` (the setting that adds it);
    None where the host always shows it or it is not known."""
    return _entry(_data()["controls"], host).get(control)
