"""Stamping, stripping, extracting and sidecars: the recipe lands where it should, the tensor bytes never change,
and the hosts' own reader still opens the file."""

from __future__ import annotations

import hashlib
import itertools
import json
import struct

import pytest
from safetensors import safe_open
from safetensors.numpy import load_file

from iga_core.checkpoint import hashing, stamp
from iga_core.checkpoint.safetensors_io import read_header
from iga_core.recipe import RecipeInvalid, metadata_sha256
from tests.factories import make_checkpoint
from tests.host_double import errors as host_errors
from tests.host_double.sd_models_metadata import read_metadata_from_safetensors

RECIPE = {
    "iga_version": "1.0.0",
    "model_id": "test-lightning-4step",
    "prediction_type": "eps",
    "sampler": {"name": "Euler", "mode": "ode", "params": {}},
    "scheduler": {"name": "SGM Uniform"},
    "steps": {"default": 4, "min": 4, "max": 4},
    "cfg": {"default": 1.0, "min": 1.0, "max": 1.0},
    "clip_skip": 2,
    "resolution": {"preferred": [{"width": 1024, "height": 1024}]},
}


@pytest.fixture
def ckpt(tmp_path):
    return make_checkpoint(tmp_path / "model.safetensors", metadata={"ss_note": "kept"}, max_elements=2048)


def _data(path) -> bytes:
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return raw[8 + n :]


def _leftovers(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".iga-tmp")]


def test_first_stamp_rewrites_with_spare_room_and_records_the_source_hash(ckpt):
    original = ckpt.read_bytes()
    source_data_start = read_header(ckpt).data_start
    result = stamp.stamp(ckpt, RECIPE)
    assert result.mode == "rewrite" and result.first_stamp
    assert result.source_file_sha256 == hashlib.sha256(original).hexdigest()
    assert result.weights_sha256 == hashlib.sha256(_data(ckpt)).hexdigest()
    assert any("AutoV2" in n and result.source_file_sha256[:10] in n for n in result.notices)
    assert _data(ckpt) == original[len(original) - len(_data(ckpt)) :]
    header = read_header(ckpt)
    assert header.spare >= stamp.SPARE_PADDING
    assert header.data_start % 4096 == source_data_start % 4096  # keeps the kernel copy fast
    assert header.metadata["ss_note"] == "kept"
    embedded = json.loads(header.metadata["iga"])
    assert embedded == result.recipe
    assert embedded["hashes"]["metadata_sha256"] == metadata_sha256(embedded) == result.metadata_sha256
    assert {k: v for k, v in embedded.items() if k != "hashes"} == RECIPE


def test_second_stamp_is_in_place_and_keeps_the_source_hash(ckpt, monkeypatch):
    first = stamp.stamp(ckpt, RECIPE)
    size = ckpt.stat().st_size
    before = ckpt.stat().st_mtime_ns
    monkeypatch.setattr(stamp, "copy_range", lambda *a, **k: pytest.fail("in-place stamp copied data"))
    second = stamp.stamp(ckpt, {**RECIPE, "title": "Lightning, 4 steps", "notes": "x" * 2000})
    assert second.mode == "in_place" and not second.first_stamp and not second.notices
    assert second.source_file_sha256 == first.source_file_sha256
    assert ckpt.stat().st_size == size
    assert ckpt.stat().st_mtime_ns > before  # the hosts cache metadata by mtime
    assert json.loads(read_header(ckpt).metadata["iga"])["title"] == "Lightning, 4 steps"


def test_a_recipe_that_outgrows_the_padding_is_rewritten(ckpt):
    stamp.stamp(ckpt, RECIPE)
    big = {**RECIPE, "x-author-data": {f"k{i}": "n" * 1000 for i in range(70)}}
    result = stamp.stamp(ckpt, big)
    assert result.mode == "rewrite"
    assert json.loads(read_header(ckpt).metadata["iga"])["x-author-data"] == big["x-author-data"]


def test_stamped_file_opens_in_safetensors_and_in_the_hosts_reader(ckpt):
    tensors_before = load_file(ckpt)
    result = stamp.stamp(ckpt, RECIPE)
    with safe_open(ckpt, framework="numpy") as f:
        assert json.loads(f.metadata()["iga"]) == result.recipe
    after = load_file(ckpt)
    assert after.keys() == tensors_before.keys()
    assert all(after[k].tobytes() == tensors_before[k].tobytes() for k in after)
    host_errors.REPORTS.clear()
    host = read_metadata_from_safetensors(str(ckpt))
    assert host_errors.REPORTS == []
    assert isinstance(host["iga"], dict) and host["iga"] == result.recipe
    assert host["ss_note"] == "kept"
    assert host["modelspec.prediction_type"] == "epsilon"


def test_modelspec_keys_are_added_without_clobbering(tmp_path):
    path = make_checkpoint(tmp_path / "m.safetensors", metadata={"modelspec.resolution": "512x512"})
    result = stamp.stamp(path, RECIPE)
    meta = read_header(path).metadata
    assert meta["modelspec.resolution"] == "512x512"
    assert result.modelspec_kept == {"modelspec.resolution": "512x512"}
    assert any("modelspec.resolution" in n for n in result.notices)
    assert meta["modelspec.prediction_type"] == "epsilon"
    assert meta["modelspec.encoder_layer"] == "2"
    assert meta["modelspec.hash_sha256"] == "0x" + result.weights_sha256


def test_restamp_updates_the_modelspec_keys_it_wrote_itself(ckpt):
    stamp.stamp(ckpt, RECIPE)
    result = stamp.stamp(ckpt, {**RECIPE, "prediction_type": "v", "clip_skip": 1})
    meta = read_header(ckpt).metadata
    assert meta["modelspec.prediction_type"] == "v" and meta["modelspec.encoder_layer"] == "1"
    assert result.modelspec_kept == {}


def test_invalid_recipe_is_refused_and_the_file_is_untouched(ckpt):
    original = ckpt.read_bytes()
    with pytest.raises(RecipeInvalid) as info:
        stamp.stamp(ckpt, {**RECIPE, "steps": {"default": 40, "min": 4, "max": 4}})
    assert any(p.pointer.startswith("/steps") for p in info.value.problems)
    assert ckpt.read_bytes() == original


def test_stale_or_foreign_hashes_in_the_input_are_replaced(ckpt):
    original = ckpt.read_bytes()
    foreign = {**RECIPE, "hashes": {"weights_sha256": "a" * 64, "metadata_sha256": "b" * 64,
                                    "source_file_sha256": "c" * 64}}  # fmt: skip
    result = stamp.stamp(ckpt, foreign)
    assert result.recipe["hashes"]["weights_sha256"] == hashing.weights_sha256(ckpt, use_cache=False)
    assert result.recipe["hashes"]["metadata_sha256"] == metadata_sha256(result.recipe)
    assert result.recipe["hashes"]["source_file_sha256"] == hashlib.sha256(original).hexdigest()
    again = stamp.stamp(ckpt, foreign)  # a restamp keeps this file's own source hash, not the input's
    assert again.recipe["hashes"]["source_file_sha256"] == hashlib.sha256(original).hexdigest()


def test_ckpt_files_are_refused_with_a_sidecar_hint(tmp_path):
    path = tmp_path / "old.ckpt"
    path.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(stamp.Refused) as info:
        stamp.stamp(path, RECIPE)
    assert "--sidecar" in info.value.hint


def test_out_writes_a_stamped_copy_and_leaves_the_original(ckpt, tmp_path):
    original = ckpt.read_bytes()
    copy = tmp_path / "copy.safetensors"
    result = stamp.stamp(ckpt, RECIPE, out=copy)
    assert result.mode == "copy" and result.path == str(copy)
    assert ckpt.read_bytes() == original
    assert json.loads(read_header(copy).metadata["iga"]) == result.recipe
    assert _data(copy) == _data(ckpt)


def test_strip_removes_only_the_recipe(ckpt):
    data = _data(ckpt)
    stamped = stamp.stamp(ckpt, RECIPE)
    result = stamp.strip(ckpt)
    assert result.mode == "in_place" and result.removed == stamped.recipe
    meta = read_header(ckpt).metadata
    assert "iga" not in meta and meta["ss_note"] == "kept" and "modelspec.prediction_type" in meta
    assert _data(ckpt) == data
    assert stamp.strip(ckpt).mode == "unchanged"
    with safe_open(ckpt, framework="numpy") as f:
        assert "iga" not in f.metadata()


def test_strip_to_a_copy(ckpt, tmp_path):
    stamp.stamp(ckpt, RECIPE)
    before = ckpt.read_bytes()
    result = stamp.strip(ckpt, out=tmp_path / "clean.safetensors")
    assert result.mode == "copy" and ckpt.read_bytes() == before
    assert "iga" not in read_header(tmp_path / "clean.safetensors").metadata


def test_extract_writes_the_embedded_recipe_to_the_sidecar(ckpt):
    stamped = stamp.stamp(ckpt, RECIPE)
    target = stamp.extract(ckpt)
    assert target == stamp.sidecar_path(ckpt) and target.name == "model.safetensors.iga.json"
    assert stamp.read_sidecar(target) == stamped.recipe
    assert stamp.extract(ckpt) == target  # same content again: fine
    target.write_text(json.dumps({"model_id": "other"}))
    with pytest.raises(stamp.Refused):
        stamp.extract(ckpt)
    stamp.extract(ckpt, overwrite=True)
    assert stamp.read_sidecar(target) == stamped.recipe


def test_extract_without_a_recipe_is_an_error(ckpt):
    with pytest.raises(stamp.NoRecipe):
        stamp.extract(ckpt)


def test_sidecar_mode_never_touches_the_checkpoint(tmp_path):
    path = tmp_path / "old.ckpt"
    path.write_bytes(b"PK\x03\x04 not really a zip" * 50)
    original = path.read_bytes()
    result = stamp.write_sidecar(path, RECIPE)
    assert path.read_bytes() == original
    assert result.mode == "sidecar" and result.path == str(tmp_path / "old.ckpt.iga.json")
    written = stamp.read_sidecar(result.path)
    assert written["hashes"]["weights_sha256"] == hashlib.sha256(original).hexdigest()
    assert written["hashes"]["source_file_sha256"] == hashlib.sha256(original).hexdigest()
    assert written["hashes"]["metadata_sha256"] == metadata_sha256(written)


def test_sidecar_for_safetensors_uses_the_tensor_hash(ckpt):
    result = stamp.write_sidecar(ckpt, RECIPE)
    assert result.weights_sha256 == hashlib.sha256(_data(ckpt)).hexdigest()


def test_broken_embedded_value_is_a_typed_error(tmp_path):
    path = make_checkpoint(tmp_path / "m.safetensors", metadata={"iga": "{not json"})
    with pytest.raises(stamp.EmbeddedRecipeInvalid):
        stamp.read_embedded(path)
    stamp.stamp(path, RECIPE)  # a broken value is simply replaced
    assert stamp.read_embedded(path)["model_id"] == RECIPE["model_id"]


def test_broken_sidecar_is_a_typed_error(ckpt):
    stamp.sidecar_path(ckpt).write_text("[1, 2]")
    with pytest.raises(stamp.SidecarInvalid):
        stamp.read_sidecar(stamp.sidecar_path(ckpt))
    assert stamp.read_sidecar(ckpt.with_name("absent.iga.json")) is None


def test_weights_hash_cache_is_warm_after_a_stamp(ckpt, monkeypatch):
    stamp.stamp(ckpt, RECIPE)
    monkeypatch.setattr(hashing, "hash_range", lambda *a, **k: pytest.fail("re-hashed after stamping"))
    assert hashing.weights_sha256(ckpt) == hashlib.sha256(_data(ckpt)).hexdigest()


def test_unwritable_file_is_a_write_error_and_unchanged(ckpt):
    stamp.stamp(ckpt, RECIPE)
    before = ckpt.read_bytes()
    ckpt.chmod(0o444)
    with pytest.raises(stamp.WriteFailed) as info:
        stamp.stamp(ckpt, {**RECIPE, "title": "t"})  # fits: the in-place path
    assert "read-only" in info.value.message and "--sidecar" in info.value.hint
    with pytest.raises(stamp.WriteFailed) as info:
        stamp.stamp(ckpt, {**RECIPE, "x-big": "n" * 100_000})  # does not fit: the rewrite path, refused alike
    assert "read-only" in info.value.message
    assert ckpt.read_bytes() == before and _leftovers(ckpt.parent) == []


def test_is_first_stamp_until_a_source_hash_is_recorded(ckpt, tmp_path):
    assert stamp.is_first_stamp(ckpt)
    stamp.stamp(ckpt, RECIPE)
    assert not stamp.is_first_stamp(ckpt)
    stamp.strip(ckpt)
    assert stamp.is_first_stamp(ckpt)  # the stripped file is a new source: its hash is recorded again


def test_the_header_kept_after_an_in_place_stamp_is_what_parsing_gives(ckpt):
    from iga_core.checkpoint import safetensors_io as sio

    stamp.stamp(ckpt, RECIPE)  # first stamp: a rewrite with spare room
    result = stamp.stamp(ckpt, {**RECIPE, "title": "again"})
    assert result.mode == "in_place"
    kept = sio.read_header(ckpt)  # served from the recent-header memo
    raw, size = sio.read_raw_header(ckpt)
    fresh = sio.parse_header(raw, size, path=str(ckpt))
    assert kept == fresh and kept.raw == raw and list(kept.tensors) == list(fresh.tensors)
    assert json.loads(kept.metadata["iga"])["title"] == "again"


# ---- the first stamp in one pass (issue #19) ----


@pytest.fixture
def bigger(tmp_path):
    """A checkpoint of many blocks at a 4 KiB block size, so the threaded pipeline runs."""
    return make_checkpoint(tmp_path / "big.safetensors", max_elements=40_000)


def _spy_reads(monkeypatch):
    """Count the passes over the source: `hash_file` calls (each reads the data once) and the blocks the
    one-pass copy takes from the source, in order."""
    calls = {"hash_file": [], "copied": []}
    real_hash, real_copy = hashing.hash_file, stamp.copy_range
    monkeypatch.setattr(hashing, "BLOCK_SIZE", 4096)
    monkeypatch.setattr(stamp.hashing, "hash_file", lambda *a, **k: calls["hash_file"].append(k) or real_hash(*a, **k))
    monkeypatch.setattr(stamp, "copy_range",
                        lambda s, d, off, n, *r: calls["copied"].append((off, n)) or real_copy(s, d, off, n, *r))
    return calls


@pytest.mark.parametrize("out", [False, True], ids=["rewrite", "copy"])
def test_a_first_stamp_hashes_the_data_while_it_copies_it(bigger, tmp_path, monkeypatch, out):
    original = bigger.read_bytes()
    header = read_header(bigger)
    calls = _spy_reads(monkeypatch)
    target = tmp_path / "copy.safetensors" if out else bigger
    result = stamp.stamp(bigger, RECIPE, out=target if out else None)
    assert result.mode == ("copy" if out else "rewrite") and result.first_stamp
    assert len(calls["hash_file"]) == 1 and calls["hash_file"][0]["copy_to"] is not None  # one pass
    blocks = calls["copied"]
    assert len(blocks) > 3 and blocks[0][0] == header.data_start  # many blocks, from the data section on
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(blocks))  # in order, each once
    assert blocks[-1][0] + blocks[-1][1] == len(original)
    assert result.weights_sha256 == hashlib.sha256(original[header.data_start:]).hexdigest()
    assert result.source_file_sha256 == hashlib.sha256(original).hexdigest()
    written = target.read_bytes()
    assert written[read_header(target).data_start:] == original[header.data_start:]
    stored = json.loads(read_header(target).metadata["iga"])
    assert stored["hashes"]["metadata_sha256"] == metadata_sha256(stored) == result.metadata_sha256
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".iga-tmp")] == []


def test_the_one_pass_file_is_the_two_pass_file(bigger, tmp_path, monkeypatch):
    """Hashing while copying writes byte for byte the file that hashing first, then copying, writes."""
    twin = tmp_path / "twin.safetensors"
    twin.write_bytes(bigger.read_bytes())
    hashing.digests(twin)  # the twin's hashes are cached: its stamp hashes nothing, then copies
    monkeypatch.setattr(hashing, "BLOCK_SIZE", 4096)
    one = stamp.stamp(bigger, RECIPE)
    two = stamp.stamp(twin, RECIPE)
    assert one.to_dict() | {"path": None, "notices": None} == two.to_dict() | {"path": None, "notices": None}
    assert bigger.read_bytes() == twin.read_bytes()


def test_a_failure_mid_pass_leaves_the_original(bigger, monkeypatch):
    original = bigger.read_bytes()
    monkeypatch.setattr(hashing, "BLOCK_SIZE", 4096)
    real = stamp._copy_chunk
    copied = {"n": 0}

    def failing(src, dst, offset, count):
        if copied["n"] >= 20_000:
            raise OSError(28, "No space left on device")
        copied["n"] += (n := real(src, dst, offset, count))
        return n

    monkeypatch.setattr(stamp, "_copy_chunk", failing)
    with pytest.raises(stamp.WriteFailed, match="No space"):
        stamp.stamp(bigger, RECIPE)
    assert bigger.read_bytes() == original and copied["n"] >= 20_000
    assert [p.name for p in bigger.parent.iterdir()] == ["big.safetensors"]


def test_the_one_pass_copy_is_flushed_as_it_goes(bigger, monkeypatch):
    """Write-behind: the copy is flushed every WRITE_BEHIND bytes while the digests go on, so the final
    fsync (still there: the rename is durable) has only the tail to write."""
    monkeypatch.setattr(hashing, "BLOCK_SIZE", 4096)
    monkeypatch.setattr(stamp, "WRITE_BEHIND", 16_384)
    flushes, fsyncs = [], []
    real_fdatasync, real_fsync = stamp.os.fdatasync, stamp.os.fsync
    monkeypatch.setattr(stamp.os, "fdatasync", lambda fd: flushes.append(fd) or real_fdatasync(fd))
    monkeypatch.setattr(stamp.os, "fsync", lambda fd: fsyncs.append(fd) or real_fsync(fd))
    size = read_header(bigger).data_size
    assert stamp.stamp(bigger, RECIPE).mode == "rewrite"
    assert len(flushes) == size // 16_384 and fsyncs  # the temp file's and the folder's fsyncs stay
