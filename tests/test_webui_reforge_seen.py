"""What a real reForge (3b56b268, CPU, docs/hosts.md "Seen in a real reForge") showed that the double and the
glue had wrong: its built-in "Advanced Model Sampling for reForge" script swaps the UNet's model_sampling
inside `p.sample`, after IGA's hand-over check, so an eps model asked to run as v-prediction through it passed
the guard; its sampler list has no "Euler A2" (dropped at reForge sd_samplers_kdiffusion.py:50-54 because
the default k-diffusion, `sd_sampling` "A1111", lacks `sample_euler_a2`); and the audit record's executed
schedule named the host "forge"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.host_double import clear, install
from tests.host_double.flavours import hosts_for_this_venv
from tests.webui_recipes import add_checkpoint, recipe

pytestmark = [pytest.mark.host,
              pytest.mark.skipif("reforge" not in hosts_for_this_venv(), reason="reForge runs on the gradio 3 venv")]

#: an SD 1.5 eps recipe with a grid-free schedule, as metadata_examples/sd15.iga.json
SD15 = json.loads((Path(__file__).resolve().parents[1] / "metadata_examples" /
                   "sd15.iga.json").read_text())
AMS = "Advanced Model Sampling for reForge"
#: the script's 16 args (advanced_model_sampling_script.py:350-353), as the real test sent them
AMS_V = [True, "Discrete", "v_prediction", False, "v_prediction", 120.0, 0.002, 120.0, 0.002, 2.0, 3.0, 1.73, 1.15,
         0.5, 1024, 1024]


@pytest.fixture(scope="module")
def reforge(tmp_path_factory):
    double = install("reforge", tmp_path_factory.mktemp("reforge"))
    add_checkpoint(double.models, "sd15.safetensors", recipe(SD15))
    add_checkpoint(double.models, "plain.safetensors", None, seed=2)
    double.start(select="sd15.safetensors", extensions=("reforge_ams_ext",))
    try:
        yield double
    finally:
        clear()


def _txt2img(double, **extra):
    return double.api_txt2img({"prompt": "a cat", "steps": 20, "cfg_scale": 7.5, "sampler_name": "Euler a",
                               "scheduler": "Automatic", "width": 512, "height": 512, **extra})


def test_advanced_model_sampling_running_an_eps_model_as_v_is_refused(reforge):
    status, body = _txt2img(reforge, alwayson_scripts={AMS: {"args": AMS_V}})
    assert status == 422 and "IGA-H003" in body["detail"], body
    off = [False, *AMS_V[1:]]
    status, body = _txt2img(reforge, alwayson_scripts={AMS: {"args": off}})
    assert status == 200, body
    eps = [True, "Discrete", "eps", False, *AMS_V[4:]]
    status, body = _txt2img(reforge, alwayson_scripts={AMS: {"args": eps}})
    assert status == 200, body


def test_the_advanced_model_sampling_reader(reforge):
    """The reader gives what the script will run: each mode's type; disabled, the model's own."""
    from types import SimpleNamespace

    from iga_webui import host

    reader = host.glue("prediction")
    model = reforge.m.sd_models.reload_model_weights()
    script = SimpleNamespace(name=AMS.lower(), args_from=2, args_to=18)

    def p(args):
        return SimpleNamespace(scripts=SimpleNamespace(alwayson_scripts=[script]), script_args=(0, 0, *args))

    assert reader.prediction(model, p(AMS_V)) == "v"
    assert reader.prediction(model, p([False, *AMS_V[1:]])) == "eps"
    assert reader.prediction(model, p([True, "Continuous V", *AMS_V[2:]])) == "v"
    assert reader.prediction(model, p([True, "SD3", *AMS_V[2:]])) == "flow"
    assert reader.prediction(model, p([True, "Continuous EDM", "x", False, "eps", *AMS_V[5:]])) == "eps"
    assert reader.prediction(model, p([True, "Stable Cascade", *AMS_V[2:]])) is None
    assert reader.zero_terminal_snr(model, False, p([True, "Discrete", "eps", True, *AMS_V[4:]])) is True
    assert reader.zero_terminal_snr(model, False, p([False, "Discrete", "eps", True, *AMS_V[4:]])) is False


def test_reforges_sampler_list_has_no_euler_a2_and_the_record_names_reforge(reforge):
    from iga_core.audit import read_image_metadata

    names = [s.name for s in reforge.m.sd_samplers.all_samplers]
    assert "Euler A2" not in names and "Euler a" in names and "Euler Dy" in names
    status, _ = _txt2img(reforge, save_images=True)
    assert status == 200
    record = [read_image_metadata(f) for f in reforge.saved_files() if f.suffix == ".png"][-1]
    assert record["host_run"]["passes"]["first"]["source"].startswith("reforge ")


def test_a_block_in_the_ui_shows_its_reason(reforge):
    """Seen: Generate with width 1088 made no image, but the html log said "TypeError: 'NoneType' object is
    not iterable": reForge's main thread drops the task's exception (main_thread.py:29-42) and call_queue
    fails on list(None) (call_queue.py:74). The refusal must reach the html log as it does on A1111."""
    reforge.reset("sd15.safetensors")
    images, _js, _info, html_log = reforge.ui_txt2img(width=1088, height=512, steps=20, cfg_scale=7.5,
                                                      sampler_name="DPM++ 2M", scheduler="Karras")
    assert images == [] and reforge.saved_files() == []
    assert html_log.startswith("<div class='error'>GuardBlocked: IGA refused this generation."), html_log
    assert "IGA-H005" in html_log and "NoneType" not in html_log


def test_img2img_block_in_the_ui_shows_its_reason(reforge):
    from PIL import Image

    reforge.reset("sd15.safetensors")
    p = reforge.m.processing.StableDiffusionProcessingImg2Img(prompt="x", width=1088, height=512,
                                                              init_images=[Image.new("RGB", (8, 8))])
    images, _js, _info, html_log = reforge.m.txt2img.ui_generate(p, reforge.ui_args(img2img=True), img2img=True)
    assert images == [] and "GuardBlocked" in html_log and "IGA-H005" in html_log, html_log


def test_only_igas_own_errors_are_raised_again_and_the_wrap_is_installed_once(reforge):
    """The host's other failures stay the host's (printed, result None); a second script load does not wrap
    the wrapper."""
    import sys

    from iga_webui import host
    from iga_webui.blocking import GuardBlocked

    main_thread = sys.modules["modules_forge.main_thread"]
    assert host.reraise_own_errors_of_the_main_thread() and host.reraise_own_errors_of_the_main_thread()
    assert not getattr(main_thread.run_and_wait_result.__wrapped__, "__iga_reraises__", False)

    def host_fails():
        raise ValueError("the host's own")

    def refused():
        raise GuardBlocked("IGA refused this generation.\nreason")

    assert main_thread.run_and_wait_result(host_fails) is None
    with pytest.raises(GuardBlocked, match="reason"):
        main_thread.run_and_wait_result(refused)
    assert main_thread.run_and_wait_result(lambda x: x + 1, 1) == 2


def test_the_remedy_of_a_refusal_by_advanced_model_sampling_names_the_script(reforge):
    """The script, not the checkpoint, sets the type here: the remedy names its controls by their labels
    (advanced_model_sampling_script.py:283-297), not a .yaml or a v_pred key."""
    status, body = _txt2img(reforge, alwayson_scripts={AMS: {"args": AMS_V}})
    assert status == 422, body
    finding = next(f for f in body["body"]["verdict"]["findings"] if f["rule_id"] == "IGA-H003")
    assert "Discrete Sampling Type: eps" in finding["remedy"], finding
    assert "untick Enable Advanced Model Sampling" in finding["remedy"]
    assert ".yaml" not in finding["remedy"] and "v_pred" not in finding["remedy"]
    assert body["body"]["audit"]["host_run"]["model"]["prediction_set_by"] == "advanced_model_sampling"


def test_a_patch_left_by_an_earlier_advanced_model_sampling_run_is_named_with_its_remedy(reforge):
    """Seen: after a run with the script on, the next request without it still ran patched. The refusal of
    that request says so and tells to reload the checkpoint; a fresh load runs the checkpoint's own type."""
    reforge.select("plain.safetensors")
    reforge.select("sd15.safetensors")  # loaded afresh: no patch
    audit = {"IGA": {"args": [{"mode": "audit"}]}}
    status, body = _txt2img(reforge, alwayson_scripts={AMS: {"args": AMS_V}, **audit})
    assert status == 200, body  # audit mode: it runs as v, and the script patches the model
    assert type(reforge.m.shared.sd_model.forge_objects.unet.model.model_sampling).__name__ == "ModelSamplingAdvanced"

    status, body = _txt2img(reforge)  # the script off
    assert status == 422 and "IGA-H003" in body["detail"], body
    finding = next(f for f in body["body"]["verdict"]["findings"] if f["rule_id"] == "IGA-H003")
    assert finding["actual"] == "v"
    assert "still carries the patch of an earlier Advanced Model Sampling" in finding["remedy"], finding
    assert "reload the checkpoint" in finding["remedy"] and ".yaml" not in finding["remedy"]
    assert body["body"]["audit"]["host_run"]["model"]["prediction_set_by"] == "advanced_model_sampling_left_over"

    reforge.select("plain.safetensors")
    reforge.select("sd15.safetensors")  # the remedy: loaded afresh
    status, body = _txt2img(reforge)
    assert status == 200, body
