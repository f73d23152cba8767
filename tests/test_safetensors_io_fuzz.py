"""Fuzzing the header reader: thousands of mutated files give a Header or a typed HeaderError, nothing else,
with bounded memory. Whatever the reader accepts, the safetensors library must accept too."""

from __future__ import annotations

import json
import random
import struct
import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open

from iga_core.checkpoint import safetensors_io as sio
from tests.factories import build_checkpoint_bytes

SEEDS = [
    build_checkpoint_bytes(),
    build_checkpoint_bytes(metadata={"iga": json.dumps({"model_id": "m", "steps": {"default": 4}}), "a": "b"}),
    build_checkpoint_bytes({"w": ("F16", [3, 2]), "b": ("BF16", [0]), "i": ("I64", [2])}, seed=3),
]
JUNK_VALUES = [None, True, 0, -1, 1.5, 2**70, "", "x", "F32", [], [0], [0, 4], [-1, 2], {}, {"a": "b"}, "\udcff"]


def _split(raw: bytes) -> tuple[bytes, bytes]:
    (n,) = struct.unpack("<Q", raw[:8])
    return raw[8 : 8 + n], raw[8 + n :]


def _frame(header: bytes, data: bytes) -> bytes:
    return struct.pack("<Q", len(header)) + header + data


def _mutate_json(rng: random.Random, raw: bytes) -> bytes:
    header, data = _split(raw)
    doc = json.loads(header)
    key = rng.choice(list(doc))
    value = doc[key]
    if isinstance(value, dict) and value and rng.random() < 0.7:
        inner = rng.choice(list(value))
        if isinstance(value[inner], list) and value[inner] and rng.random() < 0.5:
            value[inner][rng.randrange(len(value[inner]))] = rng.choice(JUNK_VALUES)
        else:
            value[inner] = rng.choice(JUNK_VALUES)
    elif rng.random() < 0.5:
        doc[key] = rng.choice(JUNK_VALUES)
    else:
        doc[rng.choice(["__metadata__", "extra", key + "2"])] = rng.choice(JUNK_VALUES)
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    return _frame(body + b" " * rng.randrange(0, 9), data)


def _mutate_bytes(rng: random.Random, raw: bytes) -> bytes:
    b = bytearray(raw)
    header_end = 8 + struct.unpack("<Q", raw[:8])[0]
    op = rng.randrange(7)
    if op == 0:  # flip bytes in the prefix or header
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(header_end)] = rng.randrange(256)
    elif op == 1:  # truncate anywhere
        del b[rng.randrange(len(b)) :]
    elif op == 2:  # absurd or off-by-some length field
        n = rng.choice([0, 1, 2, 2**64 - 1, 2**63, sio.MAX_HEADER_SIZE, sio.MAX_HEADER_SIZE + 1, rng.getrandbits(64)])
        n = n if rng.random() < 0.6 else max(0, header_end - 8 + rng.randint(-16, 16))
        b[:8] = struct.pack("<Q", n)
    elif op == 3:  # insert junk inside the header, keeping the length consistent
        at = rng.randrange(8, header_end)
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        b[at:at] = junk
        b[:8] = struct.pack("<Q", header_end - 8 + len(junk))
    elif op == 4:  # delete a byte of the header, keeping the length consistent
        del b[rng.randrange(8, header_end)]
        b[:8] = struct.pack("<Q", header_end - 9)
    elif op == 5:  # append or remove data bytes
        b += bytes(rng.randint(1, 16)) if rng.random() < 0.5 else b""
        if rng.random() < 0.5 and len(b) > header_end:
            del b[-1]
    else:
        return _mutate_json(rng, raw)
    return bytes(b)


def _check(path: Path) -> bool:
    """True if accepted. Anything other than a Header or a HeaderError fails the test."""
    try:
        header = sio.read_header(path)
    except sio.HeaderError as exc:
        assert exc.message and exc.hint
        return False
    # Whatever we accept must also open in the reference implementation with the same metadata.
    with safe_open(path, framework="numpy") as f:
        assert (f.metadata() or {}) == header.metadata
        assert set(f.keys()) == set(header.tensors)
    # And a stamp-like metadata replacement on it gives a header both readers accept.
    new_meta = {**header.metadata, "iga": '{"model_id":"fuzz"}'}
    data = path.read_bytes()[header.data_start :]
    path.write_bytes(sio.encode_header(new_meta, header.tensors, original=header, spare=8) + data)
    assert sio.read_header(path).metadata == new_meta
    with safe_open(path, framework="numpy") as f:
        assert f.metadata() == new_meta
    return True


def test_thousands_of_mutated_headers_give_only_typed_errors(tmp_path):
    rng = random.Random(20261126)
    path = tmp_path / "fuzz.safetensors"
    accepted = rejected = 0
    peak = 0
    for i in range(2500):
        traced = i < 600  # memory tracing is slow: watch the first few hundred cases, every mutation kind
        if traced:
            tracemalloc.start()
        try:
            path.write_bytes(_mutate_bytes(rng, SEEDS[i % len(SEEDS)]))
            if _check(path):
                accepted += 1
            else:
                rejected += 1
            if traced:
                peak = max(peak, tracemalloc.get_traced_memory()[1])
        finally:
            if traced:
                tracemalloc.stop()
    assert peak < 20_000_000  # no allocation follows a hostile length field (that would be >= 100 MB)
    assert rejected > 1500 and accepted > 20  # the mutator exercises both outcomes


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(length=st.integers(0, 2**64 - 1), body=st.binary(max_size=200))
def test_arbitrary_bytes_give_only_typed_errors(tmp_path, length, body):
    path = tmp_path / "h.safetensors"
    path.write_bytes(struct.pack("<Q", length) + body)
    _check(path)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.sampled_from(["__metadata__", "w", "b", "x"]), _json, max_size=3),
       data_len=st.integers(0, 32))  # fmt: skip
def test_arbitrary_json_headers_give_only_typed_errors(tmp_path, doc, data_len):
    path = tmp_path / "j.safetensors"
    body = json.dumps(doc, separators=(",", ":")).encode()
    path.write_bytes(_frame(body, bytes(data_len)))
    _check(path)
