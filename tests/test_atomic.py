"""The one atomic-write helper: old file or new file, never half of one, never a leftover temp file."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from iga_core.checkpoint import atomic
from iga_core.checkpoint.atomic import AtomicWriteFailed, write_atomic, write_bytes_atomic, write_json_atomic
from iga_core.errors import IgaIOError


def test_replaces_content_and_keeps_the_mode(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    write_json_atomic(tmp_path / "n.json", {"a": "é"})
    assert stat.S_IMODE((tmp_path / "n.json").stat().st_mode) == atomic.NEW_FILE_MODE
    assert (tmp_path / "n.json").read_text(encoding="utf-8") == '{\n  "a": "é"\n}\n'


def test_missing_folder_is_an_error_unless_asked_to_create_it(tmp_path):
    with pytest.raises(AtomicWriteFailed) as info:
        write_bytes_atomic(tmp_path / "no" / "f", b"x")
    assert isinstance(info.value, IgaIOError) and "no" in info.value.message
    write_bytes_atomic(tmp_path / "no" / "f", b"x", parents=True)
    assert (tmp_path / "no" / "f").read_bytes() == b"x"


@pytest.mark.parametrize("exc", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_failing_writer_leaves_the_old_file_and_no_temp(tmp_path, exc):
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def write(fh):
        fh.write(b"half")
        raise exc

    expected = AtomicWriteFailed if isinstance(exc, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        write_atomic(target, write)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["f"]
