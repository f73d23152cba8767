"""How a callback is registered with `modules.script_callbacks` (docs/hosts.md §2).

- `named` (A1111, Forge, Neo, reForge): `on_<event>(callback, *, name=None)`, A1111 1.9's keyword
  (A script_callbacks.py:456-609, `add_callback(callbacks, fun, *, name=None, category=..., filename=None)`;
  reForge script_callbacks.py:127).
- `positional` (Forge Classic): `on_<event>(callback)` only, A1111 1.8's signature: `add_callback(callbacks,
  fun)` (classic modules/script_callbacks.py:324-328, `on_ui_settings(callback)` at 378). Passing `name=`
  raises TypeError there, which stopped scripts/iga.py from loading in a real Forge Classic (seen
  2026-12-03, docs/hosts.md "Seen in a real Forge Classic").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Named:
    name = "named"

    def register(self, on_event: Callable[..., Any], callback: Callable[..., Any], name: str) -> None:
        on_event(callback, name=name)


class Positional:
    name = "positional"

    def register(self, on_event: Callable[..., Any], callback: Callable[..., Any], name: str) -> None:
        on_event(callback)


VARIANTS = {"named": Named(), "positional": Positional()}
