"""The full audit record in saved files (images and grids).

Infotext already carries the short IGA keys on every path (PNG text, JPEG/WebP EXIF, API). The full record
goes in a separate place, since the hosts write only `parameters` into JPEG/WebP EXIF (host-api.md §8):
PNG gets an `iga_metadata` text chunk through `params.pnginfo` before the file is written; JPEG and WebP
get it from `iga_core.audit.write_image_metadata` after the host wrote the file.
"""

from __future__ import annotations

import logging
import os

from iga_webui import generation, settings, xyz

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
        from iga_core.audit import pnginfo_entry

        params.pnginfo.update(pnginfo_entry(record))


def on_image_saved(params) -> None:
    record = _record(params)
    if record is None or not settings.get("iga_image_metadata"):
        return
    if os.path.splitext(params.filename)[1].lower() in (".jpg", ".jpeg", ".webp"):
        from iga_core.audit import write_image_metadata

        write_image_metadata(params.filename, record)


def _rename(params, pattern: str, record: dict) -> None:
    from iga_core.audit import filename_from_pattern, values_from_record

    folder, name = os.path.split(params.filename)
    ext = os.path.splitext(name)[1]
    values = values_from_record(record)
    p = params.p
    seeds, index = getattr(p, "seeds", None) or [], getattr(p, "batch_index", 0) or 0
    if 0 <= index < len(seeds):  # the record holds the batch; the file is one image of it
        values["seed"] = seeds[index]
    new_stem = filename_from_pattern(pattern, values)
    if new_stem:
        params.filename = os.path.join(folder, new_stem + ext)
