"""`iga reconstruct CHECKPOINT [--json] [-o OUT]`."""

from __future__ import annotations

import json
from pathlib import Path

from iga_core.cli import main
from iga_core.errors import ExitCode
from iga_core.recipe import validate_recipe
from tests.reconstruct_support import checkpoint


def test_reconstruct_prints_provenance_and_writes_nothing(tmp_path: Path, capsys):
    ckpt = checkpoint(tmp_path, "dmd2_sdxl_4step.safetensors")
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["reconstruct", str(ckpt)]) == 0
    out = capsys.readouterr().out
    assert "reconstructed recipe" in out and "/scheduler/grid" in out and "profile:dmd2" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_reconstruct_json_and_output_file(tmp_path: Path, capsys):
    ckpt = checkpoint(
        tmp_path, "flux1-schnell.safetensors", {"double_blocks.0.img_attn.qkv.weight": ("BF16", [8, 8])}
    )
    target = tmp_path / "out.json"
    assert main(["reconstruct", "--json", "-o", str(target), str(ckpt)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["status"] == "reconstructed" and data["written"] == str(target)
    assert data["recipe"]["prediction_type"] == "flow"
    assert {"pointer", "source", "confidence", "detail", "value"} <= set(data["fields"][0])
    assert validate_recipe(json.loads(target.read_text())) == []


def test_reconstruct_bad_input(tmp_path: Path, capsys):
    assert main(["reconstruct", str(tmp_path / "missing.safetensors")]) == ExitCode.UNAVAILABLE
    assert "not a file" in capsys.readouterr().err
    broken = tmp_path / "b.safetensors"
    broken.write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{]")
    code = main(["reconstruct", "--json", str(broken)])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and out["ok"] is False and out["message"]
