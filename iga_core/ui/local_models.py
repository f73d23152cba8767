"""A folder of checkpoints for the standalone app: what it lists, and which recipe each one carries.

A checkpoint is always looked up by its listed name inside the folder; a name that is not listed (a
crafted request, a path with `..`) is refused, so nothing from a request or a recipe becomes a path.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from iga_core.checkpoint.registry import Registry
from iga_core.checkpoint.sources import find_recipe
from iga_core.checkpoint.stamp import sidecar_path
from iga_core.errors import IgaInvalid, IgaIOError

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


#: LoRA folders looked for beside a models folder: A1111's `models/Lora` layout, and the demo's own
LORA_FOLDER_NAMES = ("Lora", "demo-loras")


class LocalLoras:
    """The LoRA files of a folder, found by the name a `<lora:name:w>` prompt tag uses (the file's stem,
    as the hosts' LoRA lists name them); only listed files are read, so a tag never becomes a path."""

    def __init__(self, folder: str | Path | None, registry: Registry | None = None) -> None:
        self.files = LocalModels(folder, registry) if folder is not None and Path(folder).is_dir() else None

    @classmethod
    def beside(cls, models_folder: str | Path, registry: Registry | None = None) -> LocalLoras:
        parent = Path(models_folder).expanduser().resolve().parent
        found = next((parent / n for n in LORA_FOLDER_NAMES if (parent / n).is_dir()), None)
        return cls(found, registry)

    @property
    def folder(self) -> Path | None:
        return self.files.folder if self.files is not None else None

    def names(self) -> list[str]:
        return sorted({PurePosixPath(rel).stem for rel in self.files.names()}) if self.files is not None else []

    def source(self, name: str):
        """The recipe source of the LoRA a tag names, or None when the folder has no such file."""
        if self.files is None or not name:
            return None
        for rel in self.files.names():
            if PurePosixPath(rel).stem == name:
                return self.files.source(rel)
        return None
