"""Checkpoint commands: `iga inspect`, `stamp`, `verify`, `hash`, `strip`, `extract`.

Human output by default, `--json` for machines. Exit codes (`ExitCode`): 0 ok; 1 a problem found (invalid,
mismatch, refused); 2 usage; 4 a file missing or unreadable. A broken file gives a one-line error with a
hint (an `IgaError`), never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from iga_core.cli import emit
from iga_core.cli.progress import add_progress_option, format_size, progress_for
from iga_core.cli.show import add_full_option
from iga_core.cli.show import safe as _safe
from iga_core.errors import ExitCode, IgaError, IgaInvalid
from iga_core.untrusted_text import json_text

# Each command imports the checkpoint modules it uses, so that `iga --help` and the other families'
# commands do not load them (tests/test_cli_imports.py).
VERIFY_CHOICES = ("never", "first", "always")


class ConfirmationNeeded(IgaInvalid):
    """A first in-place stamp changes the file's WebUI "Model hash"; it needs --yes (or an interactive yes)."""


class NothingToVerify(IgaInvalid):
    """There is no recipe, or it carries no hashes."""


def register(sub) -> None:
    p = sub.add_parser("inspect", help="show a checkpoint's header, metadata and recipe",
                       description="Show a checkpoint's size, tensors, metadata keys and where its recipe "
                                   "comes from (embedded, sidecar). Reads the header only, unless --verify.")  # fmt: skip
    p.add_argument("checkpoint")
    p.add_argument("--verify", choices=VERIFY_CHOICES, default="never",
                   help="hash the weights to check the recipe: never (default), first (cached), always")  # fmt: skip
    p.add_argument("--tensors", action="store_true", help="list every tensor")
    p.add_argument("--base", metavar="CKPT",
                   help="compare the base model a kohya-trained file names (ss_sd_model_hash AutoV1, "
                        "ss_new_sd_model_hash sha256) with CKPT")  # fmt: skip
    add_full_option(p)
    _common(p, progress=True)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("stamp", help="embed a recipe in a checkpoint (or write a sidecar)",
                       description="Embed RECIPE (a .json file) in CHECKPOINT's safetensors metadata. The header "
                                   "is rewritten in place when it fits; otherwise the file is rewritten atomically "
                                   "(temp file + rename). The first stamp changes the file's WebUI 'Model hash' "
                                   "(AutoV2): its original sha256 is kept in hashes.source_file_sha256.")  # fmt: skip
    p.add_argument("checkpoint")
    p.add_argument("recipe", help="recipe .json file")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--sidecar", action="store_true",
                      help="write CHECKPOINT.iga.json instead; the checkpoint is not modified (needed for .ckpt)")  # fmt: skip
    mode.add_argument("--out", metavar="COPY", help="write a stamped copy to COPY; the original is not modified")
    p.add_argument("--yes", "-y", action="store_true",
                   help="do not ask before the first in-place stamp changes the file's Model hash")  # fmt: skip
    p.add_argument("--force", action="store_true", help="let --out COPY replace a file that already exists")
    _common(p, progress=True)
    p.set_defaults(func=cmd_stamp)

    p = sub.add_parser("verify", help="check a checkpoint's recipe against its weights and itself",
                       description="Re-hash the tensor bytes and the recipe and compare them with the hashes the "
                                   "recipe carries. Exit 0 verified, 1 mismatch (says which) or nothing to verify.")  # fmt: skip
    p.add_argument("checkpoint")
    add_full_option(p)
    _common(p, progress=True)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("hash", help="print the weights hash (and with --full the file hash and AutoV2)",
                       description="weights_sha256 is the sha256 of the tensor bytes only (stamping never changes "
                                   "it); --full adds the whole-file sha256 and the WebUI's AutoV2 'Model hash'.")  # fmt: skip
    p.add_argument("file")
    p.add_argument("--full", action="store_true", help="also the full-file sha256 and AutoV2")
    p.add_argument("--autov1", action="store_true",
                   help="also A1111's old 8-hex model hash (AutoV1, kohya's ss_sd_model_hash): one 64 KiB read")  # fmt: skip
    p.add_argument("--no-cache", action="store_true", help="re-read the file even if its hash is cached")
    _common(p, progress=True)
    p.set_defaults(func=cmd_hash)

    p = sub.add_parser("strip", help="remove the embedded recipe from a checkpoint",
                       description="Remove __metadata__['iga'] (in place; ModelSpec keys stay).")
    p.add_argument("checkpoint")
    p.add_argument("--out", metavar="COPY", help="write a stripped copy instead; the original is not modified")
    p.add_argument("--force", action="store_true", help="let --out COPY replace a file that already exists")
    _common(p)
    p.set_defaults(func=cmd_strip)

    p = sub.add_parser("extract", help="copy the embedded recipe to a sidecar or stdout",
                       description="Write the embedded recipe to CHECKPOINT.iga.json (default), to -o PATH, or "
                                   "with -o - to stdout.")  # fmt: skip
    p.add_argument("checkpoint")
    p.add_argument("-o", "--output", metavar="PATH", help="where to write it; '-' for stdout")
    p.add_argument("--force", action="store_true", help="overwrite an existing file with other content")
    _common(p)
    p.set_defaults(func=cmd_extract)


def _common(p: argparse.ArgumentParser, *, progress: bool = False) -> None:
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    if progress:
        add_progress_option(p)


# ---- commands ----


def cmd_inspect(args: argparse.Namespace) -> int:
    from iga_core.checkpoint.safetensors_io import is_safetensors_path, read_header
    from iga_core.checkpoint.sources import find_recipe

    path = Path(args.checkpoint)
    data: dict = {"file": str(path)}
    lines: list[str] = []
    header = None
    if is_safetensors_path(path):
        header = read_header(path)
        dtypes = Counter(t.dtype for t in header.tensors.values())
        data.update(
            file_size=header.file_size,
            header_len=header.header_len,
            header_spare=header.spare,
            tensor_count=len(header.tensors),
            dtypes=dict(dtypes),
            metadata={k: v for k, v in header.metadata.items() if k != "iga"},
        )
        lines.append(f"{_safe(path.name)}: {format_size(header.file_size)}, {len(header.tensors)} tensors "
                     f"({', '.join(f'{d} x{n}' for d, n in dtypes.most_common())}), header {header.header_len} "
                     f"bytes ({header.spare} spare)")  # fmt: skip
        if args.tensors:
            data["tensors"] = [{"name": t.name, **t.to_json()} for t in header.tensors.values()]
            lines += [f"  {_safe(t.name)}  {t.dtype} {list(t.shape)}" for t in header.tensors.values()]
        other = [k for k in header.metadata if k != "iga"]
        lines.append(f"metadata: {len(other)} other key{'s' if len(other) != 1 else ''}")
        lines += [f"  {_safe(k, 60)} = {_safe(header.metadata[k], 70)}" for k in other]
    else:
        size = _stat_size(path)
        data.update(file_size=size)
        lines.append(f"{_safe(path.name)}: {format_size(size)}, not safetensors (no embedded metadata; sidecar only)")
    with progress_for(args, path, "hashing") as progress:
        src = find_recipe(path, verify=args.verify, progress=progress, header=header)
    data["recipe_source"] = src.to_dict()
    lines += _recipe_lines(src)
    lines += _identity_lines(args, path, header, src, data)
    lines += _header_notes(header)
    emit(args, "\n".join(lines), data)
    return ExitCode.OK


def _identity_lines(args: argparse.Namespace, path: Path, header, src, data: dict) -> list[str]:
    """What the file is (LoRA, refiner, …), its AutoV1, the base a kohya-trained file names, and whether a
    `.civitai.info` beside it describes it."""
    from iga_core.checkpoint import civitai_info, hashing, training
    from iga_core.checkpoint.layout import describe
    from iga_core.untrusted_files import read_json

    lines: list[str] = []
    autov1 = hashing.autov1(path)
    data["autov1"] = autov1
    lines.append(f"AutoV1 (A1111's old model hash) {autov1}")
    if header is not None:
        layout = describe(header.tensors)
        data["layout"] = layout.to_dict()
        what = layout.kind + (f", {layout.family}" if layout.family else "") + (
            f" {layout.variant}" if layout.variant else "") + (f" ({layout.size})" if layout.size else "")
        lines.append(f"layout: {what}" + (f" — {_safe(layout.why[0], 160)}" if layout.why else ""))
        trained = training.trained_on(header.metadata)
        if trained is not None:
            data["trained_on"] = trained.to_dict()
            lines.append(f"trained on: {_safe(trained.describe(), 160)}")
            if args.base:
                with progress_for(args, Path(args.base), "hashing") as progress:
                    check = training.compare(trained, args.base, progress)
                data["base_check"] = check.to_dict()
                lines.append(f"  {check.status}: {_safe(check.message, 300)}")
        elif args.base:
            lines.append("trained on: the file names no base model (no ss_sd_model_name / ss_sd_model_hash)")
    info_path = path.with_name((path.name[: -len(path.suffix)] if path.suffix else path.name) + ".civitai.info")
    if info_path.exists():
        try:
            info = read_json(info_path, civitai_info.INFO_LIMIT, what="side file")
        except IgaError as exc:
            lines.append(f"{_safe(info_path.name)}: unreadable ({_safe(exc.message, 200)})")
        else:
            source = src.recipe.hashes.source_file_sha256 if src.kind == "embedded" and src.recipe and src.recipe.hashes else None
            check = civitai_info.check(path, info, info_name=info_path.name, source_file_sha256=source)
            data["civitai_info"] = check.to_dict()
            lines.append(f"{_safe(info_path.name)}: {check.status} — {_safe(check.message, 400)}")
    return lines


def cmd_stamp(args: argparse.Namespace) -> int:
    from iga_core.checkpoint import stamp
    from iga_core.checkpoint.safetensors_io import is_safetensors_path
    from iga_core.recipe.files import read_json_file

    path = Path(args.checkpoint)
    recipe = read_json_file(args.recipe)
    if not isinstance(recipe, dict):
        raise IgaInvalid(f"{args.recipe} does not hold a JSON object", "give a recipe .json file")
    if args.sidecar:
        with progress_for(args, path, "hashing") as progress:
            result = stamp.write_sidecar(path, recipe, progress=progress)
    else:
        if not args.out and not args.yes and is_safetensors_path(path) and stamp.is_first_stamp(path):
            _confirm_first_stamp(path)
        with progress_for(args, path, "stamping") as progress:  # labelled per phase: hashing, writing
            result = stamp.stamp(path, recipe, out=args.out, overwrite=args.force, progress=progress,
                                 on_wait=lambda: _waiting(path))
    what = {
        "in_place": "header rewritten in place",
        "rewrite": "file rewritten (header grew; spare room reserved for next time)",
        "copy": "stamped copy written",
        "sidecar": "sidecar written",
    }[result.mode]
    lines = [f"stamped {_safe(result.path)}: {what}",
             f"  weights_sha256   {result.weights_sha256}"]  # fmt: skip
    if result.tensor_index_sha256:
        lines.append(f"  tensor_index_sha256 {result.tensor_index_sha256}")
    lines.append(f"  metadata_sha256  {result.metadata_sha256}")
    if result.replaced_metadata_sha256 and result.replaced_metadata_sha256 != result.metadata_sha256:
        lines.append(f"  replaces the recipe {result.replaced_metadata_sha256[:12]}… that was there")
    if result.source_file_sha256:
        lines.append(f"  source_file_sha256 {result.source_file_sha256}")
    lines += [f"  ModelSpec {k} = {_safe(v)}" for k, v in result.modelspec_added.items()]
    lines += [f"note: {n}" for n in result.notices]
    if result.mode != "sidecar":
        lines.append("note: refresh the checkpoint list in the WebUI to see the new recipe")
    emit(args, "\n".join(lines), {"ok": True, **result.to_dict()})
    return ExitCode.OK


def _waiting(path: Path) -> None:
    print(f"iga: another iga process is writing {_safe(path.name)}; waiting for it to finish…", file=sys.stderr,
          flush=True)  # fmt: skip


def _confirm_first_stamp(path: Path) -> None:
    question = (f"Stamping {_safe(path.name)} changes its bytes, so the WebUI 'Model hash' (AutoV2) will change "
                "(the current full-file sha256 is kept in the recipe).")  # fmt: skip
    if sys.stdin.isatty() and sys.stderr.isatty():
        print(question, file=sys.stderr)
        print("Continue? [y/N] ", end="", file=sys.stderr, flush=True)
        if sys.stdin.readline().strip().lower() in ("y", "yes"):
            return
        raise ConfirmationNeeded("stamp cancelled; the file is unchanged", "answer y, or pass --yes")
    raise ConfirmationNeeded(
        f"the first stamp of {path.name} changes its WebUI 'Model hash' (AutoV2); not confirmed",
        "pass --yes to confirm, or use --out COPY or --sidecar to leave the file unchanged",
    )


def cmd_verify(args: argparse.Namespace) -> int:
    from iga_core.checkpoint.safetensors_io import is_safetensors_path, open_for_read, read_header
    from iga_core.checkpoint.sources import find_recipe

    path = Path(args.checkpoint)
    open_for_read(path).close()  # missing, a folder: say so (not "no recipe")
    header = read_header(path) if is_safetensors_path(path) else None  # a broken file is reported as such
    with progress_for(args, path, "hashing") as progress:
        src = find_recipe(path, verify="always", progress=progress, header=header)
    data = {"file": str(path), **src.to_dict()}
    data.pop("recipe", None)
    if src.kind == "none" and src.problems:  # there is one, but it cannot be read
        raise NothingToVerify(f"{path.name}'s recipe cannot be read: {'; '.join(src.problems)}",
                              "stamp a valid recipe over it with `iga stamp`, or remove it with `iga strip` "
                              "(a broken sidecar: fix or delete it)")  # fmt: skip
    if src.kind == "none":
        raise NothingToVerify(f"{path.name} has no recipe (embedded, sidecar or in the registry)",
                              "stamp one with `iga stamp`")
    labels = {"ok": "OK", "mismatch": "MISMATCH", "missing": "missing from the recipe", "unchecked": "not checked"}
    lines = [f"{_safe(path.name)}: recipe {src.kind} ({_safe(src.path or '')})",
             f"  weights hash:  {labels[src.weights.status]}",
             f"  tensor index:  {labels[src.tensor_index.status] if src.tensor_index.status != 'unchecked' else 'n/a (no safetensors header)'}",
             f"  metadata hash: {labels[src.metadata.status]}"]  # fmt: skip
    if src.weights.status == "mismatch":
        lines.append(f"    the recipe was stamped for weights {src.weights.expected}, this file has {src.weights.actual}")
        lines.append("    fix: this recipe belongs to other weights; stamp the right recipe for this file")
    if src.metadata.status == "mismatch":
        lines.append("    the recipe was edited after it was stamped")
        lines.append("    fix: validate the recipe, then stamp it again (`iga stamp`) to recompute its digest")
    if src.tensor_index.status == "mismatch":
        lines.append("    the tensors' names, dtypes, shapes or offsets differ from those the recipe was stamped for")
        lines.append("    fix: this recipe belongs to another file layout; stamp the right recipe for this file")
    if "missing" in (src.weights.status, src.metadata.status):
        lines.append("    fix: stamp the recipe with `iga stamp` to record its hashes")
    elif src.tensor_index.status == "missing":
        lines.append(f"    note: the recipe predates the tensor-index binding; add it with: {_rebind_command(src, path)}")
    lines += _header_notes(header)
    verdict = {"verified": "VERIFIED", "mismatch": "MISMATCH", "unverified": "UNVERIFIED"}[src.hash_status]
    lines.append(verdict)
    data["ok"] = src.hash_status == "verified"
    emit(args, "\n".join(lines), data)
    return ExitCode.OK if src.hash_status == "verified" else ExitCode.PROBLEM


def _rebind_command(src, path: Path) -> str:
    """The command that re-stamps this recipe where it lives, which adds `hashes.tensor_index_sha256`."""
    ckpt = _shell(str(path))
    if src.kind == "sidecar":
        return f"iga stamp --sidecar {ckpt} {_shell(src.path or '')}"
    if src.kind == "registry":
        entry = Path(src.path or ".") / f"{((src.document or {}).get('hashes') or {}).get('weights_sha256', '')}.iga.json"
        return f"iga registry add {_shell(str(entry))} --for {ckpt} --replace"
    return f"iga extract {ckpt} -o recipe.json && iga stamp {ckpt} recipe.json"


def _shell(text: str) -> str:
    import shlex

    return shlex.quote(_safe(text, 200))


def _header_notes(header) -> list[str]:
    """What the WebUI will make of this header, where it differs from what iga reads."""
    if header is None or header.host_readable:
        return []
    return [f"note: the header starts with {header.raw[:4]!r}, not '{{\"': valid safetensors, but the WebUI's own "
            "metadata reader refuses it (A1111/Forge show no metadata for this file; iga still reads it). Any "
            "`iga stamp` or `iga strip` rewrites the header the WebUI's way."]


def cmd_hash(args: argparse.Namespace) -> int:
    from iga_core.checkpoint import hashing

    path = Path(args.file)
    use_cache = not args.no_cache
    with progress_for(args, path, "hashing") as progress:
        if args.full:
            file_digest, weights = hashing.file_and_weights_sha256(path, progress, use_cache=use_cache)
        else:
            file_digest, weights = None, hashing.weights_sha256(path, progress, use_cache=use_cache)
    data = {"file": str(path), "weights_sha256": weights}
    lines = [f"weights_sha256  {weights}  {_safe(str(path))}"]
    if file_digest:
        data.update(file_sha256=file_digest, autov2=hashing.autov2(file_digest))
        lines += [f"file_sha256     {file_digest}", f"AutoV2          {hashing.autov2(file_digest)}"]
    if args.autov1:
        data["autov1"] = hashing.autov1(path)
        lines.append(f"AutoV1          {data['autov1']}")
    emit(args, "\n".join(lines), data)
    return ExitCode.OK


def cmd_strip(args: argparse.Namespace) -> int:
    from iga_core.checkpoint import stamp

    result = stamp.strip(args.checkpoint, out=args.out, overwrite=args.force)
    human = {
        "unchanged": f"{_safe(result.path)}: no embedded recipe; nothing changed",
        "in_place": f"{_safe(result.path)}: recipe removed (header rewritten in place)",
        "rewrite": f"{_safe(result.path)}: recipe removed (file rewritten)",
        "copy": f"{_safe(result.path)}: stripped copy written",
    }[result.mode]
    emit(args, human, {"ok": True, "path": result.path, "mode": result.mode, "removed": result.removed})
    return ExitCode.OK


def cmd_extract(args: argparse.Namespace) -> int:
    from iga_core.checkpoint import stamp
    from iga_core.checkpoint.atomic import dumps_pretty

    if args.output == "-":
        recipe = stamp.read_embedded(args.checkpoint)
        if recipe is None:
            raise stamp.NoRecipe(f"{Path(args.checkpoint).name} has no embedded recipe", "stamp one with `iga stamp`")
        sys.stdout.write(json_text(dumps_pretty(recipe)))
        return ExitCode.OK
    target = stamp.extract(args.checkpoint, args.output, overwrite=args.force)
    emit(args, f"recipe written to {_safe(str(target))}", {"ok": True, "path": str(target)})
    return ExitCode.OK


# ---- helpers ----


def _recipe_lines(src) -> list[str]:
    if src.kind == "none":
        return ["recipe: none (stamp one with `iga stamp`, or write a sidecar with `iga stamp --sidecar`)",
                *[f"  problem: {_safe(p, 200)}" for p in src.problems]]  # fmt: skip
    lines = [f"recipe: {src.kind} ({_safe(src.path or '')}), hashes {src.hash_status}"]
    if not src.valid:
        lines.append("  INVALID: the guard does not use it (fix it, then `iga validate`)")
    else:
        # the document as found, shown as it is (valid: every field read here is there); reading it spares
        # `inspect` the typed model, which only the guard and the tools that change a recipe need
        r = src.document
        lines.append(f"  model_id {_safe(r['model_id'], 80)!s}, schema {_safe(r['iga_version'])}")
        lines.append(f"  sampler {_safe(r['sampler']['name'])} / schedule {_safe(r['scheduler']['name'])}, "
                     f"steps {_range(r['steps'])}, cfg {_range(r['cfg'])}")  # fmt: skip
    lines.append(f"  weights hash {src.weights.status}, tensor index {src.tensor_index.status}, "
                 f"metadata hash {src.metadata.status}")
    lines += [f"  problem: {_safe(p, 200)}" for p in src.problems]
    return lines


def _range(r: dict) -> str:
    return f"{r['default']} ({r.get('min')}-{r.get('max')})"


def _stat_size(path: Path) -> int:
    import os

    from iga_core.checkpoint.safetensors_io import open_for_read

    with open_for_read(path) as fh:  # missing, a folder, a FIFO: the typed error says which
        return os.fstat(fh.fileno()).st_size
