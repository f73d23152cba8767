"""The HTTP API's logic, host-free: each handler takes plain JSON-ish input and returns (status, body).

`iga_webui/api.py` mounts these on the host's FastAPI app under /iga/v1 and supplies `resolve`, which
turns a checkpoint name into a file path the host knows. The /check answer has the same shape as
`iga check --json`, and both ask the one judge (`iga_core.guard.judge`), so scripts can switch between the
CLI and the API and get the same verdict, LoRA compositions and extra passes included.

Errors: every status comes from the error's type (`IgaError.http_status`: 422 invalid, 404 not found, 413
too large, 500 a file the server could not read), never from its message. A body of any shape gets a 4xx
naming the problem: `parse_body` (the glue's route calls it after its size check) turns bytes into JSON
with typed errors, and every handler bounds the depth and size of the JSON it is given before reading it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from iga_core.checkpoint.sources import find_recipe
from iga_core.checkpoint.stamp import write_sidecar as write_sidecar_file
from iga_core.compose import CHECKPOINT_PART, Addon, Composition, compose
from iga_core.errors import IgaError, IgaInvalid, IgaNotFound
from iga_core.guard import PASS_NAMES, GuardPolicy, GuardRequest, HostFacts, Pass, judge
from iga_core.guard.context import unknown_host_note
from iga_core.presets import PARAM_KEYS, missing_defaults, resolve_preset
from iga_core.recipe import Recipe, RecipeInvalid, deprecation_notices, load_schema
from iga_core.script_args import SCRIPT_ARGS_SCHEMA

API_VERSION = "v1"
CHECK_KEYS = frozenset({"checkpoint", "recipe", "loras", "passes", "request", "preset", "mode", "overrides",
                        "override_reasons"})
PASS_KEYS = frozenset({"name", "checkpoint", "recipe", "request"})
#: the largest body a route reads: a recipe is at most 1 MiB of JSON (iga_core.recipe.validate.MAX_BYTES)
MAX_BODY_BYTES = 2 << 20
#: nesting levels and values a body may have: a recipe nests 32 levels at most, a body wraps it twice more
MAX_DEPTH = 40
MAX_NODES = 200_000
#: LoRA entries in one /check body (prompts carry a handful; each one is a file lookup)
MAX_LORAS = 32

Resolver = Callable[[str], "str | None"]
#: (checkpoint file, the governing recipe, the preset named) -> what the host reads from the model it will run
#: (`iga_core.guard.HostFacts`): the glue's `generation.check_facts`, the reader Generate's request is built with
FactsReader = Callable[[str, Recipe, "str | None"], "HostFacts | None"]


class ApiRequestInvalid(IgaInvalid):
    """The JSON body of an /iga/v1 request is not what the route accepts."""


class BodyTooLarge(ApiRequestInvalid):
    """The body is larger than a route reads."""

    http_status = 413


class CheckpointNotFound(IgaNotFound):
    """The host knows no checkpoint (or LoRA) by that name."""


class NoRecipe(IgaNotFound):
    """The checkpoint has no recipe the guard could use; `source` says what was found instead."""

    def __init__(self, message: str, hint: str = "", source: dict | None = None) -> None:
        super().__init__(message, hint)
        self.source = source

    def to_dict(self) -> dict:
        return {**super().to_dict(), "source": self.source}


def error_answer(exc: IgaError, **extra: Any) -> tuple[int, dict]:
    """(status, body) for an error: the status is the error type's `http_status`."""
    return exc.http_status, {"ok": False, **exc.to_dict(), **extra}


def _source_info(source) -> dict:
    return {"kind": source.kind, "path": source.path, "hash_status": source.hash_status,
            "problems": list(source.problems)}


# --- bodies ------------------------------------------------------------------------------------------


def parse_body(raw: bytes | None) -> Any:
    """The JSON value of a request body: too large, not UTF-8, not JSON or nested too deeply for the
    parser are typed errors (413 / 422), never a 500."""
    if raw is None:
        raise ApiRequestInvalid("the request has no body", 'send a JSON object, e.g. {"checkpoint": "..."}')
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the body is {len(raw)} bytes, more than the {MAX_BODY_BYTES} this route reads",
                           "send one recipe and its request; recipes are a few KiB")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ApiRequestInvalid(f"the body is not UTF-8 ({exc.reason} at byte {exc.start})",
                                "send the JSON as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ApiRequestInvalid(f"the body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                                "send a JSON object") from None
    except RecursionError:
        raise ApiRequestInvalid(f"the body nests deeper than the {MAX_DEPTH} levels a route reads",
                                "flatten the JSON") from None


def _bounded(body: Any) -> Any:
    """`body` when its depth and size are within bounds; walked without recursion, so no shape of input
    can exhaust the stack."""
    stack, nodes = [(body, 0)], 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise ApiRequestInvalid(f"the body nests deeper than the {MAX_DEPTH} levels a route reads",
                                    "flatten the JSON")
        if nodes > MAX_NODES:
            raise BodyTooLarge(f"the body holds more than {MAX_NODES} values", "send one recipe and its request")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return body


def _object(value: Any, what: str, example: str) -> dict:
    if not isinstance(value, dict):
        raise ApiRequestInvalid(f"{what} must be a JSON object", f"send e.g. {example}")
    return value


def _known_keys(body: dict, allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        shown = ", ".join(repr(k) for k in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise ApiRequestInvalid(f"unknown key(s) in {where}: {shown}", f"allowed: {', '.join(sorted(allowed))}")


def _name(value: Any, what: str, hint: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiRequestInvalid(f"{what} must be a name (text)", hint)
    if len(value) > 1024:
        raise ApiRequestInvalid(f"{what} is {len(value)} characters long", hint)
    return value


# --- recipes -----------------------------------------------------------------------------------------


def _file(checkpoint: Any, resolve: Resolver) -> str:
    """The file of the checkpoint a body names."""
    name = _name(checkpoint, "'checkpoint'", "use a name from GET /sdapi/v1/sd-models")
    path = resolve(name)
    if path is None:
        raise CheckpointNotFound(f"no checkpoint named {name!r}", "use a title or name from GET /sdapi/v1/sd-models")
    return path


def _find(checkpoint: Any, resolve: Resolver, verify: str):
    return find_recipe(_file(checkpoint, resolve), verify=verify)


def _inline(document: Any) -> Recipe:
    _object(document, "'recipe'", "the recipe document")
    return Recipe.from_dict(document)  # RecipeInvalid (422) lists every problem


def _recipe_of(part: dict, resolve: Resolver, verify: str) -> tuple[Recipe, dict]:
    """The parsed recipe a body (or a pass) names, inline or by checkpoint, and where it came from."""
    recipe, info, _path = _recipe_and_file(part, resolve, verify)
    return recipe, info


def _recipe_and_file(part: dict, resolve: Resolver, verify: str) -> tuple[Recipe, dict, str | None]:
    """`_recipe_of`, and the checkpoint file it names (None: an inline recipe)."""
    if ("checkpoint" in part) == ("recipe" in part):
        raise ApiRequestInvalid("send exactly one of 'checkpoint' or 'recipe'", "name a checkpoint, or inline a recipe")
    if "recipe" in part:
        return _inline(part["recipe"]), {"kind": "inline"}, None
    path = _file(part["checkpoint"], resolve)
    source = find_recipe(path, verify=verify)
    if source.recipe is None:
        what = "no valid recipe" if source.document is not None else "no recipe"
        raise NoRecipe(f"{part['checkpoint']!r} has {what}", "stamp one with `iga stamp`, or add a sidecar",
                       _source_info(source))
    return source.recipe, _source_info(source), path


def _compose_loras(recipe: Recipe, loras: Any, resolve_lora: Resolver | None, verify: str) -> Composition | None:
    """`"loras": [{"name": "lcm-lora", "weight": 1.0}]` -> the composition (like `iga check --lora`)."""
    if loras is None or loras == []:
        return None
    if not isinstance(loras, list) or not all(isinstance(x, dict) and set(x) <= {"name", "weight"} for x in loras):
        raise ApiRequestInvalid("'loras' must be a list of {\"name\", \"weight\"} objects",
                                'send e.g. [{"name": "lcm-lora-sdv1-5", "weight": 1.0}]')
    if len(loras) > MAX_LORAS:
        raise BodyTooLarge(f"'loras' lists {len(loras)} entries, more than {MAX_LORAS}",
                           "send the LoRAs the prompt activates")
    addons = []
    for item in loras:
        name = _name(item.get("name"), "a LoRA's 'name'", "use a name from GET /sdapi/v1/loras")
        weight = item.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ApiRequestInvalid(f"LoRA {name!r} has weight {weight!r}", "send the weight as a number")
        path = resolve_lora(name) if resolve_lora is not None else None
        if path is None:
            raise CheckpointNotFound(f"no LoRA named {name!r}", "use a name from GET /sdapi/v1/loras")
        addon = Addon.from_source(name, find_recipe(path, verify=verify), weight)
        if addon is not None:
            addons.append(addon)
    return compose(recipe, addons, base_name=CHECKPOINT_PART) if addons else None


def _passes(specs: Any, governing: Recipe, first: GuardRequest, resolve: Resolver, verify: str) -> list[Pass]:
    """`"passes": [{"name": "hires", "request": {"steps": 8, "denoising_strength": 0.5}},
    {"name": "refiner", "checkpoint": "sdxl-refiner"}]`: a hires pass without a checkpoint runs on the
    first pass's (composed) recipe; a refiner names its checkpoint and continues the first pass's request."""
    if specs is None or specs == []:
        return []
    if not isinstance(specs, list) or len(specs) > len(PASS_NAMES):
        raise ApiRequestInvalid(f"'passes' must be a list of at most {len(PASS_NAMES)} pass objects",
                                'send e.g. [{"name": "hires", "request": {"steps": 8}}]')
    out = []
    for spec in specs:
        spec = _object(spec, "a pass", '{"name": "hires", "request": {"steps": 8}}')
        _known_keys(spec, PASS_KEYS, "a pass")
        name = spec.get("name")
        if name not in PASS_NAMES:
            raise ApiRequestInvalid(f"unknown pass {name!r}", f"use one of: {', '.join(PASS_NAMES)}")
        own = "checkpoint" in spec or "recipe" in spec
        recipe = _recipe_of(spec, resolve, verify)[0] if own else None
        if name == "refiner":
            if recipe is None or "request" in spec:
                raise ApiRequestInvalid("a refiner pass names its 'checkpoint' (or 'recipe') and no 'request'",
                                        "the refiner continues the first pass's sampler, schedule, steps and CFG")
            out.append(Pass.refiner(recipe, first))
        else:
            fields = _object(spec.get("request", {}), "a pass's 'request'", '{"steps": 8}')
            out.append(Pass.hires(recipe or governing, first, **GuardRequest.from_dict(fields).to_dict()))
    return out


# --- routes ------------------------------------------------------------------------------------------


def get_recipe(checkpoint: Any, resolve: Resolver, *, verify: str = "first") -> tuple[int, dict]:
    """GET /iga/v1/recipe?checkpoint=NAME: the recipe document and where it came from; 404 when the
    checkpoint is unknown or carries no recipe."""
    try:
        source = _find(checkpoint, resolve, verify)
    except IgaError as exc:
        return error_answer(exc)
    status = 200 if source.recipe is not None else NoRecipe.http_status
    return status, {"ok": source.recipe is not None, "checkpoint": checkpoint, "source": _source_info(source),
                    "recipe": source.document,
                    "deprecations": [n.to_dict() for n in deprecation_notices(source.document)]}


def check(body: Any, resolve: Resolver, *, verify: str = "first", resolve_lora: Resolver | None = None,
          host_facts: FactsReader | None = None) -> tuple[int, dict]:
    """POST /iga/v1/check: {"checkpoint": name | "recipe": {...}, "loras": [...], "passes": [...],
    "request": {...}, "preset", "mode", "overrides", "override_reasons"} -> the verdict. 200 whether or not
    the request would be allowed (`ok` says which); 4xx for a malformed body or an unknown checkpoint / LoRA.

    `host_facts` (the WebUI glue's): what the host reads from the named checkpoint's model, as Generate judges
    it -- the first pass's request gets the facts it does not state itself, and the answer's "host_facts" says
    which were known and what only Generate knows. An inline recipe names no model: nothing is read for it."""
    try:
        body = _object(_bounded(body), "the body", '{"checkpoint": "...", "request": {...}}')
        _known_keys(body, CHECK_KEYS, "the body")
        recipe, info, checkpoint_file = _recipe_and_file(body, resolve, verify)
        composition = _compose_loras(recipe, body.get("loras"), resolve_lora, verify)
        governing = composition.recipe if composition is not None else recipe
        values: dict = {}
        if body.get("preset") is not None:
            preset = _name(body["preset"], "'preset'", "use Native or one of the recipe's presets")
            resolved = resolve_preset(governing, preset)
            values.update({k: v for k, v in resolved.items() if k in PARAM_KEYS and v is not None})
        request_part = _object(body.get("request", {}), "'request'", '{"sampler": "Euler", "steps": 4}')
        values.update({k: v for k, v in request_part.items() if v is not None})
        defaults = missing_defaults(governing, values)  # a check without a step count judges the recipe's
        request = GuardRequest.from_dict({**values, **defaults})
        policy = GuardPolicy.from_dict({"mode": body.get("mode") or "standard",
                                        "overrides": body.get("overrides") or [],
                                        "override_reasons": body.get("override_reasons") or {}})
        passes = _passes(body.get("passes"), governing, request, resolve, verify)
        facts = host_facts(checkpoint_file, governing, body.get("preset")) if host_facts is not None else None
        if facts is not None:  # the first pass only: a hires or refiner pass's model is read at Generate
            request = facts.apply(request)
        verdict = judge(composition if composition is not None else recipe, request, policy, passes)
    except RecipeInvalid as exc:
        return error_answer(exc, message="the recipe is invalid", problems=[p.to_dict() for p in exc.problems])
    except IgaError as exc:
        return error_answer(exc)
    return 200, {"ok": verdict.allowed, "source": info, "model_id": governing.model_id,
                 "request": request.to_dict(), "policy": policy.to_dict(), "preset": body.get("preset"),
                 "passes": [p.name for p in passes], "defaults": defaults,
                 "notes": [n for n in (unknown_host_note(request, 'send "host": "{key}" to judge {title}\'s'),) if n],
                 "verdict": verdict.to_dict(),
                 "composition": [f.to_dict() for f in composition.findings] if composition is not None else [],
                 **({"host_facts": facts.to_dict()} if facts is not None else {})}


def recipe_schema() -> tuple[int, dict]:
    return 200, load_schema()


def args_schema() -> tuple[int, dict]:
    return 200, SCRIPT_ARGS_SCHEMA


def write_sidecar(body: Any, resolve: Resolver) -> tuple[int, dict]:
    """POST /iga/v1/sidecar (a writing route): {"checkpoint": name, "recipe": {...}} -> writes
    `<checkpoint>.iga.json` next to the weights. The weights file is never touched. `resolve` must match
    names exactly (the glue passes the host's exact lookup, not its closest-match one)."""
    try:
        body = _object(_bounded(body), "the body", '{"checkpoint": name, "recipe": {...}}')
        if set(body) != {"checkpoint", "recipe"}:
            raise ApiRequestInvalid("the body must be {\"checkpoint\": name, \"recipe\": {...}}",
                                    "send exactly those two keys")
        name = _name(body["checkpoint"], "'checkpoint'", "use a name from GET /sdapi/v1/sd-models")
        path = resolve(name)
        if path is None:
            raise CheckpointNotFound(f"no checkpoint named {name!r}", "use a name from GET /sdapi/v1/sd-models")
        _inline(body["recipe"])  # the document is stamped as sent, once it parses
        written = write_sidecar_file(path, body["recipe"])
    except RecipeInvalid as exc:
        return error_answer(exc, message="the recipe is invalid", problems=[p.to_dict() for p in exc.problems])
    except IgaError as exc:
        return error_answer(exc)
    return 200, {"ok": True, "sidecar": written.path, "metadata_sha256": written.metadata_sha256}
