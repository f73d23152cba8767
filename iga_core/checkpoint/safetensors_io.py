"""Strict, bounded reading and writing of safetensors headers, without touching tensor bytes.

Layout (huggingface/safetensors README "Format"): 8-byte little-endian header length N, N bytes of UTF-8
JSON (an object, padded with JSON whitespace), then the tensor data section. The reader accepts exactly
what the official reader accepts (safetensors 0.8 `SafeTensors::read_metadata`: serde_json's grammar and
number model, its dtypes, its overflow and layout checks), minus what the format forbids and serde lets
through (a duplicate key anywhere), plus nothing; `tests/test_safetensors_differential.py` holds it to
that. N is checked against the file size and the 100 MB cap *before* allocating, so a hostile or
truncated file gives one typed `HeaderError` subclass and never a traceback or a multi-GB allocation.
The writer produces what both WebUI hosts accept: compact JSON starting with `{"` (their metadata reader
asserts it, host-api.md §6), padded with spaces to a multiple of 8, optionally with spare room for later
in-place edits.
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
import re
import struct
from _thread import allocate_lock  # threading.Lock itself, without loading threading
from collections import namedtuple
from functools import cached_property
from pathlib import Path

from iga_core import untrusted_files
from iga_core.checkpoint import journal, locks
from iga_core.errors import IgaInvalid, IgaIOError
from iga_core.records import Record

#: the reference implementation's limit (safetensors/src/tensor.rs MAX_HEADER_SIZE)
MAX_HEADER_SIZE = 100_000_000
LENGTH_PREFIX = 8
PAGE = 4096
METADATA_KEY = "__metadata__"

#: bits per element, as the format defines them (safetensors/src/tensor.rs `Dtype::bitsize`, 0.8)
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8,
    "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8,
    "I16": 16, "U16": 16, "F16": 16, "BF16": 16,
    "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64, "U64": 64,
}  # fmt: skip
#: the reference reader keeps dims, offsets and sizes in `usize` (64 bits) with checked arithmetic
U64_MAX = 2**64 - 1
#: serde_json's recursion limit: a value nested deeper than this many arrays/objects is refused
MAX_DEPTH = 127
JSON_WHITESPACE = b" \t\n\r"

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_NOT_SAFETENSORS_HINT = "check that this is a complete .safetensors file (re-download or re-export it)"


class CheckpointUnreadable(IgaIOError):
    """The file could not be opened or read at all (missing, a folder, permissions)."""


class HeaderError(IgaInvalid):
    """The safetensors header breaks a rule of the format. One subclass per rule."""


class FileTooSmall(HeaderError):
    """Shorter than the 8-byte length prefix."""


class HeaderTooLarge(HeaderError):
    """The length prefix exceeds the 100 MB cap."""


class HeaderLengthBeyondFile(HeaderError):
    """The length prefix points past the end of the file (truncated file, or not safetensors)."""


class HeaderNotUtf8(HeaderError):
    """The header bytes are not valid UTF-8."""


class HeaderStartInvalid(HeaderError):
    """The header JSON (after any leading whitespace) does not start with `{`."""


class HeaderNotJson(HeaderError):
    """The header is not a parseable JSON object (or is nested too deeply)."""


class DuplicateKey(HeaderError):
    """A key appears twice in the header JSON; the format forbids it."""


class MetadataInvalid(HeaderError):
    """`__metadata__` is not a map of strings to strings."""


class TensorEntryInvalid(HeaderError):
    """A tensor entry lacks dtype/shape/data_offsets or has values of the wrong type."""


class UnknownDtype(HeaderError):
    """A tensor's dtype is not one the format defines."""


class TensorSizeMismatch(HeaderError):
    """A tensor's byte range does not match its shape times its dtype size (or that size overflows 64
    bits, or ends inside a byte)."""


class OffsetsNotContiguous(HeaderError):
    """Tensor byte ranges overlap, leave holes, or do not start at 0."""


class DataSizeMismatch(HeaderError):
    """The tensor ranges do not cover the data section exactly up to the end of the file."""


class HeaderDoesNotFit(IgaInvalid):
    """A new header is larger than the room reserved for it (internal to in-place edits)."""


class TensorInfo(namedtuple("TensorInfo", "name dtype shape begin end")):
    """name, dtype, shape (a tuple of ints), begin and end (offsets relative to the start of the data
    section). A named tuple, not a dataclass: headers hold thousands of these, built on every read."""

    __slots__ = ()

    def to_json(self) -> dict:
        return {"dtype": self.dtype, "shape": list(self.shape), "data_offsets": [self.begin, self.end]}


class Header(Record, frozen=True, hidden=("raw", "in_index_layout")):  # a record, not a dataclass: iga_core.records
    # Shared by every `read_header` of the same bytes: treat `metadata` and `tensors` as read-only.
    path: str
    metadata: dict[str, str]
    tensors: dict[str, TensorInfo]  # in data order
    header_len: int  # N: JSON plus its padding
    json_len: int  # N without trailing padding: what the JSON itself needs
    file_size: int
    raw: bytes = b""  # the header JSON as read, for splicing (not in the repr or the comparison)
    #: every tensor entry was spelled dtype, shape, data_offsets and listed in data order: the raw text may
    #: already be the canonical tensor index (`tensor_index_sha256` then hashes it without re-encoding)
    in_index_layout: bool = False

    @property
    def data_start(self) -> int:
        return LENGTH_PREFIX + self.header_len

    @property
    def data_size(self) -> int:
        return self.file_size - self.data_start

    @property
    def spare(self) -> int:
        """Padding bytes available for a larger header written in place."""
        return self.header_len - self.json_len

    @cached_property
    def tensor_index_sha256(self) -> str:
        """sha256 of the canonical tensor index: what `weights_sha256` (the data bytes) does not cover, the
        table that gives those bytes their meaning. The UTF-8 bytes of the compact JSON object
        `{"name":{"dtype":"F16","shape":[320,4],"data_offsets":[0,2560]},...}` with the tensors in data order
        (begin, end, then name), written as `json.dumps(..., ensure_ascii=False, separators=(",", ":"))`
        writes it (RFC 8785's string escaping). Swapping two names, changing F32 to I32 or reshaping changes
        it; stamping (metadata only) does not. For a header written that way already (iga's and the
        safetensors library's writers do), its own tensor text is hashed, without re-encoding."""
        span = self._index_section() if self.in_index_layout else None
        digest = hashlib.sha256()
        if span is not None:
            digest.update(b"{")
            digest.update(memoryview(self.raw)[span[0]:span[1]])
            digest.update(b"}")
        else:
            digest.update(_index_text(list(self.tensors.values())).encode("utf-8"))
        return digest.hexdigest()

    def _index_section(self) -> tuple[int, int] | None:
        """Where in `raw` the tensor entries are, when they are byte for byte the canonical index's (see
        `tensor_index_sha256`), else None: metadata first or absent, nothing but the entries after it, no
        whitespace or escape in them, and no zero-byte tensors (whose order among equal offsets is by name).
        The metadata is found by writing it the way iga and safetensors write it; nothing is copied."""
        raw = self.raw
        end = len(raw.rstrip(b" \t\n\r")) - 1  # the closing brace
        if raw.startswith(_METADATA_PREFIX_BYTES):
            meta = json.dumps(self.metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            start = len(_METADATA_PREFIX_BYTES) + len(meta)
            if raw[len(_METADATA_PREFIX_BYTES):start] != meta:
                return None  # spelled another way (spaces, escapes, null): build the index from the table
            if start == end:
                return start, start  # metadata only
            if raw[start:start + 1] != b",":
                return None
            start += 1
        elif raw.startswith(b'{"') and raw.find(METADATA_KEY.encode(), 0, end) < 0:
            start = 1
        else:
            return (1, 1) if raw[:end + 1] == b"{}" else None
        if raw[end:end + 1] != b"}" or any(raw.find(c, start, end) >= 0 for c in (b" ", b"\t", b"\n", b"\r", b"\\")):
            return None
        values = self.tensors.values()
        if any(map(operator.eq, map(_BEGIN, values), map(_END, values))):
            return None
        return start, end

    @property
    def host_readable(self) -> bool:
        """Whether A1111/Forge's own metadata reader accepts this header: it asserts the JSON starts with
        `{"` (host-api.md §6), so valid safetensors with leading whitespace show no metadata in the WebUI."""
        return self.raw[:2] == b'{"'


def open_for_read(path: str | os.PathLike):
    """Open a regular file for binary reading (a FIFO, device or folder is refused without blocking,
    `untrusted_files.open_regular`); failures become `CheckpointUnreadable`. The caller owns the handle."""
    try:
        return untrusted_files.open_regular(path, what="checkpoint")
    except untrusted_files.FileUnreadable as exc:
        raise CheckpointUnreadable(exc.message, exc.hint) from None


def read_raw_header(path: str | os.PathLike) -> tuple[bytes, int]:
    """Return (header bytes, file size) after the bounds checks, without parsing the JSON."""
    with open_for_read(path) as fh:
        return raw_header_from(fh, os.fspath(path))


def raw_header_from(fh, name: str) -> tuple[bytes, int]:
    """`read_raw_header` on an open binary file (read from its start)."""
    try:
        size = os.fstat(fh.fileno()).st_size
        fh.seek(0)
        prefix = fh.read(LENGTH_PREFIX)
        if len(prefix) < LENGTH_PREFIX:
            raise FileTooSmall(
                f"{name} is {size} bytes, smaller than the 8-byte safetensors length prefix",
                _NOT_SAFETENSORS_HINT,
            )
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_SIZE:
            raise HeaderTooLarge(
                f"{name}: header length {length} exceeds the {MAX_HEADER_SIZE}-byte cap",
                _NOT_SAFETENSORS_HINT + "; .ckpt/.pt files are pickles, use sidecar mode for them",
            )
        if length < 2 or LENGTH_PREFIX + length > size:
            raise HeaderLengthBeyondFile(
                f"{name}: header length {length} does not fit in a {size}-byte file (truncated, or not safetensors)",
                _NOT_SAFETENSORS_HINT,
            )
        raw = fh.read(length)
    except OSError as exc:
        raise CheckpointUnreadable(f"cannot read {name}: {exc}", "check the disk and retry") from exc
    if len(raw) != length:  # file shrank while reading
        raise HeaderLengthBeyondFile(f"{name} ended inside its header", _NOT_SAFETENSORS_HINT)
    return raw, size


def read_header(path: str | os.PathLike) -> Header:
    """Read and validate the header of a safetensors file. Raises a `HeaderError` subclass on any rule break.

    The header bytes are always read (a few KiB to a few hundred: ~0.05 ms); when they, the file size and
    the path are exactly those of a recent successful read, that read's result is returned instead of
    parsing again (validation is a pure function of those three, so every check still holds). The WebUI
    reads the same few headers again and again; any change to the file's header or size is a miss.

    When an interrupted in-place stamp left its journal beside the file, the write is first finished or
    undone (`journal.repair`), unless a stamp holding the file's lock is still at work."""
    if journal.pending(path):
        _repair(path)
    with open_for_read(path) as fh:
        return header_from(fh, os.fspath(path))


def _repair(path: str | os.PathLike) -> None:
    try:
        with locks.held(path, wait_s=0):
            journal.repair(path)
    except IgaIOError:
        pass  # a stamp is at work (its journal is live), or no write access: read what is there


def header_from(fh, name: str) -> Header:
    """`read_header` on an open binary file, so that a caller holding the file (a stamp) validates exactly
    the bytes of the file it then hashes and writes."""
    raw, size = raw_header_from(fh, name)
    key = (name, size)
    with _RECENT_LOCK:
        hit = _RECENT.get(key)
    if hit is not None and hit.raw == raw:
        return hit
    header = parse_header(raw, size, path=name)
    _keep(key, header)
    return header


def remember_written(path: str | os.PathLike, block: bytes, file_size: int, metadata: dict[str, str],
                     original: Header) -> None:
    """After `block` (length prefix + header JSON, encoded by `encode_header` from `metadata` and the
    validated `original`'s tensors) was written in place: keep the header it holds, so the next read of
    the unchanged file skips the parse (it would yield exactly this)."""
    raw = block[LENGTH_PREFIX:]
    name = os.fspath(path)
    header = Header(path=name, metadata=dict(metadata), tensors=original.tensors, header_len=len(raw),
                    json_len=len(raw.rstrip(b" ")), file_size=file_size, raw=raw)  # fmt: skip
    if "tensor_index_sha256" in original.__dict__:  # same tensors: the same index digest
        header.__dict__["tensor_index_sha256"] = original.tensor_index_sha256
    _keep((name, file_size), header)


#: parsed headers kept for `read_header`, bounded in bytes (about what they hold in memory) and in count
RECENT_HEADERS = 8
RECENT_BYTES = 64 << 20
_RECENT: dict[tuple[str, int], Header] = {}
_RECENT_LOCK = allocate_lock()


def _cost(header: Header) -> int:
    """Roughly the memory a kept header holds: its raw bytes, its metadata strings, its tensor table."""
    return len(header.raw) + sum(len(k) + len(v) for k, v in header.metadata.items()) + 200 * len(header.tensors)


def _keep(key: tuple[str, int], header: Header) -> None:
    cost = _cost(header)
    with _RECENT_LOCK:
        _RECENT.pop(key, None)
        if cost > RECENT_BYTES // 4:
            return  # a huge header (100 MB of metadata) is not kept: a reread parses it again
        _RECENT[key] = header  # newest last: the oldest is dropped first
        total = sum(_cost(h) for h in _RECENT.values())
        while len(_RECENT) > RECENT_HEADERS or total > RECENT_BYTES:
            total -= _cost(_RECENT.pop(next(iter(_RECENT))))


def parse_header(raw: bytes, file_size: int, *, path: str = "<bytes>") -> Header:
    """Validate header bytes (without the length prefix) for a file of `file_size` bytes."""
    if raw.lstrip(JSON_WHITESPACE)[:1] != b"{":
        raise HeaderStartInvalid(
            f"{path}: header JSON starts with {raw[:8]!r}, not '{{'", _NOT_SAFETENSORS_HINT
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HeaderNotUtf8(f"{path}: header is not valid UTF-8 at byte {exc.start}", _NOT_SAFETENSORS_HINT) from None
    try:
        pairs = _loads(text)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, int-digit limits and serde's number rules; RecursionError
        # very deep nesting.
        raise HeaderNotJson(f"{path}: header is not valid JSON ({str(exc)[:120]})", _NOT_SAFETENSORS_HINT) from None
    if type(pairs) is not tuple:
        raise HeaderNotJson(f"{path}: header JSON is not an object", _NOT_SAFETENSORS_HINT)
    obj = _unique(pairs)
    if _SURROGATE_ESCAPE.search(text):
        # Python's json accepts a lone "\udXXX" escape; it is not valid Unicode, and serde refuses it.
        try:
            json.dumps(pairs, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise HeaderNotUtf8(f"{path}: header has an unpaired surrogate escape", _NOT_SAFETENSORS_HINT) from None

    metadata = _check_metadata(obj.pop(METADATA_KEY, None), path)
    tensors, all_usual = _check_tensors(obj, path)
    in_order = _contiguous(tensors)
    if not in_order:  # usually the header lists tensors in data order already
        tensors.sort(key=_data_order)
    expected = 0
    for t in tensors:
        if t.begin != expected:
            what = "overlaps the previous tensor" if t.begin < expected else "leaves a hole before it"
            raise OffsetsNotContiguous(
                f"{path}: tensor {t.name!r} starts at {t.begin}, expected {expected} ({what})",
                _NOT_SAFETENSORS_HINT,
            )
        expected = t.end
    data_size = file_size - LENGTH_PREFIX - len(raw)
    if expected != data_size:
        raise DataSizeMismatch(
            f"{path}: tensors cover {expected} bytes but the data section has {data_size}",
            _NOT_SAFETENSORS_HINT,
        )
    return Header(
        path=path,
        metadata=metadata,
        tensors={t.name: t for t in tensors},
        header_len=len(raw),
        json_len=len(raw.rstrip(b" ")),
        file_size=file_size,
        raw=raw,
        in_index_layout=all_usual and in_order,
    )


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")  # Python's json reads NaN / Infinity; serde_json does not


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):
        raise ValueError("number out of range")  # serde_json: 1e400 is an error, not infinity
    return value


def _serde_int(text: str) -> int | float:
    """An integer as serde_json reads it: `-0` is a float (so a shape or an offset written that way is
    refused, as serde refuses it)."""
    return -0.0 if text == "-0" else int(text)  # more than 4300 digits: ValueError, a HeaderNotJson


_INF = float("inf")
# Objects come back as tuples of (key, value) pairs (a C call, unlike a Python hook per object): a duplicate
# key stays visible, and an empty object `()` stays distinct from an empty array `[]`.
_FAST = json.JSONDecoder(object_pairs_hook=tuple, parse_float=_finite_float, parse_constant=_no_constant)
_EXACT = json.JSONDecoder(object_pairs_hook=tuple, parse_float=_finite_float, parse_constant=_no_constant,
                          parse_int=_serde_int)  # fmt: skip
#: the one integer Python reads differently from serde and cannot be told apart once parsed: `-0` (an
#: integer beyond float range is refused after parsing, `_plain`)
_MINUS_ZERO = re.compile(r"-0(?![0-9.eE])")


def _loads(text: str):
    """The header parsed as serde_json parses it. The per-integer hook is only needed when the text holds
    a `-0` (a C substring search finds none in the usual header, which is parsed without a Python call per
    number; a regex over a 100 MB header would cost seconds)."""
    decoder = _EXACT if "-0" in text and _MINUS_ZERO.search(text) else _FAST
    return decoder.decode(text)


_new_tensor_info = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path


def _contiguous(tensors: list[TensorInfo]) -> bool:
    expected = 0
    for t in tensors:
        if t[3] != expected:  # t.begin, by index: this loop runs for every tensor of every read
            return False
        expected = t[4]
    return True


def _data_order(t: TensorInfo) -> tuple[int, int]:
    return t.begin, t.end


def _index_order(t: TensorInfo) -> tuple[int, int, str]:
    return t[3], t[4], t[0]  # begin, end, name (code point order = UTF-8 byte order)


def _index_text(rows: list[TensorInfo]) -> str:
    """The canonical index text (`Header.tensor_index_sha256`) built from the rows (in data order). Only
    tensors of zero bytes can share an offset, so only then is a sort by name needed. Names JSON writes as
    they are (no quote, backslash or unprintable character) are formatted directly, which gives
    `json.dumps`'s exact output faster; any other name goes through `json.dumps`."""
    if any(t[3] == t[4] for t in rows):
        rows = sorted(rows, key=_index_order)
    names = "".join(t[0] for t in rows)
    if '"' in names or "\\" in names or not names.isprintable():
        table = {t.name: {"dtype": t.dtype, "shape": list(t.shape), "data_offsets": [t.begin, t.end]} for t in rows}
        return json.dumps(table, ensure_ascii=False, separators=(",", ":"))
    return "{" + ",".join([f'"{n}":{{"dtype":"{d}","shape":[{",".join(map(str, sh))}],"data_offsets":[{b},{e}]}}'
                           for n, d, sh, b, e in rows]) + "}"


def _unique(pairs: tuple) -> dict:
    """One parsed object (a tuple of pairs) as a dict; a repeated key is a `DuplicateKey`."""
    out = dict(pairs)
    if len(out) != len(pairs):  # the slow search only when there is a duplicate
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKey(f"header has the key {key[:80]!r} twice", _NOT_SAFETENSORS_HINT)
            seen.add(key)
    return out


def _plain(value: object, path: str, depth: int) -> object:
    """A parsed value with every object (tuple of pairs) turned into a dict, refusing duplicate keys and
    nesting deeper than serde_json allows (`MAX_DEPTH`; `depth` is that of `value` itself). Iterative: this
    walk must not recurse as deep as the parser could."""
    root: list = [value]
    stack = [(root, 0, depth)]
    while stack:
        container, key, level = stack.pop()
        item = container[key]
        if type(item) is tuple:
            item = container[key] = _unique(item)
            keys = item
        elif type(item) is list:
            item = container[key] = list(item)
            keys = range(len(item))
        else:
            if type(item) is int and not -U64_MAX <= item <= U64_MAX:
                _float_range(item, path)
            continue
        if level > MAX_DEPTH:
            raise HeaderNotJson(f"{path}: header nests more than {MAX_DEPTH} levels deep", _NOT_SAFETENSORS_HINT)
        stack.extend((item, k, level + 1) for k in keys)
    return root[0]


def _float_range(value: int, path: str) -> None:
    """serde_json keeps an integer outside i64/u64 as a float: beyond float range it refuses the header."""
    try:
        float(value)
    except OverflowError:
        raise HeaderNotJson(f"{path}: header has a number out of range ({len(str(value))} digits)",
                            _NOT_SAFETENSORS_HINT) from None


def _check_metadata(value: object, path: str) -> dict[str, str]:
    if value is None:  # absent, or `null` (serde reads that as no metadata)
        return {}
    value = _plain(value, path, 2)
    if not isinstance(value, dict):
        raise MetadataInvalid(f"{path}: __metadata__ is a {type(value).__name__}, not a map", _NOT_SAFETENSORS_HINT)
    for key, item in value.items():
        if not isinstance(item, str):
            raise MetadataInvalid(
                f"{path}: __metadata__[{key[:80]!r}] is a {type(item).__name__}, not a string",
                "safetensors metadata values must be strings; store JSON documents as JSON strings",
            )
    return dict(value)


def _is_u64(value: object) -> bool:
    return type(value) is int and 0 <= value <= U64_MAX  # `type is`: a bool, or serde's float `-0`, is not


def _check_tensors(entries: dict, path: str) -> tuple[list[TensorInfo], bool]:
    """Every tensor entry checked, in header order, and whether all were the usual entry. The usual entry
    (keys dtype, shape, data_offsets in that order, all valid) is checked inline in one tight loop with no
    per-entry dict or call; anything else goes to `_check_tensor`, which raises the precise error (or
    accepts an unusual but valid entry)."""
    bitsizes = DTYPE_BITS
    limit = U64_MAX
    new = _new_tensor_info
    out: list[TensorInfo] = []
    append = out.append
    usual = True
    for name, entry in entries.items():
        if type(entry) is tuple and len(entry) == 3:
            (k0, dtype), (k1, shape), (k2, offsets) = entry
            if (k0 == "dtype" and k1 == "shape" and k2 == "data_offsets" and type(shape) is list
                    and type(offsets) is list and len(offsets) == 2):  # fmt: skip
                bits = bitsizes.get(dtype) if type(dtype) is str else None
                begin, end = offsets
                if bits is not None and type(begin) is int and type(end) is int and 0 <= begin <= end <= limit:
                    numel = 1
                    for dim in shape:  # the reference's checked fold: overflow anywhere is an error
                        if type(dim) is not int or not 0 <= dim <= limit:
                            break
                        numel *= dim
                        if numel > limit:
                            break
                    else:
                        nbits = numel * bits
                        if nbits <= limit and not nbits & 7 and end - begin == nbits >> 3:
                            append(new(TensorInfo, (name, dtype, tuple(shape), begin, end)))
                            continue
        append(_check_tensor(name, _plain(entry, path, 2), path))
        usual = False
    return out, usual


_ENTRY_FIELDS = ("dtype", "shape", "data_offsets")


def _check_tensor(name: str, entry: object, path: str) -> TensorInfo:
    """One tensor entry, any spelling serde accepts: an object with those three fields in any order (other
    fields ignored), or a positional array of exactly three (serde reads a struct from a sequence)."""
    if type(entry) is list and len(entry) == 3:
        dtype, shape, offsets = entry
    elif type(entry) is dict and all(k in entry for k in _ENTRY_FIELDS):
        dtype, shape, offsets = (entry[k] for k in _ENTRY_FIELDS)
    else:
        raise TensorEntryInvalid(
            f"{path}: tensor {name[:80]!r} must be an object with dtype, shape and data_offsets",
            _NOT_SAFETENSORS_HINT,
        )
    bits = DTYPE_BITS.get(dtype) if type(dtype) is str else None
    if bits is None:
        raise UnknownDtype(f"{path}: tensor {name[:80]!r} has unknown dtype {str(dtype)[:20]!r}",
                           f"known dtypes: {', '.join(DTYPE_BITS)}")  # fmt: skip
    if type(shape) is not list or not all(_is_u64(d) for d in shape):
        raise TensorEntryInvalid(f"{path}: tensor {name[:80]!r}: shape must be a list of non-negative 64-bit "
                                 "integers", _NOT_SAFETENSORS_HINT)  # fmt: skip
    if type(offsets) is not list or len(offsets) != 2 or not (_is_u64(offsets[0]) and _is_u64(offsets[1])):
        raise TensorEntryInvalid(f"{path}: tensor {name[:80]!r}: data_offsets must be [begin, end] integers",
                                 _NOT_SAFETENSORS_HINT)  # fmt: skip
    numel = 1
    for dim in shape:
        numel *= dim
        if numel > U64_MAX:
            raise TensorSizeMismatch(f"{path}: tensor {name[:80]!r}: the element count of shape "
                                     f"{str(shape)[:80]} overflows 64 bits", _NOT_SAFETENSORS_HINT)  # fmt: skip
    nbits = numel * bits
    if nbits > U64_MAX or nbits % 8:
        what = "overflows 64 bits" if nbits > U64_MAX else "does not end on a byte boundary"
        raise TensorSizeMismatch(f"{path}: tensor {name[:80]!r}: {numel} x {dtype} {what}", _NOT_SAFETENSORS_HINT)
    begin, end = offsets
    if end < begin or end - begin != nbits // 8:
        raise TensorSizeMismatch(
            f"{path}: tensor {name[:80]!r}: byte range [{begin}, {end}] does not hold {numel} x {dtype}",
            _NOT_SAFETENSORS_HINT,
        )
    return _new_tensor_info(TensorInfo, (name, dtype, tuple(shape), begin, end))


# ---- writing ----


def encode_header(
    metadata: dict[str, str],
    tensors: dict[str, TensorInfo],
    *,
    spare: int = 0,
    exact_len: int | None = None,
    original: Header | None = None,
    page_offset: int | None = None,
) -> bytes:
    """Return the length prefix plus header JSON for these tensors.

    The JSON is compact and starts with `{"` (A1111/Forge assert that). It is padded with spaces to a
    multiple of 8 after reserving `spare` extra bytes, or to exactly `exact_len` bytes when given (to
    overwrite an existing header in place; raises `HeaderDoesNotFit` when it is too small). With
    `original` (the header being replaced, same tensors), only the metadata part of its JSON is replaced
    and the tensor entries are kept as they were, so encoding no longer re-serialises every tensor.
    With `page_offset`, more padding is added (when a multiple of 8 allows it) so that the data section
    starts at that offset within a 4 KiB page: a kernel copy between files whose data sections share the
    same page offset runs about twice as fast.
    """
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise MetadataInvalid(f"metadata {key!r} must map a string to a string", "convert the value with json.dumps")
    body = _splice_metadata(original, metadata) if original is not None else None
    if body is None:
        doc: dict[str, object] = {}
        if metadata or not tensors:  # `{}` alone would not start with `{"`
            doc[METADATA_KEY] = metadata
        for t in sorted(tensors.values(), key=_data_order):
            doc[t.name] = t.to_json()
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if exact_len is not None:
        if len(body) > exact_len:
            raise HeaderDoesNotFit(
                f"new header needs {len(body)} bytes, {exact_len} are available", "rewrite the file instead"
            )
        target = exact_len
    else:
        target = len(body) + spare
        target += -target % 8
        if page_offset is not None and (extra := (page_offset - LENGTH_PREFIX - target) % PAGE) % 8 == 0:
            target += extra
    if target > MAX_HEADER_SIZE:
        raise HeaderTooLarge(f"new header would be {target} bytes, over the {MAX_HEADER_SIZE}-byte cap",
                             "store less metadata")  # fmt: skip
    return struct.pack("<Q", target) + body + b" " * (target - len(body))


_METADATA_PREFIX = '{"' + METADATA_KEY + '":'


def _splice_metadata(original: Header, metadata: dict[str, str]) -> bytes | None:
    """The original header JSON with its `__metadata__` replaced, or None when its layout is unusual
    (then the caller re-encodes everything). The original was validated when it was read, so the tensor
    part needs no new checks."""
    text = original.raw.decode("utf-8").rstrip(" ")
    new = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
    try:
        if text.startswith(_METADATA_PREFIX):  # the usual layout: metadata first
            _, end = _DECODER.raw_decode(text, len(_METADATA_PREFIX))
            rest = text[end:]
        elif text.startswith('{"') and not original.metadata and METADATA_KEY not in text and "\\u" not in text:
            # no metadata yet (and no escaped key that could spell "__metadata__")
            rest = "," + text[1:] if original.tensors else "}"
        else:
            return None
    except ValueError:
        return None
    if not rest.startswith((",", "}")):
        return None
    return (_METADATA_PREFIX + new + rest).encode("utf-8")


_DECODER = json.JSONDecoder()
_METADATA_PREFIX_BYTES = _METADATA_PREFIX.encode("ascii")
_BEGIN, _END = operator.itemgetter(3), operator.itemgetter(4)


def is_safetensors_path(path: str | os.PathLike) -> bool:
    """True for the suffixes that carry a safetensors header (`.safetensors`, `.sft`)."""
    return Path(path).suffix.lower() in {".safetensors", ".sft"}
