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
from functools import lru_cache
from pathlib import Path

DECISION_LOG_FILENAME = "decisions.jsonl"
#: root files and folders that ship inside the package (setup.py's SHIPPED holds the same names)
SHIPPED = ("metadata_examples", "javascript", "style.css")
_PACKAGE = Path(__file__).resolve().parent

# Each folder is worked out once per state of the variables it reads (a generation asks for the registry
# folder every time; building Paths from the environment each time cost more than the rest of its lookup).


def _env(*names: str) -> tuple[str | None, ...]:
    # HOME / USERPROFILE: what Path.home() reads (posix / Windows)
    return (*(os.environ.get(n) or None for n in names), os.environ.get("HOME"), os.environ.get("USERPROFILE"))


@lru_cache(maxsize=32)
def _expand(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


@lru_cache(maxsize=16)
def _data_dir(own: str | None, appdata: str | None, xdg: str | None, *_home: str | None) -> Path:
    if found := _expand(own):
        return found
    if os.name == "nt" and appdata:
        return Path(appdata) / "iga"
    return (_expand(xdg) or Path.home() / ".local" / "share") / "iga"


@lru_cache(maxsize=16)
def _cache_dir(own: str | None, local: str | None, xdg: str | None, *_home: str | None) -> Path:
    if found := _expand(own):
        return found
    if os.name == "nt" and local:
        return Path(local) / "iga"
    return (_expand(xdg) or Path.home() / ".cache") / "iga"


def data_dir() -> Path:
    return _data_dir(*_env("IGA_DATA_DIR", "APPDATA", "XDG_DATA_HOME"))


def cache_dir() -> Path:
    return _cache_dir(*_env("IGA_CACHE_DIR", "LOCALAPPDATA", "XDG_CACHE_HOME"))


def registry_dir() -> Path:
    return _expand(os.environ.get("IGA_REGISTRY")) or _in_data("registry")


def decision_log_path() -> Path:
    return _expand(os.environ.get("IGA_DECISION_LOG")) or _in_data(DECISION_LOG_FILENAME)


def _in_data(name: str) -> Path:
    return _child(data_dir(), name)


@lru_cache(maxsize=16)
def _child(folder: Path, name: str) -> Path:
    return folder / name


def shipped(name: str) -> Path:
    """`metadata_examples`, `javascript` or `style.css`: the packaged copy when this is an installed wheel,
    else the repository root's (a clone, an editable install, the WebUI's extension folder)."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r} is not shipped with the package (one of {', '.join(SHIPPED)})")
    packaged = _PACKAGE / "_shipped" / name
    return packaged if packaged.exists() else _PACKAGE.parent / name
