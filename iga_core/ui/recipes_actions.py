"""What the Recipes tab does, without gradio: list checkpoints with their recipe status, describe one,
edit a recipe (form fields <-> JSON, validated with errors per field), and write it (stamp in place, stamp
as a copy, sidecar, strip, export), refusing to rewrite the checkpoint that is loaded right now.

A checkpoint is always named by its title from `ctx.checkpoints()`; the file path comes from that list,
never from a request or from recipe text. Copies go next to the original under a plain file name.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iga_core.audit import paste_info_from_image
from iga_core.audit.pasteback import request_fields
from iga_core.checkpoint.sources import find_recipe
from iga_core.checkpoint.stamp import sidecar_path, stamp, strip, write_sidecar
from iga_core.errors import IgaError, IgaInvalid
from iga_core.recipe import Problem, Recipe, deprecation_notices, validate_recipe
from iga_core.reconstruct import reconstruct
from iga_core.ui import render
from iga_core.ui.context import PanelContext
from iga_core.ui.demo_models import examples_dir
from iga_core.ui.render import MESSAGE, esc
from iga_core.untrusted_text import json_text

Progress = Callable[[int, int], None]

STAMP_WARNING = (
    "Stamping writes the recipe into the checkpoint's header. The tensors are not touched, but the file's "
    "SHA-256 changes, so the WebUI's \"Model hash\" (AutoV2) changes too and the WebUI re-hashes the file "
    "once. The original file hash is kept in the recipe (hashes.source_file_sha256), so images and sites "
    "that know the old hash can still be matched. Stamping a copy leaves the original untouched."
)
STRIP_WARNING = "Stripping removes the embedded recipe from the checkpoint's header (the tensors are not touched)."
#: form field -> (JSON pointer it edits, error group shown next to it)
FORM_FIELDS = (
    "model_id", "title", "prediction_type", "sampler", "schedule",
    "steps_default", "steps_min", "steps_max", "cfg_default", "cfg_min", "cfg_max", "width", "height",
)
ERROR_GROUPS = {
    "identity": ("/model_id", "/title", "/prediction_type", "/architecture", "/iga_version"),
    "sampling": ("/sampler", "/scheduler", "/constraints"),
    "steps": ("/steps",),
    "cfg": ("/cfg",),
    "resolution": ("/resolution",),
}
PREDICTION_TYPES = ("eps", "v", "x0", "flow")
_COPY_NAME = re.compile(r"^[\w][\w .+-]{0,150}\.safetensors$")


class RecipesTabRefused(IgaInvalid):
    """The Recipes tab will not do this (the file is loaded right now, the name is not a plain file name...)."""


class UnknownCheckpointTitle(IgaInvalid):
    """The title is not in the host's checkpoint list."""


class JsonSyntaxError(IgaInvalid):
    """The recipe editor's text is not JSON."""


# ------------------------------------------------------------------------------------------ listing


class NoCheckpointSelected(RecipesTabRefused):
    """A button that works on a checkpoint was pressed with none selected."""


def checkpoint_path(ctx: PanelContext, title: str | None) -> Path:
    if not title:
        raise NoCheckpointSelected("no checkpoint is selected", "pick a checkpoint in the list first")
    for name, path in ctx.checkpoints():
        if name == title:
            return Path(path)
    raise UnknownCheckpointTitle(f"{title!r} is not in the checkpoint list",
                                 "pick a checkpoint from the list (refresh it after adding files)")


def titles(ctx: PanelContext) -> list[str]:
    return [name for name, _path in ctx.checkpoints()]


#: the table's words for a hash status: the panel's (render.HASH_LABELS), so the two never disagree
TABLE_HASH_LABELS = {"verified": "verified", "unverified": "not checked yet", "mismatch": "MISMATCH"}


def checkpoint_table(ctx: PanelContext) -> str:
    """An HTML table of every checkpoint: recipe kind, hash status, model id (headers only; no hashing: a
    hash is "verified" once the panel, Verify hashes or a stamp has checked this file state)."""
    rows = []
    for title, path in ctx.checkpoints():
        try:
            source = find_recipe(path, verify="never")
            kind = source.kind
            status = TABLE_HASH_LABELS.get(source.hash_status, source.hash_status) if source.recipe is not None else ""
            model = source.recipe.model_id if source.recipe is not None else ""
            if source.recipe is None and source.document is not None:
                kind, status = f"{source.kind} (invalid)", ""
        except IgaError as exc:
            kind, status, model = "unreadable", "", exc.message
        rows.append(f"<tr><td>{esc(title)}</td><td>{esc(kind)}</td><td>{esc(status)}</td><td>{esc(model)}</td></tr>")
    head = "<tr><th>Checkpoint</th><th>Recipe</th><th>Hashes</th><th>Model</th></tr>"
    body = "".join(rows) or '<tr><td colspan="4">No checkpoints found.</td></tr>'
    return f'<table class="iga-recipes-table">{head}{body}</table>'


def describe(ctx: PanelContext, title: str | None, *, verify: str = "never", progress: Progress | None = None) -> str:
    """The selected checkpoint's recipe rendered, validated and hash-checked (`verify="always"` re-hashes,
    and then says what it found, even when the badge looks as before)."""
    if not title:
        if verify == "always":
            return render.status_html(None, error=NoCheckpointSelected("no checkpoint is selected",
                                                                       "pick a checkpoint in the list first"))
        return render.status_html(None)
    try:
        path = checkpoint_path(ctx, title)
        if progress is not None:
            progress(0, 1)
        source = find_recipe(path, verify=verify)
    except IgaError as exc:
        return render.status_html(None, error=exc)
    notes = [f"The recipe is valid (schema {source.recipe.iga_version})."] if source.recipe is not None else []
    if verify == "always":
        notes.insert(0, _verified_note(source))
    if _is_loaded(ctx, title, path):
        notes.append("This checkpoint is loaded right now: it cannot be rewritten (stamp a copy or use a sidecar).")
    return render.status_html(source, notes)


def _verified_note(source) -> str:
    """What "Verify hashes" found, as a sentence (the badge alone did not change when it was verified before)."""
    if source.kind == "none":
        return "Nothing to verify: this checkpoint has no recipe."
    checks = {"weights": source.weights.status, "tensor index": source.tensor_index.status,
              "recipe digest": source.metadata.status}
    bad = [name for name, status in checks.items() if status == "mismatch"]
    missing = [name for name, status in checks.items() if status == "missing"]
    if bad:
        return f"Hashed just now: {', '.join(bad)} do NOT match the recipe."
    done = [name for name, status in checks.items() if status == "ok"]
    text = f"Hashed just now: {', '.join(done) or 'nothing'} match the recipe."
    return text + (f" Not in the recipe: {', '.join(missing)} (stamp it again to add them)." if missing else "")


# ------------------------------------------------------------------------------------------ editor


def template_names() -> list[str]:
    folder = examples_dir()
    return sorted(p.name[: -len(".iga.json")] for p in folder.glob("*.iga.json")) if folder.is_dir() else []


def load_template(name: str) -> dict:
    if name not in template_names():  # a name from the list, never a path
        raise RecipesTabRefused(f"no template named {name!r}", f"choose one of: {', '.join(template_names())}")
    return json.loads((examples_dir() / f"{name}.iga.json").read_text(encoding="utf-8"))


def recipe_of(ctx: PanelContext, title: str) -> dict:
    """The checkpoint's recipe document for the editor, valid or not (an invalid one is what needs editing)."""
    source = find_recipe(checkpoint_path(ctx, title), verify="never")
    if source.document is None:
        raise RecipesTabRefused(f"{title} has no recipe yet", "start from a template or from reconstruction")
    return source.document


def reconstructed(ctx: PanelContext, title: str) -> tuple[dict, list[str]]:
    """A best-effort draft from the file (never written until the user saves it) and where each field came from."""
    result = reconstruct(checkpoint_path(ctx, title))
    notes = [f"{f.pointer} = {json.dumps(f.value)} from {f.source} (confidence {f.confidence:.2f})"
             for f in result.fields]
    return result.recipe, [*notes, *result.findings]


def from_image(path: str) -> tuple[dict, list[str]]:
    """A draft recipe holding the settings an image was made with (its IGA record or, failing that, infotext)."""
    info = paste_info_from_image(path)
    fields = request_fields(info)
    if not fields.get("sampler"):
        raise RecipesTabRefused("the image does not say which sampler made it", "pick an image made by the WebUI")
    ran = (info.record or {}).get("recipe") or {}  # the audit record's recipe part: digest, source, model_id
    model = ran.get("model_id") or ((info.record or {}).get("checkpoint") or {}).get("name") or "from-image"
    steps, cfg = fields.get("steps"), fields.get("cfg")
    draft: dict[str, Any] = {
        "iga_version": "1.0.0",
        "model_id": str(model),
        "prediction_type": "eps",
        "sampler": {"name": fields["sampler"]},
        "scheduler": {"name": fields.get("schedule") or "Automatic"},
        "steps": {"default": steps, "min": steps, "max": steps},
        "cfg": {"default": cfg, "min": cfg, "max": cfg},
    }
    if fields.get("width") and fields.get("height"):
        draft["resolution"] = {"preferred": [{"width": fields["width"], "height": fields["height"]}]}
    notes = ["Values from the image; the prediction type is not recorded in images: check it.", *info.problems]
    return draft, notes


def to_text(recipe: dict) -> str:
    """The editor's JSON: readable Unicode, with control and bidi characters as `\\uXXXX` escapes (the same
    JSON value; a U+202E in a name shows as an escape instead of reversing the text around it)."""
    return json_text(json.dumps(recipe, indent=2, ensure_ascii=False))


def parse_text(text: str) -> dict:
    try:
        value = json.loads(text or "")
    except ValueError as exc:
        raise JsonSyntaxError(f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                              "fix the JSON text, or load a template") from None
    if not isinstance(value, dict):
        raise JsonSyntaxError("a recipe is a JSON object ({...})", "load a template to start from")
    return value


def form_values(draft: dict) -> dict[str, Any]:
    """The form's fields from the editor's JSON draft. A draft is a document being written, valid or not
    (the form must show a broken one to let it be fixed), so it is read as JSON, not parsed."""
    def part(key: str) -> dict:
        value = draft.get(key)
        return value if isinstance(value, dict) else {}

    preferred = (part("resolution").get("preferred") or [{}])[0] if part("resolution").get("preferred") else {}
    return {
        "model_id": str(draft.get("model_id", "")),
        "title": str(draft.get("title", "")),
        "prediction_type": draft.get("prediction_type", "eps"),
        "sampler": str(part("sampler").get("name", "")),
        "schedule": str(part("scheduler").get("name", "")),
        "steps_default": part("steps").get("default"), "steps_min": part("steps").get("min"),
        "steps_max": part("steps").get("max"),
        "cfg_default": part("cfg").get("default"), "cfg_min": part("cfg").get("min"), "cfg_max": part("cfg").get("max"),
        "width": preferred.get("width") if isinstance(preferred, dict) else None,
        "height": preferred.get("height") if isinstance(preferred, dict) else None,
    }


def _number(value: Any, integer: bool) -> Any:
    if value in (None, ""):
        return None
    number = float(value)
    return int(number) if integer and number.is_integer() else number


def apply_form(recipe: dict, form: dict[str, Any]) -> dict:
    """The recipe with the form's fields written into it; fields the form does not show are kept."""
    out = copy.deepcopy(recipe)
    for key in ("model_id", "title"):
        if form.get(key):
            out[key] = form[key]
        elif key == "title":
            out.pop("title", None)
    if form.get("prediction_type"):
        out["prediction_type"] = form["prediction_type"]
    if form.get("sampler"):
        out["sampler"] = {**(out.get("sampler") if isinstance(out.get("sampler"), dict) else {}), "name": form["sampler"]}
    if form.get("schedule"):
        sched = out.get("scheduler") if isinstance(out.get("scheduler"), dict) else {}
        out["scheduler"] = {**sched, "name": form["schedule"]}
    for group, integer in (("steps", True), ("cfg", False)):
        current = out.get(group) if isinstance(out.get(group), dict) else {}
        for bound in ("default", "min", "max"):
            value = _number(form.get(f"{group}_{bound}"), integer)
            if value is None:
                current.pop(bound, None)
            else:
                current[bound] = value
        out[group] = current
    width, height = _number(form.get("width"), True), _number(form.get("height"), True)
    if width and height:
        resolution = out.get("resolution") if isinstance(out.get("resolution"), dict) else {}
        preferred = list(resolution.get("preferred") or [])
        preferred[:1] = [{"width": width, "height": height}]
        out["resolution"] = {**resolution, "preferred": preferred}
    return out


def group_of(pointer: str) -> str:
    for group, prefixes in ERROR_GROUPS.items():
        if any(pointer == p or pointer.startswith(p + "/") for p in prefixes):
            return group
    return "other"


def grouped_errors(problems: list[Problem], document: Any = None) -> dict[str, str]:
    """HTML per error group ("identity", "sampling", "steps", "cfg", "resolution", "other"): shown by the field;
    with the document, also what it uses that the schema marks deprecated and what replaces it."""
    out: dict[str, list[str]] = {g: [] for g in (*ERROR_GROUPS, "other")}
    for p in problems:
        text = f"{p.pointer or '/'}: {p.message}" + (f" ({p.hint})" if p.hint else "")
        out[group_of(p.pointer)].append(f'<div class="iga-field-error">{esc(text, MESSAGE)}</div>')
    for n in deprecation_notices(document) if isinstance(document, dict) else ():
        text = f"{n.pointer or '/'}: {n.advice()}"
        out[group_of(n.pointer)].append(f'<div class="iga-field-deprecated">{esc(text, MESSAGE)}</div>')
    return {g: "".join(items) for g, items in out.items()}


def check_text(text: str) -> tuple[dict | None, list[Problem]]:
    """Parse and validate the editor text: (recipe or None, problems)."""
    try:
        recipe = parse_text(text)
    except JsonSyntaxError as exc:
        return None, [Problem("", exc.message, exc.hint)]
    return recipe, list(validate_recipe(recipe))


# ------------------------------------------------------------------------------------------ writing


@dataclass(frozen=True)
class WriteResult:
    message: str
    path: str


def _same(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def _is_loaded(ctx: PanelContext, title: str, path: Path) -> bool:
    loaded = ctx.loaded_checkpoint()  # a title (the WebUI) or a path
    if not loaded:
        return False
    if loaded == title:
        return True
    return os.path.exists(str(loaded)) and _same(loaded, path)


def _writable(ctx: PanelContext, title: str) -> Path:
    path = checkpoint_path(ctx, title)
    if _is_loaded(ctx, title, path):
        raise RecipesTabRefused(f"{title} is loaded right now (memory-mapped); it will not be rewritten",
                                "load another checkpoint first, or stamp a copy, or save a sidecar")
    return path


def _valid(text: str) -> dict:
    recipe, problems = check_text(text)
    if recipe is None or problems:
        first = problems[0]
        raise RecipesTabRefused(f"the recipe is not valid: {first.pointer or '/'}: {first.message}",
                                "fix the errors shown next to the fields first")
    return recipe


def _finish(ctx: PanelContext, message: str, path: str) -> WriteResult:
    ctx.refresh_checkpoints()  # the host caches metadata by mtime and lists files once: make it look again
    return WriteResult(message, path)


def stamp_in_place(ctx: PanelContext, title: str, text: str, progress: Progress | None = None) -> WriteResult:
    recipe = _valid(text)
    path = _writable(ctx, title)
    result = stamp(path, recipe, progress=progress)
    notices = " ".join(result.notices)
    return _finish(ctx, f"Stamped {path.name} ({result.mode.replace('_', ' ')}). {notices}".strip(), result.path)


def copy_target(path: Path, name: str) -> Path:
    name = (name or "").strip()
    if not _COPY_NAME.match(name) or name.startswith("."):
        raise RecipesTabRefused(f"{name!r} is not a plain .safetensors file name",
                                "use letters, digits, spaces, '.', '-', '+' or '_' and end with .safetensors")
    target = path.parent / name
    if target.exists():
        raise RecipesTabRefused(f"{name} already exists", "choose another name")
    return target


def stamp_copy(ctx: PanelContext, title: str, text: str, name: str, progress: Progress | None = None) -> WriteResult:
    recipe = _valid(text)
    path = checkpoint_path(ctx, title)  # reading a loaded file is fine; only rewriting it is not
    target = copy_target(path, name)
    result = stamp(path, recipe, out=target, progress=progress)
    return _finish(ctx, f"Wrote {target.name}, a stamped copy of {path.name}; the original is unchanged.", result.path)


def save_sidecar(ctx: PanelContext, title: str, text: str, progress: Progress | None = None) -> WriteResult:
    recipe = _valid(text)
    path = checkpoint_path(ctx, title)
    result = write_sidecar(path, recipe, progress=progress)
    return _finish(ctx, f"Saved {sidecar_path(path).name}; the checkpoint is unchanged.", result.path)


def strip_recipe(ctx: PanelContext, title: str) -> WriteResult:
    path = _writable(ctx, title)
    result = strip(path)
    if result.mode == "unchanged":
        return WriteResult(f"{path.name} has no embedded recipe; nothing to strip.", str(path))
    return _finish(ctx, f"Removed the embedded recipe from {path.name}.", result.path)


def export_file(text: str, folder: str | None = None) -> str:
    """Write the (valid) recipe to a temporary .iga.json file for download; returns its path."""
    document = _valid(text)
    name = re.sub(r"[^\w.+-]+", "-", Recipe.unchecked(document).model_id).strip("-.")[:80] or "recipe"
    out_dir = Path(folder or tempfile.mkdtemp(prefix="iga-export-"))
    target = out_dir / f"{name}.iga.json"
    target.write_text(to_text(document) + "\n", encoding="utf-8")
    return str(target)
