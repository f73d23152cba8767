"""kohya LoRAs and training metadata, A1111's old AutoV1 hash, and `.civitai.info` checked against the file,
with fixtures written the way kohya sd-scripts, A1111 and Civitai Helper write them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from iga_core.checkpoint import civitai_info, hashing, stamp
from iga_core.checkpoint.layout import describe
from iga_core.cli import main
from iga_core.reconstruct import reconstruct
from iga_core.reconstruct.sources.kohya import resolution
from tests.factories import SD1_TENSORS, make_checkpoint
from tests.host_double.fixture import host  # noqa: F401 -- the host double, for its sd_models.model_hash
from tests.reconstruct_support import checkpoint

# kohya networks/lora.py (commit 48d368fa): modules are named lora_unet_<compvis path> / lora_te_<text model
# path> (lora_te1_ / lora_te2_ for SDXL's two encoders), each with lora_down.weight [rank, in],
# lora_up.weight [out, rank] and a scalar alpha
OLD_SD1_LORA = {
    "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": ("F16", [8, 768]),
    "lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": ("F16", [3072, 8]),
    "lora_te_text_model_encoder_layers_0_mlp_fc1.alpha": ("F16", []),
    "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.lora_down.weight": ("F16", [8, 768]),
    "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.lora_up.weight": ("F16", [320, 8]),
    "lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.alpha": ("F16", []),
}
SDXL_LORA = {
    "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": ("F16", [8, 768]),
    "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": ("F16", [3072, 8]),
    "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": ("F16", [8, 1280]),
    "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": ("F16", [5120, 8]),
}
# LyCORIS LoHa (A1111 extensions-builtin/Lora/network_hada.py reads hada_w1_a/b, hada_w2_a/b)
LOHA = {
    f"lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k.{part}": ("F16", [4, 4])
    for part in ("hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "alpha")
}


def old_kohya_metadata(**changes: str) -> dict[str, str]:
    """What train_network.py writes into a LoRA (every value through str(), no modelspec keys in the versions
    before ModelSpec support): the network, the base model version, the training resolution as str() of the
    tuple train_util.py makes of --resolution, and the base model's name and hashes."""
    meta = {
        "ss_session_id": "1234567890", "ss_training_started_at": "1690000000.0", "ss_output_name": "inkstyle",
        "ss_learning_rate": "0.0001", "ss_network_module": "networks.lora", "ss_network_dim": "8",
        "ss_network_alpha": "4.0", "ss_mixed_precision": "fp16", "ss_v2": "False", "ss_base_model_version": "sd_v1",
        "ss_clip_skip": "2", "ss_resolution": "(512, 512)", "ss_num_train_images": "40", "ss_seed": "42",
        "ss_noise_offset": "None", "ss_zero_terminal_snr": "False",
        "ss_tag_frequency": json.dumps({"10_ink": {"ink": 40}}),
        "ss_sd_model_name": "v1-5-pruned-emaonly.safetensors",
        "ss_sd_model_hash": "81761151", "ss_new_sd_model_hash": "6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa",
        "sshs_model_hash": "0" * 64, "sshs_legacy_hash": "00000000",
    }  # fmt: skip
    meta.update(changes)
    return meta


def host_model_hash(path: str) -> str:
    """A1111's `model_hash` by its definition (v1.10.1 modules/sd_models.py:203-215: seek 0x100000, read 0x10000,
    sha256, first 8 hex digits); the host double's line-by-line mirror is compared with it below."""
    with open(path, "rb") as f:
        f.seek(0x100000)
        return hashlib.sha256(f.read(0x10000)).hexdigest()[:8]


# --- a LoRA is a LoRA -------------------------------------------------------------------------------------


def test_an_old_kohya_lora_is_not_a_checkpoint(tmp_path: Path):
    r = reconstruct(checkpoint(tmp_path, "inkstyle.safetensors", OLD_SD1_LORA, old_kohya_metadata()))
    assert r.model == {"kind": "lora", "family": "sd1"}
    assert r.recipe["x-iga-model"]["kind"] == "lora" and r.recipe["architecture"] == "sd1"
    assert any("is a LoRA-type network" in f and "not a full checkpoint" in f for f in r.findings)
    assert "vae" not in r.recipe  # no "VAE inside" / "no VAE" claim about a LoRA
    assert any(f.startswith("trained on v1-5-pruned-emaonly.safetensors (AutoV1 81761151") for f in r.findings)


@pytest.mark.parametrize(("tensors", "meta", "family"), [
    (OLD_SD1_LORA, {}, "sd1"),  # tensor names alone decide, as A1111's loader does
    (SDXL_LORA, {}, "sdxl"),
    (LOHA, {"ss_network_module": "lycoris.kohya", "ss_base_model_version": "sd_v1"}, "sd1"),
])  # fmt: skip
def test_networks_by_tensor_names(tmp_path: Path, tensors, meta, family):
    r = reconstruct(checkpoint(tmp_path, "n.safetensors", tensors, meta or None))
    assert r.model["kind"] == "lora" and r.recipe["architecture"] == family


def test_a_full_checkpoint_is_still_one(tmp_path: Path):
    r = reconstruct(checkpoint(tmp_path, "sd15.safetensors", SD1_TENSORS))
    assert r.model["kind"] == "checkpoint" and r.recipe["vae"] == {"embedded": True}


def test_textual_inversion_embeddings():
    # A1111 textual_inversion.py reads `emb_params` from a safetensors embedding; SDXL ones carry clip_l/clip_g
    class T:
        def __init__(self, shape):
            self.shape = shape

    assert describe({"emb_params": T([4, 768])}).kind == "textual-inversion"
    assert describe({"emb_params": T([4, 768])}).family == "sd1"
    assert describe({"clip_l": T([4, 768]), "clip_g": T([4, 1280])}).family == "sdxl"


# --- ss_resolution in every form it takes ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "size"), [
    ("(768, 768)", (768, 768)),  # str(tuple) after train_util.py's conversion of --resolution
    ("(1024, 768)", (1024, 768)),
    ("[768, 768]", (768, 768)),  # str(list): dataset configs and GUIs
    ("768,768", (768, 768)),  # the raw --resolution "width,height"
    ("768", (768, 768)),  # the raw single-value --resolution
    ("[768]", (768, 768)),  # a one-element list: kohya's determine_resolution reads it as (768, 768)
    ("512x768", (512, 768)),
])  # fmt: skip
def test_ss_resolution_forms(tmp_path: Path, text, size):
    assert resolution(text) == {"width": size[0], "height": size[1]}
    r = reconstruct(checkpoint(tmp_path, "k.safetensors", OLD_SD1_LORA, old_kohya_metadata(ss_resolution=text)))
    assert r.recipe["resolution"]["preferred"][0] == {"width": size[0], "height": size[1]}


def test_ss_datasets_resolution_when_ss_resolution_is_absent(tmp_path: Path):
    # train_network.py with a dataset config: ss_datasets = json.dumps([{"resolution": (w, h), ...}])
    meta = old_kohya_metadata()
    del meta["ss_resolution"]
    meta["ss_datasets"] = json.dumps([{"is_dreambooth": True, "batch_size_per_device": 2, "num_train_images": 40,
                                       "resolution": [896, 1152], "enable_bucket": True}])  # fmt: skip
    r = reconstruct(checkpoint(tmp_path, "k.safetensors", OLD_SD1_LORA, meta))
    assert r.recipe["resolution"]["preferred"] == [{"width": 896, "height": 1152}]


@pytest.mark.parametrize("text", ["None", "", "(8, 8)", "[768, 768, 768]", "huge 99999999"])
def test_ss_resolution_garbage_is_ignored(text):
    assert resolution(text) is None


# --- AutoV1 ---------------------------------------------------------------------------------------------


def big_file(path: Path, seed: int = 0) -> Path:
    return make_checkpoint(path, {"model.diffusion_model.x.weight": ("F32", [400_000])}, seed=seed,
                           max_elements=400_000)  # fmt: skip


@pytest.mark.host
def test_autov1_is_a1111s_model_hash(tmp_path: Path, host):  # noqa: F811
    path = big_file(tmp_path / "big.safetensors")
    raw = path.read_bytes()
    assert len(raw) > 0x110000
    assert hashing.autov1(path) == hashlib.sha256(raw[0x100000:0x110000]).hexdigest()[:8]
    # the host double mirrors A1111 v1.10.1 modules/sd_models.py:203-215 line by line
    assert hashing.autov1(path) == host.m.sd_models.model_hash(str(path)) == host_model_hash(str(path))
    small = make_checkpoint(tmp_path / "small.safetensors")
    assert hashing.autov1(small) == host.m.sd_models.model_hash(str(small)) == "e3b0c442"  # sha256 of b""


def test_iga_hash_autov1(tmp_path: Path, capsys):
    path = big_file(tmp_path / "big.safetensors")
    assert main(["hash", "--autov1", "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["autov1"] == host_model_hash(str(path))


def test_inspect_compares_the_base_a_lora_was_trained_on(tmp_path: Path, capsys):
    base = big_file(tmp_path / "v1-5-pruned-emaonly.safetensors", seed=1)
    other = big_file(tmp_path / "other.safetensors", seed=2)
    meta = old_kohya_metadata(ss_sd_model_hash=host_model_hash(str(base)),
                              ss_new_sd_model_hash=hashlib.sha256(base.read_bytes()).hexdigest())  # fmt: skip
    lora = checkpoint(tmp_path, "inkstyle.safetensors", OLD_SD1_LORA, meta)
    assert main(["inspect", "--json", str(lora), "--base", str(base)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layout"]["kind"] == "lora" and data["base_check"]["status"] == "same"
    assert main(["inspect", str(lora), "--base", str(other)]) == 0
    assert "different: trained on another model: v1-5-pruned-emaonly.safetensors" in capsys.readouterr().out


def test_kohyas_directory_placeholder_is_not_a_hash(tmp_path: Path, capsys):
    # train_util.model_hash returns "IsADirectory" when the base was a diffusers folder
    lora = checkpoint(tmp_path, "x.safetensors", OLD_SD1_LORA,
                      old_kohya_metadata(ss_sd_model_hash="IsADirectory", ss_new_sd_model_hash=""))  # fmt: skip
    assert main(["inspect", "--json", str(lora), "--base", str(lora)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["base_check"]["status"] == "unknown" and "placeholder" in data["base_check"]["message"]


# --- .civitai.info checked against the file -------------------------------------------------------------


def civitai_helper_info(path: Path, *, base_model: str = "SD 1.5", hashes: dict | None = None) -> dict:
    """The model-version answer Civitai Helper saves as <model>.civitai.info (CivitAI API
    /model-versions/by-hash: files[].hashes with upper-case hex AutoV1, AutoV2, SHA256, CRC32, BLAKE3)."""
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    own = {"AutoV1": host_model_hash(str(path)).upper(), "AutoV2": sha[:10].upper(), "SHA256": sha.upper(),
           "CRC32": "0BADF00D", "BLAKE3": "AB" * 32}  # fmt: skip
    return {"id": 1001, "modelId": 77, "name": "v1.0", "baseModel": base_model, "model": {"name": "Ink", "type": "Checkpoint"},
            "files": [{"id": 5, "name": path.name, "type": "Model", "primary": True,
                       "metadata": {"format": "SafeTensor", "size": "pruned", "fp": "fp16"},
                       "hashes": own if hashes is None else hashes}]}  # fmt: skip


def test_a_matching_info_is_used(tmp_path: Path):
    ckpt = big_file(tmp_path / "ink.safetensors")
    info = civitai_helper_info(ckpt, base_model="SD 2.1 768")
    (tmp_path / "ink.civitai.info").write_text(json.dumps(info))
    assert civitai_info.check(ckpt, info).status == "matches"
    r = reconstruct(ckpt)
    assert r.recipe["prediction_type"] == "v"  # the info's baseModel was read


def test_a_mismatching_info_is_refused_with_a_clear_message(tmp_path: Path):
    ckpt = big_file(tmp_path / "ink.safetensors")
    other = big_file(tmp_path / "elsewhere.safetensors", seed=9)
    (tmp_path / "ink.civitai.info").write_text(json.dumps(civitai_helper_info(other, base_model="SD 2.1 768")))
    r = reconstruct(ckpt)
    [message] = [f for f in r.findings if "does not describe" in f]
    assert "ink.civitai.info does not describe ink.safetensors" in message
    assert f"AutoV1 {host_model_hash(str(other)).upper()}" in message and f"AutoV1 {hashing.autov1(ckpt)}" in message
    assert "not used" in message
    assert not any(e.source == "civitai" for e in r.evidence)


def test_a_full_hash_decides_when_cached(tmp_path: Path):
    ckpt = big_file(tmp_path / "ink.safetensors")
    info = civitai_helper_info(ckpt)
    info["files"][0]["hashes"] = {"SHA256": info["files"][0]["hashes"]["SHA256"]}
    assert civitai_info.check(ckpt, info).status == "unchecked"  # nothing comparable without hashing it all
    hashing.file_sha256(ckpt)
    assert civitai_info.check(ckpt, info).matched == ("SHA256",)


def test_inspect_recognises_the_info_of_the_file_before_its_stamp(tmp_path: Path, capsys):
    ckpt = big_file(tmp_path / "ink.safetensors")
    info = civitai_helper_info(ckpt)
    (tmp_path / "ink.civitai.info").write_text(json.dumps(info))
    recipe = {"iga_version": "1.0.0", "model_id": "ink", "architecture": "sd1", "prediction_type": "eps",
              "sampler": {"name": "Euler a"}, "scheduler": {"name": "Automatic"},
              "steps": {"default": 20, "min": 10, "max": 30}, "cfg": {"default": 7.0, "min": 5.0, "max": 9.0}}  # fmt: skip
    stamp.stamp(ckpt, recipe)
    assert main(["inspect", "--json", str(ckpt)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["civitai_info"]["status"] == "stamped"
    assert "iga's stamp changed" in data["civitai_info"]["message"]
