"""`iga read-image` and `iga reproduce` on images and checkpoints the tests build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from iga_core.audit.image_meta import IMAGE_KEY, write_image_metadata
from iga_core.audit.infotext import to_infotext_fields
from iga_core.audit.record import build_record
from iga_core.checkpoint.sources import find_recipe
from iga_core.checkpoint.stamp import stamp
from iga_core.cli import main
from iga_core.errors import ExitCode
from iga_core.guard import GuardPolicy, GuardRequest, evaluate
from iga_core.recipe.canonical import metadata_sha256
from tests.factories import make_checkpoint
from tests.host_double import infotext_utils as host

ROOT = Path(__file__).resolve().parents[1]
LIGHTNING = json.loads((ROOT / "metadata_examples" / "sdxl-lightning-4step.iga.json").read_text())
TURBO = json.loads((ROOT / "metadata_examples" / "sdxl-turbo.iga.json").read_text())
NATIVE = GuardRequest(sampler="Euler", schedule="SGM Uniform", steps=4, cfg=1.0, width=1024, height=1024)
HIGH_CFG = GuardRequest(sampler="Euler", schedule="SGM Uniform", steps=4, cfg=3.0, width=1024, height=1024)


def _record(request: GuardRequest, recipe: dict, policy=GuardPolicy()) -> dict:  # noqa: B008 (frozen)
    return build_record(params={**request.to_dict(), "seed": 5}, recipe=recipe,
                        verdict=evaluate(recipe, request, policy), preset="Lightning", policy=policy,
                        host={"name": "a1111", "version": "v1.10.1"},
                        checkpoint={"name": "lightning.safetensors", "weights_sha256": "12" * 32}, source="embedded")


def _image(path: Path, request: GuardRequest, record: dict | None, *, fmt: str = "PNG") -> Path:
    fields = to_infotext_fields(record) if record else {}
    infotext = host.create_infotext_text("a red fox", "", {
        "Steps": request.steps, "Sampler": request.sampler, "Schedule type": request.schedule,
        "CFG scale": request.cfg, "Seed": 5, "Size": f"{request.width}x{request.height}", **fields})
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", infotext)
        Image.new("RGB", (16, 16), "orange").save(path, pnginfo=info)
    else:
        import piexif
        import piexif.helper

        Image.new("RGB", (16, 16), "orange").save(path, format=fmt)
        comment = piexif.helper.UserComment.dump(infotext, encoding="unicode")  # as A images.py:599-606
        piexif.insert(piexif.dump({"Exif": {piexif.ExifIFD.UserComment: comment}}), str(path))
    if record is not None:
        write_image_metadata(path, record)
    return path


@pytest.fixture
def files(tmp_path):
    lightning = make_checkpoint(tmp_path / "lightning.safetensors")
    stamp(lightning, LIGHTNING)
    stamped = find_recipe(lightning).recipe  # the recipe as the WebUI reads it: bound to these weights
    turbo = make_checkpoint(tmp_path / "turbo.safetensors", seed=1)
    stamp(turbo, TURBO)
    return {
        "lightning": lightning, "turbo": turbo, "plain": make_checkpoint(tmp_path / "plain.safetensors", seed=2),
        "native": _image(tmp_path / "native.png", NATIVE, _record(NATIVE, stamped)),
        "high": _image(tmp_path / "high.jpg", HIGH_CFG, _record(HIGH_CFG, stamped), fmt="JPEG"),
        "infotext_only": _image(tmp_path / "only.webp", HIGH_CFG, None, fmt="WEBP"),
        "digest": metadata_sha256(stamped),
    }


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_read_image_human_and_json(files, capsys):
    code, out, _ = run(capsys, "read-image", files["native"])
    assert code == 0
    assert "IGA fields: status ok (mode standard, audit v1); preset Lightning" in out
    assert "IGA audit record (v1" in out and f"recipe: {files['digest']} (embedded)" in out
    code, out, _ = run(capsys, "read-image", files["high"], "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["format"] == "JPEG"
    assert data["record"]["params"]["cfg"] == 3.0 and data["iga"]["outcome"] == "warn"


def test_read_image_without_iga_data(files, capsys):
    code, out, _ = run(capsys, "read-image", files["infotext_only"])
    assert code == 0 and "IGA fields: none" in out and "IGA audit record: none" in out
    assert "a red fox" in out


def test_read_image_with_a_damaged_record_exits_1_and_still_shows_the_infotext(tmp_path, capsys):
    path = tmp_path / "bad.png"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat\nSteps: 4, Sampler: Euler, Seed: 1")
    info.add_text(IMAGE_KEY, '{"audit_version": 1, "params": []}')
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    code, out, _ = run(capsys, "read-image", path, "--json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False and data["record_error"]["error"] == "AuditRecordInvalid"
    assert data["infotext"].startswith("a cat")
    code, out, _ = run(capsys, "read-image", path)  # the record is there and broken: DAMAGED, never also "none"
    assert code == 1 and "IGA audit record DAMAGED" in out and "IGA audit record: none" not in out


@pytest.mark.parametrize(("name", "content", "code"), [("missing.png", None, ExitCode.UNAVAILABLE), ("notes.png", b"hello", ExitCode.PROBLEM)])
def test_read_image_bad_files_exit_without_traceback(tmp_path, capsys, name, content, code):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    got, _, err = run(capsys, "read-image", path)
    assert got == code and "Traceback" not in err and err.startswith("iga: ")


def test_reproduce_without_checkpoint(files, capsys):
    code, out, _ = run(capsys, "reproduce", files["native"], "--json")
    data = json.loads(out)
    assert code == 0 and data["from"] == "audit record" and data["seed"] == 5
    assert data["request"] == {k: v for k, v in NATIVE.to_dict().items() if v is not None}
    assert data["api_payload"]["alwayson_scripts"]["iga"]["args"][0]["preset"] == "Custom"


def test_reproduce_against_the_same_checkpoint_passes(files, capsys):
    code, out, _ = run(capsys, "reproduce", files["native"], "--checkpoint", files["lightning"])
    assert code == 0
    assert "embedded recipe, the same recipe the image was made with" in out
    assert "guard (standard): allowed" in out


def test_reproduce_against_another_recipe_says_different(files, capsys):
    code, out, _ = run(capsys, "reproduce", files["native"], "--checkpoint", files["turbo"], "--json")
    data = json.loads(out)
    assert data["check"]["recipe"] == "different" and data["check"]["recipe_source"] == "embedded"
    assert code in (0, 3) and (code == 3) == (not data["check"]["allowed"])


def test_reproduce_blocked_under_strict_exits_3(files, capsys):
    code, out, _ = run(capsys, "reproduce", files["high"], "--checkpoint", files["lightning"])
    assert code == 0 and "IGA-S002" in out  # standard: a warning
    code, out, _ = run(capsys, "reproduce", files["high"], "--checkpoint", files["lightning"], "--mode", "strict",
                       "--json")
    data = json.loads(out)
    assert code == 3 and data["ok"] is False and data["check"]["allowed"] is False
    assert "IGA-S002" in data["check"]["verdict"]["blocked_ids"]


def test_reproduce_from_infotext_only_and_a_checkpoint_without_recipe(files, capsys):
    code, out, _ = run(capsys, "reproduce", files["infotext_only"], "--json")
    data = json.loads(out)
    assert code == 0 and data["from"] == "infotext" and data["request"]["cfg"] == 3.0
    code, out, _ = run(capsys, "reproduce", files["infotext_only"], "--checkpoint", files["plain"])
    assert code == 1 and "no recipe" in out


def test_reproduce_an_image_with_nothing_in_it(tmp_path, capsys):
    path = tmp_path / "empty.png"
    Image.new("RGB", (8, 8)).save(path)
    code, _, err = run(capsys, "reproduce", path)
    assert code == 1 and "no IGA audit record and no generation parameters" in err
