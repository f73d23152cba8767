"""The full audit record inside the image file, beside the host's infotext and without touching it.

Where it goes:

| format | host infotext (written by the WebUI) | IGA audit record (written here) |
|---|---|---|
| PNG | text chunk `parameters` | text chunk `iga_metadata` (tEXt, or iTXt when not Latin-1), before the first IDAT |
| JPEG, WebP | EXIF `UserComment` | EXIF `MakerNote`, starting with `IGA-AUDIT\\0`, in the same EXIF block |

Why MakerNote for JPEG and WebP: the hosts write their EXIF with `piexif.insert`, which replaces the whole
EXIF block, and read only `UserComment` back (A1111 v1.10.1 images.py:599-606, 777-796), so the record
must live in the same block and be merged in after the host has saved. MakerNote is the EXIF field meant
for the writing software's own data (type UNDEFINED: raw UTF-8 bytes, no UTF-16 doubling, which matters
because a JPEG EXIF block holds at most 64 KiB), it is not shown or edited as a user comment by file
managers (unlike XPComment or ImageDescription, which some readers also take for a prompt), and other SD
tools already keep their own marker there (Fooocus writes its metadata scheme to MakerNote). The
`IGA-AUDIT\\0` prefix keeps us from reading a camera's or another tool's maker note as ours. XMP would be
the other standard place, but piexif cannot write it and Pillow 9.5 (A1111's pin) cannot either.

Images are untrusted: PNG chunks, JPEG markers and WebP chunks are walked by their length fields and
pixels are never decoded (so a huge declared image size costs nothing), text chunks and EXIF blocks are
size-capped before they are read or decompressed, and bad data raises `ImageMetaInvalid` (never a
traceback). Files are rewritten atomically (temp file in the same folder, fsync, os.replace).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from iga_core import untrusted_files
from iga_core.audit.record import (
    MAX_RECORD_BYTES,
    AuditRecord,
    AuditRecordInvalid,
    dump_record,
    parse_record,
    validate_record,
)
from iga_core.checkpoint.atomic import AtomicWriteFailed, write_atomic
from iga_core.errors import ExitCode, IgaInvalid, IgaIOError

IMAGE_KEY = "iga_metadata"
HOST_KEY = "parameters"
MAKERNOTE_PREFIX = b"IGA-AUDIT\x00"
MAKERNOTE_TAG = 37500  # piexif.ExifIFD.MakerNote
USERCOMMENT_TAG = 37510  # piexif.ExifIFD.UserComment
JPEG_EXIF_LIMIT = 65533  # an APP1 segment's length field counts itself and holds at most 0xFFFF
MAX_INFOTEXT_BYTES = 1024 * 1024  # the host's own infotext: a long prompt is a few KiB
MAX_EXIF_BYTES = 1024 * 1024
MAX_IMAGE_BYTES = 256 << 20  # an image rewritten to add the record is read whole; a WebUI PNG is a few MiB
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
#: other tools' PNG text chunks the foreign readers need (iga_core.audit.foreign), each with its source:
#: ComfyUI nodes.py SaveImage ("prompt": the API graph, "workflow": the UI graph); InvokeAI
#: image_files_disk.py:150-160 ("invokeai_metadata", "invokeai_graph", "invokeai_workflow") and 2.x
#: ("sd-metadata", "Dream"); NovelAI ("Software", "Comment", "Description", "Source", "Title", read by A1111
#: images.py:806-815); Fooocus meta_parser.py ("fooocus_scheme"). A graph can be large: each is capped.
FOREIGN_KEYS = ("prompt", "workflow", "invokeai_metadata", "invokeai_graph", "invokeai_workflow", "sd-metadata",
                "Dream", "Software", "Comment", "Description", "Source", "Title", "fooocus_scheme")
MAX_FOREIGN_BYTES = 8 * 1024 * 1024
SOFTWARE_TAG = 305  # piexif.ImageIFD.Software (Fooocus writes "Fooocus v2.5.5" there, meta_parser.py get_exif)


class ImageMetaInvalid(IgaInvalid):
    """An image's metadata is damaged, hostile or too large to read."""


class ImageMetaTooLarge(ImageMetaInvalid):
    """The record does not fit where it must go (a JPEG's EXIF block holds at most 64 KiB)."""


class ImageMetaIOError(IgaIOError):
    """The image file could not be read or written."""


class UnsupportedImage(ImageMetaIOError):
    """Not a PNG, JPEG or WebP file: it was read, and is of the wrong kind (a problem found, not an I/O failure)."""

    exit_code = ExitCode.PROBLEM


@dataclass(frozen=True)
class ImageMeta:
    """What an image carries: its format, the host infotext and the IGA record.

    `record_error` is set (and `record` None) when the image has IGA data that failed validation, so a
    caller can still show the infotext."""

    format: str
    infotext: str | None
    record: dict | None
    record_error: ImageMetaInvalid | AuditRecordInvalid | None = None
    #: other tools' metadata by key (FOREIGN_KEYS for PNG; "exif:Software", "exif:MakerNote" for JPEG/WebP)
    foreign: dict = field(default_factory=dict, compare=False)
    #: (width, height) from the file's header (PNG IHDR, JPEG SOF, WebP VP8/VP8L/VP8X), None when unknown
    size: tuple[int, int] | None = None
    #: what could not be read without failing the whole read (an oversized foreign chunk)
    notes: tuple[str, ...] = ()


# ----------------------------------------------------------------------------------------- file helpers


def sniff_format(head: bytes) -> str | None:
    if head.startswith(PNG_SIGNATURE):
        return "PNG"
    if head.startswith(b"\xff\xd8"):
        return "JPEG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _read_file(path: Path) -> bytes:
    try:
        return untrusted_files.read_bytes(path, MAX_IMAGE_BYTES, what="image")
    except untrusted_files.FileUnreadable as exc:
        raise ImageMetaIOError(exc.message, exc.hint) from None
    except untrusted_files.FileInvalid as exc:
        raise ImageMetaInvalid(exc.message, exc.hint) from None


def _open_file(path: Path) -> tuple[BinaryIO, int]:
    try:
        fh = untrusted_files.open_regular(path, what="image")
    except untrusted_files.FileUnreadable as exc:
        raise ImageMetaIOError(exc.message, exc.hint) from None
    return fh, os.fstat(fh.fileno()).st_size


# ----------------------------------------------------------------------------------------------- PNG


def _png_chunks(fh: BinaryIO, size: int):
    """Yield (type, offset of the length field, data length) for each chunk, reading only headers."""
    if fh.read(8) != PNG_SIGNATURE:
        raise ImageMetaInvalid("not a PNG file (bad signature)", "pass a PNG, JPEG or WebP image")
    pos = 8
    while pos + 12 <= size:
        fh.seek(pos)
        head = fh.read(8)
        length, kind = struct.unpack(">I4s", head)
        if pos + 12 + length > size:
            raise ImageMetaInvalid(
                f"PNG chunk {kind!r} at byte {pos} runs past the end of the file",
                "the file is truncated or damaged; re-save it from the original",
            )
        yield kind, pos, length
        if kind == b"IEND":
            return
        pos += 12 + length


def _decompress(data: bytes, limit: int, what: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ImageMetaInvalid(f"{what} is not valid compressed data: {exc}", "the image is damaged") from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise ImageMetaInvalid(
            f"{what} decompresses to more than {limit} bytes",
            "refusing it to stay safe from decompression bombs; this was not written by iga or the WebUI",
        )
    return out


def _png_text(kind: bytes, data: bytes, limit: int) -> tuple[str, str]:
    """Decode one tEXt / zTXt / iTXt chunk into (keyword, text)."""
    keyword, sep, rest = data.partition(b"\x00")
    if not sep:
        raise ImageMetaInvalid("PNG text chunk has no keyword separator", "the image is damaged")
    key = keyword.decode("latin-1")
    what = f"PNG text chunk {key!r}"
    if kind == b"tEXt":
        return key, rest.decode("latin-1")
    if kind == b"zTXt":
        return key, _decompress(rest[1:], limit, what).decode("latin-1")
    if len(rest) < 2:
        raise ImageMetaInvalid(f"{what} (iTXt) is truncated", "the image is damaged")
    compressed, rest = rest[0], rest[2:]
    _language, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    raw = _decompress(text, limit, what) if compressed else text
    try:
        return key, raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImageMetaInvalid(f"{what} is not valid UTF-8", "the image is damaged") from exc


@dataclass
class _Read:
    """What one pass over a file found (internal)."""

    infotext: str | None = None
    record: str | None = None
    foreign: dict = field(default_factory=dict)
    size: tuple[int, int] | None = None
    notes: list = field(default_factory=list)


def _read_png(fh: BinaryIO, size: int) -> _Read:
    texts: dict[str, str] = {}
    out = _Read()
    limits = {HOST_KEY: MAX_INFOTEXT_BYTES, IMAGE_KEY: MAX_RECORD_BYTES,
              **dict.fromkeys(FOREIGN_KEYS, MAX_FOREIGN_BYTES)}
    for kind, pos, length in _png_chunks(fh, size):
        if kind == b"IHDR" and length >= 8 and out.size is None:
            fh.seek(pos + 8)
            out.size = struct.unpack(">II", fh.read(8))
        if kind not in _TEXT_CHUNKS:
            continue
        fh.seek(pos + 8)
        keyword = fh.read(min(length, 80)).partition(b"\x00")[0].decode("latin-1")
        if keyword not in limits or keyword in texts:
            continue  # not ours or the host's; or a duplicate (the first one counts, as in Pillow)
        limit = limits[keyword]
        if length > limit + 200:  # room for the chunk's keyword and header bytes
            if keyword in FOREIGN_KEYS:  # another tool's chunk: skipped, the rest of the file still read
                out.notes.append(f"PNG text chunk {keyword!r} is {length} bytes, more than the {limit} read")
                continue
            raise ImageMetaInvalid(
                f"PNG text chunk {keyword!r} is {length} bytes, more than the {limit} allowed",
                "this chunk was not written by iga or the WebUI; refusing to read it",
            )
        fh.seek(pos + 8)
        data = fh.read(length)
        (crc,) = struct.unpack(">I", fh.read(4))
        if zlib.crc32(kind + data) & 0xFFFFFFFF != crc:
            raise ImageMetaInvalid(f"PNG text chunk {keyword!r} fails its CRC check", "the image is damaged")
        texts[keyword] = _png_text(kind, data, limit)[1]
    out.infotext, out.record = texts.get(HOST_KEY), texts.get(IMAGE_KEY)
    out.foreign = {k: v for k, v in texts.items() if k in FOREIGN_KEYS}
    return out


def png_text_chunk(key: str, text: str) -> bytes:
    """A complete tEXt chunk, or an iTXt chunk (UTF-8) when `text` is not Latin-1."""
    try:
        kind, data = b"tEXt", key.encode("latin-1") + b"\x00" + text.encode("latin-1")
    except UnicodeEncodeError:
        kind, data = b"iTXt", key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_with_record(data: bytes, text: str) -> bytes:
    """The PNG with any old `iga_metadata` chunk removed and a new one placed before the first IDAT."""
    fh = io.BytesIO(data)
    out = bytearray(PNG_SIGNATURE)
    inserted = False
    for kind, pos, length in list(_png_chunks(fh, len(data))):
        chunk = data[pos:pos + 12 + length]
        if kind in _TEXT_CHUNKS and chunk[8:8 + len(IMAGE_KEY) + 1] == IMAGE_KEY.encode() + b"\x00":
            continue
        if kind in (b"IDAT", b"IEND") and not inserted:
            out += png_text_chunk(IMAGE_KEY, text)
            inserted = True
        out += chunk
    if not inserted:
        raise ImageMetaInvalid("PNG file has no image data (IDAT/IEND)", "the file is truncated or damaged")
    return bytes(out)


# ------------------------------------------------------------------------------------------ JPEG, WebP


def _too_big_exif(size: int) -> ImageMetaInvalid:
    return ImageMetaInvalid(f"EXIF block is {size} bytes, more than the {MAX_EXIF_BYTES} allowed",
                            "this EXIF was not written by iga or the WebUI; refusing to read it")


def _jpeg_exif(fh: BinaryIO, size: int) -> bytes | None:
    """The first APP1 Exif segment's payload, found by walking the markers up to the image data; pixels
    are never decoded, so a huge declared image size costs nothing."""
    fh.seek(2)
    pos = 2
    while pos + 4 <= size:
        fh.seek(pos)
        head = fh.read(4)
        if head[0] != 0xFF:
            raise ImageMetaInvalid(f"JPEG marker expected at byte {pos}", "the image is damaged")
        marker = head[1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: no metadata after this
            return None
        (length,) = struct.unpack(">H", head[2:4])
        if length < 2 or pos + 2 + length > size:
            raise ImageMetaInvalid(f"JPEG segment at byte {pos} runs past the end of the file",
                                   "the file is truncated or damaged; re-save it from the original")
        if marker == 0xE1:
            data = fh.read(length - 2)
            if data.startswith(b"Exif\x00\x00"):
                return data
        pos += 2 + length
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(fh: BinaryIO, size: int) -> tuple[int, int] | None:
    """(width, height) from the first start-of-frame marker, walking the markers as `_jpeg_exif` does."""
    pos = 2
    while pos + 4 <= size:
        fh.seek(pos)
        head = fh.read(4)
        if len(head) < 4 or head[0] != 0xFF:
            return None
        marker = head[1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):
            return None
        (length,) = struct.unpack(">H", head[2:4])
        if marker in _SOF and length >= 7:
            height, width = struct.unpack(">HH", fh.read(5)[1:5])
            return width, height
        pos += 2 + length
    return None


def _webp_size(fh: BinaryIO, size: int) -> tuple[int, int] | None:
    """(width, height) from the first VP8X / VP8 / VP8L chunk (RFC 9649 section 2)."""
    fh.seek(12)
    head = fh.read(8)
    if len(head) < 8:
        return None
    kind, _length = struct.unpack("<4sI", head)
    data = fh.read(10)
    if kind == b"VP8X" and len(data) >= 10:
        return int.from_bytes(data[4:7], "little") + 1, int.from_bytes(data[7:10], "little") + 1
    if kind == b"VP8 " and len(data) >= 10 and data[3:6] == b"\x9d\x01\x2a":
        w, h = struct.unpack("<HH", data[6:10])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b"VP8L" and len(data) >= 5 and data[0] == 0x2F:
        bits = int.from_bytes(data[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _webp_exif(fh: BinaryIO, size: int) -> bytes | None:
    """The payload of the RIFF `EXIF` chunk, found by walking the chunk headers."""
    pos = 12
    while pos + 8 <= size:
        fh.seek(pos)
        kind, length = struct.unpack("<4sI", fh.read(8))
        if pos + 8 + length > size:
            raise ImageMetaInvalid(f"WebP chunk {kind!r} at byte {pos} runs past the end of the file",
                                   "the file is truncated or damaged; re-save it from the original")
        if kind == b"EXIF":
            if length > MAX_EXIF_BYTES:
                raise _too_big_exif(length)
            return fh.read(length)
        pos += 8 + length + (length & 1)  # chunks are padded to an even size
    return None


def _container_exif(fh: BinaryIO, size: int, fmt: str) -> bytes | None:
    return _jpeg_exif(fh, size) if fmt == "JPEG" else _webp_exif(fh, size)


# TIFF field type -> bytes per value (TIFF 6.0 and EXIF 2.3); other types are rejected by the check below
_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
_SUB_IFDS = (0x8769, 0x8825, 0xA005)  # Exif, GPS and Interoperability IFD pointers
_MAX_IFDS = 16


def _check_tiff(tiff: bytes) -> None:
    """Refuse EXIF whose directory entries point outside the block or declare more values than it holds.

    piexif sizes its work by each entry's declared count (a LONG entry claiming a billion values makes
    it build a billion-character struct format), so the counts are checked against the block first."""
    def bad(what: str) -> ImageMetaInvalid:
        return ImageMetaInvalid(f"EXIF block is malformed: {what}", "the image's EXIF is damaged or hostile")

    if len(tiff) < 8 or tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        raise bad("no TIFF header")
    order = "<" if tiff[:2] == b"II" else ">"
    # (offset, follow the next-IFD link): only the 0th IFD's link (to the thumbnail IFD) is used by readers
    todo, seen = [(struct.unpack(order + "I", tiff[4:8])[0], True)], set()
    while todo:
        offset, follow = todo.pop()
        if offset == 0 or offset in seen:
            continue
        seen.add(offset)
        if len(seen) > _MAX_IFDS or offset + 2 > len(tiff):
            raise bad(f"directory at {offset} is outside the block or there are too many")
        (count,) = struct.unpack(order + "H", tiff[offset:offset + 2])
        end = offset + 2 + 12 * count
        if end > len(tiff):
            raise bad(f"directory at {offset} runs past the end")
        for i in range(count):
            tag, kind, n, value = struct.unpack(order + "HHII", tiff[offset + 2 + 12 * i:offset + 14 + 12 * i])
            size = _TIFF_SIZES.get(kind)
            if size is None:
                raise bad(f"tag {tag:#x} has unknown type {kind}")
            if size * n > 4 and value + size * n > len(tiff):
                raise bad(f"tag {tag:#x} declares {n} values, more than the block holds")
            if tag in _SUB_IFDS:
                todo.append((value, False))
        if follow and end + 4 <= len(tiff):
            todo.append((struct.unpack(order + "I", tiff[end:end + 4])[0], False))


def _load_exif(exif: bytes) -> dict:
    import piexif

    if len(exif) > MAX_EXIF_BYTES:
        raise _too_big_exif(len(exif))
    _check_tiff(exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    try:
        return piexif.load(exif)
    except Exception as exc:  # piexif raises struct.error, IndexError, ValueError... on hostile EXIF
        raise ImageMetaInvalid(f"EXIF block cannot be read: {type(exc).__name__} {exc}"[:300],
                               "the image's EXIF is damaged; re-save the image from the original") from exc


def _user_comment(raw: bytes | None) -> str | None:
    """Decode UserComment as the host does (A images.py:789-793), '' meaning none."""
    import piexif.helper

    if not raw:
        return None
    try:
        text = piexif.helper.UserComment.load(raw)
    except ValueError:
        text = raw.decode("utf8", errors="ignore")
    return text or None


def _maker_note_record(raw: bytes | None) -> str | None:
    if not isinstance(raw, bytes) or not raw.startswith(MAKERNOTE_PREFIX):
        return None  # no maker note, or another tool's
    body = raw[len(MAKERNOTE_PREFIX):]
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImageMetaInvalid("IGA record in EXIF MakerNote is not valid UTF-8", "the image is damaged") from exc


def _undefined_tag(ifd: dict, tag: int, name: str) -> bytes | None:
    """A tag the EXIF standard types UNDEFINED (raw bytes). piexif decodes each entry by the type the file
    declares, so a hostile file's UserComment typed LONG, SHORT or RATIONAL comes back as a number or a
    tuple: refused here, with a typed error, before any decoder sees it."""
    value = ifd.get(tag)
    if value is None or isinstance(value, bytes):
        return value
    raise ImageMetaInvalid(f"EXIF {name} holds {type(value).__name__} values; the standard makes it raw bytes "
                           "(type UNDEFINED)", "the image's EXIF is damaged or hostile; re-save the image "
                           "from the original")  # fmt: skip


def _short_text(value) -> str | None:
    """A short EXIF text another tool wrote (Fooocus' Software and MakerNote scheme), or None."""
    if isinstance(value, bytes) and len(value) <= 256:
        return value.rstrip(b"\x00").decode("utf-8", errors="replace") or None
    return value if isinstance(value, str) and len(value) <= 256 else None


def _read_exif(exif: bytes | None) -> _Read:
    if not exif:
        return _Read()
    loaded = _load_exif(exif)
    ifd = loaded.get("Exif") or {}
    maker_note = ifd.get(MAKERNOTE_TAG)  # another tool's maker note may be anything: ours is bytes
    out = _Read(_user_comment(_undefined_tag(ifd, USERCOMMENT_TAG, "UserComment")), _maker_note_record(maker_note))
    software = _short_text((loaded.get("0th") or {}).get(SOFTWARE_TAG))
    if software:
        out.foreign["exif:Software"] = software
    if out.record is None and _short_text(maker_note):
        out.foreign["exif:MakerNote"] = _short_text(maker_note)
    return out


def _exif_with_record(data: bytes, text: str, fmt: str) -> bytes:
    """The image with the record in its EXIF (`_exif_pieces`, joined)."""
    return b"".join(_exif_pieces(data, text, fmt))


def _exif_pieces(data: bytes, text: str, fmt: str) -> list:
    """The image with the record in its EXIF, as pieces to write one after the other: only the EXIF block is
    decoded and encoded again; the rest of the file is handed on as views of `data`, not parsed or copied.
    The layout is piexif.insert's (the one the hosts' EXIF writing uses, A images.py:599-606), spliced
    here where the file's layout allows (`_jpeg_splice`, `_webp_splice`), else built by piexif itself."""
    import piexif

    block = _exif_block(data, text, fmt)
    pieces = _jpeg_splice(data, block) if fmt == "JPEG" else _webp_splice(data, block)
    if pieces is not None:
        return pieces
    out = io.BytesIO()
    try:
        piexif.insert(block, data, out)
    except Exception as exc:
        raise ImageMetaInvalid(f"cannot insert EXIF into this {fmt}: {exc}"[:300], "the image is damaged") from exc
    return [out.getvalue()]


def _jpeg_segment(data: bytes, pos: int) -> tuple[bytes, int] | None:
    """(marker, end) of the JPEG segment at `pos` as piexif's `split_into_segments` reads it; the start of
    scan runs to the end of the file. None when the segment does not fit in the file."""
    marker = data[pos:pos + 2]
    if marker == b"\xff\xda":
        return marker, len(data)
    if len(marker) < 2 or marker[0] != 0xFF or pos + 4 > len(data):
        return None
    end = pos + 2 + struct.unpack(">H", data[pos + 2:pos + 4])[0]
    return (marker, end) if end < len(data) else None


def _jpeg_splice(data: bytes, block: bytes) -> list | None:
    """piexif.insert's JPEG result (`merge_segments`: the APP1 Exif segment replaced, an APP0 before it
    dropped, or the segment put first), from the first two segments only; None for a layout it would
    read otherwise (a segment running past the end), which piexif then handles itself."""
    if not data.startswith(b"\xff\xd8"):
        return None
    first = _jpeg_segment(data, 2)
    if first is None:
        return None
    app1 = b"\xff\xe1" + struct.pack(">H", len(block) + 2) + block
    view = memoryview(data)

    def is_exif(marker: bytes, start: int) -> bool:
        return marker == b"\xff\xe1" and data[start + 4:start + 10] == b"Exif\x00\x00"

    marker, end = first
    if marker == b"\xff\xe0":
        second = _jpeg_segment(data, end) if end < len(data) else None
        if second is None:
            return None
        if is_exif(second[0], end):
            return [b"\xff\xd8", app1, view[second[1]:]]  # APP1 replaced, the APP0 before it dropped
        return [b"\xff\xd8", app1, view[end:]]  # the APP0 replaced
    if is_exif(marker, 2):
        return [b"\xff\xd8", app1, view[end:]]
    return [b"\xff\xd8", app1, view[2:]]


def _webp_splice(data: bytes, block: bytes) -> list | None:
    """piexif.insert's WebP result when the file already has its EXIF chunk last, behind a VP8X header that
    announces it (how Pillow, and so the hosts, save a WebP with EXIF): the chunk replaced, the RIFF size
    set. None for any other layout, which piexif then rebuilds (it moves the chunk and rewrites VP8X)."""
    exif = block[6:]  # piexif's WebP EXIF chunk holds the TIFF data without the "Exif\0\0" header
    if data[12:16] != b"VP8X" or len(data) < 21 or not data[20] & 0x08:
        return None
    pos, last = 12, None
    riff_end = 8 + struct.unpack("<I", data[4:8])[0]
    if riff_end != len(data):
        return None
    while pos + 8 <= riff_end:
        length = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        last, pos = pos, pos + 8 + length + (length & 1)
    if pos != riff_end or last is None or data[last:last + 4] != b"EXIF":
        return None
    chunk = b"EXIF" + struct.pack("<I", len(exif)) + exif + b"\x00" * (len(exif) & 1)
    size = last - 8 + len(chunk)
    return [b"RIFF", struct.pack("<I", size), memoryview(data)[8:last], chunk]


def _exif_block(data: bytes, text: str, fmt: str) -> bytes:
    """The image's EXIF block (piexif.dump) with the record in its MakerNote; only the EXIF is decoded."""
    import piexif

    existing = _container_exif(io.BytesIO(data), len(data), fmt)
    exif = _load_exif(existing) if existing else {"0th": {}, "Exif": {}, "GPS": {}, "1st": {}, "thumbnail": None}
    exif.setdefault("Exif", {})[MAKERNOTE_TAG] = MAKERNOTE_PREFIX + text.encode("utf-8")
    try:
        block = piexif.dump(exif)
    except Exception as exc:
        raise ImageMetaInvalid(f"cannot re-write this image's EXIF: {exc}"[:300],
                               "the existing EXIF has entries piexif cannot write back; re-save the image") from exc
    if fmt == "JPEG" and len(block) + 2 > JPEG_EXIF_LIMIT + 2:
        raise ImageMetaTooLarge(
            f"EXIF with the audit record is {len(block)} bytes; a JPEG EXIF block holds at most {JPEG_EXIF_LIMIT}",
            "save as PNG or WebP for very long prompts; the infotext's IGA fields are still written",
        )
    return block


# ----------------------------------------------------------------------------------------------- API


def record_text(record: dict) -> str:
    """The JSON text stored in the image: we never write what we cannot read back, so a record is validated
    first, unless it is the one `build_record` made, unchanged (an `AuditRecord` whose text is still the
    text it was built with: valid by construction)."""
    if type(record) is AuditRecord and (text := dump_record(record)) == record.text:
        return text
    return dump_record(validate_record(record))


def pnginfo_entry(record: dict) -> dict[str, str]:
    """`{"iga_metadata": json}` for the host's `params.pnginfo` (before_image_saved) or `image.info`."""
    return {IMAGE_KEY: record_text(record)}


def write_image_metadata(target: Any, record: dict) -> None:
    """Put `record` into an image.

    `target` is a path to a saved PNG, JPEG or WebP (rewritten atomically; the host's infotext and all
    other chunks / EXIF fields are kept) or a PIL image (the record goes into `image.info`, which the
    hosts copy into PNG text chunks for the gallery and the API)."""
    text = record_text(record)
    if hasattr(target, "info") and hasattr(target, "size"):
        target.info[IMAGE_KEY] = text
        return
    path = Path(os.fspath(target))
    data = _read_file(path)
    fmt = sniff_format(data[:16])
    if fmt == "PNG":
        pieces = [_png_with_record(data, text)]
    elif fmt in ("JPEG", "WEBP"):
        pieces = _exif_pieces(data, text, fmt)
    else:
        raise UnsupportedImage(f"{path} is not a PNG, JPEG or WebP file", "IGA records go into PNG, JPEG and WebP")
    try:
        write_atomic(path, lambda fh: fh.writelines(pieces))
    except AtomicWriteFailed as exc:
        raise ImageMetaIOError(exc.message, "check free space and permissions") from exc


def _meta_from_pil(image) -> tuple[str, _Read]:
    info = image.info or {}
    out = _Read(info.get(HOST_KEY) if isinstance(info.get(HOST_KEY), str) else None,
                info.get(IMAGE_KEY) if isinstance(info.get(IMAGE_KEY), str) else None)
    out.foreign = {k: info[k] for k in FOREIGN_KEYS if isinstance(info.get(k), str)
                   and len(info[k]) <= MAX_FOREIGN_BYTES}
    out.size = tuple(image.size) if getattr(image, "size", None) else None
    fmt = (image.format or "PNG").upper()
    if "exif" in info:
        exif = _read_exif(info["exif"])
        out.infotext = out.infotext or exif.infotext
        out.record = out.record or exif.record
        out.foreign.update(exif.foreign)
    return fmt, out


def _meta_from_file(path: Path) -> tuple[str, _Read]:
    fh, size = _open_file(path)
    with fh:
        fmt = sniff_format(fh.read(16))
        fh.seek(0)
        if fmt == "PNG":
            return fmt, _read_png(fh, size)
        if fmt in ("JPEG", "WEBP"):
            out = _read_exif(_container_exif(fh, size, fmt))
            out.size = _jpeg_size(fh, size) if fmt == "JPEG" else _webp_size(fh, size)
            return fmt, out
    raise UnsupportedImage(f"{path} is not a PNG, JPEG or WebP file", "pass a PNG, JPEG or WebP image")


def read_image(source: Any) -> ImageMeta:
    """Read the host infotext and the IGA record from a path or a PIL image.

    Raises `ImageMetaIOError` when the file cannot be read and `ImageMetaInvalid` when its metadata
    containers are damaged; a damaged IGA record alone is reported in `record_error`."""
    if hasattr(source, "info") and hasattr(source, "size"):
        fmt, found = _meta_from_pil(source)
    else:
        fmt, found = _meta_from_file(Path(os.fspath(source)))
    extra = {"foreign": found.foreign, "size": found.size, "notes": tuple(found.notes)}
    if found.record is None:
        return ImageMeta(format=fmt, infotext=found.infotext, record=None, **extra)
    try:
        return ImageMeta(format=fmt, infotext=found.infotext, record=parse_record(found.record), **extra)
    except AuditRecordInvalid as exc:
        return ImageMeta(format=fmt, infotext=found.infotext, record=None, record_error=exc, **extra)


def read_image_metadata(source: Any) -> dict | None:
    """The IGA audit record of an image, or None when it has none. Raises a typed error when it is
    damaged or hostile."""
    meta = read_image(source)
    if meta.record_error is not None:
        raise meta.record_error
    return meta.record
