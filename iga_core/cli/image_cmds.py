"""`iga read-image` and `iga reproduce`: what an image says it was made with, and how to make it again.

Exit codes (`ExitCode`). read-image: 0 read (with or without IGA data); 1 the image's IGA data is damaged;
4 the file cannot be read. reproduce: 0 the parameters pass the guard for --checkpoint (or no checkpoint
given); 3 blocked by the guard; 1 no recipe for the checkpoint or unreadable IGA data; 4 the file cannot be read.
"""

from __future__ import annotations

from pathlib import Path

from iga_core.cli import emit
from iga_core.cli.show import add_full_option, safe
from iga_core.errors import ExitCode, IgaInvalid

INFOTEXT_LINE = 2000  # characters of one infotext line shown (a long prompt is a few hundred)


class ImageHasNoParameters(IgaInvalid):
    """The image carries neither an audit record nor an infotext to reproduce from."""


def register(sub) -> None:
    p = sub.add_parser(
        "read-image", help="show the infotext and IGA audit record of a PNG, JPEG or WebP",
        description="Show an image's generation parameters, its IGA infotext fields and its full audit record. "
                    "Exit 0: read (with or without IGA data); 1: IGA data damaged; 4: unreadable file.")
    p.add_argument("image", help="PNG, JPEG or WebP file")
    p.add_argument("--json", action="store_true", help="print everything as JSON")
    add_full_option(p)
    p.set_defaults(func=cmd_read_image)

    from iga_core.guard.modes import MODES

    p = sub.add_parser(
        "reproduce", help="the exact parameters to make an image again, checked against a checkpoint",
        description="Print the parameters that made IMAGE (from its audit record, else its infotext) and, with "
                    "--checkpoint, whether they pass the guard for that checkpoint now. Exit 0: passes (or no "
                    "checkpoint given); 3: blocked by the guard; 1: no recipe or damaged IGA data; 4: unreadable file.")
    p.add_argument("image", help="PNG, JPEG or WebP file")
    p.add_argument("--checkpoint", metavar="PATH", help="checkpoint to check the parameters against")
    p.add_argument("--mode", choices=MODES, default="standard",
                   help="guard mode for the check (default: standard; the image's recorded overrides apply)")
    p.add_argument("--json", action="store_true", help="print everything as JSON")
    p.set_defaults(func=cmd_reproduce)


# ------------------------------------------------------------------------------------------- read-image


def cmd_read_image(args) -> int:
    from iga_core.audit.image_meta import read_image
    from iga_core.audit.pasteback import paste_info_from_meta

    meta = read_image(Path(args.image))
    info = paste_info_from_meta(meta)
    data = {
        "ok": meta.record_error is None, "image": args.image, "format": meta.format,
        "infotext": meta.infotext, "iga": info.iga.to_dict(), "record": meta.record,
        "record_error": meta.record_error.to_dict() if meta.record_error else None,
        "problems": list(info.problems),
    }
    lines = [f"{safe(args.image)}: {meta.format}"]
    lines.append("infotext:" if meta.infotext else "infotext: none")
    if meta.infotext:
        lines += [f"  {safe(line, INFOTEXT_LINE)}" for line in meta.infotext.splitlines()]
    if info.iga.present:
        iga = info.iga
        lines.append(f"IGA fields: status {safe(iga.outcome)} (mode {safe(iga.mode or '?')}, audit "
                     f"v{safe(iga.version or '?')}){', advanced' if iga.advanced else ''}; preset "
                     f"{safe(iga.preset or '-')}; overrides {safe(' '.join(iga.overrides) or '-')}; recipe "
                     f"{safe(iga.recipe_digest or '-')}")  # fmt: skip
    else:
        lines.append("IGA fields: none")
    lines += _foreign_lines(meta, info, data)
    if meta.record_error is not None:  # there is one, and it is broken: not "none"
        lines.append(f"IGA audit record DAMAGED: {safe(meta.record_error.message, 300)}")
    else:
        lines += _record_lines(meta.record) if meta.record else ["IGA audit record: none"]
    lines += [f"note: {safe(p, 300)}" for p in info.problems if meta.record_error is None or "audit record" not in p]
    emit(args, "\n".join(lines), data)
    return ExitCode.PROBLEM if meta.record_error is not None else ExitCode.OK


def _foreign_lines(meta, info, data: dict) -> list[str]:
    """Another tool's metadata, when the image has no IGA record and no A1111 infotext to show."""
    from iga_core.audit.foreign import ForeignUnreadable, detect_foreign, parameters_json

    if meta.record is not None or (info.params and parameters_json(meta) is None):
        return []
    reader = detect_foreign(meta)
    if reader is None:
        return []
    try:
        found = reader.read(meta)
    except ForeignUnreadable as exc:
        data["foreign"] = {"format": reader.FORMAT, "error": exc.to_dict()}
        return [f"{reader.FORMAT} metadata: {safe(exc.message, 300)}"]
    data["foreign"] = found.to_dict()
    shown = ", ".join(f"{k} {safe(v, 120)}" for k, v in found.fields.items())
    return [f"{found.format} metadata ({safe(found.source, 200)}): seed {found.seed if found.seed is not None else '-'}"
            f"; {shown or 'no parameters'}; checkpoint {safe(found.checkpoint or '-', 200)}"]


def _record_lines(record: dict) -> list[str]:
    """The audit record, every value from the image shown through `safe` (cut to a line unless --full)."""
    guard, params = record["guard"], record["params"]
    ran = record.get("recipe") or {}  # the record's recipe part: digest, source, model_id
    shown = ", ".join(f"{k} {v}" for k, v in params.items() if v is not None and k != "seeds")
    host = f"{record['host']['name']} {record['host'].get('version') or ''}".strip()
    lines = [
        f"IGA audit record (v{safe(record['audit_version'])}, iga {safe(record['iga_version'])}, "
        f"{safe(record['timestamp'])}, {safe(host)})",
        f"  checkpoint: {safe(record['checkpoint'].get('name') or '-')} "
        f"(weights {safe(record['checkpoint'].get('weights_sha256') or '-')})",
        f"  recipe: {safe(ran.get('digest', '-'))} ({safe(ran.get('source', 'none'))})",
        f"  params: {safe(shown, 600)}",
        f"  preset: {safe(record.get('preset') or '-')}",
        f"  guard: {safe(guard['mode'])}, {safe(guard['outcome'])}{', advanced' if guard['advanced'] else ''}"
        + (f"; {safe(guard['summary'], 300)}" if guard["summary"] else ""),
    ]
    for o in guard["overrides"]:
        lines.append(f"  override {safe(o['rule_id'])}" + (f": {safe(o['reason'], 300)}" if o.get("reason") else ""))
    if record.get("failure"):
        lines.append(f"  FAILURE ({safe(record['failure'].get('stage') or 'iga')}): "
                     f"{safe(record['failure']['message'], 300)}")  # fmt: skip
    return lines


# -------------------------------------------------------------------------------------------- reproduce


def _check(checkpoint: str, repro: dict, info, mode: str) -> dict:
    """Guard verdict and recipe comparison for the reproduced request on `checkpoint`."""
    from iga_core.audit.pasteback import compare_to_recipe
    from iga_core.checkpoint.sources import find_recipe
    from iga_core.guard import GuardPolicy, GuardRequest, evaluate

    source = find_recipe(checkpoint, verify="never")
    result = {"checkpoint": checkpoint, "recipe_source": source.kind, "problems": list(source.problems)}
    if source.recipe is None:
        result.update(recipe="none", verdict=None, allowed=None)
        return result
    request = GuardRequest(**repro["request"])
    policy = GuardPolicy(mode=mode, overrides=frozenset(repro["overrides"]), override_reasons=dict(repro["override_reasons"]))
    verdict = evaluate(source.recipe, request, policy)
    result.update(recipe=compare_to_recipe(info, source.recipe), verdict=verdict.to_dict(),
                  allowed=verdict.allowed, message=verdict.message())
    return result


def _reproduction(meta, image: str, checkpoint: str | None):
    """(reproduction dict, PasteInfo or None, problems): from the IGA record or an A1111 infotext, else from
    another tool's metadata (iga_core.audit.foreign), else ImageHasNoParameters."""
    from iga_core.audit.foreign import parameters_json, read_foreign
    from iga_core.audit.pasteback import paste_info_from_meta, reproduction, reproduction_from_foreign

    problems = list(meta.notes)
    if meta.record is None and parameters_json(meta) is not None:  # SwarmUI / Fooocus JSON, never an infotext
        found = read_foreign(meta)
        if found is None:
            raise ImageHasNoParameters(f"{image}'s parameters are JSON from a tool iga does not read",
                                       "iga reads A1111 / Forge infotexts, SwarmUI, Fooocus, ComfyUI, InvokeAI and "
                                       "NovelAI metadata; `iga read-image --json` shows what the image holds")
        return reproduction_from_foreign(found, checkpoint), None, problems
    info = paste_info_from_meta(meta)
    if info.record is not None or info.params:
        return reproduction(info, checkpoint), info, [*problems, *info.problems]
    found = read_foreign(meta)
    if found is None:
        raise ImageHasNoParameters(
            f"{image} has no IGA audit record and no generation parameters",
            "the image was not made by the WebUI or a tool iga reads (SwarmUI, Fooocus, ComfyUI, InvokeAI, "
            "NovelAI), or its metadata was stripped (many sites strip it)",
        )
    return reproduction_from_foreign(found, checkpoint), None, problems


def cmd_reproduce(args) -> int:
    from iga_core.audit.image_meta import read_image

    repro, info, problems = _reproduction(read_image(Path(args.image)), args.image, args.checkpoint)
    data: dict = {"ok": True, "image": args.image, **repro, "problems": problems}
    request = ", ".join(f"{k} {safe(v, 200)}" for k, v in repro["request"].items())
    lines = [f"{safe(args.image)}: parameters from its {safe(repro['from'], 300)}",
             f"  seed {repro['seed'] if repro['seed'] is not None else '-'}; {request}",
             f"  checkpoint {safe(repro['checkpoint'] or '-', 300)}",
             f"  preset {safe(repro['preset'] or '-')}; recorded mode {repro['mode'] or '-'}; "
             f"overrides {' '.join(repro['overrides']) or '-'}; recipe {repro['recipe_digest'] or '-'}"]
    lines += [f"note: {safe(p, 400)}" for p in [*problems, *repro["notes"]]]
    code = ExitCode.OK
    if args.checkpoint:
        check = _check(args.checkpoint, repro, info, args.mode)
        data["check"] = check
        if check["verdict"] is None:
            lines.append(f"{args.checkpoint}: no recipe, so the guard has nothing to check")
            data["ok"], code = False, ExitCode.PROBLEM
        else:
            same = {"same": "the same recipe the image was made with",
                    "different": "a DIFFERENT recipe than the image was made with",
                    "none": "a recipe (the image names none to compare)"}[check["recipe"]]
            lines.append(f"{args.checkpoint}: {check['recipe_source']} recipe, {same}")
            lines.append(f"guard ({args.mode}): {check['message']}")
            if not check["allowed"]:
                data["ok"], code = False, ExitCode.BLOCKED
    emit(args, "\n".join(lines), data)
    return code
