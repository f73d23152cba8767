"""The /iga/v1 routes on the host's FastAPI app (`on_app_started`, host-api.md §9).

Read-only routes are open unless the host runs with `--api-auth`, in which case they ask for the same
credentials (extension routes are not covered by the host's own check, so it is reimplemented here). The
one writing route, POST /iga/v1/sidecar, answers 403 unless the `iga_api_writes` setting is on AND
`--api-auth` is configured, and then requires valid credentials.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from contextlib import nullcontext

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from iga_core import http_api
from iga_webui import loras, settings

PREFIX = "/iga/v1"


def _credentials() -> dict[str, str]:
    """`--api-auth user:pass,user2:pass2` as the host parses it (A and F modules/api/api.py:201-205): no
    trimming, so a password with a space is the same password here and on /sdapi/v1."""
    from modules import shared

    raw = getattr(shared.cmd_opts, "api_auth", None) or ""
    pairs = (item.split(":", 1) for item in raw.split(",") if ":" in item)
    return dict(pairs)


def _authorized(request: Request, creds: dict[str, str]) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    expected = creds.get(user)
    return expected is not None and secrets.compare_digest(password.encode(), expected.encode())


def _unauthorized() -> JSONResponse:
    return JSONResponse(status_code=401, headers={"WWW-Authenticate": "Basic"},
                        content={"ok": False, "error": "Unauthorized", "message": "credentials required",
                                 "hint": "send the --api-auth user and password as HTTP Basic auth"})


def _read_guard(request: Request) -> JSONResponse | None:
    creds = _credentials()
    if creds and not _authorized(request, creds):
        return _unauthorized()
    return None


def _write_guard(request: Request) -> JSONResponse | None:
    creds = _credentials()
    if not settings.get("iga_api_writes") or not creds:
        return JSONResponse(status_code=403, content={
            "ok": False, "error": "Forbidden", "message": "writing routes are off",
            "hint": "enable Settings → IGA → 'Allow writing API routes' and start the host with --api-auth"})
    if not _authorized(request, creds):
        return _unauthorized()
    return None


def _resolve(name: str) -> str | None:
    """A checkpoint path for a read route: the host's own lookup, as its UI and API resolve names."""
    from iga_webui import host

    info = host.checkpoint_by_name(name)
    return getattr(info, "filename", None)


def _resolve_exact(name: str) -> str | None:
    """A checkpoint path for the writing route: exact names only (`host.checkpoint_exact`)."""
    from iga_webui import host

    return getattr(host.checkpoint_exact(name), "filename", None)


def _queue_lock():
    # model files that generation may be reading: take the host's queue lock for writes (A and F
    # modules/call_queue.py:8 and 10: `queue_lock`, the lock every generation runs under)
    try:
        from modules.call_queue import queue_lock
    except ImportError:
        return nullcontext()
    return queue_lock


def _json(result: tuple[int, dict]) -> JSONResponse:
    status, body = result
    return JSONResponse(status_code=status, content=body)


async def _body(request: Request):
    try:
        return await request.json()
    except ValueError:
        return None


def register_routes(app: FastAPI) -> None:
    verify = lambda: settings.get("iga_hash_verification")  # noqa: E731

    async def recipe(request: Request, checkpoint: str = ""):
        return _read_guard(request) or _json(http_api.get_recipe(checkpoint, _resolve, verify=verify()))

    async def check(request: Request):
        denied = _read_guard(request)
        if denied:
            return denied
        body = await _body(request)
        return _json(http_api.check(body, _resolve, verify=verify(), resolve_lora=loras.find_lora_file))

    async def schema(request: Request):
        return _read_guard(request) or _json(http_api.recipe_schema())

    async def args_schema(request: Request):
        return _read_guard(request) or _json(http_api.args_schema())

    async def sidecar(request: Request):
        denied = _write_guard(request)
        if denied:
            return denied
        body = await _body(request)
        with _queue_lock():
            result = http_api.write_sidecar(body, _resolve_exact)
        from iga_webui import recipes

        recipes.forget()
        return _json(result)

    app.add_api_route(f"{PREFIX}/recipe", recipe, methods=["GET"])
    app.add_api_route(f"{PREFIX}/check", check, methods=["POST"])
    app.add_api_route(f"{PREFIX}/schema", schema, methods=["GET"])
    app.add_api_route(f"{PREFIX}/args-schema", args_schema, methods=["GET"])
    app.add_api_route(f"{PREFIX}/sidecar", sidecar, methods=["POST"])


def on_app_started(demo, app: FastAPI) -> None:
    register_routes(app)
