"""`iga audit export` and `iga audit tail`: read the decision log the WebUI writes.

The log is `decisions.jsonl` in the extension's data folder (rotated files `.1`, `.2`, ... beside it).
`--log` names it; without it, `iga_core.paths.decision_log_path()` (the file the WebUI writes).
Exit codes (`ExitCode`): 0 ok; 2 a bad --since; 4 no log file, unreadable log or unwritable output. Lines that are not
valid entries are skipped and counted on stderr.
"""

from __future__ import annotations

import sys

from iga_core import paths
from iga_core.cli import emit
from iga_core.cli.show import add_full_option, safe
from iga_core.errors import ExitCode, IgaIOError
from iga_core.untrusted_text import json_text, neutralise


class NoDecisionLog(IgaIOError):
    """No decision log was named or found."""


def register(sub) -> None:
    audit = sub.add_parser("audit", help="export or show the guard's decision log (blocks, warnings, overrides)",
                           description="Read the decision log: every block, warning and override the guard made.")
    family = audit.add_subparsers(dest="audit_command", metavar="ACTION")

    p = family.add_parser("export", help="write the log as JSON or CSV",
                          description="Export the decision log (oldest first) as a JSON array or CSV.")
    _log_arg(p)
    p.add_argument("--since", metavar="WHEN", help="only entries from then on: ISO date/time or an age (30m, 12h, 7d, 2w)")
    p.add_argument("--format", choices=("json", "csv"), default="json", help="output format (default: json)")
    p.add_argument("-o", "--output", metavar="OUT", help="write to OUT (atomically) instead of stdout")
    p.set_defaults(func=cmd_export)

    p = family.add_parser("tail", help="show the last decisions",
                          description="Show the last N decisions, one line each (or JSON with --json).")
    _log_arg(p)
    p.add_argument("-n", type=int, default=10, metavar="N", help="how many (default: 10)")
    p.add_argument("--json", action="store_true", help="print the entries as JSON")
    add_full_option(p)
    p.set_defaults(func=cmd_tail)

    audit.set_defaults(func=lambda args: (audit.print_help(), ExitCode.USAGE)[1])


def _log_arg(p) -> None:
    p.add_argument("--log", metavar="PATH", help="the decision log (default: $IGA_DECISION_LOG, else "
                                                 "decisions.jsonl in IGA's data folder)")


def _log(args):
    from iga_core.decision_log import DecisionLog

    path = args.log or str(paths.decision_log_path())
    log = DecisionLog(path)
    if not log.files():
        raise NoDecisionLog(f"no decision log at {path}",
                            "the WebUI creates it at the first block, warning or override (when Settings -> IGA -> "
                            "decision log is on); pass --log PATH or set IGA_DECISION_LOG / IGA_DATA_DIR")
    return log


def _note_skipped(skipped: int) -> None:
    if skipped:
        print(f"iga: skipped {skipped} unreadable line{'s' if skipped != 1 else ''} in the decision log",
              file=sys.stderr)


def cmd_export(args) -> int:
    from iga_core.checkpoint.atomic import AtomicWriteFailed, write_bytes_atomic
    from iga_core.decision_log import DecisionLogIOError, export_entries, parse_since

    since = parse_since(args.since) if args.since else None  # a bad --since is a usage error, found first
    got = _log(args).read(since)
    text = export_entries(got.entries, args.format)
    _note_skipped(got.skipped)
    if not args.output or args.output == "-":
        # JSON keeps its value with risky characters escaped; CSV has no escapes, so a terminal gets it neutralised
        if args.format == "json":
            text = json_text(text)
        elif sys.stdout.isatty():
            text = neutralise(text, lines=True)
        sys.stdout.write(text)
        return ExitCode.OK
    try:
        write_bytes_atomic(args.output, text.encode("utf-8"))
    except AtomicWriteFailed as exc:
        raise DecisionLogIOError(exc.message, "check the folder exists and is writable") from exc
    print(f"exported {len(got.entries)} decision{'s' if len(got.entries) != 1 else ''} to {args.output}",
          file=sys.stderr)
    return ExitCode.OK


def _line(entry: dict) -> str:
    """One decision, one line; every value from the log (names and reasons come from recipes, checkpoints
    and users) shown through `safe`: escapes made visible, long values cut unless --full."""
    findings = entry.get("findings") or []
    rules = ", ".join(f"{f.get('rule_id')} ({f.get('field')})" for f in findings if f.get("severity") != "info")
    checkpoint = (entry.get("checkpoint") or {}).get("name") or "?"
    text = (f"{safe(entry['time'], 40)}  {safe(entry['kind'], 8):<8} {safe(entry.get('mode') or '?', 8):<8} "
            f"{safe(checkpoint, 80)}: {safe(rules or entry.get('summary') or '-', 200)}")  # fmt: skip
    reasons = [f"{o['rule_id']}: {o['reason']}" for o in entry.get("overrides") or [] if o.get("reason")]
    if reasons:
        text += f"  [override {safe('; '.join(reasons), 200)}]"
    if entry.get("output"):
        text += f"  -> {safe(entry['output'], 200)}"
    return text


def cmd_tail(args) -> int:
    got = _log(args).tail(args.n)
    _note_skipped(got.skipped)
    human = "\n".join(_line(e) for e in got.entries) or "no decisions logged"
    emit(args, human, got.entries)
    return ExitCode.OK
