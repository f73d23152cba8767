"""CivitAI continuity for stamped checkpoints: the original download's AutoV2 in the image's infotext.

Stamping changes a checkpoint's full-file sha256, so the host's "Model hash" (AutoV2, its first 10 hex digits)
no longer names the file CivitAI has; iga keeps the original in the recipe (`hashes.source_file_sha256`).
CivitAI's image parser reads a `Hashes` field of the parameters line as JSON and prefers its `model` entry to
the `Model hash` field: civitai/civitai src/utils/metadata/automatic.metadata.ts (commit 0178ea25) matches
`/, Hashes:\\s*({[^}]+})/`, parses it, and sets `hashes.model` from `Model hash` only when it is absent. The
field is the one CivitAI's own WebUI extension writes (civitai/sd_civitai_extension scripts/gen_hashing.py:
`, Hashes: {json.dumps(...)}` with `"model": <AutoV2>`, `"vae"`, `"lora:<name>"`, `"embed:<name>"`).

The host writes `p.extra_generation_params` values through `quote()` (A1111 v1.10.1 modules/infotext_utils.py:
56-60): a value with `:` is written as `json.dumps(value)`. A `str` holding JSON would become a quoted string,
which CivitAI's pattern does not match; a `dict` is written by the same `json.dumps` as the raw object,
`{"model": "0123456789"}` — exactly the extension's form. With the single `model` key it has no comma, so the
host's own parser reads the parameters line back unchanged (A 16-18 `re_param`).
"""

from __future__ import annotations

import json
import re

KEY = "Hashes"
AUTOV2_LENGTH = 10
#: civitai/civitai src/utils/metadata/automatic.metadata.ts `hashesRegex`
CIVITAI_PATTERN = re.compile(r", Hashes:\s*({[^}]+})")
_HEX = re.compile(r"^[0-9a-f]{64}$")


def original_model_hash(source_kind: str | None, source_file_sha256: str | None,
                        host_model_hash: str | None) -> str | None:  # fmt: skip
    """The pre-stamp AutoV2 to give CivitAI, or None: only for a recipe embedded in the file (a sidecar or a
    registry entry leaves the file and its hash alone), only when the file's hash changed (the host's
    Model hash, when it has one, differs)."""
    if source_kind != "embedded" or not isinstance(source_file_sha256, str):
        return None
    digest = source_file_sha256.strip().lower()
    if not _HEX.match(digest):
        return None
    short = digest[:AUTOV2_LENGTH]
    if isinstance(host_model_hash, str) and host_model_hash.strip().lower() == short:
        return None
    return short


def merged(existing: object, model_hash: str) -> dict | None:
    """The `Hashes` value with `model` set: another writer's dict (or its JSON text) is kept, its `model`
    entry included (it named the file first). None when `existing` is something else (left alone)."""
    if existing is None:
        return {"model": model_hash}
    value = existing
    if isinstance(existing, str):
        try:
            value = json.loads(existing)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    return value if "model" in value else {**value, "model": model_hash}


def civitai_model_hash(parameters_line: str) -> str | None:
    """What CivitAI takes as the image's model hash from an A1111 parameters line: `Hashes`' `model`,
    else `Model hash` (automatic.metadata.ts)."""
    m = CIVITAI_PATTERN.search(parameters_line)
    if m:
        try:
            hashes = json.loads(m[1])
        except ValueError:
            hashes = None
        if isinstance(hashes, dict) and isinstance(hashes.get("model"), str):
            return hashes["model"]
    m = re.search(r"(?:^|, )Model hash: ([^,]+)", parameters_line)
    return m[1].strip() if m else None
