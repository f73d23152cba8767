"""Each dialect's semantics, as data: which samplers honour a schedule in which host, what a name really
runs, eta defaults, and remedies in the user's own dialect (issue #16, items 3-4).

Facts, each from the host's own code:
- A1111 v1.10.1 / Forge dfdcbab: DDIM, DDIM CFG++, PLMS and UniPC step on their own timesteps and ignore the
  schedule type (A sd_samplers_timesteps.py:86-96); every k-diffusion function with an `eta` parameter gets
  opts.eta_ancestral, default 1.0 (A sd_samplers_common.py:293, 303-307, shared_options.py:390), including
  sample_dpm_fast / sample_dpm_adaptive whose own default is eta=0 (k_diffusion/sampling.py).
- ComfyUI comfy/samplers.py: sampler_object("ddim") is ksampler("euler"), run on the scheduler's sigmas;
  uni_pc / uni_pc_bh2 run on the scheduler's sigmas (extra_samplers/uni_pc.py sample_unipc); dpm_fast /
  dpm_adaptive are called without eta (so 0); KSampler.DISCARD_PENULTIMATE_SIGMA_SAMPLERS = dpm_2,
  dpm_2_ancestral, uni_pc, uni_pc_bh2.
- A1111 Uniform (k-diffusion get_sigmas: t = linspace(999, 0, n)) is ComfyUI normal (normal_scheduler:
  linspace(timestep(sigma_max), timestep(sigma_min), n)).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iga_core import vocab
from iga_core.reconstruct import reconstruct
from tests.reconstruct_support import checkpoint

# --- item 3: a diffusers flow config beside a file ----------------------------------------------------------

def test_a_flow_prediction_unipc_config_reconstructs_as_flow(tmp_path: Path):
    # Wan 2.x / SANA scheduler_config.json: UniPC with flow sigmas and prediction_type "flow_prediction"
    (tmp_path / "scheduler").mkdir()
    (tmp_path / "scheduler" / "scheduler_config.json").write_text(json.dumps({
        "_class_name": "UniPCMultistepScheduler", "_diffusers_version": "0.35.2", "prediction_type": "flow_prediction",
        "use_flow_sigmas": True, "flow_shift": 3.0, "solver_order": 2, "solver_type": "bh2",
    }))
    (tmp_path / "transformer").mkdir()
    ckpt = checkpoint(tmp_path / "transformer", "diffusion_pytorch_model.safetensors", {"x.weight": ("F16", [4])})
    r = reconstruct(ckpt)
    assert r.recipe["prediction_type"] == "flow"
    assert r.recipe["sampler"]["name"] == "UniPC BH2"  # ComfyUI's uni_pc_bh2, not A1111's UniPC (bh1)
    assert r.recipe["scheduler"]["name"] == "Simple"  # flow sigmas 1 - k/N, not "Uniform"


# --- item 4: each dialect's semantics as data ----------------------------------------------------------------

@pytest.mark.parametrize(("name", "dialect", "ignores", "runs_as"), [
    ("DDIM", None, True, None), ("UniPC", "forge", True, None), ("PLMS", "a1111", True, None),
    ("ddim", "comfyui", False, "euler"),  # sampler_object("ddim") = ksampler("euler")
    ("uni_pc", "comfyui", False, None), ("uni_pc_bh2", "comfyui", False, None),
    ("ddim", "swarmui", False, "euler"),  # SwarmUI: "DDIM (Identical to Euler)", ComfyUIBackendExtension.cs:635
    ("UniPCMultistepScheduler", "diffusers", False, None), ("DDIMScheduler", "diffusers", True, None),
])
def test_which_samplers_honour_the_schedule_in_which_host(name, dialect, ignores, runs_as):
    info = vocab.resolve_sampler(name, dialect)
    sem = info.in_dialect(dialect)
    assert info.ignores_schedule(dialect) is ignores and sem.runs_as == runs_as
    _, schedule = vocab.normalize(name, "Karras", dialect)
    assert (schedule is None) is ignores


@pytest.mark.parametrize(("sampler", "dialect", "mode", "eta"), [
    ("DPM fast", "a1111", "ancestral", 1.0), ("DPM adaptive", "forge", "ancestral", 1.0),  # eta_ancestral 1.0
    ("dpm_fast", "comfyui", "ode", 0.0), ("dpm_adaptive", "comfyui", "ode", 0.0),  # called without eta
    ("sample_dpm_fast", "kdiffusion", "ode", 0.0),  # the function's own default
    ("Euler a", "a1111", "ancestral", 1.0), ("DDIM", "a1111", "ode", 0.0), ("Euler", "a1111", "ode", None),
])
def test_eta_defaults_per_host(sampler, dialect, mode, eta):
    sem = vocab.resolve_sampler(sampler, dialect).in_dialect(dialect)
    assert (sem.mode, sem.eta) == (mode, eta)


def _kdiffusion_eta_defaults() -> dict[str, float | None]:
    """sample_* function -> its eta default (None: no eta parameter), read from the installed k-diffusion's
    sampling.py source (importing the package needs scikit-image, which the venvs lack)."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("k_diffusion")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("k-diffusion is not installed")
    source = Path(next(iter(spec.submodule_search_locations))) / "sampling.py"
    out: dict[str, float | None] = {}
    for node in ast.parse(source.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("sample_"):
            names = [a.arg for a in node.args.args]
            defaults = dict(zip(names[len(names) - len(node.args.defaults):], node.args.defaults, strict=True))
            out[node.name] = ast.literal_eval(defaults["eta"]) if "eta" in defaults else None
    return out


def test_the_hosts_eta_table_matches_which_functions_take_eta():
    """Every A1111 sampler whose k-diffusion function has an eta parameter has the host's eta (1.0); the
    others none; and the k-diffusion dialect's eta is the function's own default."""
    functions = _kdiffusion_eta_defaults()
    checked = 0
    for info in vocab.all_samplers():
        func = info.names.get("kdiffusion")
        if not info.names.get("a1111") or func not in functions:
            continue
        own = functions[func]
        assert (info.eta is not None) == (own is not None), info.id
        assert info.in_dialect("kdiffusion").eta == own, info.id
        checked += 1
    assert checked >= 12


def test_comfyui_discards_the_penultimate_sigma_for_its_own_list():
    # ComfyUI KSampler.DISCARD_PENULTIMATE_SIGMA_SAMPLERS; A1111 also drops it for DPM++ 3M SDE (sampler option)
    comfy = {s.names["comfyui"] for s in vocab.all_samplers()
             if s.names.get("comfyui") and s.in_dialect("comfyui").grid_options.get("discard_penultimate")}
    assert comfy == {"dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"}
    a1111 = {s.names["a1111"] for s in vocab.all_samplers()
             if s.names.get("a1111") and s.in_dialect("a1111").grid_options.get("discard_penultimate")}
    assert a1111 == {"DPM2", "DPM2 a", "DPM++ 3M SDE"}


def test_uniform_is_spoken_as_normal_in_comfyui():
    assert vocab.spoken_name("schedule", "uniform", "comfyui") == "normal"
    assert vocab.spoken_name("schedule", "uniform", None) == "Uniform"
    assert vocab.spoken_name("sampler", "euler_a", "comfyui") == "euler_ancestral"
    assert vocab.spoken_name("sampler", "restart", "comfyui") == "Restart"  # no ComfyUI name: the label


def test_uniform_and_normal_are_the_same_grid():
    import numpy as np

    from iga_core.schedules import compute_grid

    for n in (4, 20, 37):
        assert np.allclose(compute_grid("uniform", n), compute_grid("normal", n))


# --- item 4: remedies in the user's dialect ------------------------------------------------------------------

def _verdict(doc: dict, **request):
    from iga_core.guard import GuardPolicy, GuardRequest, judge
    from iga_core.recipe import Recipe

    return judge(Recipe.from_dict(doc), GuardRequest(**request), GuardPolicy())


def _ids(verdict) -> set[str]:
    return {f.rule_id for f in verdict.findings}


UNIFORM_ONLY = {
    "iga_version": "1.0.0", "model_id": "sd15-uniform", "architecture": "sd1", "prediction_type": "eps",
    "sampler": {"name": "Euler", "mode": "ode"}, "scheduler": {"name": "Uniform"},
    "steps": {"default": 20, "min": 10, "max": 40}, "cfg": {"default": 7.0, "min": 4.0, "max": 10.0},
    "constraints": {"allow_schedules": ["Uniform"]},
}


def test_a_comfyui_user_is_not_told_ddim_ignores_the_schedule():
    a1111 = _verdict(UNIFORM_ONLY, sampler="DDIM", schedule="Karras", steps=20)
    assert "IGA-I003" in _ids(a1111)  # A1111: DDIM steps on its own timesteps
    comfy = _verdict(UNIFORM_ONLY, sampler="ddim", schedule="karras", steps=20, dialect="comfyui")
    assert "IGA-I003" not in _ids(comfy)
    assert not any("ignores the schedule" in f.reason for f in comfy.findings)
    # ComfyUI's ddim runs on karras: the recipe's allow list applies, and the remedy is ComfyUI's "normal"
    finding = next(f for f in comfy.findings if f.rule_id == "IGA-H002")
    assert finding.fix == {"schedule": "normal"} and "normal" in finding.remedy and "Uniform" not in finding.remedy
    fixed = _verdict(UNIFORM_ONLY, sampler="ddim", schedule="normal", steps=20, dialect="comfyui")
    assert fixed.allowed and "IGA-H002" not in _ids(fixed)


def test_comfyui_uni_pc_runs_on_the_schedule():
    comfy = _verdict(UNIFORM_ONLY, sampler="uni_pc", schedule="karras", steps=20, dialect="comfyui")
    assert "IGA-H002" in _ids(comfy) and "IGA-I003" not in _ids(comfy)
    a1111 = _verdict(UNIFORM_ONLY, sampler="UniPC", schedule="Karras", steps=20)
    assert "IGA-H002" not in _ids(a1111) and "IGA-I003" in _ids(a1111)


def test_comfyui_normal_is_the_recipes_uniform():
    v = _verdict(UNIFORM_ONLY, sampler="euler", schedule="normal", steps=20, dialect="comfyui")
    assert v.allowed and not v.findings  # same grid: neither forbidden nor "differs from the default"
    # in A1111 "Normal" is its own (allowed-list) choice
    assert "IGA-H002" in _ids(_verdict(UNIFORM_ONLY, sampler="Euler", schedule="Normal", steps=20))


def test_remedies_name_samplers_in_the_dialect():
    doc = {**UNIFORM_ONLY, "constraints": {"allow_samplers": ["Euler a"]}, "sampler": {"name": "Euler a",
                                                                                      "mode": "ancestral"}}
    v = _verdict(doc, sampler="dpmpp_2m", schedule="normal", steps=20, dialect="comfyui")
    finding = next(f for f in v.findings if f.rule_id == "IGA-H001")
    assert finding.fix == {"sampler": "euler_ancestral"} and "euler_ancestral" in finding.remedy
    assert _verdict(doc, sampler="euler_ancestral", schedule="normal", steps=20, dialect="comfyui").allowed


def test_comfyui_ddim_is_judged_as_the_euler_it_runs():
    doc = {**UNIFORM_ONLY, "constraints": {"allow_samplers": ["Euler"]}}
    assert "IGA-H001" in _ids(_verdict(doc, sampler="DDIM", steps=20))
    v = _verdict(doc, sampler="ddim", schedule="normal", steps=20, dialect="comfyui")
    assert v.allowed and "IGA-H001" not in _ids(v) and "IGA-I001" not in _ids(v)


def test_grid_remedy_in_comfyui_names():
    from tests.test_guard_support import LIGHTNING

    v = _verdict(LIGHTNING, sampler="euler", schedule="karras", steps=4, dialect="comfyui")
    finding = next(f for f in v.findings if f.rule_id == "IGA-H002")
    assert finding.fix["schedule"] in ("sgm_uniform", "simple")
    grid = _verdict(LIGHTNING, sampler="euler", schedule="sgm_uniform", steps=6, dialect="comfyui")
    h004 = next(f for f in grid.findings if f.rule_id == "IGA-H004")
    assert "sgm_uniform" in h004.reason or "sgm_uniform" in h004.remedy or h004.fix == {"steps": 4}


def test_a_request_in_an_unknown_dialect_is_refused():
    from iga_core.guard import GuardRequest
    from iga_core.guard.request import GuardRequestInvalid

    with pytest.raises(GuardRequestInvalid):
        GuardRequest(sampler="Euler", dialect="invokeai")
    assert GuardRequest.from_dict({"sampler": "ddim", "dialect": "comfyui"}).dialect == "comfyui"


def test_iga_check_takes_the_dialect(tmp_path: Path, capsys):
    from iga_core.cli import main

    path = tmp_path / "r.json"
    path.write_text(json.dumps(UNIFORM_ONLY))
    code = main(["check", str(path), "--sampler", "ddim", "--scheduler", "karras", "--steps", "20",
                 "--dialect", "comfyui", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 3 and out["request"]["dialect"] == "comfyui"
    assert any(f["fix"] == {"schedule": "normal"} for f in out["verdict"]["findings"])
