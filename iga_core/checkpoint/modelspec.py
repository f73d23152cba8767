"""The ModelSpec keys a stamp writes (Stability-AI/ModelSpec 1.0.1, https://github.com/Stability-AI/ModelSpec).

By the spec a header is ModelSpec only with its MUST keys: `modelspec.sai_model_spec`, `.architecture`,
`.implementation`, `.title` (and `.resolution` for image models; adapters may leave it off). So a stamp that
writes any `modelspec.*` key writes a complete header, or none at all:

- `sai_model_spec` "1.0.1"; `architecture` the id of the recipe's model (`iga_core.recipe.aliases.
  modelspec_writing()`: kohya's and the spec's ids: `stable-diffusion-v2-768-v` for a v-prediction SD 2,
  `…-xl-v1-refiner` for a refiner, `/lora` for a LoRA, SD 3 and FLUX.1 sizes read from the tensor table);
  `implementation` as kohya sd-scripts writes it (diffusers-named tensors: `diffusers`); `title` the recipe's
  title or model id; `resolution` its first preferred size, else the family's (kohya determine_resolution);
- the keys the recipe implies: `prediction_type` (`epsilon` / `v`), `encoder_layer` (clip skip),
  `hash_sha256` ("0x" + the tensor-bytes sha256, the spec's definition).

A key another tool (or the author) set is never overwritten; a key iga's previous stamp wrote is kept in
step with the recipe. When the file's existing keys contradict the recipe on what decides how the model is
run (prediction type, architecture), the stamp reports a conflict rather than only "left unchanged".
When no architecture id can be given (no `architecture` in the recipe and none in the tensors, a family the
spec has no id for) and the file has none, no ModelSpec key is written, and the stamp says why.
"""

from __future__ import annotations

from collections.abc import Mapping

from iga_core.checkpoint.layout import Layout, describe
from iga_core.recipe.aliases import family_info, modelspec_architecture, modelspec_writing
from iga_core.records import Record, factory

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without loading typing (tests/test_cli_imports.py)
if TYPE_CHECKING:
    from typing import Any

PREFIX = "modelspec."
MUST = ("modelspec.sai_model_spec", "modelspec.architecture", "modelspec.implementation", "modelspec.title")
_PREDICTION_TYPES = {"eps": "epsilon", "v": "v"}
#: what a ModelSpec reader (SwarmUI, tools built on the spec) does with each prediction type
_READ_AS = {"epsilon": "epsilon (noise) prediction", "v": "v-prediction"}


class Sync(Record):
    added: dict[str, str] = factory(dict)
    kept: dict[str, str] = factory(dict)  # set to something else by another tool: left as is
    conflicts: dict[str, dict] = factory(dict)  # key -> {"file", "recipe", "message"}
    notices: list[str] = factory(list)


def architecture_id(recipe: Mapping[str, Any] | None, layout: Layout | None) -> tuple[str | None, str]:
    """(the ModelSpec architecture id of the recipe's model on this file, why / why not)."""
    if not isinstance(recipe, Mapping):
        return None, "no recipe"
    model = recipe.get("x-iga-model") if isinstance(recipe.get("x-iga-model"), Mapping) else {}
    arch = recipe.get("architecture")
    layout_arch = family_info(layout.family)["architecture"] if layout and layout.family else None
    if not arch or arch == "other":
        arch = arch or layout_arch
    if not arch or arch == "other":
        return None, "the recipe names no architecture the spec has an id for, and the tensors do not say one"
    if layout_arch and layout_arch != arch:
        return None, f"the recipe says architecture {arch!r} but the file's tensors are {layout_arch!r}"
    family = model.get("family") or (layout.family if layout and layout_arch == arch else None) or arch
    if family != arch:
        return None, f"the spec lists no id for {family_info(family)['title']}"
    variant = model.get("variant") or (layout.variant if layout else None)
    size = model.get("size") or (layout.size if layout else None)
    ids = modelspec_writing()["ids"]
    if arch == "sd2":
        keys = [f"sd2/{variant}"] if variant else []
        keys.append("sd2/v" if recipe.get("prediction_type") == "v" else "sd2/eps")
    else:
        keys = [f"{arch}/{variant}"] if variant else []
        keys += [f"{arch}/{size}"] if size else []
        keys.append(arch)
    found = next((ids[k] for k in keys if k in ids), None)
    if found is None:
        return None, f"the spec lists no id for {arch}" + (f" ({variant})" if variant else "")
    kind = model.get("kind") or (layout.kind if layout else "checkpoint")
    adapter = modelspec_writing()["adapters"].get(kind)
    return (f"{found}/{adapter}" if adapter else found), f"{arch}" + (f" {variant}" if variant else "")


def _implementation(arch: str, layout: Layout | None) -> str:
    impl = modelspec_writing()["implementations"]
    if layout is not None and layout.kind == "lora":
        return impl.get(f"lora/{arch}", impl["lora"])
    if layout is not None and layout.naming == "diffusers":
        return impl["diffusers"]
    return impl["flux"] if arch == "flux" else impl["single-file"]


def _resolution(recipe: Mapping[str, Any], arch: str) -> str | None:
    preferred = (recipe.get("resolution") or {}).get("preferred") or []
    if preferred and isinstance(preferred[0], Mapping) and {"width", "height"} <= set(preferred[0]):
        return f"{preferred[0]['width']}x{preferred[0]['height']}"
    defaults = modelspec_writing()["resolutions"]
    if arch == "sd2":
        return defaults["sd2/v" if recipe.get("prediction_type") == "v" else "sd2/eps"]
    return defaults.get(arch)


def implied_keys(recipe: Mapping[str, Any] | None, tensors: Mapping[str, Any] | None = None,
                 *, existing_architecture: str | None = None, layout: Layout | None = None,
                 ) -> tuple[dict[str, str], str]:  # fmt: skip
    """The ModelSpec keys a recipe implies for a file with this tensor table: a complete header, or {} with
    the reason none can be written (an existing `modelspec.architecture` of the file makes it complete).
    `layout`: `describe(tensors)` where the caller has it already (a scan of every tensor name)."""
    if not isinstance(recipe, Mapping):
        return {}, "no recipe"
    if layout is None and tensors:
        layout = describe(tensors)
    arch_id, why = architecture_id(recipe, layout)
    if arch_id is None and existing_architecture is None:
        return {}, why
    out: dict[str, str] = {"modelspec.sai_model_spec": modelspec_writing()["sai_model_spec"]}
    if arch_id is not None:
        out["modelspec.architecture"] = arch_id
    arch = recipe.get("architecture") or ""
    if not arch or arch == "other":
        kind = modelspec_architecture(arch_id or existing_architecture or "")
        arch = kind.architecture if kind else "other"
    out["modelspec.implementation"] = _implementation(arch, layout)
    out["modelspec.title"] = str(recipe.get("title") or recipe.get("model_id") or "")[:200]
    resolution = _resolution(recipe, arch)
    if resolution:
        out["modelspec.resolution"] = resolution
    if (pred := _PREDICTION_TYPES.get(recipe.get("prediction_type"))) is not None:
        out["modelspec.prediction_type"] = pred
    if isinstance(recipe.get("clip_skip"), int):
        out["modelspec.encoder_layer"] = str(recipe["clip_skip"])
    weights = (recipe.get("hashes") or {}).get("weights_sha256")
    if isinstance(weights, str) and weights:
        out["modelspec.hash_sha256"] = "0x" + weights
    return out, why


def sync(metadata: dict[str, str], recipe: dict, previous: dict | None,
         tensors: Mapping[str, Any] | None = None) -> Sync:  # fmt: skip
    """Set the implied ModelSpec keys in `metadata` (in place). A key already set is replaced only when iga's
    previous stamp wrote that value; anything else came from another tool and is kept, and reported as a
    conflict where it contradicts the recipe on how the model is run."""
    result = Sync()
    existing_arch = metadata.get("modelspec.architecture")
    layout = describe(tensors) if tensors else None  # once: both recipes are read against the same tensors
    wanted, why = implied_keys(recipe, tensors, existing_architecture=existing_arch, layout=layout)
    ours_before, _ = (implied_keys(previous, tensors, existing_architecture=existing_arch, layout=layout)
                      if previous else ({}, ""))  # fmt: skip
    if not wanted:
        result.notices.append(f"no ModelSpec keys written: {why}. A ModelSpec header needs "
                              "modelspec.architecture; give the recipe an \"architecture\" and stamp again")  # fmt: skip
        _conflicts(metadata, recipe, result)
        result.notices += [c["message"] for c in result.conflicts.values()]
        return result
    for key, value in wanted.items():
        current = metadata.get(key)
        if current is None or current == ours_before.get(key):
            if current != value:
                metadata[key] = value
                result.added[key] = value
        elif current != value:
            result.kept[key] = current
    _conflicts(metadata, recipe, result)
    for key, current in result.kept.items():
        if key not in result.conflicts:
            result.notices.append(f"{key} is already {current!r}; left unchanged")
    for c in result.conflicts.values():
        result.notices.append(c["message"])
    return result


def _conflicts(metadata: dict[str, str], recipe: Mapping[str, Any], result: Sync) -> None:
    """Where the file's own ModelSpec keys say the model runs otherwise than the recipe says."""
    said = metadata.get("modelspec.prediction_type")
    pred = recipe.get("prediction_type")
    if said and said != _PREDICTION_TYPES.get(pred) and said in _READ_AS:
        extra = ""
        if pred == "flow" and said == "epsilon":
            extra = (" (kohya sd-scripts writes 'epsilon' into every model it does not handle as Flux, SD 3 "
                     "included: the key is most likely wrong)")  # fmt: skip
        result.conflicts["modelspec.prediction_type"] = {
            "file": said, "recipe": pred,
            "message": (f"conflict: the recipe says prediction_type {pred!r}, but this file's "
                        f"modelspec.prediction_type is {said!r}{extra}; the key was set by another tool and is "
                        f"left as is, so ModelSpec readers (SwarmUI, …) will run the model as {_READ_AS[said]}. "
                        f"If the recipe is right, correct or remove modelspec.prediction_type; if the key is "
                        f"right, fix the recipe's prediction_type and stamp again"),
        }  # fmt: skip
    arch_id = metadata.get("modelspec.architecture")
    kind = modelspec_architecture(arch_id) if arch_id else None
    arch = recipe.get("architecture")
    if kind is not None and arch and arch != kind.architecture:
        result.conflicts["modelspec.architecture"] = {
            "file": arch_id, "recipe": arch,
            "message": (f"conflict: the recipe says architecture {arch!r}, but this file's modelspec.architecture "
                        f"is {arch_id!r} ({kind.describe()}); left as is. One of them describes another model: "
                        "check which, and fix the recipe or the key"),
        }  # fmt: skip
