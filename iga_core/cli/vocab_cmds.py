"""`iga vocab`: the sampler and schedule names iga knows, per dialect, and what a given name means.

    iga vocab [--dialect D] [--kind sampler|schedule] [--json]
    iga vocab resolve NAME [--schedule S] [--json]
    iga vocab diffusers SCHEDULER_CONFIG.json [--json]

`resolve` exits 1 for a name no dialect uses and lists the closest known names; it never guesses.
"""

from __future__ import annotations

import argparse

from iga_core import vocab
from iga_core.cli import emit
from iga_core.errors import ExitCode, IgaInvalid

DIALECT_TITLES = vocab.DIALECT_TITLES
#: the widest line a table may print (a terminal of 100 columns shows it unwrapped)
TABLE_WIDTH = 100
#: without --dialect, the names are shown in two tables: the hosts' (what a user picks; A1111 and Forge share
#: a column, their names being the same but for Forge's additions), then the libraries'
HOST_DIALECTS = ("a1111+forge", "comfyui")
LIBRARY_DIALECTS = ("kdiffusion", "diffusers")
_GAP = "  "
_MIN_COLUMN = 12


def register(sub) -> None:
    p = sub.add_parser(
        "vocab",
        help="list sampler and schedule names per dialect, or resolve a name",
        description="List the sampler and schedule names iga understands in each dialect (A1111, Forge, "
        "ComfyUI, SwarmUI, k-diffusion, diffusers) with their aliases, or show what one name means with "
        "`iga vocab resolve NAME`. Names match case-insensitively; unknown names are never guessed.",
    )
    p.add_argument("--dialect", choices=vocab.DIALECTS, help="only this dialect's names (default: all)")
    p.add_argument("--kind", choices=vocab.KINDS, help="only samplers or only schedules (default: both)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_list)
    vsub = p.add_subparsers(dest="vocab_command", metavar="resolve")
    r = vsub.add_parser(
        "resolve",
        help="show what a sampler or schedule name means",
        description="Resolve a sampler or schedule name from any dialect: its identity, its name in every "
        "dialect and, for samplers, the schedule it runs with (combined names such as 'DPM++ 2M Karras' "
        "are split; 'Automatic' becomes the sampler's default). Exit 1 when the name is unknown.",
    )
    r.add_argument("name", help="a sampler or schedule name, e.g. 'k_dpmpp_2m', 'DPM++ 2M Karras', 'sgm_uniform'")
    r.add_argument("--schedule", help="with a sampler name: the schedule given with it (e.g. 'Automatic')")
    r.add_argument("--dialect", choices=vocab.DIALECTS, default=argparse.SUPPRESS,
                   help="read the name as this dialect writes and runs it (default: A1111 / Forge); e.g. ComfyUI's "
                        "ddim runs as Euler on the schedule's sigmas")
    r.add_argument("--kind", choices=vocab.KINDS, default=argparse.SUPPRESS, help="only look among samplers or schedules")
    r.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the result as JSON")
    r.set_defaults(func=cmd_resolve)
    d = vsub.add_parser(
        "diffusers",
        help="what a diffusers scheduler_config.json means in the hosts' vocabulary",
        description="Read a diffusers scheduler_config.json (its _class_name and flags such as use_karras_sigmas, "
        "algorithm_type, timestep_spacing) and show the sampler, schedule type and spacing it stands for, "
        "with their A1111/Forge/ComfyUI names. Exit 1 when no host sampler matches, 4 when unreadable.",
    )
    d.add_argument("config", help="path to scheduler_config.json (or any JSON object with _class_name)")
    d.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the result as JSON")
    d.set_defaults(func=cmd_diffusers)


def _rows(kind: str, dialect: str | None) -> list[dict]:
    infos = vocab.all_samplers() if kind == "sampler" else vocab.all_schedules()
    rows = []
    for info in infos:
        if dialect is not None and not info.names.get(dialect):
            continue
        row = {"kind": kind, "id": info.id, "label": info.label}
        if dialect is None:
            row["names"] = {d: info.names.get(d) for d in vocab.DIALECTS}
            row["aliases"] = sorted({a for v in info.aliases.values() for a in v})
        else:
            row["name"] = info.names[dialect]
            row["aliases"] = list(info.aliases.get(dialect, ()))
        if kind == "sampler":
            sem = info.in_dialect(dialect)  # how this dialect runs the name (None: A1111 / Forge)
            row.update(mode=sem.mode, default_schedule=info.default_schedule, timestep_based=sem.timestep_based,
                       eta=sem.eta, runs_as=sem.runs_as)
            if dialect in (None, "diffusers") and info.names.get("diffusers"):
                # one class is several samplers (DPMSolverMultistepScheduler): show the distinguishing flags
                cls, flags = vocab.to_diffusers(info.id) or (info.names["diffusers"], {})
                shown = f"{cls}({', '.join(f'{k}={v}' for k, v in flags.items())})" if flags else cls
                row["diffusers_config"] = {"class": cls, "config": flags}
                if dialect is None:
                    row["names"] = {**row["names"], "diffusers": shown}
                else:
                    row["name"] = shown
        rows.append(row)
    return rows


def _table(rows: list[dict], dialect: str | None, dialects: tuple[str, ...] = ()) -> str:
    """One table: without `dialect`, a column per dialect in `dialects`; with it, its names and aliases."""
    shrink_first: tuple[int, ...] = ()
    if dialect is None:
        head = ["id", *(" / ".join(DIALECT_TITLES[p] for p in d.split("+")) for d in dialects)]
        body = [[r["id"], *(_names(r, d) for d in dialects)] for r in rows]
    else:
        head = ["id", DIALECT_TITLES[dialect], "aliases"]
        body = [[r["id"], r["name"], ", ".join(r["aliases"]) or "—"] for r in rows]
        shrink_first = (2,)  # a list of aliases wraps at its commas; a name had better stay whole
    if rows and rows[0]["kind"] == "sampler" and (dialect is not None or dialects == HOST_DIALECTS):
        head.append("Automatic =")
        for line, r in zip(body, rows, strict=True):
            line.append("(ignores schedule)" if r["timestep_based"] else r["default_schedule"])
    return render_table(head, body, shrink_first=shrink_first)


def _names(row: dict, dialects: str) -> str:
    """The row's name in "a1111+forge": one name where they agree, "A / F" where they differ."""
    names = [row["names"][d] or "—" for d in dialects.split("+")]
    return names[0] if len(set(names)) == 1 else " / ".join(names)


def _wrap(text: str, width: int) -> list[str]:
    """`text` in lines of at most `width`: broken at spaces and after "(" (a diffusers config's flags), a
    word longer than the line cut where it must."""
    words: list[tuple[str, bool]] = []  # (word, a space follows it)
    for word in text.split(" "):
        while "(" in word[:-1]:
            head, _, word = word.partition("(")
            words.append((head + "(", False))
        words.append((word, True))
    lines: list[str] = []
    line, spaced = "", False
    for word, space_after in words:
        sep = " " if line and spaced else ""
        if line and len(line) + len(sep) + len(word) > width:
            lines.append(line)
            line, sep = "", ""
        while len(line) + len(sep) + len(word) > width:
            room = width - len(line) - len(sep)
            lines.append(line + sep + word[:room])
            line, sep, word = "", "", word[room:]
        line += sep + word
        spaced = space_after
    return [*lines, line] if line or not lines else lines


def render_table(head: list[str], body: list[list[str]], width: int = TABLE_WIDTH,
                 shrink_first: tuple[int, ...] = ()) -> str:
    """Columns padded to fit; when the table would be wider than `width`, the widest columns (never the
    first, the id; the `shrink_first` ones before the others) are narrowed and their cells wrapped onto
    continuation lines, so no line is longer."""
    rows = [[str(c) for c in line] for line in [head, *body]]
    widths = [max(len(c) for c in col) for col in zip(*rows, strict=True)]
    while sum(widths) + len(_GAP) * (len(widths) - 1) > width:
        pool = [i for i in shrink_first if widths[i] > 2 * _MIN_COLUMN] or range(1, len(widths))
        widest = max(pool, key=lambda i: widths[i])
        if widths[widest] <= _MIN_COLUMN:
            break  # the columns cannot get narrower: a table of this many columns cannot fit
        widths[widest] -= 1
    lines = []
    for line in rows:
        cells = [_wrap(c, w) for c, w in zip(line, widths, strict=True)]
        for k in range(max(len(c) for c in cells)):
            parts = [(c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)]
            lines.append(_GAP.join(parts).rstrip())
    return "\n".join(lines)


def cmd_list(args) -> int:
    kinds = [args.kind] if args.kind else list(vocab.KINDS)
    data = {k + "s": _rows(k, args.dialect) for k in kinds}
    where = f" ({DIALECT_TITLES[args.dialect]})" if args.dialect else ""
    parts = []
    for k in kinds:
        rows = data[k + "s"]
        if args.dialect:
            parts.append(f"{k.capitalize()}s{where}: {len(rows)}\n{_table(rows, args.dialect)}")
        else:
            parts.append(f"{k.capitalize()}s: {len(rows)}, names in the hosts\n{_table(rows, None, HOST_DIALECTS)}")
            parts.append(f"{k.capitalize()}s in the libraries\n{_table(rows, None, LIBRARY_DIALECTS)}")
    parts.append("Names match case-insensitively; `iga vocab resolve NAME` shows what one name means.")
    emit(args, "\n\n".join(parts), {"ok": True, "dialect": args.dialect, **data})
    return ExitCode.OK


def _describe(info) -> str:
    names = ", ".join(f"{DIALECT_TITLES[d]}: {info.names[d]}" for d in vocab.DIALECTS if info.names.get(d))
    return f"{info.label} (id {info.id}) — {names or 'no host name'}"


def cmd_resolve(args) -> int:
    kind = getattr(args, "kind", None)
    dialect = getattr(args, "dialect", None)
    found: dict[str, dict] = {}
    human: list[str] = []
    errors: list[vocab.UnknownName] = []
    if kind in (None, "sampler"):
        try:
            sampler, schedule = vocab.normalize(args.name, args.schedule, dialect)
        except vocab.UnknownName as exc:
            if exc.kind != "sampler":
                raise  # an unknown --schedule is the user's error, not a miss
            errors.append(exc)
        else:
            sem = sampler.in_dialect(dialect)
            found["sampler"] = sampler.to_dict()
            found["runs_with_schedule"] = None if schedule is None else schedule.id
            found["runs_as"] = sem.runs_as
            runs = ("ignores the schedule (timestep sampler)" if schedule is None
                    else f"runs with schedule {schedule.label}")
            if sem.runs_as:
                runs += f"; runs as {vocab.lookup('sampler', sem.runs_as).label}"
            eta = "" if sem.eta is None else f", eta {sem.eta:g}"
            where = f" in {DIALECT_TITLES[dialect]}" if dialect else ""
            human.append(f"sampler  {_describe(sampler)}\n         mode {sem.mode}{eta}{where}; {runs}")
    if kind in (None, "schedule") and args.schedule is None:
        try:
            schedule_info = vocab.resolve_schedule(args.name, dialect)
        except vocab.UnknownName as exc:
            errors.append(exc)
        else:
            found["schedule"] = schedule_info.to_dict()
            human.append(f"schedule {_describe(schedule_info)}")
    if not found:
        suggestions = [s for e in errors for s in e.suggestions]
        raise vocab.UnknownName(kind or "sampler or schedule", args.name, list(dict.fromkeys(suggestions))[:5])
    emit(args, "\n".join(human), {"ok": True, "name": args.name, **found})
    return ExitCode.OK


class NotASchedulerConfig(IgaInvalid):
    """The JSON file is not a diffusers scheduler config."""


def cmd_diffusers(args) -> int:
    from iga_core.recipe.files import read_json_file

    config = read_json_file(args.config)
    if not isinstance(config, dict) or not isinstance(config.get("_class_name"), str):
        raise NotASchedulerConfig(f"{args.config} has no \"_class_name\"",
                                  "pass the scheduler/scheduler_config.json of a diffusers model folder")
    found = vocab.describe_diffusers(config["_class_name"], config)
    sampler, schedule, spacing = found.sampler, found.schedule, found.spacing
    runs = "ignores the schedule (timestep sampler)" if schedule is None else f"schedule {_describe(schedule)}"
    human = (f"{config['_class_name']}: sampler {_describe(sampler)}\n  {runs}"
             + (f"\n  timestep spacing {spacing}" if spacing else "")
             + (f"\n  the host sampler needs eta {found.eta:g}" if found.eta is not None else "")
             + "".join(f"\n  differs: {note}" for note in found.notes))
    data = {"ok": True, "class_name": config["_class_name"], "sampler": sampler.to_dict(),
            "schedule": None if schedule is None else schedule.to_dict(), "spacing": spacing,
            "exact": found.exact, "notes": list(found.notes), "eta": found.eta}
    emit(args, human, data)
    return ExitCode.OK
