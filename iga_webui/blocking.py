"""Refusing a generation for real.

Both hosts wrap every script hook in try/except, so raising from `process()` changes nothing
(A processing.py:820-842, scripts.py:987-996). `p.sample` is called outside any try/except (A processing.py:988, F 990), after model
load and prompt encoding but before denoising, so the script replaces it on the instance with a function
that raises `GuardBlocked`. The exception carries `status_code` and `detail`, which both hosts' API error
handlers turn into an HTTP 422 JSON body (A api.py:167-196, F webui.py:29-37); the UI shows
"GuardBlocked: <message>" in the html log (A call_queue.py:73-89; F main_thread.py:27-37, call_queue.py:77-88;
reForge and Forge Classic drop the exception in their main thread, and `forks/main_thread.py` raises it again).
No image is made or saved.
"""

from __future__ import annotations

from typing import Any

STATUS_CODE = 422


class GuardBlocked(Exception):
    """Raised from the replaced `p.sample`; `detail` and `body` become the API's JSON error."""

    def __init__(self, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status_code = STATUS_CODE
        self.detail = message
        self.body = body or {}


def block_sampling(p: Any, message: str, body: dict[str, Any] | None = None) -> None:
    """Make the next `p.sample(...)` raise instead of denoising; also refuse the hires pass."""
    error = GuardBlocked(message, body)

    def refuse(*args: Any, **kwargs: Any):
        raise error

    p.sample = refuse
    if hasattr(p, "sample_hr_pass"):
        p.sample_hr_pass = refuse
    p.iga_blocked = error


def is_blocked(p: Any) -> bool:
    return getattr(p, "iga_blocked", None) is not None
