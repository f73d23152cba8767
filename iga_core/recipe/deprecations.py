"""Deprecation notices, from the data the schema keeps (`x-deprecated` in the shipped schema file).

The schema marks recipe versions (shapes) and keys deprecated, each with what replaces it; nothing here
names a key. `notices(d)` lists what a document uses that is deprecated (the document as written: valid or
not, any version iga reads); `iga validate`, `iga migrate`, the Recipes tab and the panel show them, and
`move(d)` applies the entries whose `migrate` is "move" (a plain rename) for `iga migrate`. A deprecated
key or version is still read as before: a notice never makes a recipe invalid.

Entry fields: versions `{version, since, replaced_by, why?, how?}`; keys `{pointer, since, replaced_by,
value?, why?, how?, migrate: "move" | "step" | "manual"}` (`pointer` is a JSON pointer, `*` for any list
index; `value` limits the entry to that value; "step": a registered migration step rewrites it).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from iga_core.recipe.problems import pointer as make_pointer
from iga_core.recipe.problems import walk_pointer
from iga_core.recipe.schema_file import _schema

MIGRATE_KINDS = ("move", "step", "manual")


@dataclass(frozen=True)
class Notice:
    """One deprecated thing a document uses: where, what, since which schema, what replaces it."""

    pointer: str  # "" for the recipe's version / shape
    subject: str  # what is deprecated, as text
    since: str
    replaced_by: str
    why: str = ""
    how: str = ""

    def message(self) -> str:
        text = f"{self.subject} is deprecated since schema {self.since}"
        if self.why:
            text += f" ({self.why})"
        return f"{text}; use {_display(self.replaced_by)} instead" if self.replaced_by else text

    def advice(self) -> str:
        """The message and how to fix it, on one line."""
        return f"{self.message()}: {self.how}" if self.how else self.message()

    def to_dict(self) -> dict:
        return {"pointer": self.pointer, "subject": self.subject, "since": self.since,
                "replaced_by": self.replaced_by, "why": self.why, "how": self.how, "message": self.message()}


@dataclass(frozen=True)
class _Key:
    parts: tuple[str, ...]
    since: str
    replaced_by: str
    migrate: str
    value: Any = None
    has_value: bool = False
    why: str = ""
    how: str = ""


@lru_cache(maxsize=1)
def _data() -> tuple[dict, tuple[_Key, ...]]:
    return parse(_schema().get("x-deprecated") or {})


def parse(block: dict) -> tuple[dict, tuple[_Key, ...]]:
    """(version -> entry, key entries) from an `x-deprecated` block; a malformed block is a programming
    error in the shipped data (a test reads it), so it raises."""
    versions = {v["version"]: v for v in block.get("versions", ())}
    keys = []
    for k in block.get("keys", ()):
        if not k["pointer"].startswith("/") or k.get("migrate", "manual") not in MIGRATE_KINDS:
            raise ValueError(f"bad x-deprecated key entry {k!r}")
        keys.append(_Key(tuple(k["pointer"][1:].split("/")), k["since"], k.get("replaced_by", ""),
                         k.get("migrate", "manual"), k.get("value"), "value" in k, k.get("why", ""), k.get("how", "")))
    return versions, tuple(keys)


_POINTER = re.compile(r"(?<![\w`])/[A-Za-z0-9_*~-]+(?:/[A-Za-z0-9_*~-]+)*")


def _display(text: str) -> str:
    """JSON pointers in an entry's text as the dotted names people read ("/steps/default" -> steps.default)."""
    return _POINTER.sub(lambda m: _dotted(tuple(int(p) if p.isdigit() else p for p in m[0][1:].split("/"))), text)


def _dotted(path: tuple) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path).replace(".[", "[")


def deprecation_notices(d: Any, *, data: tuple[dict, tuple[_Key, ...]] | None = None) -> list[Notice]:
    """What `d` uses that the schema marks deprecated, in data order (the version first)."""
    return notices(d, data=data)


def notices(d: Any, *, data: tuple[dict, tuple[_Key, ...]] | None = None) -> list[Notice]:
    """`deprecation_notices` (the name inside this module)."""
    from iga_core.recipe.migration import detect_version  # migration imports validate's neighbours

    if not isinstance(d, dict):
        return []
    versions, keys = data or _data()
    out: list[Notice] = []
    shape = detect_version(d)
    entry = versions.get(shape) if shape is not None else None
    if entry is not None:
        where = "/iga_version" if "iga_version" in d else ""
        replaced = entry.get("replaced_by", "")
        out.append(Notice(where, f"recipe shape {shape}", entry["since"], f"schema {replaced}" if replaced else "",
                          entry.get("why", ""), entry.get("how", "")))
    for key in keys:
        for path, value in walk_pointer(d, key.parts, ()):
            if key.has_value and value != key.value:
                continue
            subject = f"{_dotted(path)} {value!r}" if key.has_value else _dotted(path)
            how = key.how or {"move": "`iga migrate` moves it", "step": "`iga migrate` rewrites it"}.get(key.migrate, "")
            out.append(Notice(make_pointer(*path), subject, key.since, key.replaced_by, key.why, how))
    return out


def move(d: dict, *, data: tuple[dict, tuple[_Key, ...]] | None = None) -> tuple[dict, list[str]]:
    """`d` with every deprecated key whose entry says "move" moved to its replacement pointer (which must
    not be there yet), and a note per move; `d` itself is never modified."""
    _, keys = data or _data()
    out, notes = d, []
    for key in keys:
        if key.migrate != "move" or not key.replaced_by.startswith("/"):
            continue
        target = tuple(key.replaced_by[1:].split("/"))
        for path, value in list(walk_pointer(out, key.parts, ())):
            if key.has_value and value != key.value:
                continue
            # the replacement sits where the deprecated key did, with the entry's own tail
            concrete = tuple(path[i] if i < len(path) and t == "*" else t for i, t in enumerate(target))
            if out is d:
                out = copy.deepcopy(d)
            parent = out
            for step in path[:-1]:
                parent = parent[step]
            holder = out
            for step in concrete[:-1]:
                if isinstance(holder, list):
                    holder = holder[int(step)]
                    continue
                holder = holder.setdefault(step, {})
                if not isinstance(holder, (dict, list)):
                    break
            else:
                if isinstance(holder, dict) and concrete[-1] not in holder:
                    holder[concrete[-1]] = parent.pop(path[-1])
                    notes.append(f"{_dotted(path)} (deprecated since schema {key.since}) -> "
                                 f"{_dotted(concrete)}")
                    continue
            notes.append(f"{_dotted(path)} is deprecated (use {key.replaced_by}) but was left as it is: "
                         "the replacement is already set")
    return out, notes
