"""weights_sha256 covers the tensor bytes only, file_sha256 the whole file; both are cached per file state."""

from __future__ import annotations

import hashlib
import json
import os
import struct

import pytest

from iga_core.checkpoint import hashing
from iga_core.checkpoint.safetensors_io import HeaderError
from tests.factories import make_checkpoint


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))


def _data_section(path) -> bytes:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return raw[8 + n :]


def test_weights_hash_is_the_data_section_only(tmp_path):
    path = make_checkpoint(tmp_path / "m.safetensors", metadata={"a": "b"})
    assert hashing.weights_sha256(path) == hashlib.sha256(_data_section(path)).hexdigest()
    assert hashing.file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_weights_hash_ignores_metadata_and_sees_weights(tmp_path):
    a = make_checkpoint(tmp_path / "a.safetensors", metadata={"x": "1"})
    b = make_checkpoint(tmp_path / "b.safetensors", metadata={"x": "a much longer value"})
    c = make_checkpoint(tmp_path / "c.safetensors", metadata={"x": "1"}, seed=1)
    assert hashing.weights_sha256(a) == hashing.weights_sha256(b) != hashing.weights_sha256(c)
    assert hashing.file_sha256(a) != hashing.file_sha256(b)


def test_one_pass_gives_both_hashes(tmp_path):
    path = make_checkpoint(tmp_path / "m.safetensors")
    both = hashing.file_and_weights_sha256(path, use_cache=False)
    assert both == (hashing.file_sha256(path, use_cache=False), hashing.weights_sha256(path, use_cache=False))


def test_non_safetensors_weights_hash_is_the_file_hash(tmp_path):
    path = tmp_path / "model.ckpt"
    path.write_bytes(b"PK\x03\x04 pickle-ish bytes" * 100)
    assert hashing.weights_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert hashing.file_and_weights_sha256(path)[0] == hashing.weights_sha256(path)


def test_broken_safetensors_is_a_typed_error(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\xff" * 64)
    with pytest.raises(HeaderError):
        hashing.weights_sha256(path)
    assert hashing.file_sha256(path) == hashlib.sha256(b"\xff" * 64).hexdigest()


def test_progress_reaches_the_file_size(tmp_path):
    path = make_checkpoint(tmp_path / "m.safetensors", max_elements=4096)
    calls = []
    digest = hashing.hash_range(path, 0, progress=lambda d, t: calls.append((d, t)), block_size=1000)
    assert digest["data"] == hashlib.sha256(path.read_bytes()).hexdigest()
    size = path.stat().st_size
    assert len(calls) == -(-size // 1000) and calls[-1] == (size, size)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_cached_result_is_reused_until_the_file_changes(tmp_path, monkeypatch):
    path = make_checkpoint(tmp_path / "m.safetensors")
    first = hashing.weights_sha256(path)
    assert hashing.cached(path, "weights_sha256") == first

    def no_reading(*a, **k):
        raise AssertionError("the file was read again")

    monkeypatch.setattr(hashing, "hash_range", no_reading)
    assert hashing.weights_sha256(path) == first
    make_checkpoint(path, seed=9)  # same size, new content and mtime
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10_000_000))
    assert hashing.cached(path, "weights_sha256") is None
    monkeypatch.undo()
    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))
    assert hashing.weights_sha256(path) != first


def test_use_cache_false_rehashes(tmp_path, monkeypatch):
    path = make_checkpoint(tmp_path / "m.safetensors")
    hashing.remember(path, weights_sha256="0" * 64)  # a stale value
    assert hashing.weights_sha256(path) == "0" * 64
    assert hashing.weights_sha256(path, use_cache=False) == hashlib.sha256(_data_section(path)).hexdigest()


def test_corrupt_cache_is_ignored_and_rebuilt(tmp_path):
    path = make_checkpoint(tmp_path / "m.safetensors")
    folder = hashing.cache_dir()
    folder.mkdir(parents=True)
    (folder / hashing.CACHE_FILE).write_text("{not json")
    digest = hashing.weights_sha256(path)
    saved = json.loads((folder / hashing.CACHE_FILE).read_text())
    assert saved["version"] == hashing.CACHE_VERSION
    assert saved["files"][os.path.realpath(path)]["weights_sha256"] == digest


def test_cache_is_capped(tmp_path, monkeypatch):
    monkeypatch.setattr(hashing, "CACHE_MAX_ENTRIES", 3)
    paths = [make_checkpoint(tmp_path / f"m{i}.safetensors", seed=i) for i in range(5)]
    for p in paths:
        hashing.weights_sha256(p)
    assert hashing.cached(paths[0], "weights_sha256") is None
    assert hashing.cached(paths[-1], "weights_sha256") is not None


def test_cache_dir_honours_the_environment(tmp_path, monkeypatch):
    assert hashing.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("IGA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if os.name != "nt":
        assert hashing.cache_dir() == tmp_path / "xdg" / "iga"


def test_autov2_is_the_first_ten_digits():
    assert hashing.autov2("abcdef0123456789") == "abcdef0123"
