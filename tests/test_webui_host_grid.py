"""The grid verdict from iga's own schedule maths (CLI, standalone app, panel preview) equals the verdict on
the values the host's own sampler code will run (WebUI), for every sampler x schedule pair each host lists,
through the host double on both pins (its samplers compute with the real k-diffusion package)."""

from __future__ import annotations

import dataclasses

import pytest

from iga_core.guard import GuardRequest, run_rules
from iga_core.recipe import Recipe
from tests.host_double.fixture import started_host
from tests.webui_recipes import add_checkpoint

pytestmark = pytest.mark.host

_DMD2_GRID = {"name": "SGM Uniform", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]},
              "canonical_steps": 4, "subsample": {"allowed_steps": [1, 2, 4]}, "spacing": "trailing"}
#: recipes whose grid rule can fire: a pinned timestep grid (DMD2, with Euler a and with its own LCM, whose
#: host table misses the grid), the same grid named with a timestep sampler of the recipe's own (UniPC,
#: whose host time grid lands on it; DDIM, whose host timesteps do not), a named schedule at canonical
#: steps with trailing spacing (Lightning), an unpinned zero-terminal-SNR recipe (endpoint rule only)
GRID_RECIPES = {
    "dmd2_lcm": {"sampler": {"name": "LCM", "mode": "ancestral"}, "scheduler": _DMD2_GRID},
    "unipc": {"sampler": {"name": "UniPC", "mode": "ode"}, "scheduler": {**_DMD2_GRID, "name": "Automatic"}},
    "ddim": {"sampler": {"name": "DDIM", "mode": "ode"}, "scheduler": {**_DMD2_GRID, "name": "Automatic"}},
    "dmd2": {"sampler": {"name": "Euler a", "mode": "ancestral"},
             "scheduler": {"name": "SGM Uniform", "grid": {"kind": "timesteps", "values": [999, 749, 499, 249]},
                           "canonical_steps": 4, "subsample": {"allowed_steps": [1, 2, 4]}, "spacing": "trailing"}},
    "lightning": {"sampler": {"name": "Euler", "mode": "ode"},
                  "scheduler": {"name": "SGM Uniform", "canonical_steps": 8, "spacing": "trailing",
                                "subsample": {"rule": "divisors"}}},
    "ztsnr": {"sampler": {"name": "Euler", "mode": "ode"}, "scheduler": {"name": "Normal", "zero_terminal_snr": False,
                                                                          "spacing": "trailing"}},
    # the model's own discretisation at 4 steps: what "Automatic" gives DPM++ 2M SDE on Forge Classic and Neo
    # (no scheduler option there, classic sd_samplers_kdiffusion.py:21, Neo 17), Exponential elsewhere
    "uniform": {"sampler": {"name": "DPM++ 2M SDE", "mode": "sde"},
                "scheduler": {"name": "Uniform", "canonical_steps": 4, "subsample": {"rule": "divisors"}}},
}
STEPS = (1, 2, 3, 4, 6, 8)
#: samplers a fork runs differently from A1111 (docs/hosts.md §5): Forge Classic and Neo run UniPC as a
#: k-diffusion sampler on the chosen schedule's sigmas (classic sd_samplers_kdiffusion.py:29, Neo 30; A1111, Forge
#: and reForge: a timestep sampler with its own time grid), and Neo's LCM is a plain k-diffusion sampler without
#: A1111's 50-step LCM table (Neo sd_samplers_kdiffusion.py:23); their DPM++ 2M SDE has no default schedule, so
#: Automatic is the model's own discretisation there (Exponential elsewhere). iga's own maths follows them when the request
#: names the host (`GuardRequest.host`: the panel in the WebUI, `iga check --host`); the test below holds it to
#: that for every sampler, these included.
RUNS_DIFFERENTLY = {"forge-classic": {"UniPC", "DPM++ 2M SDE"}, "forge-neo": {"UniPC", "LCM", "DPM++ 2M SDE"}}


def _known_to_iga(kind: str, name: str) -> bool:
    from iga_core import vocab

    try:
        vocab.lookup(kind, name)
    except vocab.UnknownName:
        return False
    return True


def _recipe(name) -> Recipe:
    return Recipe.from_dict({"iga_version": "1.0.0", "model_id": f"grid-{name}", "architecture": "sd1", "prediction_type": "eps",
            "steps": {"default": 4, "min": 1, "max": 8}, "cfg": {"default": 1.0, "min": 1.0, "max": 1.0},
            **GRID_RECIPES[name]})


started = started_host(lambda d: add_checkpoint(d.models, "plain.safetensors", None), select="plain.safetensors")


def _grid_findings(recipe, request):
    return [f.rule_id for f in run_rules(recipe, request) if f.rule_id == "IGA-H004"]


def test_grid_verdict_equals_the_executed_values_verdict(started):
    started.reset("plain.safetensors")
    from iga_webui import host_run

    m = started.m
    model = m.sd_models.reload_model_weights()
    recipes = {name: _recipe(name) for name in GRID_RECIPES}
    disagree = []
    # a fork's own samplers and schedules iga's vocabulary does not know (reForge's Euler A2, Neo's ER SDE, ...)
    # have no schedule maths of iga's to compare with: only the host's values judge them
    samplers = [s for s in m.sd_samplers.all_samplers if _known_to_iga("sampler", s.name)]
    assert RUNS_DIFFERENTLY.get(started.host, set()) <= {s.name for s in samplers}  # compared like the rest
    schedulers = [s for s in m.sd_samplers.schedulers if _known_to_iga("schedule", s.label)]
    assert len(samplers) >= 10 and len(schedulers) >= 10
    for sampler in samplers:
        for scheduler in schedulers:
            for steps in STEPS:
                p = m.processing.StableDiffusionProcessingTxt2Img(sampler_name=sampler.name,
                                                                  scheduler=scheduler.label, steps=steps)
                p.sd_model = model
                executed = host_run.executed(p)
                # the preview's request: the host named, no executed values (iga's own maths)
                ours = GuardRequest(sampler=sampler.name, schedule=scheduler.label, steps=steps, host=started.host)
                theirs = dataclasses.replace(ours, executed=executed)
                for name, recipe in recipes.items():
                    a, b = _grid_findings(recipe, ours), _grid_findings(recipe, theirs)
                    if a != b:
                        disagree.append((name, sampler.name, scheduler.label, steps, a, b,
                                         [round(t, 1) for t in executed.timesteps]))
    assert disagree == [], "\n".join(map(str, disagree[:30])) + f"\n{len(disagree)} pairs disagree"


def test_auto_configure_picks_a_pair_the_host_runs_on_the_grid(started):
    """Whatever auto-configure sets for a grid recipe on this host, the host's own sampler runs on the grid;
    where it cannot, it says so (IGA-C003 hard) and the guard refuses the recipe's pair on the host's values."""
    started.reset("plain.safetensors")
    from iga_core.autoconfig import auto_configure
    from iga_webui import host, host_run

    m = started.m
    model = m.sd_models.reload_model_weights()
    outcomes = {}
    for name in GRID_RECIPES:
        recipe = _recipe(name)
        config = auto_configure(recipe, host.capabilities())
        values = config.values
        p = m.processing.StableDiffusionProcessingTxt2Img(sampler_name=values["sampler"],
                                                          scheduler=values["schedule"] or "Automatic",
                                                          steps=values["steps"])
        p.sd_model = model
        request = GuardRequest(sampler=values["sampler"], schedule=values["schedule"], steps=values["steps"],
                               executed=host_run.executed(p))
        grid = _grid_findings(recipe, request)
        outcomes[name] = (config.honoured, values["sampler"], grid)
        assert grid == ([] if config.honoured else ["IGA-H004"]), (name, config.to_dict())
    # DMD2's own LCM is replaced by what lands (no allow list) where it runs A1111's 50-step table; Neo's LCM
    # runs the recipe's SGM Uniform as it is and stays (auto-configure reasons as the host runs it). UniPC runs
    # on the grid as itself, DDIM is replaced by its Euler step
    assert outcomes["dmd2_lcm"][:2] == (True, "LCM" if started.host == "forge-neo" else "Euler a")
    assert outcomes["unipc"][:2] == (True, "UniPC")
    assert outcomes["ddim"][:2] == (True, "Euler")
