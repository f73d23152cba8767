"""`iga validate FILE` and `iga migrate FILE [-o OUT]`: check and upgrade recipes.

FILE for validate may be a recipe `.json`, a sidecar `<checkpoint>.iga.json`, or a `.safetensors`
checkpoint (its embedded `__metadata__["iga"]` is checked). Exit codes (`ExitCode`): 0 valid, 1 invalid
(or no recipe is there), 4 the file cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from iga_core.cli import emit
from iga_core.errors import ExitCode, IgaInvalid
from iga_core.recipe.schema_file import KNOWN_VERSIONS, SCHEMA_VERSION
from iga_core.untrusted_text import json_text, neutralise

# The validator (jsonschema) and the migration are imported by the commands that use them, so that
# `iga --help` and the checkpoint commands do not load them (tests/test_cli_imports.py).

# Checkpoint formats without a safetensors header: their recipe can only live in a sidecar.
NO_HEADER_SUFFIXES = {".ckpt", ".pt", ".pth", ".bin", ".gguf"}


class NoRecipeInFile(IgaInvalid):
    """A checkpoint was given that carries no embedded recipe."""


def register(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check a recipe: a .json file, a sidecar, or the recipe embedded in a .safetensors checkpoint",
        description="Check a recipe against the schema and the semantic rules; every problem names its "
        "JSON pointer and says how to fix it. Exit 0 valid, 1 invalid, 4 unreadable.",
    )
    p.add_argument("file", help="recipe .json, <checkpoint>.iga.json sidecar, or .safetensors checkpoint")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "migrate",
        help=f"upgrade an older recipe (e.g. the flat draft, 1.0.0) to schema {SCHEMA_VERSION}",
        description="Upgrade an older recipe shape to the current schema and list every change. Without -o "
        "the new recipe goes to stdout and the changes to stderr. Exit 1 when the result is still invalid "
        "(it is written anyway so that you can fix it).",
    )
    p.add_argument("file", help="recipe .json to upgrade")
    p.add_argument("-o", "--output", metavar="OUT", help="write the upgraded recipe here (atomically)")
    p.add_argument("--to", metavar="VERSION", default=SCHEMA_VERSION, choices=KNOWN_VERSIONS,
                   help=f"the schema version to migrate to (default {SCHEMA_VERSION}; one of "
                   f"{', '.join(KNOWN_VERSIONS)})")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_migrate)


def _load(path: Path) -> tuple[object, str]:
    """(recipe value, where it came from: "checkpoint" or "json")."""
    if path.suffix.lower() in NO_HEADER_SUFFIXES:
        from iga_core.checkpoint.embedded import sidecar_path

        raise NoRecipeInFile(
            f"{path.name} is a {path.suffix} checkpoint; it cannot carry an embedded recipe",
            f"validate its sidecar instead: iga validate {sidecar_path(path)}",
        )
    from iga_core.checkpoint.safetensors_io import is_safetensors_path

    if not is_safetensors_path(path):
        from iga_core.recipe.files import read_json_file

        return read_json_file(path), "json"
    from iga_core.checkpoint.embedded import read_embedded, sidecar_path

    recipe = read_embedded(path)
    if recipe is None:
        side = sidecar_path(path)
        also = f"; a sidecar exists: iga validate {side}" if side.exists() else ""
        raise NoRecipeInFile(f"{path.name} has no embedded recipe", f"stamp one with `iga stamp`{also}")
    return recipe, "checkpoint"


def _problem_lines(problems) -> list[str]:
    lines = []
    for p in problems:
        lines.append(f"  {p.pointer or '/'}: {p.message}")
        lines.append(f"      fix: {p.hint}")
    return lines


def _deprecation_lines(notices) -> list[str]:
    lines = [f"deprecated ({len(notices)}):"]
    for n in notices:
        lines.append(f"  {n.pointer or '/'}: {n.message()}")
        if n.how:
            lines.append(f"      fix: {n.how}")
    return lines


def cmd_validate(args: argparse.Namespace) -> int:
    from iga_core.recipe import Recipe, deprecation_notices, digest_status, validate_recipe

    path = Path(args.file)
    document, source = _load(path)
    problems = validate_recipe(document)
    recipe = Recipe.unchecked(document) if not problems else None  # validated just now
    digest = digest_status(document) if recipe is not None else None
    deprecated = deprecation_notices(document)
    data = {
        "ok": not problems,
        "file": str(path),
        "source": source,
        "model_id": recipe.model_id if recipe is not None else None,
        "iga_version": recipe.iga_version if recipe is not None else None,
        "metadata_digest": digest,
        "problems": [p.to_dict() for p in problems],
        "deprecations": [n.to_dict() for n in deprecated],
    }
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
        human = "\n".join([f"INVALID {path} ({source}): {count}", *_problem_lines(problems)])
    else:
        notes = {
            "matches": "metadata digest matches the content",
            "differs": "metadata digest does NOT match: the recipe changed after its digest was written "
            "(`iga verify` checks a checkpoint; stamping recomputes the digest)",
            "absent": "no metadata digest yet (stamping adds one)",
        }
        human = (
            f"OK {path} ({source}): {recipe.model_id!r}, schema {recipe.iga_version}\n  {notes[digest]}"
        )
    if deprecated:
        human += "\n" + "\n".join(_deprecation_lines(deprecated))
    emit(args, human, data)
    return ExitCode.OK if not problems else ExitCode.PROBLEM


def cmd_migrate(args: argparse.Namespace) -> int:
    from iga_core.checkpoint.atomic import write_json_atomic
    from iga_core.recipe import deprecation_notices, detect_version, migrate, validate_recipe
    from iga_core.recipe.files import read_json_file

    path = Path(args.file)
    original = read_json_file(path)
    before = detect_version(original)
    target = getattr(args, "to", None) or SCHEMA_VERSION
    upgraded, changes = migrate(original, target)
    problems = validate_recipe(upgraded)
    deprecated = deprecation_notices(upgraded)  # what migration could not replace by itself
    written = str(write_json_atomic(args.output, upgraded, parents=True)) if args.output else None
    data = {
        "ok": not problems,
        "file": str(path),
        "from_version": before,
        "to_version": target,
        "changes": changes,
        "problems": [p.to_dict() for p in problems],
        "deprecations": [n.to_dict() for n in deprecated],
        "written": written,
        "recipe": upgraded,
    }
    if getattr(args, "json", False):
        emit(args, "", data)
        return ExitCode.OK if not problems else ExitCode.PROBLEM
    from iga_core.checkpoint.atomic import dumps_pretty

    if not changes:
        head = f"{path}: already {target}"
    elif before == target:
        head = f"{path}: {target}, written in the canonical form"
    else:
        head = f"{path}: {before} -> {target}"
    report = [head]
    report += [f"  - {c}" for c in changes]
    if deprecated:
        report += ["still deprecated (left for you to decide):", *_deprecation_lines(deprecated)[1:]]
    if problems:
        report.append("the upgraded recipe is still invalid:")
        report += _problem_lines(problems)
    if written:
        report.append(f"written to {written}")
        print(neutralise("\n".join(report), lines=True))
    else:
        print(neutralise("\n".join(report), lines=True), file=sys.stderr)
        sys.stdout.write(json_text(dumps_pretty(upgraded)))
    return ExitCode.OK if not problems else ExitCode.PROBLEM
