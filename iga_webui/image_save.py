"""The full audit record in saved files (images and grids).

Infotext already carries the short IGA keys on every path (PNG text, JPEG/WebP EXIF, API). The full record
goes in a separate place, since the hosts write only `parameters` into JPEG/WebP EXIF (A images.py:565-611):
PNG gets an `iga_metadata` text chunk through `params.pnginfo` before the file is written; JPEG and WebP
get it from `iga_core.audit.write_image_metadata` after the host wrote the file.
"""

from __future__ import annotations

import logging
import os
import re

from iga_core.audit import filename_from_pattern, pnginfo_entry, values_from_record, write_image_metadata
from iga_webui import generation, host, settings, xyz

log = logging.getLogger("iga")


def _record(params) -> dict | None:
    st = generation.state_of(getattr(params, "p", None)) if getattr(params, "p", None) is not None else None
    return st.record if st is not None else None


def on_before_image_saved(params) -> None:
    record = _record(params)
    if record is None:
        xyz.on_grid_saved(params)  # an X/Y/Z grid is saved with p=Processed, which has no IGA state
        return
    pattern = (settings.get("iga_filename_pattern") or "").strip()
    if pattern:
        _rename(params, pattern, record)
    if settings.get("iga_image_metadata") and params.filename.lower().endswith(".png"):
        params.pnginfo.update(pnginfo_entry(record))


def on_image_saved(params) -> None:
    record = _record(params)
    if record is None or not settings.get("iga_image_metadata"):
        return
    if os.path.splitext(params.filename)[1].lower() in (".jpg", ".jpeg", ".webp"):
        write_image_metadata(params.filename, record)


#: the host's counter at the front of its name: `00012` (basename "") or `grid-0003` (A images.py:686-692)
_HOST_COUNTER = re.compile(r"^((?:.*?-)??\d{4,})(?:-|$)")  # lazy: the first number wins


def _rename(params, pattern: str, record: dict) -> None:
    """The IGA pattern replaces the host's file decoration; the host's counter stays in front, so the host's
    next `get_next_sequence_number` (A images.py:543-562) still counts our files, and a name already taken
    gets a `-N` suffix: two images with the same pattern values never overwrite each other."""
    folder, name = os.path.split(params.filename)
    stem, ext = os.path.splitext(name)
    values = values_from_record(record)
    p = params.p
    seeds, index = getattr(p, "seeds", None) or [], getattr(p, "batch_index", 0) or 0
    # the record holds the batch; a sample file is one image of it, the grid keeps the first seed as the
    # host names it (A processing.py:1130); p.batch_index still points at the last sample then
    if 0 <= index < len(seeds) and not _is_grid(params):
        values["seed"] = seeds[index]
    new_stem = filename_from_pattern(pattern, values)
    if not new_stem:
        return
    counter = _host_counter(stem)
    params.filename = free_name(folder, f"{counter}-{new_stem}" if counter else new_stem, ext)


def _is_grid(params) -> bool:
    """process_images saves its grid under `p.outpath_grids` and samples under `p.outpath_samples` (A
    processing.py:1085 and 1130); when both are one folder the grid cannot be told apart and is named like
    the last sample."""
    grids, samples = getattr(params.p, "outpath_grids", None), getattr(params.p, "outpath_samples", None)
    if not grids or (samples and os.path.abspath(grids) == os.path.abspath(samples)):
        return False
    folder = os.path.abspath(os.path.dirname(params.filename))
    grids = os.path.abspath(grids)
    return folder == grids or folder.startswith(grids + os.sep)  # grid_save_to_dirs adds a subfolder


def _host_counter(stem: str) -> str | None:
    if not host.option("save_images_add_number", True):
        return None  # the host put no counter in this name
    match = _HOST_COUNTER.match(stem)
    return match.group(1) if match else None


def free_name(folder: str, stem: str, ext: str) -> str:
    """`folder/stem+ext`, or with the first free `-N` suffix. Checked here because the host's own
    "Add number suffix" keeps reporting the taken name in `params.filename` (A images.py:719-736), which
    would send `on_image_saved` to the other file. The stem is cut to the file system's limit first, as the
    host would cut it after this callback (A images.py:726-730), so the suffix survives."""
    limit = 255
    if hasattr(os, "statvfs") and os.path.isdir(folder):
        limit = os.statvfs(folder).f_namemax
    limit -= max(4, len(ext.encode()))
    stem = _cut(stem, limit)
    candidate, n = stem, 0
    while _taken(os.path.join(folder, candidate), ext):
        n += 1
        candidate = _cut(stem, limit - len(f"-{n}")) + f"-{n}"
    return os.path.join(folder, candidate + ext)


def _cut(text: str, max_bytes: int) -> str:
    while len(os.fsencode(text)) > max_bytes:  # f_namemax counts bytes; never split a character
        text = text[:-1]
    return text


def _taken(path_without_ext: str, ext: str) -> bool:
    # the host writes `<stem>.tmp` first (A images.py:716): a name in the middle of being written is taken too
    return os.path.exists(path_without_ext + ext) or os.path.exists(path_without_ext + ".tmp")
