"""The guard inside an X/Y/Z plot run (A scripts/xyz_grid.py; Forge's copy behaves the same).

Each cell is `copy(p)` through `process_images` inside the plot's own try/except (A xyz_grid.py:727-733), so
an ordinary block would leave an unlabelled black cell. Inside a plot the script instead makes the refused
cell's `p.sample` return a decoded tile that says "blocked by IGA-…" (`DecodedSamples`, A processing.py:
621-622 and 995), never saves it as a sample, and lets the grid complete. Cells that ran outside the recipe
(audit mode, or acknowledged / soft findings) get a small label strip. The outcome of every cell is
collected for the run; the saved grid's infotext, and the grid's infotext the UI shows, get an
`IGA cells` summary.
"""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from iga_core.guard import Verdict
from iga_webui import host

XYZ_TITLE = "X/Y/Z plot"
SUMMARY_KEY = "IGA cells"
_run_cells: list[dict] | None = None  # the plot being generated (generation is serialised by the queue lock)


def selected_script_title(p: Any) -> str | None:
    args, runner = getattr(p, "script_args", None), getattr(p, "scripts", None)
    try:
        index = int(args[0])
        return runner.selectable_scripts[index - 1].title() if index > 0 else None
    except (TypeError, ValueError, IndexError, AttributeError):
        return None


def in_plot(p: Any) -> bool:
    return selected_script_title(p) == XYZ_TITLE


def start_run(p: Any) -> None:
    """`setup()` on the plot's outer p: every cell is a shallow copy, so they all see this list."""
    global _run_cells
    if in_plot(p):
        _run_cells = []
        p.iga_cells = _run_cells


def cell_label(p: Any) -> str:
    return f"{p.sampler_name}, {p.scheduler or 'Automatic'}, {p.steps} steps, CFG {p.cfg_scale:g}"


def note_cell(p: Any, verdict: Verdict | None, outcome: str) -> None:
    cells = getattr(p, "iga_cells", None)
    if cells is None or verdict is None:
        return
    rules = [f.rule_id for f in (verdict.blocking if not verdict.allowed else verdict.warnings)]
    cells.append({"cell": cell_label(p), "outcome": outcome, "rules": sorted(set(rules))})


def note_failure(p: Any, stage: str) -> None:
    """A cell the extension could not check (internal error): listed once, as `error <stage>`."""
    cells = getattr(p, "iga_cells", None)
    if cells is None or getattr(p, "iga_cell_failed", False):
        return
    p.iga_cell_failed = True
    cells.append({"cell": cell_label(p), "outcome": "error", "rules": [stage.replace(" ", "-")]})


def _draw(size: tuple[int, int], lines: list[str], colour: tuple[int, int, int]) -> Image.Image:
    w, h = max(size[0], 8), max(size[1], 8)
    tile = Image.new("RGB", (w, h), colour)
    draw = ImageDraw.Draw(tile)
    text = "\n".join(textwrap.fill(line, width=max(8, w // 7)) for line in lines)
    # Pillow's built-in bitmap font (the only font sure to exist) encodes Latin-1 only (Pillow 9.5)
    text = text.replace("\u2013", "-").replace("\u00d7", "x").encode("latin-1", "replace").decode("latin-1")
    draw.multiline_text((4, 4), text, fill=(255, 255, 255))
    return tile


def _decoded(image: Image.Image):
    """A PIL image as the host's decoded sample: (3, H, W) in [-1, 1] (torch in the hosts)."""
    array = np.moveaxis(np.asarray(image, dtype=np.float32) / 127.5 - 1.0, 2, 0)
    torch = sys.modules.get("torch")  # the hosts have it loaded already; the host double may not have it
    if torch is None:
        return array
    return torch.from_numpy(np.ascontiguousarray(array))


def block_cell(p: Any, verdict: Verdict) -> None:
    """Replace this cell's sampling with a labelled tile; the plot's grid then completes."""
    ids = ", ".join(sorted({f.rule_id for f in verdict.blocking}))
    lines = [f"blocked by {ids}", *[f.advice() for f in verdict.blocking][:3]]
    tile = _draw((int(p.width), int(p.height)), lines, (110, 20, 20))

    def labelled_tile(*args: Any, seeds=(), **kwargs: Any):
        return host.decoded_samples([_decoded(tile) for _ in (seeds or [0])])

    p.sample = labelled_tile
    p.do_not_save_samples = True  # the tile is a label, not an image the model made
    if hasattr(p, "enable_hr"):
        p.enable_hr = False


def label_image(image: Image.Image, verdict: Verdict | None) -> Image.Image:
    """A strip along the bottom naming the rules a cell ran outside of (audit mode, soft findings)."""
    if verdict is None or not verdict.allowed:
        return image
    outside = sorted({f.rule_id for f in verdict.warnings} | {f.rule_id for f in verdict.overridden})
    if not outside:
        return image
    strip_h = max(10, image.height // 6)
    strip = _draw((image.width, strip_h), [f"outside recipe: {', '.join(outside)}"], (120, 80, 0))
    out = image.convert("RGB")
    out.paste(strip.crop((0, 0, image.width, strip_h)), (0, image.height - strip_h))
    return out


def summary(cells: list[dict]) -> str:
    bad = [c for c in cells if c["outcome"] in ("blocked", "warn", "audit", "override", "error")]
    if not cells:
        return ""
    parts = [f"{c['cell']}: {c['outcome']} {'/'.join(c['rules'])}".strip() for c in bad]
    blocked = sum(c["outcome"] == "blocked" for c in cells)
    head = f"{blocked} of {len(cells)} blocked"
    return f"{head}; " + "; ".join(parts) if parts else f"{head}; all inside the recipe"


def on_grid_saved(params: Any) -> None:
    """before_image_saved for the plot's grid. The host saves it with `p=processed`, the very Processed the
    UI and the API get back (A xyz_grid.py:793-805, F 820-832; A txt2img.py:113-120), so the summary goes
    into the file and into what the user is shown: `infotexts[0]` (the grid in the gallery) and `info`
    (the text under it). The grid's infotext is built right after the first cell (A xyz_grid.py:750-760),
    before the other cells ran, and no always-on hook runs after a selectable script's `run` (A scripts.py:
    768-785): with "Always save all generated image grids" off the summary has nowhere to go."""
    info = params.pnginfo.get("parameters") or ""
    if _run_cells is None or f"Script: {XYZ_TITLE}" not in info or SUMMARY_KEY in info:
        return
    text = summary(_run_cells)
    if not text:
        return
    field = f", {SUMMARY_KEY}: {host.quote_infotext(text)}"
    params.pnginfo["parameters"] = info + field
    processed = params.p
    infotexts = getattr(processed, "infotexts", None)
    if isinstance(infotexts, list) and infotexts and infotexts[0] == info:
        infotexts[0] = info + field
    shown = getattr(processed, "info", None)
    if isinstance(shown, str) and shown and SUMMARY_KEY not in shown:
        processed.info = shown + field
