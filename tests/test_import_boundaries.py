"""The layers hold because a test says so, not by convention (docs/architecture.md, "Packages").

- The core's packages have a layer order: a package imports only packages of lower layers (packages of one
  layer are independent of each other), so no cycle and no upward dependency can creep in.
- Each core package has a third-party allow-list: beyond the standard library it may import only what its
  row names. The host (`modules`, `launch`, `modules_forge`, `backend`) and pydantic are in no row.
- In the glue, only the host module(s) import the host's `modules`, and no module hides a failed import
  behind an `except ImportError` fallback: a missing part fails the script's load, loudly.

Imports are read from the AST, so an import inside a function counts like one at the top."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "iga_core"
GLUE = ROOT / "iga_webui"

#: the core's packages (a folder or a single module under iga_core/), lowest layer first
LAYERS: list[tuple[str, ...]] = [
    ("errors", "lazy", "records"),  # and iga_core/__init__ (__version__)
    ("paths", "untrusted_text", "untrusted_files"),
    ("vocab",),
    ("schedules",),
    ("recipe",),
    ("checkpoint",),
    ("guard", "reconstruct"),
    ("presets",),
    ("autoconfig", "compose"),
    ("audit", "decision_log", "script_args"),
    ("http_api", "eval", "ui"),
    ("cli",),
    ("__main__",),
]
#: third-party top-level modules each core package may import (the standard library is always allowed)
THIRD_PARTY: dict[str, set[str]] = {
    "untrusted_files": {"yaml"},  # YAML side files (kohya / LDM configs), read with the safe loader
    "schedules": {"numpy"},
    "recipe": {"jsonschema", "rfc8785"},
    "reconstruct": {"yaml"},
    "audit": {"jsonschema", "piexif", "PIL"},
    "eval": {"numpy", "PIL", "torch", "diffusers", "matplotlib", "scipy", "lpips", "safetensors"},  # only eval may import torch; safetensors.torch for its trained weights
    "ui": {"gradio", "gradio_client"},  # only the ui may import gradio
}
#: glue modules that may import the host's `modules`: the door to the host, what reads the host's own
#: code at run time (the executed schedule, the API's methods it wraps to see the names sent), and the probe
#: that reads the host's version module before the door loads (an unknown host must be named, not crash
#: in the door's imports); the fork glue in iga_webui/forks/ goes through the door like everything else
HOST_MODULES = {"host.py", "host_run.py", "sent_names.py", "host_probe.py"}
HOST = {"modules", "modules_forge", "launch", "backend"}

LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _imports(path: Path):
    """(top-level module, full dotted name, line) for every absolute import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "iga_core":  # `from iga_core import vocab` names a package
                for alias in node.names:
                    yield "iga_core", f"iga_core.{alias.name}", node.lineno
            else:
                yield node.module.split(".")[0], node.module, node.lineno


def _package(path: Path) -> str:
    parts = path.relative_to(CORE).parts
    return parts[0] if len(parts) > 1 else path.stem


def _core_files():
    return sorted(CORE.rglob("*.py"))


def _violations(path: Path) -> list[str]:
    own = _package(path)
    bad = []
    for top, dotted, line in _imports(path):
        if top == "iga_core":
            target = dotted.split(".")[1] if dotted.count(".") else ""
            if target in ("", "__version__", own) or target not in LAYER_OF:
                continue  # iga_core/__init__ (the version) and the package's own modules
            if LAYER_OF[target] >= LAYER_OF[own]:
                bad.append(f"line {line}: {own} (layer {LAYER_OF[own]}) imports {dotted} (layer {LAYER_OF[target]})")
        elif top not in STDLIB and top not in THIRD_PARTY.get(own, set()):
            bad.append(f"line {line}: {own} imports {top!r}, which is not in its allow-list")
    return bad


def test_every_core_package_has_a_layer():
    packages = {_package(p) for p in _core_files()} - {"__init__"}
    assert packages == set(LAYER_OF), (packages - set(LAYER_OF), set(LAYER_OF) - packages)
    assert set(THIRD_PARTY) <= set(LAYER_OF)


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_layers_and_third_party_allow_list(path: Path):
    bad = _violations(path)
    assert not bad, f"{path.relative_to(ROOT)}: " + "; ".join(bad)


@pytest.mark.parametrize("path", sorted(GLUE.rglob("*.py")), ids=lambda p: str(p.relative_to(GLUE)))
def test_only_the_host_modules_import_the_host(path: Path):
    host = [f"line {line}: {dotted}" for top, dotted, line in _imports(path) if top in HOST]
    if path.relative_to(GLUE).as_posix() in HOST_MODULES:
        return
    assert not host, f"{path.name} imports the host directly ({'; '.join(host)}); go through iga_webui/host.py"


@pytest.mark.parametrize("path", [*sorted(GLUE.rglob("*.py")), ROOT / "scripts" / "iga.py"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_error_fallbacks_in_the_glue(path: Path):
    """A part that cannot be imported must fail the load with the host's traceback, not hide a feature."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    handlers = []
    for block in (n for n in ast.walk(tree) if isinstance(n, ast.Try)):
        guarded = any(isinstance(n, (ast.Import, ast.ImportFrom)) for stmt in block.body for n in ast.walk(stmt))
        for handler in block.handlers:
            caught = {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)} if handler.type else set()
            if guarded and caught & {"ImportError", "ModuleNotFoundError"}:
                handlers.append(handler.lineno)
    assert handlers == [], f"{path.name}: `except ImportError` around an import at line(s) {handlers}"


def test_the_checker_catches_violations(tmp_path: Path, monkeypatch):
    guard = CORE / "guard"
    fake = tmp_path / "x.py"
    fake.write_text("def f():\n    from modules import shared\n    import gradio as gr\n    from iga_core import ui\n")
    monkeypatch.setattr(sys.modules[__name__], "_package", lambda path: "guard")
    found = _violations(fake)
    assert len(found) == 3 and "ui (layer" in found[2] and guard.is_dir()
    fake.write_text("try:\n    import ui_wiring\nexcept ImportError:\n    pass\n")
    with pytest.raises(AssertionError):
        test_no_import_error_fallbacks_in_the_glue(fake)
