"""A `.civitai.info` file checked against the checkpoint it sits beside.

Civitai Helper saves CivitAI's model-version answer as `<checkpoint name>.civitai.info`; its `files[]` list the
version's files, each with `hashes` {AutoV1, AutoV2, SHA256, CRC32, BLAKE3, AutoV3} (the public API's
`/model-versions/by-hash` answer, https://developer.civitai.com/site/reference/model-versions). AutoV2 is the
first 10 hex digits of the full-file SHA256 (A1111's "Model hash"); AutoV1 the old 8-hex hash of the 64 KiB at
1 MiB (`hashing.autov1`); AutoV3 a hash of the tensor data only, which header edits do not change (Civitai
Helper issue #115) — compared here as a prefix of `weights_sha256`, and only counted when it matches.

The check never hashes a whole file unless asked (`full=True`): AutoV1 costs one 64 KiB read, the full-file
and weights digests are taken from the hash cache when there (`hashing.cached`). A file stamped by iga keeps
its original full-file sha256 in its recipe (`hashes.source_file_sha256`): pass it as `source_file_sha256`,
and a `.civitai.info` of the original download is recognised as such ("stamped").
"""

from __future__ import annotations

import os
from pathlib import Path

from iga_core.checkpoint import hashing
from iga_core.records import Record

STATUSES = ("matches", "stamped", "mismatch", "unchecked")
INFO_LIMIT = 4 << 20  # bytes read of a .civitai.info (the size cap for files beside a checkpoint)


class InfoCheck(Record, frozen=True):
    status: str  # one of STATUSES
    matched: tuple[str, ...]  # the hash kinds that matched ("SHA256", "AutoV2", "AutoV1", "AutoV3")
    compared: tuple[str, ...]  # the kinds that could be compared at all
    file_name: str | None  # the files[] entry that matched (or the primary one, for a mismatch)
    message: str

    @property
    def usable(self) -> bool:
        """Whether what the info says may be taken as said of this file."""
        return self.status != "mismatch"

    def to_dict(self) -> dict:
        return {"status": self.status, "matched": list(self.matched), "compared": list(self.compared),
                "file_name": self.file_name, "message": self.message}  # fmt: skip


def listed_files(info: object) -> list[tuple[str, dict[str, str], bool]]:
    """(name, hashes, primary) of each `files[]` entry that carries hashes."""
    files = info.get("files") if isinstance(info, dict) else None
    out = []
    for f in files if isinstance(files, list) else []:
        hashes = f.get("hashes") if isinstance(f, dict) else None
        if isinstance(hashes, dict):
            clean = {k: v.strip() for k, v in hashes.items() if isinstance(k, str) and isinstance(v, str) and v.strip()}
            if clean:
                out.append((str(f.get("name") or "?"), clean, f.get("primary") is True))
    return out


def check(checkpoint: str | os.PathLike, info: object, *, info_name: str = ".civitai.info",
          source_file_sha256: str | None = None, full: bool = False) -> InfoCheck:  # fmt: skip
    """Compare the hashes `info` lists with the file's own (see the module docstring)."""
    path = Path(checkpoint)
    files = listed_files(info)
    if not files:
        return InfoCheck("unchecked", (), (), None, f"{info_name} lists no file hashes; it was not checked "
                         f"against {path.name}")  # fmt: skip
    ours = _ours(path, full)
    original = source_file_sha256.lower() if source_file_sha256 else None
    compared: set[str] = set()
    for name, hashes, _primary in files:
        matched = _matches(hashes, ours, compared)
        if matched:
            weak = "" if set(matched) - {"AutoV1"} else (" — AutoV1 samples only 64 KiB of the file, so this "
                                                          "is a weak match; `iga hash --full` makes it certain")
            return InfoCheck("matches", tuple(matched), tuple(sorted(compared)), name,
                             f"{info_name} describes this file ({name}: {', '.join(matched)} match{weak})")  # fmt: skip
        if original and _same_file(hashes, original):
            return InfoCheck("stamped", ("SHA256 before stamping",), tuple(sorted(compared | {"SHA256"})), name,
                             f"{info_name} describes this file as downloaded ({name}); iga's stamp changed its "
                             "full-file hashes, hashes.source_file_sha256 keeps the original")  # fmt: skip
    if not compared:
        return InfoCheck("unchecked", (), (), None, f"{info_name} lists no hash iga can compare without reading "
                         f"all of {path.name}; run `iga hash --full {path.name}` once (it is cached), then "
                         "check again")  # fmt: skip
    name, hashes, _ = next((f for f in files if f[2]), files[0])
    theirs = ", ".join(f"{k} {hashes[k]}" for k in ("AutoV1", "AutoV2", "SHA256", "AutoV3") if k in hashes)
    have = ", ".join(f"{k} {v}" for k, v in (("AutoV1", ours.get("AutoV1")), ("AutoV2", ours.get("AutoV2")),
                                             ("SHA256", ours.get("SHA256"))) if v)  # fmt: skip
    return InfoCheck("mismatch", (), tuple(sorted(compared)), name,
                     f"{info_name} does not describe {path.name}: CivitAI lists {name} with {theirs}; this "
                     f"file has {have}. It was saved for another file, or this file was changed after it was "
                     "downloaded; what it says (base model, example images) is not used. Fetch the info again "
                     "for this file (Civitai Helper: scan), or delete it")  # fmt: skip


def _ours(path: Path, full: bool) -> dict[str, str]:
    ours = {"AutoV1": hashing.autov1(path)}
    file_sha = hashing.cached(path, "file_sha256")
    weights = hashing.cached(path, "weights_sha256")
    if full and (file_sha is None or weights is None):
        file_sha, weights = hashing.file_and_weights_sha256(path)
    if file_sha:
        ours["SHA256"] = file_sha
        ours["AutoV2"] = hashing.autov2(file_sha)
    if weights:
        ours["weights"] = weights
    return ours


def _matches(hashes: dict[str, str], ours: dict[str, str], compared: set[str]) -> list[str]:
    matched = []
    for kind in ("SHA256", "AutoV2", "AutoV1"):
        if kind in hashes and kind in ours:
            compared.add(kind)
            if hashes[kind].lower() == ours[kind].lower():
                matched.append(kind)
    v3 = hashes.get("AutoV3", "").lower()
    if v3 and "weights" in ours and len(v3) >= 10 and ours["weights"].startswith(v3):
        matched.append("AutoV3")  # counted when it matches only: see the module docstring
    return matched


def _same_file(hashes: dict[str, str], original_sha: str) -> bool:
    sha, v2 = hashes.get("SHA256", "").lower(), hashes.get("AutoV2", "").lower()
    return bool(sha and sha == original_sha) or bool(v2 and original_sha.startswith(v2) and len(v2) >= 10)
