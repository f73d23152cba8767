"""Deprecation notices (issue #18 item 4): the schema marks versions and keys deprecated as data
(`x-deprecated` in the shipped schema file); `iga validate`, `iga migrate`, the Recipes tab, the panel and
`GET /iga/v1/recipe` say what is deprecated and what replaces it; a deprecated key is still read."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import iga_core.recipe.deprecations as deprecations
from iga_core.recipe import (
    Recipe,
    deprecation_notices,
    detect_version,
    load_schema,
    metadata_sha256,
    migrate,
    validate_recipe,
)
from iga_core.ui import render
from iga_core.ui.recipes_actions import grouped_errors

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "metadata_examples"
TREE = json.loads((EXAMPLES / "design" / "section-2.2-tree.json").read_text(encoding="utf-8"))
LIGHTNING = json.loads((EXAMPLES / "sdxl-lightning-4step.iga.json").read_text(encoding="utf-8"))

#: a deprecation no shipped recipe meets, to drive every path on a VALID recipe: x-title renamed to title
RENAME = {"versions": [], "keys": [{"pointer": "/x-title", "since": "1.0.0", "replaced_by": "/title",
                                    "migrate": "move", "why": "a title is a schema field"}]}


@pytest.fixture
def renamed(monkeypatch):
    data = deprecations.parse(RENAME)
    monkeypatch.setattr(deprecations, "_data", lambda: data)
    return data


def test_the_shipped_data_is_in_the_schema_and_well_formed():
    block = load_schema()["x-deprecated"]
    versions, keys = deprecations.parse(block)
    assert "flat-draft" in versions and versions["flat-draft"]["replaced_by"] == "1.0.0"
    assert keys and all(k.migrate in deprecations.MIGRATE_KINDS and k.replaced_by for k in keys)


def test_every_step_key_is_one_migration_really_rewrites():
    # "migrate": "step" must be true: each such key, alone in a flat draft, is gone after `migrate`
    _, keys = deprecations.parse(load_schema()["x-deprecated"])
    steps = [k for k in keys if k.migrate == "step"]
    base = {k: v for k, v in TREE.items() if k not in {key.parts[0] for key in steps}}
    for key in steps:
        name = key.parts[0]
        sample = {"max_resolution": "1536x1536", "allowed_steps": [16, 32], "cfg_scale": 5.5}
        out, _ = migrate({**base, name: TREE.get(name, sample.get(name))})
        assert name not in out and name not in out.get("x-legacy", {}), name
        assert not [n for n in deprecation_notices(out) if n.pointer == "/" + name]


def test_the_design_tree_lists_its_deprecated_version_and_keys():
    notices = deprecation_notices(TREE)
    assert notices[0].subject == "recipe shape flat-draft" and "iga migrate" in notices[0].how
    by_pointer = {n.pointer: n for n in notices}
    assert {"/steps_default", "/steps_range", "/cfg_range", "/vae_id", "/resolution_hints", "/sigma_grid"} <= set(by_pointer)
    assert "use steps.min and steps.max instead" in by_pointer["/steps_range"].message()
    assert "scheduler.grid" in by_pointer["/sigma_grid"].message()
    assert deprecation_notices(migrate(TREE)[0]) == []


def test_shipped_recipes_carry_no_notice():
    for path in EXAMPLES.glob("*.iga.json"):
        assert deprecation_notices(json.loads(path.read_text(encoding="utf-8"))) == [], path.name


def test_a_deprecated_key_is_still_read_and_noticed(renamed):
    d = {**LIGHTNING, "x-title": "Old title"}
    assert validate_recipe(d) == []
    recipe = Recipe.from_dict(d)
    assert [n.pointer for n in recipe.deprecations] == ["/x-title"]
    assert recipe.deprecations[0].message() == (
        "x-title is deprecated since schema 1.0.0 (a title is a schema field); use title instead")


def test_migrate_moves_a_renamed_key_with_a_note_and_keeps_what_is_set(renamed):
    d = {k: v for k, v in LIGHTNING.items() if k != "title"} | {"x-title": "Old"}
    out, changes = migrate(d)
    assert out["title"] == "Old" and "x-title" not in out and validate_recipe(out) == []
    assert any("x-title" in c and "-> title" in c for c in changes)
    assert out["hashes"]["metadata_sha256"] == metadata_sha256(out)  # the stale digest was recomputed
    before = copy.deepcopy(d)
    both = {**LIGHTNING, "x-title": "Old"}
    out, changes = migrate(both)
    assert out["title"] == LIGHTNING["title"] and out["x-title"] == "Old" and d == before
    assert any("left as it is" in c for c in changes)


def test_panel_and_recipes_tab_say_what_is_deprecated(renamed):
    d = {**LIGHTNING, "x-title": "Old"}
    source = SimpleNamespace(kind="sidecar", recipe=Recipe.from_dict(d), document=d, problems=(), hash_status="")
    html = render.status_html(source)
    assert 'class="iga-deprecated"' in html and "use title instead" in html
    errors = grouped_errors([], d)
    assert "iga-field-deprecated" in errors["other"] and "x-title" in errors["other"]
    assert render.status_html(SimpleNamespace(kind="sidecar", recipe=Recipe.from_dict(LIGHTNING), document=LIGHTNING,
                                              problems=(), hash_status="")).count("iga-deprecated") == 0


def test_panel_shows_a_stored_flat_draft_as_deprecated():
    source = SimpleNamespace(kind="embedded", recipe=None, document=TREE, problems=(), hash_status="")
    html = render.status_html(source)
    assert "recipe shape flat-draft is deprecated" in html and "iga migrate" in html


def _iga(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iga_core", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "", "IGA_DATA_DIR": str(cwd)}, timeout=120)


def test_cli_validate_and_migrate_name_the_deprecations(tmp_path):
    tree = EXAMPLES / "design" / "section-2.2-tree.json"
    result = _iga("validate", str(tree), cwd=tmp_path)
    assert result.returncode == 1
    assert "deprecated (" in result.stdout and "steps_range" in result.stdout and "use steps.min" in result.stdout
    result = _iga("validate", "--json", str(tree), cwd=tmp_path)
    data = json.loads(result.stdout)
    assert data["deprecations"][0]["subject"] == "recipe shape flat-draft"
    result = _iga("migrate", "--json", str(tree), cwd=tmp_path)
    data = json.loads(result.stdout)
    assert data["ok"] and data["deprecations"] == [] and detect_version(data["recipe"]) == "1.2.0"


def test_the_recipe_route_lists_deprecations(tmp_path):
    from iga_core import http_api
    from iga_core.checkpoint.stamp import write_sidecar
    from tests.factories import make_checkpoint

    ckpt = make_checkpoint(tmp_path / "m.safetensors", seed=3)
    write_sidecar(ckpt, LIGHTNING)
    status, body = http_api.get_recipe("m", {"m": str(ckpt)}.get, verify="never")
    assert status == 200 and body["deprecations"] == []
