"""The standalone app's pieces: the demo folder, the `iga ui` command, the shipped JS/CSS (both gradio versions)."""

from __future__ import annotations

import re

import pytest

from iga_core.checkpoint.sources import find_recipe
from iga_core.cli import build_parser
from iga_core.ui import compat
from iga_core.ui.app import assets
from iga_core.ui.demo_models import NO_RECIPE_NAME, data_dir, ensure_demo_models, examples_dir

pytestmark = pytest.mark.ui


def test_demo_folder_is_stamped_from_the_examples_once(tmp_path, monkeypatch):
    monkeypatch.setenv("IGA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "registry"))
    assert data_dir() == tmp_path / "data"
    folder = ensure_demo_models()
    assert folder == tmp_path / "data" / "demo-models"
    examples = sorted(p.name[: -len(".iga.json")] for p in examples_dir().glob("*.iga.json"))
    made = sorted(p.stem for p in folder.glob("*.safetensors") if p.name != NO_RECIPE_NAME)
    assert examples and made == examples
    for name in made:
        source = find_recipe(folder / f"{name}.safetensors", verify="always")
        assert source.kind == "embedded" and source.hash_status == "verified", name
    assert find_recipe(folder / NO_RECIPE_NAME, verify="never").kind == "none"
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    ensure_demo_models()  # second run: nothing rewritten
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps


def test_a_broken_example_is_skipped_not_fatal(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))
    examples = tmp_path / "examples"
    examples.mkdir()
    (examples / "broken.iga.json").write_text('{"model_id": "x"}', encoding="utf-8")
    folder = ensure_demo_models(tmp_path / "demo", examples)
    assert sorted(p.name for p in folder.iterdir()) == [NO_RECIPE_NAME]
    assert "skipped broken.iga.json" in capsys.readouterr().err


def test_ui_command_is_registered():
    args = build_parser().parse_args(["ui", "--models", "somewhere", "--port", "7999"])
    assert (args.models, args.port, args.host) == ("somewhere", 7999, "127.0.0.1") and callable(args.func)


def test_js_and_css_are_scoped():
    css, js = assets()
    assert "window.IGA = IGA" in js and "onUiLoaded" in js
    selectors = re.findall(r"(?m)^([^{}@/\n][^{}]*)\{", css)
    assert selectors
    for group in selectors:
        for selector in group.split(","):
            assert re.match(r"^\s*[.#]iga-", selector), f"unscoped CSS selector: {selector.strip()!r}"


def test_js_kwarg_matches_the_gradio_version():
    kw = compat.js_kwargs("() => 1")
    assert kw == ({"_js": "() => 1"} if compat.GRADIO_MAJOR < 4 else {"js": "() => 1"})
    assert compat.js_kwargs(None) == {}
    compat.patch_template_response()
    assert compat.patch_template_response() is False  # idempotent


def test_demo_loras_are_stamped_from_their_recipe_data(tmp_path, monkeypatch):
    import json

    from iga_core.ui.demo_models import DEMO_LORAS_NAME, demo_loras_dir
    from iga_core.ui.local_models import LocalLoras

    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "registry"))
    folder = ensure_demo_models(tmp_path / "demo-models")
    loras = LocalLoras.beside(folder)
    assert loras.folder == tmp_path / DEMO_LORAS_NAME
    data = {p.name[: -len(".iga.json")]: json.loads(p.read_text()) for p in demo_loras_dir().glob("*.iga.json")}
    assert data and loras.names() == sorted(data)
    for name, recipe in data.items():
        source = loras.source(name)
        assert source.kind == "embedded" and source.recipe.model_id == recipe["model_id"], name
    assert loras.source("../demo-models/no-recipe-sd15") is None and loras.source("") is None


def test_reset_demo_drops_every_edit_and_makes_the_folder_again(tmp_path, monkeypatch):
    from iga_core.checkpoint.stamp import strip
    from iga_core.ui.demo_models import DEMO_LORAS_NAME, reset_demo_models

    monkeypatch.setenv("IGA_DATA_DIR", str(tmp_path / "data"))
    folder = ensure_demo_models()
    lightning = folder / "sdxl-lightning-4step.safetensors"
    pristine = lightning.read_bytes()
    strip(lightning)  # what the Recipes tab's Strip does
    (folder / "my-copy.safetensors").write_bytes(pristine)  # a stamped copy it wrote
    (folder / "sdxl-turbo.safetensors.iga.json").write_text("{}")  # a sidecar it saved
    (folder.parent / DEMO_LORAS_NAME / "lcm-lora-demo.safetensors").unlink()
    before = sorted(p.name for p in ensure_demo_models().iterdir())  # ensure keeps edits: files that exist stay
    assert "my-copy.safetensors" in before and find_recipe(lightning, verify="never").kind == "none"
    assert reset_demo_models() == folder
    assert "my-copy.safetensors" not in {p.name for p in folder.iterdir()}
    assert not (folder / "sdxl-turbo.safetensors.iga.json").exists()
    assert find_recipe(lightning, verify="always").hash_status == "verified"
    assert (folder.parent / DEMO_LORAS_NAME / "lcm-lora-demo.safetensors").exists()


def test_reset_demo_does_not_go_with_models(capsys):
    from iga_core.cli import main

    assert main(["ui", "--reset-demo", "--models", "mine"]) == 2
    assert "--reset-demo" in capsys.readouterr().err
