"""A failure in the middle of a rewrite leaves the original byte-identical and no temp file behind."""

from __future__ import annotations

import errno
import os
from collections import namedtuple

import pytest

from iga_core.checkpoint import stamp
from iga_core.checkpoint.safetensors_io import read_header
from tests.factories import make_checkpoint
from tests.test_stamp import RECIPE


@pytest.fixture
def ckpt(tmp_path):
    folder = tmp_path / "models"
    return make_checkpoint(folder / "model.safetensors", max_elements=4096)


def _fail_after(monkeypatch, limit: int, exc: BaseException):
    """Make the copy loop raise once `limit` bytes have been copied."""
    real = stamp._copy_chunk
    copied = {"n": 0}

    def chunk(src, dst, offset, count):
        if copied["n"] >= limit:
            raise exc
        n = real(src, dst, offset, min(count, limit - copied["n"]) or count)
        copied["n"] += n
        return n

    monkeypatch.setattr(stamp, "_copy_chunk", chunk)
    monkeypatch.setattr(stamp, "COPY_BLOCK", 1000)  # many chunks, so the failure lands mid-copy
    return copied


def _only_the_checkpoint(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    "exc", [OSError(errno.ENOSPC, "No space left on device"), OSError(errno.EIO, "I/O error"), KeyboardInterrupt()]
)
def test_failure_mid_copy_leaves_the_original(ckpt, monkeypatch, exc):
    original = ckpt.read_bytes()
    copied = _fail_after(monkeypatch, 5000, exc)
    expected = stamp.WriteFailed if isinstance(exc, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as info:
        stamp.stamp(ckpt, RECIPE)
    assert copied["n"] == 5000  # it really failed mid-copy
    assert ckpt.read_bytes() == original
    assert _only_the_checkpoint(ckpt.parent) == ["model.safetensors"]
    if expected is stamp.WriteFailed:
        assert "unchanged" in info.value.message


def test_failure_writing_a_copy_leaves_no_partial_copy(ckpt, tmp_path, monkeypatch):
    original = ckpt.read_bytes()
    _fail_after(monkeypatch, 3000, OSError(errno.ENOSPC, "No space left on device"))
    out = tmp_path / "elsewhere"
    out.mkdir()
    with pytest.raises(stamp.WriteFailed):
        stamp.stamp(ckpt, RECIPE, out=out / "copy.safetensors")
    assert list(out.iterdir()) == []
    assert ckpt.read_bytes() == original


def test_failure_before_the_rename_leaves_the_original(ckpt, monkeypatch):
    original = ckpt.read_bytes()

    def broken_replace(src, dst):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(stamp.os, "replace", broken_replace)
    with pytest.raises(stamp.WriteFailed):
        stamp.stamp(ckpt, RECIPE)
    assert ckpt.read_bytes() == original
    assert _only_the_checkpoint(ckpt.parent) == ["model.safetensors"]


def test_not_enough_space_is_refused_before_writing(ckpt, monkeypatch):
    original = ckpt.read_bytes()
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("shutil.disk_usage", lambda p: usage(10**9, 10**9 - 100, 100))
    with pytest.raises(stamp.WriteFailed) as info:
        stamp.stamp(ckpt, RECIPE)
    assert "free" in info.value.message and "--sidecar" in info.value.hint
    assert ckpt.read_bytes() == original
    assert _only_the_checkpoint(ckpt.parent) == ["model.safetensors"]


def test_the_user_space_copy_fallback_gives_the_same_file(ckpt, tmp_path, monkeypatch):
    kernel = tmp_path / "kernel.safetensors"
    stamp.stamp(ckpt, RECIPE, out=kernel)
    monkeypatch.setattr(stamp, "_kernel_copy", False)
    user = tmp_path / "user.safetensors"
    stamp.stamp(ckpt, RECIPE, out=user)
    assert kernel.read_bytes() == user.read_bytes()
    assert read_header(user).data_size == read_header(ckpt).data_size


def test_the_rewritten_file_keeps_its_permissions(ckpt):
    ckpt.chmod(0o640)
    stamp.stamp(ckpt, RECIPE)
    assert (os.stat(ckpt).st_mode & 0o777) == 0o640
