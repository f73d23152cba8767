"""The sampler and scheduler names the caller sent, before the host rewrites them.

Both hosts resolve an API request's names with `sd_samplers.get_sampler_and_scheduler` inside
`Api.text2imgapi` / `img2imgapi` (A api.py:432-452, 492-521; F 454, 523), after `apply_infotext` has copied
a pasted `infotext`'s fields into the request through the same silent lookup (A api.py:363-411, the
sampler fields of A processing_scripts/sampler.py:34-37 -> `get_sampler_from_infotext`, sd_samplers.py:69-74),
so a name the host does not list becomes DPM++ 2M and `p` only ever sees the result. The raw request
exists only in that call, so the class methods are wrapped at extension load, before the host builds its
`Api` (A webui.py creates it after the scripts are loaded; its routes bind the wrapped methods). The
wrapper notes the names as sent (the request's own fields, else the `Sampler` / `Schedule type` of its
`infotext`) and the fields the caller set, then calls the host's method unchanged; `before_process` reads
them with `current()`.

What must not break it:
- FastAPI calls an endpoint with keyword arguments (`txt2imgreq=...`): the wrapper takes the request by
  position or by the host method's own parameter name;
- a request the notes cannot be read from, or a host method that raises: the host's call runs (and raises)
  as without IGA, and the notes are reset;
- a reloaded module: the context variable lives on the host's `Api` class, so a wrapper installed by an
  earlier import and `current()` of a later one share it; a reinstall re-wraps the host's original method
  (one wrapper, never two).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
from typing import Any

log = logging.getLogger("iga")

_MARK = "_iga_sent_names"  # set on a wrapper
_VAR = "_iga_sent_names_var"  # the context variable, kept on the host's Api class
_METHODS = ("text2imgapi", "img2imgapi")
_var: contextvars.ContextVar | None = None


def _fields_set(req: Any) -> set | None:
    if isinstance(req, dict):
        return set(req)
    for attr in ("model_fields_set", "__fields_set__"):  # pydantic 2 / pydantic 1
        value = getattr(req, attr, None)
        if value is not None:
            return set(value)
    return None


def _get(req: Any, key: str) -> Any:
    return req.get(key) if isinstance(req, dict) else getattr(req, key, None)


def names_of(req: Any) -> dict:
    """{"sampler": raw or None, "schedule": raw or None, "fields": the request fields the caller set (None
    when unknown, or when an infotext fills the others)} as sent."""
    sent = _fields_set(req)
    out: dict[str, Any] = {"sampler": None, "schedule": None}
    for key, field in (("sampler", "sampler_name"), ("sampler", "sampler_index"), ("schedule", "scheduler")):
        if out[key] is None and sent is not None and field in sent and _get(req, field):
            out[key] = str(_get(req, field))
    infotext = _get(req, "infotext") if sent is not None and "infotext" in sent else None
    if infotext and (out["sampler"] is None or out["schedule"] is None):
        try:
            from iga_core.audit import parse_infotext

            params = parse_infotext(str(infotext)).params
        except Exception:  # a broken infotext is the host's to report
            params = {}
        out["sampler"] = out["sampler"] or (str(params["Sampler"]) if params.get("Sampler") else None)
        out["schedule"] = out["schedule"] or (str(params["Schedule type"]) if params.get("Schedule type") else None)
    # the host's apply_infotext fills unset fields from the infotext: those were set too, by the caller's paste
    out["fields"] = None if sent is None or infotext else frozenset(sent)
    return out


def current() -> dict | None:
    """The notes of the API call this thread is in, or None outside one (the UI, a script)."""
    var = _var
    if var is None:  # a reloaded module before its install(): the variable an earlier one put on the class
        import sys

        api = sys.modules.get("modules.api.api")
        var = getattr(getattr(api, "Api", None), _VAR, None)
    return var.get() if isinstance(var, contextvars.ContextVar) else None


def _request_param(method) -> str | None:
    """The host method's request parameter (A api.py:432 `txt2imgreq`, 492 `img2imgreq`)."""
    try:
        params = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return None
    return params[1].name if len(params) > 1 else None


def _wrap(method, var: contextvars.ContextVar):
    name = _request_param(method)

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        req = args[0] if args else kwargs.get(name) if name else None
        try:
            notes = names_of(req)
        except Exception:  # never let the notes stop the host's own call
            log.exception("[IGA] the names sent with this API request could not be read")
            notes = None
        token = var.set(notes)
        try:
            return method(self, *args, **kwargs)
        finally:
            var.reset(token)

    setattr(wrapper, _MARK, True)
    return wrapper


def install() -> bool:
    """Wrap the host's API generation methods (idempotent across reloads); False when the API module is
    not there."""
    global _var
    try:
        from modules.api import api
    except Exception as exc:  # e.g. a host build without the API: nothing to capture
        log.info("[IGA] the host API could not be imported (%s): sent names come from p only", exc)
        return False
    var = getattr(api.Api, _VAR, None)
    if not isinstance(var, contextvars.ContextVar):
        var = contextvars.ContextVar("iga_sent_names", default=None)
        setattr(api.Api, _VAR, var)
    _var = var
    for name in _METHODS:
        method = getattr(api.Api, name, None)
        if method is None:
            continue
        original = method.__wrapped__ if getattr(method, _MARK, False) else method
        setattr(api.Api, name, _wrap(original, var))
    return True
