"""The strict header reader: one typed error per rule, and a writer whose output every reader accepts."""

from __future__ import annotations

import json
import struct
import tracemalloc
from pathlib import Path

import pytest
from safetensors import safe_open

from iga_core.checkpoint import safetensors_io as sio
from iga_core.errors import ExitCode, IgaInvalid, IgaIOError
from tests.factories import build_checkpoint_bytes, make_checkpoint


def _file(tmp_path: Path, header: bytes | dict | str, data: bytes = b"", *, length: int | None = None) -> Path:
    if isinstance(header, dict):
        header = json.dumps(header, separators=(",", ":"))
    if isinstance(header, str):
        header = header.encode("utf-8")
    prefix = struct.pack("<Q", len(header) if length is None else length)
    path = tmp_path / "x.safetensors"
    path.write_bytes(prefix + header + data)
    return path


def _one(name="w", dtype="F32", shape=(2,), offsets=None):
    size = sio.DTYPE_BITS.get(dtype, 32) // 8
    n = 1
    for d in shape:
        n *= d
    return {name: {"dtype": dtype, "shape": list(shape), "data_offsets": offsets or [0, n * size]}}


def test_reads_a_valid_file(tmp_path):
    path = make_checkpoint(tmp_path / "m.safetensors", metadata={"a": "1", "iga": '{"x":1}'})
    h = sio.read_header(path)
    assert h.metadata == {"a": "1", "iga": '{"x":1}'}
    assert len(h.tensors) == 4
    assert h.data_start == 8 + h.header_len
    assert h.file_size == path.stat().st_size
    assert sum(t.end - t.begin for t in h.tensors.values()) == h.data_size
    assert h.header_len % 8 == 0 and h.spare == h.header_len - h.json_len


def test_file_without_metadata_or_tensors(tmp_path):
    h = sio.read_header(_file(tmp_path, "{}      "))
    assert h.metadata == {} and h.tensors == {}


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda p: p.write_bytes(b"\x01\x02\x03"), sio.FileTooSmall),
        (lambda p: p.write_bytes(struct.pack("<Q", 2**63) + b"{}"), sio.HeaderTooLarge),
        (lambda p: p.write_bytes(struct.pack("<Q", sio.MAX_HEADER_SIZE + 1) + b"{}"), sio.HeaderTooLarge),
        (lambda p: p.write_bytes(struct.pack("<Q", 4096) + b"{}"), sio.HeaderLengthBeyondFile),
        (lambda p: p.write_bytes(struct.pack("<Q", 1) + b"{"), sio.HeaderLengthBeyondFile),
        (lambda p: p.write_bytes(struct.pack("<Q", 4) + b'{"\xff}'), sio.HeaderNotUtf8),
        (lambda p: p.write_bytes(struct.pack("<Q", 32) + b'{"__metadata__":{"a":"\\udcff"}} '), sio.HeaderNotUtf8),
        (lambda p: p.write_bytes(struct.pack("<Q", 4) + b' [] '), sio.HeaderStartInvalid),
        (lambda p: p.write_bytes(struct.pack("<Q", 4) + b"[1] "), sio.HeaderStartInvalid),
        (lambda p: p.write_bytes(struct.pack("<Q", 4) + b'{"a"'), sio.HeaderNotJson),
        (lambda p: p.write_bytes(struct.pack("<Q", 8) + b"{}\x00\x00\x00\x00\x00\x00"), sio.HeaderNotJson),
    ],
    ids=["too-small", "length-2^63", "length-over-cap", "length-beyond-file", "length-1", "not-utf8", "lone-surrogate",
         "leading-space-array", "array", "truncated-json", "nul-padding"],
)  # fmt: skip
def test_framing_errors(tmp_path, build, error):
    path = tmp_path / "bad.safetensors"
    build(path)
    with pytest.raises(error) as info:
        sio.read_header(path)
    assert isinstance(info.value, sio.HeaderError)
    assert info.value.message and info.value.hint


@pytest.mark.parametrize(
    ("header", "data", "error"),
    [
        ('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
         b"\0" * 4, sio.DuplicateKey),
        ({"__metadata__": ["x"]}, b"", sio.MetadataInvalid),
        ({"__metadata__": {"n": 1}}, b"", sio.MetadataInvalid),
        ({"__metadata__": {"nested": {"a": "b"}}}, b"", sio.MetadataInvalid),
        ({"w": [0, 4]}, b"\0" * 4, sio.TensorEntryInvalid),
        ({"w": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, sio.TensorEntryInvalid),
        (_one(shape=(-1,), offsets=[0, 4]), b"\0" * 4, sio.TensorEntryInvalid),
        (_one(shape=(1.0,), offsets=[0, 4]), b"\0" * 4, sio.TensorEntryInvalid),
        (_one(shape=(True,), offsets=[0, 4]), b"\0" * 4, sio.TensorEntryInvalid),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, b"\0" * 4, sio.TensorEntryInvalid),
        ({"w": {"dtype": "F32", "shape": [1], "data_offsets": "0-4"}}, b"\0" * 4, sio.TensorEntryInvalid),
        (_one(dtype="F128"), b"\0" * 8, sio.UnknownDtype),
        ({"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, sio.UnknownDtype),
        (_one(shape=(3,), offsets=[0, 8]), b"\0" * 8, sio.TensorSizeMismatch),
        (_one(shape=(1,), offsets=[4, 0]), b"\0" * 4, sio.TensorSizeMismatch),
        (_one(offsets=[4, 12]), b"\0" * 12, sio.OffsetsNotContiguous),
        ({**_one("a", offsets=[0, 8]), **_one("b", offsets=[4, 12])}, b"\0" * 12, sio.OffsetsNotContiguous),
        ({**_one("a", offsets=[0, 8]), **_one("b", offsets=[12, 20])}, b"\0" * 20, sio.OffsetsNotContiguous),
        (_one(), b"\0" * 12, sio.DataSizeMismatch),
        (_one(), b"\0" * 4, sio.DataSizeMismatch),
    ],
    ids=["duplicate-key", "metadata-list", "metadata-int", "metadata-nested", "entry-list", "entry-missing-key",
         "negative-dim", "float-dim", "bool-dim", "one-offset", "string-offsets", "unknown-dtype",
         "dtype-not-str", "size-vs-shape", "reversed-range", "not-from-zero", "overlap", "hole",
         "trailing-bytes", "truncated-data"],
)  # fmt: skip
def test_content_errors(tmp_path, header, data, error):
    with pytest.raises(error) as info:
        sio.read_header(_file(tmp_path, header, data))
    assert isinstance(info.value, sio.HeaderError) and isinstance(info.value, IgaInvalid)
    assert info.value.hint


def test_unreadable_paths_are_io_errors(tmp_path):
    with pytest.raises(sio.CheckpointUnreadable) as info:
        sio.read_header(tmp_path / "missing.safetensors")
    assert isinstance(info.value, IgaIOError) and info.value.exit_code == ExitCode.UNAVAILABLE
    with pytest.raises(sio.CheckpointUnreadable):
        sio.read_header(tmp_path)


def test_deep_nesting_is_a_typed_error(tmp_path):
    body = '{"__metadata__":' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(sio.HeaderError):
        sio.read_header(_file(tmp_path, body))


def test_huge_declared_length_allocates_nothing(tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes(struct.pack("<Q", sio.MAX_HEADER_SIZE - 8) + b'{"a":1}' + b" " * 100)
    tracemalloc.start()
    try:
        with pytest.raises(sio.HeaderLengthBeyondFile):
            sio.read_header(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


# ---- writer ----


def test_writer_output_starts_compact_and_is_padded(tmp_path):
    h = sio.read_header(make_checkpoint(tmp_path / "m.safetensors"))
    block = sio.encode_header({"iga": '{"a": 1}', "é": "ü"}, h.tensors)
    (length,) = struct.unpack("<Q", block[:8])
    assert block[8:10] == b'{"' and length == len(block) - 8 and length % 8 == 0
    assert block[8:].rstrip(b" ").endswith(b"}")
    spared = sio.encode_header({}, h.tensors, spare=1000)
    assert len(spared) - len(sio.encode_header({}, h.tensors)) >= 1000 - 8


def test_writer_round_trips_through_our_reader_and_safetensors(tmp_path):
    src = make_checkpoint(tmp_path / "m.safetensors", metadata={"k": "v"})
    h = sio.read_header(src)
    data = src.read_bytes()[h.data_start :]
    metadata = {"k": "v", "iga": json.dumps({"model_id": "m", "n": [1, 2]})}
    out = tmp_path / "out.safetensors"
    out.write_bytes(sio.encode_header(metadata, h.tensors, spare=64) + data)
    back = sio.read_header(out)
    assert back.metadata == metadata and back.tensors == h.tensors and back.spare >= 64
    with safe_open(out, framework="numpy") as f:
        assert f.metadata() == metadata
        assert sorted(f.keys()) == sorted(h.tensors)


def test_writer_exact_length_and_overflow(tmp_path):
    h = sio.read_header(make_checkpoint(tmp_path / "m.safetensors"))
    block = sio.encode_header({}, h.tensors, exact_len=h.header_len + 40)
    assert len(block) == 8 + h.header_len + 40
    with pytest.raises(sio.HeaderDoesNotFit):
        sio.encode_header({"x": "y" * 1000}, h.tensors, exact_len=h.header_len)


def test_writer_refuses_non_string_metadata():
    with pytest.raises(sio.MetadataInvalid):
        sio.encode_header({"n": 1}, {})  # type: ignore[dict-item]


def test_empty_file_header_still_starts_with_brace_quote():
    block = sio.encode_header({}, {})
    assert block[8:10] == b'{"'


def test_factory_bytes_equal_writer_layout():
    raw = build_checkpoint_bytes(metadata={"a": "b"})
    (n,) = struct.unpack("<Q", raw[:8])
    h = sio.parse_header(raw[8 : 8 + n], len(raw))
    assert sio.encode_header(h.metadata, h.tensors) == raw[: 8 + n]


# ---- splicing: replacing only the metadata of an existing header ----

_SPLICE_CASES = {
    "metadata-first": b'{"__metadata__":{"a":"1","b":"{\\"x\\": [1, \\"}\\"]}"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
    "no-metadata": b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
    "metadata-last": b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"a":"1"}}',
    "spaced": b'{"__metadata__": {"a": "1"}, "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}',
    "escaped-key": b'{"\\u005f_metadata__":{},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}',
    "only-metadata": b'{"__metadata__":{"a":"1"}}',
}  # fmt: skip


@pytest.mark.parametrize("raw", _SPLICE_CASES.values(), ids=_SPLICE_CASES.keys())
@pytest.mark.parametrize("metadata", [{}, {"iga": '{"model_id":"m"}', "a": "2"}, {"ü": "\u2603 \n"}])
def test_splicing_gives_the_same_header_as_a_full_encode(raw, metadata):
    data = b"\0" * (8 if b'"w"' in raw else 0)
    original = sio.parse_header(raw, 8 + len(raw) + len(data))
    spliced = sio.encode_header(metadata, original.tensors, original=original, spare=16)
    plain = sio.encode_header(metadata, original.tensors, spare=16)
    back = sio.parse_header(spliced[8:], len(spliced) + len(data))
    assert spliced[8:10] == b'{"' and len(spliced) % 8 == 0
    assert back.metadata == metadata and back.tensors == original.tensors
    assert sio.parse_header(plain[8:], len(plain) + len(data)).tensors == back.tensors


def test_splicing_keeps_the_tensor_text_untouched():
    raw = _SPLICE_CASES["metadata-first"]
    original = sio.parse_header(raw, 8 + len(raw) + 8)
    spliced = sio.encode_header({"n": "1"}, original.tensors, original=original)
    assert spliced[8:].rstrip(b" ") == b'{"__metadata__":{"n":"1"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'


def test_page_offset_padding_lines_up_the_data_section(tmp_path):
    h = sio.read_header(make_checkpoint(tmp_path / "m.safetensors"))
    for offset in (0, 8, 1504, 4088):
        block = sio.encode_header({"a": "b"}, h.tensors, spare=100, page_offset=offset)
        assert len(block) % 4096 == offset and len(block) - 8 >= len(sio.encode_header({"a": "b"}, h.tensors, spare=100)) - 8
    odd = sio.encode_header({"a": "b"}, h.tensors, page_offset=3)  # not reachable in steps of 8: plain padding
    assert (len(odd) - 8) % 8 == 0


def test_a_repeated_read_of_unchanged_bytes_is_reused_and_any_change_is_seen(tmp_path):
    path = _file(tmp_path, {"__metadata__": {"k": "aaaa"}, **_one()}, b"\0" * 8)
    first = sio.read_header(path)
    assert sio.read_header(path) is first  # same bytes, same size, same path: no second parse
    # same length, other bytes: parsed again
    path.write_bytes(path.read_bytes().replace(b'"aaaa"', b'"bbbb"'))
    assert sio.read_header(path).metadata == {"k": "bbbb"}
    # a now-broken header is refused, never served from the earlier read
    path.write_bytes(path.read_bytes().replace(b'"F32"', b'"F99"'))
    with pytest.raises(sio.UnknownDtype):
        sio.read_header(path)
