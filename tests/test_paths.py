"""One lookup for IGA's own folders, so the CLI reads what the WebUI wrote."""

from __future__ import annotations

from pathlib import Path

from iga_core import paths


def test_environment_overrides_and_derived_paths(tmp_path, monkeypatch):
    for name in ("IGA_REGISTRY", "IGA_DECISION_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IGA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))
    assert paths.data_dir() == tmp_path / "data"
    assert paths.cache_dir() == tmp_path / "cache"
    assert paths.registry_dir() == tmp_path / "data" / "registry"
    assert paths.decision_log_path() == tmp_path / "data" / "decisions.jsonl"
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "reg"))
    monkeypatch.setenv("IGA_DECISION_LOG", str(tmp_path / "log.jsonl"))
    assert paths.registry_dir() == tmp_path / "reg"
    assert paths.decision_log_path() == tmp_path / "log.jsonl"


def test_platform_defaults_follow_xdg(tmp_path, monkeypatch):
    for name in ("IGA_DATA_DIR", "IGA_CACHE_DIR", "IGA_REGISTRY", "IGA_DECISION_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if paths.os.name != "nt":
        assert paths.data_dir() == Path(tmp_path / "share" / "iga")
        assert paths.cache_dir() == Path(tmp_path / "cache" / "iga")


def test_audit_cli_reads_the_default_log_without_flags(tmp_path, monkeypatch, capsys):
    from test_decision_log import entry

    from iga_core.cli import main
    from iga_core.decision_log import DecisionLog

    monkeypatch.delenv("IGA_DECISION_LOG", raising=False)
    monkeypatch.setenv("IGA_DATA_DIR", str(tmp_path))
    DecisionLog(paths.decision_log_path()).append(entry(7))
    assert main(["audit", "tail", "--json"]) == 0
    assert "outputs/00007.png" in capsys.readouterr().out
