"""`iga validate` and `iga migrate`: exit codes, --json output, checkpoints, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iga_core.cli import main
from iga_core.errors import ExitCode
from iga_core.recipe import validate_recipe
from tests.factories import make_checkpoint

EXAMPLES = Path(__file__).resolve().parents[1] / "metadata_examples"
TURBO = EXAMPLES / "sdxl-turbo.iga.json"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_a_valid_recipe(capsys):
    code, out, _ = run(capsys, "validate", str(TURBO))
    assert code == 0 and out.startswith("OK") and "digest matches" in out
    code, out, _ = run(capsys, "validate", "--json", str(TURBO))
    data = json.loads(out)
    assert (
        code == 0 and data["ok"] and data["model_id"] == "sdxl-turbo" and data["metadata_digest"] == "matches"
    )


def test_validate_an_invalid_recipe_lists_pointer_message_and_fix(capsys):
    bad = EXAMPLES / "invalid" / "canonical-steps-mismatch.json"
    code, out, _ = run(capsys, "validate", str(bad))
    assert code == 1 and "/scheduler/canonical_steps" in out and "fix: set canonical_steps to 4" in out
    code, out, _ = run(capsys, "validate", "--json", str(bad))
    data = json.loads(out)
    assert code == 1 and not data["ok"] and data["problems"][0]["pointer"] == "/scheduler/canonical_steps"


def test_validate_points_a_flat_draft_at_migrate(capsys):
    code, out, _ = run(capsys, "validate", str(EXAMPLES / "seed-flat-draft.json"))
    assert code == 1 and "iga migrate" in out


def test_validate_reads_the_recipe_embedded_in_a_checkpoint(tmp_path, capsys):
    recipe = json.loads(TURBO.read_text())
    ckpt = make_checkpoint(tmp_path / "turbo.safetensors", metadata={"iga": json.dumps(recipe)})
    code, out, _ = run(capsys, "validate", "--json", str(ckpt))
    assert code == 0 and json.loads(out)["source"] == "checkpoint"
    broken = make_checkpoint(
        tmp_path / "broken.safetensors", metadata={"iga": json.dumps({**recipe, "cfg": {}})}
    )
    code, out, _ = run(capsys, "validate", str(broken))
    assert code == 1 and "/cfg/default" in out


def test_validate_a_checkpoint_without_a_recipe(tmp_path, capsys):
    ckpt = make_checkpoint(tmp_path / "plain.safetensors")
    (tmp_path / "plain.safetensors.iga.json").write_text(TURBO.read_text())
    code, _, err = run(capsys, "validate", str(ckpt))
    assert code == 1 and "no embedded recipe" in err and "plain.safetensors.iga.json" in err


@pytest.mark.parametrize(
    ("content", "code", "fragment"),
    [(None, ExitCode.UNAVAILABLE, "does not exist"), (b"{not json", 1, "not valid JSON"), (b"\xff\xfe\x00", 1, "not UTF-8")],
)
def test_bad_files_give_one_line_errors_not_tracebacks(tmp_path, capsys, content, code, fragment):
    path = tmp_path / "r.json"
    if content is not None:
        path.write_bytes(content)
    got, out, err = run(capsys, "validate", str(path))
    assert got == code and fragment in err and "Traceback" not in err + out
    got, out, _ = run(capsys, "validate", "--json", str(path))
    assert got == code and json.loads(out)["ok"] is False


def test_a_garbage_checkpoint_is_a_typed_error(tmp_path, capsys):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    code, _, err = run(capsys, "validate", str(path))
    assert code in (1, 2) and err.startswith("iga:") and "Traceback" not in err


def test_migrate_to_a_file(tmp_path, capsys):
    target = tmp_path / "out" / "seed.iga.json"
    code, out, _ = run(capsys, "migrate", str(EXAMPLES / "seed-flat-draft.json"), "-o", str(target))
    assert code == 0 and "steps_range" in out and "written to" in out
    assert validate_recipe(json.loads(target.read_text())) == []
    assert [p.name for p in target.parent.iterdir()] == ["seed.iga.json"]  # no temp file left


def test_migrate_to_stdout_keeps_the_report_on_stderr(capsys):
    code, out, err = run(capsys, "migrate", str(EXAMPLES / "seed-flat-draft.json"))
    assert code == 0 and json.loads(out)["iga_version"] == "1.2.0" and "flat-draft -> 1.2.0" in err


def test_migrate_json_and_an_invalid_result(tmp_path, capsys):
    path = tmp_path / "flat.json"
    path.write_text(json.dumps({"model_id": "m", "sampler": "Euler", "steps_default": 20}))
    code, out, _ = run(capsys, "migrate", "--json", str(path))
    data = json.loads(out)
    assert code == 1 and data["from_version"] == "flat-draft" and data["changes"]
    assert {p["pointer"] for p in data["problems"]} == {"/prediction_type", "/cfg"}


def test_migrate_an_unknown_shape(tmp_path, capsys):
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    code, _, err = run(capsys, "migrate", str(path))
    assert code == 1 and "not a recipe" in err


@pytest.mark.parametrize("suffix", [".ckpt", ".gguf"])
def test_formats_without_a_header_point_at_their_sidecar(tmp_path, capsys, suffix):
    path = tmp_path / f"old{suffix}"
    path.write_bytes(b"\x80\x04not read")
    code, _, err = run(capsys, "validate", str(path))
    assert code == 1 and "cannot carry an embedded recipe" in err and f"old{suffix}.iga.json" in err
