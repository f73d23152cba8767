"""`iga reconstruct CHECKPOINT` and `iga registry add|list|show|remove|export|import`: recipes for
checkpoints that have none, and a user folder of recipes keyed by weights hash for files that are not
to be modified."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from iga_core.cli import emit
from iga_core.cli.show import add_full_option
from iga_core.cli.show import safe as _safe
from iga_core.errors import ExitCode
from iga_core.untrusted_text import json_text

# The recipe model, the registry and the reconstruction are imported by the commands that use them, so
# that `iga --help` and the checkpoint commands do not load them (tests/test_cli_imports.py).

_CHECKPOINT_SUFFIXES = {".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin", ".gguf"}


def register(sub) -> None:
    p = sub.add_parser(
        "reconstruct",
        help="best-effort recipe for a checkpoint without one, each field with its source and confidence",
        description="Read ModelSpec/kohya metadata, marker tensors, the tensor layout, and files beside the "
        "checkpoint (.yaml as data only, diffusers configs, .civitai.info, the host's .json) and propose a "
        "recipe. Nothing is written unless -o is given; review the result before saving it.",
    )
    p.add_argument("checkpoint")
    p.add_argument("-o", "--output", metavar="OUT", help="write the reconstructed recipe here (atomically)")
    p.add_argument("--json", action="store_true", help="print recipe, provenance and findings as JSON")
    add_full_option(p)
    p.set_defaults(func=cmd_reconstruct)

    reg = sub.add_parser(
        "registry",
        help="recipes for checkpoints you do not modify, keyed by weights sha256 in a user folder",
        description="The registry folder is --folder, else $IGA_REGISTRY, else $IGA_DATA_DIR/registry, else "
        "~/.local/share/iga/registry. Readers (WebUI, check, inspect, verify) consult it by default.",
    )
    reg.add_argument(
        "--folder", metavar="DIR", help="registry folder (default: $IGA_REGISTRY or the user folder)"
    )
    rsub = reg.add_subparsers(dest="registry_command", metavar="ACTION")
    reg.set_defaults(func=lambda args: _usage(reg))

    p = rsub.add_parser("add", help="add a recipe .json (for the weights it names, or --for a checkpoint)")
    p.add_argument("recipe", help="recipe .json file")
    p.add_argument(
        "--for",
        dest="checkpoint",
        metavar="CHECKPOINT",
        help="the checkpoint it is for (its weights are hashed)",
    )
    p.add_argument("--replace", action="store_true", help="overwrite an existing entry")
    _json_flag(p, cmd_add)

    p = rsub.add_parser("list", help="list the entries")
    add_full_option(p)
    _json_flag(p, cmd_list)

    p = rsub.add_parser("show", help="print one entry (by hash, 8+ digit prefix, or checkpoint path)")
    p.add_argument("key")
    _json_flag(p, cmd_show)

    p = rsub.add_parser("remove", help="delete one entry (by hash, 8+ digit prefix, or checkpoint path)")
    p.add_argument("key")
    _json_flag(p, cmd_remove)

    p = rsub.add_parser("export", help="write entries (all, or the given ones) as one JSON bundle")
    p.add_argument("keys", nargs="*", metavar="KEY")
    p.add_argument("-o", "--output", metavar="BUNDLE", help="bundle file to write (default: stdout)")
    _json_flag(p, cmd_export)

    p = rsub.add_parser("import", help="add the entries of a bundle")
    p.add_argument("bundle")
    p.add_argument("--replace", action="store_true", help="overwrite entries that exist")
    _json_flag(p, cmd_import)


def _json_flag(p: argparse.ArgumentParser, func) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=func)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return ExitCode.USAGE


def _registry(args: argparse.Namespace, *, creates: bool = False):
    """The registry the command works on. A --folder that does not exist is a mistyped path for every action
    but those that write entries (add, import create it); the default folder may simply not exist yet."""
    from iga_core.checkpoint.registry import Registry, RegistryUnreadable

    if not args.folder:
        return Registry()
    folder = Path(args.folder)
    if not creates and not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise RegistryUnreadable(f"registry folder {folder} {what}",
                                 "check the --folder path (`iga registry add` creates a new registry there)")
    return Registry(folder)


def _is_checkpoint(text: str) -> bool:
    return Path(text).suffix.lower() in _CHECKPOINT_SUFFIXES


def _weights_of(args: argparse.Namespace, checkpoint: str) -> str:
    from iga_core.checkpoint.hashing import weights_sha256
    from iga_core.cli.progress import progress_for

    path = Path(checkpoint)
    with progress_for(args, path, "hashing") as progress:
        return weights_sha256(path, progress)


def _tensor_index_of(checkpoint: str) -> str | None:
    from iga_core.checkpoint.safetensors_io import is_safetensors_path, read_header

    return read_header(checkpoint).tensor_index_sha256 if is_safetensors_path(checkpoint) else None


def _key(args: argparse.Namespace, key: str) -> str:
    return _weights_of(args, key) if _is_checkpoint(key) else key


# --- reconstruct ---


def cmd_reconstruct(args: argparse.Namespace) -> int:
    from iga_core.checkpoint.atomic import write_json_atomic
    from iga_core.reconstruct import reconstruct

    result = reconstruct(args.checkpoint)
    written = str(write_json_atomic(args.output, result.recipe, parents=True)) if args.output else None
    data = {"ok": not result.problems, "checkpoint": args.checkpoint, "written": written, **result.to_dict()}
    lines = [f"{args.checkpoint}: {result.status} recipe (not written into the file)", ""]
    lines.append(f"  {'field':<28} {'value':<34} {'conf':>4}  source")
    for f in result.fields:
        value = json.dumps(f.value, ensure_ascii=False)
        value = value if len(value) <= 34 else value[:33] + "…"
        lines.append(f"  {f.pointer:<28} {value:<34} {f.confidence:>4.2f}  {f.source}: {_safe(f.detail)}")
    if result.findings:
        lines += ["", "findings:"] + [f"  - {_safe(x, 300)}" for x in result.findings]
    if result.problems:
        lines += ["", "still invalid:"] + [f"  {p}" for p in result.problems]
    lines.append("")
    if written:
        lines.append(
            f"written to {written}; review it, then `iga registry add {written} --for {args.checkpoint}`"
        )
    else:
        lines.append(
            "save it with -o FILE, review it, then `iga registry add FILE --for CHECKPOINT` or `iga stamp`"
        )
    emit(args, "\n".join(lines), data)
    return ExitCode.OK if not result.problems else ExitCode.PROBLEM


# --- registry ---


def cmd_add(args: argparse.Namespace) -> int:
    from iga_core.recipe import Recipe
    from iga_core.recipe.files import read_json_file

    reg = _registry(args, creates=True)
    document = read_json_file(args.recipe)
    weights = _weights_of(args, args.checkpoint) if args.checkpoint else None
    index = _tensor_index_of(args.checkpoint) if args.checkpoint else None
    existed_before = weights is not None and reg.path_for(weights).exists()
    path = reg.add(document, weights_sha256=weights, tensor_index_sha256=index, replace=args.replace)
    recipe = Recipe.unchecked(document)  # add validated it
    sha = path.name.split(".")[0]
    verb = "replaced" if existed_before else "added"
    emit(args, f"{verb} {sha} ({recipe.model_id!r}) in {reg.folder}",
         {"ok": True, "weights_sha256": sha, "path": str(path), "action": verb})  # fmt: skip
    return ExitCode.OK


def cmd_list(args: argparse.Namespace) -> int:
    reg = _registry(args)
    entries = reg.list()
    lines = [f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} in {reg.folder}"
             + ("" if reg.folder.is_dir() else " (not created yet: `iga registry add` creates it)")]
    for e in entries:
        state = "" if e.valid else f"  [broken: {_safe(e.problem or '', 80)}]"
        lines.append(
            f"  {e.weights_sha256[:12]}  {_safe(e.model_id or '?', 40):<40} {_safe(e.title or '', 40)}{state}"
        )
    emit(
        args,
        "\n".join(lines),
        {"ok": True, "folder": str(reg.folder), "entries": [e.to_dict() for e in entries]},
    )
    return ExitCode.OK


def cmd_show(args: argparse.Namespace) -> int:
    from iga_core.checkpoint.atomic import dumps_pretty
    from iga_core.recipe import validate_recipe

    reg = _registry(args)
    sha, recipe = reg.show(_key(args, args.key))
    problems = validate_recipe(recipe)
    human = f"# {sha} ({reg.path_for(sha)})\n" + dumps_pretty(recipe).rstrip()
    if problems:
        human += "\n# invalid:\n" + "\n".join(f"#   {p}" for p in problems)
    emit(args, human, {"ok": not problems, "weights_sha256": sha, "recipe": recipe,
                       "problems": [p.to_dict() for p in problems]})  # fmt: skip
    return ExitCode.OK if not problems else ExitCode.PROBLEM


def cmd_remove(args: argparse.Namespace) -> int:
    reg = _registry(args)
    sha = reg.remove(_key(args, args.key))
    emit(args, f"removed {sha} from {reg.folder}", {"ok": True, "weights_sha256": sha})
    return ExitCode.OK


def cmd_export(args: argparse.Namespace) -> int:
    from iga_core.checkpoint.atomic import dumps_pretty, write_json_atomic

    reg = _registry(args)
    bundle = reg.export([_key(args, k) for k in args.keys] if args.keys else None)
    count = len(bundle["entries"])
    if args.output:
        path = write_json_atomic(args.output, bundle, parents=True)
        emit(args, f"exported {count} entr{'y' if count == 1 else 'ies'} to {path}",
             {"ok": True, "path": str(path), "count": count})  # fmt: skip
    elif args.json:
        emit(args, "", {"ok": True, "count": count, "bundle": bundle})
    else:
        sys.stdout.write(json_text(dumps_pretty(bundle)))
    return ExitCode.OK


def cmd_import(args: argparse.Namespace) -> int:
    from iga_core.recipe.files import read_json_file

    reg = _registry(args, creates=True)
    result = reg.import_(read_json_file(args.bundle), replace=args.replace)
    lines = [f"imported into {reg.folder}: {len(result.added)} added, {len(result.replaced)} replaced, "
             f"{len(result.skipped)} already present, {len(result.rejected)} rejected"]  # fmt: skip
    if result.skipped:
        lines.append("  (use --replace to overwrite the ones already present)")
    for r in result.rejected:
        first = r["problems"][0] if r["problems"] else {"pointer": "", "message": "invalid"}
        lines.append(f"  rejected entry {r['index']}: {first['pointer'] or '/'}: {first['message']}")
        if first.get("hint"):
            lines.append(f"      fix: {first['hint']}")
    emit(args, "\n".join(lines), {"ok": not result.rejected, **result.to_dict()})
    return ExitCode.OK if not result.rejected else ExitCode.PROBLEM
