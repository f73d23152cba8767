"""Canonical JSON (RFC 8785) and the metadata digest."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recipe_strategies import recipes

from iga_core.recipe import (
    NotCanonicalizable,
    canonical_json,
    digest_status,
    metadata_sha256,
    with_metadata_digest,
)
from iga_core.recipe.canonical import digest_input

BASE = {
    "iga_version": "1.0.0",
    "model_id": "m",
    "prediction_type": "eps",
    "sampler": {"name": "Euler"},
    "scheduler": {"name": "Karras"},
    "steps": {"default": 20, "min": 10, "max": 40},
    "cfg": {"default": 7.0},
}


def test_rfc8785_known_answer():
    # Keys sorted by UTF-16 code units (so U+20AC sorts before U+1F600, a surrogate pair), no whitespace,
    # shortest round-trip numbers, 1.0 written as 1, -0 as 0, non-ASCII kept as UTF-8.
    value = {
        "b": [1.0, 1e21, 0.1, -0.0],
        "a": "é\u2028",
        "\u20ac": True,
        "\U0001f600": None,
        "c": {"z": 1, "y": 2},
    }
    assert canonical_json(value) == (
        '{"a":"é\u2028","b":[1,1e+21,0.1,0],"c":{"y":2,"z":1},"\u20ac":true,"\U0001f600":null}'
    ).encode("utf-8")


def test_key_order_and_number_spelling_do_not_change_the_bytes():
    reordered = json.loads(json.dumps(BASE, sort_keys=True))
    reordered = dict(reversed(list(reordered.items())))
    respelled = {**BASE, "steps": {"max": 40.0, "min": 10, "default": 20}, "cfg": {"default": 7}}
    assert canonical_json(reordered) == canonical_json(BASE) == canonical_json(respelled)


def test_digest_is_sha256_of_the_canonical_bytes():
    assert metadata_sha256(BASE) == hashlib.sha256(canonical_json(BASE)).hexdigest()


def test_digest_excludes_only_metadata_sha256():
    with_weights = {**BASE, "hashes": {"weights_sha256": "a" * 64}}
    other_weights = {**BASE, "hashes": {"weights_sha256": "b" * 64}}
    assert metadata_sha256(with_weights) != metadata_sha256(other_weights)  # weights stay bound
    assert metadata_sha256(with_weights) != metadata_sha256(BASE)
    stamped = with_metadata_digest(with_weights)
    forged = {**stamped, "hashes": {**stamped["hashes"], "metadata_sha256": "f" * 64}}
    assert metadata_sha256(forged) == metadata_sha256(stamped) == metadata_sha256(with_weights)
    edited = {**stamped, "cfg": {"default": 8.0}}
    assert metadata_sha256(edited) != stamped["hashes"]["metadata_sha256"]
    src = {**with_weights, "hashes": {**with_weights["hashes"], "source_file_sha256": "c" * 64}}
    assert metadata_sha256(src) != metadata_sha256(with_weights)


def test_adding_a_digest_to_a_recipe_without_hashes_covers_the_same_content():
    stamped = with_metadata_digest(BASE)
    assert "hashes" not in BASE
    assert stamped["hashes"] == {"metadata_sha256": metadata_sha256(BASE)}
    assert digest_input(stamped) == BASE
    assert digest_status(stamped) == "matches"
    assert digest_status(BASE) == "absent"
    assert digest_status({**stamped, "model_id": "other"}) == "differs"


def test_with_metadata_digest_does_not_modify_its_input():
    d = json.loads(json.dumps({**BASE, "hashes": {"weights_sha256": "a" * 64}}))
    snapshot = json.dumps(d)
    with_metadata_digest(d)
    assert json.dumps(d) == snapshot


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2**60, {1: "non-string key"}, {"s": {1, 2}}])
def test_values_json_cannot_hold_raise_a_typed_error(bad):
    with pytest.raises(NotCanonicalizable) as info:
        canonical_json({"x": bad})
    assert info.value.hint


@settings(max_examples=80, deadline=None)
@given(recipes())
def test_canonical_bytes_are_stable_under_reordering_and_reparsing(d):
    shuffled = json.loads(json.dumps(d, sort_keys=True))
    assert canonical_json(shuffled) == canonical_json(d)
    # Canonical output is a fixed point, and it reads back as the same numbers (a large float may be
    # written without a fraction, so read integers as doubles, as JCS does).
    assert canonical_json(json.loads(canonical_json(d))) == canonical_json(d)
    assert json.loads(canonical_json(d), parse_int=float) == d


@settings(max_examples=50, deadline=None)
@given(recipes(), st.text("0123456789abcdef", min_size=64, max_size=64))
def test_stamped_digest_survives_any_stored_value(d, fake):
    stamped = with_metadata_digest(d)
    assert digest_status(stamped) == "matches"
    replaced = {**stamped, "hashes": {**stamped["hashes"], "metadata_sha256": fake}}
    assert metadata_sha256(replaced) == stamped["hashes"]["metadata_sha256"]


# ---- the C-encoder path writes the library's bytes (issue #19) ----

_keys = st.one_of(st.text(max_size=6), st.sampled_from(["a", "B", "é", "\ue000", "😀", "\U0001f600x", "~"]))
_floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e-3, 1e-3),
                    st.floats(1e15, 1e22), st.sampled_from([0.0, -0.0, 7.0, 1.5, 1e-4, 9.999e-5, 1e16, 2.0**53,
                                                            2.0**53 + 2, 1e21, 123456.789]))
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**54), 2**54) | _floats
    | st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=("Cs",)), max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(_json)
def test_the_fast_canonical_writer_gives_the_libraries_bytes(value):
    import rfc8785

    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        with pytest.raises(NotCanonicalizable):
            canonical_json(value)
        return
    assert canonical_json(value) == expected


def test_a_recipe_is_canonicalised_without_the_library(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "rfc8785", None)  # importing it would fail
    doc = {"cfg": {"default": 7.0, "min": 1.5}, "steps": {"default": 30}, "title": "a \"b\"\n", "x-k": [0.25, -0.0]}
    assert canonical_json(doc) == b'{"cfg":{"default":7,"min":1.5},"steps":{"default":30},"title":"a \\"b\\"\\n",' \
                                  b'"x-k":[0.25,0]}'
