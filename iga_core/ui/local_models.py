"""A folder of checkpoints for the standalone app: what it lists, and which recipe each one carries.

A checkpoint is always looked up by its listed name inside the folder; a name that is not listed (a
crafted request, a path with `..`) is refused, so nothing from a request or a recipe becomes a path.
"""

from __future__ import annotations

from pathlib import Path

from iga_core.errors import IgaInvalid, IgaIOError
from iga_core.registry import Registry
from iga_core.sources import find_recipe
from iga_core.stamp import sidecar_path

SUFFIXES = (".safetensors", ".sft", ".ckpt")


class UnknownCheckpoint(IgaInvalid):
    """The name is not one of the folder's checkpoints."""


class ModelsFolderMissing(IgaIOError):
    """The models folder does not exist."""


class LocalModels:
    _CACHE_SIZE = 64

    def __init__(self, folder: str | Path, registry: Registry | None = None) -> None:
        self.folder = Path(folder).expanduser().resolve()
        # unstamped checkpoints are looked up by weights hash in the user's registry (`iga registry ...`)
        self.registry = registry if registry is not None else Registry()
        # every panel event asks for the recipe again: read a header once per file state (size, mtime)
        self._sources: dict[tuple, object] = {}
        if not self.folder.is_dir():
            raise ModelsFolderMissing(f"models folder {self.folder} does not exist",
                                      "pass an existing folder with --models, or leave it out for the demo folder")

    def names(self) -> list[str]:
        """Checkpoint files under the folder, as slash-separated paths relative to it (hidden files skipped)."""
        found = []
        for path in self.folder.rglob("*"):
            rel = path.relative_to(self.folder)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if path.suffix.lower() in SUFFIXES and path.is_file():
                found.append(rel.as_posix())
        return sorted(found, key=str.lower)

    def path(self, name: str | None) -> Path:
        if not name or name not in self.names():
            raise UnknownCheckpoint(f"{name!r} is not a checkpoint in {self.folder}",
                                    "pick a checkpoint from the list (press refresh after adding files)")
        return self.folder / name

    def pairs(self) -> list[tuple[str, str]]:
        return [(name, str(self.folder / name)) for name in self.names()]

    def source(self, name: str | None):
        """The recipe source for a listed checkpoint; hashes are checked once per file state."""
        if not name:
            return None
        path = self.path(name)
        side = sidecar_path(path)
        stat = path.stat()
        side_stat = side.stat() if side.exists() else None
        key = (str(path), stat.st_size, stat.st_mtime_ns,
               side_stat and (side_stat.st_size, side_stat.st_mtime_ns))
        found = self._sources.get(key)
        if found is None:
            found = find_recipe(path, verify="first", registry=self.registry)
            if len(self._sources) >= self._CACHE_SIZE:
                self._sources.clear()
            self._sources[key] = found
        return found
