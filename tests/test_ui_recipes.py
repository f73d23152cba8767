"""The Recipes tab's handlers through the standalone app's wiring (both gradio versions), and the WebUI tab
through the host double: list, describe, edit with live validation, stamp (after a confirmation), stamp a
copy, sidecar, strip, export, and the refusal to rewrite the loaded checkpoint."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from iga_core.checkpoint.hashing import file_sha256
from iga_core.checkpoint.sources import find_recipe
from iga_core.ui.app import build_app, make_context
from iga_core.ui.local_models import LocalModels
from tests.browser.ui_events import Events
from tests.browser.ui_models import make_models
from tests.host_double.fixture import host  # noqa: F401

pytestmark = pytest.mark.ui
R = "iga-recipes-"


@pytest.fixture
def models(tmp_path, monkeypatch):
    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "registry"))  # never the user's own registry
    return make_models(tmp_path / "models")


class Tab(Events):
    def __init__(self, models, **ctx_changes):
        self.refreshes = 0
        base = make_context(LocalModels(models))

        def refresh():
            self.refreshes += 1

        ctx = dataclasses.replace(base, refresh_checkpoints=refresh, **ctx_changes)
        super().__init__(build_app(models, ctx=ctx))
        self.models = models

    def el(self, key: str):
        return self.by_elem_id(R + key)

    def click(self, key: str) -> None:
        self.fire(self.el(key), "click")

    def select(self, title: str) -> None:
        self.set(self.el("checkpoint"), title)
        self.fire(self.el("checkpoint"))

    def load_template(self, name: str = "sdxl-lightning-4step") -> None:
        self.set(self.el("template"), name)
        self.click("load-template")

    @property
    def result(self) -> str:
        return self.value(self.el("result"))


def test_lists_checkpoints_and_describes_the_selected_one(models):
    tab = Tab(models)
    table = tab.value(tab.el("table"))
    assert "lightning.safetensors" in table and "embedded" in table and "plain.safetensors" in table
    assert "<img src=x" not in table and "&lt;img src=x onerror=alert(1)&gt;" in table
    tab.select("lightning.safetensors")
    details = tab.value(tab.el("details"))
    assert "test-lightning" in details and "The recipe is valid" in details
    tab.click("verify")
    assert "hashes verified" in tab.value(tab.el("details"))
    tab.select("plain.safetensors")
    assert "No recipe" in tab.value(tab.el("details"))


def test_editor_validates_live_with_errors_next_to_the_field(models):
    tab = Tab(models)
    tab.load_template()
    recipe = json.loads(tab.value(tab.el("json")))
    assert recipe["model_id"] == "sdxl-lightning-4step" and tab.value(tab.el("model_id")) == "sdxl-lightning-4step"
    assert tab.value(tab.el("steps-default")) == 4
    assert all(tab.value(tab.el(f"errors-{g}")) == "" for g in ("identity", "sampling", "steps", "cfg", "other"))
    tab.set(tab.el("steps-min"), 10)  # above max 4
    tab.fire(tab.el("steps-min"))
    assert json.loads(tab.value(tab.el("json")))["steps"]["min"] == 10
    assert "/steps/min" in tab.value(tab.el("errors-steps")) and tab.value(tab.el("errors-identity")) == ""
    tab.set(tab.el("json"), '{"model_id": ')  # broken JSON: said under the JSON box, not a traceback
    tab.fire(tab.el("json"))
    assert "not valid JSON" in tab.value(tab.el("errors-other"))
    tab.set(tab.el("json"), json.dumps({**recipe, "prediction_type": "zz"}))
    tab.fire(tab.el("json"))
    assert "/prediction_type" in tab.value(tab.el("errors-identity"))
    tab.fire(tab.el("json"), "blur")  # leaving the JSON box copies it into the form
    assert tab.value(tab.el("prediction")) == "zz"


def test_stamp_asks_first_then_stamps_and_refreshes(models):
    tab = Tab(models)
    target = models / "plain.safetensors"
    original = file_sha256(target)
    tab.load_template()
    tab.select("plain.safetensors")
    tab.click("stamp")
    assert tab.prop(tab.el("confirm-group"), "visible") is True
    assert "Model hash" in tab.result and "source_file_sha256" in tab.result
    assert find_recipe(target, verify="never").kind == "none"  # nothing written before Confirm
    tab.click("confirm")
    assert "Stamped plain.safetensors" in tab.result and tab.prop(tab.el("confirm-group"), "visible") is False
    source = find_recipe(target, verify="always")
    assert source.kind == "embedded" and source.hash_status == "verified"
    assert source.recipe.hashes.source_file_sha256 == original  # the pre-stamp identity is kept
    assert tab.refreshes == 1
    assert "sdxl-lightning-4step" in tab.value(tab.el("table"))


def test_the_loaded_checkpoint_is_never_rewritten(models):
    tab = Tab(models, loaded_checkpoint=lambda: str(models / "lightning.safetensors"))
    before = (models / "lightning.safetensors").read_bytes()
    tab.load_template()
    tab.select("lightning.safetensors")
    assert "loaded right now" in tab.value(tab.el("details"))
    for action in ("stamp", "strip"):
        tab.click(action)
        tab.click("confirm")
        assert "loaded right now" in tab.result
    assert (models / "lightning.safetensors").read_bytes() == before and tab.refreshes == 0
    tab.set(tab.el("copy-name"), "lightning-copy.safetensors")  # a copy is fine: the original is only read
    tab.click("stamp-copy")
    assert find_recipe(models / "lightning-copy.safetensors", verify="never").kind == "embedded"
    assert (models / "lightning.safetensors").read_bytes() == before


def test_copy_sidecar_strip_and_export(models, tmp_path):
    tab = Tab(models)
    tab.load_template()
    tab.select("plain.safetensors")
    for bad in ("../escape.safetensors", "sub/dir.safetensors", "plain.safetensors", "x.ckpt", ""):
        tab.set(tab.el("copy-name"), bad)
        tab.click("stamp-copy")
        assert "iga-error" in tab.result, bad
    assert sorted(p.name for p in models.iterdir()) == ["hostile.safetensors", "lightning.safetensors",
                                                         "plain.safetensors"]
    tab.click("sidecar")
    assert find_recipe(models / "plain.safetensors", verify="never").kind == "sidecar"
    assert (models / "plain.safetensors.iga.json").is_file()
    tab.select("lightning.safetensors")
    tab.click("strip")
    tab.click("confirm")
    assert find_recipe(models / "lightning.safetensors", verify="never").kind == "none"
    tab.click("export")
    exported = tab.value(tab.el("export-file"))
    assert json.loads(Path(exported).read_text(encoding="utf-8"))["model_id"] == "sdxl-lightning-4step"
    tab.set(tab.el("json"), "{}")
    tab.click("export")
    assert "not valid" in tab.result and tab.refreshes == 2


def test_start_from_checkpoint_reconstruction_and_image(models, tmp_path):
    tab = Tab(models)
    tab.select("lightning.safetensors")
    tab.click("load-current")
    assert json.loads(tab.value(tab.el("json")))["model_id"] == "test-lightning"
    tab.select("plain.safetensors")
    tab.click("load-current")
    assert "has no recipe yet" in tab.value(tab.el("notes"))
    tab.click("reconstruct")
    draft = json.loads(tab.value(tab.el("json")))
    assert draft["prediction_type"] and "Reconstructed" in tab.value(tab.el("notes"))
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat\nSteps: 4, Sampler: Euler, Schedule type: SGM Uniform, CFG scale: 1, "
                                "Seed: 1, Size: 1024x768, Model: lightning")
    image = tmp_path / "made.png"
    Image.new("RGB", (8, 8)).save(image, pnginfo=info)
    tab.set(tab.el("image"), str(image))
    tab.fire(tab.el("image"), "upload")
    draft = json.loads(tab.value(tab.el("json")))
    assert draft["sampler"]["name"] == "Euler" and draft["steps"]["default"] == 4
    assert draft["resolution"]["preferred"] == [{"width": 1024, "height": 768}]


def test_webui_tab_through_the_host_double(host, monkeypatch):  # noqa: F811
    """A1111 loads the selected checkpoint at once, so its file is refused; Forge loads lazily (nothing is
    loaded before the first generation), so the same stamp goes through."""
    monkeypatch.setenv("IGA_CACHE_DIR", str(host.root / "cache"))
    monkeypatch.setenv("IGA_REGISTRY", str(host.root / "registry"))
    make_models(host.models)
    host.start(select="lightning.safetensors")
    from iga_webui import recipes_tab

    [(blocks, label, tab_id)] = recipes_tab.on_ui_tabs()
    assert (label, tab_id) == ("IGA Recipes", "iga_recipes")
    tab = Events(blocks)
    before = host.m.sd_models.get_closet_checkpoint_match("lightning.safetensors")
    title = before.title
    choices = tab.by_elem_id(R + "checkpoint").choices
    assert title in choices or (title, title) in choices
    tab.set(tab.by_elem_id(R + "template"), "sdxl-lightning-4step")
    tab.fire(tab.by_elem_id(R + "load-template"), "click")
    tab.set(tab.by_elem_id(R + "checkpoint"), title)
    tab.fire(tab.by_elem_id(R + "stamp"), "click")
    tab.fire(tab.by_elem_id(R + "confirm"), "click")
    result = tab.value(tab.by_elem_id(R + "result"))
    model_id = find_recipe(host.models / "lightning.safetensors", verify="never").recipe.model_id
    listed = host.m.sd_models.get_closet_checkpoint_match("lightning.safetensors")
    if host.flavour.lazy_load:
        assert "Stamped lightning.safetensors" in result and model_id == "sdxl-lightning-4step"
        # the host's checkpoint list was refreshed: a new CheckpointInfo with the new metadata; its title is still
        # the bare name, since Forge hashes a checkpoint only when it loads it (F sd_models.py:511)
        assert listed is not before and listed.metadata["iga"]["model_id"] == "sdxl-lightning-4step"
        assert listed.title == title == "lightning.safetensors" and listed.shorthash is None
        tab.set(tab.by_elem_id(R + "checkpoint"), listed.title)
        tab.fire(tab.by_elem_id(R + "verify"), "click")
        assert "hashes verified" in tab.value(tab.by_elem_id(R + "details"))
    else:
        assert "loaded right now" in result and model_id == "test-lightning"
        assert listed.title == title and listed.metadata["iga"]["model_id"] == "test-lightning"
