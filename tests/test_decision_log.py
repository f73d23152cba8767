"""The decision log: entries from audit records, append / read / rotate, concurrent writers, corrupt lines,
JSON and CSV export, and the `iga audit` commands."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from iga_core.audit.record import build_record
from iga_core.cli import main
from iga_core.decision_log import (
    CSV_COLUMNS,
    MAX_ENTRY_BYTES,
    DecisionLog,
    DecisionLogInvalid,
    DecisionLogIOError,
    entry_from_record,
    parse_since,
)
from iga_core.errors import ExitCode
from iga_core.guard import GuardPolicy, GuardRequest, evaluate
from iga_core.recipe import Recipe

ROOT = Path(__file__).resolve().parents[1]
RECIPE = Recipe.from_dict(json.loads((ROOT / "metadata_examples" / "sdxl-lightning-4step.iga.json").read_text()))
HIGH_CFG = GuardRequest(sampler="Euler", schedule="SGM Uniform", steps=4, cfg=3.0, width=1024, height=1024)
NATIVE = GuardRequest(sampler="Euler", schedule="SGM Uniform", steps=4, cfg=1.0, width=1024, height=1024)


def record(request=HIGH_CFG, mode="standard", overrides=(), reasons=None, when=None, failure=None) -> dict:
    policy = GuardPolicy(mode=mode, overrides=frozenset(overrides), override_reasons=reasons or {})
    verdict = evaluate(RECIPE, request, policy) if mode != "off" else None
    return build_record(params={**request.to_dict(), "seed": 3}, recipe=RECIPE, verdict=verdict, preset="Lightning",
                        policy=policy, host={"name": "a1111", "version": "v1.10.1"},
                        checkpoint={"name": "lightning.safetensors", "weights_sha256": "aa" * 32},
                        source="embedded", now=when, failure=failure)


def entry(i: int = 0, **kw) -> dict:
    e = entry_from_record(record(**kw), output=f"outputs/{i:05}.png")
    assert e is not None
    return e


@pytest.mark.parametrize(
    ("kw", "kind"),
    [({}, "warn"), ({"mode": "strict"}, "block"), ({"mode": "audit"}, "audit"),
     ({"overrides": ["IGA-S002"], "reasons": {"IGA-S002": "more contrast"}}, "override"),
     ({"failure": "boom"}, "error"), ({"request": NATIVE}, None), ({"mode": "off"}, None)],
)
def test_entries_from_records_log_only_decisions_worth_auditing(kw, kind):
    e = entry_from_record(record(**kw), output="out.png")
    if kind is None:
        assert e is None
        return
    assert e["kind"] == kind and e["output"] == "out.png"
    assert e["recipe"]["digest"] and e["checkpoint"]["name"] == "lightning.safetensors"
    assert e["request"]["cfg"] == 3.0
    if kind == "override":
        assert e["overrides"] == [{"rule_id": "IGA-S002", "reason": "more contrast"}]
        assert [f["rule_id"] for f in e["findings"] if f["overridden"]] == ["IGA-S002"]


def test_append_and_read_in_order(tmp_path):
    log = DecisionLog(tmp_path / "logs" / "decisions.jsonl")
    for i in range(5):
        log.append(entry(i))
    got = log.read()
    assert got.skipped == 0 and [e["output"] for e in got.entries] == [f"outputs/{i:05}.png" for i in range(5)]
    assert (tmp_path / "logs" / "decisions.jsonl").read_bytes().count(b"\n") == 5
    assert log.tail(2).entries == got.entries[-2:]


def test_since_filters_by_time(tmp_path):
    log = DecisionLog(tmp_path / "d.jsonl")
    now = datetime.now(timezone.utc)
    log.append(entry_from_record(record(when=now - timedelta(days=30))))
    log.append(entry_from_record(record(when=now - timedelta(hours=2))))
    log.append(entry_from_record(record(mode="strict", when=now)))
    assert len(log.read().entries) == 3
    assert [e["kind"] for e in log.read(since="1d").entries] == ["warn", "block"]
    assert [e["kind"] for e in log.read(since="30m").entries] == ["block"]
    assert len(log.read(since=(now - timedelta(days=60)).date().isoformat()).entries) == 3
    assert len(log.read(since=now - timedelta(hours=3)).entries) == 2
    fixed = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)
    assert parse_since("2w", now=fixed) == fixed - timedelta(weeks=2)
    assert parse_since("2026-11-01T00:00:00Z") == datetime(2026, 11, 1, tzinfo=timezone.utc)
    with pytest.raises(DecisionLogInvalid):
        parse_since("last tuesday")


def test_rotation_caps_size_and_keeps_the_newest(tmp_path):
    log = DecisionLog(tmp_path / "d.jsonl", max_bytes=8 * 1024, backups=2)
    for i in range(200):
        log.append(entry(i))
    files = log.files()
    assert [p.name for p in files] == ["d.jsonl.2", "d.jsonl.1", "d.jsonl"]
    assert all(p.stat().st_size <= 8 * 1024 for p in files)
    got = log.read()
    outputs = [int(e["output"][8:13]) for e in got.entries]
    assert got.skipped == 0 and outputs[-1] == 199
    assert outputs == list(range(outputs[0], 200))  # contiguous: nothing lost inside the kept window
    assert not (tmp_path / "d.jsonl.3").exists()


def test_rotation_without_backups_starts_over(tmp_path):
    log = DecisionLog(tmp_path / "d.jsonl", max_bytes=4096, backups=0)
    for i in range(50):
        log.append(entry(i))
    assert [p.name for p in log.files()] == ["d.jsonl"]
    assert log.read().entries[-1]["output"] == "outputs/00049.png"


def _writer(path: str, worker: int, count: int, max_bytes: int, backups: int) -> None:
    log = DecisionLog(path, max_bytes=max_bytes, backups=backups)
    base = entry()
    for i in range(count):
        log.append({**base, "output": f"w{worker}-{i}"})


@pytest.mark.parametrize(("max_bytes", "backups"), [(10 * 1024 * 1024, 1), (16 * 1024, 1000)])
def test_concurrent_writers_never_tear_or_lose_lines(tmp_path, max_bytes, backups):
    path = str(tmp_path / "d.jsonl")
    ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 150, max_bytes, backups)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    got = DecisionLog(path, max_bytes=max_bytes, backups=backups).read()
    assert got.skipped == 0
    assert sorted(e["output"] for e in got.entries) == sorted(f"w{w}-{i}" for w in range(4) for i in range(150))
    for w in range(4):  # each writer's own lines keep their order
        mine = [int(e["output"].split("-")[1]) for e in got.entries if e["output"].startswith(f"w{w}-")]
        assert mine == sorted(mine)


def test_corrupt_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "d.jsonl"
    log = DecisionLog(path)
    log.append(entry(1))
    with path.open("ab") as fh:
        fh.write(b"{not json\n")
        fh.write(b"[1, 2, 3]\n")
        fh.write(b'{"time": "2026-01-01T00:00:00Z"}\n')  # no kind
        fh.write(b'{"time": "yesterday", "kind": "warn"}\n')
        fh.write(b"\n   \n")  # blank lines are not entries and not errors
        fh.write(b'{"kind": "warn", "time": "2026-01-01T00:00:00Z", "x": "' + b"y" * (MAX_ENTRY_BYTES + 10) + b'"}\n')
        fh.write(b'{"kind": "block", "time": "2026-01-0')  # a crash mid-write
    log.append(entry(2))  # starts on a fresh line instead of extending the torn one
    got = log.read()
    assert got.skipped == 6
    assert [e["output"] for e in got.entries] == ["outputs/00001.png", "outputs/00002.png"]


@pytest.mark.parametrize(
    "bad",
    [{"time": "2026-01-01T00:00:00Z"}, {"kind": "gossip"}, {"kind": "warn", "cfg": float("nan")},
     {"kind": "warn", "blob": object()}, {"kind": "warn", "big": "x" * (MAX_ENTRY_BYTES + 1)}, ["kind", "warn"]],
)
def test_bad_entries_are_refused_and_the_log_is_untouched(tmp_path, bad):
    path = tmp_path / "d.jsonl"
    log = DecisionLog(path)
    log.append(entry(1))
    before = path.read_bytes()
    with pytest.raises(DecisionLogInvalid):
        log.append(bad)
    assert path.read_bytes() == before


def test_unwritable_log_is_a_typed_io_error(tmp_path):
    (tmp_path / "d.jsonl").mkdir()
    with pytest.raises(DecisionLogIOError):
        DecisionLog(tmp_path / "d.jsonl").append(entry())


def test_export_json_and_csv(tmp_path):
    log = DecisionLog(tmp_path / "d.jsonl")
    log.append(entry(1, overrides=["IGA-S002"], reasons={"IGA-S002": "=cmd|' /C calc'!A0"}))
    log.append(entry(2, mode="strict"))
    as_json = json.loads(log.export("json"))
    assert as_json == log.read().entries
    rows = list(csv.DictReader(io.StringIO(log.export("csv"))))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == 2
    assert rows[0]["kind"] == "override" and rows[0]["overridden"] == "IGA-S002"
    assert rows[0]["overrides"] == "IGA-S002: =cmd|' /C calc'!A0"  # starts with "I": not a formula
    assert rows[1]["kind"] == "block" and rows[1]["blocking"] == "IGA-S002" and rows[1]["cfg"] == "3"
    log.append({"kind": "warn", "preset": "=1+1", "request": {"cfg": -2.5}})
    last = list(csv.DictReader(io.StringIO(log.export("csv"))))[-1]
    assert last["preset"] == "'=1+1" and last["cfg"] == "-2.5"
    with pytest.raises(DecisionLogInvalid):
        log.export("xml")


# ------------------------------------------------------------------------------------------------ the CLI


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_audit_export_and_tail_commands(tmp_path, capsys, monkeypatch):
    path = tmp_path / "d.jsonl"
    log = DecisionLog(path)
    now = datetime.now(timezone.utc)
    log.append(entry_from_record(record(when=now - timedelta(days=3)), output="old.png"))
    log.append(entry_from_record(record(mode="strict", when=now)))
    log.append(entry_from_record(record(overrides=["IGA-S002"], reasons={"IGA-S002": "contrast"}, when=now),
                                 output="new.png"))
    with path.open("ab") as fh:
        fh.write(b"garbage\n")

    code, out, err = _run(capsys, "audit", "export", "--log", path)
    assert code == 0 and len(json.loads(out)) == 3 and "skipped 1 unreadable line" in err
    code, out, _ = _run(capsys, "audit", "export", "--log", path, "--since", "1d", "--format", "csv")
    assert code == 0 and [r["kind"] for r in csv.DictReader(io.StringIO(out))] == ["block", "override"]
    target = tmp_path / "export.csv"
    code, _, err = _run(capsys, "audit", "export", "--log", path, "--format", "csv", "-o", target)
    assert code == 0 and "exported 3 decisions" in err
    assert target.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)

    monkeypatch.setenv("IGA_DECISION_LOG", str(path))
    code, out, _ = _run(capsys, "audit", "tail", "-n", "2")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 2
    assert "block" in lines[0] and "IGA-S002 (cfg)" in lines[0]
    assert "[override IGA-S002: contrast]" in lines[1] and lines[1].endswith("-> new.png")
    code, out, _ = _run(capsys, "audit", "tail", "-n", "1", "--json")
    assert json.loads(out)[0]["output"] == "new.png"


def test_audit_command_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("IGA_DECISION_LOG", raising=False)
    monkeypatch.setenv("IGA_DATA_DIR", str(tmp_path / "empty"))
    code, _, err = _run(capsys, "audit", "export")  # the default place (the one the WebUI writes) is empty
    assert code == ExitCode.UNAVAILABLE and "no decision log at" in err
    assert str(tmp_path / "empty" / "decisions.jsonl") in err
    code, _, err = _run(capsys, "audit", "export", "--log", tmp_path / "missing.jsonl")
    assert code == ExitCode.UNAVAILABLE and "no decision log at" in err
    monkeypatch.setenv("IGA_DATA_DIR", str(tmp_path))
    DecisionLog(tmp_path / "decisions.jsonl").append(entry())
    code, _, err = _run(capsys, "audit", "export", "--since", "whenever")
    assert code == ExitCode.USAGE and "--since" in err
    code, _, err = _run(capsys, "audit", "export", "-o", tmp_path / "no" / "such" / "dir.json")
    assert code == ExitCode.UNAVAILABLE and "cannot write" in err and "Traceback" not in err
