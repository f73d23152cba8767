"""IGA infotext fields survive the host's create_infotext -> quote -> parse_generation_parameters trip.

The host side is tests/host_double/infotext_utils.py, a line-by-line mirror of A1111 v1.10.1. Hypothesis
feeds hostile values: commas, colons, quotes, newlines, edge whitespace, `NxM` look-alikes, key-equal
values and arbitrary unicode."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iga_core.audit.infotext import (
    INFOTEXT_KEYS,
    MODES,
    OUTCOMES,
    IgaInfotext,
    InfotextInvalid,
    clean_text,
    from_infotext_params,
    parse_infotext,
    protect,
    to_infotext_fields,
)
from iga_core.audit.record import build_record, validate_record
from iga_core.recipe import Recipe
from tests.host_double import infotext_utils as host

ROOT = Path(__file__).resolve().parents[1]
RECIPE = Recipe.from_dict(json.loads((ROOT / "metadata_examples" / "sdxl-lightning-4step.iga.json").read_text()))
BASE = build_record(params={"seed": 1, "sampler": "Euler", "steps": 4, "cfg": 1.0}, recipe=RECIPE, verdict=None,
                    preset="Lightning", policy=None, host={"name": "a1111", "version": "v1.10.1"},
                    checkpoint={"name": "m", "weights_sha256": "ab" * 32}, source="embedded")
HOST_PARAMS = {"Steps": 4, "Sampler": "Euler", "Schedule type": "SGM Uniform", "CFG scale": 1.0,
               "Seed": 1234, "Size": "1024x1024", "Model hash": "0123456789", "Model": "sdxl_lightning"}

HOSTILE = st.sampled_from([
    "a, b", "key: value", '"quoted"', '"', '""', "\"a\"b\"", "trailing ", " leading", "  ", "line\nbreak",
    "1024x1024", "12x34\n", "IGA preset", "IGA", "back\\slash", "\\\"", "tab\there", "emoji 🎨, ok: yes",
    "日本語: テスト", "NBSP\xa0edge\xa0", "\u2028sep", "x" * 300, "Steps: 20, Sampler: Euler", "a,", ":", ",",
    '{"a": 1}', "Negative prompt: x",
])
TEXT = st.one_of(HOSTILE, st.text(max_size=60), st.text(alphabet=',:"\\ \n\tx1', max_size=20))
RULE = st.from_regex(r"IGA-[HSI][0-9]{3}", fullmatch=True)


def _record(preset, overrides=(), mode="standard", outcome="ok", advanced=False, digest=True) -> dict:
    r = copy.deepcopy(BASE)
    r["preset"] = preset
    r["guard"].update(mode=mode, outcome=outcome, advanced=advanced,
                      overrides=[{"rule_id": o, "reason": None} for o in overrides])
    if not digest:
        r["recipe"] = None
    return r


def _through_host(fields: dict[str, str], *, last: bool, prompt="a cat, masterpiece", negative="ugly") -> dict:
    params = dict(HOST_PARAMS)
    params.update(fields)
    if not last:
        params["Version"] = "v1.10.1"  # A processing.py:798 appends it after extra_generation_params
    text = host.create_infotext_text(prompt, negative, params)
    return host.parse_generation_parameters(text)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(preset=TEXT, overrides=st.lists(RULE, max_size=4, unique=True), mode=st.sampled_from(MODES),
       outcome=st.sampled_from(OUTCOMES), advanced=st.booleans(), digest=st.booleans(), last=st.booleans())
def test_fields_round_trip_through_the_host(preset, overrides, mode, outcome, advanced, digest, last):
    record = _record(preset, overrides, mode, outcome, advanced, digest)
    fields = to_infotext_fields(record)
    assert set(fields) <= set(INFOTEXT_KEYS)
    assert all(isinstance(v, str) for v in fields.values())
    info = from_infotext_params(_through_host(fields, last=last))
    assert info.present
    assert (info.version, info.mode, info.outcome, info.advanced) == (1, mode, outcome, advanced)
    assert info.preset == (clean_text(preset) or None)
    assert info.overrides == tuple(overrides)
    assert info.recipe_digest == (record["recipe"]["digest"][:12] if digest else None)


@settings(max_examples=150, deadline=None)
# Drawn already clean (instead of filtering with assume) so a loaded machine cannot trip the health check.
@given(preset=st.text(min_size=1, max_size=80).map(clean_text).filter(bool))
def test_clean_preset_names_survive_exactly(preset):
    assert clean_text(preset) == preset
    info = from_infotext_params(_through_host(to_infotext_fields(_record(preset)), last=True))
    assert info.preset == preset


@pytest.mark.parametrize("value", ['"Fast"', '"x y"', "IGA preset", "1024x1024"])
def test_values_the_host_would_damage_are_protected(value):
    unprotected = _through_host({"IGA preset": value}, last=True)
    assert unprotected.get("IGA preset") != value  # the host unquotes, drops the flag or splits NxM
    info = from_infotext_params(_through_host({"IGA preset": protect("IGA preset", value)}, last=True))
    assert info.preset == value


@pytest.mark.parametrize("value", ['say "hi"', '"a, b: c"', "a,b", "Fast"])
def test_values_the_host_keeps_are_left_alone(value):
    assert protect("IGA preset", value) == value
    assert _through_host({"IGA preset": value}, last=True)["IGA preset"] == value


def test_keys_match_the_host_key_regex():
    for key in INFOTEXT_KEYS:
        assert re.fullmatch(r"\w[\w \-/]+", key), key


def test_no_iga_fields_is_not_an_error():
    info = from_infotext_params(host.parse_generation_parameters("a cat\nSteps: 20, Sampler: Euler, Seed: 1"))
    assert info == IgaInfotext() and not info.present


def test_status_only_error_marker_is_read():
    info = from_infotext_params({"IGA": "error"})
    assert info.present and info.outcome == "error" and info.version is None


def test_newer_writer_status_is_kept_not_judged():
    info = from_infotext_params({"IGA": "v9 paranoid sparkly extra"})
    assert (info.version, info.mode, info.outcome, info.flags) == (9, "paranoid", "sparkly", ("extra",))


@pytest.mark.parametrize(
    "params",
    [{"IGA": "banana"}, {"IGA": "v1 lenient ok"}, {"IGA": "v1 standard great"}, {"IGA": "v1 standard ok turbo"},
     {"IGA": "v1"}, {"IGA overrides": "IGA-S002, DROP"}, {"IGA overrides": "S002"}, {"IGA recipe": "not-hex"},
     {"IGA recipe": "abc"}],
)
def test_garbage_iga_values_raise_a_typed_error(params):
    with pytest.raises(InfotextInvalid) as exc:
        from_infotext_params(params)
    assert exc.value.hint


# --------------------------------------------------------------- the core's parser agrees with the host's

DEFAULT_KEYS = set(host.parse_generation_parameters("")) - {"Prompt", "Negative prompt"}
PIECE = st.one_of(
    st.builds(lambda k, v: f"{k}: {host.quote(v)}", st.sampled_from(["Steps", "IGA preset", "Size", "A b-c/d", "x"]),
              TEXT),
    TEXT,
)


@settings(max_examples=150, deadline=None)
@given(prompt=TEXT, pieces=st.lists(PIECE, max_size=8), sep=st.sampled_from([", ", ",", " ,", "\n"]))
def test_core_parser_matches_the_host_parser(prompt, pieces, sep):
    text = prompt + "\n" + sep.join(pieces)
    ours = parse_infotext(text)
    with contextlib.redirect_stdout(io.StringIO()):  # the host prints "Error parsing" for empty values
        theirs = host.parse_generation_parameters(text)
    assert ours.prompt == theirs["Prompt"]
    assert ours.negative_prompt == theirs["Negative prompt"]
    for key, value in ours.params.items():
        if key not in ("Prompt", "Negative prompt"):  # the host overwrites these two after the loop (A 300-301)
            assert theirs[key] == value
    for key in set(theirs) - DEFAULT_KEYS - {"Prompt", "Negative prompt"}:
        assert key in ours.params


def test_core_parser_refuses_pathological_lines_quickly():
    with pytest.raises(InfotextInvalid):
        parse_infotext("prompt\n" + "a" * 20_000)


def test_host_mirror_matches_the_documented_example():
    # the docstring example of A infotext_utils.py:236-240
    text = ("girl with an artist's beret, determined\nNegative prompt: ugly, fat\n"
            "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b")
    res = host.parse_generation_parameters(text)
    assert res["Prompt"] == "girl with an artist's beret, determined" and res["Negative prompt"] == "ugly, fat"
    assert (res["Steps"], res["Size-1"], res["Size-2"], res["Model hash"]) == ("20", "512", "512", "45dee52b")
    assert res["Clip skip"] == "1" and res["Schedule type"] == "Automatic"
    assert host.quote("a, b") == '"a, b"' and host.quote("plain") == "plain" and host.unquote('"x') == '"x'
    # fewer than 3 matches: the last line is part of the prompt (A 255-257)
    assert host.parse_generation_parameters("p\nSteps: 4, Seed: 1")["Prompt"] == "p\nSteps: 4, Seed: 1"
    assert validate_record(BASE) is BASE
