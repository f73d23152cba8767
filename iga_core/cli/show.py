"""File-derived text in the CLI's output: one helper, so every command shows it the same way.

`emit` (iga_core.cli) neutralises everything a command prints (`untrusted_text`): escape sequences and
bidi controls from a file can never reach the terminal, whatever the command. On top of that, `safe` cuts
a long value to one line and says how many characters are left out; `--full` (added with `add_full_option`
to the commands that show values from files) shows them whole.
"""

from __future__ import annotations

from iga_core.untrusted_text import for_terminal

_full = False


def add_full_option(p) -> None:
    p.add_argument("--full", action="store_true", dest="show_full",
                   help="show long values from the file whole (otherwise each is cut to one line)")  # fmt: skip


def set_full(full: bool) -> None:
    global _full
    _full = bool(full)


def safe(text: object, limit: int = 120) -> str:
    """One value from a file, for a terminal: neutralised and cut to `limit` characters unless --full."""
    return for_terminal(text, limit, full=_full)
