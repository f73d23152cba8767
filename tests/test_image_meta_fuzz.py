"""Damaged images never crash the reader or the writer: every outcome is a result or a typed IgaError, and a
failed write leaves the file as it was."""

from __future__ import annotations

import io
import warnings

import piexif
import piexif.helper
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from iga_core.audit.image_meta import read_image, write_image_metadata
from iga_core.errors import IgaError
from tests.test_image_meta import make_infotext, make_record

RECORD = make_record("fuzz ✓")
INFOTEXT = make_infotext(RECORD)


def _seed_file(fmt: str) -> bytes:
    """A small image saved the way the host saves it, with our record merged in."""
    img = Image.new("RGB", (16, 12), (200, 40, 90))
    buf = io.BytesIO()
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", INFOTEXT)
        img.save(buf, format="PNG", pnginfo=info)
        data = buf.getvalue()
    else:
        img.save(buf, format=fmt)
        exif = piexif.dump({"Exif": {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump(
            INFOTEXT, encoding="unicode")}})
        out = io.BytesIO()
        piexif.insert(exif, buf.getvalue(), out)
        data = out.getvalue()
    return data


SEEDS = {fmt: _seed_file(fmt) for fmt in ("PNG", "JPEG", "WEBP")}


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for pos, value in edits:
        out[pos % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    files = {}
    for fmt, data in SEEDS.items():
        path = folder / f"seed.{fmt.lower()}"
        path.write_bytes(data)
        write_image_metadata(path, RECORD)
        assert read_image(path).record == RECORD
        files[fmt] = path.read_bytes()
    return folder, files


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["PNG", "JPEG", "WEBP"]),
       edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
       cut=st.one_of(st.none(), st.integers(0, 4000)))
def test_damaged_files_give_results_or_typed_errors(seeded, fmt, edits, cut):
    folder, files = seeded
    path = folder / f"case.{fmt.lower()}"
    data = _mutate(files[fmt], edits, cut)
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about corrupt EXIF while piexif reads it
        try:
            meta = read_image(path)
        except IgaError:
            pass
        else:
            assert meta.record is None or meta.record["audit_version"] == 1
        try:
            write_image_metadata(path, RECORD)
        except IgaError:
            assert path.read_bytes() == data  # a refused write changes nothing
