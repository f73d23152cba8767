"""Which host we run in and how it names things: A1111 v1.10.1 or Forge (host-api.md §3, §11)."""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from typing import Any


@functools.lru_cache(maxsize=1)
def is_forge() -> bool:
    # host-api.md §9: Forge ships the `modules_forge` package; A1111 does not. Asked several times per
    # generation; on A each answer is a search of sys.path, and the host does not change while it runs.
    if "modules_forge" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("modules_forge") is not None
    except (ImportError, ValueError):
        return False


def dialect() -> str:
    return "forge" if is_forge() else "a1111"


def host_info() -> dict[str, str | None]:
    return {"name": dialect(), "version": _version()}


@functools.lru_cache(maxsize=1)
def _version() -> str | None:
    """`launch.git_tag()` (A launch.py:10, F launch.py:13) runs `git describe` in a subprocess on every call
    (A launch_utils.py:74-86, about 6 ms) and never raises: ask once per process, not once per image."""
    try:
        import launch
    except ImportError:  # a build without the host's launch module (e.g. a test harness): informative only
        return None
    git_tag = getattr(launch, "git_tag", None)
    return str(git_tag()) if callable(git_tag) else None


def target_checkpoint(p: Any):
    """The checkpoint this generation WILL use, valid in `before_process` on both hosts: an override in
    `p.override_settings` first, then the loaded model (A loads eagerly), else the selected one (F loads
    lazily, so `shared.sd_model` may be the previous model or FakeInitialModel) — host-api.md §3."""
    from modules import sd_models, shared

    override = (getattr(p, "override_settings", None) or {}).get("sd_model_checkpoint")
    if override:
        info = sd_models.get_closet_checkpoint_match(override)
        if info is not None:
            return info
    if not is_forge():
        loaded = getattr(shared.sd_model, "sd_checkpoint_info", None)
        if loaded is not None:
            return loaded
    return sd_models.select_checkpoint()


def loaded_checkpoint():
    """The checkpoint of the model in memory (valid in `process()`, after both hosts have loaded it)."""
    from modules import shared

    return getattr(shared.sd_model, "sd_checkpoint_info", None)


def checkpoint_by_name(name: str | None):
    if not name or name in ("Use same checkpoint", "None", "none"):
        return None
    from modules import sd_models

    return sd_models.get_closet_checkpoint_match(name)


def checkpoint_exact(name: str | None):
    """The checkpoint whose title, model name, name or file path is exactly `name`, as GET
    /sdapi/v1/sd-models lists them (A modules/api/api.py:726-728, F 727-729: title, model_name, filename
    from `sd_models.checkpoints_list`), else None. Never the host's closest match
    (`get_closet_checkpoint_match` falls back to a substring of a title, A sd_models.py:248-266): a writing
    route must write where it was told, so "a" must not mean "plain.safetensors"."""
    if not name:
        return None
    from modules import sd_models

    for info in sd_models.checkpoints_list.values():
        if name in (info.title, info.model_name, info.name, info.filename):
            return info
    return None


def effective_vae(p: Any) -> str | None:
    """A: `p.sd_vae_name` (None = the VAE baked into the checkpoint). F: `sd_vae` is stubbed and the real
    choice is `opts.forge_additional_modules`, full paths of VAE and text encoders (host-api.md §7)."""
    if not is_forge():
        return getattr(p, "sd_vae_name", None)
    from modules import shared

    modules = shared.opts.data.get("forge_additional_modules") or []
    names = [os.path.basename(str(m)) for m in modules]
    vaes = [n for n in names if "vae" in n.lower()]
    return (vaes or names or [None])[0]


def clip_skip() -> int | None:
    """The `CLIP_stop_at_last_layers` option (A shared_options.py:181, F 183 -- F hides it as a gr.State
    "Managed by Forge" but keeps the key)."""
    from modules import shared

    value = shared.opts.data.get("CLIP_stop_at_last_layers")
    return int(value) if value is not None else None
