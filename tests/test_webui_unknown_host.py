"""On a WebUI iga does not know (here lllyasviel's Forge before 2.0, which ships `ldm_patched` like reForge but
is A1111 1.8 underneath: tests/host_double/flavours.py UNKNOWN), the extension says so once in the console
and in the panel on both tabs, and guards nothing: no door to the host's modules is opened, a generation
that breaks the recipe runs as the host makes it, nothing of IGA is written into the image or the API's
answer, and no callbacks or routes are registered."""

from __future__ import annotations

import json
import sys

import pytest

from tests.host_double import clear, install
from tests.webui_recipes import LIGHTNING, add_checkpoint

pytestmark = pytest.mark.host


@pytest.fixture
def unknown(tmp_path):
    double = install("old-forge", tmp_path)
    add_checkpoint(double.models, "lightning.safetensors", LIGHTNING)
    try:
        yield double
    finally:
        clear()


def test_an_unknown_host_is_said_once_and_nothing_is_guarded(unknown, capfd):
    unknown.start(select="lightning.safetensors")
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("[IGA]")]
    assert len(lines) == 1, err  # once, though ui() ran for both tabs and again for the API's defaults
    assert "IGA does not know this WebUI" in lines[0] and "'0.0.17v1.8.0rc'" in lines[0]
    assert "guards nothing" in lines[0]
    assert "iga_webui.host" not in sys.modules  # the door (A1111 1.10's module names) was never opened

    built = {getattr(b, "elem_id", None): b for b in unknown.blocks.blocks.values()}
    for tab, runner in (("txt2img", unknown.m.scripts.scripts_txt2img), ("img2img", unknown.m.scripts.scripts_img2img)):
        script = runner.script("IGA")
        assert type(script).__name__ == "IgaUnknownHost" and script.args_to == script.args_from  # no args
        notice = built[f"iga-{tab}-unknown-host"].value
        assert "IGA does not know this WebUI" in notice and "guards nothing" in notice
        assert f"iga-{tab}-preset" not in built  # no recipe controls at all

    # DPM++ 2M is forbidden by the recipe and 30 steps are outside it: a known host would refuse / warn
    status, body = unknown.api_txt2img({"prompt": "x", "steps": 30, "sampler_name": "DPM++ 2M", "save_images": True})
    assert status == 200, body
    info = json.loads(body["info"])
    assert "IGA" not in info["infotexts"][0] and not [c for c in info["comments"] if "IGA" in c]
    assert [e["sampler"] for e in unknown.last_api_p().double_executed] == ["DPM++ 2M"]
    assert not hasattr(unknown.last_api_p(), "iga_state")
    registered = [cb for cbs in unknown.m.script_callbacks._callbacks.values() for cb in cbs]
    assert not [cb for cb in registered if getattr(cb, "__module__", "").startswith("iga_webui")]
