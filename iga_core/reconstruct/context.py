"""What reconstruction may look at for one checkpoint: its header (never its tensors, except a few
scalar marker values), and small files beside it, each read with a size cap."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from iga_core import untrusted_files
from iga_core.checkpoint.safetensors_io import Header, is_safetensors_path, open_for_read, read_header
from iga_core.errors import IgaError

MAX_SIDE_FILE = 4 << 20  # bytes read from a file beside the checkpoint
_SCALAR_FORMATS = {"F32": ("<f", 4), "F64": ("<d", 8), "F16": ("<e", 2), "BF16": (None, 2)}


@dataclass
class Context:
    path: Path
    findings: list[str] = field(default_factory=list)

    @cached_property
    def header(self) -> Header | None:
        """The safetensors header, or None for other formats (pickles are never opened)."""
        if not is_safetensors_path(self.path):
            self.findings.append(f"{self.path.name} is not a .safetensors file: only files beside it and its "
                                 "name were read (a pickle checkpoint is never unpickled)")  # fmt: skip
            return None
        return read_header(self.path)

    @property
    def metadata(self) -> dict[str, str]:
        return self.header.metadata if self.header else {}

    @property
    def tensor_names(self) -> list[str]:
        return list(self.header.tensors) if self.header else []

    def shape(self, name: str) -> tuple[int, ...] | None:
        info = self.header.tensors.get(name) if self.header else None
        return info.shape if info else None

    def scalar(self, name: str) -> float | None:
        """The first value of a small float tensor (marker tensors such as `edm_vpred.sigma_max`)."""
        info = self.header.tensors.get(name) if self.header else None
        if info is None or info.dtype not in _SCALAR_FORMATS or not 0 < info.end - info.begin <= 64:
            return None
        fmt, size = _SCALAR_FORMATS[info.dtype]
        with open_for_read(self.path) as fh:
            fh.seek(self.header.data_start + info.begin)
            raw = fh.read(size)
        if len(raw) != size:
            return None
        if fmt is None:  # bfloat16: the high half of a float32
            return struct.unpack("<f", b"\x00\x00" + raw)[0]
        return struct.unpack(fmt, raw)[0]

    # --- files beside the checkpoint ---

    @property
    def stem(self) -> str:
        return self.path.name[: -len(self.path.suffix)] if self.path.suffix else self.path.name

    def beside(self, suffix: str) -> Path:
        """`<folder>/<checkpoint name without extension><suffix>`: how the hosts name their sidecars."""
        return self.path.with_name(self.stem + suffix)

    def read_text(self, path: Path) -> str | None:
        """A small text file's content, or None when it is absent; a file that cannot or must not be read
        (too large, a FIFO or device, not UTF-8) gives a finding."""
        return self._read(path, untrusted_files.read_text, MAX_SIDE_FILE)

    def read_json(self, path: Path) -> Any:
        return self._read(path, untrusted_files.read_json, MAX_SIDE_FILE)

    def read_yaml(self, path: Path) -> Any:
        """A YAML file read as data only, size- and time-bounded (`untrusted_files.read_yaml`)."""
        return self._read(path, untrusted_files.read_yaml, untrusted_files.YAML_LIMIT)

    def _read(self, path: Path, reader, limit: int) -> Any:
        if not os.path.lexists(path):
            return None
        try:
            return reader(path, limit, what="side file")
        except IgaError as exc:
            self.findings.append(f"{exc.message}; skipped")
            return None


def context_for(checkpoint_path: str | os.PathLike) -> Context:
    return Context(Path(checkpoint_path))
