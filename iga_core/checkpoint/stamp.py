"""Put a recipe into a checkpoint (or next to it), take it out again, never loading tensors.

- `stamp` writes the recipe as a compact JSON string under `__metadata__["iga"]`. When the new header fits
  in the old one (its JSON plus padding), only the header bytes are rewritten, whatever the file size.
  Otherwise the tensor bytes are streamed into a temp file in the same folder, behind a header with
  `SPARE_PADDING` bytes reserved for later in-place edits; the temp file is fsynced and renamed over the
  original with `os.replace`, so a crash leaves either the old file or the new one, never a mix.
- The first stamp records the file's full sha256 in `hashes.source_file_sha256` (the WebUI's "Model hash"
  lookups of the original download stay possible) and says that the "Model hash" (AutoV2) will change.
- `hashes.weights_sha256` (tensor bytes only) binds the recipe to the weights, `hashes.metadata_sha256`
  binds it to itself. The ModelSpec keys the recipe implies are added without overwriting other writers'.
- Sidecar mode writes `<checkpoint>.iga.json` and never touches the checkpoint (`.ckpt` files, read-only
  disks, files the user won't modify). Which of the two wins when both exist is `iga_core.checkpoint.sources`' job.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from iga_core.checkpoint import hashing
from iga_core.checkpoint.atomic import commit, temp_file_beside, write_json_atomic
from iga_core.checkpoint.safetensors_io import (
    LENGTH_PREFIX,
    PAGE,
    Header,
    HeaderDoesNotFit,
    encode_header,
    is_safetensors_path,
    read_header,
    remember_written,
)
from iga_core.errors import IgaError, IgaInvalid, IgaIOError
from iga_core.recipe.files import read_json_file

RECIPE_KEY = "iga"
SIDECAR_SUFFIX = ".iga.json"
#: room reserved after the JSON on a rewrite, so later stamps of a grown recipe stay in place
SPARE_PADDING = 64 * 1024
COPY_BLOCK = 64 * 1024 * 1024

Progress = Callable[[int, int], None]

AUTOV2_NOTICE = (
    "The WebUI 'Model hash' (AutoV2) of this file changes with this stamp; the original full-file sha256 "
    "{source} (AutoV2 {short}) is kept in hashes.source_file_sha256 for lookups."
)


class Refused(IgaInvalid):
    """The action is not possible for this file as asked (e.g. stamping a .ckpt in place)."""


class EmbeddedRecipeInvalid(IgaInvalid):
    """`__metadata__["iga"]` is present but is not a JSON object."""


class SidecarInvalid(IgaInvalid):
    """The `.iga.json` sidecar is not a JSON object."""


class NoRecipe(IgaInvalid):
    """There is no recipe where one was expected."""


class WriteFailed(IgaIOError):
    """Writing failed (disk full, permissions); the original file is unchanged."""


@dataclass(frozen=True)
class StampResult:
    path: str  # the file that now holds the recipe (the checkpoint, the copy or the sidecar)
    mode: str  # "in_place" | "rewrite" | "copy" | "sidecar"
    recipe: dict
    weights_sha256: str
    metadata_sha256: str
    source_file_sha256: str | None
    first_stamp: bool
    modelspec_added: dict[str, str] = field(default_factory=dict)
    modelspec_kept: dict[str, str] = field(default_factory=dict)  # already set to something else: left as is
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StripResult:
    path: str
    mode: str  # "in_place" | "copy" | "unchanged"
    removed: dict | None


# ---- reading ----


def sidecar_path(checkpoint_path: str | os.PathLike) -> Path:
    """`<checkpoint>.iga.json` next to the checkpoint (the full file name is kept, suffix included)."""
    p = Path(checkpoint_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def read_embedded(source: str | os.PathLike | Header) -> dict | None:
    """The recipe stored in a safetensors header, or None. Raises `EmbeddedRecipeInvalid` if it is not JSON."""
    header = source if isinstance(source, Header) else read_header(source)
    raw = header.metadata.get(RECIPE_KEY)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        raise EmbeddedRecipeInvalid(
            f'{header.path}: __metadata__["iga"] is not a JSON object',
            "re-stamp the checkpoint with `iga stamp`, or remove the broken value with `iga strip`",
        )
    return value


def read_sidecar(path: str | os.PathLike) -> dict | None:
    """The recipe in a sidecar file (give the sidecar's own path), or None when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        value = read_json_file(path, what="sidecar")
    except IgaError as exc:
        raise SidecarInvalid(exc.message, "fix the sidecar file, or delete it") from None
    if not isinstance(value, dict):
        raise SidecarInvalid(f"sidecar {path} does not hold a JSON object", "fix the sidecar file, or delete it")
    return value


# ---- stamping ----


def is_first_stamp(path: str | os.PathLike) -> bool:
    """True when stamping `path` in place would be its first stamp (and so change its WebUI "Model hash")."""
    try:
        previous = read_embedded(path)
    except EmbeddedRecipeInvalid:
        return True
    return _previous_source_hash(previous) is None


def stamp(
    path: str | os.PathLike,
    recipe_dict: dict,
    *,
    out: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> StampResult:
    """Embed `recipe_dict` in the checkpoint at `path` (or in a copy at `out`). See the module docstring."""
    path = Path(path)
    if not is_safetensors_path(path):
        raise Refused(
            f"{path.name} is not a .safetensors file; its format has no metadata block to stamp",
            "use sidecar mode: `iga stamp --sidecar CKPT RECIPE` writes CKPT.iga.json instead",
        )
    _require_valid(recipe_dict)
    header = read_header(path)
    try:
        previous = read_embedded(header)
    except EmbeddedRecipeInvalid:
        previous = None  # overwritten below; nothing to keep from it
    notices: list[str] = []
    source = _previous_source_hash(previous)
    first = source is None
    if first:
        source, weights = hashing.file_and_weights_sha256(path, progress)
        notices.append(AUTOV2_NOTICE.format(source=source, short=hashing.autov2(source)))
    else:
        weights = hashing.weights_sha256(path, progress)
    recipe = _with_hashes(recipe_dict, weights=weights, source=source)

    metadata = dict(header.metadata)
    metadata[RECIPE_KEY] = _compact(recipe)
    added, kept = _sync_modelspec(metadata, recipe, previous)
    notices += [f"{k} is already {v!r}; left unchanged" for k, v in kept.items()]

    same_file = out is None or _same_file(path, Path(out))
    target = path if same_file else Path(out)
    if same_file:
        try:
            block = encode_header(metadata, header.tensors, exact_len=header.header_len, original=header)
        except HeaderDoesNotFit:
            block = None
        if block is not None:
            _write_in_place(path, header, block)
            remember_written(path, block, header.file_size, metadata, header)  # the next read skips the parse
            mode = "in_place"
        else:
            _rewrite(path, path, header, _rewrite_header(metadata, header), progress)
            mode = "rewrite"
    else:
        _rewrite(path, target, header, _rewrite_header(metadata, header), progress)
        mode = "copy"
    hashing.remember(target, weights_sha256=weights)  # the tensor bytes did not change
    return StampResult(
        path=str(target),
        mode=mode,
        recipe=recipe,
        weights_sha256=weights,
        metadata_sha256=recipe["hashes"]["metadata_sha256"],
        source_file_sha256=source,
        first_stamp=first,
        modelspec_added=added,
        modelspec_kept=kept,
        notices=notices,
    )


def strip(path: str | os.PathLike, *, out: str | os.PathLike | None = None) -> StripResult:
    """Remove the embedded recipe (ModelSpec keys stay: they describe the model, whoever wrote them)."""
    path = Path(path)
    header = read_header(path)
    if RECIPE_KEY not in header.metadata:
        return StripResult(path=str(path), mode="unchanged", removed=None)
    try:
        removed = read_embedded(header)
    except EmbeddedRecipeInvalid:
        removed = {}
    metadata = {k: v for k, v in header.metadata.items() if k != RECIPE_KEY}
    if out is None or _same_file(path, Path(out)):
        # A smaller header always fits in the old one.
        _write_in_place(path, header, encode_header(metadata, header.tensors, exact_len=header.header_len, original=header))
        return StripResult(path=str(path), mode="in_place", removed=removed)
    _rewrite(path, Path(out), header, _rewrite_header(metadata, header), None)
    return StripResult(path=str(out), mode="copy", removed=removed)


def extract(
    path: str | os.PathLike, sidecar: str | os.PathLike | None = None, *, overwrite: bool = False
) -> Path:
    """Copy the embedded recipe, unchanged, into a sidecar file (default `<checkpoint>.iga.json`)."""
    recipe = read_embedded(path)
    if recipe is None:
        raise NoRecipe(f"{Path(path).name} has no embedded recipe to extract", "stamp one first with `iga stamp`")
    target = Path(sidecar) if sidecar is not None else sidecar_path(path)
    if target.exists() and not overwrite:
        try:
            existing = read_sidecar(target)
        except SidecarInvalid:
            existing = None
        if existing != recipe:
            raise Refused(f"{target} already exists with other content", "pass --force to overwrite it")
    write_json_atomic(target, recipe)
    return target


def write_sidecar(
    path: str | os.PathLike, recipe_dict: dict, *, progress: Progress | None = None
) -> StampResult:
    """Sidecar mode: write `<checkpoint>.iga.json` with the hashes set; the checkpoint is not touched."""
    path = Path(path)
    _require_valid(recipe_dict)
    embedded = None
    if is_safetensors_path(path):
        with contextlib.suppress(EmbeddedRecipeInvalid):
            embedded = read_embedded(path)
    source = _previous_source_hash(embedded)
    if source is None:
        source, weights = hashing.file_and_weights_sha256(path, progress)
    else:
        weights = hashing.weights_sha256(path, progress)
    recipe = _with_hashes(recipe_dict, weights=weights, source=source)
    target = sidecar_path(path)
    write_json_atomic(target, recipe)
    return StampResult(
        path=str(target),
        mode="sidecar",
        recipe=recipe,
        weights_sha256=weights,
        metadata_sha256=recipe["hashes"]["metadata_sha256"],
        source_file_sha256=source,
        first_stamp=False,
        notices=[f"{path.name} is unchanged; the recipe is in {target.name}"],
    )


# ---- recipe helpers ----


def _require_valid(recipe_dict: object) -> None:
    from iga_core.recipe import RecipeInvalid, validate_recipe

    if not isinstance(recipe_dict, dict):
        raise Refused("a recipe must be a JSON object", "check the recipe file")
    # The hashes are recomputed for this file, so stale or foreign ones are not a reason to refuse.
    problems = validate_recipe({k: v for k, v in recipe_dict.items() if k != "hashes"})
    if problems:
        raise RecipeInvalid(problems)


def _previous_source_hash(previous: dict | None) -> str | None:
    hashes = previous.get("hashes") if isinstance(previous, dict) else None
    value = hashes.get("source_file_sha256") if isinstance(hashes, dict) else None
    return value if isinstance(value, str) and value else None


def _with_hashes(recipe_dict: dict, *, weights: str, source: str | None) -> dict:
    from iga_core.recipe import with_metadata_digest

    recipe = copy.deepcopy(recipe_dict)
    hashes = {k: v for k, v in (recipe.get("hashes") or {}).items() if k != "metadata_sha256"}
    hashes["weights_sha256"] = weights
    if source:
        hashes["source_file_sha256"] = source
    recipe["hashes"] = hashes
    return with_metadata_digest(recipe)


def _compact(recipe: dict) -> str:
    from iga_core.recipe import canonical_json

    return canonical_json(recipe).decode("utf-8")


_PREDICTION_TYPES = {"eps": "epsilon", "v": "v"}


def modelspec_keys(recipe: dict | None) -> dict[str, str]:
    """The ModelSpec `__metadata__` keys a recipe implies (prediction type, resolution, clip skip, hash)."""
    if not isinstance(recipe, dict):
        return {}
    out: dict[str, str] = {}
    if (pred := _PREDICTION_TYPES.get(recipe.get("prediction_type"))) is not None:
        out["modelspec.prediction_type"] = pred
    preferred = (recipe.get("resolution") or {}).get("preferred") or []
    if preferred and isinstance(preferred[0], dict) and {"width", "height"} <= set(preferred[0]):
        out["modelspec.resolution"] = f"{preferred[0]['width']}x{preferred[0]['height']}"
    if isinstance(recipe.get("clip_skip"), int):
        out["modelspec.encoder_layer"] = str(recipe["clip_skip"])
    weights = (recipe.get("hashes") or {}).get("weights_sha256")
    if isinstance(weights, str) and weights:
        out["modelspec.hash_sha256"] = "0x" + weights
    return out


def _sync_modelspec(metadata: dict[str, str], recipe: dict, previous: dict | None):
    """Set the implied ModelSpec keys in `metadata`. A key already set is replaced only when our previous
    stamp wrote that value; anything else came from another tool and is kept."""
    ours_before = modelspec_keys(previous)
    added: dict[str, str] = {}
    kept: dict[str, str] = {}
    for key, value in modelspec_keys(recipe).items():
        current = metadata.get(key)
        if current is None or current == ours_before.get(key):
            if current != value:
                metadata[key] = value
                added[key] = value
        elif current != value:
            kept[key] = current
    return added, kept


# ---- writing ----


def _rewrite_header(metadata: dict[str, str], header: Header) -> bytes:
    """The header for a rewritten file: spare room for later in-place stamps, and the data section at the
    same offset within a page as in the source, which keeps the kernel copy fast."""
    return encode_header(metadata, header.tensors, spare=SPARE_PADDING, original=header,
                         page_offset=header.data_start % PAGE)  # fmt: skip


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _write_in_place(path: Path, header: Header, block: bytes) -> None:
    """Overwrite the header bytes only; the data section is not touched. Cost does not depend on file size."""
    assert len(block) == LENGTH_PREFIX + header.header_len
    try:
        with open(path, "r+b") as fh:
            st = os.fstat(fh.fileno())
            if st.st_size != header.file_size or fh.read(LENGTH_PREFIX) != block[:LENGTH_PREFIX]:
                raise Refused(f"{path.name} changed while it was being stamped", "run the command again")
            fh.seek(0)
            fh.write(block)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise WriteFailed(f"cannot write {path}: {exc.strerror or exc}", "check permissions, or use --sidecar") from exc
    _bump_mtime(path, st.st_mtime_ns)


def _bump_mtime(path: Path, before_ns: int) -> None:
    # The hosts cache metadata by mtime: make sure it moves even on coarse-clock filesystems.
    with contextlib.suppress(OSError):
        st = os.stat(path)
        if st.st_mtime_ns <= before_ns:
            new = max(time.time_ns(), before_ns + 1_000_000)
            os.utime(path, ns=(st.st_atime_ns, new))


def _rewrite(src: Path, dst: Path, header: Header, block: bytes, progress: Progress | None) -> None:
    """Write `block` plus the data section of `src` to a temp file beside `dst`, fsync, then `os.replace`."""
    folder = dst.parent if str(dst.parent) else Path(".")
    needed = len(block) + header.data_size
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise WriteFailed(f"cannot write to {folder}: {exc.strerror or exc}", "check that the folder exists") from exc
    if free < needed:
        raise WriteFailed(
            f"not enough free space in {folder}: {needed} bytes needed, {free} free",
            "free some space, write a copy elsewhere with --out, or use --sidecar",
        )
    try:
        with temp_file_beside(dst) as (fd, tmp):
            try:
                with open(src, "rb") as fin:
                    st = os.fstat(fin.fileno())
                    if st.st_size != header.file_size:
                        raise Refused(f"{src.name} changed while it was being stamped", "run the command again")
                    _write_all(fd, block)
                    copy_range(fin.fileno(), fd, header.data_start, header.data_size, progress)
                    os.fsync(fd)
            finally:
                os.close(fd)
            commit(tmp, dst, stat.S_IMODE(st.st_mode))
    except OSError as exc:
        raise WriteFailed(
            f"writing {dst.name} failed: {exc.strerror or exc}; the original is unchanged",
            "check free space and permissions",
        ) from exc
    _bump_mtime(dst, st.st_mtime_ns if _same_file(src, dst) else 0)


def copy_range(src_fd: int, dst_fd: int, offset: int, length: int, progress: Progress | None = None) -> None:
    """Append `length` bytes of `src_fd` from `offset` to `dst_fd`, in `COPY_BLOCK` chunks."""
    done = 0
    while done < length:
        n = _copy_chunk(src_fd, dst_fd, offset + done, min(COPY_BLOCK, length - done))
        if n <= 0:
            raise OSError(errno.EIO, "source file ended early")
        done += n
        if progress is not None:
            progress(done, length)


_kernel_copy = hasattr(os, "copy_file_range")


def _copy_chunk(src_fd: int, dst_fd: int, offset: int, count: int) -> int:
    """Copy up to `count` bytes; returns how many. Kernel-side copy where possible (no user-space buffer)."""
    global _kernel_copy
    if _kernel_copy:
        try:
            return os.copy_file_range(src_fd, dst_fd, count, offset)
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EPERM):
                raise
            _kernel_copy = False
    data = os.pread(src_fd, min(count, 16 * 1024 * 1024), offset)
    _write_all(dst_fd, data)
    return len(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
