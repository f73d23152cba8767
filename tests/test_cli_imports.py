"""The CLI starts like a small tool: a light command imports only what it uses (issue #19).

Each light command runs in a fresh interpreter, as from the shell, and the test reads which modules it
loaded: `iga --help`, `inspect`, `hash` (cached), `verify` and an in-place re-stamp must not load numpy,
jsonschema, Pillow, piexif or PyYAML, nor the validator, the guard's rules or the schedules' grids. What
they cost in milliseconds is measured by `benchmarks/bench_cli.py` against `python -c "import safetensors"`
in the same run; this test only guards the cause (a heavy import creeping back), never a time.

Also here: the lazy packages (`iga_core.lazy`) behave as the eager imports did, the CLI's table of
command families matches what their `register` adds, and the memo of validated recipes
(`iga_core.recipe.known_valid`) spares validation only for the very document it validated."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iga_core import cli
from iga_core.checkpoint import stamp
from iga_core.recipe import Recipe, RecipeInvalid, known_valid
from tests.factories import make_checkpoint
from tests.webui_recipes import LIGHTNING

ROOT = Path(__file__).resolve().parents[1]

#: third-party packages no light command needs
HEAVY_THIRD_PARTY = {"numpy", "jsonschema", "PIL", "piexif", "yaml", "gradio", "torch"}
#: standard modules that cost a light command a large part of its start-up (`iga_core.records`)
HEAVY_STDLIB = {"dataclasses", "typing", "tempfile", "shutil", "threading"}
#: our own modules that only the commands using them load
HEAVY_OURS = {
    "iga_core.recipe.validate",  # jsonschema
    "iga_core.recipe.migration",
    "iga_core.schedules.grids",  # numpy
    "iga_core.guard.engine",  # the rules
    "iga_core.guard.rules",
    "iga_core.audit.record",
    "iga_core.reconstruct",
}

RUNNER = """
import json, sys
from iga_core.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # --help, --version
    code = exc.code
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _loaded(*argv: str) -> tuple[int, set[str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", RUNNER, *argv], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120, check=False)  # fmt: skip
    assert out.stdout.strip(), out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["code"], set(result["modules"])


def _heavy(modules: set[str], *, allowed: frozenset[str] = frozenset()) -> set[str]:
    heavy = {m for m in modules if m.split(".")[0] in HEAVY_THIRD_PARTY or m in HEAVY_OURS or m in HEAVY_STDLIB}
    return heavy - allowed


@pytest.fixture
def stamped(tmp_path: Path) -> tuple[Path, Path]:
    """A checkpoint stamped once (this process validates the recipe and hashes the file), and its recipe."""
    ckpt = make_checkpoint(tmp_path / "model.safetensors")
    recipe = tmp_path / "recipe.json"
    recipe.write_text(json.dumps(LIGHTNING), encoding="utf-8")
    stamp.stamp(ckpt, LIGHTNING)
    return ckpt, recipe


def test_help_and_version_load_no_command_family():
    for argv in (["--help"], ["--version"]):
        code, modules = _loaded(*argv)
        assert code == 0
        assert not _heavy(modules), argv
        # listing the commands needs their parsers, not the code behind them
        assert not {m for m in modules if m.startswith(("iga_core.checkpoint.", "iga_core.recipe.model"))}, argv


@pytest.mark.parametrize("argv", [
    ["inspect", "{ckpt}"],
    ["inspect", "{ckpt}", "--json"],
    ["hash", "{ckpt}"],
    ["verify", "{ckpt}"],
    ["stamp", "{ckpt}", "{recipe}"],
], ids=lambda a: " ".join(a[:1] + a[2:]))  # fmt: skip
def test_light_commands_load_no_heavy_module(stamped, argv):
    ckpt, recipe = stamped
    code, modules = _loaded(*(a.format(ckpt=ckpt, recipe=recipe) for a in argv))
    assert code == 0
    # a stamp writes the canonical JSON: rfc8785 (the one library for it) imports typing
    allowed = frozenset({"typing"}) if argv[0] == "stamp" else frozenset()
    heavy = _heavy(modules, allowed=allowed)
    assert not heavy, f"iga {argv[0]} loaded {sorted(heavy)}"
    # a command builds only its own family's parsers
    assert "iga_core.cli.guard_cmds" not in modules and "iga_core.cli.image_cmds" not in modules


def test_the_check_catches_a_heavy_import(stamped):
    """The subprocess check sees an import a command makes: `validate` needs the validator."""
    ckpt, _ = stamped
    code, modules = _loaded("validate", str(ckpt))
    assert code == 0 and {"jsonschema", "iga_core.recipe.validate"} <= _heavy(modules)


def test_a_changed_recipe_is_validated_again(stamped):
    """A re-stamp with a recipe not seen before does validate (the memo does not wave it through)."""
    ckpt, recipe = stamped
    recipe.write_text(json.dumps({**LIGHTNING, "title": "changed"}), encoding="utf-8")
    code, modules = _loaded("stamp", str(ckpt), str(recipe))
    assert code == 0 and "iga_core.recipe.validate" in modules


def test_command_table_matches_what_each_family_registers():
    for module, names in cli.COMMAND_MODULES.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        assert tuple(sub.choices) == names, module
    every = [n for names in cli.COMMAND_MODULES.values() for n in names]
    assert len(every) == len(set(every))
    full = cli.build_parser()
    assert tuple(full._subparsers._group_actions[0].choices) == tuple(every)
    only = cli.build_parser("hash")._subparsers._group_actions[0].choices
    assert tuple(only) == ("hash",)  # one command asked for: its parser alone
    args = cli.build_parser("registry").parse_args(["registry", "list", "--json"])
    assert args.registry_command == "list" and args.json and callable(args.func)  # nested parsers are real


# ---- the lazy packages ----


def test_lazy_package_binds_exports_like_an_eager_import():
    import iga_core.guard as guard
    from iga_core.guard import judge

    assert callable(judge) and judge.__module__ == "iga_core.guard.judge"
    importlib.import_module("iga_core.guard.judge")  # the submodule, loaded again by name
    assert guard.judge is judge  # the export keeps its name, not the module of the same name
    assert {"judge", "MODES", "RULES"} <= set(dir(guard)) and set(guard.__all__) <= set(dir(guard))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = guard.nothing
    with pytest.raises(ImportError):
        exec("from iga_core.guard import nothing", {})


@pytest.mark.parametrize("package", ["iga_core.recipe", "iga_core.guard", "iga_core.schedules", "iga_core.vocab"])
def test_every_lazy_export_resolves(package):
    mod = importlib.import_module(package)
    for name in mod.__all__:
        assert getattr(mod, name) is not None, f"{package}.{name}"


# ---- the memo of validated recipes ----


def test_a_remembered_recipe_is_not_validated_again(monkeypatch):
    first = Recipe.from_dict(LIGHTNING)
    calls = []
    import iga_core.recipe.validate as validate

    real = validate.validate_recipe
    monkeypatch.setattr(validate, "validate_recipe", lambda d: calls.append(d) or real(d))
    again = Recipe.from_dict(json.loads(json.dumps(LIGHTNING)))  # an equal document, another object
    assert again == first and calls == []
    assert known_valid.recall(LIGHTNING).valid
    changed = {**LIGHTNING, "title": "another"}
    Recipe.from_dict(changed)
    assert calls == [changed]  # another document: validated


def test_an_invalid_recipe_is_never_remembered():
    bad = {**LIGHTNING, "steps": {"default": 40, "min": 1, "max": 8}}
    for _ in range(2):
        with pytest.raises(RecipeInvalid):
            Recipe.from_dict(bad)
    assert not known_valid.recall(bad).valid


def test_the_memo_belongs_to_one_validator(tmp_path, monkeypatch):
    Recipe.from_dict(LIGHTNING)
    memo_file = Path(os.environ["IGA_CACHE_DIR"]) / known_valid.MEMO_FILE
    data = json.loads(memo_file.read_text(encoding="utf-8"))
    assert data["fingerprint"] == known_valid.fingerprint() and known_valid.content_key(LIGHTNING) in data["recipes"]
    known_valid._loaded.clear()
    monkeypatch.setattr(known_valid, "_fingerprint", ["another validator"])
    assert not known_valid.recall(LIGHTNING).valid  # another fingerprint: an empty memo
    known_valid._loaded.clear()
    memo_file.write_text("{not json", encoding="utf-8")
    assert not known_valid.recall(LIGHTNING).valid  # a corrupt memo: validate again


def test_a_remembered_digest_is_the_digest():
    from iga_core.recipe import metadata_sha256

    stamped = stamp._with_hashes(LIGHTNING, weights="0" * 64, source=None, index=None)
    recipe = Recipe.from_dict(stamped, digest=metadata_sha256(stamped))
    assert known_valid.recall(stamped).digest == metadata_sha256(stamped) == recipe.digest
    assert Recipe.from_dict(stamped).__dict__["digest"] == recipe.digest  # recalled, not computed
    assert known_valid.content_key({"a": float("nan")}) is None and not known_valid.recall({1j: 1}).valid


def test_a_known_valid_recipe_is_parsed_when_first_read(stamped):
    """find_recipe of a recipe the memo knows: valid at once, the typed recipe built on first use."""
    from iga_core.checkpoint.sources import find_recipe

    ckpt, _ = stamped
    src = find_recipe(ckpt, verify="never")
    assert src.valid and src.hash_status == "verified" and "recipe" not in src.__dict__
    assert src.to_dict()["valid"] and "recipe" not in src.__dict__
    recipe = src.recipe
    assert isinstance(recipe, Recipe) and src.recipe is recipe and recipe.model_id == LIGHTNING["model_id"]
    assert recipe.digest == src.metadata.actual  # the digest find_recipe computed, handed to the recipe
