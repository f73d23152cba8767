"""The recipe registry: recipes for checkpoints that cannot or should not be modified, kept in a user
folder and keyed by the checkpoint's `weights_sha256` (the tensor-only hash, so renaming, re-stamping or
editing the header of the file does not lose its recipe).

One file per entry, `<folder>/<weights_sha256>.iga.json`, holding the recipe itself with
`hashes.weights_sha256` set and `hashes.metadata_sha256` computed. Writes are atomic. Entries travel as a
single JSON bundle (`export` / `import_`), so a recipe for a popular model can be shared without the model.

Lookup precedence (embedded > sidecar > registry > reconstructed) is `iga_core.checkpoint.sources.find_recipe`'s job;
it consults the user's registry (`Registry()`) by default and calls `Registry.get(weights_sha256)` only when
`is_empty()` is False, so an empty registry costs no hashing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from iga_core import paths
from iga_core.checkpoint.atomic import write_json_atomic
from iga_core.errors import IgaInvalid, IgaIOError
from iga_core.recipe import Problem, RecipeInvalid
from iga_core.recipe.files import read_json_file

ENTRY_SUFFIX = ".iga.json"
BUNDLE_FORMAT = "iga-registry-bundle"
BUNDLE_VERSION = 1
MAX_BUNDLE_ENTRIES = 10_000
_SHA = re.compile(r"[0-9a-f]{64}")


class RegistryError(IgaInvalid):
    """A registry request that cannot be done as asked."""


class BadWeightsHash(RegistryError):
    """Not a weights sha256 (64 lowercase hex digits)."""


class EntryExists(RegistryError):
    """An entry for these weights exists and replacing it was not asked for."""


class NotInRegistry(RegistryError):
    """No entry for these weights."""


class AmbiguousPrefix(RegistryError):
    """A hash prefix matches more than one entry."""


class WeightsMismatch(RegistryError):
    """The recipe names other weights than the ones it is being added for."""


class BundleInvalid(RegistryError):
    """A file given to import is not a registry bundle."""


class RegistryUnreadable(IgaIOError):
    """The registry folder cannot be read."""


def default_folder() -> Path:
    """`$IGA_REGISTRY`, else `$IGA_DATA_DIR/registry`, else `$XDG_DATA_HOME/iga/registry` (default
    `~/.local/share/iga/registry`)."""
    return paths.registry_dir()


def check_sha(value: object) -> str:
    """The weights hash, normalised to lowercase without a `0x` prefix (ModelSpec writes `0x…`)."""
    text = str(value).strip().lower().removeprefix("0x")
    if not _SHA.fullmatch(text):
        raise BadWeightsHash(f"{value!r} is not a weights sha256", "give 64 hex digits, as `iga hash` prints")
    return text


@dataclass(frozen=True)
class RegistryEntry:
    weights_sha256: str
    path: Path
    model_id: str | None
    title: str | None
    valid: bool
    problem: str | None = None

    def to_dict(self) -> dict:
        return {"weights_sha256": self.weights_sha256, "path": str(self.path), "model_id": self.model_id,
                "title": self.title, "valid": self.valid, "problem": self.problem}  # fmt: skip


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already present, not replaced
    rejected: list[dict] = field(default_factory=list)  # {"index", "weights_sha256", "problems"}

    def to_dict(self) -> dict:
        return {
            "added": self.added,
            "replaced": self.replaced,
            "skipped": self.skipped,
            "rejected": self.rejected,
        }


class Registry:
    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_folder()

    def path_for(self, weights_sha256: str) -> Path:
        return self.folder / f"{check_sha(weights_sha256)}{ENTRY_SUFFIX}"

    # --- reading ---

    def is_empty(self) -> bool:
        """True when the folder holds no entry (or does not exist): lets a lookup skip hashing the file."""
        try:
            with os.scandir(self.folder) as it:
                return not any(e.name.endswith(ENTRY_SUFFIX) for e in it)
        except OSError:
            return True

    def get(self, weights_sha256: str) -> dict | None:
        """The recipe stored for these weights, or None (also None for an unreadable or non-object entry:
        the registry is a lookup, a broken entry must not stop generation; `show` reports it)."""
        path = self.path_for(weights_sha256)
        if not path.is_file():
            return None
        try:
            value = read_json_file(path)
        except (IgaInvalid, IgaIOError):
            return None
        return value if isinstance(value, dict) else None

    def show(self, key: str) -> tuple[str, dict]:
        """(weights_sha256, recipe) for a full hash or a unique prefix of at least 8 digits; typed errors."""
        sha = self.resolve(key)
        value = read_json_file(self.path_for(sha))
        if not isinstance(value, dict):
            raise RecipeInvalid([Problem("", "registry entry is not a JSON object", "remove and re-add it")])
        return sha, value

    def resolve(self, key: str) -> str:
        """A full weights hash from a full hash or a unique prefix (≥ 8 hex digits)."""
        text = str(key).strip().lower().removeprefix("0x")
        if _SHA.fullmatch(text):
            if not self.path_for(text).is_file():
                raise NotInRegistry(
                    f"no registry entry for {text[:12]}…", "`iga registry list` shows the entries"
                )
            return text
        if not re.fullmatch(r"[0-9a-f]{8,63}", text):
            raise BadWeightsHash(f"{key!r} is not a weights sha256 or a prefix of one",
                                 "give at least 8 hex digits of the hash")  # fmt: skip
        matches = [e.weights_sha256 for e in self.list() if e.weights_sha256.startswith(text)]
        if not matches:
            raise NotInRegistry(
                f"no registry entry starts with {text}", "`iga registry list` shows the entries"
            )
        if len(matches) > 1:
            raise AmbiguousPrefix(f"{text} matches {len(matches)} entries", "give more digits of the hash")
        return matches[0]

    def list(self) -> list[RegistryEntry]:
        """Every entry, sorted by model_id then hash; broken entries are listed with their problem."""
        if not self.folder.exists():
            return []
        try:
            names = sorted(p.name for p in self.folder.iterdir())
        except OSError as exc:
            raise RegistryUnreadable(
                f"cannot list {self.folder}: {exc.strerror or exc}", "check permissions"
            ) from None
        entries = []
        for name in names:
            sha = name[: -len(ENTRY_SUFFIX)] if name.endswith(ENTRY_SUFFIX) else ""
            if not _SHA.fullmatch(sha):
                continue  # temp files and anything else in the folder
            entries.append(self._entry(sha))
        return sorted(entries, key=lambda e: ((e.model_id or "").lower(), e.weights_sha256))

    def _entry(self, sha: str) -> RegistryEntry:
        # imported here: a lookup by hash (`get`) does not load the validator
        from iga_core.recipe import validate_recipe

        path = self.path_for(sha)
        try:
            value = read_json_file(path)
        except (IgaInvalid, IgaIOError) as exc:
            return RegistryEntry(sha, path, None, None, False, exc.message)
        if not isinstance(value, dict):
            return RegistryEntry(sha, path, None, None, False, "not a JSON object")
        problems = validate_recipe(value)
        stored = (
            (value.get("hashes") or {}).get("weights_sha256")
            if isinstance(value.get("hashes"), dict)
            else None
        )
        problem = str(problems[0]) if problems else None
        if stored != sha:
            problem = problem or f"hashes.weights_sha256 is {stored!r}, not the entry's key"
        return RegistryEntry(sha, path, _text(value.get("model_id")), _text(value.get("title")), problem is None,
                             problem)  # fmt: skip

    # --- writing ---

    def add(self, recipe: dict, *, weights_sha256: str | None = None, tensor_index_sha256: str | None = None,
            replace: bool = False) -> Path:
        """Store `recipe` for the weights it names (or `weights_sha256`); returns the entry's path. With
        `tensor_index_sha256` (the checkpoint's, when added `--for` one) the entry also binds its tensor table.
        Raises RecipeInvalid, WeightsMismatch, EntryExists (unless `replace`)."""
        from iga_core.recipe import canonical_form, validate_recipe, with_metadata_digest

        if not isinstance(recipe, dict):
            raise RecipeInvalid([Problem("", "a recipe must be a JSON object", "give a recipe .json file")])
        hashes = recipe.get("hashes") if isinstance(recipe.get("hashes"), dict) else {}
        named = hashes.get("weights_sha256")
        if weights_sha256 is None and named is None:
            raise BadWeightsHash("the recipe names no weights (hashes.weights_sha256 is missing)",
                                 "add it for a checkpoint: `iga registry add RECIPE --for CHECKPOINT`")  # fmt: skip
        sha = check_sha(weights_sha256 if weights_sha256 is not None else named)
        if named is not None and check_sha(named) != sha:
            raise WeightsMismatch(f"the recipe is for weights {str(named)[:12]}…, not {sha[:12]}…",
                                  "use the recipe made for this checkpoint, or remove its hashes.weights_sha256")  # fmt: skip
        entry = {**canonical_form(recipe), "hashes": {**hashes, "weights_sha256": sha}}  # shorthand expanded
        if tensor_index_sha256 is not None:
            entry["hashes"]["tensor_index_sha256"] = tensor_index_sha256
        problems = validate_recipe(entry)
        if problems:
            raise RecipeInvalid(problems)
        entry = with_metadata_digest(entry)
        path = self.path_for(sha)
        if path.exists() and not replace:
            raise EntryExists(f"the registry already has a recipe for {sha[:12]}…",
                              "use --replace to overwrite it, or `iga registry remove` first")  # fmt: skip
        return write_json_atomic(path, entry, parents=True)

    def remove(self, key: str) -> str:
        """Delete the entry for a full hash or a unique prefix; returns the full hash."""
        sha = self.resolve(key)
        try:
            self.path_for(sha).unlink()
        except FileNotFoundError:
            raise NotInRegistry(
                f"no registry entry for {sha[:12]}…", "`iga registry list` shows the entries"
            ) from None
        except OSError as exc:
            raise RegistryUnreadable(
                f"cannot remove {sha[:12]}…: {exc.strerror or exc}", "check permissions"
            ) from None
        return sha

    # --- sharing ---

    def export(self, keys: Iterable[str] | None = None) -> dict:
        """A bundle of the given entries (all when None): {"format", "version", "entries": [recipe, ...]}.
        Broken entries are left out of an export of everything and refused when asked for by name."""
        from iga_core.recipe import validate_recipe

        if keys is None:
            shas = [e.weights_sha256 for e in self.list() if e.valid]
        else:
            shas = [self.resolve(k) for k in keys]
        entries = []
        for sha in dict.fromkeys(shas):
            _, recipe = self.show(sha)
            problems = validate_recipe(recipe)
            if problems:
                raise RecipeInvalid(problems)
            entries.append(recipe)
        return {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "entries": entries}

    def import_(self, bundle: object, *, replace: bool = False) -> ImportResult:
        """Add every valid entry of a bundle; invalid ones are rejected with their problems, present ones
        skipped unless `replace`. Nothing already in the registry changes unless `replace`."""
        entries = _bundle_entries(bundle)
        result = ImportResult()
        for i, recipe in enumerate(entries):
            hashes = (
                recipe.get("hashes")
                if isinstance(recipe, dict) and isinstance(recipe.get("hashes"), dict)
                else {}
            )
            named = hashes.get("weights_sha256")
            try:
                if not isinstance(recipe, dict):
                    kind = {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
                            type(None): "null"}.get(type(recipe), type(recipe).__name__)
                    raise BundleInvalid(f"{kind} is not a recipe (a JSON object)",
                                        "a bundle's entries are recipes, as `iga registry export` writes them")
                if named is None:
                    raise BadWeightsHash(f"{str(recipe.get('model_id'))[:80]!r} names no weights: it has no "
                                         "hashes.weights_sha256", "export it from a registry (`iga registry "
                                         "export` writes each entry's hash), or add it with `iga registry add "
                                         "RECIPE --for CHECKPOINT`")  # fmt: skip
                sha = check_sha(named)
                existed = self.path_for(sha).exists()
                if existed and not replace:
                    result.skipped.append(sha)
                    continue
                self.add(recipe, replace=replace)
            except RecipeInvalid as exc:
                result.rejected.append({"index": i, "weights_sha256": named,
                                        "problems": [p.to_dict() for p in exc.problems]})  # fmt: skip
                continue
            except RegistryError as exc:
                result.rejected.append({"index": i, "weights_sha256": named,
                                        "problems": [{"pointer": "" if isinstance(exc, BundleInvalid)
                                                      else "/hashes/weights_sha256", "message": exc.message,
                                                      "hint": exc.hint}]})  # fmt: skip
                continue
            (result.replaced if existed else result.added).append(sha)
        return result


def _bundle_entries(bundle: object) -> list:
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise BundleInvalid("this is not an iga registry bundle",
                            'a bundle is {"format": "iga-registry-bundle", "version": 1, "entries": [...]}, '
                            "as `iga registry export` writes")  # fmt: skip
    if bundle.get("version") != BUNDLE_VERSION:
        raise BundleInvalid(f"bundle version {bundle.get('version')!r} is not one this iga reads ({BUNDLE_VERSION})",
                            "export it again with this version of iga")  # fmt: skip
    entries = bundle.get("entries")
    if not isinstance(entries, list):
        raise BundleInvalid("the bundle has no list of entries", "export it again with `iga registry export`")
    if len(entries) > MAX_BUNDLE_ENTRIES:
        raise BundleInvalid(f"the bundle has {len(entries)} entries, more than {MAX_BUNDLE_ENTRIES}",
                            "split it into smaller bundles")  # fmt: skip
    return entries


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
