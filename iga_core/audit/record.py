"""The audit record: what really ran for one image, in a versioned JSON document.

`build_record` turns what the generation path knows (parameters, recipe, the guard's verdict, the policy,
host and checkpoint facts) into a plain dict that passes `validate_record`, so whatever we write we can
read back. It is valid by construction, not by a schema check per image: every part is built to the
schema's rules (types coerced, texts capped, names and ids checked against their patterns, the size
bounded), and a value it cannot record raises `AuditRecordInvalid` where the schema would refuse it.
`tests/test_audit_record.py` holds this against `validate_record` on generated inputs. The result is an
`AuditRecord` (a dict), which the image writers take as valid; treat it as read-only.
`validate_record` / `parse_record` are for untrusted input (a record read from an image someone sent):
size-capped, schema-checked (`record.schema.json`, unknown keys refused), typed errors.
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from typing import Any

from iga_core import __version__
from iga_core.errors import IgaInvalid
from iga_core.guard.modes import MODES
from iga_core.guard.verdict import format_value
from iga_core.recipe import Recipe

AUDIT_VERSION = 1
#: biggest serialized record we write or accept; keeps image chunks small and parsing cheap
MAX_RECORD_BYTES = 64 * 1024
SHORT_HASH = 12  # hex digits of weights_sha256 kept in the record and shown in infotext
MAX_TEXT = 500
MAX_FINDINGS = 64

#: request fields the record keeps (GuardRequest's fields plus the seeds)
PARAM_TYPES: dict[str, type] = {
    "seed": int, "subseed": int, "subseed_strength": float, "sampler": str, "schedule": str, "steps": int,
    "cfg": float, "distilled_cfg": float, "vae": str, "clip_skip": int, "width": int, "height": int,
    "denoising_strength": float, "prediction_type": str,
}
RECIPE_SOURCES = ("embedded", "sidecar", "registry", "reconstructed", "composed", "unknown")
SEVERITIES = ("hard", "soft", "info")
EXECUTED_KINDS = ("sigmas", "timesteps", "sigma_range")
COMPUTED_BY = ("host", "iga")
#: what host_run holds (record.schema.json's host_run properties; a test holds the two together)
HOST_RUN_KEYS = ("passes", "model", "hires_model", "names", "applied", "errors")
MAX_SCHEDULE_VALUES = 1100  # a pass's executed sigmas / timesteps: more steps than any host allows
_HEX = frozenset("0123456789abcdef")
_RULE_ID = re.compile(r"IGA-[A-Z][0-9]{3}")  # record.schema.json $defs/rule_id


class AuditRecord(dict):
    """A record `build_record` made: valid by construction (module docstring). A plain dict otherwise (JSON,
    equality, `record["guard"]`). `text` is its JSON as built: a writer whose `dump_record` gives the same
    text writes it without validating it again; a record changed since (it should be treated as read-only)
    is validated like any other."""

    __slots__ = ("text",)


class AuditRecordInvalid(IgaInvalid):
    """An audit record is malformed: wrong type, unknown key, too big, not JSON."""

    def __init__(self, message: str, hint: str = "", pointer: str = "") -> None:
        super().__init__(message, hint)
        self.pointer = pointer


class AuditRecordTooNew(AuditRecordInvalid):
    """The record was written by a newer iga than this one."""


@lru_cache(maxsize=1)
def load_record_schema() -> dict:
    """The shipped JSON Schema of the audit record (draft 2020-12)."""
    text = resources.files("iga_core.audit").joinpath("record.schema.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    schema = load_record_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _pointer(path) -> str:
    return "".join(f"/{p}" for p in path)


def validate_record(d: Any) -> dict:
    """Check an untrusted record; return it unchanged when valid, else raise `AuditRecordInvalid`."""
    if not isinstance(d, dict):
        raise AuditRecordInvalid(
            f"audit record must be a JSON object, not {type(d).__name__}",
            "the image's iga_metadata was not written by iga; ignore it or regenerate the image",
        )
    version = d.get("audit_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > AUDIT_VERSION:
        raise AuditRecordTooNew(
            f"audit record version {version} is newer than this iga understands ({AUDIT_VERSION})",
            "upgrade sd-webui-iga to read this image's audit record",
            "/audit_version",
        )
    try:
        size = len(json.dumps(d, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise AuditRecordInvalid(
            f"audit record is not plain JSON: {exc}",
            "records hold only strings, finite numbers, booleans, null, lists and objects",
        ) from exc
    if size > MAX_RECORD_BYTES:
        raise AuditRecordInvalid(
            f"audit record is {size} bytes, more than the {MAX_RECORD_BYTES} allowed",
            "a real record is a few kilobytes; this one was not written by iga",
        )
    import jsonschema

    errors = sorted(_validator().iter_errors(d), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        where = _pointer(best.absolute_path) or "/"
        raise AuditRecordInvalid(
            f"audit record invalid at {where}: {best.message[:300]}",
            "the record does not match audit record version 1 (see record.schema.json)",
            where,
        )
    return d


def parse_record(text: str | bytes) -> dict:
    """Decode and validate a record from its JSON text (as stored in an image); size-capped first."""
    if len(text) > MAX_RECORD_BYTES:
        raise AuditRecordInvalid(
            f"audit record is {len(text)} bytes, more than the {MAX_RECORD_BYTES} allowed",
            "a real record is a few kilobytes; this one was not written by iga",
        )
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise AuditRecordInvalid(
            f"audit record is not valid JSON: {str(exc)[:200]}",
            "the image's iga_metadata is damaged; the infotext's IGA fields may still be readable",
        ) from exc
    return validate_record(data)


def dump_record(record: dict) -> str:
    """Compact JSON text of a record (what goes into the image)."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# ---------------------------------------------------------------------------------------------- building


def _bad(field: str, value: Any, want: str) -> AuditRecordInvalid:
    return AuditRecordInvalid(
        f"audit parameter {field!r} is {value!r}, expected {want}",
        "pass the values that actually ran (numbers as numbers, names as strings)",
        f"/params/{field}",
    )


def _coerce(field: str, value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is str:
        return _text(value)
    if isinstance(value, bool):
        raise _bad(field, value, kind.__name__)
    try:
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise _bad(field, value, "a whole number")
            return int(value)
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _bad(field, value, kind.__name__) from exc
    if not math.isfinite(number):
        raise _bad(field, value, "a finite number")
    return number


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else str(value)
    return text[:limit]


def _short(text: Any) -> str:
    if isinstance(text, str):
        return text
    return format_value(text)


def build_params(params: dict) -> dict:
    """Keep the known request fields, typed; refuse unknown keys so a misspelt field is noticed."""
    unknown = sorted(set(params) - set(PARAM_TYPES) - {"seeds"})
    if unknown:
        raise AuditRecordInvalid(
            f"unknown audit parameter(s): {', '.join(unknown)}",
            f"use only: {', '.join(sorted([*PARAM_TYPES, 'seeds']))}",
            "/params",
        )
    out: dict[str, Any] = {}
    for key, kind in PARAM_TYPES.items():
        if key in params:
            out[key] = _coerce(key, params[key], kind)
    if params.get("seeds") is not None:
        seeds = [_coerce("seeds", s, int) for s in list(params["seeds"])[:64]]
        if None in seeds:
            raise _bad("seeds", None, "whole numbers")
        out["seeds"] = seeds
    return out


def _rule_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _RULE_ID.fullmatch(value):
        raise AuditRecordInvalid(f"{value!r} is not a rule id (IGA-X000)", "record the guard's own findings", where)
    return value


def _one_of(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed or not isinstance(value, str):
        raise AuditRecordInvalid(f"{value!r} is not one of {', '.join(allowed)}", "record what the guard used",
                                 where)  # fmt: skip
    return value


def _findings(verdict: Any) -> list[dict]:
    blocked = set(getattr(verdict, "blocked_ids", ()) or ())
    out = []
    for i, f in enumerate(list(getattr(verdict, "findings", ()) or ())[:MAX_FINDINGS]):
        where = f"/guard/findings/{i}"
        out.append({
            "rule_id": _rule_id(f.rule_id, where + "/rule_id"),
            "severity": _one_of(f.severity, SEVERITIES, where + "/severity"), "field": _text(f.field, 80),
            "overridden": bool(f.overridden), "blocking": f.rule_id in blocked and not f.overridden,
            "expected": _text(_short(f.expected)), "actual": _text(_short(f.actual)),
        })
    return out


def outcome_of(*, mode: str, recipe: Recipe | None, verdict: Any, failure: dict | None) -> str:
    """The one-word status shown in infotext: error, off, norecipe, unchecked, blocked, audit,
    override, warn or ok (first that applies)."""
    if failure is not None:
        return "error"
    if mode == "off":
        return "off"
    if recipe is None:
        return "norecipe"
    if verdict is None:
        return "unchecked"
    findings = [f for f in verdict.findings if f.severity != "info"]
    if not verdict.allowed:
        return "blocked"
    if mode == "audit" and any(not f.overridden for f in findings):
        return "audit"
    if any(f.overridden for f in findings):
        return "override"
    if findings:
        return "warn"
    return "ok"


def _recipe_part(recipe: Recipe | None, source: str | None) -> dict | None:
    if recipe is None:
        return None
    # The digest is the content's, not the stored one: the record must say which recipe ran, even if a
    # stale stored digest claims otherwise.
    if not isinstance(recipe, Recipe):
        raise AuditRecordInvalid(f"the record's recipe must be a parsed Recipe, not a {type(recipe).__name__}",
                                 "parse the recipe with Recipe.from_dict")
    digest = recipe.digest
    if not (isinstance(digest, str) and len(digest) == 64 and set(digest) <= _HEX):
        raise AuditRecordInvalid(f"recipe digest {digest!r} is not a sha256", "parse the recipe with Recipe.from_dict",
                                 "/recipe/digest")  # fmt: skip
    return {"digest": digest, "source": source if source in RECIPE_SOURCES else "unknown",
            "model_id": _text(recipe.model_id)}


def _failure_part(failure: Any) -> dict | None:
    if failure is None:
        return None
    if isinstance(failure, BaseException):
        message = f"{type(failure).__name__}: {failure}"
        return {"message": _text(message, 2000), "stage": None}
    if isinstance(failure, dict):
        stage = failure.get("stage")
        return {"message": _text(failure.get("message", ""), 2000),
                "stage": _text(stage, 80) if stage is not None else None}
    return {"message": _text(failure, 2000), "stage": None}


def _run_bad(where: str, what: str) -> AuditRecordInvalid:
    return AuditRecordInvalid(f"host_run{where.removeprefix('/host_run')}: {what}",
                              "record what the host reported, in the shape record.schema.json gives host_run",
                              where)  # fmt: skip


def _object(value: Any, where: str) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise _run_bad(where, "expected an object with string keys")
    return value


_FLOAT = frozenset({float})


def _numbers(value: Any, where: str) -> list:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_SCHEDULE_VALUES:
        raise _run_bad(where, f"expected a list of at most {MAX_SCHEDULE_VALUES} numbers")
    if set(map(type, value)) <= _FLOAT and all(map(math.isfinite, value)):  # what host_run hands over: C loops
        return list(value)
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise _run_bad(where, f"{v!r} is not a finite number")
    return list(value)


def _fields(value: Any, where: str, allowed: set[str]) -> dict:
    value = _object(value, where)
    if not value.keys() <= allowed:
        raise _run_bad(where, f"unknown key(s) {', '.join(sorted(value.keys() - allowed))}")
    return value


def _executed_part(value: Any, where: str) -> dict:
    value = _fields(value, where, {"kind", "values", "timesteps", "computed_by", "source"})
    missing = {"kind", "values", "timesteps", "computed_by"} - value.keys()
    if missing:
        raise _run_bad(where, f"missing {', '.join(sorted(missing))}")
    out = {"kind": _one_of(value["kind"], EXECUTED_KINDS, where + "/kind"),
           "values": _numbers(value["values"], where + "/values"),
           "timesteps": _numbers(value["timesteps"], where + "/timesteps"),
           "computed_by": _one_of(value["computed_by"], COMPUTED_BY, where + "/computed_by")}
    if "source" in value:
        out["source"] = _text(value["source"], 200)
    return out


def _model_part(value: Any, where: str) -> dict:
    value = _fields(value, where, {"prediction_type", "zero_terminal_snr", "architecture", "source", "prediction_set_by"})
    out = {}
    for key, item in value.items():
        if key == "zero_terminal_snr":
            if item is not None and not isinstance(item, bool):
                raise _run_bad(f"{where}/{key}", f"{item!r} is not true, false or null")
            out[key] = item
        elif key in ("source", "prediction_set_by"):
            out[key] = _text(item, 200)
        else:
            out[key] = None if item is None else _text(item, 10**6)  # a string, no length limit
    return out


def _host_run_part(host_run: Any) -> dict:
    """`host_run` as the schema's `host_run`, copied (the glue goes on adding to its own dict after a record
    is built): what the host reported running, each value checked or capped as the schema bounds it."""
    where = "/host_run"
    host_run = _fields(host_run, where, set(HOST_RUN_KEYS))
    out: dict[str, Any] = {}
    for key, value in host_run.items():
        here = f"{where}/{key}"
        if key == "passes":
            out[key] = {name: _executed_part(v, f"{here}/{name}") for name, v in _object(value, here).items()}
        elif key in ("model", "hires_model"):
            out[key] = _model_part(value, here)
        elif key == "names":
            out[key] = {name: {k: _text(v, 1024 if k == "sent" else 200)
                               for k, v in _fields(v, f"{here}/{name}", {"sent", "ran_as"}).items()}
                        for name, v in _object(value, here).items()}  # fmt: skip
        elif key == "errors":  # what the host's own code raised computing a pass's schedule, per pass
            out[key] = {name: _text(v, 500) for name, v in _object(value, here).items()}
        else:  # applied: the settings IGA set, each a string, number or boolean
            for name, v in _object(value, here).items():
                if not isinstance(v, (str, int, float)) or (isinstance(v, float) and not math.isfinite(v)):
                    raise _run_bad(f"{here}/{name}", f"{v!r} is not a string, number or boolean")
            out[key] = dict(value)
    return out


#: (the second, its text) of the last record's timestamp
_last_stamp: tuple = (None, "")


def _timestamp(now: datetime | None) -> str:
    if now is None:  # the clock, in UTC, to the second; formatted once per second, not per image
        global _last_stamp
        second, text = _last_stamp
        if second != int(time.time()):
            second = int(time.time())
            text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
            _last_stamp = (second, text)  # one tuple, swapped whole: a reader on another thread sees a pair
        return text
    moment = now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_record(
    *,
    params: dict,
    recipe: Recipe | None,
    verdict: Any | None,
    preset: str | None,
    policy: Any | None,
    host: dict,
    checkpoint: dict,
    source: str | None = None,
    advanced: bool = False,
    failure: Any = None,
    now: datetime | None = None,
    host_run: dict | None = None,
) -> dict:
    """Assemble the audit record for one image, valid by construction (module docstring).

    `params`: the request that ran (keys of `PARAM_TYPES`, plus `seeds` for a batch); `recipe`: the
    parsed recipe that governed it (None when the checkpoint has none); `verdict` / `policy`: the guard's
    `Verdict` and `GuardPolicy`; `host`: {"name", "version"}; `checkpoint`: {"name", "weights_sha256",
    optional "model_hash"}; `source`: the recipe source kind; `failure`: an exception or message when iga
    itself failed (the record then carries the failure marker); `host_run`: what the host reported it ran
    ({"passes": {name: executed schedule}, "model": {...}, "names": {...}, "applied": {...}}). Raises `AuditRecordInvalid` when a value
    cannot be recorded.
    """
    mode = _one_of(getattr(verdict, "mode", None) or getattr(policy, "mode", None) or "standard", MODES,
                   "/guard/mode")  # fmt: skip
    failure_part = _failure_part(failure)
    reasons = dict(getattr(policy, "override_reasons", {}) or {})
    overrides = [
        {"rule_id": _rule_id(rule_id, "/guard/overrides"),
         "reason": _text(reasons[rule_id]) if reasons.get(rule_id) else None}
        for rule_id in sorted(getattr(policy, "overrides", ()) or ())
    ]
    if len(overrides) > MAX_FINDINGS:
        raise AuditRecordInvalid(f"{len(overrides)} overrides, more than the {MAX_FINDINGS} a record holds",
                                 "override fewer rules", "/guard/overrides")  # fmt: skip
    weights = checkpoint.get("weights_sha256")
    short = str(weights).lower()[:SHORT_HASH] if weights else None
    if short is not None and (len(short) < 8 or not set(short) <= _HEX):
        raise AuditRecordInvalid(f"checkpoint weights_sha256 {weights!r} is not a sha256",
                                 "pass the weights hash as hex digits", "/checkpoint/weights_sha256")  # fmt: skip
    record = AuditRecord({
        "audit_version": AUDIT_VERSION,
        "iga_version": __version__,
        "timestamp": _timestamp(now),
        "host": {"name": _text(host.get("name") or "unknown", 40),
                 "version": _text(host["version"], 80) if host.get("version") else None},
        "checkpoint": {
            "name": _text(checkpoint["name"]) if checkpoint.get("name") else None,
            "weights_sha256": short,
            **({"model_hash": _text(checkpoint["model_hash"], 80)} if checkpoint.get("model_hash") else {}),
        },
        "recipe": _recipe_part(recipe, source),
        "params": build_params(params),
        "preset": _text(preset) if preset else None,
        "guard": {
            "mode": mode,
            "outcome": outcome_of(mode=mode, recipe=recipe, verdict=verdict, failure=failure_part),
            "advanced": bool(advanced),
            "overrides": overrides,
            "findings": _findings(verdict) if verdict is not None else [],
            "summary": _text(verdict.summary(), 2000) if verdict is not None else "",
            **({"pipeline": _text(verdict.pipeline, 200)} if getattr(verdict, "pipeline", None) else {}),
        },
        "failure": failure_part,
    })
    if host_run:
        record["host_run"] = _host_run_part(host_run)
    record.text = _checked_text(record)
    return record


def _checked_text(record: dict) -> str:
    """The record's JSON text, after the one bound no part can keep alone: its size, by validate_record's
    measure (indented JSON is at most twice the compact text, so that is computed only for a big record)."""
    try:
        text = dump_record(record)
        size = len(text.encode("utf-8"))
        if 2 * size > MAX_RECORD_BYTES:
            size = len(json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise AuditRecordInvalid(f"audit record is not plain JSON: {exc}", "pass plain values") from exc
    if size > MAX_RECORD_BYTES:
        raise AuditRecordInvalid(f"audit record is {size} bytes, more than the {MAX_RECORD_BYTES} allowed",
                                 "record fewer or shorter findings and names")  # fmt: skip
    return text
