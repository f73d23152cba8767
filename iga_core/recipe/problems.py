"""What is wrong with a recipe: one `Problem` per finding, gathered into `RecipeInvalid`.

Every problem names the JSON pointer of the offending value (RFC 6901, "" for the whole document), says
what is wrong and how to fix it, so the CLI, the editor and the API can put the message next to the field.
"""

from __future__ import annotations

from collections.abc import Iterable

from iga_core.errors import IgaInvalid
from iga_core.records import Record


class Problem(Record, frozen=True):  # a record, not a dataclass: iga_core.records
    pointer: str
    message: str
    hint: str

    def to_dict(self) -> dict:
        return {"pointer": self.pointer, "message": self.message, "hint": self.hint}

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message} (hint: {self.hint})"


def pointer(*parts: object) -> str:
    """Build a JSON pointer from path parts, escaping "~" and "/" as RFC 6901 requires."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def walk_pointer(value: object, parts: tuple[str, ...], path: tuple = ()):
    """(path, value) of every place a JSON-pointer pattern names in `value`, its parts RFC 6901 escaped;
    a part "*" stands for each item of a list. Places the document does not have are skipped."""
    if not parts:
        yield path, value
        return
    head, rest = parts[0].replace("~1", "/").replace("~0", "~"), parts[1:]
    if head == "*":
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk_pointer(item, rest, (*path, i))
    elif isinstance(value, dict) and head in value:
        yield from walk_pointer(value[head], rest, (*path, head))


class RecipeInvalid(IgaInvalid):
    """A recipe failed the schema or the semantic checks; `problems` lists every finding."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0] if self.problems else Problem("", "recipe is invalid", "")
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(
            f"invalid recipe at {first.pointer or '/'}: {first.message}{more}",
            first.hint or "run `iga validate FILE` to list every problem",
        )

    def to_dict(self) -> dict:
        return {**super().to_dict(), "problems": [p.to_dict() for p in self.problems]}
