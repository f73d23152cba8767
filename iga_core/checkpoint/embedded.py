"""The recipe a checkpoint carries, read: embedded in its safetensors header (`__metadata__["iga"]`) or in
its sidecar `<checkpoint>.iga.json`. The reading half of `iga_core.checkpoint.stamp`, in a module of its
own so that a reader (`iga inspect`, the WebUI's recipe lookup) does not load the writer."""

from __future__ import annotations

import json
import os
from pathlib import Path

from iga_core.checkpoint.safetensors_io import Header, read_header
from iga_core.errors import IgaError, IgaInvalid
from iga_core.recipe.files import read_json_file

RECIPE_KEY = "iga"
SIDECAR_SUFFIX = ".iga.json"


class EmbeddedRecipeInvalid(IgaInvalid):
    """`__metadata__["iga"]` is present but is not a JSON object."""


class SidecarInvalid(IgaInvalid):
    """The `.iga.json` sidecar is not a JSON object."""


def sidecar_path(checkpoint_path: str | os.PathLike) -> Path:
    """`<checkpoint>.iga.json` next to the checkpoint (the full file name is kept, suffix included)."""
    p = Path(checkpoint_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def read_embedded(source: str | os.PathLike | Header) -> dict | None:
    """The recipe stored in a safetensors header, or None. Raises `EmbeddedRecipeInvalid` if it is not JSON."""
    header = source if isinstance(source, Header) else read_header(source)
    raw = header.metadata.get(RECIPE_KEY)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise EmbeddedRecipeInvalid(
            f'{header.path}: __metadata__["iga"] is not a JSON object',
            "re-stamp the checkpoint with `iga stamp`, or remove the broken value with `iga strip`",
        )
    return value


def read_sidecar(path: str | os.PathLike) -> dict | None:
    """The recipe in a sidecar file (give the sidecar's own path), or None when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        value = read_json_file(path, what="sidecar")
    except IgaError as exc:
        raise SidecarInvalid(exc.message, "fix the sidecar file, or delete it") from None
    if not isinstance(value, dict):
        raise SidecarInvalid(f"sidecar {path} does not hold a JSON object", "fix the sidecar file, or delete it")
    return value
