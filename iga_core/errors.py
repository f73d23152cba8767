"""The root of every error iga raises on purpose.

Each module defines its own subclasses (header errors in `safetensors_io`, recipe errors in `recipe`, ...).
Every error carries a one-line `message` saying what is wrong and a `hint` saying how to fix it, so the
CLI, the UI and the API can show it without a traceback. Each class also carries how the two machine
interfaces report it: `exit_code` for the CLI and `http_status` for the HTTP API, so neither is ever chosen
by reading the message.
"""

from __future__ import annotations


class IgaError(Exception):
    """Base class: what went wrong (`message`) and how to fix it (`hint`)."""

    #: exit code the CLI uses when this error reaches it (2: usage or I/O; 1: invalid, mismatch, refused)
    exit_code: int = 2
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
    """A file could not be read or written (missing, permissions, disk full)."""

    exit_code = 2
    http_status = 500  # a file the server needed: the caller's request was fine


class IgaInvalid(IgaError):
    """Input is well-formed enough to read but wrong (invalid recipe, hash mismatch, refused action)."""

    exit_code = 1
    http_status = 422


class IgaNotFound(IgaInvalid):
    """A named thing (checkpoint, LoRA, recipe) does not exist where it was looked for."""

    http_status = 404
