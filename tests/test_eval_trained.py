"""The trained evaluation models: the data set, `iga eval train` (seeded, stamped), the host-faithful baseline
and the statistics of the pre-registered experiment. Tiny sizes: each test runs in seconds."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.eval
torch = pytest.importorskip("torch", reason="the trained models need torch")
pytest.importorskip("diffusers", reason="the models are diffusers UNet2DModels")
pytest.importorskip("safetensors")

from iga_core.eval import evidence, glyphs, train  # noqa: E402
from iga_core.eval import stats as S  # noqa: E402
from iga_core.eval.host_sampling import SAMPLERS, SCHEDULES, HostSampler  # noqa: E402
from iga_core.recipe import Recipe  # noqa: E402

RECIPES = {m: Recipe.from_dict(json.loads((train.DATA / train.RECIPES[m]).read_text(encoding="utf-8")))
           for m in train.DIFFUSION_MODELS}


def test_glyphs_are_deterministic_in_range_and_class_balanced_on_request():
    a, ya = glyphs.render(20, 7)
    b, yb = glyphs.render(20, 7)
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    assert a.shape == (20, 16, 16, 3) and a.min() >= 0.0 and a.max() <= 1.0
    _, y = glyphs.render(10, 3, labels=list(range(10)))
    assert list(y) == list(range(10))
    assert not np.array_equal(glyphs.render(5, 1)[0], glyphs.render(5, 2)[0])
    x = glyphs.to_model(a)
    assert x.shape == (20, 3, 16, 16) and np.allclose(glyphs.from_model(x), a, atol=1e-6)


@pytest.fixture()
def tiny_plan(monkeypatch):
    p = json.loads(train.PLAN_FILE.read_text(encoding="utf-8"))
    p["quick"].update({"eps_teacher": 2, "v_teacher": 2, "student": 2, "trajectories": 8, "classifier": 2,
                       "train_images": 32})
    p["eps_teacher"]["batch"] = p["v_teacher"]["batch"] = p["student"]["batch"] = p["classifier"]["batch"] = 8
    monkeypatch.setattr(train, "plan", lambda: p)
    return p


def test_training_is_seeded_and_stamps_the_recipes(tiny_plan, tmp_path):
    from iga_core.checkpoint.stamp import read_embedded

    first = train.train_all(tmp_path / "a", quick=True, log=lambda _: None)
    second = train.train_all(tmp_path / "b", quick=True, log=lambda _: None)
    assert first["weights_sha256"] == second["weights_sha256"]  # same seeds, same weights
    for m in train.DIFFUSION_MODELS:
        embedded = read_embedded(tmp_path / "a" / train.FILES[m])
        assert Recipe.from_dict(embedded).prediction_type == RECIPES[m].prediction_type
        assert embedded["hashes"]["weights_sha256"] == first["weights_sha256"][m]
    unet = train.load_unet("student", tmp_path / "a")
    out = unet(torch.zeros(1, 3, 16, 16), torch.tensor([999]), class_labels=torch.tensor([3])).sample
    assert out.shape == (1, 3, 16, 16)


@pytest.fixture(scope="module")
def host():
    torch.manual_seed(0)
    return HostSampler(train.build_unet().eval(), train.alphas_cumprod(), "eps", 10)


def test_host_schedules_give_the_hosts_grids(host):
    simple = host.executed("Euler", "Simple", 4)
    assert simple["kind"] == "sigmas" and [round(t) for t in simple["timesteps"]] == [999, 749, 499, 249]
    assert simple["values"][-1] == 0.0
    sgm = host.executed("Euler", "SGM Uniform", 4)["timesteps"]
    assert [round(t, 1) for t in sgm] == [999.0, 749.2, 499.5, 249.8]  # linspace(999, 0, 5)[:-1]
    ddim = host.executed("DDIM", "Karras", 20)  # a timestep sampler ignores the schedule type
    assert ddim["values"] == [float(t) for t in range(1, 1000, 50)] and ddim["timesteps"] == ddim["values"][1:][::-1]
    # DPM2 runs one step more and drops the next-to-last sigma: still `steps` transitions
    assert len(host.executed("DPM2", "Karras", 10)["values"]) == 11
    assert host.executed("DPM adaptive", "Karras", 10)["kind"] == "sigma_range"
    auto = host.get_sigmas("DPM++ 2M", "Automatic", 8)  # Automatic = the sampler's Karras
    assert torch.allclose(auto, host.get_sigmas("DPM++ 2M", "Karras", 8))
    for schedule in SCHEDULES:
        s = host.get_sigmas("Euler", schedule, 6)
        # the host's DDIM schedule takes every (1000 // n)-th sigma from index 1: 7 of them for n = 6
        assert len(s) == (len(range(1, 1000, 1000 // 6)) + 1 if schedule == "DDIM" else 7)
        assert bool((s[:-1] > 0).all())
        # the host's KL Optimal ends at sigma_min, not 0 (A sd_schedulers.py kl_optimal: tan over n + 1 points)
        assert (float(s[-1]) == pytest.approx(float(host.wrap.sigmas[0]))) if schedule == "KL Optimal" \
            else float(s[-1]) == 0.0


def test_every_host_sampler_runs_and_cfg_one_is_the_conditional_result(host):
    for name in SAMPLERS:
        run = host.run(name, "Karras", 3, 2.0, [0, 1], [4, 5])
        assert run.error is None and np.isfinite(run.images).all(), name
        assert run.executed["model_calls"] >= 1
    again = host.run("Euler a", "Karras", 3, 2.0, [0, 1], [4, 5])
    assert np.array_equal(again.images, host.run("Euler a", "Karras", 3, 2.0, [0, 1], [4, 5]).images)
    one = host.run("Euler a", "Karras", 3, 2.0, [1], [5])  # per-image noise: a seed's image alone is the same
    assert np.allclose(one.images[0], again.images[1], atol=1e-5)


def test_the_guard_fixes_blocked_draws_and_strict_mode_fixes_soft_ones_too(host):
    drawn = {"sampler": "PLMS", "schedule": "Karras", "steps": 20, "cfg": 7.0}
    fixed, trail = evidence.through_guard(RECIPES["student"], drawn, host, "eps", "standard")
    assert (fixed["sampler"], fixed["steps"]) == ("Euler", 4) and trail and fixed["cfg"] == 7.0  # soft: runs
    assert [round(t) for t in host.executed(fixed["sampler"], fixed["schedule"], 4)["timesteps"]] == [999, 749, 499, 249]
    strict, _ = evidence.through_guard(RECIPES["student"], drawn, host, "eps", "strict")
    assert strict["cfg"] == 1.0 and strict["steps"] == 4
    ok = {"sampler": "Euler", "schedule": "Simple", "steps": 4, "cfg": 1.0}
    assert evidence.through_guard(RECIPES["student"], ok, host, "eps", "standard") == (ok, [])
    lcm, trail = evidence.through_guard(RECIPES["eps"], {**drawn, "sampler": "LCM", "cfg": 3.0}, host, "eps", "standard")
    assert lcm["sampler"] != "LCM" and "IGA-H001" in trail[0]["blocked_by"]


def test_frechet_distance_icc_and_bootstrap():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 3))
    assert S.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    b = a * 2.0 + np.array([1.0, 0.0, 0.0])  # mean shift 1, std 2: FD = 1 + 3 * (1 + 4 - 2 * 2)
    assert S.frechet_distance(a, b) == pytest.approx(4.0, rel=0.05)
    seeds = rng.standard_normal(30)
    same = np.stack([seeds + c for c in (0.0, 1.0, -2.0)])  # every configuration orders the seeds alike
    assert S.icc_consistency(same) == pytest.approx(1.0)
    assert abs(S.icc_consistency(rng.standard_normal((3, 300)))) < 0.1
    assert S.mean_pairwise_tau(same) == pytest.approx(1.0)
    stat = lambda r: float(np.mean(seeds[S.resample(r, len(seeds))]))  # noqa: E731
    one, two = S.bootstrap_ci(stat, draws=200), S.bootstrap_ci(stat, draws=200)
    assert one == two and one["ci"][0] < np.mean(seeds) < one["ci"][1]


def test_draws_are_fixed_by_their_seed():
    d = evidence.draw_configs(12, 15)
    assert d == evidence.draw_configs(12, 15) and d != evidence.draw_configs(12, 16)
    assert all(c["sampler"] in SAMPLERS and c["schedule"] in SCHEDULES and 2 <= c["steps"] <= 50 for c in d)
