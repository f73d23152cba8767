"""Images made with a stamped checkpoint carry its pre-stamp AutoV2 in the form CivitAI's resource matching
reads (`Hashes: {"model": …}`), beside the host's own Model hash; through the host double, A1111 and Forge."""

from __future__ import annotations

import json

import pytest

from iga_core.audit import civitai_hashes
from iga_core.checkpoint import hashing, stamp
from tests.factories import make_checkpoint
from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING

pytestmark = pytest.mark.host

ORIGINAL: dict[str, str] = {}


def _checkpoints(double):
    path = make_checkpoint(double.models / "stamped.safetensors", seed=11)
    ORIGINAL["stamped"] = hashing.file_sha256(path, use_cache=False)  # the download, before the stamp
    stamp.stamp(path, LIGHTNING)
    make_checkpoint(double.models / "plain.safetensors", seed=12)
    side = make_checkpoint(double.models / "sidecar.safetensors", seed=13)
    stamp.write_sidecar(side, LIGHTNING)


started = started_host(_checkpoints, select="stamped.safetensors")


@pytest.fixture
def webui(started):
    started.reset("stamped.safetensors")
    return started


def parameters_line(webui, checkpoint: str) -> str:
    webui.select(checkpoint)
    status, body = webui.api_txt2img({"prompt": "a cat", "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler",
                                      "scheduler": "Karras", "width": 640, "height": 640})  # fmt: skip
    assert status == 200, body
    return json.loads(body["info"])["infotexts"][0].splitlines()[-1]


def test_a_stamped_checkpoints_images_carry_the_original_autov2(webui):
    line = parameters_line(webui, "stamped.safetensors")
    original = ORIGINAL["stamped"][:10]
    # the exact form civitai/sd_civitai_extension writes: json.dumps({"model": <AutoV2>})
    assert f', Hashes: {{"model": "{original}"}}' in line
    # the host's own Model hash is the stamped file's, and stays
    params = webui.m.infotext_utils.parse_generation_parameters(line)
    assert params["Model hash"] != original
    assert params["Model hash"] == hashing.file_sha256(webui.models / "stamped.safetensors")[:10]
    # CivitAI's parser (automatic.metadata.ts) takes Hashes.model over Model hash
    assert civitai_hashes.civitai_model_hash(line) == original
    # the host's parser still reads every other field of the line (the value has no comma)
    assert params["Steps"] == "4" and params["IGA"].startswith("v1 ")
    assert params["Hashes"] == f'{{"model": "{original}"}}'


@pytest.mark.parametrize("name", ["plain.safetensors", "sidecar.safetensors"])
def test_unstamped_files_need_no_original_hash(webui, name):
    line = parameters_line(webui, name)
    assert "Hashes:" not in line
    assert civitai_hashes.civitai_model_hash(line) == webui.m.infotext_utils.parse_generation_parameters(line)["Model hash"]


def test_another_extensions_hashes_are_kept():
    theirs = {"vae": "abcdef0123", "lora:x": "1234567890"}
    assert civitai_hashes.merged(theirs, "0011223344") == {**theirs, "model": "0011223344"}
    assert civitai_hashes.merged(json.dumps(theirs), "0011223344")["vae"] == "abcdef0123"
    assert civitai_hashes.merged({"model": "ffffffffff"}, "0011223344") == {"model": "ffffffffff"}
    assert civitai_hashes.merged(["odd"], "0011223344") is None


def test_original_hash_rules():
    sha = "ab" * 32
    assert civitai_hashes.original_model_hash("embedded", sha, "0123456789") == sha[:10]
    assert civitai_hashes.original_model_hash("embedded", sha, None) == sha[:10]  # host ran with --no-hashing
    assert civitai_hashes.original_model_hash("embedded", sha, sha[:10].upper()) is None  # unchanged file
    assert civitai_hashes.original_model_hash("sidecar", sha, "0123456789") is None
    assert civitai_hashes.original_model_hash("embedded", "not a hash", "0123456789") is None
