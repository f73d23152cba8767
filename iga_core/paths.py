"""Where iga keeps its own files: one lookup shared by the CLI, the standalone app and the WebUI glue, so
each of them sees what the others wrote (the registry, the decision log, the demo models, the hash cache).

- data folder: `$IGA_DATA_DIR`, else `%APPDATA%\\iga` on Windows, else `$XDG_DATA_HOME/iga`
  (default `~/.local/share/iga`);
- cache folder: `$IGA_CACHE_DIR`, else `%LOCALAPPDATA%\\iga` on Windows, else `$XDG_CACHE_HOME/iga`
  (default `~/.cache/iga`);
- registry: `$IGA_REGISTRY`, else `<data folder>/registry`;
- decision log: `$IGA_DECISION_LOG`, else `<data folder>/decisions.jsonl`.

`shipped(name)` finds the files the standalone app reads that live at the repository root (the example
recipes, the JS and CSS): at the root in a clone or an editable install, in `iga_core/_shipped/` in an
installed wheel (setup.py copies them there at build time).
"""

from __future__ import annotations

import os
from pathlib import Path

DECISION_LOG_FILENAME = "decisions.jsonl"
#: root files and folders that ship inside the package (setup.py's SHIPPED holds the same names)
SHIPPED = ("metadata_examples", "javascript", "style.css")
_PACKAGE = Path(__file__).resolve().parent


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    if found := _env_path("IGA_DATA_DIR"):
        return found
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "iga"
    return (_env_path("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "iga"


def cache_dir() -> Path:
    if found := _env_path("IGA_CACHE_DIR"):
        return found
    if os.name == "nt" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "iga"
    return (_env_path("XDG_CACHE_HOME") or Path.home() / ".cache") / "iga"


def registry_dir() -> Path:
    return _env_path("IGA_REGISTRY") or data_dir() / "registry"


def decision_log_path() -> Path:
    return _env_path("IGA_DECISION_LOG") or data_dir() / DECISION_LOG_FILENAME


def shipped(name: str) -> Path:
    """`metadata_examples`, `javascript` or `style.css`: the packaged copy when this is an installed wheel,
    else the repository root's (a clone, an editable install, the WebUI's extension folder)."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not shipped with the package (one of {', '.join(SHIPPED)})")
    packaged = _PACKAGE / "_shipped" / name
    return packaged if packaged.exists() else _PACKAGE.parent / name
