"""Mirror of modules/sd_models.py (A; F differences noted).

- `CheckpointInfo` (A 56-128, F 62-134): filename, name (relative to the models dir), name_for_extra (stem),
  model_name, hash, sha256, shorthash, title "name [shorthash]", ids, metadata (safetensors `__metadata__`
  with string values starting with "{" JSON-decoded, A 284-309), is_safetensors.
- `select_checkpoint()` (A 224-246, F 233-249) honours `opts.sd_model_checkpoint`.
- `get_closet_checkpoint_match()` (A 248-266).
- Loading: A loads eagerly (initial load and dropdown change) and fires `on_model_loaded` (A sd_models.py:864);
  F starts with `FakeInitialModel` (no `sd_checkpoint_info`, F 385-408) and loads lazily inside
  `process_images` after `before_process` (F processing.py:804 -> forge_model_reload, sd_models.py:473-518).
"""

from __future__ import annotations

import hashlib
import os

from modules import script_callbacks, shared
from modules.sd_models_metadata import read_metadata_from_safetensors  # A 284-309, the one faithful mirror

checkpoints_list: dict[str, CheckpointInfo] = {}
checkpoint_aliases: dict[str, CheckpointInfo] = {}
model_path = ""


class CheckpointInfo:
    def __init__(self, filename):
        self.filename = filename
        abspath = os.path.abspath(filename)
        if model_path and abspath.startswith(os.path.abspath(model_path)):
            name = os.path.relpath(abspath, model_path)
        else:
            name = os.path.basename(filename)
        self.name = name
        self.name_for_extra = os.path.splitext(os.path.basename(filename))[0]
        self.model_name = os.path.splitext(name.replace("/", "_").replace("\\", "_"))[0]
        self.is_safetensors = os.path.splitext(filename)[1].lower() == ".safetensors"
        with open(filename, "rb") as f:
            self.sha256 = hashlib.sha256(f.read()).hexdigest()
        self.hash = self.sha256[:8]
        self.shorthash = self.sha256[:10]
        self.title = f"{name} [{self.shorthash}]"
        self.short_title = f"{self.name_for_extra} [{self.shorthash}]"
        self.ids = [self.hash, self.model_name, self.title, name, self.name_for_extra, f"{name} [{self.hash}]",
                    self.sha256, self.shorthash]
        self.metadata = {}
        if self.is_safetensors:
            try:
                self.metadata = read_metadata_from_safetensors(filename)
            except Exception as e:  # A reports and continues with {}
                from modules import errors
                errors.display(e, f"reading metadata for {filename}")

    def register(self):
        checkpoints_list[self.title] = self
        for id_ in self.ids:
            checkpoint_aliases[id_] = self


def list_models(directory: str | None = None) -> None:
    """A `list_models()` (sd_models.py:140-168) rescans the models folder; the double takes the folder once."""
    global model_path
    model_path = directory or model_path
    checkpoints_list.clear()
    checkpoint_aliases.clear()
    for root, _dirs, files in os.walk(model_path):
        for fn in sorted(files):
            if fn.endswith((".safetensors", ".ckpt")):
                CheckpointInfo(os.path.join(root, fn)).register()


def get_closet_checkpoint_match(search_string):
    if not search_string:
        return None
    info = checkpoint_aliases.get(search_string)
    if info is not None:
        return info
    found = sorted([i for i in checkpoints_list.values() if search_string in i.title], key=lambda x: len(x.title))
    return found[0] if found else None


def select_checkpoint():
    model_checkpoint = shared.opts.sd_model_checkpoint
    info = checkpoint_aliases.get(model_checkpoint)
    if info is not None:
        return info
    if not checkpoints_list:
        return None
    return next(iter(checkpoints_list.values()))


class FakeInitialModel:  # F sd_models.py:385-408: no sd_checkpoint_info before the first generation
    def __init__(self):
        self.cond_stage_model = None
        self.chunk_length = 75


class DoubleModel:
    """What the glue reads from `shared.sd_model`: its CheckpointInfo and hash (A 527, F 511)."""

    def __init__(self, info: CheckpointInfo):
        self.sd_checkpoint_info = info
        self.sd_model_hash = info.shorthash
        self.sd_model_checkpoint = info.filename
        self.is_sdxl = False
        self.is_sd1 = True
        self.use_distilled_cfg_scale = False


def load_model(info: CheckpointInfo | None = None):
    info = info or select_checkpoint()
    shared.sd_model = DoubleModel(info)
    script_callbacks.model_loaded_callback(shared.sd_model)
    return shared.sd_model


def reload_model_weights(sd_model=None, info=None):
    """A: switch to the selected checkpoint when it differs (A 949-994). F: the lazy Forge load
    (`forge_model_reload`, F 473-518), called from `manage_model_and_prompt_cache`."""
    info = info or select_checkpoint()
    current = getattr(shared.sd_model, "sd_checkpoint_info", None)
    if current is None or current.filename != info.filename:
        load_model(info)
    return shared.sd_model


def initial_load() -> None:
    """A: initial load in a background thread at startup (initialize.py:139-156). F: FakeInitialModel."""
    if shared.HOST == "forge":
        shared.sd_model = FakeInitialModel()
    else:
        load_model()
