"""The standalone app's demo folder: tiny checkpoints stamped from `metadata_examples/*.iga.json`.

Created on first run under the user data dir (`IGA_DATA_DIR` overrides), so `python -m iga_core ui` shows
real recipes on a fresh machine without downloading a model. The files hold a few kilobytes of made-up
weights: enough for the panel, the guard and the Recipes tab, not for generating images.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

from iga_core import paths
from iga_core.checkpoint.atomic import write_bytes_atomic
from iga_core.checkpoint.safetensors_io import TensorInfo, encode_header
from iga_core.checkpoint.stamp import stamp
from iga_core.errors import IgaError, IgaIOError
from iga_core.recipe import Recipe

#: a few tensor names per architecture (shapes shrunk), so reconstruction can tell them apart
_TENSORS = {
    "sd1": [("model.diffusion_model.input_blocks.0.0.weight", [8, 4, 3, 3]),
            ("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", [4, 768])],
    "sdxl": [("model.diffusion_model.input_blocks.0.0.weight", [8, 4, 3, 3]),
             ("conditioner.embedders.1.model.token_embedding.weight", [2, 1280])],
    "flux": [("model.diffusion_model.double_blocks.0.img_attn.qkv.weight", [6, 3072])],
    # Forge Neo's detection keys (huggingface_guess/detection.py:43-64, 244): the width tells Z-Image
    "z-image": [("model.diffusion_model.cap_embedder.1.weight", [3840, 1])],
    "qwen-image": [("model.diffusion_model.txt_norm.weight", [8])],
    "lora": [("lora_unet_down_blocks_1_attentions_0_proj_in.lora_down.weight", [4, 64]),
             ("lora_unet_down_blocks_1_attentions_0_proj_in.lora_up.weight", [64, 4])],
}
#: the demo's LoRA folder sits beside the demo checkpoints (`LocalLoras` looks for it there)
DEMO_LORAS_NAME = "demo-loras"
NO_RECIPE_NAME = "no-recipe-sd15.safetensors"


class DemoFolderError(IgaIOError):
    """The demo folder could not be created."""


def data_dir() -> Path:
    """Per-user data folder (`iga_core.paths`: $IGA_DATA_DIR, else the platform's usual place)."""
    return paths.data_dir()


def examples_dir() -> Path:
    """The example recipes the demo checkpoints and the Recipes tab's templates come from (packaged or the
    clone's, `paths.shipped`)."""
    return paths.shipped("metadata_examples")


def write_tiny_checkpoint(path: Path, architecture: str, seed: str) -> Path:
    """A valid safetensors file with a few small F16 tensors whose bytes derive from `seed`."""
    tensors: dict[str, TensorInfo] = {}
    data = bytearray()
    for name, shape in _TENSORS.get(architecture, _TENSORS["sd1"]):
        count = 1
        for dim in shape:
            count *= dim
        nbytes = count * 2
        block = hashlib.sha256(f"{seed}:{name}".encode()).digest()
        chunk = (block * (nbytes // len(block) + 1))[:nbytes]
        tensors[name] = TensorInfo(name, "F16", tuple(shape), len(data), len(data) + nbytes)
        data += chunk
    blob = encode_header({}, tensors) + bytes(data)
    return write_bytes_atomic(path, blob, parents=True)


def demo_loras_dir() -> Path:
    """Recipes of the demo LoRAs, kept as data next to this module."""
    return Path(__file__).resolve().parent / "demo_loras"


def ensure_demo_loras(folder: Path, recipes: Path | None = None) -> Path:
    """Tiny LoRA files stamped from `demo_loras/*.iga.json` (files that exist are kept), so a prompt's
    `<lora:lcm-lora-demo:1>` composes a recipe in the standalone app."""
    recipes = Path(recipes) if recipes is not None else demo_loras_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for example in sorted(recipes.glob("*.iga.json")):
        target = folder / f"{_example_name(example)}.safetensors"
        if target.exists():
            continue
        try:
            write_tiny_checkpoint(target, "lora", example.name)
            stamp(target, json.loads(example.read_text(encoding="utf-8")))
        except (IgaError, ValueError) as exc:
            target.unlink(missing_ok=True)
            print(f"[IGA] demo: skipped LoRA {example.name}: {exc}", file=sys.stderr)
    return folder


def _example_name(example: Path) -> str:
    return example.name[: -len(".iga.json")] if example.name.endswith(".iga.json") else example.stem


def demo_models_dir() -> Path:
    return data_dir() / "demo-models"


def reset_demo_models(folder: Path | None = None, examples: Path | None = None) -> Path:
    """`iga ui --reset-demo`: delete the demo checkpoints and LoRAs with every edit made to them (stamps,
    strips, copies, sidecars from the Recipes tab) and make them again from the examples."""
    folder = Path(folder) if folder is not None else demo_models_dir()
    for path in (folder, folder.parent / DEMO_LORAS_NAME):
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise DemoFolderError(f"cannot remove the demo folder {path}: {exc.strerror or exc}",
                                  "close what holds files in it, or delete it by hand") from None
    return ensure_demo_models(folder, examples)


def ensure_demo_models(folder: Path | None = None, examples: Path | None = None) -> Path:
    """Create the demo folder once (files that exist are kept) and return it."""
    folder = Path(folder) if folder is not None else demo_models_dir()
    examples = Path(examples) if examples is not None else examples_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        files = sorted(examples.glob("*.iga.json")) if examples.is_dir() else []
        for example in files:
            target = folder / f"{_example_name(example)}.safetensors"
            if target.exists():
                continue
            try:
                document = json.loads(example.read_text(encoding="utf-8"))
                recipe = Recipe.from_dict(document)  # an example that does not parse is skipped, said why
                write_tiny_checkpoint(target, recipe.architecture or "sd1", example.name)
                stamp(target, document)
            except (IgaError, ValueError) as exc:
                target.unlink(missing_ok=True)
                print(f"[IGA] demo: skipped {example.name}: {exc}", file=sys.stderr)
        plain = folder / NO_RECIPE_NAME
        if not plain.exists():
            write_tiny_checkpoint(plain, "sd1", "no recipe")
        ensure_demo_loras(folder.parent / DEMO_LORAS_NAME)
    except OSError as exc:
        raise DemoFolderError(f"cannot create the demo folder {folder}: {exc.strerror or exc}",
                              "set IGA_DATA_DIR to a writable folder or pass --models DIR") from None
    return folder
