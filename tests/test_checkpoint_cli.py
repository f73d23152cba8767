"""`iga inspect / stamp / verify / hash / strip / extract` end to end on generated checkpoints."""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import subprocess
import sys

import pytest

from iga_core.checkpoint.safetensors_io import encode_header, read_header
from iga_core.checkpoint.stamp import read_embedded, sidecar_path
from iga_core.cli import main
from iga_core.errors import ExitCode
from tests.factories import make_checkpoint
from tests.test_stamp import RECIPE


@pytest.fixture
def ckpt(tmp_path):
    return make_checkpoint(tmp_path / "model.safetensors")


@pytest.fixture
def recipe_file(tmp_path):
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(RECIPE))
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def _data(path) -> bytes:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return raw[8 + n :]


def test_hash_prints_the_tensor_hash(capsys, ckpt):
    code, out, _ = run(capsys, "hash", ckpt)
    assert code == 0 and hashlib.sha256(_data(ckpt)).hexdigest() in out
    code, out, _ = run(capsys, "hash", ckpt, "--full", "--json")
    data = json.loads(out)
    full = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert data["file_sha256"] == full and data["autov2"] == full[:10]


def test_hash_progress_bar_goes_to_stderr(capsys, ckpt):
    code, out, err = run(capsys, "hash", ckpt, "--progress", "--no-cache")
    assert code == 0 and "hashing [" in err and "100.0%" in err and "[" not in out
    _, _, err = run(capsys, "hash", ckpt, "--no-cache")
    assert err == ""  # small file, not a terminal: no bar


def test_first_stamp_needs_confirmation(capsys, ckpt, recipe_file):
    before = ckpt.read_bytes()
    code, _, err = run(capsys, "stamp", ckpt, recipe_file)
    assert code == 1 and "Model hash" in err and "--yes" in err
    assert ckpt.read_bytes() == before
    code, out, _ = run(capsys, "stamp", ckpt, recipe_file, "--yes")
    assert code == 0 and "AutoV2" in out and hashlib.sha256(before).hexdigest() in out
    assert read_embedded(ckpt)["model_id"] == RECIPE["model_id"]
    code, out, _ = run(capsys, "stamp", ckpt, recipe_file)  # not the first stamp any more
    assert code == 0 and "in place" in out


def test_stamp_json_output(capsys, ckpt, recipe_file):
    code, out, _ = run(capsys, "stamp", ckpt, recipe_file, "--yes", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["mode"] == "rewrite" and data["first_stamp"]
    assert data["weights_sha256"] == hashlib.sha256(_data(ckpt)).hexdigest()


def test_stamp_out_and_sidecar_leave_the_checkpoint(capsys, ckpt, recipe_file, tmp_path):
    before = ckpt.read_bytes()
    code, out, _ = run(capsys, "stamp", ckpt, recipe_file, "--out", tmp_path / "copy.safetensors")
    assert code == 0 and "copy" in out and read_embedded(tmp_path / "copy.safetensors")
    code, out, _ = run(capsys, "stamp", ckpt, recipe_file, "--sidecar")
    assert code == 0 and sidecar_path(ckpt).exists()
    assert ckpt.read_bytes() == before


def test_stamp_out_never_replaces_an_existing_file_without_force(capsys, ckpt, recipe_file, tmp_path):
    # the case: a text file named as --out became a checkpoint, rc 0
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    code, _, err = run(capsys, "stamp", ckpt, recipe_file, "--out", notes)
    assert code == 1 and "already exists" in err and "--force" in err
    assert notes.read_text() == "my notes"
    copy = tmp_path / "copy.safetensors"
    assert run(capsys, "stamp", ckpt, recipe_file, "--out", copy)[0] == 0
    before = copy.read_bytes()
    code, _, err = run(capsys, "stamp", ckpt, recipe_file, "--out", copy)  # not even a stamped copy of its own
    assert code == 1 and "already exists" in err and copy.read_bytes() == before
    code, _, err = run(capsys, "stamp", ckpt, recipe_file, "--out", ckpt)  # the source itself, by another name
    assert code == 1 and "the checkpoint itself" in err and read_embedded(ckpt) is None
    code, _, _ = run(capsys, "stamp", ckpt, recipe_file, "--out", notes, "--force")
    assert code == 0 and read_embedded(notes)["model_id"] == RECIPE["model_id"]


def test_strip_out_never_replaces_an_existing_file_without_force(capsys, ckpt, recipe_file, tmp_path):
    run(capsys, "stamp", ckpt, recipe_file, "--yes")
    other = tmp_path / "other.bin"
    other.write_bytes(b"keep me")
    code, _, err = run(capsys, "strip", ckpt, "--out", other)
    assert code == 1 and "--force" in err and other.read_bytes() == b"keep me"
    assert run(capsys, "strip", ckpt, "--out", other, "--force")[0] == 0
    assert read_embedded(other) is None and read_embedded(ckpt) is not None


def test_stamp_refusals(capsys, ckpt, recipe_file, tmp_path):
    pickle = tmp_path / "old.ckpt"
    pickle.write_bytes(b"PK\x03\x04" + bytes(64))
    code, _, err = run(capsys, "stamp", pickle, recipe_file, "--yes")
    assert code == 1 and "--sidecar" in err
    assert run(capsys, "stamp", pickle, recipe_file, "--sidecar")[0] == 0

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**RECIPE, "steps": {"default": 40, "min": 4, "max": 4}}))
    code, out, _ = run(capsys, "stamp", ckpt, bad, "--yes", "--json")
    assert code == 1 and any(p["pointer"].startswith("/steps") for p in json.loads(out)["problems"])
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert run(capsys, "stamp", ckpt, broken, "--yes")[0] == 1
    assert run(capsys, "stamp", ckpt, tmp_path / "absent.json", "--yes")[0] == ExitCode.UNAVAILABLE
    assert read_embedded(ckpt) is None


def test_verify_passes_then_names_the_failing_hash(capsys, ckpt, recipe_file, tmp_path):
    run(capsys, "stamp", ckpt, recipe_file, "--yes")
    code, out, _ = run(capsys, "verify", ckpt)
    assert code == 0 and "VERIFIED" in out

    # Hand-edit the recipe, hashes untouched: the metadata hash fails.
    header = read_header(ckpt)
    recipe = json.loads(header.metadata["iga"])
    recipe["cfg"]["max"] = 12.0
    edited = tmp_path / "edited.safetensors"
    block = encode_header({**header.metadata, "iga": json.dumps(recipe)}, header.tensors, exact_len=header.header_len)
    edited.write_bytes(block + _data(ckpt))
    code, out, _ = run(capsys, "verify", edited)
    assert code == 1 and "metadata hash: MISMATCH" in out and "weights hash:  OK" in out

    # The same (valid) header on other weights: the weights hash fails.
    other = make_checkpoint(tmp_path / "other.safetensors", seed=5)
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(ckpt.read_bytes()[: 8 + header.header_len] + _data(other))
    code, out, _ = run(capsys, "verify", foreign, "--json")
    data = json.loads(out)
    assert code == 1 and data["weights"]["status"] == "mismatch" and data["metadata"]["status"] == "ok"


def test_verify_without_recipe_or_hashes(capsys, ckpt):
    code, _, err = run(capsys, "verify", ckpt)
    assert code == 1 and "no recipe" in err
    sidecar_path(ckpt).write_text(json.dumps(RECIPE))  # handwritten: no hashes yet
    code, out, _ = run(capsys, "verify", ckpt)
    assert code == 1 and "UNVERIFIED" in out and "iga stamp" in out


def test_inspect_shows_header_metadata_and_recipe(capsys, ckpt, recipe_file):
    run(capsys, "stamp", ckpt, recipe_file, "--yes")
    code, out, _ = run(capsys, "inspect", ckpt, "--tensors")
    assert code == 0
    assert "4 tensors" in out and "recipe: embedded" in out and RECIPE["model_id"] in out
    assert "model.diffusion_model.input_blocks.0.0.weight" in out
    assert "modelspec.prediction_type = epsilon" in out
    code, out, _ = run(capsys, "inspect", ckpt, "--json", "--verify", "always")
    data = json.loads(out)
    assert data["tensor_count"] == 4 and data["recipe_source"]["hash_status"] == "verified"
    assert "iga" not in data["metadata"]


def test_inspect_escapes_control_characters(capsys, tmp_path):
    path = make_checkpoint(tmp_path / "m.safetensors", metadata={"title": "evil\x1b[2Jtext"})
    _, out, _ = run(capsys, "inspect", path)
    assert "\x1b" not in out and "\\x1b[2Jtext" in out


def test_inspect_a_pickle_checkpoint_with_a_sidecar(capsys, tmp_path, recipe_file):
    pickle = tmp_path / "old.ckpt"
    pickle.write_bytes(b"PK\x03\x04" + bytes(64))
    run(capsys, "stamp", pickle, recipe_file, "--sidecar")
    code, out, _ = run(capsys, "inspect", pickle)
    assert code == 0 and "not safetensors" in out and "recipe: sidecar" in out


def test_strip_and_extract(capsys, ckpt, recipe_file, tmp_path):
    code, _, err = run(capsys, "extract", ckpt)
    assert code == 1 and "no embedded recipe" in err
    run(capsys, "stamp", ckpt, recipe_file, "--yes")
    code, out, _ = run(capsys, "extract", ckpt, "-o", "-")
    assert code == 0 and json.loads(out) == read_embedded(ckpt)
    code, out, _ = run(capsys, "extract", ckpt)
    assert code == 0 and str(sidecar_path(ckpt)) in out
    code, out, _ = run(capsys, "extract", ckpt, "-o", tmp_path / "r.json", "--json")
    assert json.loads(out)["path"] == str(tmp_path / "r.json")
    code, out, _ = run(capsys, "strip", ckpt)
    assert code == 0 and "removed" in out and read_embedded(ckpt) is None
    code, out, _ = run(capsys, "strip", ckpt, "--json")
    assert json.loads(out)["mode"] == "unchanged"


@pytest.mark.parametrize("command", ["inspect", "verify", "hash", "strip", "extract", "stamp"])
@pytest.mark.parametrize(
    "content", [b"", b"\x00" * 3, struct.pack("<Q", 2**62) + b"{}", b"\x80\x02}q\x00(pickle"],
    ids=["empty", "tiny", "huge-length", "pickle-bytes"],
)  # fmt: skip
def test_a_bad_file_never_gives_a_traceback(capsys, tmp_path, recipe_file, command, content):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(content)
    extra = [recipe_file, "--yes"] if command == "stamp" else []
    code, _, err = run(capsys, command, bad, *extra)
    assert code == 1 and err.startswith("iga: ") and "hint:" in err
    assert bad.read_bytes() == content


def test_missing_file_is_an_io_error(capsys, tmp_path):
    for command in ("inspect", "verify", "hash", "strip", "extract"):
        code, _, err = run(capsys, command, tmp_path / "absent.safetensors")
        assert code == ExitCode.UNAVAILABLE and "does not exist" in err, command


def test_bad_file_json_error_is_json(capsys, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 3)
    code, out, _ = run(capsys, "inspect", bad, "--json")
    assert code == 1 and json.loads(out)["error"] == "FileTooSmall"


def test_the_module_entry_point(tmp_path, ckpt):
    proc = subprocess.run([sys.executable, "-m", "iga_core", "hash", str(ckpt), "--json"],
                          capture_output=True, text=True, env={"IGA_CACHE_DIR": str(tmp_path / "c"), "PATH": ""},
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[1]), timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["weights_sha256"] == hashlib.sha256(_data(ckpt)).hexdigest()


def test_progress_is_one_shared_helper(capsys, tmp_path):
    # checkpoint and authoring commands share this bar: --progress draws it, --no-progress does not.
    from iga_core.cli import progress as cli_progress

    big = tmp_path / "f.bin"
    big.write_bytes(b"x" * 10)
    with cli_progress.progress_for(argparse.Namespace(progress=True), big, "hashing") as bar:
        bar(5, 10)
        bar(10, 10)
    assert "hashing [" in capsys.readouterr().err
    with cli_progress.progress_for(argparse.Namespace(progress=False), big, "hashing") as bar:
        assert bar is None
    assert cli_progress.format_size(1536) == "1.50 KiB"
