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
import json

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
    """RFC 8785 bytes of a JSON value (a `Recipe` is converted with `to_dict()` first).

    A value whose object keys are ASCII and whose numbers are integers in the safe range, integral floats
    there, or floats from 1e-4 on (what recipes hold) is written by the C JSON encoder: sorted ASCII keys are
    in RFC 8785's UTF-16 order, its string escapes are `json.dumps`' with `ensure_ascii=False`, an integral
    float is written as the integer, and from 1e-4 to 2^53 Python's shortest repr is ECMAScript's. Anything
    else (a non-ASCII key, an exponent, a value out of range or not JSON) goes to the rfc8785 library, which
    writes it or says why not. `tests/test_recipe_canonical.py` holds the two to the same bytes."""
    value = _plain(obj)
    try:
        return json.dumps(_normal(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False).encode("utf-8")  # fmt: skip
    except (_Slow, ValueError, RecursionError):  # ValueError: a lone surrogate (the library refuses it too)
        pass
    import rfc8785  # the general case

    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise NotCanonicalizable(
            f"value cannot be written as canonical JSON: {exc}",
            "use only finite numbers, integers within ±(2^53 - 1), string keys, and JSON types",
        ) from exc


_SAFE_INT = 2**53 - 1


class _Slow(Exception):
    """The value needs the general RFC 8785 writer (`canonical_json`)."""


def _normal(value: Any) -> Any:
    """`value` with integral floats as integers, for the C encoder; raises `_Slow` where its output would not
    be RFC 8785's (see `canonical_json`)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -_SAFE_INT <= value <= _SAFE_INT:
            return value
        raise _Slow
    if kind is float:
        if value.is_integer():
            if -_SAFE_INT <= value <= _SAFE_INT:
                return int(value)  # 7.0 is written 7, -0.0 is written 0
            raise _Slow  # beyond 2^53 ECMAScript pads the shortest digits with zeros
        if 1e-4 <= abs(value) < 1e16:  # (not NaN or infinite) repr has no exponent, its digits are ECMAScript's
            return value
        raise _Slow
    if kind is dict:
        if not all(type(k) is str and k.isascii() for k in value):
            raise _Slow
        return {k: _normal(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_normal(v) for v in value]
    raise _Slow


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
