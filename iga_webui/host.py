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


#: tensor-name prefixes of a VAE file (diffusers / LDM / Flux `ae.safetensors` layouts)
_VAE_KEYS = ("decoder.", "encoder.", "first_stage_model.", "vae.", "post_quant_conv.", "quant_conv.")
#: tensor-name prefixes of text encoders (CLIP-L/G, OpenCLIP, T5, UMT5, LLMs)
_TE_KEYS = ("text_model.", "transformer.", "model.", "shared.", "encoder.block.", "text_projection",
            "logit_scale", "conditioner.", "cond_stage_model.", "token_embd", "blk.")


def is_vae_module(path: str) -> bool:
    """Is a Forge VAE / text-encoder module file a VAE? By its tensor names (a Flux `ae.safetensors` is a
    VAE, `clip_l` / `t5xxl` are text encoders), else by its name when the header cannot be read."""
    try:
        from iga_core.checkpoint.safetensors_io import read_header

        names = list(read_header(path).tensors)
    except Exception:
        names = []
    if names:
        if any(n.startswith("encoder.block.") for n in names):
            return False  # T5's encoder blocks, not a VAE encoder
        vae = sum(n.startswith(_VAE_KEYS) for n in names)
        te = sum(n.startswith(_TE_KEYS) for n in names)
        return vae > te
    stem = os.path.splitext(os.path.basename(str(path)))[0].lower()
    return "vae" in stem or stem == "ae"


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
    choice is `opts.forge_additional_modules`, full paths of VAE and text encoders (host-api.md §7): the
    VAE is the module whose tensors are a VAE's; none means the checkpoint's own ("None")."""
    if not is_forge():
        return getattr(p, "sd_vae_name", None)
    from modules import shared

    modules = shared.opts.data.get("forge_additional_modules") or []
    vaes = [os.path.basename(str(m)) for m in modules if is_vae_module(str(m))]
    return vaes[0] if vaes else ("None" if modules else None)


def option(key: str, default: Any = None) -> Any:
    from modules import shared

    return shared.opts.data.get(key, default)


def _stem(name: str) -> str:
    from iga_core.guard.rules.vae import vae_stem

    return vae_stem(name)


def vae_override(recipe_vae: Any, overrides: dict) -> tuple[str, Any, str] | None:
    """(override key, value, name shown) that makes the host use the recipe's VAE (`Recipe.vae`) for one
    request, or None when it already does, the request overrides it itself, or the host lists no such VAE.
    A: `sd_vae` = a `sd_vae.vae_dict` key, or "None" for the checkpoint's own (A processing.py:838-839
    reloads it). F: `forge_additional_modules` = the text encoders kept, the VAE swapped (F sysinfo.py:218-260,
    main_entry.py:140-164, 258-276)."""
    if recipe_vae is None or ("sd_vae" in overrides or "forge_additional_modules" in overrides):
        return None
    wanted = recipe_vae.id
    embedded_only = bool(recipe_vae.embedded) and not wanted
    if not wanted and not embedded_only:
        return None
    if is_forge():
        from modules_forge import main_entry

        current = [str(m) for m in (option("forge_additional_modules") or [])]
        kept = [m for m in current if not is_vae_module(m)]
        if embedded_only:
            return None if kept == current else ("forge_additional_modules", kept, "None")
        path = next((v for k, v in (main_entry.module_list or {}).items() if _stem(k) == _stem(wanted)), None)
        if path is None:
            return None
        new = [*kept, str(path)]
        return None if new == current else ("forge_additional_modules", new, os.path.basename(str(path)))
    from modules import sd_vae

    if embedded_only:
        return None if option("sd_vae", "Automatic") in ("None", "Automatic") else ("sd_vae", "None", "None")
    key = next((k for k in sd_vae.vae_dict if _stem(k) == _stem(wanted)), None)
    if key is None or option("sd_vae", "Automatic") == key:
        return None
    return "sd_vae", key, key


def clip_skip() -> int | None:
    """The `CLIP_stop_at_last_layers` option (A shared_options.py:181, F 183 -- F hides it as a gr.State
    "Managed by Forge" but keeps the key)."""
    from modules import shared

    value = shared.opts.data.get("CLIP_stop_at_last_layers")
    return int(value) if value is not None else None
