"""What a safetensors file holds, read from its tensor table only (names and shapes; no tensor is loaded):
a full checkpoint, a diffusion model without VAE, a LoRA-type network, a textual-inversion embedding or a VAE,
and of which model family, variant and naming convention. One reader for reconstruction (the family as
evidence) and stamping (the ModelSpec architecture and implementation a header needs).

    describe(tensors) -> Layout(kind, family, variant, size, naming, vae_embedded, why)

`tensors` maps names to anything with a `.shape` (the header's `TensorInfo`). The facts and their upstream
sources (A1111's Lora extension and sd_models_config.py, ComfyUI's model_detection.py) are in
`data/layout.json`.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from iga_core.records import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without loading typing (tests/test_cli_imports.py)
if TYPE_CHECKING:
    from typing import Any

KINDS = ("checkpoint", "lora", "textual-inversion", "vae", "unknown")
_PREFIX = "model.diffusion_model."
_DIFFUSERS = ("down_blocks.", "up_blocks.", "mid_block.", "transformer_blocks.", "single_transformer_blocks.",
              "unet.", "transformer.")  # fmt: skip
_VAE_ONLY = ("encoder.", "decoder.", "quant_conv.", "post_quant_conv.")
_SD_TEXT_ENCODER = "cond_stage_model.transformer.text_model."
_CROSS_ATTN_K = ("attn2.to_k.weight", "attn2_to_k.lora_down.weight", "attn2.to_k.lora_down.weight",
                 "attn2.to_k.lora_A.weight", "attn2_to_k.lora_A.weight")  # fmt: skip


@cache
def _data() -> dict:
    text = (Path(__file__).parent / "data" / "layout.json").read_text(encoding="utf-8")
    return json.loads(text)


class Layout(Record, frozen=True):
    kind: str = "unknown"  # one of KINDS
    family: str | None = None  # a model family of iga_core.recipe.aliases (sd1, sdxl, flux2, auraflow, ...)
    variant: str | None = None  # "refiner", "inpainting", "edit", "depth", "unclip"
    size: str | None = None  # SD 3: "medium" | "3.5-large" | "3.5-medium"; FLUX.1: "dev" | "schnell"
    naming: str = "single-file"  # "single-file" (ldm / sgm / BFL names) | "diffusers" | "kohya" (kohya's lora_*)
    vae_embedded: bool | None = None  # for full checkpoints: whether VAE weights are in the file
    why: tuple[str, ...] = ()  # the tensor facts each conclusion rests on

    @property
    def is_adapter(self) -> bool:
        return self.kind in ("lora", "textual-inversion", "vae")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "family": self.family, "variant": self.variant, "size": self.size,
                "naming": self.naming, "vae_embedded": self.vae_embedded, "why": list(self.why)}  # fmt: skip


def _shape(tensors: Mapping[str, Any], name: str) -> tuple[int, ...] | None:
    info = tensors.get(name)
    shape = getattr(info, "shape", None)
    return tuple(shape) if shape is not None else None


def _network_part(name: str, parts: frozenset[str], dotted: tuple[str, ...]) -> bool:
    # one C-level endswith over all suffixes: a per-part Python loop was ~57 ms of an in-place stamp (#19)
    return name in parts or name.endswith(dotted)


def describe(tensors: Mapping[str, Any]) -> Layout:
    names = list(tensors)
    if not names:
        return Layout()
    parts = frozenset(_data()["network_parts"])
    dotted = tuple("." + p for p in parts)
    networked = sum(1 for n in names if _network_part(n, parts, dotted))
    if networked * 2 >= len(names):
        return _network(tensors, names, networked)
    if names and all(n in ("emb_params", "clip_l", "clip_g") or n.startswith("string_to_param") for n in names):
        return _embedding(tensors, names)
    if all(n.startswith(_VAE_ONLY) for n in names):
        return Layout(kind="vae", why=("only encoder./decoder. tensors: a VAE",))
    return _checkpoint(tensors, names)


def _network(tensors: Mapping[str, Any], names: list[str], networked: int) -> Layout:
    why = [f"{networked} of {len(names)} tensors are additional-network weights (lora_up/lora_down, "
           "lora_A/lora_B, hada_*, lokr_*, oft_*, …): a LoRA-type network, not a checkpoint"]  # fmt: skip
    kohya = any(n.startswith(("lora_unet_", "lora_te")) for n in names)
    family = None
    for prefix, fam in _data()["kohya_lora_prefixes"].items():
        if any(n.startswith(prefix) for n in names):
            family = fam
            why.append(f"kohya names {prefix}*: {fam}")
            break
    if family is None:
        family, _variant, detail = _family_by_width(tensors, names)
        if detail:
            why.append(detail)
    if family is None:
        family, _variant, detail = _marker([_strip(n) for n in names])
        if detail:
            why.append(detail)
    return Layout(kind="lora", family=family, naming="kohya" if kohya else _naming(names), why=tuple(why))


def _embedding(tensors: Mapping[str, Any], names: list[str]) -> Layout:
    why = ["tensors emb_params / clip_l / clip_g / string_to_param only: a textual-inversion embedding"]
    family = None
    if "clip_g" in names:
        family = "sdxl"
        why.append("clip_g: an SDXL embedding")
    else:
        shape = _shape(tensors, "emb_params") or next(
            (_shape(tensors, n) for n in names if n.startswith("string_to_param")), None
        )
        width = shape[-1] if shape else None
        family = {768: "sd1", 1024: "sd2"}.get(width) if isinstance(width, int) else None
        if family:
            why.append(f"embedding width {width}: {family}")
    return Layout(kind="textual-inversion", family=family, naming="single-file", why=tuple(why))


def _strip(name: str) -> str:
    return name[len(_PREFIX):] if name.startswith(_PREFIX) else name


def _naming(names: list[str]) -> str:
    return "diffusers" if any(n.startswith(_DIFFUSERS) for n in names) else "single-file"


def _marker(stripped: list[str]) -> tuple[str | None, str | None, str | None]:
    present = set(stripped)
    ordered = sorted(present)  # a name starting with a prefix sorts at or right after the prefix itself
    for marker, family, variant in _data()["markers"]:
        if marker.endswith("."):
            at = bisect.bisect_left(ordered, marker)
            hit = at < len(ordered) and ordered[at].startswith(marker)
        else:
            hit = marker in present
        if hit:
            return family, variant, f"tensor {marker}*: {family}" + (f" ({variant})" if variant else "")
    return None, None, None


def _marker_width(tensors: Mapping[str, Any], family: str | None, why: list[str]) -> str | None:
    """A marker two families share, told apart by its width (`marker_widths`: Lumina 2 and Z-Image both
    have cap_embedder.1, 2304 against 3840 wide, as Forge Neo's detection.py tells them)."""
    for marker, widths in _data()["marker_widths"].items():
        if dict(_data_markers()).get(marker) != family:
            continue
        shape = _shape(tensors, marker) or _shape(tensors, _PREFIX + marker)
        found = widths.get(str(shape[0])) if shape else None
        if found:
            why.append(f"{marker} is {shape[0]} wide: {found}")
            return found
    return family


def _data_markers() -> list[tuple[str, str]]:
    return [(marker, fam) for marker, fam, _variant in _data()["markers"]]


def _family_by_width(tensors: Mapping[str, Any], names: list[str]) -> tuple[str | None, str | None, str | None]:
    """(family, variant, why) from the cross-attention context width (attn2.to_k's input size)."""
    for name in names:
        if name.endswith(_CROSS_ATTN_K):
            shape = _shape(tensors, name)
            if shape and len(shape) == 2:
                found = _data()["context_width"].get(str(shape[1]))
                if found:
                    fam, variant = found
                    label = fam + (f" {variant}" if variant else "")
                    return fam, variant, f"cross-attention context width {shape[1]} ({name}): {label}"
    return None, None, None


def _checkpoint(tensors: Mapping[str, Any], names: list[str]) -> Layout:
    stripped = [_strip(n) for n in names]
    why: list[str] = []
    family, variant, detail = _marker(stripped)
    if detail:
        why.append(detail)
        family = _marker_width(tensors, family, why)
    if family is None:
        family, variant, detail = _family_by_width(tensors, names)
        if detail:
            why.append(detail)
    if family is None and any(n.startswith(_SD_TEXT_ENCODER) for n in names):
        family = "sd1"
        why.append("CLIP-L text encoder (cond_stage_model.transformer.*): sd1")
    channels = _shape(tensors, _PREFIX + "input_blocks.0.0.weight") or _shape(tensors, "conv_in.weight")
    if family in ("sd1", "sd2", "sdxl") and variant is None and channels and len(channels) == 4:
        variant = _data()["input_channels"].get(str(channels[1]))
        if variant:
            why.append(f"the UNet takes {channels[1]} input channels: {variant}")
    size = _size(family, stripped, why)
    if family == "flux" and variant is None:
        img_in = _shape(tensors, "img_in.weight") or _shape(tensors, _PREFIX + "img_in.weight")
        if img_in and len(img_in) == 2 and img_in[1] in (384, 128):  # Fill: 64 + 320 mask/image; depth/canny: 128
            variant = "inpainting" if img_in[1] == 384 else "depth"
            why.append(f"img_in takes {img_in[1]} channels: FLUX.1 {'Fill' if variant == 'inpainting' else 'Depth/Canny'}")
    if family is None:
        return Layout(kind="unknown" if not why else "checkpoint", naming=_naming(names), why=tuple(why))
    vae = None
    if any(n.startswith(("first_stage_model.", "vae.", "encoder.down.", "decoder.up.")) for n in names):
        vae = True
    elif any(n.startswith((_PREFIX, "down_blocks.", "double_blocks.", "joint_blocks.")) for n in names):
        vae = False
    return Layout(kind="checkpoint", family=family, variant=variant, size=size, naming=_naming(names),
                  vae_embedded=vae, why=tuple(why))  # fmt: skip


def _size(family: str | None, stripped: list[str], why: list[str]) -> str | None:
    present = set(stripped)
    if family == "sd3":
        # kohya sd-scripts library/sd3_utils.py: qk norm (ln_q) = SD 3.5; 3.5 Medium adds x_block attn2 layers
        if "joint_blocks.0.context_block.attn.ln_q.weight" in present:
            medium = any(s.endswith(".x_block.attn2.qkv.weight") for s in stripped)
            size = "3.5-medium" if medium else "3.5-large"
        else:
            size = "medium"
        why.append("MMDiT layout of SD " + {"medium": "3 Medium", "3.5-large": "3.5 Large", "3.5-medium": "3.5 Medium"}[size])
        return size
    if family == "flux":
        size = "dev" if any(s.startswith("guidance_in.") for s in stripped) else "schnell"
        why.append("guidance_in embedding: FLUX.1-dev" if size == "dev"
                   else "no guidance_in embedding: FLUX.1-schnell-like")  # fmt: skip
        return size
    return None
