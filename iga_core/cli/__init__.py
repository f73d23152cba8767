"""`iga` / `python -m iga_core`: one argparse front end, one module per command family.

Each module in COMMAND_MODULES exposes `register(subparsers)`; every command it adds sets
`func(args) -> ExitCode`. The exit codes are one table, `iga_core.errors.ExitCode` (docs/cli.md): 0 ok,
1 problem found, 2 usage, 3 blocked by the guard, 4 something needed is unavailable, 130 interrupted. An
`IgaError` reaching this level is printed as one line (or as JSON with --json), never as a traceback, and
exits with its class's `exit_code`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys

from iga_core import __version__
from iga_core.cli import show
from iga_core.errors import EXIT_CODE_MEANINGS, ExitCode, IgaError
from iga_core.untrusted_text import json_text, neutralise

# Order = order in `iga --help`. Each module and the commands its `register` adds (a test holds the two
# together): `iga inspect ...` builds only its own module's parsers, so a command does not pay for the
# other families' parsers and imports (tests/test_cli_imports.py); `iga --help` builds them all.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "iga_core.cli.recipe_cmds": ("validate", "migrate"),
    "iga_core.cli.checkpoint_cmds": ("inspect", "stamp", "verify", "hash", "strip", "extract"),
    "iga_core.cli.guard_cmds": ("check",),
    "iga_core.cli.vocab_cmds": ("vocab",),
    "iga_core.cli.image_cmds": ("read-image", "reproduce"),
    "iga_core.cli.authoring_cmds": ("reconstruct", "registry"),
    "iga_core.cli.audit_cmds": ("audit",),  # audit export / tail
    "iga_core.cli.eval_cmds": ("eval",),
    "iga_core.cli.ui_cmds": ("ui",),
}


def _columns() -> int:
    """The terminal width as `shutil.get_terminal_size()` finds it ($COLUMNS, else the terminal, else 80),
    without importing shutil: argparse's help formatter imports it for this alone, and it loads bz2, lzma
    and zlib, a tenth of a small command's start-up."""
    with contextlib.suppress(ValueError):
        if (columns := int(os.environ.get("COLUMNS", 0))) > 0:
            return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class _Formatter(argparse.HelpFormatter):
    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, _columns() - 2 if width is None else width)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    # argparse exits with 2 on usage errors already; keep that, but make the message say how to get help.
    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n(run `{self.prog} --help` for usage)\n")


def exit_code_epilog() -> str:
    return "exit codes:\n" + "\n".join(f"  {int(code):<4} {text}" for code, text in EXIT_CODE_MEANINGS.items())


class _EpilogFormatter(_Formatter):
    """The top-level help: the exit-code table as written (argparse would run its lines together)."""

    def _fill_text(self, text, width, indent):
        return "".join(indent + line for line in text.splitlines(keepends=True))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with `command` (a command name) of that one command only."""
    parser = _Parser(prog="iga", description="Integrated Generation Architecture: recipes inside checkpoints.",
                     epilog=exit_code_epilog(), formatter_class=_EpilogFormatter)
    parser.add_argument("--version", action="version", version=f"iga {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    modules = [m for m, names in COMMAND_MODULES.items() if command in names]
    for name in modules or COMMAND_MODULES:
        importlib.import_module(name).register(_OneCommand(sub, command) if modules else sub)
    return parser


class _OneCommand:
    """The subparsers a family's `register` is handed when one command was asked for: that command's parser
    is built; the family's other `add_parser` calls get a stand-in that takes and drops whatever is set on
    it (their parsers, argparse's costliest part, would never be used)."""

    def __init__(self, sub, command: str) -> None:
        self._sub, self._command = sub, command

    def add_parser(self, name: str, **kwargs):
        return self._sub.add_parser(name, **kwargs) if name == self._command else _Unused()


class _Unused:
    def __getattr__(self, name: str):  # add_argument, set_defaults, add_mutually_exclusive_group, ...
        return lambda *args, **kwargs: self


def _command_of(argv: list[str]) -> str | None:
    """The command name `argv` starts with (the top-level parser has options only before it)."""
    return argv[0] if argv and not argv[0].startswith("-") else None


def emit(args: argparse.Namespace, human: str, data: object) -> None:
    """Print `data` as JSON when --json was given, else the human text. Either way nothing a file put in it
    can act on the terminal (`untrusted_text`: the JSON keeps its value, the text shows escapes)."""
    if getattr(args, "json", False):
        print(dumps_json(data))
    else:
        print(neutralise(human, lines=True))


def dumps_json(data: object) -> str:
    """JSON for the terminal: readable Unicode, but terminal and bidi controls written as escapes."""
    return json_text(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_of(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitCode.USAGE
    show.set_full(getattr(args, "show_full", False))
    try:
        return ExitCode(args.func(args))  # a code outside the table is a bug: let it show
    except IgaError as exc:
        if getattr(args, "json", False):
            print(dumps_json({"ok": False, **exc.to_dict()}))
        else:
            print(f"iga: {neutralise(exc.message)}", file=sys.stderr)  # messages quote names from files
            if exc.hint:
                print(f"  hint: {neutralise(exc.hint)}", file=sys.stderr)
        return ExitCode(exc.exit_code)
    except KeyboardInterrupt:
        print("iga: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK
