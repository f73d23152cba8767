"""metadata_examples/ as golden fixtures: every recipe validates and keeps its recorded digest; every
invalid example gives exactly the error its index entry records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iga_core.recipe import (
    Recipe,
    canonical_json,
    metadata_sha256,
    migrate,
    validate_recipe,
    with_metadata_digest,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "metadata_examples"
VALID = sorted(EXAMPLES.glob("*.iga.json"))
INVALID_DIR = EXAMPLES / "invalid"
INDEX = json.loads((INVALID_DIR / "index.json").read_text(encoding="utf-8"))

# The models the format must cover (issue #2 item 8, issue #18), each by the file that carries it.
REQUIRED = {
    "sd15", "sd21-768-v", "sdxl-base", "sdxl-turbo", "sdxl-lightning-4step", "hyper-sdxl-8step-cfg",
    "lcm-lora-sdxl", "dmd2-sdxl-4step", "flux1-schnell", "sdxl-vpred-ztsnr", "seed-example",
    # issue #18: the design's own example, FLUX.1-dev, the SD 1.5 step-distilled families
    "design-example", "flux1-dev", "hyper-sd15-8step", "lcm-lora-sd15",
}  # fmt: skip


def _load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_required_model_has_an_example():
    assert {p.name.removesuffix(".iga.json") for p in VALID} >= REQUIRED


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_example_is_valid(path: Path):
    assert validate_recipe(_load(path)) == []


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_example_keeps_its_recorded_digest(path: Path):
    # The digest was written when the example was authored; a change in canonicalisation breaks it.
    d = _load(path)
    assert d["hashes"]["metadata_sha256"] == metadata_sha256(d)
    assert with_metadata_digest(d) == d


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_example_round_trips_through_the_model(path: Path):
    d = _load(path)
    recipe = Recipe.from_dict(d)
    assert recipe.to_dict() == d
    assert canonical_json(recipe) == canonical_json(d)


def test_dmd2_carries_its_explicit_timesteps():
    d = _load(EXAMPLES / "dmd2-sdxl-4step.iga.json")
    assert d["scheduler"]["grid"] == {"kind": "timesteps", "values": [999, 749, 499, 249]}
    assert d["steps"] == {"default": 4, "min": 4, "max": 4}


def test_seed_example_is_the_flat_draft_migrated():
    flat = _load(EXAMPLES / "seed-flat-draft.json")
    migrated, changes = migrate(flat, "1.0.0")
    golden = _load(EXAMPLES / "seed-example.iga.json")
    assert with_metadata_digest(migrated) == golden
    assert changes
    current, _ = migrate(flat)  # to the current schema: the same recipe, one version later
    assert with_metadata_digest(current) == migrate(golden)[0]


def test_index_lists_every_invalid_file():
    files = {p.name for p in INVALID_DIR.glob("*.json") if p.name != "index.json"}
    assert files == set(INDEX)


@pytest.mark.parametrize("name", sorted(INDEX))
def test_invalid_example_gives_its_error(name: str):
    entry = INDEX[name]
    problems = validate_recipe(_load(INVALID_DIR / name))
    assert problems, f"{name} validated"
    hits = [p for p in problems if p.pointer == entry["pointer"] and entry["message"] in p.message]
    assert hits, f"{name}: expected {entry['pointer']} '{entry['message']}', got {[str(p) for p in problems]}"
    assert all(p.hint for p in problems)
