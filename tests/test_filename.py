"""File names from the pattern: the default pattern's shape, token table, and safety on every OS."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iga_core.audit.filename import (
    DEFAULT_PATTERN,
    DESIGN_PATTERN,
    FILENAME_TOKENS,
    FORBIDDEN,
    MAX_BYTES,
    RESERVED,
    FilenamePatternInvalid,
    filename_from_pattern,
    safe_filename,
    values_from_record,
)
from iga_core.audit.record import build_record

VALUES = {
    "datetime": datetime(2026, 11, 26, 15, 30, 5, tzinfo=timezone.utc), "seed": 1234567,
    "checkpoint_name": "SDXL/sdxl_lightning_4step.safetensors [0123456789]", "sampler": "DPM++ 2M SDE",
    "schedule": "SGM Uniform", "steps": 4, "cfg": 1.0,
}


def test_default_pattern():
    assert filename_from_pattern(DEFAULT_PATTERN, VALUES) == (
        "20261126153005-1234567-sdxl_lightning_4step-DPM++_2M_SDE-SGM_Uniform-4-cfg1")
    assert filename_from_pattern(DEFAULT_PATTERN, {**VALUES, "cfg": 3.5}).endswith("-cfg3.5")


def test_tokens_are_case_insensitive_and_missing_values_drop_their_separator():
    assert filename_from_pattern("[SEED]-[Steps]", VALUES) == "1234567-4"
    no_schedule = {**VALUES, "schedule": None}
    assert "--" not in filename_from_pattern(DEFAULT_PATTERN, no_schedule)
    assert filename_from_pattern(DEFAULT_PATTERN, no_schedule).endswith("DPM++_2M_SDE-4-cfg1")
    assert filename_from_pattern("[iga_preset]", {}) == "image"


def test_values_from_a_record():
    record = build_record(params={"seed": 7, "sampler": "Euler", "schedule": "Karras", "steps": 6, "cfg": 2.0},
                          recipe=None, verdict=None, preset="Fast", policy=None, host={"name": "forge"},
                          checkpoint={"name": "turbo.safetensors"},
                          now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    values = values_from_record(record)
    assert filename_from_pattern(DEFAULT_PATTERN, values) == "20260102030405-7-turbo-Euler-Karras-6-cfg2"
    assert filename_from_pattern("[iga_preset]_[iga_status]", values) == "Fast_norecipe"


def test_unknown_token_is_a_typed_error_listing_the_known_ones():
    with pytest.raises(FilenamePatternInvalid) as exc:
        filename_from_pattern("[seed]-[prompt]", VALUES)
    assert "[prompt]" in exc.value.message and "[checkpoint_name]" in exc.value.hint


def test_token_table_names_the_host_equivalents():
    assert FILENAME_TOKENS["checkpoint_name"].host_has == "model_name"
    assert FILENAME_TOKENS["schedule"].host_has == "scheduler"
    assert FILENAME_TOKENS["model_hash"].host_has == "model_hash"  # A images.py:395
    assert FILENAME_TOKENS["weights_hash"].host_has is None
    assert all(t.host_has is None for n, t in FILENAME_TOKENS.items() if n.startswith("iga_"))
    assert all(re.fullmatch(r"[a-z_]+", name) for name in FILENAME_TOKENS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("CON", "_CON"), ("nul.png", "_nul.png"), ("Com1", "_Com1"), ("LPT9.x.y", "_LPT9.x.y"), ("CONSOLE", "CONSOLE"),
     ("a:b|c?d*e", "a_b_c_d_e"), ("trail. . ", "trail"), ("...", "image"), ("", "image"), (" lead", "lead"),
     ("a/b\\c", "a_b_c"), ("tab\there\nnl", "tab_here_nl")],
)
def test_safe_filename_examples(name, expected):
    assert safe_filename(name) == expected


@settings(max_examples=120, deadline=None)
@given(values=st.fixed_dictionaries({k: st.one_of(st.none(), st.text(max_size=400)) for k in
                                     ("checkpoint_name", "sampler", "schedule", "preset")}),
       seed=st.one_of(st.none(), st.integers()), pattern_tail=st.text(max_size=30).map(lambda s: s.replace("[", "(")))
def test_any_values_give_a_name_every_os_accepts(values, seed, pattern_tail):
    pattern = DEFAULT_PATTERN + "-[iga_preset]" + pattern_tail.replace("]", ")")
    name = filename_from_pattern(pattern, {**values, "seed": seed, "steps": 4, "cfg": 7.0})
    assert name and not (set(name) & FORBIDDEN)
    assert not any(ch.isspace() for ch in name)
    assert name[-1] not in ". " and name[0] != " "
    assert name.split(".")[0].upper() not in RESERVED
    assert len(name.encode("utf-8")) <= MAX_BYTES and len(name) <= 120


def test_design_pattern_is_the_default_pattern_as_the_design_writes_it():
    assert DESIGN_PATTERN.endswith("cfg[CFG]") and DESIGN_PATTERN.lower() == DEFAULT_PATTERN.lower()
    assert filename_from_pattern(DESIGN_PATTERN, VALUES) == filename_from_pattern(DEFAULT_PATTERN, VALUES)


def test_hash_tokens_from_a_record():
    weights, file_hash = "ab12" * 16, "0123456789"
    record = build_record(params={"seed": 7, "steps": 4, "cfg": 1.0}, recipe=None, verdict=None, preset=None,
                          policy=None, host={"name": "a1111"},
                          checkpoint={"name": "turbo.safetensors", "weights_sha256": weights, "model_hash": file_hash},
                          now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    values = values_from_record(record)
    assert filename_from_pattern("[checkpoint_name]-[model_hash]-[weights_hash]", values) == (
        "turbo-0123456789-ab12ab12ab")
    # no hash known (never hashed): the token and its separator are dropped
    assert filename_from_pattern("[seed]-[weights_hash]", {**values, "weights_sha256": None}) == "7"


@pytest.mark.parametrize("value", ["../../etc", "ab cd", "0xZZ", "", "é" * 3])
def test_hash_tokens_carry_only_hex(value):
    assert filename_from_pattern("[seed]-[model_hash]-[weights_hash]",
                                 {"seed": 1, "model_hash": value, "weights_sha256": value}) == "1"
    assert filename_from_pattern("[weights_hash]", {"weights_sha256": "0X" + "F" * 64}) == "f" * 10


def test_the_settings_choices_are_valid_patterns_and_include_the_design_one():
    import json
    from pathlib import Path

    from iga_core.audit.filename import parse_pattern

    spec = json.loads((Path(__file__).resolve().parents[1] / "iga_webui" / "settings.json").read_text("utf-8"))
    option = next(o for o in spec["options"] if o["key"] == "iga_filename_pattern")
    assert option["component"] == "dropdown_editable" and option["default"] == ""
    assert option["choices"][0] == "" and DESIGN_PATTERN in option["choices"]
    tokens = set()
    for choice in option["choices"]:
        tokens |= {name for _, name in parse_pattern(choice) if name}
    assert {"model_hash", "weights_hash"} <= tokens
