"""The audit record in PNG / JPEG / WebP files written the way the host writes them, read back by us, by the
host's own reader and by a third-party reader (sd-parsers); hostile metadata gives typed errors."""

from __future__ import annotations

import copy
import io
import json
import struct
import zlib
from pathlib import Path

import piexif
import pytest
from PIL import Image, PngImagePlugin

from iga_core.audit import image_meta
from iga_core.audit.image_meta import (
    IMAGE_KEY,
    MAKERNOTE_PREFIX,
    ImageMetaInvalid,
    ImageMetaIOError,
    ImageMetaTooLarge,
    UnsupportedImage,
    pnginfo_entry,
    read_image,
    read_image_metadata,
    write_image_metadata,
)
from iga_core.audit.infotext import from_infotext_params, to_infotext_fields
from iga_core.audit.record import AuditRecordInvalid, build_record
from iga_core.recipe import Recipe
from tests.host_double import clear, install
from tests.host_double import infotext_utils as host_infotext

ROOT = Path(__file__).resolve().parents[1]
RECIPE = Recipe.from_dict(json.loads((ROOT / "metadata_examples" / "sdxl-lightning-4step.iga.json").read_text()))
FORMATS = ["png", "jpg", "webp"]


def make_record(preset="Lightning", summary="") -> dict:
    r = build_record(params={"seed": 1234, "sampler": "Euler", "schedule": "SGM Uniform", "steps": 4, "cfg": 1.0,
                             "width": 64, "height": 48}, recipe=RECIPE, verdict=None, preset=preset, policy=None,
                     host={"name": "a1111", "version": "v1.10.1"},
                     checkpoint={"name": "lightning.safetensors", "weights_sha256": "cd" * 32}, source="embedded")
    r["guard"]["summary"] = summary
    return r


def make_infotext(record: dict, prompt="a cat, masterpiece: 1.2") -> str:
    params = {"Steps": 4, "Sampler": "Euler", "Schedule type": "SGM Uniform", "CFG scale": 1.0, "Seed": 1234,
              "Size": "64x48", "Model hash": "0123456789", "Model": "lightning", **to_infotext_fields(record),
              "Version": "v1.10.1"}
    return host_infotext.create_infotext_text(prompt, "ugly, blurry", params)


@pytest.fixture(scope="module")
def webui(tmp_path_factory):
    double = install("a1111", tmp_path_factory.mktemp("a1111"))
    try:
        yield double
    finally:
        clear()


def picture() -> Image.Image:
    img = Image.new("RGB", (64, 48))
    img.putdata([(x * 4 % 256, y * 5 % 256, (x * y) % 256) for y in range(48) for x in range(64)])
    return img


def host_save(webui, path: Path, infotext: str, extra_pnginfo: dict | None = None) -> Path:
    """What the host does for a saved file (A images.py:565-606, mirrored in tests/host_double/images.py)."""
    webui.m.images.save_image_with_geninfo(picture(), infotext, str(path), existing_pnginfo=extra_pnginfo)
    return path


def host_read(webui, path: Path) -> str | None:
    with Image.open(path) as im:
        return webui.m.images.read_info_from_image(im)[0]


@pytest.mark.parametrize("ext", FORMATS)
def test_record_round_trip_keeps_the_host_infotext_and_pixels(webui, tmp_path, ext):
    record = make_record()
    infotext = make_infotext(record)
    path = host_save(webui, tmp_path / f"img.{ext}", infotext)
    with Image.open(path) as im:
        pixels_before = im.tobytes()
    write_image_metadata(path, record)
    assert host_read(webui, path) == infotext  # the host's reader still finds its infotext, unchanged
    meta = read_image(path)
    assert meta.format == {"png": "PNG", "jpg": "JPEG", "webp": "WEBP"}[ext]
    assert meta.infotext == infotext and meta.record == record and meta.record_error is None
    assert read_image_metadata(path) == record
    with Image.open(path) as im:
        assert im.tobytes() == pixels_before
    parsed = from_infotext_params(webui.m.infotext_utils.parse_generation_parameters(meta.infotext))
    assert parsed.preset == "Lightning" and parsed.recipe_digest == record["recipe"]["digest"][:12]


@pytest.mark.parametrize("ext", FORMATS)
def test_rewriting_replaces_the_record(webui, tmp_path, ext):
    path = host_save(webui, tmp_path / f"img.{ext}", make_infotext(make_record()))
    write_image_metadata(path, make_record("first"))
    write_image_metadata(path, make_record("second ✓"))
    assert read_image_metadata(path)["preset"] == "second ✓"
    if ext == "png":
        assert path.read_bytes().count(IMAGE_KEY.encode()) == 1
    assert not list(tmp_path.glob("*.iga-tmp"))


def test_png_chunk_is_text_for_latin1_and_itxt_otherwise(webui, tmp_path):
    path = host_save(webui, tmp_path / "a.png", "p\nSteps: 4, Sampler: Euler, Seed: 1")
    write_image_metadata(path, make_record("Café"))  # Latin-1 but not ASCII
    data = path.read_bytes()
    assert b"tEXt" + IMAGE_KEY.encode() in data
    assert data.index(IMAGE_KEY.encode()) < data.index(b"IDAT")  # readable without decoding pixels
    write_image_metadata(path, make_record("日本"))
    assert b"iTXt" + IMAGE_KEY.encode() in path.read_bytes()
    with Image.open(path) as im:  # Pillow reads our chunk like any other text chunk
        assert json.loads(im.info[IMAGE_KEY])["preset"] == "日本"


def test_png_through_the_hosts_pnginfo_and_in_memory_images(webui, tmp_path):
    record = make_record("via pnginfo")
    path = host_save(webui, tmp_path / "b.png", make_infotext(record), extra_pnginfo=pnginfo_entry(record))
    assert read_image(path).record == record
    img = picture()
    write_image_metadata(img, record)  # gallery / API images: the host copies image.info strings into PNG
    assert read_image_metadata(img) == record
    with Image.open(path) as im:
        assert read_image(im).record == record


def test_jpeg_exif_limit_gives_a_typed_error_and_leaves_the_file_alone(webui, tmp_path):
    record = make_record(summary="s" * 2000)
    long_prompt = "word " * 6300  # 63 000 bytes as the host's UTF-16 UserComment: the host's EXIF still fits
    path = host_save(webui, tmp_path / "big.jpg", make_infotext(record, prompt=long_prompt))
    before = path.read_bytes()
    with pytest.raises(ImageMetaTooLarge) as exc:
        write_image_metadata(path, record)
    assert "PNG or WebP" in exc.value.hint
    assert path.read_bytes() == before
    webp = host_save(webui, tmp_path / "big.webp", make_infotext(record, prompt=long_prompt))
    write_image_metadata(webp, record)  # WebP has no 64 KiB EXIF limit
    assert read_image_metadata(webp) == record


@pytest.mark.parametrize("ext", FORMATS)
def test_images_without_iga_data_read_as_none(webui, tmp_path, ext):
    path = host_save(webui, tmp_path / f"plain.{ext}", "a dog\nSteps: 20, Sampler: Euler a, Seed: 7")
    assert read_image_metadata(path) is None
    assert read_image(path).infotext == "a dog\nSteps: 20, Sampler: Euler a, Seed: 7"
    bare = tmp_path / f"bare.{ext}"
    picture().save(bare)
    assert read_image(bare).infotext is None and read_image_metadata(bare) is None


# ------------------------------------------------------------------------------------------ hostile files


def png_with_chunk(tmp_path: Path, kind: bytes, data: bytes, *, crc: int | None = None) -> Path:
    buf = io.BytesIO()
    picture().save(buf, format="PNG")
    raw = buf.getvalue()
    pos = raw.index(b"IDAT") - 4
    chunk = struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc)
    path = tmp_path / "hostile.png"
    path.write_bytes(raw[:pos] + chunk + raw[pos:])
    return path


def test_huge_chunk_is_refused_without_reading_it(tmp_path):
    path = png_with_chunk(tmp_path, b"tEXt", IMAGE_KEY.encode() + b"\x00" + b"x" * (5 * 1024 * 1024))
    with pytest.raises(ImageMetaInvalid, match="allowed"):
        read_image(path)


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt"])
def test_decompression_bomb_is_refused(tmp_path, kind):
    bomb = zlib.compress(b"{" + b" " * (30 * 1024 * 1024), 9)
    header = b"\x00" if kind == b"zTXt" else b"\x01\x00\x00\x00"
    path = png_with_chunk(tmp_path, kind, IMAGE_KEY.encode() + b"\x00" + header + bomb)
    with pytest.raises(ImageMetaInvalid, match="decompression"):
        read_image(path)


@pytest.mark.parametrize(
    "payload",
    [b"not json", b"[1, 2, 3]", b'{"audit_version": 1, "params": "x"}', b"\xff\xfe", b'{"a":' * 5000],
)
def test_bad_record_is_reported_and_the_infotext_still_read(webui, tmp_path, payload):
    path = host_save(webui, tmp_path / "x.png", "p\nSteps: 4, Sampler: Euler, Seed: 1",
                     extra_pnginfo={IMAGE_KEY: payload.decode("latin-1")})
    meta = read_image(path)
    assert meta.record is None and isinstance(meta.record_error, AuditRecordInvalid)
    assert meta.infotext == "p\nSteps: 4, Sampler: Euler, Seed: 1"
    with pytest.raises(AuditRecordInvalid):
        read_image_metadata(path)


def test_wrong_types_in_a_record_are_refused(webui, tmp_path):
    bad = copy.deepcopy(make_record())
    bad["params"]["steps"] = "four"
    bad["guard"]["overrides"] = [{"rule_id": "IGA-S002; rm -rf /", "reason": None}]
    path = tmp_path / "typed.png"
    picture().save(path, pnginfo=_pnginfo({IMAGE_KEY: json.dumps(bad)}))
    with pytest.raises(AuditRecordInvalid) as exc:
        read_image_metadata(path)
    assert exc.value.pointer.startswith(("/params/steps", "/guard/overrides"))


def _pnginfo(texts: dict) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    for k, v in texts.items():
        info.add_text(k, v)
    return info


def test_bad_crc_and_truncation_are_typed_errors(tmp_path):
    path = png_with_chunk(tmp_path, b"tEXt", IMAGE_KEY.encode() + b"\x00{}", crc=1)
    with pytest.raises(ImageMetaInvalid, match="CRC"):
        read_image(path)
    data = png_with_chunk(tmp_path, b"tEXt", IMAGE_KEY.encode() + b"\x00{}").read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: data.index(b"IDAT") + 10])
    with pytest.raises(ImageMetaInvalid, match="past the end"):
        read_image(cut)


def _jpeg_with_exif(tmp_path: Path, exif_block: bytes) -> Path:
    buf = io.BytesIO()
    picture().save(buf, format="JPEG")
    raw = buf.getvalue()
    segment = b"\xff\xe1" + struct.pack(">H", len(exif_block) + 2) + exif_block
    path = tmp_path / "exif.jpg"
    path.write_bytes(raw[:2] + segment + raw[2:])
    return path


def test_other_tools_maker_notes_are_not_ours(tmp_path):
    block = piexif.dump({"Exif": {piexif.ExifIFD.MakerNote: b"Nikon\x00\x02\x10\x00\x00MM"}})
    assert read_image_metadata(_jpeg_with_exif(tmp_path, block)) is None


def test_our_maker_note_with_garbage_is_reported(tmp_path):
    block = piexif.dump({"Exif": {piexif.ExifIFD.MakerNote: MAKERNOTE_PREFIX + b"{broken"}})
    meta = read_image(_jpeg_with_exif(tmp_path, block))
    assert meta.record is None and isinstance(meta.record_error, AuditRecordInvalid)
    block = piexif.dump({"Exif": {piexif.ExifIFD.MakerNote: MAKERNOTE_PREFIX + b"\xff\xfe"}})
    with pytest.raises(ImageMetaInvalid, match="UTF-8"):
        read_image(_jpeg_with_exif(tmp_path, block))


def test_garbage_exif_is_a_typed_error(tmp_path):
    path = _jpeg_with_exif(tmp_path, b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\x07" * 64)
    with pytest.raises(ImageMetaInvalid):
        read_image(path)
    with pytest.raises(ImageMetaInvalid):
        write_image_metadata(path, make_record())


def test_unsupported_and_missing_files(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(UnsupportedImage):
        read_image(text)
    with pytest.raises(UnsupportedImage):
        write_image_metadata(text, make_record())
    assert text.read_text() == "hello"
    with pytest.raises(ImageMetaIOError):
        read_image(tmp_path / "missing.png")
    gif = tmp_path / "a.gif"
    picture().save(gif)
    with pytest.raises(UnsupportedImage):
        read_image(gif)


def test_invalid_record_is_never_written(webui, tmp_path):
    path = host_save(webui, tmp_path / "c.png", "p\nSteps: 4, Sampler: Euler, Seed: 1")
    before = path.read_bytes()
    bad = make_record()
    bad["guard"]["mode"] = "lenient"
    with pytest.raises(AuditRecordInvalid):
        write_image_metadata(path, bad)
    assert path.read_bytes() == before


def test_failed_write_leaves_no_temp_file(webui, tmp_path, monkeypatch):
    path = host_save(webui, tmp_path / "d.webp", make_infotext(make_record()))
    before = path.read_bytes()

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(image_meta.os, "replace", boom)
    with pytest.raises(ImageMetaIOError, match="No space"):
        write_image_metadata(path, make_record())
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["d.webp"]


def test_huge_declared_image_size_costs_nothing(webui, tmp_path):
    # a JPEG whose frame header claims 65000x65000 pixels: Pillow would refuse it as a decompression bomb;
    # metadata reading never looks at pixels
    record = make_record()
    path = host_save(webui, tmp_path / "huge.jpg", make_infotext(record))
    write_image_metadata(path, record)
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    path.write_bytes(bytes(data))
    with pytest.raises(Image.DecompressionBombError):
        Image.open(path)
    assert read_image_metadata(path) == record


@pytest.mark.parametrize("ext", ["jpg", "webp"])
def test_truncated_containers_are_typed_errors(webui, tmp_path, ext):
    path = host_save(webui, tmp_path / f"t.{ext}", make_infotext(make_record()))
    data = path.read_bytes()
    cut = data.index(b"Exif") + 40 if ext == "jpg" else data.index(b"EXIF") + 20
    path.write_bytes(data[:cut])
    with pytest.raises(ImageMetaInvalid, match="past the end"):
        read_image(path)


def test_exif_entry_claiming_a_billion_values_is_refused_before_piexif_sees_it(tmp_path):
    # piexif builds a struct format as long as the declared count: this would need gigabytes
    block = bytearray(piexif.dump({"0th": {piexif.ImageIFD.Orientation: 1},
                                   "Exif": {piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00hi"}}))
    tiff = 6  # after "Exif\0\0"
    (entries,) = struct.unpack(">H", block[tiff + 8:tiff + 10])
    for i in range(entries):
        at = tiff + 10 + 12 * i
        if struct.unpack(">H", block[at:at + 2])[0] == piexif.ImageIFD.Orientation:
            block[at + 4:at + 8] = struct.pack(">I", 0x3FFFFFFF)
    path = _jpeg_with_exif(tmp_path, bytes(block))
    with pytest.raises(ImageMetaInvalid, match="declares"):
        read_image(path)
    before = path.read_bytes()
    with pytest.raises(ImageMetaInvalid, match="declares"):
        write_image_metadata(path, make_record())
    assert path.read_bytes() == before


def _host_style(fmt: str, mode: str, *, exif: bool, **kw) -> bytes:
    import piexif.helper

    block = piexif.dump({"Exif": {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump("p", encoding="unicode")}})
    out = io.BytesIO()
    Image.effect_noise((64, 48), 64).convert(mode).save(out, fmt, **({"exif": block} if exif else {}), **kw)
    return out.getvalue()


@pytest.mark.parametrize(("fmt", "mode", "exif", "kw", "spliced"), [
    ("JPEG", "RGB", True, {}, True), ("JPEG", "RGB", False, {}, True),
    ("WEBP", "RGB", True, {}, True), ("WEBP", "RGBA", True, {"lossless": True}, True),
    ("WEBP", "RGB", False, {}, False),  # no EXIF chunk yet: piexif adds one and rewrites VP8X
])  # fmt: skip
def test_the_exif_merge_touches_only_the_exif_and_matches_piexif(fmt, mode, exif, kw, spliced, tmp_path):
    """The record goes in by splicing the EXIF segment / chunk (the pixels' bytes are handed on as views,
    never parsed), and the file is byte for byte what piexif.insert, the hosts' EXIF writer, makes (#19)."""
    data = _host_style(fmt, mode, exif=exif, **kw)
    record = make_record()
    text = image_meta.record_text(record)
    pieces = image_meta._exif_pieces(data, text, fmt)
    reference = io.BytesIO()
    piexif.insert(image_meta._exif_block(data, text, fmt), data, reference)
    assert b"".join(pieces) == reference.getvalue()
    assert any(isinstance(p, memoryview) for p in pieces) == spliced
    path = tmp_path / f"out.{fmt.lower()}"
    path.write_bytes(data)
    image_meta.write_image_metadata(path, record)
    assert path.read_bytes() == reference.getvalue() and read_image_metadata(path) == record
