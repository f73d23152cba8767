"""The recipe registry: entries keyed by weights hash, atomic writes, bundles, and its use by find_recipe."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from iga_core.checkpoint.hashing import weights_sha256
from iga_core.checkpoint.registry import (
    AmbiguousPrefix,
    BadWeightsHash,
    BundleInvalid,
    EntryExists,
    NotInRegistry,
    Registry,
    WeightsMismatch,
    default_folder,
)
from iga_core.checkpoint.sources import find_recipe
from iga_core.recipe import RecipeInvalid, digest_status
from tests.factories import make_checkpoint

EXAMPLES = Path(__file__).resolve().parents[1] / "metadata_examples"
TURBO = json.loads((EXAMPLES / "sdxl-turbo.iga.json").read_text())
A, B = "a" * 64, "b" * 64


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "registry")


def test_add_get_list_show_remove(reg: Registry):
    path = reg.add(TURBO, weights_sha256=A)
    assert path == reg.folder / f"{A}.iga.json"
    entry = reg.get(A)
    assert entry["hashes"]["weights_sha256"] == A and digest_status(entry) == "matches"
    assert {k: v for k, v in entry.items() if k != "hashes"} == {
        k: v for k, v in TURBO.items() if k != "hashes"
    }
    [listed] = reg.list()
    assert listed.weights_sha256 == A and listed.model_id == "sdxl-turbo" and listed.valid
    assert reg.show(A[:8]) == (A, entry)
    assert reg.remove("0X" + A.upper()) == A
    assert reg.get(A) is None and reg.list() == []


def test_keys_are_checked(reg: Registry):
    for bad in ("abc", "g" * 64, "", A + "0"):
        with pytest.raises(BadWeightsHash):
            reg.add(TURBO, weights_sha256=bad)
    with pytest.raises(BadWeightsHash):
        reg.add({k: v for k, v in TURBO.items() if k != "hashes"})  # no weights named anywhere
    with pytest.raises(NotInRegistry):
        reg.show(A)
    with pytest.raises(BadWeightsHash):
        reg.show("abc")


def test_prefixes_must_be_unique(reg: Registry):
    reg.add(TURBO, weights_sha256=A)
    reg.add(TURBO, weights_sha256="a" * 8 + "b" * 56)
    with pytest.raises(AmbiguousPrefix):
        reg.show("a" * 8)
    assert reg.show("a" * 9)[0] == A


def test_refusals(reg: Registry):
    with pytest.raises(RecipeInvalid):
        reg.add({**TURBO, "steps": {"default": 0}}, weights_sha256=A)
    named = {**TURBO, "hashes": {"weights_sha256": B}}
    with pytest.raises(WeightsMismatch):
        reg.add(named, weights_sha256=A)
    reg.add(named)  # the weights the recipe itself names
    with pytest.raises(EntryExists):
        reg.add(named)
    reg.add({**named, "model_id": "second"}, replace=True)
    assert reg.get(B)["model_id"] == "second"
    assert reg.list()[0].valid


def test_a_failed_write_leaves_the_old_entry_and_no_temp_file(reg: Registry, monkeypatch):
    reg.add(TURBO, weights_sha256=A)
    before = reg.path_for(A).read_bytes()

    def fail(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(Exception) as info:
        reg.add({**TURBO, "model_id": "new"}, weights_sha256=A, replace=True)
    assert "No space left" in str(info.value)
    assert reg.path_for(A).read_bytes() == before
    assert sorted(p.name for p in reg.folder.iterdir()) == [f"{A}.iga.json"]


def test_broken_entries_are_listed_not_fatal(reg: Registry):
    reg.folder.mkdir(parents=True)
    reg.path_for(A).write_text("{broken")
    reg.path_for(B).write_text(json.dumps({**TURBO, "hashes": {"weights_sha256": A}}))
    (reg.folder / "notes.txt").write_text("ignored")
    assert reg.get(A) is None
    entries = {e.weights_sha256: e for e in reg.list()}
    assert set(entries) == {A, B}
    assert not entries[A].valid and "not valid JSON" in entries[A].problem
    assert not entries[B].valid and "not the entry's key" in entries[B].problem
    assert reg.export()["entries"] == []  # an export of everything leaves broken entries out


def test_export_import_round_trip(tmp_path: Path, reg: Registry):
    reg.add(TURBO, weights_sha256=A)
    reg.add({**TURBO, "model_id": "other"}, weights_sha256=B)
    bundle = json.loads(json.dumps(reg.export()))
    assert bundle["format"] == "iga-registry-bundle" and len(bundle["entries"]) == 2
    assert len(reg.export([B[:10]])["entries"]) == 1

    other = Registry(tmp_path / "friend")
    result = other.import_(bundle)
    assert sorted(result.added) == [A, B] and not result.rejected
    assert other.get(A) == reg.get(A)
    again = other.import_(bundle)
    assert sorted(again.skipped) == [A, B] and not again.added
    replaced = other.import_(bundle, replace=True)
    assert sorted(replaced.replaced) == [A, B]


def test_import_rejects_bad_entries_and_keeps_the_good_ones(tmp_path: Path):
    reg = Registry(tmp_path / "r")
    good = {**TURBO, "hashes": {"weights_sha256": A}}
    bundle = {"format": "iga-registry-bundle", "version": 1, "entries": [
        good, {**TURBO, "hashes": {"weights_sha256": "nope"}}, {**good, "cfg": {}, "hashes": {"weights_sha256": B}}, 7,
    ]}  # fmt: skip
    result = reg.import_(bundle)
    assert result.added == [A]
    assert [r["index"] for r in result.rejected] == [1, 2, 3]
    assert result.rejected[1]["problems"][0]["pointer"] == "/cfg/default"


@pytest.mark.parametrize("bundle", [[], {"format": "other"}, {"format": "iga-registry-bundle", "version": 2},
                                    {"format": "iga-registry-bundle", "version": 1, "entries": {}}])  # fmt: skip
def test_not_a_bundle(tmp_path: Path, bundle):
    with pytest.raises(BundleInvalid) as info:
        Registry(tmp_path).import_(bundle)
    assert info.value.hint


def test_default_folder(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "mine"))
    assert default_folder() == tmp_path / "mine" and Registry().folder == tmp_path / "mine"
    monkeypatch.delenv("IGA_REGISTRY")
    monkeypatch.setenv("IGA_DATA_DIR", str(tmp_path / "iga-data"))
    assert default_folder() == tmp_path / "iga-data" / "registry"
    monkeypatch.delenv("IGA_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_folder() == tmp_path / "data" / "iga" / "registry"


def test_find_recipe_consults_the_users_registry_by_default(tmp_path: Path):
    ckpt = make_checkpoint(tmp_path / "unstamped.safetensors")
    Registry().add(TURBO, weights_sha256=weights_sha256(ckpt))  # the default folder ($IGA_DATA_DIR/registry)
    src = find_recipe(ckpt)
    assert src.kind == "registry" and src.recipe.model_id == "sdxl-turbo" and src.hash_status == "verified"
    assert src.path == str(default_folder())


def test_embedded_and_sidecar_still_win_over_the_default_registry(tmp_path: Path):
    from iga_core.checkpoint import stamp

    lightning = json.loads((EXAMPLES / "sdxl-lightning-4step.iga.json").read_text())
    ckpt = make_checkpoint(tmp_path / "a.safetensors")
    Registry().add(TURBO, weights_sha256=weights_sha256(ckpt))
    stamp.write_sidecar(ckpt, lightning)
    assert (find_recipe(ckpt).kind, find_recipe(ckpt).recipe.model_id) == ("sidecar", lightning["model_id"])
    stamp.stamp(ckpt, lightning)
    assert find_recipe(ckpt).kind == "embedded"


def test_an_empty_registry_costs_no_hashing(tmp_path: Path, monkeypatch):
    import iga_core.checkpoint.sources as sources

    ckpt = make_checkpoint(tmp_path / "plain.safetensors")
    hashed = []
    monkeypatch.setattr(sources.hashing, "weights_sha256", lambda *a, **k: hashed.append(a) or A)
    assert find_recipe(ckpt, verify="always").kind == "none" and hashed == []
    Registry().add(TURBO, weights_sha256=B)  # not empty any more: now the file is hashed to look it up
    assert find_recipe(ckpt, verify="always").kind == "none" and len(hashed) == 1


def test_find_recipe_consults_the_registry_after_embedded_and_sidecar(tmp_path: Path, reg: Registry):
    ckpt = make_checkpoint(tmp_path / "turbo.safetensors")
    sha = weights_sha256(ckpt)
    reg.add(TURBO, weights_sha256=sha)
    src = find_recipe(ckpt, registry=reg, verify="first")
    assert src.kind == "registry" and src.recipe.model_id == "sdxl-turbo" and src.hash_status == "verified"
    assert find_recipe(ckpt, registry=False).kind == "none"  # explicitly left out
    # renaming the file does not lose its registry recipe: the key is the tensor hash
    moved = ckpt.rename(tmp_path / "renamed.safetensors")
    assert find_recipe(moved, registry=reg).kind == "registry"


def test_find_recipe_falls_back_to_reconstruction(tmp_path: Path, reg: Registry):
    ckpt = make_checkpoint(tmp_path / "sdxl_lightning_4step.safetensors")
    from iga_core.reconstruct import reconstruct

    src = find_recipe(ckpt, registry=reg, reconstruct=reconstruct)
    assert src.kind == "reconstructed" and src.recipe.steps.default == 4
