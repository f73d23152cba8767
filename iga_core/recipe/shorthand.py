"""The design's shorthand spellings, expanded to the canonical form.

A model author may write a size as `"1024x1024"` instead of `{"width": 1024, "height": 1024}` and a list of
step counts `[16, 24, 28, 32]` instead of `{"allowed_steps": [16, 24, 28, 32]}` for `scheduler.subsample`
(the design document's own example does). Both are valid schema-1.0.0 spellings: `expand(d)` rewrites
them to the canonical form, and the validator, the typed `Recipe` and the metadata digest all read the
expanded document, so two spellings of one recipe are one recipe with one digest. Where each shorthand
may appear is data (`data/shorthand.json`); what each form means is `FORMS` below.

`expand` only rewrites values of the exact shorthand type at the listed positions; anything else is left
for validation to explain. It never modifies its argument. Light records (namedtuple), no dataclasses or
typing: the digest reads this module on the CLI's light paths (tests/test_cli_imports.py).
"""

from __future__ import annotations

import json
import os
import re
from collections import namedtuple
from functools import lru_cache

from iga_core.recipe.problems import pointer, walk_pointer

_SIZE = re.compile(r"\s*([0-9]{1,5})\s*[xX×]\s*([0-9]{1,5})\s*")


def _size(value: object) -> dict | None:
    if not isinstance(value, str):
        return None
    m = _SIZE.fullmatch(value)
    return {"width": int(m[1]), "height": int(m[2])} if m else None


def _step_list(value: object) -> dict | None:
    return {"allowed_steps": list(value)} if isinstance(value, list) else None


#: one shorthand form: `expand(value)` gives the canonical value (None when `value` is not this shorthand),
#: `canonical` names the canonical spelling in notes, `inner` the canonical sub-pointers a problem may name
#: (mapped back to the shorthand's own pointer)
Form = namedtuple("Form", "name expand canonical inner")

FORMS: dict[str, Form] = {f.name: f for f in (
    Form("size", _size, "{width, height}", ("/width", "/height")),
    Form("step_list", _step_list, "{allowed_steps: [...]}", ("/allowed_steps",)),
)}  # fmt: skip


class Expansion(namedtuple("Expansion", "pointer form before after")):
    """One shorthand value rewritten: where, which form, the value as written and as expanded."""

    __slots__ = ()

    def note(self) -> str:
        shown = json.dumps(self.before, ensure_ascii=False)
        return (f"{self.pointer}: shorthand {shown} -> {json.dumps(self.after, ensure_ascii=False)} "
                f"(canonical {FORMS[self.form].canonical})")

    def original_pointer(self, canonical: str) -> str | None:
        """The pointer in the document as written for a pointer into the expanded value, else None."""
        if canonical == self.pointer:
            return self.pointer
        for inner in FORMS[self.form].inner:
            base = self.pointer + inner
            if canonical == base:
                return self.pointer
            if canonical.startswith(base + "/"):
                return self.pointer + canonical[len(base):]
        return None


@lru_cache(maxsize=1)
def positions() -> tuple[tuple[tuple[str, ...], str], ...]:
    """((pointer parts, form name), ...) from data/shorthand.json."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "shorthand.json"), encoding="utf-8") as f:
        data = json.load(f)
    out = []
    for entry in data["positions"]:
        if entry["form"] not in FORMS:
            raise ValueError(f"shorthand.json names an unknown form {entry['form']!r}")
        out.append((tuple(entry["at"].strip("/").split("/")), entry["form"]))
    return tuple(out)


def find(d: object) -> list[Expansion]:
    """Every shorthand value in `d`, in the order of data/shorthand.json."""
    if not isinstance(d, dict):
        return []
    found = []
    for parts, form in positions():
        for path, value in walk_pointer(d, parts, ()):
            after = FORMS[form].expand(value)
            if after is not None:
                found.append(Expansion(pointer(*path), form, value, after))
    return found


def expand(d: object) -> tuple[object, list[Expansion]]:
    """(`d` with every shorthand in its canonical form, the expansions made). `d` itself is returned when
    it has no shorthand (no copy), else a deep copy."""
    found = find(d)
    if not found:
        return d, []
    import copy

    out = copy.deepcopy(d)
    for parts, form in positions():
        for path, value in list(walk_pointer(out, parts, ())):
            after = FORMS[form].expand(value)
            if after is not None:
                parent = out
                for key in path[:-1]:
                    parent = parent[key]
                parent[path[-1]] = after
    return out, found


def canonical_form(d: object) -> object:
    """`d` with its shorthand expanded (what stamping, the registry and sidecars store)."""
    return expand(d)[0]


def original_pointer(expansions: list[Expansion], canonical: str) -> str:
    """Map a pointer into the expanded document back to the document as written."""
    for e in expansions:
        mapped = e.original_pointer(canonical)
        if mapped is not None:
            return mapped
    return canonical
