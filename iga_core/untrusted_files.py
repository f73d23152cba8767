"""Reading a file iga did not write: the one way side files are read (sidecars, registry entries, recipe
files given on the command line, the `.yaml` / `.civitai.info` / `.json` files beside a checkpoint, images)
and the way a checkpoint is opened.

A path a user or a folder supplies may be a FIFO (an `open` that never returns), a symlink to `/dev/zero`
(a read that never ends), a folder, or a multi-GB file; its content may be a JSON number with 5000 digits
(Python's int-digit limit raises a bare `ValueError`) or a YAML document that takes a minute to parse. So:

- `open_regular` opens with `O_NONBLOCK` (opening a FIFO returns at once instead of waiting for a writer)
  and refuses anything that is not a regular file, by `fstat` of what was opened (no check-then-open race);
- `read_bytes` / `read_text` refuse files over a size bound before reading, and read at most that bound
  even when the file grows while it is read;
- `read_json` / `read_yaml` bound the parse: the size bound bounds JSON's (linear) parse time, digit runs and
  nesting depth are refused as typed errors, YAML gets a smaller size bound and a node and time budget.

Every failure is a typed error carrying a hint: `FileUnreadable` (an `IgaIOError`: missing, a folder, a
FIFO or device, permissions) or `FileInvalid` (an `IgaInvalid`: too large, not UTF-8, not JSON / YAML, too
deep, a number too long, too slow to parse).
"""

from __future__ import annotations

import json
import os
import stat
import time

from iga_core.errors import IgaInvalid, IgaIOError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without loading typing (tests/test_cli_imports.py)
if TYPE_CHECKING:
    from typing import Any, BinaryIO

#: a recipe, sidecar or registry entry is a few KiB; a `.civitai.info` with its image list a few hundred
JSON_LIMIT = 16 << 20
#: a host's model config beside a checkpoint is 2-5 KiB; pure-Python YAML parses about 100 KiB per second
YAML_LIMIT = 256 << 10
YAML_TIME_BUDGET_S = 2.0
YAML_MAX_NODES = 100_000
#: serde_json (the safetensors reader) and JavaScript's JSON.parse keep numbers as 64-bit floats: a number
#: with more digits than any float holds is not data iga can agree on with other readers
MAX_NUMBER_DIGITS = 400
MAX_JSON_DEPTH = 200

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


class FileUnreadable(IgaIOError):
    """The file cannot be read as a file: missing, a folder, a FIFO or device, or no permission."""


class FileInvalid(IgaInvalid):
    """The file was read but its content is refused: too large, not UTF-8, not JSON or YAML, hostile."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):  # fmt: skip
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike, *, what: str = "file") -> BinaryIO:
    """Open `path` for binary reading if it is a regular file (symlinks are followed to one); the caller
    owns the handle. Raises `FileUnreadable`, never blocks on a FIFO."""
    name = os.fspath(path)
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except FileNotFoundError:
        raise FileUnreadable(f"{what} {name} does not exist", "check the path") from None
    except IsADirectoryError:
        raise FileUnreadable(f"{what} {name} is a folder, not a file", f"give the path of a {what} file") from None
    except OSError as exc:
        raise FileUnreadable(f"cannot open {what} {name}: {exc.strerror or exc}",
                             "check the path and its permissions") from None  # fmt: skip
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise FileUnreadable(f"{what} {name} is a folder, not a file", f"give the path of a {what} file")
        if not stat.S_ISREG(mode):
            raise FileUnreadable(f"{what} {name} is {_kind(mode)}, not a regular file",
                                 "replace it with a regular file, or remove it")  # fmt: skip
        if _OPEN_FLAGS & getattr(os, "O_NONBLOCK", 0) and hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # no effect on a regular file's reads; keeps later users unsurprised
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | os.PathLike, limit: int, *, what: str = "file") -> bytes:
    """The content of a regular file of at most `limit` bytes."""
    name = os.fspath(path)
    with open_regular(path, what=what) as fh:
        try:
            size = os.fstat(fh.fileno()).st_size
            if size > limit:
                raise _too_large(what, name, size, limit)
            data = fh.read(limit + 1)  # never more than the bound, even if the file grows meanwhile
        except OSError as exc:
            raise FileUnreadable(f"cannot read {what} {name}: {exc.strerror or exc}", "check the disk") from None
    if len(data) > limit:
        raise _too_large(what, name, len(data), limit)
    return data


def _too_large(what: str, name: str, size: int, limit: int) -> FileInvalid:
    return FileInvalid(f"{what} {name} is too large: {size} bytes, more than the {limit} iga reads",
                       f"a {what} is much smaller; check that this is the right file")  # fmt: skip


def read_text(path: str | os.PathLike, limit: int, *, what: str = "file") -> str:
    """A UTF-8 text file (a leading BOM is dropped) of at most `limit` bytes."""
    data = read_bytes(path, limit, what=what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileInvalid(f"{what} {os.fspath(path)} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                          "save it as UTF-8") from None  # fmt: skip


def parse_json(text: str, *, what: str = "JSON", where: str = "") -> Any:
    """JSON text parsed with typed errors: broken syntax, a number longer than `MAX_NUMBER_DIGITS`, nesting
    deeper than `MAX_JSON_DEPTH`. `where` names the source in messages (a path)."""
    label = f"{what} {where}".strip()
    try:
        value = json.loads(text, parse_int=_bounded_int, parse_float=_bounded_float)
    except json.JSONDecodeError as exc:
        raise FileInvalid(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                          "fix the JSON syntax (a trailing comma or a missing quote?)") from None  # fmt: skip
    except _NumberTooLong as exc:
        raise FileInvalid(f"{label} has a number with {exc.args[0]} digits",
                          f"numbers in a {what} have at most {MAX_NUMBER_DIGITS} digits") from None  # fmt: skip
    except (RecursionError, ValueError):
        raise FileInvalid(f"{label} nests too deeply or is not JSON iga can read", "flatten the JSON") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise FileInvalid(f"{label} nests more than {MAX_JSON_DEPTH} levels deep", "flatten the JSON")
    return value


class _NumberTooLong(ValueError):
    pass


def _bounded_int(text: str) -> int:
    if len(text) > MAX_NUMBER_DIGITS:  # before int(): 4300+ digits raise a bare ValueError, fewer cost time
        raise _NumberTooLong(len(text))
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise _NumberTooLong(len(text))
    return float(text)


def _depth(value: Any) -> int:
    """The nesting depth of a parsed value, walked iteratively."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in item)
    return deepest


def read_json(path: str | os.PathLike, limit: int = JSON_LIMIT, *, what: str = "JSON file") -> Any:
    """The JSON value in a regular file of at most `limit` bytes."""
    return parse_json(read_text(path, limit, what=what), what=what, where=os.fspath(path))


def read_yaml(path: str | os.PathLike, limit: int = YAML_LIMIT, *, what: str = "YAML file",
              budget_s: float = YAML_TIME_BUDGET_S) -> Any:
    """A YAML document read as data only (`safe_load` semantics: no object is ever constructed from a tag),
    from a regular file of at most `limit` bytes, parsed in at most about `budget_s` seconds and
    `YAML_MAX_NODES` nodes. Raises `FileInvalid` for broken, hostile or slow YAML, and
    `ModuleNotFoundError` when PyYAML is not installed."""
    import yaml

    text = read_text(path, limit, what=what)
    name = os.fspath(path)
    loader = _budgeted_loader(yaml)(text)
    loader.deadline = time.monotonic() + budget_s
    try:
        return loader.get_single_data()
    except _YamlBudget as exc:
        raise FileInvalid(f"{what} {name} is too {exc.args[0]} to read", f"a {what} is a few KiB of plain data") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FileInvalid(f"{what} {name} is not valid YAML ({first})", "fix the YAML syntax") from None
    except (RecursionError, ValueError, OverflowError, TypeError):
        # yaml's int/float/timestamp constructors raise these on hostile scalars (a 5000-digit int)
        raise FileInvalid(f"{what} {name} holds values iga cannot read (too deep or too long)",
                          f"a {what} is a few KiB of plain data") from None  # fmt: skip
    finally:
        loader.dispose()


class _YamlBudget(Exception):
    pass


_LOADERS: dict[int, type] = {}


def _budgeted_loader(yaml) -> type:
    """`yaml.SafeLoader` counting nodes and checking the clock as it composes them. The pure-Python loader
    is used on purpose: libyaml's composer runs in C, where no budget can be checked."""
    cached = _LOADERS.get(id(yaml))
    if cached is not None:
        return cached

    class BudgetedLoader(yaml.SafeLoader):
        deadline = 0.0
        nodes = 0

        def compose_node(self, parent, index):
            self.nodes += 1
            if self.nodes > YAML_MAX_NODES:
                raise _YamlBudget("large")
            if not self.nodes % 64 and time.monotonic() > self.deadline:
                raise _YamlBudget("slow")
            return super().compose_node(parent, index)

    _LOADERS[id(yaml)] = BudgetedLoader
    return BudgetedLoader

