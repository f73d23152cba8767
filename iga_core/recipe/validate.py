"""Is this a valid recipe? The JSON Schema first, then the checks a schema cannot express.

Order, each stage only when the one before found nothing (so later checks can trust the shape):
1. bounds: a JSON object of bounded depth, node count and size, finite numbers only — before anything
   walks it recursively, so a hostile document cannot exhaust the stack or the memory; then the design's
   shorthand (`iga_core.recipe.shorthand`) is expanded, and the later stages read the canonical form;
2. version: the current schema version (older shapes are pointed at `iga migrate`);
3. the shipped JSON Schema (draft 2020-12);
4. semantics: min ≤ default ≤ max, grids decreasing and consistent with canonical_steps, step counts
   allowed by the subsample rule, presets inside the ranges, nothing both allowed and forbidden, and
   (through `iga_core.vocab`) sampler and schedule names that exist.
Every finding is a `Problem` with a JSON pointer, a message and a hint.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from iga_core import vocab
from iga_core.recipe import shorthand
from iga_core.recipe.migration import STEPS, detect_version  # migrate knows every older shape
from iga_core.recipe.model import Scheduler
from iga_core.recipe.problems import Problem, pointer
from iga_core.recipe.schema_file import KNOWN_VERSIONS, SCHEMA_VERSION, _schema, entry, line_of, version_tuple
from iga_core.schedules import GRID_IDS, param_problems

MAX_DEPTH = 32  # nesting levels; a real recipe uses 5
MAX_NODES = 100_000  # values in the whole document
MAX_BYTES = 1 << 20  # compact JSON size; the header it lives in must stay small enough to read fast
MAX_GRID_STEPS = 4096  # a grid of more steps than this is refused
MAX_SAFE_INT = 2**53 - 1  # RFC 8785 writes numbers as IEEE doubles: larger integers would change value
RESERVED_PRESET_NAMES = ("native", "custom")  # the panel's own choices: recipe defaults, free settings
REL_TOL = 1e-6  # float tolerance when comparing grid values with sigma_min / sigma_max


def validate_recipe(d: Any) -> list[Problem]:
    """All problems of `d` as a recipe of its own version (1.0.0, 1.1.0 or 1.2.0); [] when it is valid."""
    if not isinstance(d, dict):
        return [
            Problem(
                "",
                f"a recipe must be a JSON object, got {_json_type(d)}",
                f'write the recipe as {{"iga_version": "{SCHEMA_VERSION}", "model_id": ..., ...}}',
            )
        ]
    problems = _dedupe(_bounds_problems(d))
    if problems:
        return problems
    # the design's shorthand ("1024x1024", a list of step counts) is read in its canonical form; problems
    # still name the value as the author wrote it
    expanded, expansions = shorthand.expand(d)
    for stage in (_version_problems, _schema_problems, _semantic_problems):
        problems = _dedupe(stage(expanded))
        if problems:
            return [_as_written(p, expansions) for p in problems] if expansions else problems
    return []


def _as_written(problem: Problem, expansions: list) -> Problem:
    mapped = shorthand.original_pointer(expansions, problem.pointer)
    return problem if mapped == problem.pointer else Problem(mapped, problem.message, problem.hint)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.pointer, p.message) not in seen:
            seen.add((p.pointer, p.message))
            out.append(p)
    return out


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a Python {type(value).__name__} (not a JSON value)"


def _short(value: Any, limit: int = 60) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- 1. bounds -------------------------------------------------------------------------------------


def _bounds_problems(d: dict) -> list[Problem]:
    """Walk the document iteratively: depth, node count, JSON types, finite numbers, safe integers."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(d, "", 0)]
    nodes = 0
    while stack:
        value, ptr, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            return [
                Problem(
                    "",
                    f"recipe has more than {MAX_NODES} values",
                    "keep recipes small: move bulky data out of x- extension keys",
                )
            ]
        if depth > MAX_DEPTH:
            return [
                Problem(
                    ptr,
                    f"recipe is nested deeper than {MAX_DEPTH} levels",
                    "flatten the nested x- extension data",
                )
            ]
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    problems.append(
                        Problem(ptr, f"object key {key!r} is not a string", "use string keys only")
                    )
                    continue
                stack.append((item, ptr + pointer(key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, ptr + pointer(i), depth + 1) for i, item in enumerate(value))
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_SAFE_INT:
                problems.append(
                    Problem(
                        ptr,
                        f"integer {value} is too large for JSON numbers",
                        "use integers within ±(2^53 - 1)",
                    )
                )
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems.append(Problem(ptr, f"number {value} is not finite", "use a finite number"))
        else:
            problems.append(
                Problem(
                    ptr,
                    f"value is {_json_type(value)}",
                    "use only JSON values: objects, arrays, strings, numbers, booleans, null",
                )
            )
    if problems:
        return problems
    size = len(json.dumps(d, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > MAX_BYTES:
        return [
            Problem(
                "",
                f"recipe is {size} bytes of JSON, more than the {MAX_BYTES} allowed",
                "shorten notes and x- extension data; grids are capped at 4096 steps",
            )
        ]
    return []


# --- 2. version ------------------------------------------------------------------------------------


def _version_problems(d: dict) -> list[Problem]:
    version = d.get("iga_version")
    where = "/iga_version" if "iga_version" in d else ""
    detected = detect_version(d)
    if detected in STEPS and line_of(detected) is None:
        return [
            Problem(
                where,
                f"this is an older recipe shape ({detected}), not schema {SCHEMA_VERSION}",
                "run `iga migrate FILE -o NEW.json` to upgrade it",
            )
        ]
    parsed = version_tuple(version)
    if parsed is None:
        return []  # missing, wrong type or malformed: the schema says so with its own hint
    line = line_of(version)
    if line is not None:
        # patch releases are compatible (same fields, same meaning); a field a later version adds is refused
        # with the version that has it
        later = [v for v in KNOWN_VERSIONS if version_tuple(v) > version_tuple(line)]
        return [
            Problem(pointer(key), f"{key!r} needs schema {v} (this recipe says {version})",
                    f'set "iga_version": "{v}" (`iga migrate FILE` does it), or remove {key!r}')
            for v in later for key in entry(v).get("adds", ()) if key in d
        ] + [
            Problem(pointer(key), f"{key} {d[key]!r} needs schema {v} (this recipe says {version})",
                    f'set "iga_version": "{v}" (`iga migrate FILE` does it), or use another {key}')
            for v in later for key, values in entry(v).get("adds_values", {}).items() if d.get(key) in values
        ]
    if parsed > version_tuple(SCHEMA_VERSION):
        return [
            Problem(
                where,
                f"recipe version {version} is newer than this iga reads ({SCHEMA_VERSION})",
                f"update sd-webui-iga, or ask the author for a recipe of version {', '.join(KNOWN_VERSIONS)}",
            )
        ]
    return [
        Problem(
            where,
            f"recipe version {version} is not one iga knows (it reads {', '.join(KNOWN_VERSIONS)})",
            f'write the recipe for schema {SCHEMA_VERSION} and set "iga_version": "{SCHEMA_VERSION}"',
        )
    ]


# --- 3. schema -------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _validator(line: str) -> Draft202012Validator:
    return Draft202012Validator(_schema(line))


def _schema_problems(d: dict) -> list[Problem]:
    # a recipe is held to the schema of its own minor line (1.0.x: 1.0.0), so older recipes read unchanged
    line = line_of(d.get("iga_version")) or SCHEMA_VERSION
    errors = sorted(_validator(line).iter_errors(d), key=lambda e: [str(p) for p in e.absolute_path])
    problems: list[Problem] = []
    for error in errors:
        problems.extend(_problems_from_error(error))
    return problems


def _problems_from_error(error: ValidationError) -> Iterator[Problem]:
    ptr = pointer(*error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    hint = schema.get("x-hint", "see the recipe format reference (README, 'Recipe format')")
    kind, arg, inst = error.validator, error.validator_value, error.instance
    if kind == "required":
        for name in arg:
            if isinstance(inst, dict) and name not in inst:
                field_hint = _resolve(schema.get("properties", {}).get(name, {})).get("x-hint")
                yield Problem(
                    ptr + pointer(name),
                    f"required field {name!r} is missing",
                    f"add {name!r}" + (f": {field_hint}" if field_hint else ""),
                )
        return
    if kind == "additionalProperties":
        known = set(schema.get("properties", {}))
        for key in inst:
            if key not in known and not key.startswith("x-"):
                yield Problem(ptr + pointer(key), f"unknown key {key!r}", hint)
        return
    if kind == "not":
        yield Problem(ptr, f"{ptr.rsplit('/', 1)[-1]!r} is not allowed here", hint)
        return
    if kind == "anyOf":
        yield from _any_of_problems(error, ptr, hint)
        return
    yield Problem(ptr, _message(kind, arg, inst, error), hint)


_JSON_TYPES = {"object": dict, "array": list, "string": str}


def _any_of_problems(error: ValidationError, ptr: str, hint: str) -> Iterator[Problem]:
    """A canonical form or its shorthand (`sizeOrText`, `subsampleOrList`): the problems of the branch of
    the value's own JSON type, so a broken object is explained as an object, not as "matches no form"."""
    for index, branch in enumerate(error.validator_value):
        wanted = _JSON_TYPES.get(_resolve(branch).get("type"))
        if wanted is not None and isinstance(error.instance, wanted):
            for sub in sorted(error.context, key=lambda e: [str(p) for p in e.absolute_path]):
                if sub.relative_schema_path and sub.relative_schema_path[0] == index:
                    yield from _problems_from_error(sub)
            return
    kinds = " or ".join(_json_type({"object": {}, "array": [], "string": ""}[_resolve(b).get("type")])
                        for b in error.validator_value if _resolve(b).get("type") in _JSON_TYPES)
    yield Problem(ptr, f"expected {kinds}, got {_json_type(error.instance)}", hint)


def _resolve(subschema: dict) -> dict:
    """Follow a local "$ref" ("#/$defs/name") to the definition it names."""
    ref = subschema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return _schema()["$defs"].get(ref.removeprefix("#/$defs/"), {})
    return subschema


def _message(kind: str, arg: Any, inst: Any, error: ValidationError) -> str:
    if kind == "type":
        wanted = " or ".join(arg) if isinstance(arg, list) else arg
        shown = "" if inst is None or isinstance(inst, (dict, list)) else f" {_short(inst)}"
        return f"expected {wanted}, got {_json_type(inst)}{shown}"
    if kind in ("enum", "const"):
        choices = arg if kind == "enum" else [arg]
        return f"{_short(inst)} is not one of {', '.join(_short(c) for c in choices)}"
    if kind == "minimum":
        return f"{inst} is below the minimum {arg}"
    if kind == "exclusiveMinimum":
        return f"{inst} must be greater than {arg}"
    if kind == "maximum":
        return f"{inst} is above the maximum {arg}"
    if kind == "multipleOf":
        return f"{inst} is not a multiple of {arg}"
    if kind == "minLength":
        return "text is empty" if arg == 1 else f"text is shorter than {arg} characters"
    if kind == "maxLength":
        return f"text is {len(inst)} characters, more than {arg}"
    if kind == "pattern":
        return f"{_short(inst)} does not have the expected form"
    if kind == "minItems":
        return f"list has {len(inst)} entries, fewer than {arg}"
    if kind == "maxItems":
        return f"list has {len(inst)} entries, more than {arg}"
    if kind == "maxProperties":
        return f"object has {len(inst)} keys, more than {arg}"
    if kind == "uniqueItems":
        return "list has repeated entries"
    if kind == "oneOf":
        return "does not match exactly one of the allowed forms"
    return error.message[:200]


# --- 4. semantics ----------------------------------------------------------------------------------


def _semantic_problems(d: dict) -> list[Problem]:
    problems = _pipeline_semantics(d)
    if "pipelines" not in d:
        return problems
    problems += _pipeline_name_problems(d)
    for i, pipeline in enumerate(d["pipelines"]):
        problems += _one_pipeline_problems(d, i, pipeline, problems)
    return problems


#: the fields a pipeline may set (iga_core.recipe.model.PIPELINE_FIELDS)
_PIPELINE_FIELDS = ("sampler", "scheduler", "steps", "cfg", "constraints", "presets")


def _one_pipeline_problems(d: dict, i: int, pipeline: dict, top: list[Problem]) -> list[Problem]:
    """Pipeline `i` checked as the recipe it makes (the top-level fields with the pipeline's in their place):
    a problem of a field the pipeline sets points into the pipeline; one of an inherited field that the
    top-level recipe does not have by itself points at the pipeline and says it is inherited."""
    view = {k: v for k, v in d.items() if k != "pipelines"}
    view.update({f: pipeline[f] for f in _PIPELINE_FIELDS if f in pipeline})
    if "presets" not in pipeline:
        view.pop("presets", None)
    base = f"/pipelines/{i}"
    seen = {(p.pointer, p.message) for p in top}
    out = []
    for p in _pipeline_semantics(view):
        field_name = p.pointer.split("/")[1] if p.pointer.count("/") >= 1 and p.pointer != "" else ""
        if field_name in pipeline and field_name in _PIPELINE_FIELDS:
            out.append(Problem(base + p.pointer, p.message, p.hint))
        elif (p.pointer, p.message) not in seen and field_name not in ("resolution",):
            out.append(Problem(base, f"with the recipe's {field_name or 'fields'}: {p.message}", p.hint))
    return out


def _pipeline_name_problems(d: dict) -> list[Problem]:
    """Pipeline names are unique, not "default", and no preset (of any pipeline) has one: a pipeline's
    name is also the name of its defaults in the panel and the script args. Preset names are unique
    across the whole recipe."""
    problems = []
    taken: dict[str, str] = {}
    for i, preset in enumerate(d.get("presets", [])):
        taken.setdefault(preset["name"].strip().lower(), f"/presets/{i}/name")
    for i, pipeline in enumerate(d["pipelines"]):
        name = pipeline["name"].strip().lower()
        where = f"/pipelines/{i}/name"
        if name in ("default", *RESERVED_PRESET_NAMES):
            problems.append(Problem(where, f"pipeline name {pipeline['name']!r} is reserved",
                                    "rename it: 'default' is the recipe's top-level pipeline; Native and Custom "
                                    "are the panel's own presets"))
        elif name in taken:
            problems.append(Problem(where, f"pipeline name {pipeline['name']!r} is already used at {taken[name]}",
                                    "give every pipeline and preset its own name"))
        taken.setdefault(name, where)
    for i, pipeline in enumerate(d["pipelines"]):
        for j, preset in enumerate(pipeline.get("presets", [])):
            name = preset["name"].strip().lower()
            where = f"/pipelines/{i}/presets/{j}/name"
            if name in taken and taken[name] != where:
                problems.append(Problem(where, f"preset name {preset['name']!r} is already used at {taken[name]}",
                                        "give every pipeline and preset its own name (the panel lists them together)"))
            taken.setdefault(name, where)
    return problems


def _pipeline_semantics(d: dict) -> list[Problem]:
    problems: list[Problem] = []
    problems += _range_problems(d["steps"], "/steps", "steps")
    problems += _range_problems(d["cfg"], "/cfg", "CFG")
    if "distilled" in d["cfg"]:
        problems += _range_problems(d["cfg"]["distilled"], "/cfg/distilled", "distilled CFG")
    problems += _scheduler_problems(d["scheduler"])
    problems += _subsample_problems(d)
    problems += _resolution_problems(d.get("resolution", {}))
    problems += _preset_problems(d)
    problems += _name_problems(d)
    problems += _control_problems(d.get("control", {}))
    problems += _grid_param_problems(d)
    if not problems:  # the grid maths needs known names and sane params
        problems += _own_grid_problems(d)
    return problems


def _range_problems(r: dict, base: str, label: str) -> list[Problem]:
    lo, hi, default = r.get("min"), r.get("max"), r["default"]
    if lo is not None and hi is not None and lo > hi:
        return [
            Problem(
                f"{base}/min",
                f"{label} min {lo} is above max {hi}",
                f"make {label} min ≤ max (swap the two values?)",
            )
        ]
    if lo is not None and default < lo:
        return [
            Problem(
                f"{base}/default",
                f"{label} default {default} is below min {lo}",
                f"raise the default to at least {lo}, or lower min",
            )
        ]
    if hi is not None and default > hi:
        return [
            Problem(
                f"{base}/default",
                f"{label} default {default} is above max {hi}",
                f"lower the default to at most {hi}, or raise max",
            )
        ]
    return []


def _control_problems(control: dict) -> list[Problem]:
    """Each adapter's hint ranges are ranges: min ≤ default ≤ max, guidance start before end."""
    problems = []
    for i, adapter in enumerate(control.get("adapters", [])):
        base = f"/control/adapters/{i}"
        for key in ("weight", "guidance_start", "guidance_end"):
            r = adapter.get(key, {})
            lo, hi, default = r.get("min"), r.get("max"), r.get("default")
            if lo is not None and hi is not None and lo > hi:
                problems.append(Problem(f"{base}/{key}/min", f"{key} min {lo} is above max {hi}",
                                        "make min ≤ max (swap the two values?)"))
            elif default is not None and ((lo is not None and default < lo) or (hi is not None and default > hi)):
                problems.append(Problem(f"{base}/{key}/default", f"{key} default {default} is outside {lo}..{hi}",
                                        "bring the default inside min..max"))
        start, end = adapter.get("guidance_start", {}).get("min"), adapter.get("guidance_end", {}).get("max")
        if start is not None and end is not None and start >= end:
            problems.append(Problem(f"{base}/guidance_end/max",
                                    f"guidance ends ({end}) before it can start ({start})",
                                    "let guidance_end reach past guidance_start"))
    return problems


def _scheduler_problems(s: dict) -> list[Problem]:
    problems: list[Problem] = []
    lo, hi = s.get("sigma_min"), s.get("sigma_max")
    if lo is not None and hi is not None and lo >= hi:
        problems.append(
            Problem(
                "/scheduler/sigma_min",
                f"sigma_min {lo} is not below sigma_max {hi}",
                "make sigma_min < sigma_max",
            )
        )
    grid = s.get("grid")
    if not grid or "values" not in grid:
        return problems
    kind, values = grid["kind"], grid["values"]
    base = "/scheduler/grid/values"
    steps = len(values) - 1 if kind == "sigmas" else len(values)
    if kind == "sigmas" and len(values) < 2:
        return [
            *problems,
            Problem(
                base,
                "a sigma grid needs at least 2 entries (one step and the final sigma)",
                "list canonical_steps + 1 sigmas, ending with the final sigma (usually 0)",
            ),
        ]
    if steps > MAX_GRID_STEPS:
        return [
            *problems,
            Problem(
                base,
                f"grid has {steps} steps, more than the {MAX_GRID_STEPS} allowed",
                "store a rule instead of the values, or fewer steps",
            ),
        ]
    for i in range(1, len(values)):
        if not values[i] < values[i - 1]:
            problems.append(
                Problem(
                    f"{base}/{i}",
                    f"grid is not decreasing: {values[i]} follows {values[i - 1]}",
                    f"list {kind} from the noisiest to the cleanest, each smaller than the one before",
                )
            )
            break
    if kind == "sigmas":
        if hi is not None and values[0] > hi * (1 + REL_TOL):
            problems.append(
                Problem(
                    f"{base}/0",
                    f"first sigma {values[0]} is above sigma_max {hi}",
                    "raise sigma_max or fix the grid",
                )
            )
        below = [i for i, v in enumerate(values[:-1]) if lo is not None and v < lo * (1 - REL_TOL)]
        if below:
            problems.append(
                Problem(
                    f"{base}/{below[0]}",
                    f"sigma {values[below[0]]} is below sigma_min {lo}",
                    "lower sigma_min or fix the grid (only the final sigma may be below it)",
                )
            )
    canonical = s.get("canonical_steps")
    if canonical is not None and canonical != steps:
        shape = (
            "canonical_steps + 1 sigmas (the last the final sigma)"
            if kind == "sigmas"
            else "one timestep per step"
        )
        problems.append(
            Problem(
                "/scheduler/canonical_steps",
                f"canonical_steps is {canonical} but the {kind} grid has {len(values)} entries",
                f"set canonical_steps to {steps}; a {kind} grid has {shape}",
            )
        )
    return problems


def _scheduler(d: dict) -> Scheduler:
    """The scheduler block as its typed part, to ask it the derived facts (grid length) the model defines
    once; called only after the schema stage passed, so the shape is right."""
    return Scheduler.unchecked(d["scheduler"])


def _allowed_step_counts(d: dict) -> tuple[str, Any, int | None]:
    sub = d["scheduler"].get("subsample", {})
    n = _scheduler(d).grid_steps
    if "allowed_steps" in sub:
        return "list", sub["allowed_steps"], n
    return sub.get("rule", "any"), None, n


def _step_count_problem(steps: int, ptr: str, d: dict) -> Problem | None:
    """Is `steps` a step count the subsample rule allows?"""
    rule, allowed, n = _allowed_step_counts(d)
    if rule == "list" and steps not in allowed:
        return Problem(
            ptr,
            f"{steps} steps is not one of the allowed step counts {allowed}",
            f"use one of {allowed}, or add {steps} to scheduler.subsample.allowed_steps",
        )
    if rule == "divisors" and n is not None and n % steps:
        return Problem(
            ptr,
            f"{steps} steps does not divide the grid's {n} steps",
            f"use a divisor of {n}, or change scheduler.subsample.rule",
        )
    if rule == "prefix" and n is not None and steps > n:
        return Problem(
            ptr,
            f"{steps} steps is more than the grid's {n} steps",
            f"use at most {n} steps, or change scheduler.subsample.rule",
        )
    return None


def _subsample_problems(d: dict) -> list[Problem]:
    problems: list[Problem] = []
    rule, allowed, n = _allowed_step_counts(d)
    if rule == "list" and n is not None:
        for i, steps in enumerate(allowed):
            if steps > n:
                problems.append(
                    Problem(
                        f"/scheduler/subsample/allowed_steps/{i}",
                        f"{steps} steps is more than the grid's {n} steps",
                        f"allow only step counts ≤ {n}, or extend the grid",
                    )
                )
    found = _step_count_problem(d["steps"]["default"], "/steps/default", d)
    if found:
        problems.append(found)
    return problems


def _fits(size: dict, limit: dict) -> bool:
    return size["width"] <= limit["width"] and size["height"] <= limit["height"]


def _resolution_problems(r: dict) -> list[Problem]:
    limit = r.get("max")
    if not limit:
        return []
    return [
        Problem(
            f"/resolution/preferred/{i}",
            f"{size['width']}x{size['height']} is larger than the max {limit['width']}x{limit['height']}",
            "shrink the preferred size or raise resolution.max",
        )
        for i, size in enumerate(r.get("preferred", []))
        if not _fits(size, limit)
    ]


def _outside(value: float, r: dict | None) -> tuple[float | None, float | None] | None:
    if r is None:
        return None
    lo, hi = r.get("min"), r.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return lo, hi
    return None


def _range_text(bounds: tuple[float | None, float | None]) -> str:
    lo, hi = bounds
    return f"{'-∞' if lo is None else lo}..{'∞' if hi is None else hi}"


def _preset_problems(d: dict) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    limit = d.get("resolution", {}).get("max")
    for i, preset in enumerate(d.get("presets", [])):
        base = f"/presets/{i}"
        name = preset["name"]
        if name.strip().lower() in RESERVED_PRESET_NAMES:
            problems.append(
                Problem(
                    f"{base}/name",
                    f"preset name {name!r} is reserved",
                    "rename it: 'Native' always means the recipe defaults, 'Custom' free settings",
                )
            )
        elif name.strip().lower() in seen:
            problems.append(
                Problem(
                    f"{base}/name",
                    f"preset name {name!r} repeats preset {seen[name.strip().lower()]}",
                    "give every preset its own name",
                )
            )
        seen.setdefault(name.strip().lower(), i)
        bounds = _outside(preset["steps"], d["steps"])
        if bounds:
            problems.append(
                Problem(
                    f"{base}/steps",
                    f"preset steps {preset['steps']} is outside the recipe's steps {_range_text(bounds)}",
                    "bring the preset inside the range or widen it",
                )
            )
        else:
            found = _step_count_problem(preset["steps"], f"{base}/steps", d)
            if found:
                problems.append(found)
        bounds = _outside(preset["cfg"], d["cfg"])
        if bounds:
            problems.append(
                Problem(
                    f"{base}/cfg",
                    f"preset CFG {preset['cfg']} is outside the recipe's CFG {_range_text(bounds)}",
                    "bring the preset inside the range or widen it",
                )
            )
        if "distilled_cfg" in preset:
            distilled = d["cfg"].get("distilled")
            if distilled is None:
                problems.append(
                    Problem(
                        f"{base}/distilled_cfg",
                        "preset sets distilled CFG but the recipe has none",
                        "add cfg.distilled to the recipe or remove distilled_cfg from the preset",
                    )
                )
            else:
                bounds = _outside(preset["distilled_cfg"], distilled)
                if bounds:
                    problems.append(
                        Problem(
                            f"{base}/distilled_cfg",
                            f"preset distilled CFG {preset['distilled_cfg']} is outside the recipe's "
                            f"{_range_text(bounds)}",
                            "bring the preset inside the range or widen it",
                        )
                    )
        if limit and ("width" in preset or "height" in preset):
            size = {"width": preset.get("width", 0), "height": preset.get("height", 0)}
            if not _fits(size, limit):
                problems.append(
                    Problem(
                        f"{base}/width" if size["width"] > limit["width"] else f"{base}/height",
                        f"preset size is larger than the max {limit['width']}x{limit['height']}",
                        "shrink the preset size or raise resolution.max",
                    )
                )
    return problems


# --- the recipe's own grid --------------------------------------------------------------------------


def _grid_param_problems(d: dict) -> list[Problem]:
    """A grid rule's params must lie within the bounds its schedule's maths can take (rho > 0, ...)."""
    grid = d["scheduler"].get("grid", {})
    if grid.get("kind") != "rule" or grid.get("rule") not in GRID_IDS:
        return []
    return [
        Problem(f"/scheduler/grid/params/{pointer(name)[1:]}", message, hint)
        for name, message, hint in param_problems(grid["rule"], grid.get("params"))
    ]


def _own_grid_problems(d: dict) -> list[Problem]:
    """The recipe's default steps and every preset's steps must be counts its own pinned grid allows;
    otherwise the guard (IGA-H004) would refuse the recipe's Native preset or a preset it offers. Judged
    from step counts alone, as the guard's first check is: more steps than the grid has, or a count that
    `scheduler.subsample` does not allow (no subsample: only the canonical count)."""
    sched = d["scheduler"]
    n = _scheduler(d).pinned_steps
    if n is None:
        return []
    checks = [("/steps/default", d["steps"]["default"], d["sampler"]["name"])]
    checks += [(f"/presets/{i}/steps", p["steps"], p.get("sampler", d["sampler"]["name"]))
               for i, p in enumerate(d.get("presets", []))]  # fmt: skip
    problems = []
    for ptr, steps, sampler in checks:
        if steps == n or _own_timestep_sampler(vocab, sampler, d["sampler"]["name"]):
            continue
        why = _count_off_grid(sched, steps, n)
        if why:
            problems.append(
                Problem(
                    ptr,
                    f"{steps} steps is off the recipe's own {n}-step grid ({why}), so the guard would refuse it",
                    f"use {n} steps or a count scheduler.subsample allows (or widen scheduler.subsample)",
                )
            )
    return problems


def _own_timestep_sampler(vocab, sampler: str, own_sampler: str) -> bool:
    # The recipe's own timestep sampler (Hyper-SD: DDIM trailing) is not judged by the grid rule.
    try:
        info = vocab.resolve_sampler(sampler)
        return bool(info.timestep_based) and info.id == vocab.resolve_sampler(own_sampler).id
    except vocab.UnknownName:
        return False


def _count_off_grid(sched: dict, steps: int, n: int) -> str | None:
    if steps > n:
        return "more steps than the grid has"
    sub = sched.get("subsample")
    if sub is None:
        return "no scheduler.subsample, so only the canonical count"
    if "allowed_steps" in sub and steps not in sub["allowed_steps"]:
        return f"not in subsample.allowed_steps {sub['allowed_steps']}"
    if sub.get("rule") == "divisors" and n % steps:
        return f"does not divide {n} (subsample.rule divisors)"
    return None


# --- names: vocabulary and allow/forbid lists --------------------------------------------------------


def _name_problems(d: dict) -> list[Problem]:
    problems: list[Problem] = []
    # Every (pointer, name) of each kind, in document order.
    names: dict[str, list[tuple[str, str]]] = {
        "sampler": [("/sampler/name", d["sampler"]["name"])],
        "schedule": [("/scheduler/name", d["scheduler"]["name"])],
    }
    for i, preset in enumerate(d.get("presets", [])):
        if "sampler" in preset:
            names["sampler"].append((f"/presets/{i}/sampler", preset["sampler"]))
        if "scheduler" in preset:
            names["schedule"].append((f"/presets/{i}/scheduler", preset["scheduler"]))
    constraints = d.get("constraints", {})
    lists = {
        (kind, verb): [
            (f"/constraints/{verb}_{kind}s/{i}", n)
            for i, n in enumerate(constraints.get(f"{verb}_{kind}s", []))
        ]
        for kind in ("sampler", "schedule")
        for verb in ("allow", "forbid")
    }

    def ident(kind: str, ptr: str, name: str) -> str | None:
        try:
            info = vocab.resolve_sampler(name) if kind == "sampler" else vocab.resolve_schedule(name)
        except vocab.UnknownName as exc:
            suggestions = list(getattr(exc, "suggestions", []) or [])[:3]
            did_you_mean = f"did you mean {', '.join(map(repr, suggestions))}? " if suggestions else ""
            problems.append(
                Problem(
                    ptr,
                    f"unknown {kind} name {name!r}",
                    f"{did_you_mean}`iga vocab` lists the known names",
                )
            )
            return None
        return info.id

    for kind in ("sampler", "schedule"):
        ids = {(ptr, name): ident(kind, ptr, name) for ptr, name in names[kind]}
        allow = {ident(kind, p, n): n for p, n in lists[(kind, "allow")]}
        forbid = {ident(kind, p, n): (p, n) for p, n in lists[(kind, "forbid")]}
        allow.pop(None, None)
        forbid.pop(None, None)
        for key, (ptr, name) in forbid.items():
            if key in allow:
                problems.append(
                    Problem(
                        ptr,
                        f"{kind} {name!r} is both allowed and forbidden",
                        f"remove it from allow_{kind}s or from forbid_{kind}s",
                    )
                )
        for (ptr, name), key in ids.items():
            if key is None:
                continue
            if key in forbid:
                problems.append(
                    Problem(
                        ptr,
                        f"{kind} {name!r} is forbidden by constraints.forbid_{kind}s",
                        f"use another {kind}, or remove it from forbid_{kind}s",
                    )
                )
            elif allow and key not in allow and not (kind == "schedule" and key == "automatic"):
                problems.append(
                    Problem(
                        ptr,
                        f"{kind} {name!r} is not in constraints.allow_{kind}s",
                        f"use one of {sorted(allow.values())}, or add it to allow_{kind}s",
                    )
                )
    problems += _mode_problems(d, vocab)
    return problems


def _mode_problems(d: dict, vocab) -> list[Problem]:
    """A sampler's declared mode must match what the vocabulary knows about it."""
    mode = d["sampler"].get("mode")
    if mode is None:
        return []
    try:
        info = vocab.resolve_sampler(d["sampler"]["name"])
    except vocab.UnknownName:
        return []  # already reported
    known = getattr(info, "mode", None)
    if known in ("ode", "ancestral", "sde") and known != mode:
        return [
            Problem(
                "/sampler/mode",
                f"sampler {d['sampler']['name']!r} is {known}, not {mode}",
                f"set mode to {known!r} or remove it",
            )
        ]
    return []
