"""File names from a pattern of `[token]`s, safe on Windows, macOS and Linux.

`DEFAULT_PATTERN` is `[datetime]-[seed]-[checkpoint_name]-[sampler]-[schedule]-[steps]-cfg[cfg]`; token
names are case-insensitive, as in the host (A1111 v1.10.1 images.py:381-417 looks them up lowercased).
`FILENAME_TOKENS` is the table the WebUI glue registers as host filename tokens (A images.py
`FilenameGenerator.replacements`); the host already has `seed`, `steps`, `cfg`, `sampler`, `scheduler`,
`model_name`, `model_hash` (A images.py:395) and `datetime`, so only the names the host lacks are registered
there. `[weights_hash]` is the recipe's weights_sha256 cut to the host's short-hash length: it names the
tensors, so it stays the same when a stamp changes the file (and with it the host's `[model_hash]`).

Safety: each value is cleaned (characters Windows, macOS or Linux refuse become `_`, whitespace becomes
`_`), a token with no value is dropped with the text before it (like the host's
NOTHING_AND_SKIP_PREVIOUS_TEXT), the whole name is cut to `max_length` characters and 200 UTF-8 bytes
(leaving room for the host's `00001-` counter and the extension within 255 bytes), trailing dots and
spaces are removed and Windows' reserved device names (CON, NUL, COM1, ...) get a `_` prefix.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from iga_core.errors import IgaInvalid

DEFAULT_PATTERN = "[datetime]-[seed]-[checkpoint_name]-[sampler]-[schedule]-[steps]-cfg[cfg]"
#: the design document's pattern, as it writes it (token names are case-insensitive): one of the choices the
#: `iga_filename_pattern` setting offers (iga_webui/settings.json)
DESIGN_PATTERN = "[datetime]-[seed]-[checkpoint_name]-[sampler]-[schedule]-[steps]-cfg[CFG]"
#: hex digits of weights_sha256 in `[weights_hash]`: the length of the hosts' own short hash (A hashes.py
#: sha256 -> shorthash [0:10]), so a name carries both at the same width
WEIGHTS_HASH_DIGITS = 10
DATETIME_FORMAT = "%Y%m%d%H%M%S"  # the host's default_time_format (A images.py:418)
MAX_LENGTH = 120
MAX_BYTES = 200
FORBIDDEN = set('<>:"/\\|?*#') | {chr(c) for c in range(32)} | {"\x7f"}
RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
            *(f"COM{i}" for i in "123456789¹²³"), *(f"LPT{i}" for i in "123456789¹²³")}
_TOKEN = re.compile(r"\[([^\[\]]+)\]")


class FilenamePatternInvalid(IgaInvalid):
    """A file-name pattern names a token that does not exist or is malformed."""


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime(DATETIME_FORMAT)
        except ValueError:
            return value
    return ""


def _stem(name: Any) -> str:
    # a checkpoint's title may carry a folder, an extension and the host's " [hash]" suffix
    text = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    text = re.sub(r"\s*\[[0-9a-fA-F]{8,}\]$", "", text)
    return re.sub(r"\.(safetensors|ckpt|pt|pth|bin|gguf)$", "", text, flags=re.IGNORECASE)


def _hex(value: Any) -> str:
    # hashes only: anything but hex digits (a hostile record's text) gives no value, not a file-name part
    text = str(value).strip().lower().removeprefix("0x")
    return text if re.fullmatch(r"[0-9a-f]{1,128}", text) else ""


@dataclass(frozen=True)
class FilenameToken:
    name: str
    description: str
    value: Callable[[Mapping[str, Any]], str]
    host_has: str | None = None  # the host's own token with the same meaning, if any


def _get(key: str, fmt: Callable[[Any], str] = str) -> Callable[[Mapping[str, Any]], str]:
    def read(values: Mapping[str, Any]) -> str:
        value = values.get(key)
        return "" if value is None or value == "" else fmt(value)
    return read


FILENAME_TOKENS: dict[str, FilenameToken] = {t.name: t for t in (
    FilenameToken("datetime", "date and time of generation, YYYYMMDDhhmmss", _get("datetime", _datetime), "datetime"),
    FilenameToken("seed", "the image's seed", _get("seed", _number), "seed"),
    FilenameToken("checkpoint_name", "checkpoint file name without folder, extension or hash",
                  _get("checkpoint_name", _stem), "model_name"),
    FilenameToken("sampler", "sampler name", _get("sampler"), "sampler"),
    FilenameToken("schedule", "schedule type (empty for samplers that ignore it)", _get("schedule"), "scheduler"),
    FilenameToken("steps", "sampling steps", _get("steps", _number), "steps"),
    FilenameToken("cfg", "CFG scale, as 7 or 3.5", _get("cfg", _number), "cfg"),
    FilenameToken("width", "image width", _get("width", _number), "width"),
    FilenameToken("height", "image height", _get("height", _number), "height"),
    FilenameToken("model_hash", "the host's short model hash (first 10 hex digits of the checkpoint file's sha256)",
                  _get("model_hash", _hex), "model_hash"),
    FilenameToken("weights_hash", f"first {WEIGHTS_HASH_DIGITS} hex digits of the recipe's weights_sha256 (the "
                  "tensor bytes: unchanged by a stamp, unlike the model hash)",
                  _get("weights_sha256", lambda v: _hex(v)[:WEIGHTS_HASH_DIGITS])),
    FilenameToken("iga_preset", "IGA preset name", _get("preset")),
    FilenameToken("iga_recipe", "first 12 hex digits of the recipe digest",
                  _get("recipe_digest", lambda v: str(v)[:12])),
    FilenameToken("iga_status", "guard outcome: ok, warn, override, audit, ...", _get("outcome")),
)}


def values_from_record(record: dict) -> dict[str, Any]:
    """The token values of an audit record (what the glue passes per image)."""
    params = record.get("params") or {}
    ran = record.get("recipe") or {}  # the record's recipe part: digest, source, model_id
    return {
        "datetime": record.get("timestamp"), "seed": params.get("seed"),
        "checkpoint_name": (record.get("checkpoint") or {}).get("name"), "sampler": params.get("sampler"),
        "schedule": params.get("schedule"), "steps": params.get("steps"), "cfg": params.get("cfg"),
        "width": params.get("width"), "height": params.get("height"), "preset": record.get("preset"),
        "recipe_digest": ran.get("digest"), "outcome": (record.get("guard") or {}).get("outcome"),
        "model_hash": (record.get("checkpoint") or {}).get("model_hash"),
        "weights_sha256": (record.get("checkpoint") or {}).get("weights_sha256"),
    }


def clean_part(text: str) -> str:
    """One value made safe for any file system: forbidden characters and whitespace become `_`."""
    text = unicodedata.normalize("NFC", text)
    out = []
    for ch in text:
        if ch in FORBIDDEN or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or ch.isspace():
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


def safe_filename(name: str, *, max_length: int = MAX_LENGTH, max_bytes: int = MAX_BYTES) -> str:
    """`name` cleaned and capped so every common file system accepts it (never empty)."""
    text = clean_part(name.strip().rstrip(". \t\r\n"))
    text = text[:max_length]
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1]
    text = text.rstrip(".")  # Windows drops trailing dots (spaces were already made "_")
    if not text or set(text) <= {"."}:
        return "image"
    # Windows refuses device names even with an extension ("NUL.png", "com1.tar.gz")
    if text.split(".")[0].upper() in RESERVED:
        text = "_" + text
    return text


def parse_pattern(pattern: str) -> list[tuple[str, str | None]]:
    """Split a pattern into (literal text, token name or None) pairs; unknown tokens raise."""
    parts: list[tuple[str, str | None]] = []
    pos = 0
    for m in _TOKEN.finditer(pattern):
        name = m.group(1).strip().lower()
        if name not in FILENAME_TOKENS:
            raise FilenamePatternInvalid(
                f"unknown file-name token [{m.group(1)}]",
                f"use one of: {', '.join(f'[{n}]' for n in FILENAME_TOKENS)}",
            )
        parts.append((pattern[pos:m.start()], name))
        pos = m.end()
    parts.append((pattern[pos:], None))
    return parts


def filename_from_pattern(pattern: str, values: Mapping[str, Any], *, max_length: int = MAX_LENGTH) -> str:
    """The file name (without extension) for `values` (see `values_from_record`)."""
    out = ""
    for literal, token in parse_pattern(pattern):
        if token is None:
            out += literal
            continue
        value = clean_part(FILENAME_TOKENS[token].value(values))
        if value:
            out += literal + value
        # an empty value drops the separator before it, so "a--b" never appears
    return safe_filename(out.lstrip("-_ "), max_length=max_length)
