"""Canonical JSON (RFC 8785 / JCS) and the recipe digest.

The same recipe always gives the same bytes whatever the key order or number spelling (1.0 and 1 are
the same number), so a digest over them is stable across writers and languages.

`metadata_sha256` is the sha256 of the canonical JSON of the recipe with `hashes.metadata_sha256` left
out (and `hashes` itself left out when that empties it, so adding a digest to a recipe that had no
`hashes` does not change what the digest covers). `weights_sha256` stays in: it binds the recipe to the
weights.
"""

from __future__ import annotations

import copy
import hashlib

import rfc8785

from iga_core.errors import IgaInvalid
from iga_core.recipe.shorthand import canonical_form

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without loading typing (tests/test_cli_imports.py)
if TYPE_CHECKING:
    from typing import Any


class NotCanonicalizable(IgaInvalid):
    """The value cannot be written as canonical JSON (NaN, infinity, huge integer, non-string key)."""


def _plain(obj: Any) -> Any:
    to_dict = getattr(obj, "to_dict", None)
    return to_dict() if callable(to_dict) else obj


def canonical_json(obj: Any) -> bytes:
    """RFC 8785 bytes of a JSON value (a `Recipe` is converted with `to_dict()` first)."""
    try:
        return rfc8785.dumps(_plain(obj))
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise NotCanonicalizable(
            f"value cannot be written as canonical JSON: {exc}",
            "use only finite numbers, integers within ±(2^53 - 1), string keys, and JSON types",
        ) from exc


def digest_input(d: dict) -> dict:
    """The part of a recipe the metadata digest covers: everything but `hashes.metadata_sha256`, with
    shorthand in its canonical form."""
    out = dict(canonical_form(_plain(d)))
    hashes = out.get("hashes")
    if isinstance(hashes, dict) and "metadata_sha256" in hashes:
        rest = {k: v for k, v in hashes.items() if k != "metadata_sha256"}
        if rest:
            out["hashes"] = rest
        else:
            del out["hashes"]
    return out


def metadata_sha256(d: dict) -> str:
    """sha256 hex of the canonical JSON of `d` without `hashes.metadata_sha256`."""
    return hashlib.sha256(canonical_json(digest_input(d))).hexdigest()


def with_metadata_digest(d: dict) -> dict:
    """A deep copy of `d` with `hashes.metadata_sha256` set to its digest."""
    out = copy.deepcopy(_plain(d))
    digest = metadata_sha256(out)
    hashes = out.get("hashes")
    out["hashes"] = {**(hashes if isinstance(hashes, dict) else {}), "metadata_sha256": digest}
    return out


def digest_status(d: dict) -> str:
    """ "absent", "matches" or "differs": how the stored metadata digest compares with the content."""
    hashes = d.get("hashes") if isinstance(d, dict) else None
    stored = hashes.get("metadata_sha256") if isinstance(hashes, dict) else None
    if not stored:
        return "absent"
    return "matches" if stored == metadata_sha256(d) else "differs"
