"""Other tools' names for a model family and a prediction type, mapped to the recipe's values.

The tables are data (`data/*.json`, each with its upstream source): migration and legacy reconstruction read
ModelSpec, kohya, CivitAI and diffusers spellings through the functions here, and stamping writes ModelSpec
ids from the same tables.

- `normalize_architecture(text)` / `normalize_prediction_type(text)`: a recipe value for any spelling.
- `ModelKind`: a model family finer than the recipe's `architecture` (`flux2`, `auraflow`, `sd2` + variant
  `768-v`, ...), with what the name itself fixes (prediction type, distilled profile, adapter kind).
- `civitai_base_model(name)`, `modelspec_architecture(id)`, `kohya_base_model(version)`,
  `diffusers_pipeline(class_name, unet_config)`: one reader per tool's vocabulary; None when unknown.
- `family_info(family)`, `possible_prediction_types(family)`: what a family can be.
"""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from pathlib import Path

from iga_core.records import Record

_DATA = Path(__file__).parent / "data"  # not importlib.resources: it loads typing and tempfile (light CLI)


@cache
def _data(name: str) -> dict:
    text = (_DATA / f"{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _tables() -> dict:
    data = dict(_data("aliases"))
    data["architecture"] = [(re.compile(p, re.IGNORECASE), arch) for p, arch in data["architecture"]]
    return data


class ModelKind(Record, frozen=True):
    """What a name says about a model: its family and the recipe `architecture` that family is written as,
    plus what the name itself fixes. `matched` is the table entry that matched (for provenance)."""

    family: str
    architecture: str
    variant: str | None = None
    prediction_type: str | None = None
    profile: str | None = None
    adapter: str | None = None  # "lora", "textual-inversion", "controlnet", "vae": not a full checkpoint
    note: str | None = None
    matched: str = ""

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self._fields
                if getattr(self, name) not in (None, "") and name != "matched"}  # fmt: skip

    def describe(self) -> str:
        """ "FLUX.2 (not loadable as FLUX.1)", "Stable Diffusion XL, a refiner: …" """
        text = family_info(self.family)["title"]
        if self.variant:
            text += f", {variant_note(self.variant) or self.variant}"
        if self.adapter:
            text += f" ({self.adapter})"
        return text


def _kind(entry: dict, matched: str, **extra) -> ModelKind:
    family = entry["family"]
    info = family_info(family)
    values = {k: entry.get(k) for k in ("variant", "prediction_type", "profile", "adapter", "note")}
    values.update({k: v for k, v in extra.items() if v is not None})
    return ModelKind(family=family, architecture=info["architecture"], matched=matched, **values)


def family_info(family: str) -> dict:
    """{"architecture", "title", "prediction_types"} of a family (model_families.json); "other" when unknown."""
    families = _data("model_families")["families"]
    return families.get(family) or families["other"]


def is_family(name: str) -> bool:
    return name in _data("model_families")["families"]


def possible_prediction_types(family: str) -> tuple[str, ...] | None:
    """The prediction types a checkpoint of `family` can have; None when anything goes."""
    types = family_info(family)["prediction_types"]
    return tuple(types) if types is not None else None


def variant_note(variant: str) -> str | None:
    return _data("model_families")["variants"].get(variant)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


@lru_cache(maxsize=1)
def _civitai() -> dict[str, tuple[str, dict]]:
    return {_key(name): (name, entry) for name, entry in _data("civitai_base_models")["base_models"].items()}


def civitai_base_model(name: str) -> ModelKind | None:
    """A CivitAI `baseModel` value ("SD 2.1 768", "Pony V7", "Flux.2 D"); case and spacing do not matter."""
    found = _civitai().get(_key(name))
    return _kind(found[1], f"CivitAI baseModel {found[0]!r}") if found else None


def civitai_base_model_names() -> list[str]:
    return list(_data("civitai_base_models")["base_models"])


_META = set("\\.^$*+?{}[]()|")


def _literal_prefix(pattern: str) -> str | None:
    """The text every match of an anchored pattern ("^stable-diffusion-xl(-.*)?$") starts with
    ("stable-diffusion-xl"), lower-cased; None for an unanchored one. A character a quantifier follows is
    left out (it may be absent)."""
    if not pattern.startswith("^"):
        return None
    out = []
    for ch in pattern[1:]:
        if ch in _META:
            if ch in "?*{" and out:
                out.pop()
            break
        out.append(ch)
    return "".join(out).lower()


@lru_cache(maxsize=1)
def _modelspec_read() -> list[tuple[str | None, str, dict]]:
    return [(_literal_prefix(p), p, entry) for p, entry in _data("modelspec_architectures")["read"]]


def _modelspec_patterns(base: str):
    """The table's patterns in order, compiled only where the text could match them (its literal prefix):
    a CLI re-stamp reads one id, and compiling all 34 patterns cost it a tenth of its start-up."""
    low = base.lower()
    for prefix, pattern, entry in _modelspec_read():
        if prefix is None or low.startswith(prefix):
            yield re.compile(pattern, re.IGNORECASE), entry


def modelspec_architecture(arch_id: str) -> ModelKind | None:
    """A `modelspec.architecture` id: "stable-diffusion-v2-768-v", "stable-diffusion-xl-v1-refiner",
    "stable-diffusion-v1/lora" (an adapter), SwarmUI's "Flux.1-dev/kontext" (a variant)."""
    base, _, suffix = arch_id.strip().partition("/")
    for pattern, entry in _modelspec_patterns(base):
        if pattern.search(base):
            extra: dict = {}
            if suffix:
                suffixes = _data("modelspec_architectures")["suffixes"]
                head = suffix.split("/")[0].lower()
                known = suffixes.get(head) or (suffixes["lora"] if head.startswith("lora") else None)
                extra = dict(known) if known else {"adapter": head}
            return _kind(entry, f"modelspec.architecture {arch_id!r}", **extra)
    return None


def modelspec_writing() -> dict:
    """The ids, implementations and resolutions a stamp writes (modelspec_architectures.json "write")."""
    return _data("modelspec_architectures")["write"]


def kohya_base_model(version: str) -> ModelKind | None:
    """kohya `ss_base_model_version` ("sd_v2_v", "sdxl_base_v1-0", "5-large", "flux1", ...)."""
    entry = _data("kohya_base_models")["versions"].get(version.strip())
    return _kind(entry, f"ss_base_model_version {version.strip()!r}") if entry else None


def diffusers_pipeline(class_name: str, unet_config: dict | None = None) -> ModelKind | None:
    """A `model_index.json` `_class_name`; pipelines several families share are decided by the UNet's
    `config.json` (`unet_config`): without it only their `default` family (if any) is given."""
    table = _data("diffusers_pipelines")
    entry = table["pipelines"].get(class_name)
    if entry is None:
        return None
    matched = f"model_index.json {class_name}"
    if entry["family"] != "unet":
        return _kind(entry, matched)
    from_unet = _from_unet(unet_config, table["unet"]) if isinstance(unet_config, dict) else None
    if from_unet is None:
        default = entry.get("default")
        return _kind({**entry, "family": default}, matched) if default else None
    family, variant, why = from_unet
    return _kind({**entry, "family": family}, f"{matched} + unet/config.json {why}",
                 variant=entry.get("variant") or variant)  # fmt: skip


def _from_unet(config: dict, table: dict) -> tuple[str, str | None, str] | None:
    width, channels = config.get("cross_attention_dim"), config.get("in_channels")
    found = table["cross_attention_dim"].get(str(width)) if isinstance(width, int) else None
    if found is None:
        return None
    variant = found.get("variant") or table["in_channels"].get(str(channels))
    why = f"cross_attention_dim {width}" + (f", in_channels {channels}" if variant and channels else "")
    return found["family"], variant, why


def model_kind(text: str) -> ModelKind | None:
    """Any tool's name for a model: a CivitAI base model, a kohya version, a ModelSpec id (in that order)."""
    text = text.strip()
    if not text:
        return None
    return civitai_base_model(text) or kohya_base_model(text) or modelspec_architecture(text)


def normalize_architecture(text: str) -> str | None:
    """ "SDXL 1.0", "stable-diffusion-xl-v1-base", "sdxl_base_v1-0" -> "sdxl"; "Pony V7" -> "other";
    None when unknown. Exact names from the tool tables first, then free-text patterns."""
    kind = model_kind(text)
    if kind is not None:
        return kind.architecture
    cleaned = text.strip()
    for pattern, arch in _tables()["architecture"]:
        if pattern.search(cleaned):
            return arch
    return None


def normalize_prediction_type(text: str) -> str | None:
    """ "epsilon" -> "eps", "v_prediction" -> "v", "sample" -> "x0", "flow_matching" -> "flow"; None when unknown."""
    return _tables()["prediction_type"].get(text.strip().lower())


def implies_zero_terminal_snr(text: str) -> bool:
    """SwarmUI's "v-zsnr" names v-prediction with a zero-terminal-SNR schedule in one word."""
    return text.strip().lower() in _tables()["zero_terminal_snr_prediction_types"]
