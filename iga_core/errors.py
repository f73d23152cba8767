"""The root of every error iga raises on purpose.

Each module defines its own subclasses (header errors in `safetensors_io`, recipe errors in `recipe`, ...).
Every error carries a one-line `message` saying what is wrong and a `hint` saying how to fix it, so the
CLI, the UI and the API can show it without a traceback.
"""

from __future__ import annotations


class IgaError(Exception):
    """Base class: what went wrong (`message`) and how to fix it (`hint`)."""

    #: exit code the CLI uses when this error reaches it (2: usage or I/O; 1: invalid, mismatch, refused)
    exit_code: int = 2

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


class IgaInvalid(IgaError):
    """Input is well-formed enough to read but wrong (invalid recipe, hash mismatch, refused action)."""

    exit_code = 1
