"""Small parsers shared by the sources."""

from __future__ import annotations

import re

from iga_core.reconstruct.evidence import PROFILE, Evidence

_SIZE = re.compile(r"\(?\s*(\d{2,5})\s*[x×,*]\s*(\d{2,5})\s*\)?")


def parse_size(text: object) -> dict | None:
    """ "1024x1024", "(1024, 1024)", "832,1216" -> {"width", "height"}; sizes the schema accepts only."""
    m = _SIZE.fullmatch(str(text).strip())
    if not m:
        return None
    w, h = int(m[1]), int(m[2])
    if not (64 <= w <= 16384 and 64 <= h <= 16384):
        return None
    return {"width": w - w % 8, "height": h - h % 8}


def parse_int(text: object, lo: int, hi: int) -> int | None:
    try:
        value = int(str(text).strip())
    except ValueError:
        return None
    return value if lo <= value <= hi else None


def truthy(text: object) -> bool | None:
    value = str(text).strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", "none", ""):
        return False
    return None


def profile_evidence(text: str, source: str, what: str, confidence: float) -> list[Evidence]:
    """Evidence of a distilled profile when `text` (a name) matches one of the name patterns."""
    from iga_core.reconstruct.profiles import match_profile

    found = match_profile(text)
    if found is None:
        return []
    return [Evidence(PROFILE, found, source, f"{what} {text!r} looks like {found['profile']}", confidence)]
