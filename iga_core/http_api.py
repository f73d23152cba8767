"""The HTTP API's logic, host-free: each handler takes plain JSON-ish input and returns (status, body).

`iga_webui/api.py` mounts these on the host's FastAPI app under /iga/v1 and supplies `resolve`, which
turns a checkpoint name into a file path the host knows. The /check answer has the same shape as
`iga check --json`, so scripts can switch between the CLI and the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from iga_core.errors import IgaError, IgaInvalid

API_VERSION = "v1"
CHECK_KEYS = frozenset({"checkpoint", "recipe", "loras", "request", "preset", "mode", "overrides", "override_reasons"})

Resolver = Callable[[str], "str | None"]


class ApiRequestInvalid(IgaInvalid):
    """The JSON body of an /iga/v1 request is not what the route accepts."""


def _error(status: int, exc: IgaError) -> tuple[int, dict]:
    return status, {"ok": False, **exc.to_dict()}


def _source_info(source) -> dict:
    return {"kind": source.kind, "path": source.path, "hash_status": source.hash_status,
            "problems": list(source.problems)}


def _find(checkpoint: Any, resolve: Resolver, verify: str):
    from iga_core.checkpoint.sources import find_recipe

    if not isinstance(checkpoint, str) or not checkpoint.strip():
        raise ApiRequestInvalid("'checkpoint' must be a checkpoint name", "use a name from GET /sdapi/v1/sd-models")
    path = resolve(checkpoint)
    if path is None:
        raise ApiRequestInvalid(f"no checkpoint named {checkpoint!r}", "use a title or name from GET /sdapi/v1/sd-models")
    return find_recipe(path, verify=verify)


def get_recipe(checkpoint: Any, resolve: Resolver, *, verify: str = "first") -> tuple[int, dict]:
    try:
        source = _find(checkpoint, resolve, verify)
    except IgaError as exc:
        return _error(404 if isinstance(exc, ApiRequestInvalid) else 422, exc)
    status = 200 if source.recipe is not None else 404
    return status, {"ok": source.recipe is not None, "checkpoint": checkpoint, "source": _source_info(source),
                    "recipe": source.document}


def _compose_loras(recipe, loras: Any, resolve_lora: Resolver | None, verify: str) -> tuple[Any, list]:
    """`"loras": [{"name": "lcm-lora", "weight": 1.0}]` -> the composed recipe and its findings (like
    `iga check --lora`)."""
    from iga_core.checkpoint.sources import find_recipe
    from iga_core.compose import Addon, compose

    if not loras:
        return recipe, []
    if not isinstance(loras, list) or not all(isinstance(x, dict) and set(x) <= {"name", "weight"} for x in loras):
        raise ApiRequestInvalid("'loras' must be a list of {\"name\", \"weight\"} objects",
                                'send e.g. [{"name": "lcm-lora-sdv1-5", "weight": 1.0}]')
    addons = []
    for item in loras:
        name = item.get("name")
        path = resolve_lora(name) if resolve_lora is not None and isinstance(name, str) else None
        if path is None:
            raise ApiRequestInvalid(f"no LoRA named {name!r}", "use a name from GET /sdapi/v1/loras")
        addon = Addon.from_source(name, find_recipe(path, verify=verify), item.get("weight", 1.0))
        if addon is not None:
            addons.append(addon)
    if not addons:
        return recipe, []
    composition = compose(recipe, addons)
    return composition.recipe, list(composition.findings)


def check(body: Any, resolve: Resolver, *, verify: str = "first", resolve_lora: Resolver | None = None) -> tuple[int, dict]:
    """POST /iga/v1/check: {"checkpoint": name | "recipe": {...}, "loras": [...], "request": {...}, "preset",
    "mode", "overrides", "override_reasons"} -> the verdict. 200 whether or not the request would be allowed
    (`ok` says which); 4xx only for a malformed body or an unknown checkpoint / LoRA."""
    from iga_core.guard import GuardPolicy, GuardRequest, evaluate
    from iga_core.presets import PARAM_KEYS, resolve_preset
    from iga_core.recipe import Recipe, validate_recipe

    try:
        if not isinstance(body, dict):
            raise ApiRequestInvalid("the body must be a JSON object", 'send {"checkpoint": "...", "request": {...}}')
        unknown = sorted(set(body) - CHECK_KEYS)
        if unknown:
            raise ApiRequestInvalid(f"unknown key(s): {', '.join(map(str, unknown))}",
                                    f"allowed: {', '.join(sorted(CHECK_KEYS))}")
        if ("checkpoint" in body) == ("recipe" in body):
            raise ApiRequestInvalid("send exactly one of 'checkpoint' or 'recipe'", "name a checkpoint, or inline a recipe")
        if "recipe" in body:
            recipe = body["recipe"]
            if not isinstance(recipe, dict):
                raise ApiRequestInvalid("'recipe' must be a JSON object", "inline the recipe document")
            problems = validate_recipe(recipe)
            if problems:
                return 422, {"ok": False, "error": "RecipeInvalid", "message": "the inline recipe is invalid",
                             "problems": [{"pointer": p.pointer, "message": p.message, "hint": p.hint}
                                          for p in problems]}
            recipe, info = Recipe.from_dict(recipe), {"kind": "inline"}
        else:
            source = _find(body["checkpoint"], resolve, verify)
            if source.recipe is None:
                return 404, {"ok": False, "error": "NoRecipe", "message": f"{body['checkpoint']!r} has no valid recipe",
                             "hint": "stamp one with `iga stamp`, or add a sidecar", "source": _source_info(source)}
            recipe, info = source.recipe, _source_info(source)
        recipe, composed = _compose_loras(recipe, body.get("loras"), resolve_lora, verify)
        values: dict = {}
        if body.get("preset"):
            resolved = resolve_preset(recipe, body["preset"])
            values.update({k: v for k, v in resolved.items() if k in PARAM_KEYS and v is not None})
        request_part = body.get("request", {})
        if not isinstance(request_part, dict):
            raise ApiRequestInvalid("'request' must be a JSON object", 'send e.g. {"sampler": "Euler", "steps": 4}')
        values.update({k: v for k, v in request_part.items() if v is not None})
        request = GuardRequest.from_dict(values)
        policy = GuardPolicy.from_dict({"mode": body.get("mode") or "standard",
                                        "overrides": body.get("overrides") or [],
                                        "override_reasons": body.get("override_reasons") or {}})
        verdict = evaluate(recipe, request, policy)
    except IgaError as exc:
        return _error(404 if exc.message.startswith("no ") and "named" in exc.message else 422, exc)
    return 200, {"ok": verdict.allowed, "source": info, "model_id": recipe.model_id,
                 "request": request.to_dict(), "policy": policy.to_dict(), "preset": body.get("preset"),
                 "verdict": verdict.to_dict(), "composition": [f.to_dict() for f in composed]}


def recipe_schema() -> tuple[int, dict]:
    from iga_core.recipe import load_schema

    return 200, load_schema()


def args_schema() -> tuple[int, dict]:
    from iga_core.script_args import SCRIPT_ARGS_SCHEMA

    return 200, SCRIPT_ARGS_SCHEMA


def write_sidecar(body: Any, resolve: Resolver) -> tuple[int, dict]:
    """POST /iga/v1/sidecar (a writing route): {"checkpoint": name, "recipe": {...}} -> writes
    `<checkpoint>.iga.json` next to the weights. The weights file is never touched. `resolve` must match
    names exactly (the glue passes the host's exact lookup, not its closest-match one)."""
    from iga_core.checkpoint.stamp import write_sidecar as write
    from iga_core.recipe import validate_recipe

    try:
        if not isinstance(body, dict) or set(body) != {"checkpoint", "recipe"}:
            raise ApiRequestInvalid("the body must be {\"checkpoint\": name, \"recipe\": {...}}",
                                    "send exactly those two keys")
        path = resolve(body["checkpoint"]) if isinstance(body["checkpoint"], str) else None
        if path is None:
            raise ApiRequestInvalid(f"no checkpoint named {body['checkpoint']!r}", "use a name from GET /sdapi/v1/sd-models")
        if not isinstance(body["recipe"], dict):
            raise ApiRequestInvalid("'recipe' must be a JSON object", "send the recipe document")
        problems = validate_recipe(body["recipe"])
        if problems:
            return 422, {"ok": False, "error": "RecipeInvalid", "message": "the recipe is invalid",
                         "problems": [{"pointer": p.pointer, "message": p.message, "hint": p.hint} for p in problems]}
        written = write(path, body["recipe"])
    except IgaError as exc:
        return _error(404 if "no checkpoint named" in exc.message else 422, exc)
    return 200, {"ok": True, "sidecar": written.path, "metadata_sha256": written.metadata_sha256}
