"""The always-on script's args: one versioned dict, unknown keys refused, schema and parser agree."""

from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iga_core.script_args import (
    GUARD_MODES,
    SCRIPT_ARGS_SCHEMA,
    ScriptArgs,
    ScriptArgsInvalid,
    parse_script_args,
)

GOOD = [
    {},
    {"v": 1, "preset": "Native", "mode": None, "overrides": [], "override_reasons": {}, "advanced": False},
    {"preset": "Quality", "mode": "strict"},
    {"overrides": ["IGA-S002", "IGA-S001"], "override_reasons": {"IGA-S002": "testing high CFG"}},
    {"advanced": True, "mode": "audit"},
]
BAD = [
    ({"v": 2}, "version"),
    ({"v": True}, "version"),
    ({"preset": ""}, "preset"),
    ({"preset": 3}, "preset"),
    ({"mode": "lenient"}, "mode"),
    ({"overrides": "IGA-S002"}, "overrides"),
    ({"overrides": ["S002"]}, "malformed rule id"),
    ({"overrides": ["IGA-S002", "IGA-S002"]}, "twice"),
    ({"override_reasons": {"IGA-S002": 5}}, "reason"),
    ({"override_reasons": {"because": "x"}}, "not a rule id"),
    ({"override_reasons": ["IGA-S002"]}, "override_reasons"),
    ({"advanced": "yes"}, "advanced"),
    ({"advanced": 1}, "advanced"),
    ({"preset": "Native", "overide": ["IGA-S002"]}, "unknown key"),
    ([{"preset": "Native"}], "expected an object"),
    ("{not json", "not valid JSON"),
    (7, "expected an object"),
]


def test_defaults_round_trip():
    default = ScriptArgs()
    assert parse_script_args(None) == default
    assert parse_script_args("") == default
    assert parse_script_args(default.to_dict()) == default
    assert parse_script_args(json.dumps(default.to_dict())) == default
    jsonschema.validate(default.to_dict(), SCRIPT_ARGS_SCHEMA)


@pytest.mark.parametrize("value", GOOD)
def test_good_values_parse_and_match_the_schema(value):
    parsed = parse_script_args(value)
    jsonschema.validate(value, SCRIPT_ARGS_SCHEMA)
    assert parse_script_args(parsed.to_dict()) == parsed
    for key, v in value.items():
        got = parsed.to_dict()[key]
        assert got == v


@pytest.mark.parametrize(("value", "words"), BAD)
def test_bad_values_are_refused_with_a_typed_error(value, words):
    with pytest.raises(ScriptArgsInvalid) as info:
        parse_script_args(value)
    assert words in info.value.message
    assert info.value.hint  # every refusal says how to fix it
    if isinstance(value, dict):  # the schema refuses the same objects
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(value, SCRIPT_ARGS_SCHEMA)


def test_modes_are_the_guards_modes():
    from iga_core.guard import MODES

    assert tuple(GUARD_MODES) == tuple(MODES)


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCRIPT_ARGS_SCHEMA)
    assert set(SCRIPT_ARGS_SCHEMA["properties"]) == set(ScriptArgs().to_dict())


@given(st.dictionaries(st.text(max_size=12), st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                       max_size=4))
def test_arbitrary_objects_never_crash(value):
    try:
        parsed = parse_script_args(value)
    except ScriptArgsInvalid:
        return
    jsonschema.validate(value, SCRIPT_ARGS_SCHEMA)
    assert isinstance(parsed, ScriptArgs)
