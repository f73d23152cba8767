"""The `iga_filename_pattern` setting through the host double's `images.save_image` (A images.py:624-767,
F the same): the pattern replaces the host's file decoration, the host's counter stays in front, and two
images with the same pattern values never overwrite each other."""

from __future__ import annotations

import pytest

from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING, add_checkpoint

pytestmark = pytest.mark.host
PATTERN = "[seed]-[checkpoint_name]-[iga_status]"


def _checkpoints(double):
    add_checkpoint(double.models, "lightning.safetensors", LIGHTNING)


started = started_host(_checkpoints, select="lightning.safetensors")


@pytest.fixture
def webui(started):
    started.reset("lightning.safetensors")
    return started


def generate(webui, **body):
    status, _ = webui.api_txt2img({"prompt": "a cat", "save_images": True, **body})
    assert status == 200


def names(webui, folder="txt2img-images"):
    return [f.name for f in webui.saved_files() if f.parent.name == folder]


def test_same_pattern_values_keep_the_hosts_counter_and_never_overwrite(webui):
    webui.m.shared.opts.data["iga_filename_pattern"] = PATTERN
    generate(webui)
    generate(webui)  # same seed, same checkpoint, same outcome: the same pattern values
    assert names(webui) == ["00000-1234-lightning-ok.png", "00001-1234-lightning-ok.png"]
    webui.m.shared.opts.data["iga_filename_pattern"] = ""
    generate(webui)  # the host's own next number counts the renamed files
    assert names(webui)[-1] == "00002-1234.png"


def test_grids_keep_their_basename_and_counter(webui):
    webui.m.shared.opts.data["iga_filename_pattern"] = PATTERN
    generate(webui, batch_size=2)
    generate(webui, batch_size=2)
    assert names(webui, "txt2img-grids") == ["grid-0000-1234-lightning-ok.png", "grid-0001-1234-lightning-ok.png"]
    assert names(webui) == ["00000-1234-lightning-ok.png", "00001-1235-lightning-ok.png",
                            "00002-1234-lightning-ok.png", "00003-1235-lightning-ok.png"]


@pytest.mark.parametrize("replace_action", ["Replace", "Add number suffix"])
def test_without_the_hosts_counter_a_taken_name_gets_a_suffix_and_its_own_record(webui, replace_action):
    from iga_core.audit import read_image_metadata

    opts = webui.m.shared.opts.data
    opts.update({"iga_filename_pattern": "[checkpoint_name]", "save_images_add_number": False,
                 "save_images_replace_action": replace_action, "samples_format": "jpg"})
    generate(webui, seed=11)
    generate(webui, seed=22)
    generate(webui, seed=33)
    assert names(webui) == ["lightning-1.jpg", "lightning-2.jpg", "lightning.jpg"]
    # JPEG gets the full record after the host wrote the file: it must land in the file just written
    by_name = {f.name: read_image_metadata(f)["params"]["seed"] for f in webui.saved_files()}
    assert by_name == {"lightning.jpg": 11, "lightning-1.jpg": 22, "lightning-2.jpg": 33}


def test_without_the_pattern_the_host_names_files_as_before(webui):
    generate(webui)
    generate(webui)
    assert names(webui) == ["00000-1234.png", "00001-1234.png"]


def test_hash_tokens_name_the_host_short_hash_and_the_weights(webui):
    from iga_core.checkpoint.hashing import file_sha256, weights_sha256

    path = webui.models / "lightning.safetensors"
    webui.m.shared.opts.data["iga_filename_pattern"] = "[checkpoint_name]-[model_hash]-[weights_hash]"
    generate(webui)
    # the host's shorthash is the file's sha256 [0:10] (A hashes.py, CheckpointInfo.shorthash)
    assert names(webui) == [f"00000-lightning-{file_sha256(path)[:10]}-{weights_sha256(path)[:10]}.png"]


def test_the_setting_offers_the_design_pattern_in_the_hosts_editable_dropdown(webui):
    import sys

    import gradio as gr

    from iga_core.audit.filename import DESIGN_PATTERN

    info = webui.m.shared.opts.data_labels["iga_filename_pattern"]
    assert info.component is sys.modules["modules.ui_components"].DropdownEditable
    assert DESIGN_PATTERN in info.component_args["choices"]
    with gr.Blocks():  # what the host's create_setting_component does (A ui_settings.py:22-54)
        component = info.component(label=info.label, value="[seed]-[weights_hash]",
                                   elem_id="setting_iga_filename_pattern", **info.component_args)
    assert component.allow_custom_value and component.value == "[seed]-[weights_hash]"
