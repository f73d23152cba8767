"""The root of every error iga raises on purpose.

Each module defines its own subclasses (header errors in `safetensors_io`, recipe errors in `recipe`, ...).
Every error carries a one-line `message` saying what is wrong and a `hint` saying how to fix it, so the
CLI, the UI and the API can show it without a traceback. Each class also carries how the two machine
interfaces report it: `exit_code` for the CLI and `http_status` for the HTTP API, so neither is ever chosen
by reading the message.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Every exit status of the `iga` command, defined once: each command returns one of these, and each
    error class names the one it exits with (docs/cli.md shows `EXIT_CODE_MEANINGS`; a test holds it to this)."""

    OK = 0
    PROBLEM = 1
    USAGE = 2
    BLOCKED = 3
    UNAVAILABLE = 4
    INTERRUPTED = 130


#: what each exit status means, for `iga --help`, docs/cli.md and scripts
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "done; nothing wrong was found (warnings may be printed)",
    ExitCode.PROBLEM: "a problem was found in what was read: an invalid or missing recipe, a hash mismatch, "
    "a damaged file or image data, a name `iga vocab resolve` does not know, or an action refused for this "
    "file (e.g. --out naming an existing file without --force)",
    ExitCode.USAGE: "the command line is wrong: an unknown option, a flag value out of range or of the wrong "
    "form, a --preset or --override the recipe or the guard does not have",
    ExitCode.BLOCKED: "the guard blocks the request (`iga check`, `iga reproduce`)",
    ExitCode.UNAVAILABLE: "something needed could not be used: a file or folder missing, unreadable or "
    "unwritable, busy, a port in use, an optional package not installed",
    ExitCode.INTERRUPTED: "interrupted (Ctrl+C)",
}


class IgaError(Exception):
    """Base class: what went wrong (`message`) and how to fix it (`hint`)."""

    #: exit code the CLI uses when this error reaches it
    exit_code: ExitCode = ExitCode.PROBLEM
    #: HTTP status the API answers with when this error reaches a route (400: the request is unusable)
    http_status: int = 400

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def to_dict(self) -> dict:
        return {"error": type(self).__name__, "message": self.message, "hint": self.hint}


class IgaIOError(IgaError):
    """A file could not be read or written (missing, permissions, disk full), or something else iga needs
    is not there (an optional package, a free port)."""

    exit_code = ExitCode.UNAVAILABLE
    http_status = 500  # a file the server needed: the caller's request was fine


class IgaInvalid(IgaError):
    """Input is well-formed enough to read but wrong (invalid recipe, hash mismatch, refused action)."""

    exit_code = ExitCode.PROBLEM
    http_status = 422


class IgaUsageError(IgaError):
    """The command line (or the request) asks for something that does not exist or cannot be: a value out
    of range, an unknown preset or rule id, options that do not go together."""

    exit_code = ExitCode.USAGE
    http_status = 400


class IgaNotFound(IgaInvalid):
    """A named thing (checkpoint, LoRA, recipe) does not exist where it was looked for."""

    http_status = 404
