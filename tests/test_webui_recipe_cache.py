"""The glue's recipe cache (`iga_webui.recipes`) through the host double: a generation reuses the lookup,
yet a sidecar written or a registry entry added after the first generation governs the next one at once."""

from __future__ import annotations

import json

import pytest

from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING, add_checkpoint

pytestmark = pytest.mark.host


def _checkpoints(double):
    add_checkpoint(double.models, "plain.safetensors", None, seed=2)


started = started_host(_checkpoints, select="plain.safetensors")


@pytest.fixture
def webui(started, tmp_path, monkeypatch):
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "registry"))
    for leftover in started.models.glob("*.iga.json"):
        leftover.unlink()
    started.reset("plain.safetensors")
    return started


def steps_used(webui) -> tuple[int, str | None]:
    status, body = webui.api_txt2img({"prompt": "a cat"})  # steps omitted: the recipe's default applies
    assert status == 200
    params = webui.m.infotext_utils.parse_generation_parameters(json.loads(body["info"])["infotexts"][0])
    return int(params["Steps"]), params.get("IGA recipe")


def test_a_sidecar_written_after_a_generation_governs_the_next(webui):
    from iga_core.checkpoint.stamp import write_sidecar

    assert steps_used(webui) == (50, None)  # no recipe yet: the API model's default
    write_sidecar(webui.models / "plain.safetensors", LIGHTNING)
    steps, digest = steps_used(webui)
    assert steps == 4 and digest
    edited = json.loads((webui.models / "plain.safetensors.iga.json").read_text())
    edited["steps"] = {"default": 6, "min": 4, "max": 8}
    edited.pop("hashes")
    write_sidecar(webui.models / "plain.safetensors", edited)
    assert steps_used(webui)[0] == 6


def test_a_registry_entry_added_after_a_generation_governs_the_next(webui):
    from iga_core.checkpoint.hashing import weights_sha256
    from iga_core.checkpoint.registry import Registry

    assert steps_used(webui) == (50, None)
    Registry().add(LIGHTNING, weights_sha256=weights_sha256(webui.models / "plain.safetensors"))
    assert steps_used(webui)[0] == 4


def test_a_same_size_swap_with_the_mtime_set_back_is_a_new_lookup(webui, tmp_path):
    """The glue keys its cache on the file's identity (device, inode, size, mtime, ctime), as the hash cache
    does: a file swapped in under the same name, size and mtime is looked up again, not served stale."""
    import os
    import shutil

    from iga_core.checkpoint.stamp import stamp
    from iga_webui import recipes

    path = webui.models / "plain.safetensors"
    stamp(path, {**LIGHTNING, "title": "one"})
    twin = tmp_path / "twin.safetensors"
    shutil.copyfile(path, twin)
    assert stamp(twin, {**LIGHTNING, "title": "two"}).mode == "in_place"  # same size
    assert recipes.lookup(str(path)).document["title"] == "one"
    st = path.stat()
    os.utime(twin, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(twin, path)
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert recipes.lookup(str(path)).document["title"] == "two"
