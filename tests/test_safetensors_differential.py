"""The header reader accepts exactly what the official `safetensors` reader accepts, minus what the format
forbids and serde lets through (a duplicate key), plus nothing.

Two parts: the format's own test vectors (safetensors/src/tensor.rs and bindings/python/tests, 0.8, plus
the edge cases its serde_json grammar and checked arithmetic decide), each with the verdict the format's
tests give it; and a differential run over thousands of generated valid files and mutations of them,
where our verdict must equal `safe_open`'s on every file. Bounded for CI: a few seconds.
"""

from __future__ import annotations

import json
import random
import re
import struct
import tempfile
from pathlib import Path

import pytest
import safetensors
from safetensors import safe_open

from iga_core.checkpoint import safetensors_io as sio

U64 = 2**64 - 1


def _file(tmp_path: Path, blob: bytes) -> Path:
    path = tmp_path / "v.safetensors"
    path.write_bytes(blob)
    return path


def _framed(header: str | bytes, data: bytes = b"") -> bytes:
    raw = header.encode("utf-8", "surrogatepass") if isinstance(header, str) else header
    return struct.pack("<Q", len(raw)) + raw + data


def theirs(path: Path):
    """The official reader's verdict: (metadata, {name: (dtype, shape)}) or None when it refuses the file."""
    try:
        with safe_open(path, framework="numpy") as f:
            tensors = {}
            for name in f.keys():  # noqa: SIM118 -- a safe_open handle is not a dict
                view = f.get_slice(name)
                tensors[name] = (view.get_dtype(), list(view.get_shape()))
            return f.metadata() or {}, tensors
    except Exception:  # any refusal: SafetensorError, OverflowError, ...
        return None


def _theirs_read_dtype(dtype: str) -> bool:
    """Whether the installed reader knows `dtype`: it reads a valid 8-element tensor of it."""
    bits = sio.DTYPE_BITS[dtype]
    with tempfile.TemporaryDirectory() as tmp:
        path = _file(Path(tmp), _framed(json.dumps({"w": {"dtype": dtype, "shape": [8], "data_offsets": [0, bits]}}),
                                        b"\x00" * bits))
        return theirs(path) is not None


#: the format is safetensors 0.8's; an older installed reader (the forks pin 0.5.2, 0.5.3, 0.7.0) predates some of
#: its dtypes (F4, F6, E8M0, FNUZ, C64), and refusing those is that version being older, not a disagreement
THEIR_DTYPES = [d for d in sio.DTYPE_BITS if _theirs_read_dtype(d)]
_OLD_READER = tuple(int(x) for x in safetensors.__version__.split(".")[:2]) < (0, 8)


def ours(path: Path):
    try:
        header = sio.read_header(path)
    except sio.HeaderError as exc:
        assert exc.message and exc.hint
        return exc
    return header.metadata, {t.name: (t.dtype, list(t.shape)) for t in header.tensors.values()}


def _has_duplicate_key(blob: bytes) -> bool:
    (n,) = struct.unpack("<Q", blob[:8])
    found = []

    def hook(pairs):
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            found.append(True)
        return dict(pairs)

    try:
        json.loads(blob[8:8 + n].decode("utf-8"), object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return False
    return bool(found)


def agree(path: Path) -> bool:
    """Assert both readers give the same verdict (and the same content when they accept); True if accepted."""
    official, mine = theirs(path), ours(path)
    if isinstance(mine, sio.HeaderError):
        if official is not None:  # the one allowed difference: the format forbids duplicate keys, serde keeps the last
            assert isinstance(mine, sio.DuplicateKey) and _has_duplicate_key(path.read_bytes()), (
                f"refused a file safetensors reads: {mine!r} for {path.read_bytes()[:300]!r}")
        return False
    assert official is not None, f"accepted a file safetensors refuses: {path.read_bytes()[:300]!r}"
    assert mine == official
    return True


# ---------------------------------------------------------------------------------------- test vectors

_I32_2x2 = b'{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}'
VECTORS = {
    # safetensors/src/tensor.rs tests (0.8)
    "rust-deserialization": (b"<\x00\x00\x00\x00\x00\x00\x00" + _I32_2x2 + b"\x00" * 16, True),
    "rust-empty-shapes": (b"8\x00\x00\x00\x00\x00\x00\x00" + b'{"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}'
                          + b"\x00" * 4, True),
    "rust-zero-sized": (b"<\x00\x00\x00\x00\x00\x00\x00" + b'{"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}}',
                        True),
    "rust-whitespace-trailing": (b"\x06\x00\x00\x00\x00\x00\x00\x00{}\x0d\x20\x09\x0a", True),
    "rust-whitespace-leading": (b"\x06\x00\x00\x00\x00\x00\x00\x00\x09\x0a{}\x0d\x20", True),
    "rust-empty": (bytes([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]), True),
    "rust-empty-metadata": (_framed(b'{"__metadata__":{"framework":"pt"}}     '), True),
    "rust-fp4": (_framed(b'{"attn.0":{"dtype":"F4","shape":[1,2],"data_offsets":[0,1]}}    ', b"\x00"), True),
    "rust-invalid-info": (b"<\x00\x00\x00\x00\x00\x00\x00" + b'{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}}',
                          False),
    "rust-validation-overflow-shape": (b"O\x00\x00\x00\x00\x00\x00\x00" + b'{"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}'
                                       + b"\x00" * 16, False),
    "rust-validation-overflow-bits": (b"N\x00\x00\x00\x00\x00\x00\x00" + b'{"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}}'
                                      + b"\x00" * 16, False),
    "rust-incomplete-buffer-extra": (b"<\x00\x00\x00\x00\x00\x00\x00" + _I32_2x2 + b"\x00" * 16 + b"extra_bogus_data_for_polyglot_file",
                                     False),
    "rust-incomplete-buffer-missing": (b"<\x00\x00\x00\x00\x00\x00\x00" + _I32_2x2 + b"\x00" * 14, False),
    "rust-header-too-large": (b"<\x00\x00\x00\x00\xff\xff\xff" + _I32_2x2 + b"\x00" * 16, False),
    "rust-header-too-small": (b"", False),
    "rust-invalid-header-length": (b"<\x00\x00\x00\x00\x00\x00\x00", False),
    "rust-non-utf8": (b"\x01\x00\x00\x00\x00\x00\x00\x00\xff", False),
    "rust-not-json": (b"\x01\x00\x00\x00\x00\x00\x00\x00{", False),
    "rust-json-attack": (_framed(json.dumps({f"weight_{i}": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
                                             for i in range(10)}), b"\x00" * 16), False),
    # bindings/python/tests/test_simple.py
    "py-serialization": (b'@\x00\x00\x00\x00\x00\x00\x00' + _I32_2x2 + b"    " + b"\x00" * 16, True),
    "py-deserialization-metadata": (b'f\x00\x00\x00\x00\x00\x00\x00{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32",'
                                    b'"shape":[2,2],"data_offsets":[0,16]}}' + b"       " + b"\x00" * 16, True),
    # dtypes of safetensors 0.8 (F4 and F6 pack below a byte: the element count must end on a byte)
    **{f"dtype-{d}": (_framed(json.dumps({"w": {"dtype": d, "shape": [4], "data_offsets": [0, bits // 2]}}),
                              b"\x00" * (bits // 2)), True) for d, bits in sio.DTYPE_BITS.items()},
    "dtype-F4-odd": (_framed('{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}', b"\x00\x00"), False),
    "dtype-F6-misaligned": (_framed('{"w":{"dtype":"F6_E3M2","shape":[3],"data_offsets":[0,2]}}', b"\x00\x00"), False),
    "dtype-lowercase": (_framed('{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', b"\x00" * 4), False),
    "dtype-F8_E4M3FN": (_framed('{"w":{"dtype":"F8_E4M3FN","shape":[1],"data_offsets":[0,1]}}', b"\x00"), False),
    # serde_json's number model: -0 and out-of-range integers are floats, NaN/Infinity are not JSON
    "offset-minus-zero": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[-0,4]}}', b"\x00" * 4), False),
    "dim-minus-zero": (_framed('{"w":{"dtype":"F32","shape":[-0],"data_offsets":[0,0]}}'), False),
    "extra-minus-zero": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":-0}}', b"\x00" * 4), True),
    "offset-float": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0]}}', b"\x00" * 4), False),
    "offset-exponent": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}', b"\x00" * 4), False),
    "dim-2^64": (_framed('{"w":{"dtype":"F32","shape":[18446744073709551616,0],"data_offsets":[0,0]}}'), False),
    "dim-2^64-1-times-zero": (_framed('{"w":{"dtype":"F32","shape":[18446744073709551615,0],"data_offsets":[0,0]}}'), True),
    "overflow-before-zero": (_framed('{"w":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}'), False),
    "zero-before-overflow": (_framed('{"w":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}'), True),
    "bits-overflow": (_framed('{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}'), False),
    "u8-bits-overflow": (_framed('{"w":{"dtype":"U8","shape":[18446744073709551615],'
                                 '"data_offsets":[0,18446744073709551615]}}'), False),
    "extra-nan": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":NaN}}', b"\x00" * 4), False),
    "extra-infinity": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":-Infinity}}', b"\x00" * 4), False),
    "extra-1e400": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1e400}}', b"\x00" * 4), False),
    "extra-1e300": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1e300}}', b"\x00" * 4), True),
    "extra-float-max": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1.7976931348623157e308}}',
                                b"\x00" * 4), True),
    "extra-above-float-max": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1.7976931348623159e308}}',
                                      b"\x00" * 4), False),
    "extra-300-digits": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + "1" * 300 + "}}",
                                 b"\x00" * 4), True),
    "extra-400-digits": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + "1" * 400 + "}}",
                                 b"\x00" * 4), False),
    "extra-5000-digits": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + "1" * 5000 + "}}",
                                  b"\x00" * 4), False),
    "extra-tiny": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":-1e-400}}', b"\x00" * 4), True),
    "leading-zero": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,04]}}', b"\x00" * 4), False),
    # serde's grammar: whitespace is space/tab/CR/LF only, no BOM, no raw control characters, no lone surrogates
    "formfeed-padding": (_framed(b"{} \x0c"), False),
    "nul-padding": (_framed(b"{}\x00"), False),
    "bom": (_framed("\ufeff{}"), False),
    "raw-tab-in-string": (_framed('{"__metadata__":{"a":"x\ty"}}'), False),
    "escaped-nul": (_framed('{"__metadata__":{"a":"\\u0000"}}'), True),
    "lone-high-surrogate": (_framed('{"__metadata__":{"a":"\\ud800"}}'), False),
    "lone-low-surrogate": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":"\\udc00"}}', b"\x00" * 4),
                           False),
    "surrogate-pair": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":"\\ud800\\udc00"}}', b"\x00" * 4),
                       True),
    # serde_json's recursion limit: 127 levels of arrays/objects in all
    "depth-127": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + "[" * 125 + "]" * 125 + "}}",
                          b"\x00" * 4), True),
    "depth-128": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + "[" * 126 + "]" * 126 + "}}",
                          b"\x00" * 4), False),
    "depth-128-objects": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":' + '{"a":' * 126 + "1"
                                  + "}" * 126 + "}}", b"\x00" * 4), False),
    # serde's struct reading: any field order, unknown fields ignored, a positional array of exactly three
    "field-order": (_framed('{"w":{"shape":[1],"data_offsets":[0,4],"dtype":"F32"}}', b"\x00" * 4), True),
    "positional-entry": (_framed('{"w":["F32",[1],[0,4]],"__metadata__":{"a":"b"}}', b"\x00" * 4), True),
    "positional-entry-short": (_framed('{"w":["F32",[1]]}', b"\x00" * 4), False),
    "positional-entry-long": (_framed('{"w":["F32",[1],[0,4],5]}', b"\x00" * 4), False),
    "offsets-three": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,5]}}', b"\x00" * 4), False),
    "offsets-object": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":{"0":0,"1":4}}}', b"\x00" * 4), False),
    "shape-null": (_framed('{"w":{"dtype":"F32","shape":null,"data_offsets":[0,4]}}', b"\x00" * 4), False),
    "entry-null": (_framed('{"w":null}'), False),
    "metadata-null": (_framed('{"__metadata__":null}'), True),
    "metadata-last": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"__metadata__":{"q":"r"}}',
                              b"\x00" * 4), True),
    "metadata-array": (_framed('{"__metadata__":[]}'), False),
    "metadata-null-value": (_framed('{"__metadata__":{"a":null}}'), False),
    "metadata-int-value": (_framed('{"__metadata__":{"a":1}}'), False),
    "unordered-offsets": (_framed('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},'
                                  '"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\x00" * 8), True),
    "two-empty-at-zero": (_framed('{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},'
                                  '"b":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'), True),
    "top-level-array": (_framed("[]"), False),
    "duplicate-field": (_framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F32"}}', b"\x00" * 4),
                        False),
    "duplicate-metadata-key": (_framed('{"__metadata__":{"a":"1"},"__metadata__":{"b":"2"}}'), False),
}  # fmt: skip
#: accepted by serde (the last value wins), refused by the format's rule "duplicate keys are disallowed"
FORMAT_FORBIDS = {
    "duplicate-tensor": _framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                '"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\x00" * 4),
    "duplicate-in-metadata": _framed('{"__metadata__":{"a":"1","a":"2"}}'),
    "duplicate-in-extra": _framed('{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":{"a":1,"a":2}}}',
                                  b"\x00" * 4),
}


_DTYPE_FIELD = re.compile(rb'"dtype":\s*"([A-Za-z0-9_]+)"')


def _predates(blob: bytes) -> list[str]:
    """The format's dtypes `blob` names that the installed reader is too old to know."""
    named = {m.group(1).decode() for m in _DTYPE_FIELD.finditer(blob)}
    return sorted(d for d in named if d in sio.DTYPE_BITS and d not in THEIR_DTYPES)


@pytest.mark.parametrize("name", VECTORS)
def test_format_test_vectors(tmp_path, name):
    blob, valid = VECTORS[name]
    if _predates(blob):
        pytest.skip(f"safetensors {safetensors.__version__} predates {_predates(blob)}; the venvs on 0.8 check them")
    path = _file(tmp_path, blob)
    assert (theirs(path) is not None) is valid, "the installed safetensors disagrees with the format's tests"
    assert agree(path) is valid


def test_a_reader_of_the_format_version_knows_every_dtype_we_accept():
    """Guards the narrowing above: on safetensors 0.8 (forge, a1111) the differential covers every dtype."""
    if _OLD_READER:
        pytest.skip(f"safetensors {safetensors.__version__} predates the 0.8 format")
    assert list(sio.DTYPE_BITS) == THEIR_DTYPES


@pytest.mark.parametrize("name", FORMAT_FORBIDS)
def test_duplicate_keys_are_refused_though_serde_reads_them(tmp_path, name):
    path = _file(tmp_path, FORMAT_FORBIDS[name])
    assert theirs(path) is not None
    with pytest.raises(sio.DuplicateKey):
        sio.read_header(path)


def test_a_header_with_leading_whitespace_is_read_but_flagged_for_the_webui(tmp_path):
    path = _file(tmp_path, VECTORS["rust-whitespace-leading"][0])
    header = sio.read_header(path)
    assert header.tensors == {} and not header.host_readable
    assert sio.read_header(_file(tmp_path, VECTORS["rust-deserialization"][0])).host_readable


# ------------------------------------------------------------------------------- generated differential

_NAMES = ["w", "model.diffusion_model.out.0.weight", "é", "✓ tensor", "a\"b", "\\", "", "日本", "x\u2028y", "\U0001f600"]
_VALUES = ["", "x", "é", "{\"a\": 1}", "line\nbreak", "\u202e", "\x00", "\U0001f600"]


def _shape(rng: random.Random, bits: int) -> list[int]:
    shape = [rng.choice([0, 1, 1, 2, 3, 4, 5, 8]) for _ in range(rng.randint(0, 4))]
    numel = 1
    for d in shape:
        numel *= d
    while numel * bits % 8:
        shape.append(2)
        numel *= 2
    return shape


def _dump(value, rng: random.Random) -> str:
    return json.dumps(value, ensure_ascii=rng.random() < 0.3)


def _entry(rng: random.Random, dtype: str, shape: list[int], begin: int, end: int) -> str:
    fields = [("dtype", _dump(dtype, rng)), ("shape", _dump(shape, rng)), ("data_offsets", _dump([begin, end], rng))]
    if rng.random() < 0.1:
        return "[" + ",".join(v for _, v in fields) + "]"
    if rng.random() < 0.25:
        rng.shuffle(fields)
    if rng.random() < 0.2:
        extra = rng.choice([0, -1, 2.5, 1e300, "s", None, True, [1, [2, {}]], {"k": "v"}, 2**70])
        fields.insert(rng.randrange(len(fields) + 1), ("x", _dump(extra, rng)))
    sep = rng.choice([",", ", ", " ,\n"])
    return "{" + sep.join(f'"{k}":{v}' for k, v in fields) + "}"


def generate(rng: random.Random) -> bytes:
    parts: list[str] = []
    names = rng.sample(_NAMES, rng.randint(0, 5))
    offset = 0
    for name in names:
        dtype = rng.choice(THEIR_DTYPES)
        shape = _shape(rng, sio.DTYPE_BITS[dtype])
        numel = 1
        for d in shape:
            numel *= d
        size = numel * sio.DTYPE_BITS[dtype] // 8
        parts.append(f"{_dump(name, rng)}:{_entry(rng, dtype, shape, offset, offset + size)}")
        offset += size
    rng.shuffle(parts)  # the reader sorts by offsets
    meta = rng.random()
    if meta < 0.7:
        metadata = {rng.choice(["a", "iga", "é", "modelspec.title", ""]): rng.choice(_VALUES) for _ in range(rng.randint(0, 3))}
        parts.insert(rng.randrange(len(parts) + 1), f'"__metadata__":{_dump(metadata, rng)}')
    elif meta < 0.75:
        parts.insert(0, '"__metadata__":null')
    ws = " \t\n\r"
    text = ("".join(rng.choice(ws) for _ in range(rng.choice([0, 0, 0, 1, 3])))
            + "{" + rng.choice([",", ", "]).join(parts) + "}"
            + "".join(rng.choice(ws) for _ in range(rng.randint(0, 9))))  # fmt: skip
    return _framed(text, bytes(rng.getrandbits(8) for _ in range(offset)))


_NUMBER = re.compile(rb"(?<![\w.\"])-?\d+(?![\w.\"])")
_REPLACEMENTS = [b"-0", b"-1", b"0", b"4", b"18446744073709551615", b"18446744073709551616", b"9223372036854775808",
                 b"1e400", b"4.0", b"1e2", b"NaN", b"Infinity", b"-Infinity", b"9" * 309, b"1" * 308, b"01", b"2.5",
                 b"4294967296", b"null", b'"4"', b"true", b"[]", b"{}"]  # fmt: skip
_SNIPPETS = [b',"x":' + b"[" * 126 + b"]" * 126, b',"x":' + b"[" * 124 + b"]" * 124, b',"x":NaN', b',"x":1e999',
             b',"x":-0', b',"dtype":"F32"', b',"x":"\\udc00"', b',"x":"\t"', b',"x":' + b"7" * 400]  # fmt: skip


def mutate(rng: random.Random, blob: bytes) -> bytes:
    (n,) = struct.unpack("<Q", blob[:8])
    header, data = bytearray(blob[8:8 + n]), blob[8 + n:]
    op = rng.randrange(10)
    if op <= 2:  # one number token becomes something serde reads differently from Python
        spots = list(_NUMBER.finditer(bytes(header)))
        if spots:
            m = rng.choice(spots)
            header[m.start():m.end()] = rng.choice(_REPLACEMENTS)
    elif op == 3:  # a snippet inside an object (a tensor entry or the metadata)
        spots = [i for i, c in enumerate(header) if c == ord("}")]
        if spots:
            at = rng.choice(spots)
            header[at:at] = rng.choice(_SNIPPETS)
    elif op == 4:  # a dtype swapped, renamed or mangled
        spots = list(re.finditer(rb'"dtype":\s*"([A-Z0-9_]+)"', bytes(header)))
        if spots:
            m = rng.choice(spots)
            header[m.start(1):m.end(1)] = rng.choice([*(d.encode() for d in THEIR_DTYPES), b"f32", b"F8_E4M3FN", b"Q4"])
    elif op == 5:  # padding and framing bytes
        header[rng.choice([0, len(header)]):][:0] = rng.choice([b" ", b"\t", b"\n", b"\x0c", b"\x00", b"\xef\xbb\xbf"])
        if rng.random() < 0.5:
            header[:0] = rng.choice([b" ", b"\r\n", b"\x0c"])
    elif op == 6:  # data section one byte short or long
        data = data[:-1] if data and rng.random() < 0.5 else data + b"\x00"
    elif op == 7:  # a random byte of the header
        if header:
            header[rng.randrange(len(header))] = rng.randrange(256)
    elif op == 8:  # a duplicated tensor or metadata pair
        m = re.search(rb'("[^"\\]*"):(\{[^{}]*\}|\[[^\[\]]*\])', bytes(header))
        if m:
            header[m.end():m.end()] = b"," + m.group(0)
    else:  # the length prefix off by a little
        return struct.pack("<Q", max(0, n + rng.randint(-3, 3))) + bytes(header) + data
    return struct.pack("<Q", len(header)) + bytes(header) + data


def test_our_reader_agrees_with_safetensors_on_generated_and_mutated_files(tmp_path):
    rng = random.Random(20260514)
    path = tmp_path / "d.safetensors"
    accepted = refused = 0
    for i in range(3000):
        blob = generate(rng)
        if i % 3:
            blob = mutate(rng, blob)
        path.write_bytes(blob)
        if agree(path):
            accepted += 1
        else:
            refused += 1
    assert accepted > 1000 and refused > 500  # both verdicts are exercised
