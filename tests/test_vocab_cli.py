"""`iga vocab` and `iga vocab resolve` end to end through the CLI dispatcher."""

from __future__ import annotations

import json

import pytest

from iga_core import vocab
from iga_core.cli import main
from iga_core.errors import ExitCode


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_list_everything(capsys):
    code, out, _ = run(capsys, "vocab")
    assert code == 0
    assert "Samplers: " in out and "Schedules: " in out
    for title in ("A1111", "Forge", "ComfyUI", "k-diffusion", "diffusers"):
        assert title in out
    assert "DPM++ 2M SDE Heun" in out and "align_your_steps_GITS" not in out.split("Schedules")[0]


@pytest.mark.parametrize("dialect", vocab.DIALECTS)
@pytest.mark.parametrize("kind", vocab.KINDS)
def test_list_json_per_dialect_matches_the_vocabulary(capsys, dialect, kind):
    code, out, _ = run(capsys, "vocab", "--dialect", dialect, "--kind", kind, "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["dialect"] == dialect
    rows = data[kind + "s"]
    assert [r["id"] for r in rows] == [i for i, _, _ in vocab.names_in(kind, dialect)]
    for r in rows:
        if not (dialect == "diffusers" and kind == "sampler"):
            assert r["name"] == vocab.export_name(kind, r["id"], dialect)


def test_list_comfyui_schedules_human(capsys):
    code, out, _ = run(capsys, "vocab", "--dialect", "comfyui", "--kind", "schedule")
    assert code == 0
    assert "ddim_uniform" in out and "Turbo" not in out and "Samplers" not in out


def test_diffusers_listing_shows_the_distinguishing_flags(capsys):
    _, out, _ = run(capsys, "vocab", "--dialect", "diffusers", "--kind", "sampler")
    # a long config wraps after its "(" to fit 100 columns (test_cli_output); the JSON keeps it whole
    row = out[out.index("dpmpp_3m_sde"):].split("\n")[:3]
    assert "DPMSolverMultistepScheduler(" in row[0] and "algorithm_type=sde-dpmsolver++" in row[1]
    assert "solver_order=3)" in "".join(row[1:])


def test_resolve_combined_name(capsys):
    code, out, _ = run(capsys, "vocab", "resolve", "DPM++ 2M Karras")
    assert code == 0 and "DPM++ 2M" in out and "Karras" in out and "dpmpp_2m" in out


def test_resolve_json_with_automatic(capsys):
    code, out, _ = run(capsys, "vocab", "resolve", "k_dpmpp_2m_sde", "--schedule", "Automatic", "--json")
    data = json.loads(out)
    assert code == 0 and data["sampler"]["id"] == "dpmpp_2m_sde" and data["runs_with_schedule"] == "exponential"
    assert "schedule" not in data


def test_resolve_name_that_is_both_a_sampler_and_a_schedule(capsys):
    code, out, _ = run(capsys, "vocab", "--json", "resolve", "DDIM")
    data = json.loads(out)
    assert code == 0 and data["sampler"]["id"] == "ddim" and data["runs_with_schedule"] is None
    assert data["schedule"]["names"]["comfyui"] == "ddim_uniform"


def test_resolve_schedule_only(capsys):
    code, out, _ = run(capsys, "vocab", "resolve", "sgm_uniform", "--kind", "schedule")
    assert code == 0 and out.startswith("schedule") and "SGM Uniform" in out


def test_resolve_unknown_exits_1_with_suggestions(capsys):
    code, out, err = run(capsys, "vocab", "resolve", "Eular a")
    assert code == 1 and out == ""
    assert "unknown" in err and "Euler a" in err


def test_resolve_unknown_json(capsys):
    code, out, _ = run(capsys, "vocab", "resolve", "karas", "--json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False and data["error"] == "UnknownName" and "Karras" in data["suggestions"]


def test_resolve_conflicting_combined_name_exits_1(capsys):
    code, _, err = run(capsys, "vocab", "resolve", "DPM++ 2M Karras", "--schedule", "Exponential")
    assert code == 1 and "Karras" in err and "hint" in err


def test_resolve_unknown_schedule_option_is_reported(capsys):
    code, _, err = run(capsys, "vocab", "resolve", "Euler", "--schedule", "Karras-ish")
    assert code == 1 and "schedule" in err


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["vocab", "--dialect", "invokeai"])
    assert exc.value.code == 2


def test_diffusers_config(capsys, tmp_path):
    cfg = tmp_path / "scheduler_config.json"
    cfg.write_text(json.dumps({"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.27.0",
                               "timestep_spacing": "trailing", "steps_offset": 1}))
    code, out, _ = run(capsys, "vocab", "diffusers", str(cfg), "--json")
    data = json.loads(out)
    assert code == 0 and data["sampler"]["id"] == "euler" and data["schedule"]["id"] == "simple"
    assert data["spacing"] == "trailing"
    code, out, _ = run(capsys, "vocab", "diffusers", str(cfg))
    assert code == 0 and "Euler" in out and "Simple" in out


@pytest.mark.parametrize(("content", "code"), [
    ("[1, 2]", 1), ("{}", 1), ("not json", 1),
    ('{"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "dpmsolver"}', 1),
    ('{"_class_name": "NoSuchScheduler"}', 1),
])
def test_diffusers_config_bad_input(capsys, tmp_path, content, code):
    cfg = tmp_path / "scheduler_config.json"
    cfg.write_text(content)
    got, out, err = run(capsys, "vocab", "diffusers", str(cfg))
    assert got == code and out == "" and err.startswith("iga: ")


def test_diffusers_config_missing_file_is_unavailable(capsys, tmp_path):
    got, _, err = run(capsys, "vocab", "diffusers", str(tmp_path / "missing.json"))
    assert got == ExitCode.UNAVAILABLE and "iga: " in err
