"""Text from files reaches a terminal or a page neutralised and bounded (#14 items 6, 10, 11, 12, 13): escape
sequences and bidi controls show as escapes, long values are cut (with `--full` / a details element to
see them whole), EXIF fields of the wrong type are typed errors, huge headers cost what is shown, and the
writing API route names its checkpoint exactly."""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from iga_core.audit.image_meta import ImageMetaInvalid, read_image
from iga_core.checkpoint import safetensors_io as sio
from iga_core.cli import main
from iga_core.untrusted_text import for_terminal, json_text, neutralise, shorten
from tests.factories import make_checkpoint

EVIL = "safe\u202eexe.live \x1b]8;;http://x\x07link\x1b]8;;\x07 \x1b[2J\x9b31m"


def _no_raw_controls(text: str) -> None:
    for bad in ("\x1b", "\u202e", "\x9b", "\x07"):
        assert bad not in text, repr(bad)


def test_neutralise_shows_what_is_there():
    out = neutralise(EVIL)
    _no_raw_controls(out)
    assert "safe\\u202eexe.live" in out and "\\x1b[2J" in out
    assert neutralise("a\nb\tc", lines=True) == "a\nb\tc" and neutralise("a\nb") == "a\\x0ab"
    assert neutralise("plain ✓ ünïcode 日本") == "plain ✓ ünïcode 日本"


def test_values_are_cut_before_escaping_and_say_how_to_see_them_whole():
    huge = "\x1b" * 5_000_000
    tracemalloc.start()
    try:
        shown = for_terminal(huge, 60)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000  # escaping the whole value first cost 1 GB for a 100 MB header
    assert shown.startswith("\\x1b" * 15) and "4,999,985 more characters; --full shows all" in shown
    assert for_terminal("x" * 500, 60, full=True) == "x" * 500
    assert shorten("\x1b" * 3, 5) == ("\\x1b", 2)  # an escape is never split


def test_json_output_keeps_its_value_and_escapes_the_risky_characters():
    raw = json.dumps({"name": EVIL + "\U000e0041"}, ensure_ascii=False)
    safe = json_text(raw)
    _no_raw_controls(safe)
    assert json.loads(safe) == json.loads(raw)


# --------------------------------------------------------------------------------------- the terminal


def _png(path: Path, infotext: str) -> Path:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", infotext)
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    return path


def test_read_image_prints_infotext_neutralised_and_cut(tmp_path, capsys):
    long_prompt = "fox " * 1000
    image = _png(tmp_path / "a.png", f"{EVIL}\n{long_prompt}\nSteps: 4, Sampler: Euler")
    assert main(["read-image", str(image)]) == 0
    out = capsys.readouterr().out
    _no_raw_controls(out)
    assert "safe\\u202eexe.live" in out and "more characters; --full shows all" in out
    assert main(["read-image", str(image), "--full"]) == 0
    assert long_prompt.strip() in capsys.readouterr().out
    assert main(["read-image", str(image), "--json"]) == 0
    out = capsys.readouterr().out
    _no_raw_controls(out)
    assert json.loads(out)["infotext"].startswith(EVIL)  # the JSON value is intact


def test_audit_tail_prints_log_entries_neutralised(tmp_path, capsys):
    log = tmp_path / "decisions.jsonl"
    entry = {"time": "2026-01-01T00:00:00Z", "kind": "block", "mode": "standard", "outcome": "blocked",
             "checkpoint": {"name": EVIL}, "findings": [], "summary": "x" * 5000,
             "overrides": [{"rule_id": "IGA-S001", "reason": "\x1b[31mred"}]}  # fmt: skip
    log.write_text(json.dumps(entry) + "\n")
    assert main(["audit", "tail", "--log", str(log)]) == 0
    out = capsys.readouterr().out
    _no_raw_controls(out)
    assert "safe\\u202eexe.live" in out and "\\x1b[31mred" in out and "--full shows all" in out


def test_inspect_cuts_a_huge_metadata_value_before_escaping(tmp_path, capsys):
    path = make_checkpoint(tmp_path / "m.safetensors", metadata={"big": "\x1b" * 3_000_000, "t": EVIL})
    sio.read_header(path)  # parsed once (not what this test measures)
    tracemalloc.start()
    try:
        assert main(["inspect", str(path)]) == 0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out = capsys.readouterr().out
    _no_raw_controls(out)
    assert "2,999,98" in out and "--full shows all" in out
    header_len = sio.read_header(path).header_len
    assert peak < 4 * header_len  # the JSON, its text and the parsed value; escaping it whole cost 10x more


def test_errors_quoting_names_from_files_are_neutralised(tmp_path, capsys):
    name = tmp_path / "m\x1b[2J.safetensors"
    name.write_bytes(b"\x00")
    assert main(["inspect", str(name)]) == 1
    err = capsys.readouterr().err
    _no_raw_controls(err)
    assert "\\x1b[2J" in err


def test_the_header_cache_is_bounded_in_bytes(tmp_path, monkeypatch):
    monkeypatch.setattr(sio, "RECENT_BYTES", 4_000_000)
    monkeypatch.setattr(sio, "_RECENT", {})
    huge = make_checkpoint(tmp_path / "huge.safetensors", metadata={"x": "y" * 1_500_000})
    first = sio.read_header(huge)
    assert sio.read_header(huge) is not first  # over a quarter of the budget: never kept
    for i in range(6):
        sio.read_header(make_checkpoint(tmp_path / f"m{i}.safetensors", metadata={"x": "y" * 700_000}))
    assert sum(sio._cost(h) for h in sio._RECENT.values()) <= 4_000_000 and len(sio._RECENT) < 6


# ------------------------------------------------------------------------------------------ EXIF types


def _exif_user_comment(kind: int, count: int, payload: bytes) -> bytes:
    """A TIFF/EXIF block whose UserComment (0x9286) has the TIFF type `kind` (3 SHORT, 4 LONG, 5 RATIONAL)."""
    exif_ifd_at = 8 + 2 + 12 + 4
    value_at = exif_ifd_at + 2 + 12 + 4
    inline = len(payload) <= 4
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, exif_ifd_at) + struct.pack("<I", 0)
    value = payload.ljust(4, b"\x00") if inline else struct.pack("<I", value_at)
    exif_ifd = struct.pack("<H", 1) + struct.pack("<HHI", 0x9286, kind, count) + value + struct.pack("<I", 0)
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd0 + exif_ifd + (b"" if inline else payload)


@pytest.mark.parametrize(("kind", "count", "payload"), [
    (4, 1, struct.pack("<I", 42)), (3, 2, struct.pack("<HH", 1, 2)), (5, 1, struct.pack("<II", 1, 3)),
], ids=["LONG", "SHORT", "RATIONAL"])  # fmt: skip
@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_a_user_comment_of_the_wrong_type_is_a_typed_error(tmp_path, capsys, fmt, kind, count, payload):
    block = _exif_user_comment(kind, count, payload)
    path = tmp_path / f"x.{fmt.lower()}"
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format=fmt, exif=block)
    path.write_bytes(buf.getvalue())
    with pytest.raises(ImageMetaInvalid, match="UserComment") as info:
        read_image(path)
    assert info.value.hint
    assert main(["read-image", str(path)]) == 1
    assert "UserComment" in capsys.readouterr().err
    from iga_core.ui import recipes_actions

    with pytest.raises(ImageMetaInvalid):  # the Recipes tab's "start from image" shows this message
        recipes_actions.from_image(str(path))


# ------------------------------------------------------------------------------------------- the pages


def test_a_megabyte_model_id_is_cut_with_a_way_to_see_it_whole(tmp_path):
    from iga_core.checkpoint.sources import find_recipe
    from iga_core.ui import render
    from iga_core.ui.context import PanelContext
    from iga_core.ui.recipes_actions import checkpoint_table

    ckpt = make_checkpoint(tmp_path / "m.safetensors")
    document = {"iga_version": "1.0.0", "model_id": "m" * 1_000_000, "title": "safe\u202eexe.live",
                "prediction_type": "eps", "sampler": {"name": "Euler"}, "scheduler": {"name": "Automatic"},
                "steps": {"default": 4}, "cfg": {"default": 1.0}, "notes": "n" * 9000}  # fmt: skip
    (tmp_path / "m.safetensors.iga.json").write_text(json.dumps(document))
    source = find_recipe(ckpt, registry=False)
    source.problems.append("quoted from the file: " + "q" * 1_000_000)
    page = render.status_html(source)
    assert len(page) < 2 * render.WHOLE + 20_000  # 1 MB of text in one cell made the page 858,000 px tall
    assert '<details class="iga-more">' in page and "more characters: show all" in page
    table = checkpoint_table(PanelContext(recipe_source=lambda _: None, checkpoints=lambda: [("m" * 100_000, str(ckpt))]))
    assert len(table) < 2 * render.WHOLE + 5_000

    from iga_core.recipe import Recipe

    valid = Recipe.from_dict({**document, "model_id": "ok"})
    shown = render.status_html(type("S", (), {"kind": "embedded", "recipe": valid, "document": document,
                                              "hash_status": "verified", "problems": []})())  # fmt: skip
    assert "\u202e" not in shown and "safe\\u202eexe.live" in shown
    assert "8,700 more characters: show all" in shown and "n" * 9000 in shown  # the whole notes, behind details


def test_a_backtick_in_a_lora_name_stays_inside_its_code_span():
    pytest.importorskip("gradio")
    from iga_core.ui.app import lora_list_html

    html = lora_list_html(["ok", "evil` <img src=x onerror=alert(1)> `[link](http://x)", "rtl\u202eexe.sm"])
    assert html.count("<code>") == html.count("</code>") == 4
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "rtl\\u202eexe.sm" in html


def test_the_recipe_editor_shows_bidi_characters_as_escapes():
    from iga_core.ui.recipes_actions import parse_text, to_text

    recipe = {"model_id": "safe\u202eexe.live", "notes": "\x1b[2J"}
    text = to_text(recipe)
    assert "\u202e" not in text and "\x1b" not in text and parse_text(text) == recipe
