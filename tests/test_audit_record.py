"""The audit record: built from a real guard verdict, validated strictly when read from untrusted input."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from iga_core import __version__
from iga_core.audit import record as rec
from iga_core.audit.record import (
    AUDIT_VERSION,
    MAX_RECORD_BYTES,
    AuditRecordInvalid,
    AuditRecordTooNew,
    build_record,
    dump_record,
    parse_record,
    validate_record,
)
from iga_core.guard import GuardPolicy, GuardRequest, evaluate
from iga_core.recipe import Recipe
from iga_core.recipe.canonical import metadata_sha256

ROOT = Path(__file__).resolve().parents[1]
LIGHTNING_DOC = json.loads((ROOT / "metadata_examples" / "sdxl-lightning-4step.iga.json").read_text())
LIGHTNING = Recipe.from_dict(LIGHTNING_DOC)
HOST = {"name": "a1111", "version": "v1.10.1"}
CHECKPOINT = {"name": "sdxl_lightning_4step.safetensors", "weights_sha256": "AB" * 32, "model_hash": "0123456789"}
NOW = datetime(2026, 11, 26, 15, 30, tzinfo=timezone.utc)


STANDARD = GuardPolicy()


def _record(request: GuardRequest, policy: GuardPolicy = STANDARD, *, recipe=LIGHTNING, **kw) -> dict:
    verdict = evaluate(recipe, request, policy) if recipe is not None and policy.mode != "off" else None
    params = {k: v for k, v in request.to_dict().items() if v is not None}
    return build_record(params={**params, "seed": 42, "seeds": [42, 43]}, recipe=recipe, verdict=verdict,
                        preset=kw.pop("preset", "Lightning"), policy=policy, host=HOST, checkpoint=CHECKPOINT,
                        source="embedded", now=NOW, **kw)


NATIVE = GuardRequest(sampler="Euler", schedule="SGM Uniform", steps=4, cfg=1.0, width=1024, height=1024)
HIGH_CFG = GuardRequest(sampler="Euler", schedule="SGM Uniform", steps=4, cfg=3.0, width=1024, height=1024)


def test_record_from_native_request_says_ok_and_binds_recipe_and_weights():
    r = _record(NATIVE)
    assert r["audit_version"] == AUDIT_VERSION and r["iga_version"] == __version__
    assert r["timestamp"] == "2026-11-26T15:30:00Z"
    assert r["recipe"] == {"digest": metadata_sha256(LIGHTNING_DOC), "source": "embedded",
                           "model_id": "sdxl-lightning-4step"}
    assert r["checkpoint"]["weights_sha256"] == "ab" * 6  # short and lower-case
    assert r["params"]["seeds"] == [42, 43] and r["params"]["steps"] == 4 and r["params"]["cfg"] == 1.0
    assert r["guard"]["outcome"] == "ok" and r["guard"]["findings"] == []
    assert r["failure"] is None
    assert validate_record(r) is r


def test_digest_is_recomputed_not_copied_from_a_stale_recipe():
    stale = copy.deepcopy(LIGHTNING_DOC)
    stale["hashes"]["metadata_sha256"] = "0" * 64
    stale["cfg"]["max"] = 1.5
    assert _record(NATIVE, recipe=Recipe.from_dict(stale))["recipe"]["digest"] == metadata_sha256(stale) != "0" * 64


@pytest.mark.parametrize(
    ("request_", "policy", "outcome"),
    [
        (HIGH_CFG, GuardPolicy(), "warn"),
        (HIGH_CFG, GuardPolicy(overrides=frozenset({"IGA-S002"}), override_reasons={"IGA-S002": "test, a: b"}),
         "override"),
        (HIGH_CFG, GuardPolicy(mode="audit"), "audit"),
        (HIGH_CFG, GuardPolicy(mode="strict"), "blocked"),
        (HIGH_CFG, GuardPolicy(mode="off"), "off"),
    ],
)
def test_outcome_follows_the_verdict(request_, policy, outcome):
    r = _record(request_, policy)
    assert r["guard"]["outcome"] == outcome
    assert r["guard"]["mode"] == policy.mode
    if policy.mode != "off":
        cfg = [f for f in r["guard"]["findings"] if f["rule_id"] == "IGA-S002"]
        assert cfg and cfg[0]["field"] == "cfg" and cfg[0]["actual"] == "3"
        assert cfg[0]["blocking"] is (outcome == "blocked")
        assert cfg[0]["overridden"] is (outcome == "override")


def test_overrides_keep_their_reasons():
    policy = GuardPolicy(overrides=frozenset({"IGA-S002", "IGA-S001"}), override_reasons={"IGA-S002": "sharper"})
    r = _record(HIGH_CFG, policy)
    assert r["guard"]["overrides"] == [{"rule_id": "IGA-S001", "reason": None},
                                       {"rule_id": "IGA-S002", "reason": "sharper"}]


def test_no_recipe_and_failure_markers():
    assert _record(NATIVE, recipe=None)["guard"]["outcome"] == "norecipe"
    assert _record(NATIVE, recipe=None)["recipe"] is None
    failed = _record(NATIVE, failure={"message": "KeyError: 'x'", "stage": "process"})
    assert failed["guard"]["outcome"] == "error"
    assert failed["failure"] == {"message": "KeyError: 'x'", "stage": "process"}
    from_exc = _record(NATIVE, failure=RuntimeError("boom"))
    assert from_exc["failure"]["message"] == "RuntimeError: boom"


def test_advanced_flag_and_host_without_version():
    r = build_record(params={}, recipe=None, verdict=None, preset=None, policy=None,
                     host={"name": "forge"}, checkpoint={}, advanced=True, now=NOW)
    assert r["guard"]["advanced"] is True and r["host"] == {"name": "forge", "version": None}
    assert r["checkpoint"] == {"name": None, "weights_sha256": None}


@pytest.mark.parametrize(
    ("params", "pointer"),
    [({"stepz": 4}, "/params"), ({"steps": "four"}, "/params/steps"), ({"cfg": float("nan")}, "/params/cfg"),
     ({"steps": 4.5}, "/params/steps"), ({"seed": True}, "/params/seed")],
)
def test_build_refuses_values_it_cannot_record(params, pointer):
    with pytest.raises(AuditRecordInvalid) as exc:
        build_record(params=params, recipe=None, verdict=None, preset=None, policy=None, host=HOST,
                     checkpoint=CHECKPOINT)
    assert exc.value.pointer == pointer and exc.value.hint


def test_long_free_text_is_capped_not_refused():
    r = _record(NATIVE, preset="P" * 5000)
    assert len(r["preset"]) == rec.MAX_TEXT


# ---------------------------------------------------------------------------------------- untrusted input


def _mutated(path: list, value):
    r = copy.deepcopy(_record(HIGH_CFG, GuardPolicy(overrides=frozenset({"IGA-S002"}))))
    target = r
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return r


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (["surprise"], 1, "/"),
        (["params", "steps"], "4", "/params/steps"),
        (["params", "unknown"], 1, "/params"),
        (["guard", "mode"], "lenient", "/guard/mode"),
        (["guard", "overrides", 0, "rule_id"], "DROP TABLE", "/guard/overrides/0/rule_id"),
        (["recipe", "digest"], "xyz", "/recipe/digest"),
        (["timestamp"], 12, "/timestamp"),
        (["audit_version"], 0, "/audit_version"),
        (["guard", "findings"], [{"rule_id": "IGA-S002"}], "/guard/findings/0"),
    ],
)
def test_validate_names_the_bad_field(path, value, where):
    with pytest.raises(AuditRecordInvalid) as exc:
        validate_record(_mutated(path, value))
    assert exc.value.pointer == where, exc.value.message
    assert where in exc.value.message


def test_validate_refuses_non_objects_oversize_and_newer_versions():
    with pytest.raises(AuditRecordInvalid):
        validate_record(["not", "an", "object"])
    big = _mutated(["guard", "summary"], "x" * (MAX_RECORD_BYTES + 10))
    with pytest.raises(AuditRecordInvalid, match="bytes"):
        validate_record(big)
    with pytest.raises(AuditRecordTooNew) as exc:
        validate_record(_mutated(["audit_version"], AUDIT_VERSION + 1))
    assert "upgrade" in exc.value.hint


@pytest.mark.parametrize(
    "text",
    ["", "{", "null", "[1,2]", '{"audit_version": 1}', "[" * 100_000, b"\xff\xfe{}", "x" * (MAX_RECORD_BYTES + 1)],
)
def test_parse_record_gives_typed_errors_for_garbage(text):
    with pytest.raises(AuditRecordInvalid):
        parse_record(text)


def test_dump_and_parse_round_trip_unicode():
    r = _record(NATIVE, preset="Schnell ✓ 日本語, \"quoted\": yes")
    text = dump_record(r)
    assert "✓" in text  # stored as UTF-8, not \\u escapes
    assert parse_record(text) == r
    assert parse_record(text.encode("utf-8")) == r


# ------------------------------------------------------------------------------ valid by construction (#19)

from types import SimpleNamespace  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_text_values = st.one_of(st.none(), st.text(max_size=40), st.text(min_size=490, max_size=2100), st.integers(),
                         st.floats(allow_nan=True), st.booleans(), st.lists(st.integers(), max_size=3))
_good_numbers = st.one_of(st.integers(-(2**40), 2**40), st.floats(-1e6, 1e6), st.none())
_numbers = st.one_of(*[_good_numbers] * 8, st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                     st.text(max_size=4))  # mostly values a record takes, sometimes one it refuses
_rule_ids = st.one_of(st.from_regex(r"IGA-[HSIMC][0-9]{3}", fullmatch=True), st.text(max_size=10))
_finding = st.builds(SimpleNamespace, rule_id=_rule_ids, severity=st.sampled_from(["hard", "soft", "info", "x"]),
                     field=_text_values, overridden=st.booleans(), expected=_text_values, actual=_text_values)
_verdict = st.builds(
    lambda findings, mode, allowed: SimpleNamespace(
        findings=findings, mode=mode, allowed=allowed, blocked_ids=[f.rule_id for f in findings[:1]],
        summary=lambda: "summary " * 10),
    st.lists(_finding, max_size=70), st.sampled_from(["strict", "standard", "audit", "off", "lenient", None]),
    st.booleans())
_executed = st.fixed_dictionaries(
    {"kind": st.sampled_from(["sigmas", "timesteps", "sigma_range", "grid"]),
     "values": st.lists(_numbers, max_size=6) | st.lists(st.floats(0, 20), min_size=1099, max_size=1102),
     "timesteps": st.lists(st.floats(0, 999), max_size=6), "computed_by": st.sampled_from(["host", "iga", "?"])},
    optional={"source": _text_values, "extra": st.integers()})
_model = st.fixed_dictionaries({}, optional={"prediction_type": _text_values, "zero_terminal_snr": _text_values,
                                             "architecture": _text_values, "source": _text_values, "x": _text_values})
_host_run = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
    "passes": st.dictionaries(st.sampled_from(["first", "hires"]), _executed, max_size=2),
    "model": _model, "hires_model": _model,
    "names": st.dictionaries(st.sampled_from(["sampler", "schedule"]),
                             st.fixed_dictionaries({}, optional={"sent": _text_values, "ran_as": _text_values,
                                                                 "z": _text_values}), max_size=2),
    "applied": st.dictionaries(st.text(max_size=8), st.one_of(_numbers, st.lists(st.integers(), max_size=2)),
                               max_size=3),
    "errors": st.dictionaries(st.sampled_from(["first", "hires"]), _text_values, max_size=2),
    "other": st.integers()}))
_bad_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.text(max_size=4))
_ints = st.one_of(*[st.one_of(st.integers(-(2**40), 2**40), st.none())] * 12, _bad_numbers)
_floats = st.one_of(*[st.one_of(st.floats(-1e6, 1e6), st.integers(0, 50), st.none())] * 12, _bad_numbers)
_params = st.fixed_dictionaries({}, optional={
    "seed": _ints, "steps": _ints, "cfg": _floats, "sampler": _text_values, "width": _ints,
    "seeds": st.lists(st.integers(-(2**40), 2**40), max_size=70), "denoising_strength": _floats})


@settings(max_examples=300, deadline=None)
@given(params=_params, verdict=st.one_of(st.none(), _verdict), host_run=_host_run,
       preset=_text_values, weights=st.one_of(st.none(), st.text(max_size=70), *[st.sampled_from(["ab" * 32, "0123ABCD"])] * 4),
       host_version=_text_values, failure=st.one_of(st.none(), st.text(max_size=30), st.fixed_dictionaries(
           {"message": _text_values, "stage": _text_values})))
def test_a_built_record_always_passes_the_schema(params, verdict, host_run, preset, weights, host_version, failure):
    """build_record validates nothing per image: whatever it is given, it either refuses (a typed error
    naming the field) or returns a record that the schema check of untrusted input accepts."""
    policy = GuardPolicy(overrides=frozenset({"IGA-S002"}), override_reasons={"IGA-S002": "x" * 600})
    try:
        record = build_record(params=params, recipe=LIGHTNING, verdict=verdict, preset=preset, policy=policy,
                              host={"name": "a1111", "version": host_version},
                              checkpoint={"name": preset, "weights_sha256": weights}, source="embedded",
                              failure=failure, host_run=host_run, now=NOW)
    except AuditRecordInvalid as exc:
        assert exc.pointer.startswith("/") or "JSON" in exc.message or "bytes" in exc.message
        return
    assert validate_record(json.loads(dump_record(record))) is not None
    assert validate_record(record) is record and record.text == dump_record(record)


def test_a_built_record_is_written_without_a_schema_check_until_it_changes(monkeypatch):
    from iga_core.audit import image_meta

    record = _record(HIGH_CFG, host_run={"passes": {"first": {"kind": "sigmas", "values": [14.6, 0.0],
                                                               "timesteps": [999.0], "computed_by": "host"}}})
    checked = []
    monkeypatch.setattr(image_meta, "validate_record", lambda r: checked.append(r) or validate_record(r))
    assert image_meta.record_text(record) == dump_record(record) and checked == []
    changed = copy.deepcopy(record)
    changed["guard"]["mode"] = "lenient"
    with pytest.raises(AuditRecordInvalid):
        image_meta.record_text(changed)
    assert checked == [changed]


def test_the_builder_knows_every_part_of_host_run_the_schema_has():
    """host_run is built from what the glue collected, key by key: a part the schema gains must be taught to
    the builder too (else a record with it would be refused, or one without its check written)."""
    schema = rec.load_record_schema()["properties"]["host_run"]["properties"]
    assert set(rec.HOST_RUN_KEYS) == set(schema)


def test_host_run_is_copied_into_the_record():
    host_run = {"passes": {"first": {"kind": "sigmas", "values": [1.0, 0.0], "timesteps": [999.0],
                                     "computed_by": "host"}}}
    record = _record(NATIVE, host_run=host_run)
    host_run["passes"]["hires"] = host_run["passes"]["first"]  # the glue goes on adding to its own dict
    assert list(record["host_run"]["passes"]) == ["first"]
