"""The base model a kohya-trained file names, compared with a checkpoint.

kohya sd-scripts (train_network.py, commit 48d368fa) records the model it trained on when that was a file:
`ss_sd_model_name` (its base name), `ss_sd_model_hash` = `train_util.model_hash(path)` — A1111's old 8-hex
"model hash" (AutoV1: sha256 of the 64 KiB at 1 MiB) — and `ss_new_sd_model_hash` = its full-file sha256;
likewise `ss_vae_name` / `ss_vae_hash` / `ss_new_vae_hash` for a separate VAE. `model_hash` returns "NOFILE" or
"IsADirectory" instead of a hash when the base was not a file (a diffusers folder): those say nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from iga_core.checkpoint import hashing
from iga_core.records import Record, as_dict

_AUTOV1 = re.compile(r"^[0-9a-fA-F]{8}$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


class TrainedOn(Record, frozen=True):
    name: str | None
    autov1: str | None  # 8 hex, or None when kohya wrote none / a placeholder
    sha256: str | None
    note: str | None = None  # e.g. kohya's "IsADirectory" placeholder explained

    def to_dict(self) -> dict:
        return as_dict(self)

    def describe(self) -> str:
        hashes = ", ".join(x for x in (f"AutoV1 {self.autov1}" if self.autov1 else "",
                                       f"sha256 {self.sha256[:12]}…" if self.sha256 else "") if x)  # fmt: skip
        return f"{self.name or 'an unnamed base model'}" + (f" ({hashes})" if hashes else "")


class BaseCheck(Record, frozen=True):
    status: str  # "same" | "different" | "unknown"
    message: str
    autov1: str | None = None  # the compared checkpoint's
    sha256: str | None = None

    def to_dict(self) -> dict:
        return as_dict(self)


def trained_on(metadata: dict[str, str]) -> TrainedOn | None:
    name = (metadata.get("ss_sd_model_name") or "").strip() or None
    old = (metadata.get("ss_sd_model_hash") or "").strip()
    new = (metadata.get("ss_new_sd_model_hash") or "").strip()
    if not (name or old or new):
        return None
    note = None
    if old and not _AUTOV1.match(old):
        note = (f"ss_sd_model_hash is {old!r}, kohya's placeholder when the base was not a file (a diffusers "
                "folder): no hash to compare")  # fmt: skip
    return TrainedOn(name, old.lower() if _AUTOV1.match(old) else None,
                     new.lower() if _SHA256.match(new) else None, note)  # fmt: skip


def compare(trained: TrainedOn, base: str | os.PathLike, progress: hashing.Progress | None = None) -> BaseCheck:
    """Whether `base` is the model `trained` names: by full-file sha256 when kohya recorded one (hashed once,
    then cached), else by AutoV1 (one 64 KiB read; it samples the file, so a match is weak)."""
    path = Path(base)
    autov1 = hashing.autov1(path)
    sha = hashing.file_sha256(path, progress) if trained.sha256 else None
    name = f"{path.name} (AutoV1 {autov1}" + (f", sha256 {sha[:12]}…)" if sha else ")")
    if sha and trained.sha256:
        if sha == trained.sha256:
            return BaseCheck("same", f"trained on this checkpoint: {name} is {trained.describe()}", autov1, sha)
        return BaseCheck("different", f"trained on another model: {trained.describe()}; {name} differs"
                         + (" (the AutoV1 matches, but the old hash samples only 64 KiB)"
                            if trained.autov1 == autov1 else ""), autov1, sha)  # fmt: skip
    if trained.autov1:
        if trained.autov1 == autov1:
            return BaseCheck("same", f"trained on this checkpoint by AutoV1: {name} matches {trained.describe()} "
                             "(AutoV1 samples only 64 KiB of the file: a weak match)", autov1, sha)  # fmt: skip
        return BaseCheck("different", f"trained on another model: {trained.describe()}; {name} differs", autov1, sha)
    return BaseCheck("unknown", f"{trained.describe()}: kohya recorded no hash to compare"
                     + (f" ({trained.note})" if trained.note else ""), autov1, sha)  # fmt: skip
