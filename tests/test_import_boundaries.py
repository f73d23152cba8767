"""The core stays host-free: no WebUI imports anywhere in iga_core, gradio only in iga_core/ui,
torch (and the heavy eval stack) only in iga_core/eval. Checked on the AST, so lazy imports inside
functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "iga_core"

HOST = {"modules", "launch", "modules_forge", "backend"}
RULES = {
    # top-level module name -> subpackage of iga_core allowed to import it (None: nowhere)
    **{name: None for name in HOST},
    "gradio": "ui",
    "torch": "eval",
    "diffusers": "eval",
    "k_diffusion": "eval",
    "matplotlib": "eval",
    "pydantic": None,  # A1111 pins pydantic 1, Forge pydantic 2: the core uses plain dataclasses
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def _core_files():
    return sorted(CORE.rglob("*.py"))


def test_core_has_files():
    assert len(_core_files()) > 3


@pytest.mark.parametrize("path", _core_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_import_boundaries(path: Path):
    sub = path.relative_to(CORE).parts[0] if len(path.relative_to(CORE).parts) > 1 else ""
    bad = []
    for name, line in _imports(path):
        if name in RULES and RULES[name] != sub:
            where = f"only iga_core/{RULES[name]}" if RULES[name] else "nowhere in iga_core"
            bad.append(f"line {line}: imports {name!r}, allowed {where}")
    assert not bad, f"{path.relative_to(ROOT)}: " + "; ".join(bad)


def test_the_checker_catches_a_violation(tmp_path: Path):
    bad = tmp_path / "x.py"
    bad.write_text("def f():\n    from modules import shared\n    import gradio as gr\n")
    assert {n for n, _ in _imports(bad)} == {"modules", "gradio"}
