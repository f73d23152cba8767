"""`iga check`: exit codes 0 / 3 / 2 / 1, advice text, --json, checkpoints and recipe files."""

from __future__ import annotations

import json

import pytest

from iga_core.cli import main
from iga_core.errors import ExitCode
from tests.factories import make_checkpoint
from tests.test_guard_support import document as recipe


@pytest.fixture
def recipe_file(tmp_path):
    path = tmp_path / "lightning.iga.json"
    path.write_text(json.dumps(recipe("lightning")), encoding="utf-8")
    return path


def run(capsys, *argv):
    code = main(["check", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_allowed_request_exits_0(capsys, recipe_file):
    code, out, _ = run(capsys, recipe_file, "--sampler", "Euler", "--scheduler", "SGM Uniform", "--steps", "4",
                       "--cfg", "1", "--size", "1024x1024")
    assert code == 0
    assert "allowed: inside the recipe" in out


def test_forbidden_sampler_exits_3_with_advice(capsys, recipe_file):
    code, out, _ = run(capsys, recipe_file, "--sampler", "DDIM", "--steps", "4")
    assert code == 3
    assert "DDIM is forbidden by this model's recipe (IGA-H001); use Euler" in out


def test_soft_finding_warns_in_standard_and_blocks_in_strict(capsys, recipe_file):
    base = [recipe_file, "--sampler", "Euler", "--scheduler", "sgm_uniform", "--steps", "4", "--cfg", "7"]
    code, out, _ = run(capsys, *base)
    assert code == 0 and "1 warning" in out and "use CFG 1" in out
    assert run(capsys, *base, "--mode", "strict")[0] == 3
    code, out, _ = run(capsys, *base, "--mode", "strict", "--override", "IGA-S002")
    assert code == 0 and "overridden" in out


def test_hard_override_is_ignored_but_audit_mode_lets_it_through(capsys, recipe_file):
    code, out, _ = run(capsys, recipe_file, "--sampler", "DDIM", "--override", "IGA-H001")
    assert code == 3 and "override of IGA-H001 ignored" in out
    assert run(capsys, recipe_file, "--sampler", "DDIM", "--mode", "audit")[0] == 0


def test_json_output(capsys, recipe_file):
    code, out, _ = run(capsys, recipe_file, "--sampler", "DDIM", "--json")
    data = json.loads(out)
    assert code == 3 and data["ok"] is False
    assert data["verdict"]["blocked_ids"] == ["IGA-H001", "IGA-H004"]  # DDIM, and off the grid at the default 4 steps
    assert data["defaults"] == {"steps": 4}
    assert data["request"] == {"sampler": "DDIM", "steps": 4}
    assert data["verdict"]["findings"][0]["fix"] == {"sampler": "Euler"}


def test_preset_then_flags(capsys, tmp_path):
    path = tmp_path / "anime.json"
    path.write_text(json.dumps(recipe("sd1_anime")), encoding="utf-8")
    code, out, _ = run(capsys, path, "--preset", "Quality", "--json")
    assert code == 0 and json.loads(out)["request"]["steps"] == 40
    code, out, _ = run(capsys, path, "--preset", "Quality", "--clip-skip", "1", "--json")
    assert [f["rule_id"] for f in json.loads(out)["verdict"]["findings"] if f["severity"] == "soft"] == ["IGA-S006"]


def test_checkpoint_with_embedded_recipe(capsys, tmp_path):
    ckpt = make_checkpoint(tmp_path / "model.safetensors", metadata={"iga": json.dumps(recipe("vpred"))})
    code, out, _ = run(capsys, ckpt, "--prediction-type", "eps")
    assert code == 3 and "IGA-H003" in out and "(embedded" in out


@pytest.mark.parametrize("argv", [
    ["--size", "big"], ["--steps", "many"], ["--mode", "lenient"], ["--denoise", "2"],
    ["--override", "IGA-S999"],
])
def test_usage_errors_exit_2(capsys, recipe_file, argv):
    with pytest.raises(SystemExit) as exc:
        code = main(["check", str(recipe_file), *argv])
        raise SystemExit(code)
    assert exc.value.code == 2


def test_missing_file_is_unavailable(capsys, tmp_path):
    assert run(capsys, tmp_path / "nope.json", "--steps", "4")[0] == ExitCode.UNAVAILABLE
    assert run(capsys, tmp_path / "nope.safetensors", "--steps", "4")[0] == ExitCode.UNAVAILABLE


def test_bad_request_value_is_a_usage_error(capsys, recipe_file):
    # the issue: --steps -3 exited 1 while --denoise 1.5 exited 2; both are the command line's fault
    code, _, err = run(capsys, recipe_file, "--steps", "0")
    assert code == ExitCode.USAGE and "steps must be at least 1" in err and "Traceback" not in err
    assert run(capsys, recipe_file, "--steps", "-3")[0] == ExitCode.USAGE
    with pytest.raises(SystemExit) as exc:
        run(capsys, recipe_file, "--denoise", "1.5")
    assert exc.value.code == ExitCode.USAGE
    code, _, err = run(capsys, recipe_file, "--preset", "Nope")
    assert code == ExitCode.USAGE and "no preset named 'Nope'" in err


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"iga_version": "1.0.0"}'])
def test_broken_recipe_file_exits_1_without_traceback(capsys, tmp_path, content):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    code, _, err = run(capsys, path, "--steps", "4")
    assert code == 1 and err.startswith("iga: ") and "Traceback" not in err


def test_checkpoint_without_recipe_exits_1(capsys, tmp_path):
    ckpt = make_checkpoint(tmp_path / "plain.safetensors")
    code, _, err = run(capsys, ckpt, "--steps", "4")
    assert code == 1 and "has no IGA recipe" in err


def test_lora_recipes_are_composed_before_the_check(capsys, tmp_path):
    base = tmp_path / "anime.json"
    base.write_text(json.dumps(recipe("sd1_anime")), encoding="utf-8")
    lcm = dict(recipe("sd1_anime"), model_id="lcm-lora-sd15", sampler={"name": "LCM"},
               steps={"default": 4, "min": 2, "max": 8}, cfg={"default": 1.0, "min": 1.0, "max": 2.0},
               constraints={"allow_samplers": ["LCM"]}, presets=[])
    lora = make_checkpoint(tmp_path / "lcm-lora-sd15.safetensors", metadata={"iga": json.dumps(lcm)})
    code, out, _ = run(capsys, base, "--lora", lora, "--sampler", "DPM++ 2M", "--steps", "25", "--json")
    data = json.loads(out)
    assert code == 3 and "IGA-H001" in data["verdict"]["blocked_ids"]
    assert [f["rule_id"] for f in data["composition"]] == ["IGA-M006"]
    assert run(capsys, base, "--lora", f"{lora}:1", "--sampler", "LCM", "--steps", "4", "--cfg", "1")[0] == 0
    # weight 0: the LoRA is inactive and the base recipe governs again
    assert run(capsys, base, "--lora", f"{lora}:0", "--sampler", "DPM++ 2M", "--steps", "25")[0] == 0


def test_loras_that_cannot_be_composed_block_as_in_the_panel(capsys, tmp_path):
    base = tmp_path / "anime.json"
    base.write_text(json.dumps(recipe("sd1_anime")), encoding="utf-8")
    style = dict(recipe("sd1_anime"), presets=[], **{"x-compose": "narrow"})
    low = tmp_path / "low.iga.json"
    low.write_text(json.dumps(dict(style, model_id="low", cfg={"default": 4.0, "min": 4.0, "max": 5.0})), "utf-8")
    high = tmp_path / "high.iga.json"
    high.write_text(json.dumps(dict(style, model_id="high", cfg={"default": 9.0, "min": 9.0, "max": 10.0})), "utf-8")
    code, out, _ = run(capsys, base, "--lora", low, "--lora", high, "--sampler", "DPM++ 2M", "--steps", "25",
                       "--cfg", "4.5", "--json")
    assert code == 3 and "IGA-M004" in json.loads(out)["verdict"]["blocked_ids"]


def test_hires_and_refiner_passes(capsys, tmp_path, recipe_file):
    code, out, _ = run(capsys, recipe_file, "--sampler", "Euler", "--scheduler", "SGM Uniform", "--steps", "4",
                       "--cfg", "1", "--hires", "steps=30,denoise=0.5", "--json")
    data = json.loads(out)
    assert code == 3 and data["passes"] == ["hires"]
    assert {f["field"] for f in data["verdict"]["findings"] if f["rule_id"] in data["verdict"]["blocked_ids"]} == {
        "hires steps"}
    anime = tmp_path / "anime.json"
    anime.write_text(json.dumps(recipe("sd1_anime")), encoding="utf-8")
    code, out, _ = run(capsys, anime, "--sampler", "DPM++ 2M", "--steps", "25", "--refiner", recipe_file, "--json")
    data = json.loads(out)
    assert code == 3 and data["passes"] == ["refiner"]
    assert any(f["field"].startswith("refiner ") for f in data["verdict"]["findings"])
    with pytest.raises(SystemExit) as exc:  # argparse's usage error
        run(capsys, recipe_file, "--hires", "steps=lots")
    assert exc.value.code == 2 and "steps must be int" in capsys.readouterr().err


def test_a_check_without_steps_judges_the_recipes_default_steps(capsys):
    # the issue: --sampler "DPM++ 2M" alone said "allowed: inside the recipe", with --steps 4 it was blocked
    lightning = "metadata_examples/sdxl-lightning-4step.iga.json"
    code, out, _ = run(capsys, lightning, "--sampler", "DPM++ 2M")
    assert code == ExitCode.BLOCKED and "IGA-H004" in out
    assert "steps not given: judged at the recipe's default 4" in out
    assert run(capsys, lightning, "--sampler", "DPM++ 2M", "--steps", "4")[0] == ExitCode.BLOCKED
    code, out, _ = run(capsys, lightning, "--sampler", "DPM++ 2M", "--steps", "4", "--json")
    assert json.loads(out)["defaults"] == {}  # nothing taken from the recipe when the flag is given
    code, out, _ = run(capsys, lightning, "--json")
    data = json.loads(out)
    assert code == ExitCode.OK and data["defaults"] == {"steps": 4} and data["request"]["steps"] == 4
    code, out, _ = run(capsys, lightning, "--preset", "Lightning", "--json")  # a preset's steps count as given
    assert code == ExitCode.OK and json.loads(out)["defaults"] == {}


#: a DMD2-style grid recipe run with UniPC (tests/test_webui_host_grid.py's "unipc"): A1111's UniPC steps on
#: its own time grid, which lands on it at 2 steps; Forge Classic and Neo run UniPC on the schedule's sigmas
#: (classic sd_samplers_kdiffusion.py:29, Neo 30), and Karras at 2 steps is off it
_UNIPC_GRID = {"iga_version": "1.0.0", "model_id": "grid-unipc", "architecture": "sd1", "prediction_type": "eps",
               "sampler": {"name": "UniPC", "mode": "ode"},
               "scheduler": {"name": "Automatic", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]},
                             "canonical_steps": 4, "subsample": {"allowed_steps": [1, 2, 4]}, "spacing": "trailing"},
               "steps": {"default": 4, "min": 1, "max": 8}, "cfg": {"default": 1.0, "min": 1.0, "max": 1.0}}


@pytest.mark.parametrize("host", ["forge-classic", "forge-neo"])
def test_host_names_whose_unipc_is_judged(capsys, tmp_path, host):
    path = tmp_path / "unipc.iga.json"
    path.write_text(json.dumps(_UNIPC_GRID), encoding="utf-8")
    args = [path, "--sampler", "UniPC", "--scheduler", "Karras", "--steps", "2", "--json"]
    code, out, _ = run(capsys, *args)
    data = json.loads(out)
    assert code == 0 and data["verdict"]["blocked_ids"] == []  # as A1111 / Forge / reForge run it ...
    assert "pass --host forge-classic" in data["notes"][0]  # ... and said so
    code, out, _ = run(capsys, *args, "--host", host)
    data = json.loads(out)
    assert code == 3 and data["verdict"]["blocked_ids"] == ["IGA-H004"] and data["notes"] == []
    assert data["request"]["host"] == host
    assert run(capsys, *args, "--host", "reforge")[0] == 0  # reForge's UniPC is A1111's
