"""`iga registry add|list|show|remove|export|import`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iga_core.checkpoint.hashing import weights_sha256
from iga_core.cli import main
from tests.factories import make_checkpoint

EXAMPLES = Path(__file__).resolve().parents[1] / "metadata_examples"
RECIPE = EXAMPLES / "sdxl-lightning-4step.iga.json"


@pytest.fixture
def env(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "reg"))
    ckpt = make_checkpoint(tmp_path / "lightning.safetensors")
    return tmp_path, ckpt, weights_sha256(ckpt)


def run(capsys, *argv: str):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_show_remove(env, capsys):
    _, ckpt, sha = env
    code, out, _ = run(capsys, "registry", "add", str(RECIPE), "--for", str(ckpt))
    assert code == 0 and f"added {sha}" in out
    code, _, err = run(capsys, "registry", "add", str(RECIPE), "--for", str(ckpt))
    assert code == 1 and "--replace" in err
    code, out, _ = run(capsys, "registry", "add", "--json", str(RECIPE), "--for", str(ckpt), "--replace")
    assert code == 0 and json.loads(out)["action"] == "replaced"

    code, out, _ = run(capsys, "registry", "list", "--json")
    [entry] = json.loads(out)["entries"]
    assert entry["weights_sha256"] == sha and entry["valid"]
    code, out, _ = run(capsys, "registry", "list")
    assert sha[:12] in out and "sdxl-lightning-4step" in out

    for key in (sha, sha[:10], str(ckpt)):
        code, out, _ = run(capsys, "registry", "show", "--json", key)
        assert code == 0 and json.loads(out)["recipe"]["hashes"]["weights_sha256"] == sha
    code, out, _ = run(capsys, "registry", "remove", sha[:12])
    assert code == 0 and "removed" in out
    code, _, err = run(capsys, "registry", "show", sha)
    assert code == 1 and "no registry entry" in err


def test_export_import(env, capsys):
    tmp, ckpt, sha = env
    run(capsys, "registry", "add", str(RECIPE), "--for", str(ckpt))
    bundle = tmp / "share.json"
    code, out, _ = run(capsys, "registry", "export", "-o", str(bundle))
    assert code == 0 and "exported 1 entry" in out
    code, out, _ = run(capsys, "registry", "export")
    assert json.loads(out) == json.loads(bundle.read_text())
    friend = tmp / "friend"
    code, out, _ = run(capsys, "registry", "--folder", str(friend), "import", "--json", str(bundle))
    assert code == 0 and json.loads(out)["added"] == [sha]
    assert (friend / f"{sha}.iga.json").is_file()
    code, out, _ = run(capsys, "registry", "--folder", str(friend), "import", str(bundle))
    assert code == 0 and "1 already present" in out


def test_errors_are_one_line(env, capsys):
    tmp, _, _ = env
    bad = tmp / "bad.json"
    bad.write_text(json.dumps({"format": "iga-registry-bundle", "version": 1,
                               "entries": [{"iga_version": "1.0.0", "hashes": {"weights_sha256": "a" * 64}}]}))  # fmt: skip
    code, out, _ = run(capsys, "registry", "import", str(bad))
    assert code == 1 and "rejected entry 0" in out
    code, _, err = run(capsys, "registry", "import", str(RECIPE))
    assert code == 1 and "not an iga registry bundle" in err
    code, _, err = run(capsys, "registry", "add", str(RECIPE))  # the example names no weights
    assert code == 1 and "--for CHECKPOINT" in err
    code, _, err = run(capsys, "registry", "show", "xyz")
    assert code == 1 and "Traceback" not in err
    code, _, err = run(capsys, "registry")
    assert code == 2 and "ACTION" in err


def test_check_of_an_unstamped_checkpoint_uses_its_registry_entry(env, capsys):
    # the default registry ($IGA_REGISTRY here) is consulted without any flag; adding --for hashed the file,
    # so even `--verify never` (check's default) finds the entry through the hash cache
    _, ckpt, _ = env
    assert run(capsys, "check", str(ckpt), "--sampler", "Euler", "--steps", "4")[0] == 1  # no recipe yet
    assert run(capsys, "registry", "add", str(RECIPE), "--for", str(ckpt))[0] == 0
    code, out, _ = run(capsys, "check", str(ckpt), "--sampler", "DDIM", "--steps", "4", "--json")
    data = json.loads(out)
    assert code == 3 and data["source"]["kind"] == "registry" and data["verdict"]["blocked_ids"]
    assert run(capsys, "check", str(ckpt), "--sampler", "Euler", "--scheduler", "SGM Uniform", "--steps", "4",
               "--cfg", "1", "--size", "1024x1024")[0] == 0
