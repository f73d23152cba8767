"""The design document's own recipe forms (issue #18 item 1): its §2.3 "minimal schema" example validates as
written, its shorthand ("1024x1024", `"subsample": [16, 24, 28, 32]`) is one recipe with its canonical
spelling (one typed model, one digest), `iga migrate` writes the canonical form with a note per change,
and the §2.2 tree's keys (steps_default, steps_range, cfg_range, vae_id, resolution_hints, sigma_grid,
presets) migrate to their places. The fixtures in metadata_examples/design/ are reconstructed from the
issue's description of the design (metadata_examples/README.md)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from iga_core.guard import GuardRequest, judge
from iga_core.recipe import (
    Recipe,
    canonical_form,
    load_schema,
    metadata_sha256,
    migrate,
    validate_recipe,
    with_metadata_digest,
)
from iga_core.recipe.shorthand import expand

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "metadata_examples"
MINIMAL = json.loads((EXAMPLES / "design" / "section-2.3-minimal.json").read_text(encoding="utf-8"))
TREE = json.loads((EXAMPLES / "design" / "section-2.2-tree.json").read_text(encoding="utf-8"))
GOLDEN = json.loads((EXAMPLES / "design-example.iga.json").read_text(encoding="utf-8"))


def _without_digest(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "hashes"}


def test_the_minimal_example_uses_the_design_spellings():
    # the fixture is the case the issue reports: sizes as text, subsample as a bare list
    assert MINIMAL["resolution"] == {"preferred": ["1024x1024", "1152x896"], "max": "1536x1536"}
    assert MINIMAL["scheduler"]["subsample"] == [16, 24, 28, 32]


def test_the_minimal_example_validates_as_written():
    assert validate_recipe(MINIMAL) == []


def test_the_published_schema_accepts_the_shorthand_too():
    # a third-party validator reading the shipped JSON Schema agrees with iga on the design's example
    validator = Draft202012Validator(load_schema())
    assert list(validator.iter_errors(MINIMAL)) == []
    assert list(validator.iter_errors({**MINIMAL, "resolution": {"max": "big"}})) != []


def test_shorthand_and_canonical_are_one_recipe_with_one_digest():
    typed = Recipe.from_dict(MINIMAL)
    assert typed.to_dict() == _without_digest(GOLDEN)
    assert typed == Recipe.from_dict(_without_digest(GOLDEN))
    assert metadata_sha256(MINIMAL) == metadata_sha256(GOLDEN) == GOLDEN["hashes"]["metadata_sha256"]
    assert typed.digest == GOLDEN["hashes"]["metadata_sha256"]
    # a digest stored on the shorthand spelling matches its content
    assert with_metadata_digest(MINIMAL)["hashes"] == GOLDEN["hashes"]
    assert typed.resolution.max.width == 1536 and typed.scheduler.subsample.allowed_steps == (16, 24, 28, 32)


def test_migrate_writes_the_canonical_form_with_a_note_per_change():
    out, changes = migrate(MINIMAL, "1.0.0")  # normalise only; the default also moves it to 1.2.0
    assert out == _without_digest(GOLDEN) and out["iga_version"] == "1.0.0"
    assert len(changes) == 4
    for where in ("/resolution/preferred/0", "/resolution/preferred/1", "/resolution/max", "/scheduler/subsample"):
        assert any(c.startswith(where + ":") for c in changes), where
    # a stale digest on the shorthand is recomputed over the same content: it does not change
    out, changes = migrate(with_metadata_digest(MINIMAL), "1.0.0")
    assert out == GOLDEN and any("recomputed" in c for c in changes)
    out, changes = migrate(MINIMAL)
    assert out == {**_without_digest(GOLDEN), "iga_version": "1.2.0"} and len(changes) == 6


def test_the_tree_keys_migrate_to_their_places():
    out, changes = migrate(TREE, "1.0.0")
    assert validate_recipe(out) == []
    assert with_metadata_digest(out) == GOLDEN  # the same recipe as the minimal example
    assert "x-legacy" not in out  # resolution_hints no longer ends there: the guard keeps the sizes
    text = "\n".join(changes)
    for key in ("steps_default", "steps_range", "cfg_range", "vae_id", "resolution_hints", "sigma_grid"):
        assert key in text, key
    assert out["presets"] == TREE["presets"]


@pytest.mark.parametrize(("hints", "resolution"), [
    ("1024x1024", {"preferred": [{"width": 1024, "height": 1024}]}),
    (["1024x1024", [832, 1216]], {"preferred": [{"width": 1024, "height": 1024}, {"width": 832, "height": 1216}]}),
    ({"sizes": ["768x768"], "maximum": "1024x1024"},
     {"preferred": [{"width": 768, "height": 768}], "max": {"width": 1024, "height": 1024}}),
])  # fmt: skip
def test_resolution_hints_forms(hints, resolution):
    out, _ = migrate({**TREE, "resolution_hints": hints})
    assert out["resolution"] == resolution and "x-legacy" not in out


def test_resolution_hints_it_cannot_read_are_kept_not_lost():
    out, changes = migrate({**TREE, "resolution_hints": {"preferred": ["1024x1024"], "aspect": "any"}})
    assert out["resolution"] == {"preferred": [{"width": 1024, "height": 1024}]}
    assert out["x-legacy"] == {"resolution_hints": {"aspect": "any"}}
    assert any("x-legacy" in c for c in changes)


@pytest.mark.parametrize(("grid", "scheduler"), [
    ([14.6146, 4.0, 1.0, 0.0], {"grid": {"kind": "sigmas", "values": [14.6146, 4.0, 1.0, 0.0]}}),
    ({"timesteps": [999, 749, 499, 249], "steps": 4, "allowed_steps": [4]},
     {"grid": {"kind": "timesteps", "values": [999, 749, 499, 249]}, "canonical_steps": 4,
      "subsample": {"allowed_steps": [4]}}),
    ({"kind": "sigmas", "values": [14.6, 0.0], "sigma_min": 0.0292},
     {"grid": {"kind": "sigmas", "values": [14.6, 0.0]}, "sigma_min": 0.0292}),
    ({"kind": "karras", "rho": 7.0, "canonical_steps": 32, "subsample": {"rule": "any"}},
     {"grid": {"kind": "rule", "rule": "karras", "params": {"rho": 7.0}}, "canonical_steps": 32,
      "subsample": {"rule": "any"}}),
])  # fmt: skip
def test_sigma_grid_forms(grid, scheduler):
    tree = {k: v for k, v in TREE.items() if k not in ("steps_default", "steps_range", "presets")}
    out, changes = migrate({**tree, "sigma_grid": grid})
    assert out["scheduler"] == {"name": "Karras", **scheduler}
    assert "x-legacy" not in out and any(c.startswith("sigma_grid") for c in changes)


def test_a_sigma_grid_it_cannot_read_is_kept_under_x_legacy():
    out, _ = migrate({**TREE, "sigma_grid": "karras please"})
    assert out["x-legacy"] == {"sigma_grid": "karras please"} and "grid" not in out["scheduler"]


@pytest.mark.parametrize(("path", "value", "pointer", "fragment"), [
    (("resolution", "max"), "1537x1536", "/resolution/max", "not a multiple of 8"),
    (("resolution", "max"), "big", "/resolution/max", "does not have the expected form"),
    (("resolution", "max"), 1536, "/resolution/max", "expected an object or a string"),
    (("resolution", "max"), {"width": 1536}, "/resolution/max/height", "is missing"),
    (("scheduler", "subsample"), [16, 0], "/scheduler/subsample/1", "below the minimum 1"),
    (("scheduler", "subsample"), [16, 24, 28], "/steps/max", ""),
])  # fmt: skip
def test_a_broken_shorthand_is_reported_where_it_was_written(path, value, pointer, fragment):
    d = copy.deepcopy(MINIMAL)
    d[path[0]][path[1]] = value
    problems = validate_recipe(d)
    if pointer == "/steps/max":  # [16, 24, 28] is fine as a form; the presets at 32 steps are not
        assert [p.pointer for p in problems] == ["/presets/0/steps"]
        return
    assert any(p.pointer == pointer and fragment in p.message for p in problems), [str(p) for p in problems]
    assert all(p.hint for p in problems)


def test_expand_leaves_its_argument_and_other_values_alone():
    before = copy.deepcopy(MINIMAL)
    out, found = expand(MINIMAL)
    assert before == MINIMAL and len(found) == 4 and out != MINIMAL
    assert expand(GOLDEN) == (GOLDEN, []) and expand(GOLDEN)[0] is GOLDEN
    # only the exact shorthand types at the listed places: a string sampler name is not a size
    assert canonical_form({"sampler": "1024x1024"}) == {"sampler": "1024x1024"}


def test_the_subsample_list_binds_on_a_rule_grid():
    recipe = Recipe.from_dict(MINIMAL)
    ask = dict(sampler="DPM++ 2M", schedule="Karras", cfg=5.5)
    assert judge(recipe, GuardRequest(steps=24, **ask)).allowed
    refused = judge(recipe, GuardRequest(steps=20, **ask))
    assert not refused.allowed and refused.blocked_ids == ("IGA-H004",)
    assert "allowed_steps" in refused.findings[0].reason


def test_stamping_and_the_registry_store_the_canonical_form(tmp_path):
    from iga_core.checkpoint.registry import Registry

    reg = Registry(tmp_path / "reg")
    path = reg.add({**MINIMAL, "hashes": {"weights_sha256": "a" * 64}})
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["resolution"] == GOLDEN["resolution"]
    assert stored["scheduler"]["subsample"] == {"allowed_steps": [16, 24, 28, 32]}


def _iga(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "iga_core", *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "", "IGA_DATA_DIR": str(cwd)}, timeout=120)


def test_cli_validate_and_migrate_the_design_example(tmp_path):
    minimal = EXAMPLES / "design" / "section-2.3-minimal.json"
    result = _iga("validate", str(minimal), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "minimal.iga.json"
    result = _iga("migrate", str(minimal), "--to", "1.0.0", "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1.0.0 -> 1.0.0" not in result.stdout and "shorthand" in result.stdout
    assert json.loads(out.read_text(encoding="utf-8")) == _without_digest(GOLDEN)
