"""One exit-code table (`iga_core.errors.ExitCode`), applied by every command and every error class, and the
misleading answers the newcomer's first hour found (issue #17 item 8), each with the code and words it has now."""

from __future__ import annotations

import ast
import json
import re
import struct
from pathlib import Path

import pytest

from iga_core.checkpoint import stamp
from iga_core.checkpoint.safetensors_io import encode_header, read_header
from iga_core.cli import main
from iga_core.errors import EXIT_CODE_MEANINGS, ExitCode
from tests.factories import make_checkpoint
from tests.test_stamp import RECIPE

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "iga_core" / "cli"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# ---- the table ----


def test_the_table_is_complete_and_documented():
    assert set(EXIT_CODE_MEANINGS) == set(ExitCode)
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (.+) \|$", (ROOT / "docs" / "cli.md").read_text(), re.M)
    assert rows == [(str(int(c)), c.name, text) for c, text in EXIT_CODE_MEANINGS.items()], (
        "docs/cli.md's exit-code table differs from iga_core.errors.EXIT_CODE_MEANINGS"
    )


def test_iga_help_lists_the_table(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == ExitCode.OK
    out = capsys.readouterr().out
    for code, text in EXIT_CODE_MEANINGS.items():
        assert f"  {int(code):<4} {text}\n" in out


def _cli_returns():
    for path in sorted(CLI.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and (node.name.startswith("cmd_") or node.name == "_run"):
                for ret in ast.walk(node):
                    if isinstance(ret, ast.Return):
                        yield path.name, node.name, ret


def test_every_command_returns_a_code_of_the_table():
    returns = list(_cli_returns())
    assert len(returns) > 25  # every command family is seen
    for file, func, ret in returns:
        values = [ret.value] if not isinstance(ret.value, ast.IfExp) else [ret.value.body, ret.value.orelse]
        for value in values:
            named = (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                     and value.value.id == "ExitCode") or isinstance(value, ast.Name | ast.Call)  # fmt: skip
            assert named, f"{file}:{func} line {ret.lineno} returns {ast.unparse(value)}, not an ExitCode member"


def test_every_error_class_exits_with_a_code_of_the_table():
    # read, not imported: importing every module would pull gradio, torch and diffusers into this process
    assigned = 0
    for path in sorted((ROOT / "iga_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
                    if any(isinstance(t, ast.Name) and t.id == "exit_code" for t in targets):
                        value = stmt.value
                        assert (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
                                and value.value.id == "ExitCode" and value.attr in ExitCode.__members__), (
                            f"{path.name}:{node.name}.exit_code = {ast.unparse(value)}: name an ExitCode member")
                        assert value.attr not in ("OK", "BLOCKED"), f"{node.name}: an error is neither ok nor a verdict"
                        assigned += 1
    assert assigned >= 8  # the base classes and the ones that differ from their base
    from iga_core import errors

    for cls in (errors.IgaError, errors.IgaIOError, errors.IgaInvalid, errors.IgaNotFound, errors.IgaUsageError):
        assert isinstance(cls.exit_code, ExitCode)


def test_interrupt_and_no_command(capsys, monkeypatch):
    assert run(capsys)[0] == ExitCode.USAGE  # `iga` alone prints help

    def interrupted(args):
        raise KeyboardInterrupt

    from iga_core.cli import checkpoint_cmds

    monkeypatch.setattr(checkpoint_cmds, "cmd_hash", interrupted)
    code, _, err = run(capsys, "hash", "x.safetensors")
    assert code == ExitCode.INTERRUPTED and "interrupted" in err


# ---- the cases the issue lists ----


@pytest.fixture
def files(tmp_path):
    ckpt = make_checkpoint(tmp_path / "model.safetensors")
    stamp.stamp(ckpt, RECIPE)
    raw = ckpt.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = read_header(ckpt)
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(encode_header({**header.metadata, "iga": "{not json"}, header.tensors) + raw[8 + n :])
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(raw[: len(raw) // 2])
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(RECIPE))
    folder = tmp_path / "models"
    folder.mkdir()
    return {"ckpt": ckpt, "broken": broken, "truncated": truncated, "recipe": recipe, "folder": folder}


def test_a_folder_is_named_a_folder(capsys, files):
    for argv in (["stamp", files["folder"], files["recipe"], "--yes"], ["stamp", "--sidecar", files["folder"], files["recipe"]],
                 ["verify", files["folder"]], ["inspect", files["folder"]], ["check", files["folder"], "--steps", "4"]):  # fmt: skip
        code, _, err = run(capsys, *argv)
        assert code == ExitCode.UNAVAILABLE and "is a folder, not a file" in err, argv
        assert "sidecar" not in err and "no recipe" not in err, argv  # what it said before


def test_a_broken_embedded_recipe_is_not_called_missing(capsys, files):
    code, _, err = run(capsys, "verify", files["broken"])
    assert code == ExitCode.PROBLEM and "recipe cannot be read" in err and "not a JSON object" in err
    assert "has no recipe" not in err and "iga strip" in err
    code, _, err = run(capsys, "check", files["broken"], "--steps", "4")
    assert code == ExitCode.PROBLEM and "cannot be read" in err and "has no IGA recipe" not in err


def test_a_truncated_checkpoint_is_called_damaged_not_unstamped(capsys, files):
    code, _, err = run(capsys, "check", files["truncated"], "--steps", "4")
    assert code == ExitCode.PROBLEM and "truncated.safetensors: header length" in err
    assert "complete .safetensors file" in err and "iga stamp" not in err


def test_a_registry_folder_that_does_not_exist(capsys, tmp_path):
    missing = tmp_path / "nonexistent"
    for action in ("list", "export"):
        code, out, err = run(capsys, "registry", "--folder", missing, action)
        assert code == ExitCode.UNAVAILABLE and "does not exist" in err and out == "", action
    code, out, _ = run(capsys, "registry", "list")  # the default folder may simply not be made yet
    assert code == ExitCode.OK and "0 entries" in out and "not created yet" in out


def test_a_lora_weight_that_is_no_number(capsys, files):
    code, _, err = run(capsys, "check", files["recipe"], "--lora", f"{files['ckpt']}:abc")
    assert code == ExitCode.USAGE and "the weight 'abc' is not a number" in err and "no such file" not in err
    code, _, err = run(capsys, "check", files["recipe"], "--lora", f"{files['ckpt'].parent / 'gone.json'}:0.5")
    assert code == ExitCode.UNAVAILABLE and "gone.json does not exist" in err
    code, _, err = run(capsys, "check", files["recipe"], "--lora", f"{files['ckpt'].parent / 'gone.safetensors'}:0.5")
    assert code == ExitCode.UNAVAILABLE and "no such file" in err and "gone.safetensors:0.5" in err
    colon = files["ckpt"].parent / "a:b.json"  # a name with ':' is taken whole when it exists
    colon.write_text(json.dumps(RECIPE))
    assert run(capsys, "check", files["recipe"], "--lora", colon, "--steps", "4")[0] == ExitCode.OK


def test_flags_out_of_range_are_usage_like_argparse_refusals(capsys, files):
    for flags in (["--steps", "-3"], ["--preset", "Nope"], ["--cfg", "nan"], ["--override", "IGA-X999"]):
        assert run(capsys, "check", files["recipe"], *flags)[0] == ExitCode.USAGE, flags
    with pytest.raises(SystemExit) as exc:
        main(["check", str(files["recipe"]), "--denoise", "1.5"])
    assert exc.value.code == ExitCode.USAGE
    lightning = ROOT / "metadata_examples" / "sdxl-lightning-4step.iga.json"
    assert run(capsys, "check", lightning, "--sampler", "DDIM", "--steps", "20")[0] == ExitCode.BLOCKED
    assert run(capsys, "audit", "export", "--since", "whenever")[0] == ExitCode.USAGE


def test_missing_and_damaged_files_across_commands(capsys, files, tmp_path):
    absent = tmp_path / "absent.safetensors"
    for command in ("inspect", "verify", "hash", "strip", "extract", "validate", "reconstruct"):
        assert run(capsys, command, absent)[0] == ExitCode.UNAVAILABLE, command
    for command in ("inspect", "verify", "hash", "validate"):
        assert run(capsys, command, files["truncated"])[0] == ExitCode.PROBLEM, command
    image = tmp_path / "notes.png"
    image.write_text("hello")
    assert run(capsys, "read-image", image)[0] == ExitCode.PROBLEM
    assert run(capsys, "read-image", tmp_path / "gone.png")[0] == ExitCode.UNAVAILABLE
