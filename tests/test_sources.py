"""find_recipe: precedence embedded > sidecar > registry > reconstructed, and tamper detection by hash."""

from __future__ import annotations

import json
import struct
import sys
import types

import pytest

from iga_core.checkpoint import hashing, sources, stamp
from iga_core.checkpoint.safetensors_io import encode_header, read_header
from iga_core.errors import IgaInvalid
from tests.factories import make_checkpoint
from tests.test_stamp import RECIPE


@pytest.fixture
def ckpt(tmp_path):
    return make_checkpoint(tmp_path / "model.safetensors")


def _split(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return raw[: 8 + n], raw[8 + n :]


def _edit_embedded(path, change):
    """Hand-edit the embedded recipe the way a user with a hex editor or a script would: hashes untouched."""
    header = read_header(path)
    recipe = json.loads(header.metadata["iga"])
    change(recipe)
    metadata = {**header.metadata, "iga": json.dumps(recipe)}
    _, data = _split(path)
    path.write_bytes(encode_header(metadata, header.tensors, exact_len=header.header_len) + data)


def test_embedded_recipe_verifies(ckpt):
    stamped = stamp.stamp(ckpt, RECIPE)
    src = sources.find_recipe(ckpt, verify="always")
    assert (src.kind, src.path, src.hash_status) == ("embedded", str(ckpt), "verified")
    assert src.document == stamped.recipe and src.recipe.to_dict() == stamped.recipe and src.problems == []
    assert src.weights.status == src.metadata.status == "ok"


def test_hand_edited_recipe_is_a_metadata_mismatch(ckpt):
    stamp.stamp(ckpt, RECIPE)
    _edit_embedded(ckpt, lambda r: r["steps"].update(default=4, max=30))
    src = sources.find_recipe(ckpt, verify="always")
    assert src.hash_status == "mismatch"
    assert src.metadata.status == "mismatch" and src.weights.status == "ok"
    assert any("metadata hash mismatch" in p for p in src.problems)


def test_recipe_copied_onto_other_weights_is_a_weights_mismatch(tmp_path):
    a = make_checkpoint(tmp_path / "a.safetensors", seed=1)
    b = make_checkpoint(tmp_path / "b.safetensors", seed=2)  # same layout, different weights
    stamp.stamp(a, RECIPE)
    header_a, _ = _split(a)
    _, data_b = _split(b)
    b.write_bytes(header_a + data_b)
    src = sources.find_recipe(b, verify="always")
    assert src.kind == "embedded" and src.hash_status == "mismatch"
    assert src.weights.status == "mismatch" and src.metadata.status == "ok"
    assert src.weights.expected == hashing.weights_sha256(a) and src.weights.actual == hashing.weights_sha256(b)


def test_verify_modes_control_hashing(ckpt, monkeypatch):
    stamped = stamp.stamp(ckpt, RECIPE)
    hashing.remember(ckpt, weights_sha256="f" * 64)  # a stale cache entry for this file state
    assert sources.find_recipe(ckpt, verify="first").weights.status == "mismatch"  # trusts the cache
    assert sources.find_recipe(ckpt, verify="always").hash_status == "verified"  # re-reads the file
    # "never" reads no tensor bytes: with no cached value the weights stay unchecked.
    monkeypatch.setenv("IGA_CACHE_DIR", str(ckpt.parent / "empty-cache"))
    monkeypatch.setattr(hashing, "hash_range", lambda *a, **k: pytest.fail("hashed with verify=never"))
    src = sources.find_recipe(ckpt, verify="never")
    assert src.hash_status == "unverified" and src.weights.status == "unchecked"
    assert src.weights.expected == stamped.weights_sha256 and src.metadata.status == "ok"


def test_bad_verify_mode_is_refused(ckpt):
    with pytest.raises(sources.BadVerifyMode):
        sources.find_recipe(ckpt, verify="sometimes")


def test_sidecar_is_used_when_nothing_is_embedded(tmp_path):
    path = tmp_path / "old.ckpt"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    stamp.write_sidecar(path, RECIPE)
    src = sources.find_recipe(path, verify="always")
    assert (src.kind, src.path, src.hash_status) == ("sidecar", str(stamp.sidecar_path(path)), "verified")


def test_embedded_wins_over_an_identical_sidecar_silently(ckpt):
    stamp.stamp(ckpt, RECIPE)
    stamp.extract(ckpt)
    src = sources.find_recipe(ckpt)
    assert src.kind == "embedded" and src.problems == []


def test_embedded_wins_over_a_different_sidecar_and_says_so(ckpt):
    stamp.stamp(ckpt, RECIPE)
    stamp.sidecar_path(ckpt).write_text(json.dumps({**RECIPE, "model_id": "something-else"}))
    src = sources.find_recipe(ckpt)
    assert src.kind == "embedded" and src.recipe.model_id == RECIPE["model_id"]
    assert any("differs from the embedded recipe" in p for p in src.problems)


def test_broken_sidecar_is_reported_not_raised(ckpt):
    stamp.stamp(ckpt, RECIPE)
    stamp.sidecar_path(ckpt).write_text("{oops")
    src = sources.find_recipe(ckpt)
    assert src.kind == "embedded" and any("not valid JSON" in p for p in src.problems)


def test_broken_embedded_value_falls_back_to_the_sidecar(tmp_path):
    path = make_checkpoint(tmp_path / "m.safetensors", metadata={"iga": "{broken"})
    stamp.write_sidecar(path, RECIPE)
    src = sources.find_recipe(path)
    assert src.kind == "sidecar" and any("embedded recipe unreadable" in p for p in src.problems)


def test_unreadable_header_falls_back_to_the_sidecar(tmp_path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(b"\x10" + bytes(7) + b'{"a":')
    stamp.sidecar_path(path).write_text(json.dumps(RECIPE))
    src = sources.find_recipe(path, verify="never")
    assert src.kind == "sidecar" and src.hash_status == "unverified"
    assert src.weights.status == src.metadata.status == "missing"


def test_handwritten_sidecar_without_hashes_is_unverified_and_invalid_fields_are_listed(ckpt):
    stamp.sidecar_path(ckpt).write_text(json.dumps({**RECIPE, "steps": {"default": 50, "min": 4, "max": 8}}))
    src = sources.find_recipe(ckpt, verify="always")
    assert src.kind == "sidecar" and src.hash_status == "unverified"
    assert any(p.startswith("/steps") for p in src.problems)


class FakeRegistry:
    folder = "/registry"

    def __init__(self, recipes):
        self.recipes = recipes
        self.asked = []

    def get(self, weights_sha256):
        self.asked.append(weights_sha256)
        return self.recipes.get(weights_sha256)


def test_registry_is_looked_up_by_weights_hash(ckpt):
    weights = hashing.weights_sha256(ckpt)
    registry = FakeRegistry({weights: {**RECIPE, "hashes": {"weights_sha256": weights}}})
    src = sources.find_recipe(ckpt, registry=registry)
    assert (src.kind, src.path) == ("registry", "/registry") and registry.asked == [weights]
    assert src.weights.status == "ok" and src.metadata.status == "missing" and src.hash_status == "unverified"


def test_registry_is_not_consulted_when_the_file_has_a_recipe(ckpt):
    stamp.stamp(ckpt, RECIPE)
    registry = FakeRegistry({})
    assert sources.find_recipe(ckpt, registry=registry).kind == "embedded" and registry.asked == []


def test_registry_miss_gives_none(ckpt):
    assert sources.find_recipe(ckpt, registry=FakeRegistry({})).kind == "none"


@pytest.fixture
def fake_reconstruct(monkeypatch):
    module = types.ModuleType("iga_core.reconstruct")
    calls = []

    def reconstruct(path):
        calls.append(path)
        return types.SimpleNamespace(recipe={**RECIPE, "model_id": "guessed"}, status="reconstructed")

    module.reconstruct = reconstruct
    monkeypatch.setitem(sys.modules, "iga_core.reconstruct", module)
    return module, calls


def test_reconstruction_is_the_last_resort(ckpt, fake_reconstruct):
    _, calls = fake_reconstruct
    assert sources.find_recipe(ckpt).kind == "none" and calls == []
    src = sources.find_recipe(ckpt, reconstruct=fake_reconstruct[0].reconstruct, registry=FakeRegistry({}))
    assert src.kind == "reconstructed" and src.hash_status == "unverified" and src.recipe.model_id == "guessed"
    assert any("not written by the model's author" in p for p in src.problems)


def test_failed_reconstruction_is_a_problem_not_a_crash(ckpt):
    def broken(path):
        raise IgaInvalid("no known architecture", "stamp a recipe by hand")

    src = sources.find_recipe(ckpt, reconstruct=broken)
    assert src.kind == "none" and any("reconstruction failed" in p for p in src.problems)


def test_to_dict_is_json_serialisable(ckpt):
    stamp.stamp(ckpt, RECIPE)
    data = sources.find_recipe(ckpt).to_dict()
    assert json.loads(json.dumps(data))["weights"]["status"] == "ok"
