"""Every command block in README.md and docs/*.md runs, and says what it prints (issue #17 item 2).

A fenced block is a command block when its language is `bash`, `sh`, `shell` or `console`, or when it has
none and starts with `$ ` or `iga `. Each one runs in a fresh folder holding a copy of `metadata_examples/`
and the files the examples name (`FIXTURES`, built from tiny deterministic checkpoints), with iga's folders
isolated. The rules (docs/development.md, "Examples in the docs"):

- `console`: each `$ ` line is a command, the lines under it what it prints (stdout, then stderr). An
  expected line matches when it is equal, `…` inside it standing for any text; a line that is only `…`
  stands for any number of lines. A command with no lines under it is run, its output not compared.
- `bash` / `sh`: each line is a command (`&&` chains, `> FILE` redirects stdout).
- Either way a command exits 0 unless its comment says `# exit N`, and never prints a traceback.
- A block that cannot run here (it installs, starts a server, needs a WebUI, minutes or torch) says so in
  its info string: ```` ```bash not-run: starts a server ````. Its `iga` commands are still parsed: an option
  that does not exist fails the test.
- Only `iga …` and `python -m iga_core …` run (in-process); anything else must be in a not-run block.
- A `json` block whose info string names `file=PATH` must hold that file's content.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from iga_core.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND_LANGS = {"bash", "sh", "shell", "console"}
_FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
_EXIT = re.compile(r"#.*\bexit (\d+)\b")


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    extra: str
    body: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def not_run(self) -> str | None:
        m = re.match(r"not-run:\s*(.+)", self.extra)
        return m.group(1).strip() if m else ("" if self.extra.startswith("not-run") else None)

    @property
    def is_command(self) -> bool:
        if self.lang in COMMAND_LANGS:
            return True
        first = next((line for line in self.body.splitlines() if line.strip()), "")
        return not self.lang and (first.startswith("$ ") or first.startswith("iga "))


def blocks() -> list[Block]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in _FENCE.finditer(text):
            lang, _, extra = m.group("info").strip().partition(" ")
            found.append(Block(path, text[: m.start()].count("\n") + 1, lang, extra.strip(), m.group("body")))
    return found


COMMAND_BLOCKS = [b for b in blocks() if b.is_command]
FILE_BLOCKS = [b for b in blocks() if b.lang.startswith("json") and "file=" in b.extra]


# ---------------------------------------------------------------------------------------------- fixtures


def _tiny(path: Path, architecture: str = "sdxl", seed: str | None = None) -> Path:
    from iga_core.ui.demo_models import write_tiny_checkpoint

    return write_tiny_checkpoint(path, architecture, seed or path.name)


def _stamped(path: Path, example: str, architecture: str = "sdxl") -> Path:
    from iga_core.checkpoint.stamp import stamp

    _tiny(path, architecture)
    stamp(path, json.loads((ROOT / "metadata_examples" / example).read_text(encoding="utf-8")))
    return path


def _copy(example: str):
    return lambda path: shutil.copyfile(ROOT / "metadata_examples" / example, path)


def _fox(path: Path, cfg: float = 1.0) -> Path:
    """A WebUI-style image made on sdxl-lightning with the Lightning preset: the infotext (PNG) and the audit
    record; `cfg` 3 makes IGA-S002 fire (warned in standard mode, blocked in strict)."""
    from PIL import Image

    from iga_core.audit.image_meta import write_image_metadata
    from iga_core.audit.infotext import to_infotext_fields
    from iga_core.audit.record import build_record
    from iga_core.checkpoint.sources import find_recipe
    from iga_core.guard import GuardPolicy, GuardRequest, judge

    checkpoint = path.parent / "lightning.safetensors"  # made with this checkpoint: its stamped recipe
    if not checkpoint.exists():
        _stamped(checkpoint, "sdxl-lightning-4step.iga.json")
    source = find_recipe(checkpoint, verify="always", registry=False)
    recipe = source.recipe
    params = {"seed": 5, "sampler": "Euler", "schedule": "SGM Uniform", "steps": 4, "cfg": cfg, "width": 1024,
              "height": 1024}  # fmt: skip
    request = GuardRequest(**{k: v for k, v in params.items() if k != "seed"})
    policy = GuardPolicy(mode="standard")
    record = build_record(params=params, recipe=recipe, verdict=judge(recipe, request, policy), preset="Lightning",
                          policy=policy, host={"name": "a1111", "version": "v1.10.1"},
                          checkpoint={"name": "lightning.safetensors", "weights_sha256": source.weights.actual},
                          source="embedded", now=datetime(2026, 11, 26, 16, 9, 45, tzinfo=timezone.utc))  # fmt: skip
    fields = ", ".join(f"{k}: {v}" for k, v in to_infotext_fields(record).items())
    infotext = (f"a red fox\nSteps: 4, Sampler: Euler, Schedule type: SGM Uniform, CFG scale: {cfg}, Seed: 5, "
                f"Size: 1024x1024, {fields}")  # fmt: skip
    if path.suffix == ".png":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", infotext)
        Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    else:
        Image.new("RGB", (8, 8)).save(path)
    write_image_metadata(path, record)
    return path


def _decisions(path: Path) -> Path:
    """Twelve decisions in November 2026, as the WebUI logs them (the last three are the docs' `tail -n 3`)."""
    from iga_core.decision_log import DecisionLog

    log = DecisionLog(path)
    ckpt = {"name": "sdxl_lightning_4step.safetensors"}
    for i in range(9):
        log.append({"kind": "warn", "time": f"2026-11-2{i % 6}T10:0{i}:00Z", "mode": "standard", "outcome": "warned",
                    "checkpoint": ckpt, "findings": [{"rule_id": "IGA-S001", "field": "steps", "severity": "soft"}]})  # fmt: skip
    log.append({"kind": "block", "time": "2026-11-26T15:28:41Z", "mode": "strict", "outcome": "blocked",
                "checkpoint": ckpt, "findings": [{"rule_id": "IGA-S002", "field": "cfg", "severity": "soft"}]})
    log.append({"kind": "warn", "time": "2026-11-26T15:29:10Z", "mode": "standard", "outcome": "warned",
                "checkpoint": ckpt, "findings": [{"rule_id": "IGA-S001", "field": "steps", "severity": "soft"}],
                "output": "outputs/txt2img-images/00003-7.png"})
    log.append({"kind": "override", "time": "2026-11-26T15:30:00Z", "mode": "standard", "outcome": "overridden",
                "checkpoint": ckpt, "findings": [{"rule_id": "IGA-S002", "field": "cfg", "severity": "soft"}],
                "overrides": [{"rule_id": "IGA-S002", "reason": "a bit more contrast"}],
                "output": "outputs/txt2img-images/00004-5.png"})
    return path


def _scheduler_config(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"_class_name": "DPMSolverMultistepScheduler", "algorithm_type": "sde-dpmsolver++",
                                "solver_order": 2, "use_karras_sigmas": True, "timestep_spacing": "leading"}))  # fmt: skip
    return path


#: files the examples name, made when a block mentions them (paths relative to the block's folder)
FIXTURES = {
    "my-lightning.safetensors": lambda p: _tiny(p),
    "sdxl_lightning_4step.safetensors": lambda p: _tiny(p),
    "lightning.json": _copy("sdxl-lightning-4step.iga.json"),
    "sdxl-lightning-4step.safetensors": lambda p: _stamped(p, "sdxl-lightning-4step.iga.json"),
    "sdxl-vpred.safetensors": lambda p: _stamped(p, "sdxl-vpred-ztsnr.iga.json"),
    "sdxl-turbo.iga.json": _copy("sdxl-turbo.iga.json"),
    "sdxl-lightning-4step.iga.json": _copy("sdxl-lightning-4step.iga.json"),
    "dmd2.iga.json": _copy("dmd2-sdxl-4step.iga.json"),
    "fox.png": _fox,
    "fox.jpg": lambda p: _fox(p, cfg=3.0),
    "lightning.safetensors": lambda p: _stamped(p, "sdxl-lightning-4step.iga.json"),
    "models/Stable-diffusion/sdxl_lightning_4step_unet.safetensors": lambda p: _tiny(p),
    "models/juggernautXL_lightning.safetensors": lambda p: _tiny(p),
    "model/scheduler/scheduler_config.json": _scheduler_config,
}


@pytest.fixture
def sandbox(tmp_path, monkeypatch, _iga_env):
    shutil.copytree(ROOT / "metadata_examples", tmp_path / "metadata_examples")
    monkeypatch.chdir(tmp_path)
    _decisions(Path(_iga_env) / "data" / "decisions.jsonl")  # where the CLI reads the log by default
    return tmp_path


def _prepare(block: Block, folder: Path) -> None:
    for name, build in FIXTURES.items():
        if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w])", block.body):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            build(folder / name)


# ------------------------------------------------------------------------------------------------ running


@dataclass
class Command:
    text: str
    expected: list[str]
    exit_code: int


def commands(block: Block) -> list[Command]:
    found: list[Command] = []
    if block.lang == "console" or block.body.lstrip().startswith("$ "):
        for line in block.body.splitlines():
            if line.startswith("$ "):
                found.append(Command(line[2:], [], _exit_of(line)))
            elif found:
                found[-1].expected.append(line.rstrip())
            elif line.strip():
                raise AssertionError(f"{block.where}: output before the first `$ ` command: {line!r}")
        for c in found:
            while c.expected and not c.expected[-1]:
                c.expected.pop()
    else:
        text = ""
        for line in block.body.splitlines():
            text = text + line[:-1] + " " if line.endswith("\\") else text + line
            if line.endswith("\\"):
                continue
            if text.strip() and not text.strip().startswith("#"):
                found.append(Command(text.strip(), [], _exit_of(text)))
            text = ""
    return found


def _exit_of(line: str) -> int:
    m = _EXIT.search(line)
    return int(m.group(1)) if m else 0


def _iga_argv(words: list[str]) -> list[str] | None:
    if words[:1] == ["iga"]:
        return words[1:]
    if words[:3] == ["python", "-m", "iga_core"] or words[:3] == ["python3", "-m", "iga_core"]:
        return words[3:]
    return None


def run(command: str, where: str) -> tuple[int, str]:
    """Run one shell line of iga commands in-process: (exit code of the last, stdout + stderr)."""
    words = shlex.split(command, comments=True)
    output, code = "", 0
    for part in _split(words, "&&"):
        target = None
        if ">" in part:
            i = part.index(">")
            part, target = part[:i], part[i + 1]
        argv = _iga_argv(part)
        assert argv is not None, (f"{where}: `{' '.join(part)}` is not an iga command; run blocks hold only iga "
                                  "commands (mark the block `not-run: <why>`)")  # fmt: skip
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 1
        if target is not None:
            Path(target).write_text(out.getvalue(), encoding="utf-8")
            output += err.getvalue()
        else:
            output += out.getvalue() + err.getvalue()
        if code != 0:
            break
    assert "Traceback" not in output, f"{where}: `{command}` printed a traceback:\n{output}"
    return code, output


def _split(words: list[str], sep: str) -> list[list[str]]:
    parts, current = [], []
    for w in words:
        if w == sep:
            parts.append(current)
            current = []
        else:
            current.append(w)
    return [*parts, current]


def _line_matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(piece) for piece in expected.split("…"))
    return re.fullmatch(pattern, actual.rstrip()) is not None


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """`expected` against `actual`, a line of only `…` standing for any number of lines."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() in ("…", "..."):
        return any(output_matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and _line_matches(head, actual[0]) and output_matches(rest, actual[1:])


# ------------------------------------------------------------------------------------------------- tests


def test_every_page_is_read_and_has_its_command_blocks():
    assert {p.name for p in DOCS} >= {"README.md", "cli.md", "guard.md", "checkpoints.md", "audit.md"}
    assert len(COMMAND_BLOCKS) >= 15
    assert any(b.not_run is None for b in COMMAND_BLOCKS if b.path.name == "README.md")  # the tour runs


@pytest.mark.parametrize("block", COMMAND_BLOCKS, ids=lambda b: b.where)
def test_command_block(block: Block, sandbox):
    if block.not_run is not None:
        assert block.not_run, f"{block.where}: say why the block does not run (`not-run: <why>`)"
        parser = build_parser()
        for c in commands(block):
            try:
                words = shlex.split(c.text, comments=True)
            except ValueError:  # a quote spanning lines (a curl body): not an iga line
                assert "iga " not in c.text, f"{block.where}: cannot read `{c.text}`"
                continue
            for part in _split(words, "&&"):
                argv = _iga_argv(part)
                if argv:  # the options still exist: argparse accepts the line
                    try:
                        parser.parse_args([w for w in argv if w != ">"][: (argv.index(">") if ">" in argv else None)])
                    except SystemExit as exc:
                        raise AssertionError(f"{block.where}: `{c.text}` is not a valid iga command line") from exc
        return
    _prepare(block, sandbox)
    for c in commands(block):
        code, output = run(c.text, block.where)
        assert code == c.exit_code, f"{block.where}: `{c.text}` exited {code}, the docs say {c.exit_code}:\n{output}"
        if c.expected:
            actual = [line.rstrip() for line in output.rstrip("\n").splitlines()]
            assert output_matches(c.expected, actual), (
                f"{block.where}: `{c.text}` printed\n" + "\n".join(actual)
                + "\n--- the docs say ---\n" + "\n".join(c.expected))


@pytest.mark.parametrize("block", FILE_BLOCKS, ids=lambda b: b.where)
def test_a_json_block_that_names_a_file_holds_it(block: Block):
    name = re.search(r"file=(\S+)", block.extra).group(1)
    assert json.loads(block.body) == json.loads((ROOT / name).read_text(encoding="utf-8")), f"{block.where}: not {name}"


def test_the_matcher():
    assert output_matches(["a…c", "…", "z"], ["abc", "x", "y", "z"])
    assert not output_matches(["a"], ["a", "b"]) and output_matches(["a", "…"], ["a", "b"])
    assert not output_matches(["abc"], ["abd"]) and output_matches([], [])


# ------------------------------------------------------------------------- statements the docs make of the code


def _text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_the_install_py_list_is_pyprojects_dependencies():
    import install

    sentence = re.search(r"`pyproject\.toml`'s dependencies \(([^)]*)\)", " ".join(_text("README.md").split()))
    assert sentence, "README no longer lists install.py's dependencies"
    listed = re.findall(r"`([^`]+)`", sentence.group(1))
    declared = [install.parse(r)[0] for r in install.read_requirements(ROOT / "pyproject.toml")]
    assert listed == declared


def test_the_infotext_examples_read_back_and_say_override_only_with_overrides():
    from iga_core.audit.infotext import from_infotext_params

    examples = re.findall(r"`(IGA: v1 [^`]*)`", " ".join(_text("README.md").split()))
    assert len(examples) >= 2
    for example in examples:
        params = dict(part.split(": ", 1) for part in example.split(", "))
        fields = from_infotext_params(params)  # raises on a value the reader would call damaged
        assert (fields.outcome == "override") == bool(fields.overrides), example


def test_every_command_that_prints_results_takes_json():
    import argparse

    # the ones docs/cli.md names as not taking it: a server, and an export whose format is --format
    without = {"ui", "audit export", "registry", "audit"}
    assert "except `iga ui` (a server) and `iga audit export`" in " ".join(_text("docs/cli.md").split())

    def walk(parser, prefix=""):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield f"{prefix}{name}", sub
                    yield from walk(sub, f"{prefix}{name} ")

    for name, sub in walk(build_parser()):
        options = {o for a in sub._actions for o in a.option_strings}
        assert ("--json" in options) == (name not in without), name


def test_the_filename_pattern_default_is_the_hosts_names():
    settings = json.loads(_text("iga_webui/settings.json"))
    (entry,) = [e for e in settings["options"] if e.get("key") == "iga_filename_pattern"]
    assert entry["default"] == ""
    assert "empty by default" in " ".join(_text("docs/audit.md").split())


def test_the_evaluation_files_are_the_ones_the_report_writes():
    def shape(name: str) -> str:  # "evidence-grid-<model>.png" and f"evidence-grid-{m}.png" alike
        return re.sub(r"<[^>]*>|\{[^}]*\}", "*", name)

    source = _text("iga_core/eval/evidence_report.py")
    written = {shape(n) for n in re.findall(r'"((?:evidence-[^"]*\.png)|report\.(?:md|json))"', source)}
    named = {shape(n) for n in re.findall(r"`((?:evidence-[^`]*\.png)|report\.(?:md|json))`", _text("docs/evaluation.md"))}
    assert {"report.md", "report.json", "evidence-grid-*.png"} <= named, named
    assert named <= written, named - written


def test_no_page_names_a_url_or_an_index_this_project_is_not_at():
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        assert "<owner>" not in text and "github.com/<" not in text, path.name
        assert "pip install 'sd-webui-iga" not in text and 'pip install "sd-webui-iga' not in text, path.name
    for module in ("iga_core/cli/eval_cmds.py", "iga_core/cli/ui_cmds.py"):
        assert "pip install 'sd-webui-iga" not in _text(module), module
