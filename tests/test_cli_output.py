"""What the CLI prints, read as a newcomer reads it (issue #17 item 10): the progress bar leaves no stray
characters and names each phase, a one-sided range reads "at most …", a damaged audit record is not also
"none", a bad bundle entry says what is wrong with it, `iga vocab` fits 100 columns, and a stamp that meets a
ModelSpec prediction type other than the recipe's says what that means."""

from __future__ import annotations

import io
import json

import pytest

from iga_core import vocab
from iga_core.checkpoint import stamp
from iga_core.checkpoint.registry import Registry
from iga_core.cli import main, progress
from iga_core.cli.vocab_cmds import TABLE_WIDTH, render_table
from iga_core.errors import ExitCode
from iga_core.guard.verdict import format_value
from tests.factories import make_checkpoint
from tests.test_stamp import RECIPE


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def screen(text: str) -> list[str]:
    """The lines a terminal shows for `text`: "\\r" returns to the line's start and overwrites."""
    lines, line, col = [], [], 0
    for ch in text:
        if ch == "\n":
            lines.append("".join(line))
            line, col = [], 0
        elif ch == "\r":
            col = 0
        else:
            if col < len(line):
                line[col] = ch
            else:
                line.append(ch)
            col += 1
    if line:
        lines.append("".join(line))
    return lines


def test_a_shorter_redraw_leaves_no_characters_of_a_longer_one(monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", err)
    clock = iter([0.0, 0.2, 100.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    bar = progress.ProgressBar("hashing")
    bar(200_000_000, 1_000_000_000)  # fast: "1,000 MB/s"
    bar(500_000_000, 1_000_000_000)  # slow: "5 MB/s"
    bar.close()
    (line,) = screen(err.getvalue())
    assert line.rstrip().endswith(" 5 MB/s") and "MB/sB/s" not in line and "MB/s/s" not in line


def test_a_stamp_labels_its_hashing_and_its_writing(capsys, tmp_path, monkeypatch):
    ckpt = make_checkpoint(tmp_path / "m.safetensors")
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps(RECIPE))
    # a copy is written in one pass that hashes as it copies: "writing", never "stamping"
    code, _, err = run(capsys, "stamp", ckpt, recipe, "--out", tmp_path / "copy.safetensors", "--progress")
    lines = screen(err)
    assert code == ExitCode.OK and [line.split(" [")[0] for line in lines] == ["writing"]
    assert all(line.rstrip().endswith("MB/s") and "100.0%" in line for line in lines)
    # the copy has spare room now: an in-place stamp of it, its hash not cached, only hashes the tensors
    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "fresh-cache"))
    code, _, err = run(capsys, "stamp", tmp_path / "copy.safetensors", recipe, "--progress")
    lines = screen(err)
    assert code == ExitCode.OK and [line.split(" [")[0] for line in lines] == ["hashing"]


def test_a_one_sided_range_reads_at_most(capsys):
    assert format_value({"min": None, "max": {"width": 1024, "height": 1024}}) == "at most 1024×1024"
    assert format_value({"min": 4, "max": None}) == "at least 4"
    assert format_value({"min": 4, "max": 8}) == "4–8" and format_value({"min": 4, "max": 4}) == "4"
    code, out, _ = run(capsys, "check", "metadata_examples/sdxl-turbo.iga.json", "--size", "4096x4096", "--steps", "1")
    assert code == ExitCode.BLOCKED and "recipe allows: at most 1024×1024" in out and "—–" not in out


def test_bad_bundle_entries_say_what_is_wrong(tmp_path):
    entry = dict(RECIPE)
    entry.pop("hashes", None)
    bundle = {"format": "iga-registry-bundle", "version": 1,
              "entries": [entry, 5, {**entry, "hashes": {"weights_sha256": "abc"}}]}  # fmt: skip
    result = Registry(tmp_path / "reg").import_(bundle)
    messages = [r["problems"][0]["message"] for r in result.rejected]
    assert "names no weights: it has no hashes.weights_sha256" in messages[0]
    assert messages[1] == "a number is not a recipe (a JSON object)" and result.rejected[1]["problems"][0]["pointer"] == ""
    assert "'abc' is not a weights sha256" in messages[2]
    assert not any("None" in m for m in messages)


@pytest.mark.parametrize("argv", [[], ["--kind", "sampler"], ["--kind", "schedule"],
                                  *(["--dialect", d] for d in vocab.DIALECTS)])  # fmt: skip
def test_iga_vocab_fits_100_columns(capsys, argv):
    code, out, _ = run(capsys, "vocab", *argv)
    assert code == ExitCode.OK
    assert max(len(line) for line in out.splitlines()) <= TABLE_WIDTH, argv


def test_the_table_wraps_the_widest_column_and_keeps_every_character():
    head = ["id", "diffusers"]
    cell = "DPMSolverMultistepScheduler(algorithm_type=sde-dpmsolver++, solver_order=2, solver_type=midpoint)"
    lines = render_table(head, [["dpmpp_2m_sde", cell]], width=60).splitlines()
    assert max(map(len, lines)) <= 60 and len(lines) > 2
    assert lines[1].startswith("dpmpp_2m_sde  DPMSolverMultistepScheduler(")
    continued = "".join(line[len("dpmpp_2m_sde  "):].strip() + " " for line in lines[1:])
    assert continued.replace("( ", "(").strip() == cell


def test_an_eps_recipe_onto_a_v_modelspec_says_what_it_means(tmp_path):
    ckpt = make_checkpoint(tmp_path / "m.safetensors", metadata={"modelspec.prediction_type": "v"})
    result = stamp.stamp(ckpt, RECIPE)  # RECIPE is an eps recipe
    assert result.modelspec_kept == {"modelspec.prediction_type": "v"}
    (note,) = [n for n in result.notices if "prediction_type" in n]  # not only "left unchanged" (#16 wrote it)
    assert note.startswith("conflict: the recipe says prediction_type 'eps', but this file's modelspec.prediction_type is 'v'")
    assert "will run the model as v-prediction" in note and "fix the recipe's prediction_type" in note
