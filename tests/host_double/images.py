"""Mirror of modules/images.py (A v1.10.1; F the same apart from stealth infotext).

- `save_image` (A 624-767): builds the file name (A 671-697: the "file decoration" from
  `samples_filename_pattern`, default `[seed]` since `save_to_dirs` is on by default -- the double does not make
  the dated subfolder; a counter from `get_next_sequence_number` (A 543-562) in front when
  `save_images_add_number`, the first free one of 500), calls `before_image_saved` with `ImageSaveParams(image,
  p, fullfn, pnginfo)` where `pnginfo['parameters']` is the infotext (A 705-706), re-reads `params.pnginfo` and
  `params.filename`, cuts the stem to the file system's name limit (A 726-730), writes through a `.tmp` file
  and `os.replace` (A 712-724), then `image_saved`. An existing file is replaced unless
  `save_images_replace_action` asks for a `-N` suffix; then A still reports the unsuffixed name in
  `params.filename` and `already_saved_as` (A 734-736), F returns the suffixed one for `already_saved_as`
  only (F 735-757).
- `save_image_with_geninfo` (A 565-618): PNG writes every pnginfo key as a tEXt chunk; JPEG and WebP write
  the image and then **only** `parameters` as EXIF UserComment via piexif (A 587-606); extra keys are lost.
- F writes stealth infotext into pixels before the callback (F images.py:712-714); the double skips pixels.
- `image_grid` (A 36-66), `read_info_from_image` (A 777-817).
"""

from __future__ import annotations

import math
import os
import re

import piexif
import piexif.helper
from modules import script_callbacks, shared
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


INVALID_FILENAME_CHARS = '#<>:"/\\|?*\n\r\t'  # A images.py:329-334 (without --unix-filenames-sanitization)
MAX_FILENAME_PART_LENGTH = 128  # A cmd_args --filenames-max-length default


def sanitize_filename_part(text, replace_spaces=True):  # A images.py:342-352
    if text is None:
        return None
    if replace_spaces:
        text = text.replace(" ", "_")
    text = text.translate({ord(x): "_" for x in INVALID_FILENAME_CHARS})
    text = text.lstrip(" ")[:MAX_FILENAME_PART_LENGTH]
    return text.rstrip(" .")


def apply_filename_pattern(pattern, seed, prompt):
    """FilenameGenerator.apply (A images.py:504-540) for the two tokens the double knows; others stay as
    written, as the host leaves an unknown `[token]`."""
    values = {"seed": "" if seed is None else seed, "prompt_spaces": sanitize_filename_part(prompt, replace_spaces=False)}
    return re.sub(r"\[([^\[\]]+)\]", lambda m: str(values.get(m.group(1).lower(), m.group(0))), pattern)


def get_next_sequence_number(path, basename):  # A images.py:543-562, verbatim
    result = -1
    if basename != "":
        basename = f"{basename}-"
    prefix_length = len(basename)
    for p in os.listdir(path):
        if p.startswith(basename):
            parts = os.path.splitext(p[prefix_length:])[0].split("-")
            try:
                result = max(int(parts[0]), result)
            except ValueError:
                pass
    return result + 1


def save_image(image, path, basename, seed=None, prompt=None, extension="png", info=None, short_filename=False,
               no_prompt=False, grid=False, pnginfo_section_name="parameters", p=None, existing_info=None,
               forced_filename=None, suffix="", save_to_dirs=None):
    os.makedirs(path, exist_ok=True)
    if forced_filename is None:
        file_decoration = "" if short_filename or seed is None else (opts.samples_filename_pattern or "[seed]")
        file_decoration = apply_filename_pattern(file_decoration, seed, prompt) + suffix
        add_number = opts.save_images_add_number or file_decoration == ""
        if file_decoration != "" and add_number:
            file_decoration = f"-{file_decoration}"
        if add_number:
            basecount = get_next_sequence_number(path, basename)
            fullfn = None
            for i in range(500):
                fn = f"{basecount + i:05}" if basename == "" else f"{basename}-{basecount + i:04}"
                fullfn = os.path.join(path, f"{fn}{file_decoration}.{extension}")
                if not os.path.exists(fullfn):
                    break
        else:
            fullfn = os.path.join(path, f"{file_decoration}.{extension}")
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

    def _atomically_save_image(image_to_save, filename_without_extension, extension):
        temp_file_path = f"{filename_without_extension}.tmp"
        save_image_with_geninfo(image_to_save, info, temp_file_path, extension, existing_pnginfo=params.pnginfo,
                                pnginfo_section_name=pnginfo_section_name)
        filename = filename_without_extension + extension
        without_extension = filename_without_extension
        if opts.save_images_replace_action != "Replace":
            n = 0
            while os.path.exists(filename):
                n += 1
                without_extension = f"{filename_without_extension}-{n}"
                filename = without_extension + extension
        os.replace(temp_file_path, filename)
        return without_extension

    fullfn_without_extension, extension = os.path.splitext(params.filename)
    if hasattr(os, "statvfs"):
        max_name_len = os.statvfs(path).f_namemax
        fullfn_without_extension = fullfn_without_extension[:max_name_len - max(4, len(extension))]
        params.filename = fullfn_without_extension + extension
        fullfn = params.filename
    written = _atomically_save_image(image, fullfn_without_extension, extension)
    if shared.FLAVOUR.forge_backend:  # F images.py:746-748, Neo the same; A, Classic, reForge keep fullfn
        fullfn = written + extension
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
