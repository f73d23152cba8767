"""Recipe files: each way reading or writing can fail gives its own typed error; writes are atomic."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import iga_core.recipe.files as files
from iga_core.checkpoint.atomic import AtomicWriteFailed, write_json_atomic
from iga_core.errors import IgaInvalid, IgaIOError
from iga_core.recipe.files import RecipeFileNotJson, RecipeFileUnreadable, read_json_file


def test_read_errors(tmp_path: Path, monkeypatch):
    with pytest.raises(RecipeFileUnreadable):
        read_json_file(tmp_path / "missing.json")
    with pytest.raises(RecipeFileUnreadable):
        read_json_file(tmp_path)
    (tmp_path / "bad.json").write_text('{"a": 1,}')
    with pytest.raises(RecipeFileNotJson) as info:
        read_json_file(tmp_path / "bad.json")
    assert "line 1" in info.value.message and info.value.hint
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RecipeFileNotJson):
        read_json_file(tmp_path / "deep.json")
    monkeypatch.setattr(files, "MAX_FILE_BYTES", 10)
    (tmp_path / "big.json").write_text(json.dumps({"x": "y" * 20}))
    with pytest.raises(RecipeFileNotJson) as info:
        read_json_file(tmp_path / "big.json")
    assert "too large" in info.value.message
    assert issubclass(RecipeFileUnreadable, IgaIOError) and issubclass(RecipeFileNotJson, IgaInvalid)


def test_bom_is_accepted(tmp_path: Path):
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + b'{"a": 1}')
    assert read_json_file(tmp_path / "bom.json") == {"a": 1}


def test_write_is_atomic_and_readable_back(tmp_path: Path, monkeypatch):
    target = tmp_path / "r.json"
    write_json_atomic(target, {"a": "é"})
    assert read_json_file(target) == {"a": "é"} and target.read_text(encoding="utf-8").endswith("\n")

    def fail(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(AtomicWriteFailed) as info:
        write_json_atomic(target, {"a": "new"})
    assert "No space left" in info.value.message
    assert read_json_file(target) == {"a": "é"}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_write_into_a_file_instead_of_a_folder(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AtomicWriteFailed):
        write_json_atomic(blocker / "r.json", {})
