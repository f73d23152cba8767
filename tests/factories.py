"""Tiny safetensors files for tests, written with the stdlib only (no torch, no numpy).

`make_checkpoint(path)` writes a valid file in the layout the format defines: 8-byte little-endian header
length, a compact JSON header starting with `{"` and padded with spaces to a multiple of 8, then the
tensor bytes back to back. Tensor bytes are deterministic (derived from the tensor name and `seed`), so
two files made with the same arguments are byte-identical and a different seed gives different weights.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "F64": 8, "I8": 1, "BOOL": 1}

# A few names of each architecture's state dict, enough for detection by tensor name.
SD1_TENSORS = {
    "model.diffusion_model.input_blocks.0.0.weight": ("F16", [320, 4, 3, 3]),
    "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": ("F16", [320, 768]),
    "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": ("F16", [8, 768]),
    "first_stage_model.decoder.conv_in.weight": ("F16", [4, 4, 1, 1]),
}


def _bytes_for(name: str, nbytes: int, seed: int) -> bytes:
    out = bytearray()
    block = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    while len(out) < nbytes:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:nbytes])


def build_checkpoint_bytes(
    tensors: dict[str, tuple[str, list[int]]] | None = None,
    metadata: dict[str, str] | None = None,
    *,
    seed: int = 0,
    max_elements: int = 64,
) -> bytes:
    """Return the bytes of a safetensors file. Shapes are real; to keep files tiny, each tensor is
    shrunk to at most `max_elements` elements along its first axis when it is larger (the header then
    declares the shrunk shape, so the file stays valid)."""
    tensors = dict(SD1_TENSORS if tensors is None else tensors)
    header: dict[str, object] = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    data = bytearray()
    for name in sorted(tensors):
        dtype, shape = tensors[name]
        shape = list(shape)
        count = 1
        for dim in shape:
            count *= dim
        while count > max_elements and shape and shape[0] > 1:
            shape[0] = max(1, shape[0] // 2)
            count = 1
            for dim in shape:
                count *= dim
        nbytes = count * DTYPE_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + nbytes]}
        data += _bytes_for(name, nbytes, seed)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + bytes(data)


def make_checkpoint(path: str | Path, tensors=None, metadata=None, *, seed: int = 0, max_elements: int = 64) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_checkpoint_bytes(tensors, metadata, seed=seed, max_elements=max_elements))
    return path
