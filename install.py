"""Installs sd-webui-iga's runtime dependencies into the WebUI's Python (A1111 v1.10.1 and Forge).

The host runs this file as `python install.py` at every launch unless `--skip-install` is given. Stdlib
only: the requirements come from pyproject.toml ([project].dependencies; tomllib, or a small regex on
Python 3.10), and whatever is missing or older than its minimum is installed through the host's own
`launch.run_pip`. Packages the host pins for itself (gradio, pydantic, torch, ...) are never installed or
upgraded from here, and a version above our upper bound is reported, never downgraded.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: the host owns these; changing them from an extension breaks the WebUI
HOST_OWNED = frozenset({"gradio", "gradio-client", "pydantic", "fastapi", "torch", "torchvision", "xformers",
                        "transformers", "diffusers", "huggingface-hub"})
_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*(;.*)?$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(pyproject: Path = HERE / "pyproject.toml") -> list[str]:
    text = pyproject.read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python 3.10: the [project] dependencies array, read with a regex
        section = re.search(r"^\[project\]\s*$(.*?)(?=^\[)", text + "\n[", re.S | re.M)
        block = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", section.group(1), re.S | re.M) if section else None
        return re.findall(r"[\"']([^\"']+)[\"']", block.group(1)) if block else []
    return list(tomllib.loads(text).get("project", {}).get("dependencies", []))


def version_tuple(text: str) -> tuple[int, ...]:
    """The numeric release part of a version ("1.26.4" -> (1, 26, 4); "2.0.0rc1" -> (2, 0, 0))."""
    parts = []
    for piece in text.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
        if digits.group() != piece:
            break
    return tuple(parts)


def parse(requirement: str) -> tuple[str, list[tuple[str, tuple[int, ...]]]]:
    m = _REQ.match(requirement)
    if not m:
        raise ValueError(f"unreadable requirement {requirement!r}")
    specs = []
    for spec in filter(None, (s.strip() for s in m.group(3).split(","))):
        op = re.match(r"(==|>=|<=|~=|!=|<|>)\s*(.+)", spec)
        if op:
            specs.append((op.group(1), version_tuple(op.group(2))))
    return m.group(1), specs


def installed_version(name: str) -> str | None:
    for candidate in (name, _norm(name), name.lower()):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None


#: operator -> test on (installed, wanted) that means "too old: install" / "too new: leave it"
_TOO_OLD = {">=": lambda h, w: h < w, "~=": lambda h, w: h < w, ">": lambda h, w: h <= w, "==": lambda h, w: h != w}
_TOO_NEW = {"<": lambda h, w: h >= w, "<=": lambda h, w: h > w}


def plan(requirement: str, have: str | None) -> str:
    """"ok", "install" (missing or too old) or "too-new" (above the upper bound: report only)."""
    _, specs = parse(requirement)
    if have is None:
        return "install"
    v = version_tuple(have)
    for op, want in specs:
        head = v[: len(want)] + (0,) * max(0, len(want) - len(v))  # compare on the spec's precision
        if op in _TOO_OLD and _TOO_OLD[op](head, want):
            return "install"
        if op in _TOO_NEW and _TOO_NEW[op](head, want):
            return "too-new"
    return "ok"


def main(launch=None) -> int:
    if launch is None:
        import launch  # the host's launch module (PYTHONPATH is the WebUI root when this runs)
    if getattr(getattr(launch, "args", None), "skip_install", False):
        return 0
    for requirement in read_requirements():
        name, _ = parse(requirement)
        if _norm(name) in HOST_OWNED:
            continue
        have = installed_version(name)
        action = plan(requirement, have)
        if action == "install":
            launch.run_pip(f'install "{requirement}"', f"sd-webui-iga requirement: {requirement}")
        elif action == "too-new":
            print(f"[IGA] {name} {have} is newer than sd-webui-iga was tested with ({requirement}); "
                  "leaving it as the host installed it", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
