"""Recipe JSON files: read with clear errors. Writing goes through `iga_core.checkpoint.atomic.write_json_atomic`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from iga_core.errors import IgaInvalid, IgaIOError

MAX_FILE_BYTES = 16 << 20  # a recipe is well under 1 MiB; refuse to slurp anything much larger


class RecipeFileUnreadable(IgaIOError):
    """The file could not be opened or read."""


class RecipeFileNotJson(IgaInvalid):
    """The file was read but does not hold JSON."""


def read_json_file(path: str | os.PathLike) -> Any:
    """The JSON value in `path`. Missing, unreadable or oversized files and broken JSON raise typed errors."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RecipeFileNotJson(f"{path} is {size} bytes, too large for a recipe",
                                    "give the recipe .json file (recipes are a few KiB)")  # fmt: skip
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise RecipeFileUnreadable(f"{path} does not exist", "check the path") from None
    except IsADirectoryError:
        raise RecipeFileUnreadable(
            f"{path} is a folder, not a file", "give the path of a .json file"
        ) from None
    except UnicodeDecodeError as exc:
        raise RecipeFileNotJson(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                                "save the recipe as UTF-8 JSON") from None  # fmt: skip
    except OSError as exc:
        raise RecipeFileUnreadable(
            f"cannot read {path}: {exc.strerror or exc}", "check permissions"
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecipeFileNotJson(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                                "fix the JSON syntax (a trailing comma or a missing quote?)") from None  # fmt: skip
    except RecursionError:
        raise RecipeFileNotJson(f"{path} nests too deeply to be a recipe", "flatten the JSON") from None
