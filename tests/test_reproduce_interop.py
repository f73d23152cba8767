"""`iga reproduce` on images the way each tool writes them (issue #16, items 5 and 8).

Every fixture is built the way the tool builds it, with the source in a comment:
- A1111 before 1.9: the infotext of v1.8.0 (processing.py:723-749 create_infotext: "Sampler" is the sampler's
  name, "Schedule type" only when the Settings override is set, "Version: v1.8.0"); sampler list
  sd_samplers_kdiffusion.py:11-39 of the v1.8.0 tag.
- ComfyUI: nodes.py SaveImage writes PNG text "prompt" = json.dumps(API graph) and "workflow"; the graph is
  the default workflow as script_examples/basic_api_example.py gives it.
- InvokeAI: image_files_disk.py:150-160 writes "invokeai_metadata" (CoreMetadataInvocation fields,
  invocations/metadata.py), "invokeai_graph", "invokeai_workflow".
- NovelAI: the PNG text chunks A1111's converter reads (images.py:806-815): Software "NovelAI", Description,
  Comment JSON (uc, steps, sampler, scale, seed), Source.
- SwarmUI: "parameters" = {"sui_image_params": {...}} (T2IParamInput.cs:405-425; ids from T2IParamTypes.cs).
- Fooocus: "parameters" = JSON of async_worker.py:337-391's list (to_string) + "fooocus_scheme" "fooocus".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from iga_core import vocab
from iga_core.audit.foreign import ForeignUnreadable, read_foreign
from iga_core.audit.image_meta import read_image
from iga_core.audit.pasteback import paste_info_from_text, reproduction
from iga_core.cli import main
from iga_core.guard import GuardRequest


def _png(path: Path, chunks: dict[str, str], size=(64, 48)) -> Path:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    Image.new("RGB", size, "teal").save(path, pnginfo=info)
    return path


def _run(capsys, *argv) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


# --- item 5: A1111 before 1.9 ----------------------------------------------------------------------------------

V180 = ("a lighthouse at dusk\nNegative prompt: blurry\nSteps: 24, Sampler: {sampler}, CFG scale: 7, Seed: 1234, "
        "Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: {version}")


@pytest.mark.parametrize(("sampler", "runs", "schedule"), [
    ("DPM++ 2M", "DPM++ 2M", "Uniform"),  # no 'scheduler' option in v1.8.0: the model's discretisation
    ("DPM2", "DPM2", "Uniform"),
    ("DPM++ 2M SDE", "DPM++ 2M SDE", "Uniform"),
    ("DPM++ 3M SDE", "DPM++ 3M SDE", "Uniform"),
    ("DPM++ 2S a", "DPM++ 2S a", "Uniform"),
    ("DPM++ 2M Karras", "DPM++ 2M", "Karras"),  # {'scheduler': 'karras'}
    ("DPM++ 2M SDE Exponential", "DPM++ 2M SDE", "Exponential"),
    ("DPM++ 2M SDE Heun Karras", "DPM++ 2M SDE Heun", "Karras"),
    ("LMS Karras", "LMS", "Karras"),
])
def test_a_pre_19_infotext_is_reproduced_with_the_schedule_it_ran(sampler, runs, schedule):
    repro = reproduction(paste_info_from_text(V180.format(sampler=sampler, version="v1.8.0")))
    assert (repro["request"]["sampler"], repro["request"]["schedule"]) == (runs, schedule)
    payload = repro["api_payload"]
    assert (payload["sampler_name"], payload["scheduler"]) == (runs, schedule)
    bare = vocab.normalize(runs)[1].label  # what 1.9+ runs for the bare name
    assert any("before 1.9" in n for n in repro["notes"]) == (bare != schedule)


def test_pre_19_settings_override_wins_as_it_did_then():
    # v1.8.0 wrote "Schedule type: <k_sched_type>" when the Settings option overrode the sampler's own
    text = V180.format(sampler="DPM++ 2M Karras", version="v1.8.0").replace("Seed:", "Schedule type: exponential, Seed:")
    repro = reproduction(paste_info_from_text(text))
    assert (repro["request"]["sampler"], repro["request"]["schedule"]) == ("DPM++ 2M", "Exponential")


@pytest.mark.parametrize("version", ["v1.9.0", "v1.10.1", "f2.0.1v1.10.1-previous-669-gdfdcbab6"])
def test_19_and_later_infotexts_are_left_as_written(version):
    repro = reproduction(paste_info_from_text(V180.format(sampler="DPM++ 2M", version=version)))
    assert "schedule" not in repro["request"] and not any("1.9" in n for n in repro["notes"])


def test_old_forge_versions_count_as_pre_19():
    repro = reproduction(paste_info_from_text(V180.format(sampler="DPM++ 2M",
                                                          version="f0.0.17v1.8.0rc-latest-276-g29be1da7")))
    assert repro["request"]["schedule"] == "Uniform"


def test_without_a_version_the_era_is_named_as_unknown():
    text = V180.format(sampler="DPM++ 2M", version="x").replace(", Version: x", "")
    repro = reproduction(paste_info_from_text(text))
    assert "schedule" not in repro["request"] and any("no Version" in n and "Uniform" in n for n in repro["notes"])


@pytest.mark.parametrize(("alias", "sampler", "schedule"), [
    # A1111 v1.8.0 aliases (sd_samplers_kdiffusion.py:11-39), resolved like its samplers_map (later wins)
    ("k_dpmpp_2m_ka", "dpmpp_2m", "karras"), ("k_lms_ka", "lms", "karras"), ("k_dpm_2_ka", "dpm2", "karras"),
    ("k_dpm_2_a_ka", "dpm2_a", "karras"), ("k_dpmpp_2s_a_ka", "dpmpp_2s_a", "karras"),
    ("k_dpmpp_sde_ka", "dpmpp_sde", "karras"), ("k_dpmpp_2m_sde_exp", "dpmpp_2m_sde", "exponential"),
    ("k_dpmpp_2m_sde_heun_ka", "dpmpp_2m_sde_heun", "karras"),
    ("k_dpmpp_2m_sde_heun_exp", "dpmpp_2m_sde_heun", "exponential"),
    ("k_dpmpp_3m_sde_ka", "dpmpp_3m_sde", "karras"), ("k_dpmpp_3m_sde_exp", "dpmpp_3m_sde", "exponential"),
    # listed for both "DPM++ 2M SDE Karras" and the later "DPM++ 2M SDE": the host's map kept the later one
    ("k_dpmpp_2m_sde_ka", "dpmpp_2m_sde", "uniform"),
])
def test_pre_19_aliases_resolve_with_their_schedule(alias, sampler, schedule):
    s, sch = vocab.normalize(alias)
    assert (s.id, sch.id) == (sampler, schedule)
    assert vocab.pre19_sampler(alias).sampler.id == sampler


def test_the_pre_19_table_is_the_v180_list():
    names = [e for e in json.loads((Path(vocab.__file__).parent / "data" / "a1111_pre19.json").read_text())["samplers"]]
    assert len([e for e in names if e["function"].startswith("sample_") and e["function"] != "sample_lcm"]) == 26
    for entry in names:  # every name of that era resolves today (split where it carried its schedule)
        assert vocab.normalize(entry["name"])[0].id == entry["sampler"]


def test_current_comfyui_and_swarmui_names_resolve():
    assert vocab.resolve_sampler("cfgpp_ud10_ab").mode == "ode"  # comfy/samplers.py KSAMPLER_NAMES (v0.35+)
    for name in ("turbo", "align_your_steps", "ltxv", "ltxv-image", "flux2", "ideogram4", "ideogram4turbo"):
        assert vocab.resolve_schedule(name, "swarmui").names["swarmui"] == name  # ComfyUIBackendExtension.cs:644


# --- item 8: the checkpoint in the payload ---------------------------------------------------------------------

def test_the_payload_names_the_checkpoint_as_the_api_takes_it():
    text = V180.format(sampler="Euler a", version="v1.10.1")
    repro = reproduction(paste_info_from_text(text))
    # "Model" is the host's name_for_extra, one of its checkpoint aliases (A1111 sd_models.py:96-100)
    assert repro["api_payload"]["override_settings"]["sd_model_checkpoint"] == "v1-5-pruned-emaonly"
    assert repro["checkpoint"] == "v1-5-pruned-emaonly" and any("drops" in n for n in repro["notes"])
    given = reproduction(paste_info_from_text(text), "/models/Stable-diffusion/sdxl/juggernautXL_v9.safetensors")
    assert given["api_payload"]["override_settings"]["sd_model_checkpoint"] == "juggernautXL_v9"
    hash_only = reproduction(paste_info_from_text(text.replace(", Model: v1-5-pruned-emaonly", "")))
    assert hash_only["api_payload"]["override_settings"]["sd_model_checkpoint"] == "6ce0161689"


def test_reproduce_cli_sends_the_pre_19_schedule_and_the_checkpoint(tmp_path, capsys):
    image = _png(tmp_path / "old.png", {"parameters": V180.format(sampler="DPM++ 2M", version="v1.8.0")})
    code, out = _run(capsys, "reproduce", str(image))
    assert code == 0 and out["request"]["schedule"] == "Uniform"
    assert out["api_payload"]["scheduler"] == "Uniform"
    assert out["api_payload"]["override_settings"]["sd_model_checkpoint"] == "v1-5-pruned-emaonly"


# --- item 8: ComfyUI --------------------------------------------------------------------------------------------

COMFY_DEFAULT = {  # ComfyUI script_examples/basic_api_example.py (the default workflow, API format)
    "3": {"class_type": "KSampler", "inputs": {"cfg": 8, "denoise": 1, "latent_image": ["5", 0], "model": ["4", 0],
                                               "negative": ["7", 0], "positive": ["6", 0], "sampler_name": "euler",
                                               "scheduler": "normal", "seed": 8566257, "steps": 20}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"batch_size": 1, "height": 512, "width": 512}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["4", 1], "text": "masterpiece best quality girl"}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["4", 1], "text": "bad hands"}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
}


def _comfy(path: Path, graph: dict) -> Path:
    # nodes.py SaveImage: metadata.add_text("prompt", json.dumps(prompt)); extra_pnginfo["workflow"] likewise
    return _png(path, {"prompt": json.dumps(graph), "workflow": json.dumps({"nodes": [], "links": []})})


def test_comfyui_default_workflow_reads_into_a_request(tmp_path, capsys):
    found = read_foreign(read_image(_comfy(tmp_path / "ComfyUI_00001_.png", COMFY_DEFAULT)))
    assert (found.format, found.dialect, found.seed) == ("ComfyUI", "comfyui", 8566257)
    assert found.fields == {"sampler": "euler", "schedule": "normal", "steps": 20, "cfg": 8.0, "width": 512,
                            "height": 512}
    assert (found.prompt, found.negative_prompt) == ("masterpiece best quality girl", "bad hands")
    assert found.checkpoint == "v1-5-pruned-emaonly.safetensors"
    code, out = _run(capsys, "reproduce", str(tmp_path / "ComfyUI_00001_.png"))
    assert code == 0 and out["format"] == "ComfyUI" and out["request"]["dialect"] == "comfyui"
    payload = out["api_payload"]
    assert (payload["sampler_name"], payload["scheduler"], payload["seed"]) == ("Euler", "Normal", 8566257)
    assert payload["override_settings"]["sd_model_checkpoint"] == "v1-5-pruned-emaonly"
    GuardRequest(**out["request"])


def test_comfyui_ddim_is_sent_to_a1111_as_the_euler_it_ran(tmp_path):
    graph = json.loads(json.dumps(COMFY_DEFAULT))
    graph["3"]["inputs"].update(sampler_name="ddim", scheduler="karras")
    from iga_core.audit.pasteback import reproduction_from_foreign

    repro = reproduction_from_foreign(read_foreign(read_image(_comfy(tmp_path / "d.png", graph))))
    assert (repro["api_payload"]["sampler_name"], repro["api_payload"]["scheduler"]) == ("Euler", "Karras")
    assert any("runs Euler" in n for n in repro["notes"])


def test_comfyui_lora_clip_skip_guidance_and_a_second_pass(tmp_path):
    graph = json.loads(json.dumps(COMFY_DEFAULT))
    graph["10"] = {"class_type": "LoraLoader", "inputs": {"model": ["4", 0], "clip": ["4", 1],
                                                          "lora_name": "detail.safetensors", "strength_model": 0.8,
                                                          "strength_clip": 0.8}}
    graph["11"] = {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["10", 1], "stop_at_clip_layer": -2}}
    graph["12"] = {"class_type": "FluxGuidance", "inputs": {"conditioning": ["6", 0], "guidance": 3.5}}
    graph["6"]["inputs"]["clip"] = ["11", 0]
    graph["3"]["inputs"].update(model=["10", 0], positive=["12", 0])
    graph["13"] = {"class_type": "KSampler", "inputs": {**graph["3"]["inputs"], "latent_image": ["14", 0],
                                                        "denoise": 0.5, "seed": 1}}
    graph["14"] = {"class_type": "LatentUpscaleBy", "inputs": {"samples": ["3", 0], "scale_by": 1.5}}
    found = read_foreign(read_image(_comfy(tmp_path / "c.png", graph)))
    assert found.seed == 8566257 and found.fields["clip_skip"] == 2 and found.fields["distilled_cfg"] == 3.5
    assert found.checkpoint == "v1-5-pruned-emaonly.safetensors"
    assert any("detail.safetensors at 0.8" in n for n in found.notes)
    assert any("2 sampler nodes" in n and "node 3" in n for n in found.notes)


def test_comfyui_advanced_sampler_and_linked_seed(tmp_path):
    graph = json.loads(json.dumps(COMFY_DEFAULT))
    inputs = graph.pop("3")["inputs"]
    graph["3"] = {"class_type": "KSamplerAdvanced", "inputs": {
        **{k: v for k, v in inputs.items() if k not in ("seed", "denoise")}, "add_noise": "enable",
        "noise_seed": ["20", 0], "start_at_step": 0, "end_at_step": 10000, "return_with_leftover_noise": "disable"}}
    graph["20"] = {"class_type": "PrimitiveInt", "inputs": {"value": 42}}
    found = read_foreign(read_image(_comfy(tmp_path / "a.png", graph)))
    assert found.seed == 42 and found.fields["steps"] == 20


@pytest.mark.parametrize(("chunks", "message"), [
    ({"workflow": json.dumps({"nodes": []})}, "only ComfyUI's UI workflow"),
    ({"prompt": json.dumps({"1": {"class_type": "SamplerCustomAdvanced", "inputs": {}}})},
     "SamplerCustomAdvanced"),
    ({"prompt": "{not json"}, "not valid JSON"),
])
def test_comfyui_images_without_a_readable_sampler_say_why(tmp_path, capsys, chunks, message):
    image = _png(tmp_path / "x.png", chunks)
    with pytest.raises(ForeignUnreadable, match=message):
        read_foreign(read_image(image))
    assert main(["reproduce", str(image)]) == 1
    assert message in capsys.readouterr().err


# --- item 8: InvokeAI -------------------------------------------------------------------------------------------

INVOKE = {  # invocations/metadata.py CoreMetadataInvocation fields, as the core metadata node writes them
    "generation_mode": "sdxl_txt2img", "positive_prompt": "a castle on a hill", "negative_prompt": "lowres",
    "width": 1024, "height": 1024, "seed": 3141592653, "rand_device": "cpu", "cfg_scale": 6.5,
    "cfg_rescale_multiplier": 0, "steps": 30, "scheduler": "dpmpp_2m_sde_k", "clip_skip": 0,
    "model": {"key": "3f2c", "hash": "blake3:ab12", "name": "Juggernaut XL v9", "base": "sdxl", "type": "main"},
    "loras": [], "app_version": "5.6.0",
}


def test_invokeai_core_metadata_reads_into_a_request(tmp_path):
    image = _png(tmp_path / "i.png", {"invokeai_metadata": json.dumps(INVOKE), "invokeai_graph": "{}"})
    found = read_foreign(read_image(image))
    assert (found.format, found.dialect, found.seed, found.checkpoint) == ("InvokeAI", None, 3141592653,
                                                                            "Juggernaut XL v9")
    # schedulers.py SCHEDULER_MAP: dpmpp_2m_sde_k = DPMSolverMultistepScheduler(sde-dpmsolver++, karras)
    assert found.fields == {"sampler": "DPM++ 2M SDE", "schedule": "Karras", "steps": 30, "cfg": 6.5,
                            "width": 1024, "height": 1024, "clip_skip": 1}
    assert found.prompt == "a castle on a hill" and found.negative_prompt == "lowres"


def test_every_invokeai_scheduler_name_resolves_or_is_refused():
    for name in vocab.invokeai_names():
        try:
            vocab.from_invokeai(name)
        except vocab.NoHostSampler as exc:
            assert name in ("dpmpp_2s", "dpmpp_2s_k", "dpmpp_3m", "dpmpp_3m_k") and exc.nearest


def test_invokeai_images_without_core_metadata_say_why(tmp_path):
    with pytest.raises(ForeignUnreadable, match="invokeai_metadata"):
        read_foreign(read_image(_png(tmp_path / "g.png", {"invokeai_graph": "{}"})))
    with pytest.raises(ForeignUnreadable, match=r"2\.x"):
        read_foreign(read_image(_png(tmp_path / "o.png", {"sd-metadata": "{}", "Dream": '"a cat" -s 50'})))


# --- item 8: NovelAI --------------------------------------------------------------------------------------------

NAI = {"Software": "NovelAI", "Title": "AI generated image", "Source": "Stable Diffusion XL C1E1DE52",
       "Description": "1girl, masterpiece",
       "Comment": json.dumps({"prompt": "1girl, masterpiece", "steps": 28, "height": 1216, "width": 832,
                              "scale": 5.0, "uncond_scale": 1.0, "cfg_rescale": 0.0, "seed": 2210573, "n_samples": 1,
                              "noise_schedule": "native", "sampler": "k_euler_ancestral", "uc": "lowres, bad"})}


def test_novelai_reads_as_a1111s_converter_does(tmp_path):
    found = read_foreign(read_image(_png(tmp_path / "nai.png", NAI, size=(832, 1216))))
    assert found.format == "NovelAI" and (found.prompt, found.negative_prompt) == ("1girl, masterpiece", "lowres, bad")
    assert found.fields == {"clip_skip": 2, "sampler": "Euler a", "steps": 28, "cfg": 5.0, "width": 832,
                            "height": 1216}
    assert found.seed == 2210573 and found.settings == {"eta_noise_seed_delta": 31337} and found.checkpoint is None
    assert any("NovelAI's own model" in n for n in found.notes)


def test_novelai_sampler_a1111_cannot_map_is_named_and_noted(tmp_path):
    comment = {**json.loads(NAI["Comment"]), "sampler": "k_dpmpp_2s_ancestral"}
    found = read_foreign(read_image(_png(tmp_path / "n2.png", {**NAI, "Comment": json.dumps(comment)})))
    assert found.fields["sampler"] == "DPM++ 2S a" and any("reads 'k_dpmpp_2s_ancestral' as Euler a" in n
                                                          for n in found.notes)


# --- item 8: SwarmUI and Fooocus (JSON in parameters) ----------------------------------------------------------

def test_swarmui_parameters(tmp_path):
    params = {"sui_image_params": {"prompt": "a fox", "negativeprompt": "", "model": "OfficialStableDiffusion/sd_xl_base_1.0",
                                   "seed": 1234, "steps": 25, "cfgscale": 6, "aspectratio": "1:1", "width": 1024,
                                   "height": 1024, "sampler": "dpmpp_2m", "scheduler": "turbo",
                                   "clipstopatlayer": -2, "swarm_version": "0.9.6.2"},
              "sui_extra_data": {"date": "2026-08-21"}}
    found = read_foreign(read_image(_png(tmp_path / "s.png", {"parameters": json.dumps(params)})))
    assert (found.format, found.dialect, found.checkpoint) == ("SwarmUI", "swarmui",
                                                               "OfficialStableDiffusion/sd_xl_base_1.0")
    assert found.fields["clip_skip"] == 2 and found.fields["schedule"] == "turbo"
    request = GuardRequest(**{**{k: found.fields[k] for k in ("sampler", "schedule", "steps")}, "dialect": "swarmui"})
    assert vocab.normalize(request.sampler, request.schedule, "swarmui")[1].id == "sd_turbo"


FOOOCUS = {  # async_worker.py:337-391 save_and_log + FooocusMetadataParser.to_string (meta_parser.py:554-581)
    "adm_guidance": "(1.5, 0.8, 0.3)", "base_model": "juggernautXL_v8Rundiffusion.safetensors",
    "base_model_hash": "aeb7e9e689", "full_negative_prompt": ["unrealistic, saturated"],
    "full_prompt": ["a cat, cinematic"], "guidance_scale": 4, "loras": [], "metadata_scheme": "fooocus",
    "negative_prompt": "", "performance": "Speed", "prompt": "a cat", "prompt_expansion": "a cat, cinematic",
    "refiner_model": "None", "refiner_switch": 0.5, "resolution": "(1152, 896)", "sampler": "dpmpp_2m_sde_gpu",
    "scheduler": "karras", "seed": "1234567890123", "sharpness": 2, "steps": 30, "styles": "['Fooocus V2']",
    "vae": "Default (model)", "version": "Fooocus v2.5.5",
}


def test_fooocus_json_gives_a_real_request_not_an_empty_one(tmp_path, capsys):
    image = _png(tmp_path / "f.png", {"parameters": json.dumps(FOOOCUS), "fooocus_scheme": "fooocus"})
    code, out = _run(capsys, "reproduce", str(image))
    assert code == 0 and out["format"] == "Fooocus"
    assert out["request"] == {"sampler": "dpmpp_2m_sde_gpu", "schedule": "karras", "steps": 30, "cfg": 4.0,
                              "width": 1152, "height": 896, "dialect": "comfyui"}
    assert out["api_payload"]["sampler_name"] == "DPM++ 2M SDE" and out["api_payload"]["prompt"] == "a cat, cinematic"
    assert out["api_payload"]["override_settings"]["sd_model_checkpoint"] == "juggernautXL_v8Rundiffusion"
    assert out["seed"] == 1234567890123


def test_unknown_json_parameters_are_a_clear_error(tmp_path, capsys):
    image = _png(tmp_path / "u.png", {"parameters": json.dumps({"some": "tool"})})
    assert main(["reproduce", str(image)]) == 1
    assert "JSON from a tool iga does not read" in capsys.readouterr().err


def test_read_image_shows_another_tools_request(tmp_path, capsys):
    image = _comfy(tmp_path / "r.png", COMFY_DEFAULT)
    code, out = _run(capsys, "read-image", str(image))
    assert code == 0 and out["foreign"]["format"] == "ComfyUI" and out["foreign"]["fields"]["steps"] == 20


# --- cross-check with sd-parsers where it is installed -----------------------------------------------------------

def test_sd_parsers_reads_the_same_values(tmp_path):
    sd_parsers = pytest.importorskip("sd_parsers")
    parser = sd_parsers.ParserManager()
    nai = parser.parse(Image.open(_png(tmp_path / "nai.png", NAI, size=(832, 1216))))
    ours = read_foreign(read_image(tmp_path / "nai.png"))
    sampler = nai.samplers[0]
    assert sampler.prompts[0].value == ours.prompt and int(sampler.parameters["seed"]) == ours.seed
    comfy = parser.parse(Image.open(_comfy(tmp_path / "c.png", COMFY_DEFAULT)))
    found = read_foreign(read_image(tmp_path / "c.png"))
    assert [s.name for s in comfy.samplers] == [found.fields["sampler"]]
    assert int(comfy.samplers[0].parameters["seed"]) == found.seed
    assert int(comfy.samplers[0].parameters["steps"]) == found.fields["steps"]


# --- untrusted metadata: any JSON gives a request or a typed error ----------------------------------------------

_JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
                     | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
                     max_leaves=30)
_NODE = st.fixed_dictionaries({"class_type": st.sampled_from(["KSampler", "KSamplerAdvanced", "CLIPTextEncode",
                                                               "CheckpointLoaderSimple", "LoraLoader", "FluxGuidance",
                                                               "EmptyLatentImage", "VAEEncode", "PrimitiveInt"]),
                               "inputs": st.dictionaries(
                                   st.sampled_from(["seed", "noise_seed", "steps", "cfg", "sampler_name", "scheduler",
                                                    "model", "positive", "negative", "latent_image", "text", "clip",
                                                    "ckpt_name", "width", "height", "value", "samples", "conditioning",
                                                    "denoise", "start_at_step", "guidance"]),
                                   _JSON | st.tuples(st.sampled_from(["1", "2", "3"]), st.integers(0, 2)).map(list),
                                   max_size=10)})


@given(st.dictionaries(st.sampled_from(["1", "2", "3"]), _NODE, max_size=3))
@settings(max_examples=150, deadline=None)
def test_any_comfyui_graph_reads_or_fails_typed(graph):
    from iga_core.audit.foreign import comfyui
    from iga_core.audit.image_meta import ImageMeta

    meta = ImageMeta("PNG", None, None, foreign={"prompt": json.dumps(graph)})
    try:
        found = comfyui.read(meta)
    except ForeignUnreadable:
        return
    assert all(k in {"sampler", "schedule", "steps", "cfg", "distilled_cfg", "clip_skip", "width", "height",
                     "denoising_strength"} for k in found.fields)


@given(_JSON)
@settings(max_examples=150, deadline=None)
def test_any_json_in_other_tools_chunks_reads_or_fails_typed(value):
    from iga_core.audit.image_meta import ImageMeta

    text = json.dumps(value)
    for meta in (ImageMeta("PNG", None, None, foreign={"invokeai_metadata": text}),
                 ImageMeta("PNG", None, None, foreign={"Software": "NovelAI", "Comment": text}, size=(8, 8)),
                 ImageMeta("PNG", json.dumps({"sui_image_params": value}), None),
                 ImageMeta("PNG", json.dumps({"metadata_scheme": "fooocus", "x": value}), None)):
        try:
            found = read_foreign(meta)
        except ForeignUnreadable:
            continue
        if found is not None:
            from iga_core.audit.pasteback import reproduction_from_foreign

            reproduction_from_foreign(found)


def test_a_comfyui_image_is_checked_against_a_checkpoint_in_comfyuis_names(tmp_path, capsys):
    from iga_core.checkpoint.stamp import stamp
    from tests.factories import make_checkpoint

    lightning = json.loads((Path(__file__).resolve().parents[1] / "metadata_examples" /
                            "sdxl-lightning-4step.iga.json").read_text())
    ckpt = make_checkpoint(tmp_path / "lightning.safetensors")
    stamp(ckpt, lightning)
    graph = json.loads(json.dumps(COMFY_DEFAULT))
    graph["3"]["inputs"].update(sampler_name="euler", scheduler="sgm_uniform", steps=4, cfg=1.0)
    graph["5"]["inputs"].update(width=1024, height=1024)
    code, out = _run(capsys, "reproduce", str(_comfy(tmp_path / "ok.png", graph)), "--checkpoint", str(ckpt))
    assert code == 0 and out["check"]["allowed"] is True
    assert out["api_payload"]["override_settings"]["sd_model_checkpoint"] == "lightning"
    graph["3"]["inputs"]["scheduler"] = "karras"
    code, out = _run(capsys, "reproduce", str(_comfy(tmp_path / "bad.png", graph)), "--checkpoint", str(ckpt))
    assert code == 3
    fixes = [f["fix"] for f in out["check"]["verdict"]["findings"] if (f["fix"] or {}).get("schedule")]
    assert fixes and all(fix["schedule"] in ("sgm_uniform", "simple") for fix in fixes)  # not "SGM Uniform"
    assert all(fix.get("sampler", "euler") == "euler" for fix in fixes)
