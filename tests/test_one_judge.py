"""One judge: Generate, the panel, POST /iga/v1/check and `iga check` give the same verdict on the same inputs.

A property test over the example recipes (metadata_examples/, stamped into tiny checkpoints of a host double
that runs once as A1111 and once as Forge), LoRA compositions from prompt tags (a distillation LoRA that
replaces the sampling, style LoRAs that narrow it, two of which cannot be composed, and one whose recipe is
invalid), random requests and guard modes:

- the panel, the API and the CLI get the same names and numbers and must answer the same verdict (the
  API and the CLI also with a hires and a refiner pass, which the panel cannot express);
- Generate adds what the host will really run (the executed sigmas, the loaded model's facts) to its
  request; the API, sent exactly that request and the passes Generate judged, must answer Generate's verdict.
"""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iga_core.cli import main as cli
from iga_core.guard import GuardRequest
from tests.factories import SD1_TENSORS, make_checkpoint
from tests.host_double.fixture import started_host
from tests.host_double.flavours import ALL
from tests.test_guard_support import example_recipes
from tests.webui_recipes import add_checkpoint

pytestmark = pytest.mark.host

EXAMPLES = example_recipes()
CHECKPOINTS = ("sdxl-lightning-4step", "sdxl-turbo", "sdxl-base", "dmd2-sdxl-4step", "flux1-schnell")
STYLE = {"iga_version": "1.0.0", "model_id": "style", "architecture": "sdxl", "prediction_type": "eps",
         "sampler": {"name": "Euler"}, "scheduler": {"name": "Automatic"},
         "steps": {"default": 20, "min": 8, "max": 30}, "cfg": {"default": 5.0, "min": 3.0, "max": 6.0},
         "resolution": {"max": {"width": 1024, "height": 1024}}, "x-compose": "narrow"}
LORAS = {
    "lcm": EXAMPLES.get("lcm-lora-sdxl"),  # replaces the sampling (LCM, 2-8 steps, CFG 1-2)
    "ink": STYLE,
    "bold": {**STYLE, "model_id": "bold", "cfg": {"default": 9.0, "min": 8.0, "max": 10.0}},  # no overlap with ink
    "forbid": {**STYLE, "model_id": "forbid", "constraints": {"forbid_samplers": ["DPM++ 2M", "Euler a"]}},
}
BROKEN_LORA = "broken"  # a sidecar recipe that does not validate: ignored with IGA-M010 everywhere
SAMPLERS = ("Euler", "Euler a", "DPM++ 2M", "DDIM", "LCM", "Heun", "UniPC")
SCHEDULES = ("Automatic", "Karras", "SGM Uniform", "Simple", "Exponential", "Normal")


def _without_hashes(d: dict, **changes) -> dict:
    return {**{k: v for k, v in d.items() if k != "hashes"}, **changes}


#: the host-fact cases (docs/hosts.md §4): file -> (tensors, recipe, the request Generate sends, the hosts that
#: refuse it with IGA-H003). A v recipe on a plain SD 1.5 model: every host reads eps. An SDXL with a `v_pred`
#: key: the forks read v (F backend/loader.py:546-560, classic supported_models.py:117-121, reForge 215-218),
#: A1111 eps (it reads a YAML only, A sd_models_config.py:128-137) -- so an eps recipe is refused on the forks,
#: a v recipe on A1111.
SD15_REQUEST = {"sampler_name": "DPM++ 2M", "scheduler": "Karras", "steps": 25, "cfg_scale": 7.5, "width": 512,
                "height": 512}
SDXL_REQUEST = {"sampler_name": "Euler", "scheduler": "Automatic", "steps": 30, "cfg_scale": 5.0, "width": 1024,
                "height": 1024}
VPRED_XL = {**SD1_TENSORS, "conditioner.embedders.1.model.ln_final.weight": ("F16", [8]), "v_pred": ("F32", [0])}
PREDICTION_CASES = {
    "v-on-eps.safetensors": (None, _without_hashes(EXAMPLES["sd15"], prediction_type="v"), SD15_REQUEST, set(ALL)),
    "eps-on-vpred-xl.safetensors": (VPRED_XL, _without_hashes(EXAMPLES["sdxl-base"]), SDXL_REQUEST,
                                    set(ALL) - {"a1111"}),
    "v-on-vpred-xl.safetensors": (VPRED_XL, _without_hashes(EXAMPLES["sdxl-base"], prediction_type="v"),
                                  SDXL_REQUEST, {"a1111"}),
}
#: a zero-terminal-SNR recipe on a plain SD 1.5 file: Generate sets the host's noise schedule for it (its
#: `apply_recipe_settings`), unless the preset is Custom -- then the host's Default schedule runs (IGA-H007)
ZTSNR_FILE = "ztsnr-recipe.safetensors"
ZTSNR_RECIPE = _without_hashes(EXAMPLES["sd15"], scheduler={**EXAMPLES["sd15"]["scheduler"], "zero_terminal_snr": True})
#: the rules that read the host's facts about the loaded model
HOST_FACT_RULES = ("IGA-H003", "IGA-H007", "IGA-H008")
#: a plain SD 1.5 recipe (clip skip 1) and another stamped file, for what the host runs that the page has no
#: control for (clip skip) and for the checkpoint the next Generate runs
SD15_FILE = "sd15-recipe.safetensors"
OTHER_SD15_FILE = "sd15-other.safetensors"
OTHER_SD15 = _without_hashes(EXAMPLES["sd15"], model_id="sd15-other")


def _files(double) -> None:
    from iga_core.checkpoint.stamp import stamp

    for i, name in enumerate(CHECKPOINTS):
        add_checkpoint(double.models, f"{name}.safetensors", EXAMPLES[name], seed=10 + i)
    for i, (name, (tensors, recipe, _request, _refused)) in enumerate(PREDICTION_CASES.items()):
        stamp(make_checkpoint(double.models / name, tensors, seed=50 + i), recipe)
    stamp(make_checkpoint(double.models / ZTSNR_FILE, seed=60), ZTSNR_RECIPE)
    stamp(make_checkpoint(double.models / SD15_FILE, seed=61), _without_hashes(EXAMPLES["sd15"]))
    stamp(make_checkpoint(double.models / OTHER_SD15_FILE, seed=62), OTHER_SD15)
    for i, (name, recipe) in enumerate(LORAS.items()):
        add_checkpoint(double.loras, f"{name}.safetensors", recipe, seed=30 + i)
    broken = add_checkpoint(double.loras, f"{BROKEN_LORA}.safetensors", None, seed=40)
    (broken.parent / f"{broken.name}.iga.json").write_text(json.dumps({**STYLE, "steps": {"default": 99}}), "utf-8")


started = started_host(_files, select=f"{CHECKPOINTS[0]}.safetensors")


@pytest.fixture(scope="module")
def webui(started):
    from iga_webui import api

    app = FastAPI()
    api.on_app_started(None, app)
    started.client = TestClient(app)
    return started


def _lora_file(double, name: str):
    return double.loras / f"{name}.safetensors"


def _prompt(loras) -> str:
    return "a lighthouse " + " ".join(f"<lora:{name}:{weight:g}>" for name, weight in loras)


def panel_view(double, checkpoint: str, request: dict, loras, mode: str):
    """The live verdict of a page with these controls and no clip-skip control (Neo's, A1111's by default)."""
    from iga_core.ui import view
    from iga_webui.context import panel_context

    controls = {"sampler": request["sampler"], "schedule": request["schedule"], "steps": request["steps"],
                "cfg": request["cfg"], "width": request["width"], "height": request["height"]}
    inputs = view.PanelInputs(checkpoint=checkpoint, mode=mode, controls=controls, prompt=_prompt(loras))
    return view.compute(panel_context(), inputs, "edit")


def api_answer(double, checkpoint: str | None, request: dict, loras, mode: str, passes=(), *, inline=None,
               preset: str | None = None) -> dict:
    """POST /iga/v1/check on a checkpoint, or (`inline`) on its recipe sent inline: a recipe that names no
    model, for which the host reads nothing (what the CLI judges, without a host)."""
    where = {"recipe": inline} if inline is not None else {"checkpoint": checkpoint}
    body = {**where, "request": request, "mode": mode,
            "loras": [{"name": name, "weight": weight} for name, weight in loras], "passes": list(passes),
            **({"preset": preset} if preset is not None else {})}
    answer = double.client.post("/iga/v1/check", json=body)
    assert answer.status_code == 200, answer.json()
    return answer.json()


def cli_answer(double, checkpoint: str, request: dict, loras, mode: str, hires=None, refiner=None) -> dict:
    argv = ["check", str(double.models / f"{checkpoint}.safetensors"), "--json", "--verify", "never", "--mode", mode,
            "--sampler", request["sampler"], "--scheduler", request["schedule"], "--steps", str(request["steps"]),
            "--cfg", str(request["cfg"]), "--size", f"{request['width']}x{request['height']}"]
    if request.get("host"):
        argv += ["--host", request["host"]]
    for name, weight in loras:
        argv += ["--lora", f"{_lora_file(double, name)}:{weight}"]
    if hires is not None:
        argv += ["--hires", ",".join(f"{k}={v}" for k, v in hires.items())]
    if refiner is not None:
        argv += ["--refiner", str(double.models / f"{refiner}.safetensors")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli(argv)
    assert code in (0, 3), out.getvalue()
    return json.loads(out.getvalue())


def exactly(request: GuardRequest) -> dict:
    """A request as JSON without losing a digit: `to_dict` rounds the executed schedule for the audit record,
    which can move a displayed timestep (83.49999 -> 83.5); the API must be sent what Generate judged."""
    out = request.to_dict()
    if request.executed is not None:
        out["executed"] = {**out["executed"], "values": list(request.executed.values),
                           "timesteps": list(request.executed.timesteps)}
    return out


requests = st.fixed_dictionaries({
    "sampler": st.sampled_from(SAMPLERS), "schedule": st.sampled_from(SCHEDULES), "steps": st.integers(1, 40),
    "cfg": st.sampled_from([1.0, 1.5, 2.0, 3.5, 5.0, 7.0, 9.0]),
    "width": st.sampled_from([512, 768, 1024, 1152]), "height": st.sampled_from([512, 896, 1024, 1536]),
})
lora_tags = st.lists(st.tuples(st.sampled_from([*LORAS, BROKEN_LORA]), st.sampled_from([0.0, 0.5, 1.0])),
                     max_size=2, unique_by=lambda t: t[0])
modes = st.sampled_from(["standard", "strict", "audit", "off"])
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SETTINGS
@given(checkpoint=st.sampled_from(CHECKPOINTS), request=requests, loras=lora_tags, mode=modes)
def test_panel_api_and_cli_give_the_same_verdict(webui, checkpoint, request, loras, mode):
    """The panel and the API judge with the host's facts about the loaded model (as Generate does); the CLI,
    which has no host, agrees with the API sent the same recipe inline (no model named, nothing read), and a
    checkpoint the host has not loaded is judged on the recipe alone, the facts left to Generate."""
    # the panel judges as its host runs the request (Classic's and Neo's UniPC on the schedule's sigmas): the
    # API and the CLI are told the same host
    request = {**request, "host": webui.host}
    api = api_answer(webui, checkpoint, request, loras, mode)
    inline = api_answer(webui, None, request, loras, mode, inline=EXAMPLES[checkpoint])
    cli_data = cli_answer(webui, checkpoint, request, loras, mode)
    assert inline["verdict"] == cli_data["verdict"]
    assert inline["composition"] == cli_data["composition"]
    assert inline["request"] == cli_data["request"]  # the host's key included: both are told the panel's host
    # the panel's own preset (Custom once the controls leave the recipe's values) says which clip skip Generate
    # runs on a page without that control: the API is asked about the same request on the same page
    panel = panel_view(webui, f"{checkpoint}.safetensors", request, loras, mode)
    same_page = api_answer(webui, checkpoint, {**request, "hidden_controls": ["clip_skip"]}, loras, mode,
                           preset=panel.preset)
    assert panel.verdict.to_dict() == same_page["verdict"]
    facts = api["host_facts"]
    assert facts["host"] == webui.host and not inline["host_facts"]["loaded"]
    assert any("sampler will run" in line for line in facts["later"])  # the executed grid: Generate's alone
    loaded = getattr(webui.m.shared.sd_model, "sd_checkpoint_info", None)  # F / Neo: none before the first load
    assert facts["loaded"] == (loaded is not None and loaded.filename.endswith(f"{checkpoint}.safetensors"))
    if not facts["loaded"]:
        assert api["verdict"] == inline["verdict"]


@SETTINGS
@given(checkpoint=st.sampled_from(CHECKPOINTS), request=requests, loras=lora_tags, mode=modes,
       hires_steps=st.integers(1, 30), strength=st.sampled_from([0.3, 0.5, 0.7]), refiner=st.booleans())
def test_api_and_cli_agree_on_hires_and_refiner_passes(webui, checkpoint, request, loras, mode, hires_steps,
                                                       strength, refiner):
    hires = {"steps": hires_steps, "denoise": strength}
    request = {**request, "host": webui.host}  # as the panel's test: the CLI is told the host the API judges for
    passes = [{"name": "hires", "request": {"steps": hires_steps, "denoising_strength": strength}}]
    if refiner:
        passes.append({"name": "refiner", "checkpoint": f"{CHECKPOINTS[0]}.safetensors"})
    api = api_answer(webui, checkpoint, request, loras, mode, passes)
    inline = api_answer(webui, None, request, loras, mode, passes, inline=EXAMPLES[checkpoint])
    cli_data = cli_answer(webui, checkpoint, request, loras, mode, hires, CHECKPOINTS[0] if refiner else None)
    assert inline["verdict"] == cli_data["verdict"] and inline["passes"] == cli_data["passes"] == api["passes"]
    # the loaded model's facts go on the first pass only: the extra passes' findings are the recipe's alone
    def of_passes(answer):
        return [f for f in answer["verdict"]["findings"] if f["field"].startswith(("hires ", "refiner "))]

    assert of_passes(api) == of_passes(inline)


@SETTINGS
@given(checkpoint=st.sampled_from(CHECKPOINTS), request=requests, loras=lora_tags, mode=modes,
       hires=st.one_of(st.none(), st.integers(2, 20)))
def test_generate_gives_the_verdict_the_api_gives_for_what_the_host_runs(webui, monkeypatch, checkpoint, request,
                                                                         loras, mode, hires):
    from iga_webui import passes as glue_passes

    judged = []
    real = getattr(glue_passes.extra_passes, "real", glue_passes.extra_passes)  # hypothesis reruns the body

    def spy(*args, **kwargs):
        judged.append(real(*args, **kwargs))
        return judged[-1]

    spy.real = real
    monkeypatch.setattr(glue_passes, "extra_passes", spy)
    webui.reset(f"{checkpoint}.safetensors")
    fields = {"sampler_name": request["sampler"], "scheduler": request["schedule"], "steps": request["steps"],
              "cfg_scale": request["cfg"], "width": request["width"], "height": request["height"]}
    if hires is not None:  # (1 second-pass step at strength 0.5 schedules none: host_run cannot read UniPC's grid)
        fields.update(enable_hr=True, hr_second_pass_steps=hires, denoising_strength=0.5, hr_scale=1.0)
    webui.ui_txt2img({"v": 1, "preset": "Custom", "mode": mode}, prompt=_prompt(loras), **fields)
    st_ = webui.last_p.iga_state
    assert st_.verdict is not None and st_.failure is None, st_.failure
    sent = exactly(st_.request)
    ran = dict(request)
    if webui.host == "forge-classic":  # it writes the sampler's own schedule as Automatic (classic sd_samplers.py:137-140)
        ran["schedule"] = webui.m.sd_samplers.get_sampler_and_scheduler(request["sampler"], request["schedule"])[1]
    assert {k: sent[k] for k in request} == ran  # the host ran the names and numbers it was given
    passes = [{"name": p.name, "request": exactly(p.request)} for p in judged[-1] if p.name == "hires"]
    api = api_answer(webui, checkpoint, sent, loras, mode, passes)
    assert api["verdict"] == st_.verdict.to_dict()
    assert GuardRequest.from_dict(sent) == st_.request


def _host_fact_findings(verdict: dict | None) -> list[dict]:
    return [f for f in (verdict or {}).get("findings", ()) if f["rule_id"] in HOST_FACT_RULES]


@pytest.mark.parametrize("name", sorted(PREDICTION_CASES))
def test_panel_check_route_and_generate_judge_the_loaded_models_facts_alike(webui, name):
    """Seen in a real reForge (docs/hosts.md): the live verdict was green for a v recipe on an eps checkpoint
    while Generate and the API refused it (IGA-H003). The panel and POST /iga/v1/check now judge with the facts
    the host reads from the loaded model, as Generate does, on every host's own reader; before the host has
    loaded the checkpoint (Forge and Neo load at Generate) they say the facts are Generate's to read."""
    from iga_core.ui import view
    from iga_webui.context import panel_context

    _tensors, _recipe, fields, refused = PREDICTION_CASES[name]
    webui.reset(name)
    request = {"sampler": fields["sampler_name"], "schedule": fields["scheduler"], "steps": fields["steps"],
               "cfg": fields["cfg_scale"], "width": fields["width"], "height": fields["height"]}
    inputs = view.PanelInputs(checkpoint=name, mode="standard", controls=request)
    if webui.m.shared.FLAVOUR.lazy_load:  # not loaded yet: nothing is pretended
        before = view.compute(panel_context(), inputs, "edit")
        assert not before.host_facts.loaded and any(name in line for line in before.host_facts.later)
        assert not _host_fact_findings(before.verdict.to_dict()) and "Checked only at Generate" in before.verdict_html
        assert not api_answer(webui, name, request, (), "standard")["host_facts"]["loaded"]
        webui.m.sd_models.reload_model_weights()
    panel = view.compute(panel_context(), inputs, "edit")
    api = api_answer(webui, name, request, (), "standard")
    webui.ui_txt2img({"v": 1, "preset": "Native", "mode": "standard"}, **fields)
    generated = webui.last_p.iga_state
    assert generated.failure is None, generated.failure

    wanted = "IGA-H003" in {f["rule_id"] for f in _host_fact_findings(generated.verdict.to_dict())}
    assert wanted == (webui.host in refused)  # each host's own reading of the file
    assert _host_fact_findings(panel.verdict.to_dict()) == _host_fact_findings(api["verdict"]) \
        == _host_fact_findings(generated.verdict.to_dict())
    assert panel.verdict.allowed == api["ok"] == (not wanted)
    assert panel.host_facts.loaded and api["host_facts"]["loaded"]
    model = generated.host_run["model"]
    assert api["host_facts"]["prediction_type"] == panel.host_facts.prediction_type == model["prediction_type"]
    assert f"prediction type {model['prediction_type']}" in panel.verdict_html
    assert any("sampler will run" in line for line in panel.host_facts.later)  # the executed grid: Generate's


@pytest.mark.parametrize("preset", ["Native", "Custom"])
def test_the_noise_schedule_generate_will_set_is_the_one_the_live_verdict_judges(webui, preset):
    """IGA-H007 before Generate: Generate applies a recipe's zero-terminal-SNR schedule per request except
    under Custom, so the panel and /check judge the schedule Generate will run, not the setting as it is now."""
    from iga_core.ui import view
    from iga_webui.context import panel_context

    webui.reset(ZTSNR_FILE)
    webui.m.sd_models.reload_model_weights()  # F and Neo load lazily
    request = {"sampler": "DPM++ 2M", "schedule": "Karras", "steps": 25, "cfg": 7.5, "width": 512, "height": 512}
    panel = view.compute(panel_context(), view.PanelInputs(checkpoint=ZTSNR_FILE, preset=preset, mode="standard",
                                                           controls=request), "edit")
    api = webui.client.post("/iga/v1/check", json={"checkpoint": ZTSNR_FILE, "request": request, "preset": preset,
                                                   "mode": "standard"}).json()
    webui.ui_txt2img({"v": 1, "preset": preset, "mode": "standard"}, sampler_name="DPM++ 2M", scheduler="Karras",
                     steps=25, cfg_scale=7.5, width=512, height=512)
    generated = webui.last_p.iga_state.verdict.to_dict()
    h007 = [f for f in _host_fact_findings(generated) if f["rule_id"] == "IGA-H007"]
    assert bool(h007) == (preset == "Custom")
    assert _host_fact_findings(panel.verdict.to_dict()) == _host_fact_findings(api["verdict"]) \
        == _host_fact_findings(generated)


@pytest.mark.parametrize(("preset", "auto_apply"), [("Native", True), ("Custom", True), ("Native", False)])
def test_the_clip_skip_generate_will_run_is_the_one_the_live_verdict_judges(webui, preset, auto_apply, monkeypatch):
    """Seen in a real Forge Neo (docs/hosts.md): its Clip skip setting defaults to 2 (N shared_options.py:224) and
    its page has no clip-skip control, so under Custom Generate warned IGA-S006 while the live verdict, with no
    clip skip to read, said nothing. The panel now judges the clip skip Generate will run: the recipe's under a
    preset (Generate sets it per request), the host's setting under Custom, with a remedy that says where it is."""
    from iga_core.ui import view
    from iga_webui.context import panel_context

    webui.reset(SD15_FILE)
    webui.m.shared.opts.data["CLIP_stop_at_last_layers"] = 2
    webui.m.shared.opts.data["iga_auto_apply"] = auto_apply  # off: Generate sets nothing, the setting runs
    runs_setting = preset == "Custom" or not auto_apply
    controls = {"sampler": "DPM++ 2M", "schedule": "Karras", "steps": 25, "cfg": 7.5, "width": 512, "height": 512}
    panel = view.compute(panel_context(), view.PanelInputs(checkpoint=SD15_FILE, preset=preset, mode="standard",
                                                           controls=controls), "edit")
    webui.ui_txt2img({"v": 1, "preset": preset, "mode": "standard"}, **SD15_REQUEST)
    generated = webui.last_p.iga_state.verdict.to_dict()

    def s006(verdict: dict) -> list[dict]:
        return [f for f in verdict["findings"] if f["rule_id"] == "IGA-S006"]

    assert bool(s006(generated)) == runs_setting
    assert [f["actual"] for f in s006(panel.verdict.to_dict())] == [f["actual"] for f in s006(generated)]
    assert panel.preset == preset and "cannot be set on this page" not in panel.status_html  # Generate sets it
    if runs_setting:
        remedy = s006(panel.verdict.to_dict())[0]["remedy"]
        assert "a preset other than Custom" in remedy and remedy.endswith("then use clip skip 1")
        # a UI generation on such a page (the wiring records it: tests/test_ui_wiring.py) says the same
        from iga_webui import page

        monkeypatch.setattr(page, "clip_skip_control", False)
        webui.ui_txt2img({"v": 1, "preset": preset, "mode": "standard"}, **SD15_REQUEST)
        assert s006(webui.last_p.iga_state.verdict.to_dict())[0]["remedy"] == remedy


def test_the_panel_follows_the_checkpoint_the_next_generate_runs_after_an_api_override(webui):
    """Seen in a real Forge Neo (docs/hosts.md): after an API request whose override_settings named another
    checkpoint, the host restores the setting but keeps that model in memory until the next Generate, which
    loads the selected one again (A processing.py:826-831 and 852-855, N 813-843); the page's panel showed the
    recipe of the model in memory. With no checkpoint from the page (its load event) the panel now takes the
    selected one, on every host, as Generate does."""
    from iga_core.ui import view
    from iga_webui.context import panel_context

    webui.reset(SD15_FILE)
    webui.m.sd_models.reload_model_weights()
    webui.api_txt2img({"prompt": "a lighthouse", "steps": 25, "sampler_name": "DPM++ 2M", "scheduler": "Karras",
                       "cfg_scale": 7.5, "override_settings": {"sd_model_checkpoint": OTHER_SD15_FILE}})
    assert webui.m.shared.sd_model.sd_checkpoint_info.filename.endswith(OTHER_SD15_FILE)  # still in memory
    panel = view.compute(panel_context(), view.PanelInputs(checkpoint=None, mode="standard"), "reload")
    assert "sd-v1-5" in panel.status_html and "sd15-other" not in panel.status_html
    webui.ui_txt2img({"v": 1, "preset": "Native", "mode": "standard"}, **SD15_REQUEST)
    generated = webui.last_p.iga_state
    assert generated.recipe.model_id == "sd-v1-5" and webui.last_p.sd_model.sd_checkpoint_info.filename.endswith(
        SD15_FILE)
