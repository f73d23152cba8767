"""Put a recipe into a checkpoint (or next to it), take it out again, never loading tensors.

- `stamp` writes the recipe as a compact JSON string under `__metadata__["iga"]`. When the new header fits
  in the old one (its JSON plus padding), only the header bytes are rewritten, whatever the file size,
  journaled so that a power cut mid-write is repaired (`iga_core.checkpoint.journal`). Otherwise the
  tensor bytes are streamed into a temp file in the same folder, behind a header with `SPARE_PADDING`
  bytes reserved for later in-place edits; the temp file is fsynced and renamed over the original with
  `os.replace`, so a crash leaves either the old file or the new one, never a mix.
- Every write holds the file's advisory lock (`iga_core.checkpoint.locks`): a second stamp of the same file
  waits for the first, then stamps the file the first one left (and says whose recipe it replaced). Under
  the lock, the temp files of a killed rewrite are removed and an interrupted in-place write repaired.
- The file is opened once: the header, the hashes and the write all come from that one open file, and
  before writing, the file at the path must still be the one hashed (device, inode, size, mtime, ctime);
  otherwise the stamp stops ("changed while it was being stamped") instead of binding a stale hash.
- A symlink is stamped at its target (the link stays a link). A file the user cannot write is refused on
  both paths; a file with other hard links is stamped in place (every link sees it) but not rewritten
  (a rewrite would leave the other links unstamped): use `--out` or `--sidecar` then.
- The first stamp records the file's full sha256 in `hashes.source_file_sha256` (the WebUI's "Model hash"
  lookups of the original download stay possible) and says that the "Model hash" (AutoV2) will change.
- `hashes.weights_sha256` (tensor bytes only) and `hashes.tensor_index_sha256` (names, dtypes, shapes and
  offsets of the tensors) bind the recipe to the weights, `hashes.metadata_sha256` binds it to itself. The
  ModelSpec keys the recipe implies are added as a complete ModelSpec header (its MUST keys included),
  without overwriting other writers'; where theirs contradict the recipe, the stamp reports a conflict
  (`iga_core.checkpoint.modelspec`).
- Sidecar mode writes `<checkpoint>.iga.json` and never touches the checkpoint (`.ckpt` files, read-only
  disks, files the user won't modify). Which of the two wins when both exist is `iga_core.checkpoint.sources`' job.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import struct
import time
from collections.abc import Callable
from pathlib import Path

from iga_core.checkpoint import hashing, journal, locks
from iga_core.checkpoint import modelspec as modelspec_header
from iga_core.checkpoint.atomic import commit, remove_stale_temps, temp_file_beside, write_json_atomic

# The reading half lives in `embedded` (so that a reader does not load the writer); its names stay here too.
from iga_core.checkpoint.embedded import (  # noqa: F401
    RECIPE_KEY,
    SIDECAR_SUFFIX,
    EmbeddedRecipeInvalid,
    SidecarInvalid,
    read_embedded,
    read_sidecar,
    sidecar_path,
)
from iga_core.checkpoint.safetensors_io import (
    LENGTH_PREFIX,
    PAGE,
    Header,
    HeaderDoesNotFit,
    encode_header,
    header_from,
    is_safetensors_path,
    open_for_read,
    remember_written,
)
from iga_core.errors import IgaInvalid, IgaIOError
from iga_core.records import Record, as_dict, factory

#: room reserved after the JSON on a rewrite, so later stamps of a grown recipe stay in place
SPARE_PADDING = 64 * 1024
COPY_BLOCK = 64 * 1024 * 1024
#: the one-pass rewrite flushes its copy to disk every this many bytes, while the hashing goes on
WRITE_BEHIND = 256 * 1024 * 1024

Progress = Callable[[int, int], None]

AUTOV2_NOTICE = (
    "The WebUI 'Model hash' (AutoV2) of this file changes with this stamp; the original full-file sha256 "
    "{source} (AutoV2 {short}) is kept in hashes.source_file_sha256 for lookups."
)
INDEX_ADDED_NOTICE = (
    "hashes.tensor_index_sha256 added: the recipe now also binds the tensor table (names, dtypes, shapes, "
    "offsets), not only the tensor bytes."
)


class Refused(IgaInvalid):
    """The action is not possible for this file as asked (e.g. stamping a .ckpt in place)."""


class NoRecipe(IgaInvalid):
    """There is no recipe where one was expected."""


class WriteFailed(IgaIOError):
    """Writing failed (disk full, permissions); the original file is unchanged."""


class StampResult(Record, frozen=True):  # records, not dataclasses: iga_core.records
    path: str  # the file that now holds the recipe (the checkpoint, the copy or the sidecar)
    mode: str  # "in_place" | "rewrite" | "copy" | "sidecar"
    recipe: dict
    weights_sha256: str
    metadata_sha256: str
    source_file_sha256: str | None
    first_stamp: bool
    modelspec_added: dict[str, str] = factory(dict)
    modelspec_kept: dict[str, str] = factory(dict)  # already set to something else: left as is
    # kept keys that contradict the recipe on how the model runs: key -> {"file", "recipe", "message"}
    modelspec_conflicts: dict[str, dict] = factory(dict)
    notices: list[str] = factory(list)
    tensor_index_sha256: str | None = None  # None for a .ckpt sidecar (no tensor table to bind)
    replaced_metadata_sha256: str | None = None  # the digest of the recipe this write replaced, if any

    def to_dict(self) -> dict:
        return as_dict(self)


class StripResult(Record, frozen=True):
    path: str
    mode: str  # "in_place" | "rewrite" | "copy" | "unchanged"
    removed: dict | None


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
    overwrite: bool = False,
    progress: Progress | None = None,
    wait_s: float = locks.DEFAULT_WAIT_S,
    on_wait: Callable[[], None] | None = None,
) -> StampResult:
    """Embed `recipe_dict` in the checkpoint at `path` (or in a copy at `out`). See the module docstring.
    An `out` that already exists is refused unless `overwrite` (as `extract` refuses an existing sidecar).
    `wait_s` / `on_wait`: how long to wait for another writer of the same file (`locks.held`)."""
    path = Path(path)
    if not path.is_file():
        open_for_read(path).close()  # missing, a folder, a FIFO: the typed error says which
    if not is_safetensors_path(path):
        raise Refused(
            f"{path.name} is not a .safetensors file; its format has no metadata block to stamp",
            "use sidecar mode: `iga stamp --sidecar CKPT RECIPE` writes CKPT.iga.json instead",
        )
    _require_valid(recipe_dict)
    plan = _Plan.make(path, out)
    with locks.held(plan.target, wait_s=wait_s, on_wait=on_wait):
        plan.refuse_existing_out(out, overwrite)
        notices = plan.housekeeping()
        with _opened(plan) as fh:
            result = _stamp_open_file(plan, fh, recipe_dict, notices, progress)
        # the tensor bytes and the tensor table did not change: both digests hold for the file as written
        hashing.remember(plan.target, weights_sha256=result.weights_sha256,
                         tensor_index_sha256=result.tensor_index_sha256)  # fmt: skip
    return result


def _stamp_open_file(plan: _Plan, fh, recipe_dict: dict, notices: list[str], progress: Progress | None) -> StampResult:
    """The stamp itself, holding the lock, on the source opened once (`_opened`)."""
    before = hashing.identity_of(os.fstat(fh.fileno()))
    header = header_from(fh, str(plan.source))
    try:
        previous = read_embedded(header)
    except EmbeddedRecipeInvalid:
        previous = None  # overwritten below; nothing to keep from it
    source = _previous_source_hash(previous)
    first = source is None
    name = str(plan.source)

    def prepared(digests: hashing.Digests) -> _Prepared:
        """The recipe and the header metadata for these digests."""
        # a digest recorded for this exact file state (identity) spares recomputing the index from the header
        index = digests.tensor_index_sha256 or header.tensor_index_sha256
        recipe = _with_hashes(recipe_dict, weights=digests.weights_sha256,
                              source=digests.file_sha256 if first else source, index=index)  # fmt: skip
        metadata = dict(header.metadata)
        metadata[RECIPE_KEY] = _compact(recipe)
        synced = modelspec_header.sync(metadata, recipe, previous, header.tensors)
        return _Prepared(digests, index, recipe, metadata, synced)

    digests = hashing.digests_of(fh, name, progress, want_file=first, compute=False)
    done: list[_Prepared] = []
    mode = None
    if digests is None:
        # Not in the hash cache: a stamp that rewrites the file (the header grew, or a copy) hashes the data
        # while it copies it, one pass (`_rewrite`); one that writes the header in place hashes it first.
        placeholder = prepared(hashing.Digests(_PLACEHOLDER, _PLACEHOLDER if first else None, before))
        if plan.in_place and _fits(placeholder.metadata, header):
            phase(progress, "hashing")
            digests = hashing.hash_file(fh, name, progress, want_file=first)
        else:

            def hash_while_copying(fd: int) -> bytes:
                got = hashing.hash_file(fh, name, progress, want_file=first, copy_to=_block_copier(fh.fileno(), fd))
                if got.identity != before:
                    raise _changed(plan.source)
                done.append(prepared(got))
                return _rewrite_header(done[0].metadata, header)

            try:
                mode = _write_header(plan, fh, header, placeholder.metadata, before, progress,
                                     fill=hash_while_copying)  # fmt: skip
            except _HeaderMoved:  # cannot happen (the digests are hex of fixed length); copied the classic way
                digests, done = done[0].digests, []
    if digests is not None:
        if digests.identity != before:
            raise _changed(plan.source)
        done.append(prepared(digests))
        mode = _write_header(plan, fh, header, done[0].metadata, before, progress)
    result = done[0]
    if first:
        notices.append(AUTOV2_NOTICE.format(source=result.digests.file_sha256,
                                            short=hashing.autov2(result.digests.file_sha256)))  # fmt: skip
    elif not _hashes_of(previous).get("tensor_index_sha256"):
        notices.append(INDEX_ADDED_NOTICE)
    notices += result.synced.notices
    recipe = result.recipe
    _remember_stamped(recipe, result.metadata[RECIPE_KEY])
    return StampResult(
        path=str(plan.target),
        mode=mode,
        recipe=recipe,
        weights_sha256=result.digests.weights_sha256,
        metadata_sha256=recipe["hashes"]["metadata_sha256"],
        source_file_sha256=recipe["hashes"].get("source_file_sha256"),
        first_stamp=first,
        modelspec_added=result.synced.added,
        modelspec_kept=result.synced.kept,
        modelspec_conflicts=result.synced.conflicts,
        notices=plan.notices + notices,
        tensor_index_sha256=result.index,
        replaced_metadata_sha256=_hashes_of(previous).get("metadata_sha256") if plan.in_place else None,
    )


#: stands for a digest still to be computed: one of the same length, so the header it gives has the size
#: the real one will have
_PLACEHOLDER = "0" * 64


class _Prepared(Record, frozen=True):
    digests: hashing.Digests
    index: str | None
    recipe: dict
    metadata: dict
    synced: object  # modelspec_header.sync's answer: the ModelSpec keys added, kept, in conflict, notices


class _HeaderMoved(Exception):
    """The header with the real digests did not fit the room its placeholder reserved (never expected)."""


def _fits(metadata: dict[str, str], header: Header) -> bool:
    try:
        encode_header(metadata, header.tensors, exact_len=header.header_len, original=header)
    except HeaderDoesNotFit:
        return False
    return True


def strip(path: str | os.PathLike, *, out: str | os.PathLike | None = None, overwrite: bool = False,
          wait_s: float = locks.DEFAULT_WAIT_S) -> StripResult:
    """Remove the embedded recipe (ModelSpec keys stay: they describe the model, whoever wrote them).
    An `out` that already exists is refused unless `overwrite`."""
    plan = _Plan.make(Path(path), out)
    with locks.held(plan.target, wait_s=wait_s):
        plan.refuse_existing_out(out, overwrite)
        plan.housekeeping()
        with _opened(plan) as fh:
            identity = hashing.identity_of(os.fstat(fh.fileno()))
            header = header_from(fh, str(plan.source))
            if RECIPE_KEY not in header.metadata:
                return StripResult(path=str(plan.source), mode="unchanged", removed=None)
            try:
                removed = read_embedded(header)
            except EmbeddedRecipeInvalid:
                removed = {}
            metadata = {k: v for k, v in header.metadata.items() if k != RECIPE_KEY}
            mode = _write_header(plan, fh, header, metadata, identity, None)
    return StripResult(path=str(plan.target), mode=mode, removed=removed)


def extract(
    path: str | os.PathLike, sidecar: str | os.PathLike | None = None, *, overwrite: bool = False
) -> Path:
    """Copy the embedded recipe, unchanged, into a sidecar file (default `<checkpoint>.iga.json`)."""
    recipe = read_embedded(path)
    if recipe is None:
        raise NoRecipe(f"{Path(path).name} has no embedded recipe to extract", "stamp one first with `iga stamp`")
    target = Path(sidecar) if sidecar is not None else sidecar_path(path)
    with locks.held(target):
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
    path: str | os.PathLike, recipe_dict: dict, *, progress: Progress | None = None,
    wait_s: float = locks.DEFAULT_WAIT_S,
) -> StampResult:
    """Sidecar mode: write `<checkpoint>.iga.json` with the hashes set; the checkpoint is not touched."""
    path = Path(path)
    _require_valid(recipe_dict)
    target = sidecar_path(path)
    with locks.held(target, wait_s=wait_s), open_for_read(path) as fh:
        header = embedded = None
        if is_safetensors_path(path):
            header = header_from(fh, str(path))
            with contextlib.suppress(EmbeddedRecipeInvalid):
                embedded = read_embedded(header)
        source = _previous_source_hash(embedded)
        phase(progress, "hashing")
        digests = hashing.digests_of(fh, str(path), progress, want_file=source is None)
        recipe = _with_hashes(recipe_dict, weights=digests.weights_sha256, source=source or digests.file_sha256,
                              index=header.tensor_index_sha256 if header is not None else None)  # fmt: skip
        try:
            replaced = _hashes_of(read_sidecar(target)).get("metadata_sha256")
        except SidecarInvalid:
            replaced = None
        write_json_atomic(target, recipe)
    _remember_stamped(recipe)
    return StampResult(
        path=str(target),
        mode="sidecar",
        recipe=recipe,
        weights_sha256=digests.weights_sha256,
        metadata_sha256=recipe["hashes"]["metadata_sha256"],
        source_file_sha256=recipe["hashes"].get("source_file_sha256"),
        first_stamp=False,
        notices=[f"{path.name} is unchanged; the recipe is in {target.name}"],
        tensor_index_sha256=recipe["hashes"].get("tensor_index_sha256"),
        replaced_metadata_sha256=replaced,
    )


# ---- recipe helpers ----


def _require_valid(recipe_dict: object) -> None:
    from iga_core.recipe import known_valid

    if not isinstance(recipe_dict, dict):
        raise Refused("a recipe must be a JSON object", "check the recipe file")
    # The hashes are recomputed for this file, so stale or foreign ones are not a reason to refuse.
    # A recipe validated before by this very validator (a re-stamp) is not validated again.
    problems = known_valid.problems_of({k: v for k, v in recipe_dict.items() if k != "hashes"})
    if problems:
        from iga_core.recipe import RecipeInvalid

        raise RecipeInvalid(problems)


def _remember_stamped(recipe: dict, written: str | None = None) -> None:
    """Remember the recipe as written (`written`: the header's JSON text; hashes included, and numbers as
    canonical JSON spells them: what every reader of the file will parse) as valid, with its digest, so
    that `iga inspect` or a WebUI model load of the stamped file do not validate it again. Its content was
    validated before the write; its hashes (carried over from the recipe given, or computed here) are
    checked here, once."""
    from iga_core.recipe import known_valid

    known_valid.problems_of(json.loads(written) if written is not None else recipe,
                            recipe["hashes"]["metadata_sha256"])  # fmt: skip


def _previous_source_hash(previous: dict | None) -> str | None:
    hashes = previous.get("hashes") if isinstance(previous, dict) else None
    value = hashes.get("source_file_sha256") if isinstance(hashes, dict) else None
    return value if isinstance(value, str) and value else None


def _hashes_of(recipe: dict | None) -> dict:
    hashes = recipe.get("hashes") if isinstance(recipe, dict) else None
    return hashes if isinstance(hashes, dict) else {}


def _with_hashes(recipe_dict: dict, *, weights: str, source: str | None, index: str | None) -> dict:
    from iga_core.recipe import canonical_form, with_metadata_digest

    # stored in the canonical form (shorthand expanded: a copy when there is any); with_metadata_digest below
    # returns a deep copy, so the caller's dict is not touched
    recipe = dict(canonical_form(recipe_dict))
    drop = {"metadata_sha256", "tensor_index_sha256"}  # recomputed here (or not applicable: a .ckpt)
    hashes = {k: v for k, v in (recipe.get("hashes") or {}).items() if k not in drop}
    hashes["weights_sha256"] = weights
    if index:
        hashes["tensor_index_sha256"] = index
    if source:
        hashes["source_file_sha256"] = source
    recipe["hashes"] = hashes
    return with_metadata_digest(recipe)


def _compact(recipe: dict) -> str:
    from iga_core.recipe import canonical_json

    return canonical_json(recipe).decode("utf-8")


def phase(progress: Progress | None, name: str) -> None:
    """Tell a progress callback that has a `start_phase(name)` method (the CLI's bar) which part of the work
    the next `(done, total)` calls measure: "hashing" the file, or "writing" the new one. Plain callables
    (the Recipes tab's progress) are left alone."""
    start = getattr(progress, "start_phase", None)
    if start is not None:
        start(name)


def modelspec_keys(recipe: dict | None, tensors=None) -> dict[str, str]:
    """The ModelSpec `__metadata__` keys a recipe implies for a file with this tensor table: a complete
    header (MUST keys included), or {} when none can be written (`iga_core.checkpoint.modelspec`)."""
    return modelspec_header.implied_keys(recipe, tensors)[0]


# ---- writing ----


class _Plan(Record):
    """Which file a write reads (`source`) and which it writes (`target`), symlinks resolved: a link is
    stamped at its target, and temp files go beside the real file (same filesystem, atomic rename)."""

    source: Path
    target: Path
    in_place: bool  # target is source: the in-place or rewrite path; else a copy
    notices: list[str]

    @classmethod
    def make(cls, path: Path, out: str | os.PathLike | None) -> _Plan:
        source = Path(os.path.realpath(path))
        if not source.is_file():
            open_for_read(source).close()  # raises the precise typed error: missing, a folder, a FIFO...
        notices = [f"{path} is a symlink: its target {source} was written"] if os.path.islink(path) else []
        target = source if out is None else Path(os.path.realpath(out))
        in_place = target == source or _same_file(source, target)
        return cls(source, source if in_place else target, in_place, notices)

    def refuse_existing_out(self, out: str | os.PathLike | None, overwrite: bool) -> None:
        """A copy never replaces a file that is already there unless asked: `--out` naming any existing file
        (another checkpoint, a text file, the source itself) is refused before any work (checked holding the
        target's lock, so no other iga writer can create it in between)."""
        if out is None or overwrite or not os.path.lexists(out):
            return
        what = "the checkpoint itself" if self.in_place else "a file"
        raise Refused(f"{out} already exists ({what}); it was not changed",
                      "pass --force to overwrite it, or choose another --out name")

    def housekeeping(self) -> list[str]:
        """Holding the target's lock: finish or undo an interrupted in-place write, delete the temp files a
        killed rewrite left (no live writer can own them now)."""
        notes = []
        if self.target.exists() and (done := journal.repair(self.target)):
            notes.append(done)
        removed = remove_stale_temps(self.target)
        if removed:
            size = sum(n for _, n in removed)
            notes.append(f"removed {len(removed)} temp file(s) ({size} bytes) left beside {self.target.name} by "
                         "an interrupted stamp")  # fmt: skip
        return notes


@contextlib.contextmanager
def _opened(plan: _Plan):
    """The source, opened once for everything the write does: "r+b" when it is written (so a file the user
    may not write is refused before any work, on the in-place and the rewrite path alike), else read-only."""
    if not plan.in_place:
        with open_for_read(plan.source) as fh:
            yield fh
        return
    _require_writable(plan.source)
    try:
        fd = os.open(plan.source, os.O_RDWR | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise WriteFailed(f"cannot open {plan.source.name} for writing: {exc.strerror or exc}",
                          "check its permissions, or use --out COPY or --sidecar") from None  # fmt: skip
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Refused(f"{plan.source.name} is not a regular file", "stamp the model file itself")
    if hasattr(os, "set_blocking"):
        os.set_blocking(fd, True)
    with os.fdopen(fd, "r+b") as fh:
        yield fh


def _require_writable(path: Path) -> None:
    """Refuse a read-only file the same way on every path: no write permission for this user, or no write
    bit at all (which root's `open` would ignore, and a rename over the file would silently bypass)."""
    st = os.stat(path)
    if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise WriteFailed(f"{path.name} is read-only; it was not changed",
                          "make it writable (chmod u+w) if it should be stamped, or use --out COPY or --sidecar")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _rewrite_header(metadata: dict[str, str], header: Header) -> bytes:
    """The header for a rewritten file: spare room for later in-place stamps, and the data section at the
    same offset within a page as in the source, which keeps the kernel copy fast."""
    return encode_header(metadata, header.tensors, spare=SPARE_PADDING, original=header,
                         page_offset=header.data_start % PAGE)  # fmt: skip


def _write_header(plan: _Plan, fh, header: Header, metadata: dict[str, str], identity: hashing.Identity,
                  progress: Progress | None, *, fill: Callable[[int], bytes] | None = None) -> str:
    """Write `metadata` into the target: in place when it fits, else a rewrite or (`plan` says) a copy.
    `identity` is the state of the file the header and hashes came from: the write stops if it changed.
    `fill`: the data is copied by `fill(fd)`, which returns the header that replaces `metadata`'s (a stamp
    hashing the data while it copies it: `_rewrite`); never in place."""
    if plan.in_place:
        try:
            block = None if fill is not None else encode_header(metadata, header.tensors,
                                                                exact_len=header.header_len, original=header)
        except HeaderDoesNotFit:
            block = None
        if block is not None:
            _write_in_place(fh, plan.source, header, block, identity)
            remember_written(plan.source, block, header.file_size, metadata, header)  # the next read skips the parse
            return "in_place"
        links = os.fstat(fh.fileno()).st_nlink
        if links > 1:
            raise Refused(f"the recipe does not fit in {plan.source.name}'s header, so the file must be rewritten; "
                          f"it has {links} hard links, and a rewrite would leave the other {links - 1} unstamped",
                          "stamp a copy with --out COPY, use --sidecar, or give the file its own copy first "
                          "(cp FILE FILE.new && mv FILE.new FILE)")  # fmt: skip
        _rewrite(fh, plan.source, header, _rewrite_header(metadata, header), progress, identity, replace_source=True,
                 fill=fill)  # fmt: skip
        return "rewrite"
    if plan.target.exists():
        _require_writable(plan.target)
        if (links := os.stat(plan.target).st_nlink) > 1:
            raise Refused(f"{plan.target.name} exists and has {links} hard links; replacing it would leave the "
                          "others as they are", "write the copy under a new name")  # fmt: skip
    _rewrite(fh, plan.target, header, _rewrite_header(metadata, header), progress, identity, replace_source=False,
             fill=fill)  # fmt: skip
    return "copy"


def _changed(path: Path) -> Refused:
    return Refused(f"{path.name} changed while it was being stamped; it was not written", "run the command again")


def _write_in_place(fh, path: Path, header: Header, block: bytes, identity: hashing.Identity) -> None:
    """Overwrite the header bytes only (journaled); the data section is not touched. Cost does not depend on
    file size. The file at `path` must still be the one read and hashed through `fh`."""
    assert len(block) == LENGTH_PREFIX + header.header_len
    st = os.fstat(fh.fileno())
    if hashing.identity_of(st) != identity or hashing.file_identity(path) != identity:
        raise _changed(path)
    try:
        journal.write_block(fh, path, struct.pack("<Q", header.header_len) + header.raw, block)
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


def _rewrite(fh, dst: Path, header: Header, block: bytes, progress: Progress | None, identity: hashing.Identity,
             *, replace_source: bool, fill: Callable[[int], bytes] | None = None) -> None:
    """Write `block` plus the data section of the open source `fh` to a temp file beside `dst`, fsync,
    then `os.replace`. The source must not change meanwhile (`identity`); when `dst` is the source, the
    file at that path must still be it when the rename happens.

    The data is copied by the kernel (`copy_range`), or, with `fill`, by `fill(fd)`: a stamp whose hashes
    are not known yet hashes the data while it writes it (one pass over the data: `hashing.hash_range`),
    then `fill` returns the header with the real hashes, which is written over `block` (the same length,
    so the data does not move) before the fsync."""
    folder = dst.parent if str(dst.parent) else Path(".")
    needed = len(block) + header.data_size
    try:
        import shutil  # here: a rewrite needs it, an in-place stamp does not (shutil loads bz2, lzma, zlib)

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
                _write_all(fd, block)
                phase(progress, "writing")  # a copy hashes as it goes (`fill`)
                if fill is None:
                    copy_range(fh.fileno(), fd, header.data_start, header.data_size, progress)
                else:
                    final = fill(fd)
                    if len(final) != len(block):
                        raise _HeaderMoved
                    os.lseek(fd, 0, os.SEEK_SET)
                    _write_all(fd, final)
                os.fsync(fd)
            finally:
                os.close(fd)
            st = os.fstat(fh.fileno())
            if hashing.identity_of(st) != identity:
                raise _changed(dst)
            if replace_source:
                fh.close()  # Windows cannot rename over a file that is open
                if hashing.file_identity(dst) != identity:
                    raise _changed(dst)
            commit(tmp, dst, stat.S_IMODE(st.st_mode))
    except OSError as exc:
        raise WriteFailed(
            f"writing {dst.name} failed: {exc.strerror or exc}; the original is unchanged",
            "check free space and permissions",
        ) from exc
    _bump_mtime(dst, st.st_mtime_ns if replace_source else 0)


def _block_copier(src_fd: int, dst_fd: int) -> Callable[[int, int], None]:
    """The one-pass rewrite's copy: each block the hashing reads is copied from the source right after
    (kernel copy, in order, on a thread of its own: `hashing.hash_range`) behind the header already in
    `dst_fd`; every `WRITE_BEHIND` bytes the copy is flushed to disk, while the digests go on, so the
    final fsync has only the tail left to write (the copy then costs about what `cp` + `sync` cost)."""
    unflushed = 0
    flush = getattr(os, "fdatasync", os.fsync)

    def copy(offset: int, length: int) -> None:
        nonlocal unflushed
        copy_range(src_fd, dst_fd, offset, length)
        unflushed += length
        if unflushed >= WRITE_BEHIND:
            flush(dst_fd)
            unflushed = 0

    return copy


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
