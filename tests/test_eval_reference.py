"""The analytic reference model: exactness of its denoiser, its recipes, and the demo's headline direction."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.eval
torch = pytest.importorskip("torch", reason="the reference model needs torch (pip install '.[eval]')")
pytest.importorskip("diffusers", reason="the reference model samples with diffusers schedulers")

from iga_core.eval import demo  # noqa: E402
from iga_core.eval.errors import EvalConfigInvalid  # noqa: E402
from iga_core.eval.reference_model import VARIANTS, GaussianMixtureImages, ReferenceNetwork  # noqa: E402
from iga_core.eval.reference_sampling import ReferenceGenerator, choose_scheduler  # noqa: E402
from iga_core.eval.reference_scores import MixtureScores  # noqa: E402


@pytest.fixture(scope="module")
def mixture():
    return GaussianMixtureImages()


@pytest.fixture(scope="module")
def scores(mixture):
    return MixtureScores(mixture, "disk")


def _log_density(mixture, x, a, b):
    """log p_t(x) of the noised mixture up to a constant, written independently of posterior_mean."""
    var = a * a * mixture.spec.component_std**2 + b * b
    d2 = ((x[None, :] - a * mixture.means) ** 2).sum(axis=1)
    z = -d2 / (2 * var)
    return z.max() + np.log(np.exp(z - z.max()).sum())


@pytest.mark.parametrize("t", [50, 400, 900])
def test_posterior_mean_satisfies_tweedie(mixture, t):
    """E[x0 | x_t] = (x_t + b^2 grad log p_t(x_t)) / a; the gradient by central differences."""
    a, b = mixture.alpha_sigma(t)
    rng = np.random.default_rng(t)
    x0 = mixture.means[3] + 0.15 * rng.standard_normal(mixture.means.shape[1])
    x = a * x0 + b * rng.standard_normal(x0.shape)
    got = mixture.posterior_mean(x[None], a, b, None)[0]
    h = 1e-4
    for i in rng.choice(len(x), 6, replace=False):
        e = np.zeros_like(x)
        e[i] = h
        grad = (_log_density(mixture, x + e, a, b) - _log_density(mixture, x - e, a, b)) / (2 * h)
        assert got[i] == pytest.approx((x[i] + b * b * grad) / a, rel=1e-5, abs=1e-6)


def test_prompt_selects_a_class_and_unknown_words_mean_unconditional(mixture):
    mask = mixture.class_mask("a red disk, centred")
    assert {mixture.labels[i] for i in mask} == {"disk"}
    assert mixture.class_mask("a photo of a cat") is None


def test_v_and_eps_networks_describe_the_same_denoiser(mixture):
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, 16, 16)))
    a, b = mixture.alpha_sigma(600)
    eps = ReferenceNetwork(VARIANTS["eps"], mixture)(x, 600, "disk", 1.0).numpy()
    v = ReferenceNetwork(VARIANTS["v"], mixture)(x, 600, "disk", 1.0).numpy()
    x0 = (x.numpy() - b * eps) / a
    np.testing.assert_allclose(v, a * eps - b * x0, rtol=1e-10, atol=1e-10)


def test_batch_equals_one_by_one_even_for_ancestral_samplers():
    gen = ReferenceGenerator("eps")
    params = {"sampler": "DPM2 a", "schedule": "Karras", "steps": 6, "cfg": 1.0, "prompt": "stripes"}
    batch = gen.generate_batch(params, [11, 12, 13])
    for img, seed in zip(batch, (11, 12, 13), strict=True):
        np.testing.assert_allclose(img, gen({**params, "seed": seed}), rtol=0, atol=1e-12)  # BLAS rounding only
    assert not np.array_equal(batch[0], batch[1])


def test_scheduler_choice_follows_the_vocabulary():
    c = choose_scheduler("DPM++ 2M Karras", None, "v")
    assert c.class_name == "DPMSolverMultistepScheduler" and c.config["use_karras_sigmas"] is True
    assert c.config["prediction_type"] == "v_prediction"
    assert choose_scheduler("Euler", "SGM Uniform", "eps").config["timestep_spacing"] == "trailing"
    ddim = choose_scheduler("DDIM", "Karras", "eps")
    assert ddim.dropped == {"schedule": "Karras"}  # a timestep sampler ignores it, as the host's DDIM does: recorded
    # SD's own scheduler config, not diffusers' defaults: no x0 clipping (issue #15)
    assert ddim.config["clip_sample"] is False and ddim.config["set_alpha_to_one"] is False
    assert choose_scheduler("DDPM", None, "eps").config["clip_sample"] is False
    for sampler in ("LCM", "Euler a", "DDPM"):  # the host runs these on Karras; diffusers cannot: refused
        with pytest.raises(EvalConfigInvalid, match="confound"):
            choose_scheduler(sampler, "Karras", "eps")
    with pytest.raises(EvalConfigInvalid):
        choose_scheduler("DPM++ 2S a", None, "eps")  # no diffusers equivalent


def test_wrong_size_is_refused():
    with pytest.raises(EvalConfigInvalid, match="16x16"):
        ReferenceGenerator("eps")({"sampler": "Euler", "steps": 4, "seed": 0, "width": 512, "height": 512})


def _residual(gen, scores, seeds=range(12), **params):
    base = {"prompt": "disk", "cfg": 1.0, **params}
    return float(np.mean([scores.residual_ratio(img) for img in gen.generate_batch(base, list(seeds))]))


def test_prediction_type_mismatch_is_catastrophic(scores):
    gen = ReferenceGenerator("v")
    right = _residual(gen, scores, sampler="DPM++ 2M", schedule="Karras", steps=20)
    wrong = _residual(gen, scores, sampler="DPM++ 2M", schedule="Karras", steps=20, prediction_type="eps")
    assert 0.8 < right < 1.2 and wrong > 5.0


def test_distilled_model_is_exact_on_its_grid_only(scores):
    gen = ReferenceGenerator("distilled")
    on_grid = _residual(gen, scores, sampler="Euler", schedule="SGM Uniform", steps=4)
    off_grid = _residual(gen, scores, sampler="Euler", schedule="Karras", steps=4)
    more_steps = _residual(gen, scores, sampler="Euler", schedule="SGM Uniform", steps=8)
    assert abs(on_grid - 1) < 0.15
    assert abs(off_grid - 1) > 3 * abs(on_grid - 1) and abs(more_steps - 1) > 3 * abs(on_grid - 1)


def test_mmd_separates_true_draws_from_broken_samples(mixture, scores):
    true = (mixture.draw(16, 5, "disk").clip(-1, 1).transpose(0, 2, 3, 1) + 1) / 2
    grey = np.full_like(true, 0.5)
    assert scores.mmd(true) < 0.01 < scores.mmd(grey)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_reference_recipes_are_valid(variant):
    recipe = demo.reference_recipe(variant)  # parsed: an invalid one raises RecipeInvalid here
    assert recipe.prediction_type == VARIANTS[variant].prediction_type


def test_demo_plan_names_only_known_variants_and_axes():
    from iga_core.eval.protocol import AXES

    plan = demo.demo_plan()
    for exp in plan["experiments"]:
        assert exp["variant"] in VARIANTS and exp["axis"] in AXES
        assert set(exp.get("quick_values", exp["values"])) <= set(exp["values"])


def test_demo_headline_direction_for_the_distilled_model():
    """Regression check on --quick settings: swapping samplers changes images less inside the distilled
    model's recipe than outside it, and inside samples stay closer to the true distribution."""
    results, summary = demo.run_demo(quick=True, only=["sampler-distilled", "prediction-v"])
    distilled, prediction = summary
    assert distilled["variance_reduction_pct"] > 0
    reductions = results[0].headline["per_metric_reduction_pct"]
    assert reductions["residual_ratio"] > 50 and reductions["sharpness_log10"] > 50
    def worst(span):  # largest distance from the ideal ratio 1, in log scale
        return max(abs(np.log(x)) for x in span)

    assert worst(distilled["residual_ratio_inside"]) < worst(distilled["residual_ratio_outside"])
    assert prediction["inside"] == ["v"] and prediction["residual_ratio_outside"][0] > 5 * prediction["residual_ratio_inside"][1]
    json.dumps(summary)
