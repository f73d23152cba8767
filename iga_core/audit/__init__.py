"""The audit trail of every image: record, infotext fields, image metadata, file names, paste-back.

- `record`: the versioned audit record (`build_record`, `validate_record`, `parse_record`).
- `infotext`: the short IGA fields of the infotext (`to_infotext_fields` / `from_infotext_params`).
- `image_meta`: the full record in PNG text chunks and JPEG / WebP EXIF (`write_image_metadata`,
  `read_image_metadata`, `read_image`).
- `filename`: safe file names from a `[token]` pattern (`filename_from_pattern`, `FILENAME_TOKENS`).
- `pasteback`: what an infotext or image says and whether it matches a recipe (`compare_to_recipe`).
"""

from __future__ import annotations

from iga_core.audit.filename import (
    DEFAULT_PATTERN,
    FILENAME_TOKENS,
    FilenamePatternInvalid,
    filename_from_pattern,
    safe_filename,
    values_from_record,
)
from iga_core.audit.image_meta import (
    IMAGE_KEY,
    ImageMeta,
    ImageMetaInvalid,
    ImageMetaIOError,
    ImageMetaTooLarge,
    pnginfo_entry,
    read_image,
    read_image_metadata,
    write_image_metadata,
)
from iga_core.audit.infotext import (
    INFOTEXT_KEYS,
    IgaInfotext,
    InfotextInvalid,
    from_infotext_params,
    parse_infotext,
    to_infotext_fields,
)
from iga_core.audit.pasteback import (
    PasteInfo,
    PasteInvalid,
    compare_to_recipe,
    paste_info_from_image,
    paste_info_from_text,
    reproduction,
)
from iga_core.audit.record import (
    AUDIT_VERSION,
    AuditRecordInvalid,
    AuditRecordTooNew,
    build_record,
    dump_record,
    load_record_schema,
    parse_record,
    validate_record,
)

__all__ = [
    "AUDIT_VERSION",
    "DEFAULT_PATTERN",
    "FILENAME_TOKENS",
    "IMAGE_KEY",
    "INFOTEXT_KEYS",
    "AuditRecordInvalid",
    "AuditRecordTooNew",
    "FilenamePatternInvalid",
    "IgaInfotext",
    "ImageMeta",
    "ImageMetaIOError",
    "ImageMetaInvalid",
    "ImageMetaTooLarge",
    "InfotextInvalid",
    "PasteInfo",
    "PasteInvalid",
    "build_record",
    "compare_to_recipe",
    "dump_record",
    "filename_from_pattern",
    "from_infotext_params",
    "load_record_schema",
    "parse_infotext",
    "parse_record",
    "paste_info_from_image",
    "paste_info_from_text",
    "pnginfo_entry",
    "read_image",
    "read_image_metadata",
    "reproduction",
    "safe_filename",
    "to_infotext_fields",
    "validate_record",
    "values_from_record",
    "write_image_metadata",
]
