"""Recipe JSON files: read through `iga_core.untrusted_files` (regular files only, size- and parse-bounded,
typed errors). Writing goes through `iga_core.checkpoint.atomic.write_json_atomic`."""

from __future__ import annotations

import os

from iga_core import untrusted_files
from iga_core.untrusted_files import FileInvalid, FileUnreadable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without loading typing (tests/test_cli_imports.py)
if TYPE_CHECKING:
    from typing import Any

MAX_FILE_BYTES = 16 << 20  # a recipe is well under 1 MiB; refuse to slurp anything much larger

#: the errors of the one reader of untrusted files, under the names recipe code has always caught
RecipeFileUnreadable = FileUnreadable
RecipeFileNotJson = FileInvalid


def read_json_file(path: str | os.PathLike, *, what: str = "recipe file") -> Any:
    """The JSON value in `path`. Missing, unreadable, special (FIFO, device, folder) or oversized files and
    broken or hostile JSON raise typed errors."""
    return untrusted_files.read_json(path, MAX_FILE_BYTES, what=what)
