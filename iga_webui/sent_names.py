"""The sampler and scheduler names the caller sent, before the host rewrites them.

Both hosts resolve an API request's names with `sd_samplers.get_sampler_and_scheduler` inside
`Api.text2imgapi` / `img2imgapi` (A api.py:441-452, 510-521; F 454, 523), which silently turns a name it
does not list into DPM++ 2M; `p` only ever sees the result. The raw request exists only in that call, so
the class methods are wrapped once at extension load, before the host builds its `Api` (A webui.py creates
it after the scripts are loaded; its routes bind the wrapped methods): the wrapper notes the names as sent
(the request's fields, else the `Sampler` / `Schedule type` of its `infotext`) in a context variable and
calls the host's method unchanged. `before_process` reads them with `current()`.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from typing import Any

log = logging.getLogger("iga")

_SENT: contextvars.ContextVar[dict | None] = contextvars.ContextVar("iga_sent_names", default=None)
_MARK = "_iga_sent_names"


def _fields_set(req: Any) -> set:
    if isinstance(req, dict):
        return set(req)
    for attr in ("model_fields_set", "__fields_set__"):  # pydantic 2 / pydantic 1
        value = getattr(req, attr, None)
        if value is not None:
            return set(value)
    return set()


def _get(req: Any, key: str) -> Any:
    return req.get(key) if isinstance(req, dict) else getattr(req, key, None)


def names_of(req: Any) -> dict:
    """{"sampler": raw or None, "schedule": raw or None, "hr_sampler": ..., "hr_scheduler": ...} as sent."""
    sent = _fields_set(req)
    out = {"sampler": None, "schedule": None}
    for key, field in (("sampler", "sampler_name"), ("sampler", "sampler_index"), ("schedule", "scheduler")):
        if out[key] is None and field in sent and _get(req, field):
            out[key] = str(_get(req, field))
    infotext = _get(req, "infotext") if "infotext" in sent else None
    if infotext and (out["sampler"] is None or out["schedule"] is None):
        try:
            from iga_core.audit import parse_infotext

            params = parse_infotext(str(infotext)).params
        except Exception:  # a broken infotext is the host's to report
            params = {}
        out["sampler"] = out["sampler"] or params.get("Sampler")
        out["schedule"] = out["schedule"] or params.get("Schedule type")
    return out


def current() -> dict | None:
    return _SENT.get()


def _wrap(method):
    @functools.wraps(method)
    def wrapper(self, req, *args, **kwargs):
        token = _SENT.set(names_of(req))
        try:
            return method(self, req, *args, **kwargs)
        finally:
            _SENT.reset(token)

    setattr(wrapper, _MARK, True)
    return wrapper


def install() -> bool:
    """Wrap the host's API generation methods (idempotent); False when the API module is not there."""
    try:
        from modules.api import api
    except Exception as exc:  # e.g. a host build without the API: nothing to capture
        log.info("[IGA] the host API could not be imported (%s): sent names come from p only", exc)
        return False
    for name in ("text2imgapi", "img2imgapi"):
        method = getattr(api.Api, name, None)
        if method is not None and not getattr(method, _MARK, False):
            setattr(api.Api, name, _wrap(method))
    return True
