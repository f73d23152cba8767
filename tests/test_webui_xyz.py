"""X/Y/Z plot through the host double (A1111 and Forge): a refused cell becomes a labelled "blocked by IGA-…"
tile, the grid completes, and its infotext lists which cells were blocked and why; audit mode runs every
cell and labels the ones outside the recipe."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.host_double.fixture import started_host
from tests.webui_recipes import LIGHTNING, add_checkpoint, recipe

pytestmark = pytest.mark.host
SIZE = {"width": 64, "height": 64, "steps": 4, "cfg_scale": 1.5, "sampler_name": "Euler"}


def _checkpoints(double):
    # no preferred size, so small test images raise no size finding
    add_checkpoint(double.models, "lightning.safetensors", recipe(LIGHTNING, resolution={"max": {"width": 1024, "height": 1024}}))


started = started_host(_checkpoints, select="lightning.safetensors")


@pytest.fixture
def webui(started):
    started.reset("lightning.safetensors")
    return started


def mean_colour(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=float).reshape(-1, 3).mean(axis=0)


def test_a_forbidden_sampler_cell_becomes_a_labelled_tile_and_the_grid_completes(webui):
    images, _js, _info, html_log = webui.ui_xyz("Sampler", "Euler, DPM++ 2M", **SIZE)
    assert "error" not in html_log
    grid, _allowed_cell, blocked_cell = images
    assert blocked_cell.size == (64, 64) and grid.size[0] >= 2 * 16
    red, green, blue = mean_colour(blocked_cell)
    assert red > 90 and green < 60 and blue < 60  # the tile, not a black "failed" cell
    assert webui.m.errors.REPORTS == []  # nothing escaped into the plot's own try/except
    # the blocked cell was not saved as a sample; the allowed one and the grid were
    saved = webui.saved_files()
    assert [f.parent.name for f in saved].count("txt2img-images") == 1
    (grid_file,) = [f for f in saved if f.name.startswith("xyz_grid")]
    params = webui.m.infotext_utils.parse_generation_parameters(Image.open(grid_file).info["parameters"])
    assert params["IGA cells"].startswith("1 of 2 blocked")
    assert "DPM++ 2M, Automatic, 4 steps, CFG 1.5: blocked IGA-H001" in params["IGA cells"]
    # cells are shallow copies sharing the test-aid list: only the allowed cell reached the sampler
    assert [p[1] for p in webui.last_p.double_passes] == ["Euler"]


def test_the_blocked_cell_keeps_its_audit_in_its_infotext(webui):
    from iga_core.audit import read_image_metadata

    webui.m.shared.opts.data["iga_guard_mode"] = "strict"
    webui.ui_xyz("Steps", "4, 30", **SIZE)
    grid_file = next(f for f in webui.saved_files() if f.name.startswith("xyz_grid"))
    params = webui.m.infotext_utils.parse_generation_parameters(Image.open(grid_file).info["parameters"])
    assert "30 steps, CFG 1.5: blocked IGA-S001" in params["IGA cells"]
    samples = [f for f in webui.saved_files() if f.parent.name == "txt2img-images"]
    assert [read_image_metadata(f)["params"]["steps"] for f in samples] == [4]


def test_audit_mode_runs_every_cell_and_labels_those_outside_the_recipe(webui):
    images, *_ = webui.ui_xyz("Sampler", "Euler, DPM++ 2M", iga_args={"mode": "audit"}, **SIZE)
    _grid, inside, outside = images
    strip = outside.crop((0, int(outside.height * 0.9), outside.width, outside.height))
    assert mean_colour(strip)[0] > mean_colour(strip)[2] + 40  # the amber "outside recipe" strip
    assert inside.size == outside.size
    assert not np.array_equal(np.asarray(inside.convert("RGB"))[-1], np.asarray(outside.convert("RGB"))[-1])
    grid_file = next(f for f in webui.saved_files() if f.name.startswith("xyz_grid"))
    params = webui.m.infotext_utils.parse_generation_parameters(Image.open(grid_file).info["parameters"])
    assert params["IGA cells"].startswith("0 of 2 blocked") and "audit IGA-H001" in params["IGA cells"]
    assert len([f for f in webui.saved_files() if f.parent.name == "txt2img-images"]) == 2


def test_outside_a_plot_a_block_still_raises(webui):
    images, *_rest, html_log = webui.ui_txt2img(**{**SIZE, "sampler_name": "DPM++ 2M"})
    assert images == [] and "GuardBlocked" in html_log


def test_the_summary_reaches_the_grid_infotext_the_ui_shows(webui):
    import json

    _images, js, html_info, _log = webui.ui_xyz("Sampler", "Euler, DPM++ 2M", **SIZE)
    shown = json.loads(js)
    parse = webui.m.infotext_utils.parse_generation_parameters
    grid_file = next(f for f in webui.saved_files() if f.name.startswith("xyz_grid"))
    assert shown["infotexts"][0] == Image.open(grid_file).info["parameters"]  # gallery text = file text
    assert parse(shown["infotexts"][0])["IGA cells"].startswith("1 of 2 blocked")
    assert "IGA cells: &quot;1 of 2 blocked" in html_info  # `processed.info`, the text under the gallery
    assert "IGA cells" not in shown["infotexts"][1]  # a cell's own infotext stays the cell's


def test_the_summary_needs_the_saved_grid(webui):
    import json

    webui.m.shared.opts.data["grid_save"] = False  # the host then calls no hook after the plot's run
    _images, js, _html_info, _log = webui.ui_xyz("Sampler", "Euler, DPM++ 2M", **SIZE)
    assert "Script: X/Y/Z plot" in json.loads(js)["infotexts"][0]
    assert "IGA cells" not in json.loads(js)["infotexts"][0]


def test_a_cell_the_extension_could_not_check_is_named_in_the_summary(webui, monkeypatch):
    from iga_webui import passes

    real = passes.extra_passes

    def broken_for_ten_steps(p, *args, **kwargs):
        if p.steps == 10:
            raise RuntimeError("simulated bug")
        return real(p, *args, **kwargs)

    monkeypatch.setattr(passes, "extra_passes", broken_for_ten_steps)
    _images, _js, _info, _html_log = webui.ui_xyz("Steps", "4, 10", **SIZE)
    grid_file = next(f for f in webui.saved_files() if f.name.startswith("xyz_grid"))
    cells = webui.m.infotext_utils.parse_generation_parameters(Image.open(grid_file).info["parameters"])["IGA cells"]
    assert cells.startswith("0 of 2 blocked") and "10 steps, CFG 1.5: error process" in cells
    assert "4 steps" not in cells  # the checked cell was inside the recipe
