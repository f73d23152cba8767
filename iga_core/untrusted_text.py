"""Text from a file (a checkpoint's metadata, a recipe, an image's infotext, a log entry) shown to a person:
in a terminal (the CLI) or on a page (the panel, the Recipes tab).

Such text may carry terminal escape sequences (`ESC [ 2 J` clears the screen, `ESC ] 8` makes links), bidi
controls (U+202E turns `safe\u202eexe.live` into what reads as `safeevil.exe`), zero-width or line-separator
characters, or a megabyte of anything. So every piece of it goes through one of these:

- `neutralise(text)`: each character that is not printable (`str.isprintable`: controls, format and bidi
  characters, surrogates, private-use and unassigned code points, separators other than the space) is
  replaced by its visible escape (`\\x1b`, `\\u202e`); newlines and tabs are kept only where asked;
- `shorten(text, limit)`: the first `limit` characters, cut *before* escaping, so a 100 MB value costs
  what `limit` characters cost, and how many were left out;
- `json_text(text)`: JSON text with the same characters written as `\\uXXXX` escapes (the same JSON value,
  safe to print).

Truncation always says so and how to see the whole (`--full` in the CLI, a details element on a page).
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
_KEEP_LINES = frozenset("\n\t")
#: the characters `json.dumps(ensure_ascii=False)` leaves raw that a terminal or a page would act on
_JSON_RISKY = re.compile("[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
                         "\U000e0000-\U000e007f]")


def neutralise(text: object, *, lines: bool = False) -> str:
    """`text` with every non-printable character replaced by its visible escape; with `lines`, newlines and
    tabs are kept (multi-line output), else they are escaped too."""
    value = "" if text is None else str(text)
    if value.isprintable() or (lines and value.replace("\n", "").replace("\t", "").isprintable()):
        return value  # nothing to escape (the common case: no per-character pass)
    keep = _KEEP_LINES if lines else frozenset()
    return "".join(c if c.isprintable() or c in keep else _escape(c) for c in value)


def _escape(c: str) -> str:
    code = ord(c)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shorten(text: object, limit: int | None) -> tuple[str, int]:
    """(at most `limit` characters of `text`, neutralised; how many characters of `text` were left out). The
    cut happens before escaping, so a 100 MB value costs what `limit` characters cost, and never splits
    an escape."""
    value = "" if text is None else str(text)
    if limit is None:
        return neutralise(value), 0
    head = value[:limit]
    if head.isprintable():
        return head, len(value) - len(head)
    parts, width, used = [], 0, 0
    for c in head:
        shown = c if c.isprintable() else _escape(c)
        if width + len(shown) > limit:
            break
        parts.append(shown)
        width += len(shown)
        used += 1
    return "".join(parts), len(value) - used


def for_terminal(text: object, limit: int | None = 120, *, full: bool = False, how: str = "--full") -> str:
    """One line of file-derived text for a terminal: neutralised, and cut to `limit` characters with a note
    saying how many more there are and how to see them (`how`), unless `full`."""
    out, left = shorten(text, None if full else limit)
    if not left:
        return out
    return f"{out}{ELLIPSIS} [{left:,} more characters; {how} shows all]"


def json_text(text: str) -> str:
    """JSON text (as `json.dumps(..., ensure_ascii=False)` writes it) with the characters a terminal or a
    page would act on written as `\\uXXXX` escapes: the same JSON value, safe to print."""
    return _JSON_RISKY.sub(_json_escape, text)


def _json_escape(match: re.Match) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # JSON writes an astral character as a UTF-16 surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
