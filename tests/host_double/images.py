"""Mirror of modules/images.py (A v1.10.1; F the same apart from stealth infotext).

- `save_image` (A 621-770): builds the file name, calls `before_image_saved` with `ImageSaveParams(image, p,
  fullfn, pnginfo)` where `pnginfo['parameters']` is the infotext (A 705-706), re-reads `params.pnginfo` and
  `params.filename`, writes through a `.tmp` file and `os.replace` (A 708-723), then `image_saved`.
- `save_image_with_geninfo` (A 565-618): PNG writes every pnginfo key as a tEXt chunk; JPEG and WebP write
  the image and then **only** `parameters` as EXIF UserComment via piexif (A 587-606); extra keys are lost.
- F writes stealth infotext into pixels before the callback (F images.py:712-714); the double skips pixels.
- `image_grid` (A 36-66), `read_info_from_image` (A 777-817).
"""

from __future__ import annotations

import math
import os

import piexif
import piexif.helper
from modules import script_callbacks
from modules.shared import opts
from PIL import Image, PngImagePlugin


def image_grid(imgs, batch_size=1, rows=None):
    rows = rows or max(1, math.floor(math.sqrt(len(imgs))))
    while len(imgs) % rows != 0:
        rows -= 1
    cols = math.ceil(len(imgs) / rows)
    w, h = map(max, zip(*(img.size for img in imgs), strict=False))
    grid = Image.new("RGB", size=(cols * w, rows * h), color="black")
    for i, img in enumerate(imgs):
        grid.paste(img, box=(i % cols * w, i // cols * h))
    return grid


def save_image_with_geninfo(image, geninfo, filename, extension=None, existing_pnginfo=None,
                            pnginfo_section_name="parameters"):
    if extension is None:
        extension = os.path.splitext(filename)[1]
    image_format = Image.registered_extensions()[extension]
    if extension.lower() == ".png":
        existing_pnginfo = existing_pnginfo or {}
        if opts.enable_pnginfo:
            existing_pnginfo[pnginfo_section_name] = geninfo
            pnginfo_data = PngImagePlugin.PngInfo()
            for k, v in (existing_pnginfo or {}).items():
                pnginfo_data.add_text(k, str(v))
        else:
            pnginfo_data = None
        image.save(filename, format=image_format, quality=opts.jpeg_quality, pnginfo=pnginfo_data)
    elif extension.lower() in (".jpg", ".jpeg", ".webp"):
        if image.mode == "RGBA":
            image = image.convert("RGB")
        image.save(filename, format=image_format, quality=opts.jpeg_quality, lossless=opts.webp_lossless)
        if opts.enable_pnginfo and geninfo is not None:
            exif_bytes = piexif.dump({
                "Exif": {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump(geninfo or "", encoding="unicode")},
            })
            piexif.insert(exif_bytes, filename)
    else:
        image.save(filename, format=image_format, quality=opts.jpeg_quality)


def save_image(image, path, basename, seed=None, prompt=None, extension="png", info=None, short_filename=False,
               no_prompt=False, grid=False, pnginfo_section_name="parameters", p=None, existing_info=None,
               forced_filename=None, suffix="", save_to_dirs=None):
    os.makedirs(path, exist_ok=True)
    if forced_filename is None:
        existing = len([x for x in os.listdir(path) if not x.endswith(".tmp")])
        fn = f"{existing:05}" if basename == "" else f"{basename}-{existing:04}"
        fullfn = os.path.join(path, f"{fn}-{seed}{suffix}.{extension}")
    else:
        fullfn = os.path.join(path, f"{forced_filename}.{extension}")

    pnginfo = existing_info or {}
    if info is not None:
        pnginfo[pnginfo_section_name] = info
    params = script_callbacks.ImageSaveParams(image, p, fullfn, pnginfo)
    script_callbacks.before_image_saved_callback(params)
    image = params.image
    fullfn = params.filename
    info = params.pnginfo.get(pnginfo_section_name, None)

    fullfn_without_extension, extension = os.path.splitext(params.filename)
    temp_file_path = f"{fullfn_without_extension}.tmp"
    save_image_with_geninfo(image, info, temp_file_path, extension, existing_pnginfo=params.pnginfo,
                            pnginfo_section_name=pnginfo_section_name)
    os.replace(temp_file_path, fullfn)
    image.already_saved_as = fullfn
    script_callbacks.image_saved_callback(params)
    return fullfn, None


def read_info_from_image(image):
    items = (image.info or {}).copy()
    geninfo = items.pop("parameters", None)
    if "exif" in items:
        exif = piexif.load(items.pop("exif"))
        exif_comment = (exif or {}).get("Exif", {}).get(piexif.ExifIFD.UserComment, b"")
        try:
            exif_comment = piexif.helper.UserComment.load(exif_comment)
        except ValueError:
            exif_comment = exif_comment.decode("utf8", errors="ignore")
        if exif_comment:
            geninfo = exif_comment
    return geninfo, items
