"""The one door to the host: which WebUI runs (A1111 v1.10.1 or Forge), how it names things, and every
host object the glue reads or calls. No other `iga_webui` module imports the host's `modules` (a test
enforces this), so what the glue depends on is listed here, each with the host lines it relies on.

Imported only from `scripts/iga.py`'s import chain, i.e. inside a running host, where every module below
is already loaded (both hosts import them before any extension script runs).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from typing import Any

from modules import (
    call_queue,  # queue_lock: A call_queue.py:8, F 10
    infotext_utils,  # quote: A infotext_utils.py:56, F 58
    processing,  # process_images A processing.py:819 / F 815; Processed A 516 / F 518; DecodedSamples A 621 / F 624
    script_callbacks,  # on_* registration: A and F script_callbacks.py
    scripts,  # Script A scripts.py:52 / F 53; AlwaysVisible A 14 / F 14
    sd_models,  # checkpoints_list A sd_models.py:24 / F 30; get_closet_checkpoint_match A 183 / F 198;
    #           select_checkpoint A 218 / F 233
    sd_samplers,  # all_samplers: A and F sd_samplers.py:11
    sd_schedulers,  # schedulers, schedulers_map: A sd_schedulers.py:130, 145; F 211, 230
    sd_vae,  # vae_dict: A sd_vae.py:13, F 14
    shared,  # opts, cmd_opts, state, sd_model, OptionInfo (A shared.py:77)
    shared_items,  # refresh_checkpoints: A shared_items.py:60-62, F 58-60
)

from iga_core.autoconfig import HostCapabilities
from iga_core.checkpoint.safetensors_io import read_header
from iga_core.guard.rules.vae import vae_stem

#: the base class and the "always on" marker of a script (A and F modules/scripts.py)
Script = scripts.Script
AlwaysVisible = scripts.AlwaysVisible


# --- which host ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def is_forge() -> bool:
    # Forge ships the `modules_forge` package; A1111 does not. Asked several times per generation; on A
    # each answer is a search of sys.path, and the host does not change while it runs.
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
    (A launch_utils.py:74-86, about 6 ms) and never raises: ask once per process, not once per image. The
    host's top-level `launch` module is imported here, on first use, not with this module: the hosts run
    launch.py as __main__, so importing it by name is a second load that only the version needs."""
    import launch

    git_tag = getattr(launch, "git_tag", None)
    return str(git_tag()) if callable(git_tag) else None


def forge_main_entry(name: str) -> Any:
    """A component Forge's top bar keeps in `modules_forge.main_entry` (F main_entry.py); None on A1111."""
    if not is_forge():
        return None
    from modules_forge import main_entry  # Forge only, so not imported with the A1111 modules above

    return getattr(main_entry, name, None)


# --- settings and command line ---------------------------------------------------------------------------


def option(key: str, default: Any = None) -> Any:
    """A setting's current value (`opts.data`), `default` until it is set."""
    return shared.opts.data.get(key, default)


def cmd_opt(name: str) -> Any:
    """A command-line flag (`--api-auth` is `api_auth`), None when the host has no such flag."""
    return getattr(shared.cmd_opts, name, None)


def add_option(key: str, default: Any, label: str, component: Any, component_args: dict | None, *,
               section: tuple, info: str | None = None) -> None:
    """Register a setting in the host's Settings page (A options.py:13 OptionInfo, 256 add_option)."""
    option_info = shared.OptionInfo(default, label, component, component_args, section=section)
    if info:
        option_info = option_info.info(info)
    shared.opts.add_option(key, option_info)


def on(event: str, callback, name: str) -> None:
    """`script_callbacks.on_<event>(callback, name=...)`: on_ui_settings, on_app_started, ..."""
    getattr(script_callbacks, f"on_{event}")(callback, name=name)


def queue_lock():
    """The lock every generation runs under (A call_queue.py:8, F 10): writes to model files take it."""
    return call_queue.queue_lock


# --- checkpoints and the loaded model ----------------------------------------------------------------


def target_checkpoint(p: Any):
    """The checkpoint this generation WILL use, valid in `before_process` on both hosts: an override in
    `p.override_settings` first, then the loaded model (A loads eagerly), else the selected one (F loads
    lazily, so `shared.sd_model` may be the previous model or FakeInitialModel, F sd_models.py:385-408)."""
    override = (getattr(p, "override_settings", None) or {}).get("sd_model_checkpoint")
    if override:
        info = sd_models.get_closet_checkpoint_match(override)
        if info is not None:
            return info
    if not is_forge():
        loaded = getattr(shared.sd_model, "sd_checkpoint_info", None)
        if loaded is not None:
            return loaded
    return selected_checkpoint()


def selected_checkpoint():
    """The checkpoint the settings select. A `select_checkpoint` (sd_models.py:218-240) exits the process
    when there is none at all, F (sd_models.py:233-245) returns None; here both mean None."""
    if not sd_models.checkpoints_list:
        return None
    return sd_models.select_checkpoint()


def loaded_checkpoint():
    """The checkpoint of the model in memory (valid in `process()`, after both hosts have loaded it)."""
    return getattr(shared.sd_model, "sd_checkpoint_info", None)


def model_uses_distilled_cfg() -> bool:
    """Forge's flag for guidance-distilled models (F processing.py:739-742 reads it)."""
    return bool(getattr(shared.sd_model, "use_distilled_cfg_scale", False))


def checkpoint_by_name(name: str | None):
    if not name or name in ("Use same checkpoint", "None", "none"):
        return None
    return sd_models.get_closet_checkpoint_match(name)


def checkpoint_architecture(info: Any) -> str | None:
    """The architecture of a checkpoint the host has not loaded yet (a hires or refiner checkpoint, loaded
    only when its pass starts: A processing.py:1359-1362, sd_samplers_common.py:158 apply_refiner), read
    from its tensor table as the hosts pick its config (A sd_models_config.py:71-115;
    `iga_core.checkpoint.layout`); None when unknown or not a checkpoint."""
    from iga_core.checkpoint.layout import describe
    from iga_core.recipe.aliases import family_info

    try:
        layout = describe(read_header(str(info.filename)).tensors)
    except Exception:  # unreadable, not safetensors: the host reports its own load error later
        return None
    if layout.kind != "checkpoint" or layout.family is None:
        return None
    return family_info(layout.family)["architecture"]


def checkpoints() -> list:
    """Every CheckpointInfo the host lists (`checkpoints_list`: title -> CheckpointInfo)."""
    return list(sd_models.checkpoints_list.values())


def refresh_checkpoints() -> None:
    """Re-read the checkpoint list and its metadata after a write (A shared_items.py:60-62, F 58-60)."""
    shared_items.refresh_checkpoints()


# --- names ---------------------------------------------------------------------------------------------


def sampler_names() -> list[str]:
    """The sampler dropdown's names (`all_samplers`: SamplerData(name, ...), A and F sd_samplers.py:11)."""
    return [s.name for s in sd_samplers.all_samplers]


def schedule_labels() -> list[str]:
    """The schedule-type dropdown's labels (`schedulers`: Scheduler(name, label, ...), A sd_schedulers.py:130,
    F 211)."""
    return [s.label for s in sd_schedulers.schedulers]


def sampler_map() -> dict:
    """Sampler name -> SamplerData (`all_samplers_map`, A and F sd_samplers.py)."""
    return sd_samplers.all_samplers_map


def schedule_map() -> dict:
    """Schedule name and label -> Scheduler (`schedulers_map`, A sd_schedulers.py:145, F 230)."""
    return sd_schedulers.schedulers_map


def sampler_and_schedule(sampler: str | None, schedule: str | None) -> tuple[str, str]:
    """What the host makes of a (sampler, schedule) pair: a combined name split, an unknown name silently
    replaced by its first sampler (`get_sampler_and_scheduler`, A sd_samplers.py:100-122)."""
    return sd_samplers.get_sampler_and_scheduler(sampler, schedule)


def capabilities() -> HostCapabilities:
    """What this host can run, for `iga_core.autoconfig.auto_configure` (the one function that spells a
    recipe's values for a host)."""
    return _capabilities(dialect(), tuple(sampler_names()), tuple(schedule_labels()))


@functools.lru_cache(maxsize=4)
def _capabilities(dialect_: str, samplers: tuple[str, ...], schedules: tuple[str, ...]) -> HostCapabilities:
    name = "Forge" if dialect_ == "forge" else "AUTOMATIC1111"
    return HostCapabilities.of_running_host(name, dialect_, samplers, schedules,
                                            supports_distilled_cfg=dialect_ == "forge")


#: tensor-name prefixes of a VAE file (diffusers / LDM / Flux `ae.safetensors` layouts)
_VAE_KEYS = ("decoder.", "encoder.", "first_stage_model.", "vae.", "post_quant_conv.", "quant_conv.")
#: tensor-name prefixes of text encoders (CLIP-L/G, OpenCLIP, T5, UMT5, LLMs)
_TE_KEYS = ("text_model.", "transformer.", "model.", "shared.", "encoder.block.", "text_projection",
            "logit_scale", "conditioner.", "cond_stage_model.", "token_embd", "blk.")


def is_vae_module(path: str) -> bool:
    """Is a Forge VAE / text-encoder module file a VAE? By its tensor names (a Flux `ae.safetensors` is a
    VAE, `clip_l` / `t5xxl` are text encoders), else by its name when the header cannot be read."""
    try:
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
    (`get_closet_checkpoint_match` falls back to a substring of a title, A sd_models.py:183-200): a writing
    route must write where it was told, so "a" must not mean "plain.safetensors"."""
    if not name:
        return None
    for info in sd_models.checkpoints_list.values():
        if name in (info.title, info.model_name, info.name, info.filename):
            return info
    return None


def effective_vae(p: Any) -> str | None:
    """A: `p.sd_vae_name` (None = the VAE baked into the checkpoint). F: `sd_vae` is stubbed and the real
    choice is `opts.forge_additional_modules`, full paths of VAE and text encoders (F main_entry.py:140-164,
    258-276): the VAE is the module whose tensors are a VAE's; none means the checkpoint's own ("None")."""
    if not is_forge():
        return getattr(p, "sd_vae_name", None)
    modules = option("forge_additional_modules") or []
    vaes = [os.path.basename(str(m)) for m in modules if is_vae_module(str(m))]
    return vaes[0] if vaes else ("None" if modules else None)


def _stem(name: str) -> str:
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
        current = [str(m) for m in (option("forge_additional_modules") or [])]
        kept = [m for m in current if not is_vae_module(m)]
        if embedded_only:
            return None if kept == current else ("forge_additional_modules", kept, "None")
        path = next((v for k, v in (forge_main_entry("module_list") or {}).items() if _stem(k) == _stem(wanted)), None)
        if path is None:
            return None
        new = [*kept, str(path)]
        return None if new == current else ("forge_additional_modules", new, os.path.basename(str(path)))
    if embedded_only:
        return None if option("sd_vae", "Automatic") in ("None", "Automatic") else ("sd_vae", "None", "None")
    key = next((k for k in sd_vae.vae_dict if _stem(k) == _stem(wanted)), None)
    if key is None or option("sd_vae", "Automatic") == key:
        return None
    return "sd_vae", key, key


def clip_skip() -> int | None:
    """The `CLIP_stop_at_last_layers` option (A shared_options.py:181, F 183 -- F hides it as a gr.State
    "Managed by Forge" but keeps the key)."""
    value = option("CLIP_stop_at_last_layers")
    return int(value) if value is not None else None


# --- generation ----------------------------------------------------------------------------------------


def state():
    """The host's job state (`shared.state`: job, job_no, job_count, interrupted)."""
    return shared.state


def process_images(p: Any):
    return processing.process_images(p)


def processed(p: Any, images: list, seed: Any, info: str):
    return processing.Processed(p, images, seed, info)


def decoded_samples(samples: list):
    """What `p.sample` returns when it has decoded images already (A processing.py:621-622 and 995)."""
    return processing.DecodedSamples(samples)


def quote_infotext(text: str) -> str:
    return infotext_utils.quote(text)
