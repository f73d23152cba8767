"""`iga` / `python -m iga_core`: one argparse front end, one module per command family.

Each module in COMMAND_MODULES exposes `register(subparsers)`; every command it adds sets
`func(args) -> ExitCode`. The exit codes are one table, `iga_core.errors.ExitCode` (docs/cli.md): 0 ok,
1 problem found, 2 usage, 3 blocked by the guard, 4 something needed is unavailable, 130 interrupted. An
`IgaError` reaching this level is printed as one line (or as JSON with --json), never as a traceback, and
exits with its class's `exit_code`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from iga_core import __version__
from iga_core.cli import show
from iga_core.errors import EXIT_CODE_MEANINGS, ExitCode, IgaError
from iga_core.untrusted_text import json_text, neutralise

# Order = order in `iga --help`.
COMMAND_MODULES = (
    "iga_core.cli.recipe_cmds",  # validate, migrate
    "iga_core.cli.checkpoint_cmds",  # inspect, stamp, verify, hash, strip, extract
    "iga_core.cli.guard_cmds",  # check
    "iga_core.cli.vocab_cmds",  # vocab
    "iga_core.cli.image_cmds",  # read-image, reproduce
    "iga_core.cli.authoring_cmds",  # reconstruct, registry
    "iga_core.cli.audit_cmds",  # audit export
    "iga_core.cli.eval_cmds",  # eval
    "iga_core.cli.ui_cmds",  # ui
)


class _Parser(argparse.ArgumentParser):
    # argparse exits with 2 on usage errors already; keep that, but make the message say how to get help.
    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n(run `{self.prog} --help` for usage)\n")


def exit_code_epilog() -> str:
    return "exit codes:\n" + "\n".join(f"  {int(code):<4} {text}" for code, text in EXIT_CODE_MEANINGS.items())


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="iga", description="Integrated Generation Architecture: recipes inside checkpoints.",
                     epilog=exit_code_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"iga {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


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
    parser = build_parser()
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
