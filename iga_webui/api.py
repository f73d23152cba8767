"""The /iga/v1 routes on the host's FastAPI app (`script_callbacks.on_app_started`).

Read-only routes are open unless the host runs with `--api-auth`, in which case they ask for the same
credentials (extension routes are not covered by the host's own check, so it is reimplemented here). The
one writing route, POST /iga/v1/sidecar, answers 403 unless the `iga_api_writes` setting is on AND
`--api-auth` is configured, and then requires valid credentials.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from iga_core import http_api
from iga_core.errors import IgaError
from iga_webui import generation, host, loras, recipes, settings

PREFIX = "/iga/v1"


def _credentials() -> dict[str, str]:
    """`--api-auth user:pass,user2:pass2` as the host parses it (A and F modules/api/api.py:201-205): no
    trimming, so a password with a space is the same password here and on /sdapi/v1."""
    raw = host.cmd_opt("api_auth") or ""
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
    info = host.checkpoint_by_name(name)
    return getattr(info, "filename", None)


def _resolve_exact(name: str) -> str | None:
    """A checkpoint path for the writing route: exact names only (`host.checkpoint_exact`)."""
    return getattr(host.checkpoint_exact(name), "filename", None)


def _json(result: tuple[int, dict]) -> JSONResponse:
    status, body = result
    return JSONResponse(status_code=status, content=body)


async def _body(request: Request) -> tuple[Any, JSONResponse | None]:
    """(the JSON body, None), or (None, the error answer). The size is checked before anything is parsed: a
    declared Content-Length above the limit is refused unread, and any body is read only up to the limit."""
    limit = http_api.MAX_BODY_BYTES
    too_large = http_api.BodyTooLarge(f"the body is larger than the {limit} bytes this route reads",
                                      "send one recipe and its request; recipes are a few KiB")
    try:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise too_large if declared.isdigit() else http_api.ApiRequestInvalid(
                f"Content-Length {declared[:40]!r} is not a byte count", "send a valid Content-Length")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise too_large
        return http_api.parse_body(bytes(raw)), None
    except IgaError as exc:
        return None, _json(http_api.error_answer(exc))


def register_routes(app: FastAPI) -> None:
    verify = lambda: settings.get("iga_hash_verification")  # noqa: E731

    async def recipe(request: Request, checkpoint: str = ""):
        return _read_guard(request) or _json(http_api.get_recipe(checkpoint, _resolve, verify=verify()))

    async def check(request: Request):
        denied = _read_guard(request)
        if denied:
            return denied
        body, refused = await _body(request)
        return refused or _json(http_api.check(body, _resolve, verify=verify(), resolve_lora=loras.find_lora_file,
                                               host_facts=generation.check_facts))

    async def schema(request: Request):
        return _read_guard(request) or _json(http_api.recipe_schema())

    async def args_schema(request: Request):
        return _read_guard(request) or _json(http_api.args_schema())

    async def sidecar(request: Request):
        denied = _write_guard(request)
        if denied:
            return denied
        body, refused = await _body(request)
        if refused:
            return refused
        with host.queue_lock():  # model files that generation may be reading: writes wait for the queue
            result = http_api.write_sidecar(body, _resolve_exact)
        recipes.forget()
        return _json(result)

    app.add_api_route(f"{PREFIX}/recipe", recipe, methods=["GET"])
    app.add_api_route(f"{PREFIX}/check", check, methods=["POST"])
    app.add_api_route(f"{PREFIX}/schema", schema, methods=["GET"])
    app.add_api_route(f"{PREFIX}/args-schema", args_schema, methods=["GET"])
    app.add_api_route(f"{PREFIX}/sidecar", sidecar, methods=["POST"])


def on_app_started(demo, app: FastAPI) -> None:
    register_routes(app)
