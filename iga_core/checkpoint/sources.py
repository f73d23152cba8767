"""Where a checkpoint's recipe comes from, and whether its hashes check out.

Precedence (first found wins):

1. **embedded**: `__metadata__["iga"]` inside the safetensors file. It travels with the weights, so it wins.
2. **sidecar**: `<checkpoint>.iga.json`, used when there is no embedded recipe (`.ckpt` files, files the user
   won't modify). When both exist and differ, the embedded one is used and `problems` says so.
3. **registry**: the user's recipe registry (`iga_core.checkpoint.registry.Registry()`, or the one given), looked up by
   the weights hash; `registry=False` leaves it out. An empty registry is skipped before any hashing.
4. **reconstructed**: inferred from the file by the reconstruction the caller passes
   (`reconstruct=iga_core.reconstruct.reconstruct`; that package reads checkpoints, so it sits above this one
   and is handed in rather than imported).

This is where a recipe document read from a file is parsed into the typed model: `RecipeSource.recipe` is
the `iga_core.recipe.Recipe` (None when the document is invalid, with the reasons in `problems`), and
`document` keeps the JSON as read, for the hash checks and for authoring tools that show or repair it.

`hash_status` is "verified" when the recipe's weights and metadata hashes both match (and its tensor-index
hash, when it has one), "mismatch" when any does not, and "unverified" when a hash is missing or was not
computed (`verify="never"` and no cached value). The tensor-index hash (`hashes.tensor_index_sha256`: the
names, dtypes, shapes and offsets of the tensors) costs no hashing of the file, so it is checked in every
mode; a recipe stamped before it existed has none (`tensor_index.status == "missing"`): it still verifies
by its other hashes, and `iga verify` says how to add it.
`verify`: "never" uses only a cached weights hash; "first" hashes the file when it is not in the cache (so
each file state is hashed once); "always" re-hashes the file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from iga_core.checkpoint import hashing
from iga_core.checkpoint.embedded import (
    EmbeddedRecipeInvalid,
    SidecarInvalid,
    read_embedded,
    read_sidecar,
    sidecar_path,
)
from iga_core.checkpoint.safetensors_io import Header, HeaderError, is_safetensors_path, read_header
from iga_core.errors import IgaError, IgaInvalid
from iga_core.recipe import RecipeInvalid, known_valid
from iga_core.records import Record, as_dict, factory

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without loading typing (tests/test_cli_imports.py)
if TYPE_CHECKING:
    from typing import Any, Literal

    from iga_core.checkpoint.registry import Registry
    from iga_core.recipe import Recipe

KINDS = ("embedded", "sidecar", "registry", "reconstructed", "none")
VERIFY_MODES = ("never", "first", "always")


class BadVerifyMode(IgaInvalid):
    """`verify` is not one of never / first / always."""


class HashCheck(Record):  # records, not dataclasses: iga_core.records
    """One hash comparison: status "ok" | "mismatch" | "missing" (recipe has none) | "unchecked"."""

    status: str
    expected: str | None = None
    actual: str | None = None


def _unchecked() -> HashCheck:
    return HashCheck("unchecked")


class RecipeSource(Record):
    """Where a recipe came from. `document` is the JSON as found; `recipe` its parsed, valid form (None
    when the document is invalid: `problems` says why). `kind` names the place even then.

    A document this installation validated before (`iga_core.recipe.known_valid`) is parsed when `recipe`
    is first read, so a command that only shows the document (`iga inspect`) does not load the typed
    model; `valid` says whether there is a recipe without parsing it."""

    kind: str  # one of KINDS
    document: dict | None = None
    path: str | None = None  # the file the recipe was read from (checkpoint, sidecar, registry entry)
    hash_status: str = "unverified"  # "verified" | "unverified" | "mismatch"
    problems: list[str] = factory(list)
    weights: HashCheck = factory(_unchecked)
    metadata: HashCheck = factory(_unchecked)
    recipe: Recipe | None = None
    tensor_index: HashCheck = factory(_unchecked)  # "unchecked": no header

    def __getattr__(self, name: str):  # called only for an attribute not set: a `recipe` still to parse
        pending = self.__dict__.get("_pending_digest", _NOT_PENDING)
        if name != "recipe" or pending is _NOT_PENDING:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        from iga_core.recipe import Recipe

        del self.__dict__["_pending_digest"]
        try:
            recipe = Recipe.from_dict(self.document, digest=pending)  # known valid: not validated again
        except RecipeInvalid as exc:  # the memo said valid, the validator disagrees: trust the validator
            recipe = None
            self.problems += [str(p) for p in exc.problems]
        self.__dict__["recipe"] = recipe
        return recipe

    @property
    def valid(self) -> bool:
        """Whether `document` is a valid recipe (`recipe` is then its parsed form), without parsing it."""
        return "_pending_digest" in self.__dict__ or self.recipe is not None

    def to_dict(self) -> dict:
        """JSON form (`iga inspect --json`): "recipe" is the document as found, "valid" whether it parsed."""
        return {"kind": self.kind, "recipe": self.document, "valid": self.valid, "path": self.path,
                "hash_status": self.hash_status, "problems": list(self.problems),
                "weights": as_dict(self.weights), "metadata": as_dict(self.metadata),
                "tensor_index": as_dict(self.tensor_index)}


_NOT_PENDING = object()


def find_recipe(
    checkpoint_path: str | os.PathLike,
    *,
    verify: str = "first",
    registry: Registry | Literal[False] | None = None,
    reconstruct: Callable[[Path], Any] | None = None,
    progress: hashing.Progress | None = None,
    header: Header | None = None,
) -> RecipeSource:
    """Find the recipe for a checkpoint following the precedence above; never raises for a bad recipe or
    sidecar (those become `problems`). Raises `CheckpointUnreadable` when the checkpoint cannot be opened.
    `registry`: None (default) is the user's registry at its default folder, False consults none, anything
    else with `.get(weights_sha256)` is used as given. `progress(done, total)` is called while hashing.
    `header`: the checkpoint's header when the caller has just read it (a 100 MB header is not read twice).
    `reconstruct(path)`: the last resort, returning something with a `.recipe` document (None: no fallback)."""
    if verify not in VERIFY_MODES:
        raise BadVerifyMode(f"verify must be one of {', '.join(VERIFY_MODES)}, not {verify!r}", "use 'first'")
    path = Path(checkpoint_path)
    problems: list[str] = []

    embedded = None
    if is_safetensors_path(path):
        try:
            header = header if header is not None else read_header(path)
            embedded = read_embedded(header)
        except (HeaderError, EmbeddedRecipeInvalid) as exc:
            problems.append(f"embedded recipe unreadable: {exc}")
    side_file = sidecar_path(path)
    try:
        sidecar = read_sidecar(side_file)
    except SidecarInvalid as exc:
        sidecar = None
        problems.append(str(exc))

    if embedded is not None:
        if sidecar is not None and _content(sidecar) != _content(embedded):
            problems.append(
                f"{side_file.name} differs from the embedded recipe; the embedded one is used "
                "(delete the sidecar or refresh it with `iga extract --force`)"
            )
        return _checked(RecipeSource("embedded", embedded, str(path), problems=problems), path, verify, progress,
                        header=header)  # fmt: skip
    if sidecar is not None:
        return _checked(RecipeSource("sidecar", sidecar, str(side_file), problems=problems), path, verify, progress,
                        header=header)  # fmt: skip

    registry = _registry_to_consult(registry)
    if registry is not None:
        weights = _weights_hash(path, verify, problems, progress)
        if weights is not None:
            found = registry.get(weights)
            if found is not None:
                origin = getattr(registry, "folder", None)
                src = RecipeSource("registry", dict(found), str(origin) if origin else None, problems=problems)
                return _checked(src, path, verify, progress, known_weights=weights, header=header)

    if reconstruct is not None:
        try:
            result = reconstruct(path)
        except IgaError as exc:
            problems.append(f"reconstruction failed: {exc}")
        else:
            document = getattr(result, "recipe", None)
            if isinstance(document, dict):
                problems.append("reconstructed from the file's contents, not written by the model's author")
                return _parsed(RecipeSource("reconstructed", document, str(path), "unverified", problems))

    return RecipeSource("none", None, None, "unverified", problems)


def _registry_to_consult(registry):
    """The registry to look in, or None: False means none; an empty one is skipped (no hashing for nothing)."""
    if registry is False:
        return None
    if registry is None:
        from iga_core.checkpoint.registry import Registry  # here: a file with its own recipe never needs it

        try:
            registry = Registry()
        except RuntimeError:  # no home folder to put a default registry in
            return None
    is_empty = getattr(registry, "is_empty", None)
    return None if is_empty is not None and is_empty() else registry


def _content(recipe: dict) -> dict:
    # Hashes are derived data; two recipes with the same content but stale hashes are "the same".
    return {k: v for k, v in recipe.items() if k != "hashes"}


def _weights_hash(path: Path, verify: str, problems: list[str], progress=None) -> str | None:
    try:
        if verify == "never":
            return hashing.cached(path, "weights_sha256" if is_safetensors_path(path) else "file_sha256")
        return hashing.weights_sha256(path, progress, use_cache=verify == "first")
    except IgaError as exc:
        problems.append(f"cannot hash the weights: {exc}")
        return None


def _metadata_sha256(document: dict) -> str:
    from iga_core.recipe.canonical import metadata_sha256  # rfc8785: only for a recipe not seen before

    return metadata_sha256(document)


def _parsed(src: RecipeSource, digest: str | None = None) -> RecipeSource:
    """Parse the document into the typed recipe; an invalid one stays unparsed, its problems listed.
    `digest`: the document's metadata digest, when just computed (a recipe seen before is neither
    validated nor digested again: `iga_core.recipe.known_valid`)."""
    seen = known_valid.recall(src.document)
    if seen.valid:  # parsed when first read (RecipeSource.recipe)
        if digest and not seen.digest:
            known_valid.remember(seen.key, digest)
        del src.__dict__["recipe"]
        src.__dict__["_pending_digest"] = digest or seen.digest
        return src
    from iga_core.recipe import Recipe

    try:
        src.recipe = Recipe.from_dict(src.document, digest=digest)
    except RecipeInvalid as exc:
        src.problems += [str(p) for p in exc.problems]
    return src


def _checked(src: RecipeSource, path: Path, verify: str, progress=None, *, known_weights: str | None = None,
             header: Header | None = None):
    """Fill in the weights, tensor-index and metadata checks and the overall hash status (computed on the
    document, as stamped), then parse it. `header`: the checkpoint's, when it has one (for the index)."""
    document = src.document or {}
    hashes = document.get("hashes") if isinstance(document.get("hashes"), dict) else {}

    stored_meta = hashes.get("metadata_sha256")
    actual_meta = None
    if not stored_meta:
        src.metadata = HashCheck("missing")
    else:
        try:
            actual_meta = known_valid.recall(document).digest or _metadata_sha256(document)
        except IgaError as exc:
            src.problems.append(f"cannot compute the metadata hash: {exc}")
        src.metadata = HashCheck("ok" if actual_meta == stored_meta else "mismatch", stored_meta, actual_meta)
        if src.metadata.status == "mismatch":
            src.problems.append("metadata hash mismatch: the recipe was edited after it was stamped")

    stored_weights = hashes.get("weights_sha256")
    if not stored_weights:
        src.weights = HashCheck("missing")
    else:
        actual = known_weights or _weights_hash(path, verify, src.problems, progress)
        if actual is None:
            src.weights = HashCheck("unchecked", stored_weights)
        else:
            src.weights = HashCheck("ok" if actual == stored_weights else "mismatch", stored_weights, actual)
            if src.weights.status == "mismatch":
                src.problems.append("weights hash mismatch: this recipe was stamped for other weights")

    stored_index = hashes.get("tensor_index_sha256")
    if header is None:
        src.tensor_index = HashCheck("unchecked", stored_index)  # no safetensors header: nothing to compare
    elif not stored_index:
        src.tensor_index = HashCheck("missing", None, header.tensor_index_sha256)
    else:
        actual_index = header.tensor_index_sha256
        src.tensor_index = HashCheck("ok" if actual_index == stored_index else "mismatch", stored_index, actual_index)
        if src.tensor_index.status == "mismatch":
            src.problems.append("tensor index mismatch: the tensors' names, dtypes, shapes or offsets are not "
                                "those the recipe was stamped for")  # fmt: skip

    statuses = {src.weights.status, src.metadata.status}
    if "mismatch" in statuses or src.tensor_index.status == "mismatch":
        src.hash_status = "mismatch"
    elif statuses == {"ok"}:
        src.hash_status = "verified"
    else:
        src.hash_status = "unverified"

    return _parsed(src, actual_meta)
