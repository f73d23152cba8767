"""A stamp binds the tensor table as well as the tensor bytes, never trusts a stale hash, serializes with
other writers, cleans up after a killed run, treats symlinks, read-only files and hard links alike on
both write paths, and leaves an in-place header write repairable after a power cut (#14 items 2, 3, 8, 9,
14). Each test failed before the fix it names."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from iga_core.checkpoint import hashing, journal, locks, stamp
from iga_core.checkpoint import safetensors_io as sio
from iga_core.checkpoint.sources import find_recipe
from iga_core.cli import main
from tests.factories import make_checkpoint
from tests.test_stamp import RECIPE

TWINS = {"a": ("F32", [2, 4]), "b": ("F32", [2, 4]), "c": ("F16", [4])}


@pytest.fixture
def ckpt(tmp_path):
    return make_checkpoint(tmp_path / "models" / "model.safetensors", TWINS)


def _retable(path: Path, change) -> None:
    """Rewrite the header with `change(tensors) -> tensors`, keeping metadata and the data bytes."""
    header = sio.read_header(path)
    data = path.read_bytes()[header.data_start:]
    path.write_bytes(sio.encode_header(header.metadata, change(dict(header.tensors))) + data)


def _swap_names(tensors):
    a, b = tensors["a"], tensors["b"]
    return {**tensors, "a": b._replace(name="a"), "b": a._replace(name="b")}


# ---------------------------------------------------------------------------------- item 2: the binding


@pytest.mark.parametrize("change", [
    _swap_names,
    lambda t: {**t, "a": t["a"]._replace(dtype="I32")},
    lambda t: {**t, "a": t["a"]._replace(shape=(4, 2))},
], ids=["swap-names", "F32-to-I32", "reshape"])  # fmt: skip
def test_a_changed_tensor_table_is_a_mismatch_though_the_bytes_are_the_same(ckpt, change, capsys):
    stamped = stamp.stamp(ckpt, RECIPE)
    assert stamped.recipe["hashes"]["tensor_index_sha256"] == sio.read_header(ckpt).tensor_index_sha256
    weights = hashing.weights_sha256(ckpt)
    _retable(ckpt, change)
    assert hashing.weights_sha256(ckpt, use_cache=False) == weights  # the data section did not change
    for verify in ("never", "first", "always"):  # the index costs no hashing: checked in every mode
        src = find_recipe(ckpt, verify=verify, registry=False)
        assert src.tensor_index.status == "mismatch" and src.hash_status == "mismatch", verify
    assert main(["verify", str(ckpt)]) == 1
    out = capsys.readouterr().out
    assert "tensor index:  MISMATCH" in out and "MISMATCH" in out.splitlines()[-1]


def test_stamping_metadata_does_not_change_the_index(ckpt):
    first = stamp.stamp(ckpt, RECIPE)
    second = stamp.stamp(ckpt, {**RECIPE, "title": "again"})
    assert second.mode == "in_place" and first.tensor_index_sha256 == second.tensor_index_sha256
    assert find_recipe(ckpt, verify="always", registry=False).hash_status == "verified"


def test_the_index_is_canonical_whatever_the_header_spelling(tmp_path):
    body = b'{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    spelled = b' {"a":["F32",[1],[0,4]], "b":{"shape":[1],"data_offsets":[4,8],"dtype":"F32","x":1}}'
    one = sio.parse_header(body, 8 + len(body) + 8)
    two = sio.parse_header(spelled, 8 + len(spelled) + 8)
    assert one.tensor_index_sha256 == two.tensor_index_sha256
    text = '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
    assert one.tensor_index_sha256 == hashlib.sha256(text.encode()).hexdigest()


def test_the_index_hashed_from_the_header_text_equals_the_index_built_from_the_table():
    """Headers already in the canonical layout are hashed from their own text; the digest must be the one
    the table gives, for every spelling the reader accepts."""
    from tests.test_safetensors_differential import generate

    rng = random.Random(5)
    seen_fast = 0
    for _ in range(1500):
        blob = generate(rng)
        (n,) = struct.unpack("<Q", blob[:8])
        try:
            header = sio.parse_header(blob[8:8 + n], len(blob))
        except sio.HeaderError:
            continue
        built = hashlib.sha256(sio._index_text(list(header.tensors.values())).encode()).hexdigest()
        assert header.tensor_index_sha256 == built
        seen_fast += header._index_section() is not None
    assert seen_fast > 30  # the fast path was taken often enough to be tested


def test_a_recipe_stamped_before_the_binding_still_verifies_and_says_how_to_add_it(ckpt, capsys):
    stamp.stamp(ckpt, RECIPE)
    header = sio.read_header(ckpt)
    old = json.loads(header.metadata["iga"])  # what an earlier iga wrote: no tensor_index_sha256
    del old["hashes"]["tensor_index_sha256"]
    from iga_core.recipe import with_metadata_digest

    old = with_metadata_digest({**old, "hashes": {k: v for k, v in old["hashes"].items() if k != "metadata_sha256"}})
    data = ckpt.read_bytes()[header.data_start:]
    ckpt.write_bytes(sio.encode_header({**header.metadata, "iga": json.dumps(old)}, header.tensors) + data)
    src = find_recipe(ckpt, verify="always", registry=False)
    assert src.hash_status == "verified" and src.tensor_index.status == "missing"
    assert main(["verify", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "tensor index:  missing" in out and f"iga extract {ckpt} -o recipe.json && iga stamp {ckpt}" in out
    again = stamp.stamp(ckpt, old)
    assert stamp.INDEX_ADDED_NOTICE in again.notices
    assert find_recipe(ckpt, verify="always", registry=False).tensor_index.status == "ok"


def test_sidecars_and_registry_entries_bind_the_index_too(ckpt, tmp_path, capsys):
    side = stamp.write_sidecar(ckpt, RECIPE)
    assert side.tensor_index_sha256 == sio.read_header(ckpt).tensor_index_sha256
    assert find_recipe(ckpt, registry=False).tensor_index.status == "ok"
    Path(side.path).unlink()
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps(RECIPE))
    reg = tmp_path / "reg"
    assert main(["registry", "--folder", str(reg), "add", str(recipe), "--for", str(ckpt)]) == 0
    from iga_core.checkpoint.registry import Registry

    src = find_recipe(ckpt, registry=Registry(reg))
    assert src.kind == "registry" and src.tensor_index.status == "ok" and src.hash_status == "verified"


def test_a_header_with_leading_whitespace_is_stamped_the_webui_way(tmp_path, capsys):
    from tests.host_double.sd_models_metadata import read_metadata_from_safetensors

    body = b'\n {"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    path = tmp_path / "ws.safetensors"
    path.write_bytes(struct.pack("<Q", len(body)) + body + b"\x00" * 8)
    assert not sio.read_header(path).host_readable
    assert main(["inspect", str(path)]) == 0
    assert "the WebUI's own metadata reader refuses it" in capsys.readouterr().out
    stamp.stamp(path, RECIPE)
    assert path.read_bytes()[8:10] == b'{"' and sio.read_header(path).host_readable
    assert read_metadata_from_safetensors(str(path))["iga"]["model_id"] == RECIPE["model_id"]


# ------------------------------------------------------------------------------ item 3: the hash cache


def _flip_a_data_byte_keeping_the_mtime(path: Path) -> None:
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(-1, os.SEEK_END)
        last = fh.read(1)
        fh.seek(-1, os.SEEK_END)
        fh.write(bytes([last[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_a_byte_flip_with_the_mtime_restored_is_not_verified_from_the_cache(ckpt):
    stamp.stamp(ckpt, RECIPE)
    assert find_recipe(ckpt, registry=False).hash_status == "verified"  # hashed (or cached) once
    _flip_a_data_byte_keeping_the_mtime(ckpt)
    src = find_recipe(ckpt, verify="first", registry=False)
    assert src.weights.status == "mismatch" and src.hash_status == "mismatch"


def _same_size_twin(ckpt: Path, tmp_path: Path) -> Path:
    """A copy of `ckpt` with one data byte changed and the same size and mtime: what a swap puts in place."""
    other = tmp_path / "other.safetensors"
    other.write_bytes(ckpt.read_bytes())
    st = ckpt.stat()
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    _flip_a_data_byte_keeping_the_mtime(other)
    return other


def test_a_same_size_swap_is_not_verified_from_the_cache(ckpt, tmp_path):
    stamp.stamp(ckpt, RECIPE)
    assert find_recipe(ckpt, registry=False).hash_status == "verified"
    os.replace(_same_size_twin(ckpt, tmp_path), ckpt)  # same name, size and mtime; another inode
    assert find_recipe(ckpt, verify="first", registry=False).hash_status == "mismatch"


def test_a_swap_during_hashing_is_never_remembered(ckpt, tmp_path):
    stamp.stamp(ckpt, RECIPE)
    other = _same_size_twin(ckpt, tmp_path)

    def swap(done, total):
        if done >= total and other.exists():
            os.replace(other, ckpt)

    with pytest.raises(hashing.FileChangedWhileHashing):
        hashing.weights_sha256(ckpt, progress=swap, use_cache=False)
    assert hashing.cached(ckpt, "weights_sha256") is None
    assert find_recipe(ckpt, verify="first", registry=False).hash_status == "mismatch"


def test_a_stamp_refuses_a_file_swapped_after_it_was_hashed(ckpt, tmp_path, monkeypatch):
    stamp.stamp(ckpt, RECIPE)
    other = _same_size_twin(ckpt, tmp_path)
    swapped = other.read_bytes()
    real = hashing.digests_of

    def then_swap(*a, **k):
        got = real(*a, **k)
        os.replace(other, ckpt)
        return got

    monkeypatch.setattr(stamp.hashing, "digests_of", then_swap)
    with pytest.raises(stamp.Refused, match="changed while it was being stamped"):
        stamp.stamp(ckpt, {**RECIPE, "title": "t"})
    assert ckpt.read_bytes() == swapped  # not stamped with the hash of the file it replaced
    assert [p.name for p in ckpt.parent.iterdir()] == ["model.safetensors"]


def test_a_write_during_hashing_is_detected(ckpt):
    def write(done, total):
        if done >= total:
            _flip_a_data_byte_keeping_the_mtime(ckpt)

    with pytest.raises(hashing.FileChangedWhileHashing):
        hashing.weights_sha256(ckpt, progress=write, use_cache=False)
    assert hashing.cached(ckpt, "weights_sha256") is None


# ------------------------------------------------------------------------------- items 8, 9: the writes


def test_temp_files_of_a_killed_rewrite_are_removed_by_the_next_stamp(ckpt, tmp_path):
    # a real kill -9 in the middle of the copy, in another process
    script = f"""
import sys, time
sys.path.insert(0, {str(Path.cwd())!r})
from iga_core.checkpoint import stamp
real = stamp._copy_chunk
def slow(*a):
    print("copying", flush=True)
    time.sleep(30)
    return real(*a)
stamp._copy_chunk = slow
stamp.stamp({str(ckpt)!r}, {RECIPE!r})
"""
    env = {**os.environ, "IGA_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"copying"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = [p.name for p in ckpt.parent.iterdir() if p.name.endswith(".iga-tmp")]
    assert len(left) == 1  # what a killed rewrite leaves
    keep = ckpt.parent / ".model.safetensors.iga.json.abcd1234.iga-tmp"  # another file's temp: not ours
    keep.write_bytes(b"x")
    result = stamp.stamp(ckpt, RECIPE)
    assert any("removed 1 temp file" in n for n in result.notices)
    assert sorted(p.name for p in ckpt.parent.iterdir()) == [keep.name, "model.safetensors"]


def test_a_symlink_is_stamped_at_its_target_on_both_paths(ckpt, tmp_path):
    link = tmp_path / "link.safetensors"
    link.symlink_to(ckpt)
    first = stamp.stamp(link, RECIPE)  # rewrite path
    assert first.mode == "rewrite" and link.is_symlink() and Path(first.path) == ckpt.resolve()
    assert any("symlink" in n for n in first.notices)
    second = stamp.stamp(link, {**RECIPE, "title": "in place"})
    assert second.mode == "in_place" and link.is_symlink()
    assert json.loads(sio.read_header(ckpt).metadata["iga"])["title"] == "in place"
    assert [p.name for p in ckpt.parent.iterdir()] == ["model.safetensors"]


def test_hard_links_see_an_in_place_stamp_and_are_never_split_by_a_rewrite(ckpt, tmp_path):
    stamp.stamp(ckpt, RECIPE)
    twin = tmp_path / "twin.safetensors"
    os.link(ckpt, twin)
    assert stamp.stamp(ckpt, {**RECIPE, "title": "both"}).mode == "in_place"
    assert json.loads(sio.read_header(twin).metadata["iga"])["title"] == "both"
    before = ckpt.read_bytes()
    big = {**RECIPE, "x-big": "n" * 100_000}
    with pytest.raises(stamp.Refused, match="2 hard links") as info:
        stamp.stamp(ckpt, big)
    assert "--out" in info.value.hint
    assert ckpt.read_bytes() == before and os.path.samefile(ckpt, twin)


def test_two_concurrent_stamps_are_serialized_and_the_second_says_what_it_replaced(ckpt, monkeypatch):
    real = stamp._copy_chunk

    def slow(*a):
        time.sleep(0.05)  # keep the first writer inside the lock while the second arrives
        return real(*a)

    monkeypatch.setattr(stamp, "_copy_chunk", slow)
    results: dict[str, stamp.StampResult] = {}
    waited = []
    start = threading.Barrier(2)

    def run(name):
        start.wait()
        results[name] = stamp.stamp(ckpt, {**RECIPE, "title": name}, on_wait=lambda: waited.append(name))

    threads = [threading.Thread(target=run, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(results) == {"A", "B"} and len(waited) == 1
    later, earlier = (results["A"], results["B"]) if waited == ["A"] else (results["B"], results["A"])
    assert later.replaced_metadata_sha256 == earlier.metadata_sha256  # nothing lost without a word
    final = json.loads(sio.read_header(ckpt).metadata["iga"])
    assert final["hashes"]["metadata_sha256"] == later.metadata_sha256
    assert [p.name for p in ckpt.parent.iterdir()] == ["model.safetensors"]


def test_a_stamp_that_cannot_get_the_lock_fails_with_a_message(ckpt):
    before = ckpt.read_bytes()
    waited = []
    with locks.held(ckpt), pytest.raises(locks.FileBusy, match=r"another iga process is writing model\.safetensors") as info:
        stamp.stamp(ckpt, RECIPE, wait_s=0.2, on_wait=lambda: waited.append(1))
    assert waited == [1] and info.value.hint and ckpt.read_bytes() == before
    assert not locks.lock_path(ckpt).exists()  # the holder removes its lock file


# ---------------------------------------------------------------------------- item 14: torn header write


class _PowerCut(BaseException):
    pass


def _torn_write(monkeypatch, where: str = "first-difference"):
    """The in-place header write stops part-way (then the power goes): just after the first byte where the
    new header differs from the old one, or half-way through the new JSON."""
    real = journal.write_block

    def write_block(fh, path, old, new):
        if where == "first-difference":
            cut = next(i for i, (x, y) in enumerate(zip(old, new, strict=True)) if x != y) + 1
        else:
            cut = len(new.rstrip(b" ")) // 2

        class Torn:
            def __getattr__(self, name):
                return getattr(fh, name)

            def write(self, data):
                fh.write(data[:cut])
                fh.flush()
                os.fsync(fh.fileno())
                raise _PowerCut

        real(Torn(), path, old, new)

    monkeypatch.setattr(journal, "write_block", write_block)


@pytest.mark.parametrize("where", ["first-difference", "half-way"])
def test_a_torn_in_place_write_is_repaired_by_the_next_read(ckpt, monkeypatch, where):
    stamp.stamp(ckpt, RECIPE)
    intact = ckpt.read_bytes()
    _torn_write(monkeypatch, where)
    with pytest.raises(_PowerCut):
        stamp.stamp(ckpt, {**RECIPE, "title": "never written"})
    monkeypatch.undo()
    torn = ckpt.read_bytes()
    assert torn != intact and journal.pending(ckpt)
    n = int.from_bytes(torn[:8], "little")
    try:  # what a reader sees without the repair: a broken header, or old and new mixed into a lie
        mixed = json.loads(sio.parse_header(torn[8:8 + n], len(torn)).metadata["iga"])
    except (sio.HeaderError, ValueError):
        mixed = None
    assert mixed is None or "title" not in mixed  # never the stamp that was asked for
    header = sio.read_header(ckpt)  # repairs first
    assert ckpt.read_bytes() == intact and not journal.pending(ckpt)
    assert json.loads(header.metadata["iga"])["model_id"] == RECIPE["model_id"]
    assert find_recipe(ckpt, verify="always", registry=False).hash_status == "verified"


def test_a_torn_write_is_repaired_by_the_next_stamp(ckpt, monkeypatch):
    stamp.stamp(ckpt, RECIPE)
    _torn_write(monkeypatch)
    with pytest.raises(_PowerCut):
        stamp.stamp(ckpt, {**RECIPE, "title": "lost"})
    monkeypatch.undo()
    result = stamp.stamp(ckpt, {**RECIPE, "title": "after"})
    assert any("restored" in n for n in result.notices) and result.mode == "in_place"
    assert json.loads(sio.read_header(ckpt).metadata["iga"])["title"] == "after"


def test_the_journal_is_on_disk_before_the_header_is_touched(ckpt, monkeypatch):
    """The order the repair relies on: the journal's data and its folder entry are flushed before the first
    byte of the header is overwritten, and the new header is flushed before the journal goes (the flushes
    are data syncs: `journal._flush_data`)."""
    stamp.stamp(ckpt, RECIPE)
    intact = ckpt.read_bytes()
    events = []
    real_data, real_dir = journal._flush_data, journal.fsync_dir
    monkeypatch.setattr(journal, "_flush_data", lambda fd: events.append(
        ("data", journal.pending(ckpt), ckpt.read_bytes() == intact)) or real_data(fd))
    monkeypatch.setattr(journal, "fsync_dir", lambda folder: events.append(
        ("dir", journal.pending(ckpt), ckpt.read_bytes() == intact)) or real_dir(folder))
    stamp.stamp(ckpt, {**RECIPE, "title": "ordered"})
    # journal data flushed, then its folder, the file still intact; then the new header flushed, journal still there
    assert events == [("data", True, True), ("dir", True, True), ("data", True, False)]
    assert not journal.pending(ckpt)


def test_a_finished_write_whose_journal_survived_is_kept(ckpt, monkeypatch):
    stamp.stamp(ckpt, RECIPE)
    monkeypatch.setattr(journal.os, "unlink", lambda p: None)  # the power went before the journal was deleted
    stamp.stamp(ckpt, {**RECIPE, "title": "done"})
    monkeypatch.undo()
    assert journal.pending(ckpt)
    assert json.loads(sio.read_header(ckpt).metadata["iga"])["title"] == "done"
    assert not journal.pending(ckpt)


def test_a_torn_journal_is_dropped_and_the_file_left_alone(ckpt):
    stamp.stamp(ckpt, RECIPE)
    intact = ckpt.read_bytes()
    journal.journal_path(ckpt).write_bytes(journal.MAGIC + b'{"length": 9')  # the power went while writing it
    assert sio.read_header(ckpt).metadata["iga"]
    assert ckpt.read_bytes() == intact and not journal.pending(ckpt)


def test_a_live_journal_is_left_to_the_stamp_holding_the_lock(ckpt):
    stamp.stamp(ckpt, RECIPE)
    journal.journal_path(ckpt).write_bytes(b"in use")
    with locks.held(ckpt):
        with contextlib.suppress(sio.HeaderError):
            sio.read_header(ckpt)
        assert journal.pending(ckpt)  # not touched while another writer holds the lock
    sio.read_header(ckpt)
    assert not journal.pending(ckpt)
