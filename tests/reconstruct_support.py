"""Tiny checkpoints of each family, and a writer for files whose tensor values matter (marker scalars)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from tests.factories import SD1_TENSORS, make_checkpoint

SD2 = {
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": ("F16", [320, 1024]),
    "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight": ("F16", [8, 1024]),
    "first_stage_model.decoder.conv_in.weight": ("F16", [4, 4, 1, 1]),
}
SDXL = {
    "model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight": ("F16", [640, 2048]),
    "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight": ("F16", [8, 1280]),
    "first_stage_model.decoder.conv_in.weight": ("F16", [4, 4, 1, 1]),
}
SDXL_UNET_ONLY = {"down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight": ("F16", [640, 2048])}
FLUX_DEV = {
    "double_blocks.0.img_attn.qkv.weight": ("BF16", [9216, 3072]),
    "guidance_in.in_layer.weight": ("BF16", [3072, 256]),
}
FLUX_SCHNELL = {"double_blocks.0.img_attn.qkv.weight": ("BF16", [9216, 3072])}
SD3 = {"model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight": ("F16", [4608, 1536])}
FAMILIES = {"sd1": SD1_TENSORS, "sd2": SD2, "sdxl": SDXL, "flux": FLUX_DEV, "sd3": SD3}


def checkpoint(folder: Path, name: str, tensors=None, metadata=None) -> Path:
    return make_checkpoint(folder / name, SDXL if tensors is None else tensors, metadata)


def write_tensors(path: Path, tensors: dict[str, tuple[str, list[int], bytes]], metadata=None) -> Path:
    """A safetensors file with exactly the given tensor bytes."""
    header: dict = {"__metadata__": metadata} if metadata else {}
    data = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    body = json.dumps(header, separators=(",", ":")).encode()
    body += b" " * (-len(body) % 8)
    path.write_bytes(struct.pack("<Q", len(body)) + body + data)
    return path


def f32(value: float) -> bytes:
    return struct.pack("<f", value)


def f16(value: float) -> bytes:
    return struct.pack("<e", value)


def bf16(value: float) -> bytes:
    return struct.pack("<f", value)[2:]  # the high half of the float32
