"""Side files (sidecar, registry entries, recipe files, .yaml / .civitai.info / .json beside a checkpoint,
images) and checkpoints are read through one helper: regular files only, opened without blocking, size- and
parse-bounded, typed errors. Each case here hung, read without end or crashed before."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from iga_core import untrusted_files
from iga_core.checkpoint.registry import Registry
from iga_core.checkpoint.safetensors_io import CheckpointUnreadable, read_header
from iga_core.checkpoint.sources import find_recipe
from iga_core.errors import IgaInvalid, IgaIOError
from iga_core.recipe.files import RecipeFileNotJson, RecipeFileUnreadable, read_json_file
from tests.factories import make_checkpoint

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs and /dev/zero are POSIX")


def _finishes(fn, seconds: float = 20.0):
    """Run `fn` in a thread; fail (instead of hanging the suite) when it does not return in time."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the test
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{fn} did not return: it blocks on the file"
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture
def ckpt(tmp_path):
    return make_checkpoint(tmp_path / "m.safetensors")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_a_special_sidecar_is_a_problem_not_a_hang(ckpt, kind):
    side = ckpt.with_name(ckpt.name + ".iga.json")
    if kind == "fifo":
        os.mkfifo(side)
    elif kind == "dev-zero":
        side.symlink_to("/dev/zero")
    else:
        side.mkdir()
    src = _finishes(lambda: find_recipe(ckpt, registry=False))
    assert src.kind == "none"
    words = {"fifo": "FIFO", "dev-zero": "character device", "folder": "folder"}[kind]
    assert any(words in p and "sidecar" in p for p in src.problems), src.problems


def test_a_fifo_registry_entry_is_skipped_and_listed_as_broken(tmp_path):
    reg = Registry(tmp_path / "reg")
    reg.folder.mkdir()
    sha = "ab" * 32
    os.mkfifo(reg.path_for(sha))
    assert _finishes(lambda: reg.get(sha)) is None
    (entry,) = _finishes(reg.list)
    assert not entry.valid and "FIFO" in entry.problem


def test_special_files_are_refused_by_type(tmp_path):
    fifo = tmp_path / "r.json"
    os.mkfifo(fifo)
    with pytest.raises(RecipeFileUnreadable) as info:
        _finishes(lambda: read_json_file(fifo))
    assert "FIFO" in info.value.message and info.value.hint and isinstance(info.value, IgaIOError)
    with pytest.raises(RecipeFileUnreadable, match="character device"):
        read_json_file("/dev/zero")
    with pytest.raises(RecipeFileUnreadable, match="folder"):
        read_json_file(tmp_path)
    with pytest.raises(CheckpointUnreadable, match="FIFO"):
        _finishes(lambda: read_header(fifo))


def test_reads_are_size_bounded_even_when_the_file_lies_about_its_size(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"x": "y" * 5000}))
    with pytest.raises(untrusted_files.FileInvalid, match="too large"):
        untrusted_files.read_bytes(big, 100)
    # a file that grows after the size check is still read only up to the bound
    real_fstat = os.fstat
    monkeypatch.setattr(untrusted_files.os, "fstat", lambda fd: os.stat_result((*real_fstat(fd)[:6], 10, *real_fstat(fd)[7:])))
    with pytest.raises(untrusted_files.FileInvalid, match="too large"):
        untrusted_files.read_bytes(big, 100)


def test_a_5000_digit_number_is_a_typed_error(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"steps": {"default": ' + "1" * 5000 + "}}")
    with pytest.raises(RecipeFileNotJson) as info:
        read_json_file(path)
    assert "5000 digits" in info.value.message and isinstance(info.value, IgaInvalid)
    with pytest.raises(untrusted_files.FileInvalid, match="digits"):
        untrusted_files.parse_json("[" + "9" * 450 + ".5]")


def test_the_cli_reports_a_5000_digit_recipe_in_one_line(tmp_path, ckpt, capsys):
    from iga_core.cli import main

    path = tmp_path / "r.json"
    path.write_text('{"iga_version": "1.0.0", "steps": ' + "7" * 5000 + "}")
    assert main(["stamp", str(ckpt), str(path), "--yes"]) == 1
    assert "5000 digits" in capsys.readouterr().err


def test_yaml_is_bounded_in_size_nodes_and_time(tmp_path, monkeypatch):
    path = tmp_path / "m.yaml"
    path.write_text("- 1\n" * (untrusted_files.YAML_LIMIT // 4 + 1))
    with pytest.raises(untrusted_files.FileInvalid, match="too large"):
        untrusted_files.read_yaml(path)
    path.write_text("[" + ",".join(["a"] * 2000) + "]")
    assert len(untrusted_files.read_yaml(path)) == 2000
    with pytest.raises(untrusted_files.FileInvalid, match="too slow"):
        untrusted_files.read_yaml(path, budget_s=-1)  # the deadline has passed: the composer stops early
    monkeypatch.setattr(untrusted_files, "YAML_MAX_NODES", 100)
    with pytest.raises(untrusted_files.FileInvalid, match="too large"):
        untrusted_files.read_yaml(path)


def test_yaml_with_a_5000_digit_int_is_a_typed_error(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("model:\n  steps: " + "1" * 5000 + "\n")
    with pytest.raises(untrusted_files.FileInvalid, match="cannot read"):
        untrusted_files.read_yaml(path)


def test_reconstruction_survives_hostile_side_files(tmp_path):
    from iga_core.reconstruct import reconstruct

    ckpt = make_checkpoint(tmp_path / "sdxl_lightning.safetensors",
                           metadata={"modelspec.title": "SDXL Lightning " + "4" * 5000 + " steps"})  # fmt: skip
    (tmp_path / "sdxl_lightning.yaml").write_text("a: [" + ",".join(["b"] * 300_000) + "]\n")  # 4 MB of YAML
    (tmp_path / "sdxl_lightning.civitai.info").write_text(json.dumps({"baseModel": "SDXL 1.0"})[:-1] +
                                                          ', "images": [{"meta": {"steps": ' + "9" * 5000 + "}}]}")
    os.mkfifo(tmp_path / "sdxl_lightning.json")
    result = _finishes(lambda: reconstruct(ckpt))
    findings = " ".join(result.findings)
    assert "sdxl_lightning.yaml is too large" in findings
    assert "5000 digits" in findings and "FIFO" in findings
    assert result.recipe["steps"]["default"] != int("4" * 10)  # the 5000-digit count was not taken for steps


def test_images_are_opened_without_blocking(tmp_path):
    from iga_core.audit.image_meta import ImageMetaIOError, read_image

    fifo = tmp_path / "a.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageMetaIOError, match="FIFO"):
        _finishes(lambda: read_image(fifo))


def test_a_regular_file_through_a_symlink_is_fine(tmp_path):
    target = tmp_path / "real.json"
    target.write_text('{"a": 1}')
    link = tmp_path / "link.json"
    link.symlink_to(target)
    assert read_json_file(link) == {"a": 1}
    assert untrusted_files.read_text(Path(link), 100) == '{"a": 1}'
