"""The one door to the host: which WebUI runs (A1111 v1.10.1, Forge, Forge Neo, Forge Classic or reForge),
how it names things, and every host object the glue reads or calls. No other `iga_webui` module imports the
host's `modules` (a test enforces this; `host_probe` looks at the host's version module before this one
loads), so what the glue depends on is listed here, each with the host lines it relies on. Where the forks
differ, the variant `iga_webui/hosts.json` names for this host handles it (`glue(difference)`, one module
per difference in `iga_webui/forks/`; docs/hosts.md).

Imported only from `scripts/iga.py`'s import chain on a known host, i.e. inside a running host, where every
module below is already loaded (every known host imports them before any extension script runs; A1111
1.10's module names hold in all five, docs/hosts.md §1).
"""

from __future__ import annotations

import functools
import importlib
import os
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
    ui_components,  # DropdownEditable: A ui_components.py:79-85, F 90-99
)

from iga_core.autoconfig import HostCapabilities
from iga_core.checkpoint.safetensors_io import read_header
from iga_webui import host_probe
from iga_webui.host_profile import HostProfile

#: the base class and the "always on" marker of a script (A and F modules/scripts.py)
Script = scripts.Script
AlwaysVisible = scripts.AlwaysVisible


# --- which host ----------------------------------------------------------------------------------------


def profile() -> HostProfile:
    """This host: its name, version and the glue variant of each difference (detected once per process)."""
    return host_probe.profile()


@functools.cache
def _glue(difference: str, variant: str) -> Any:
    return importlib.import_module(f"iga_webui.forks.{difference}").VARIANTS[variant]


def glue(difference: str) -> Any:
    """The variant of `difference` (a module of `iga_webui.forks`) this host needs."""
    return _glue(difference, profile().glue[difference])


def is_forge() -> bool:
    """Does the model run on Forge's `backend` package (Forge, Neo)? Forge Classic and reForge ship
    `modules_forge` too but run the older `ldm_patched` backend with A1111's loading, VAE and top bar."""
    return profile().backend == "forge"


def dialect() -> str:
    """The vocabulary dialect this host's sampler and schedule names are spelled in."""
    return profile().dialect


def host_info() -> dict[str, str | None]:
    """For the audit record: the host's key ("a1111", "forge", "forge-neo", "forge-classic", "reforge") and
    the version its own version API gives (docs/hosts.md §1)."""
    return {"name": profile().key, "version": profile().version}


def forge_main_entry(name: str) -> Any:
    """A component Forge's and Neo's top bar keep in `modules_forge.main_entry` (F main_entry.py:14-23, Neo
    25-28); None where the host has no such module (A1111, Forge Classic, reForge) or has not built it yet."""
    if not glue("top_bar").has_main_entry:
        return None
    from modules_forge import main_entry  # only where the profile says the module exists

    return getattr(main_entry, name, None)


def reraise_own_errors_of_the_main_thread() -> bool:
    """Where the host's main thread drops the exception of a UI generation (reForge modules_forge/main_thread.py:
    29-42, Forge Classic 43-58), make IGA's refusal reach the UI (forks/main_thread.py); False elsewhere."""
    variant = glue("main_thread")
    if not variant.needs_main_thread:
        return False
    from modules_forge import main_thread  # only where the profile says the host runs its UI through it

    return variant.install(main_thread)


def forge_module_list() -> dict:
    """Forge's / Neo's VAE and text-encoder files: basename -> full path (F main_entry.py:40, 140-164; Neo 57,
    96-115); empty elsewhere."""
    return dict(forge_main_entry("module_list") or {})


# --- control units (ControlNet, T2I-Adapter, IP-Adapter) ------------------------------------------------


def _unit_value(unit: Any, key: str, default: Any = None) -> Any:
    return unit.get(key, default) if isinstance(unit, dict) else getattr(unit, key, default)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def control_units(p: Any) -> list[dict] | None:
    """The enabled units of the ControlNet script this generation runs, as {model, preprocessor, weight,
    guidance_start, guidance_end} dicts; None when no ControlNet script is loaded (the guard then checks
    nothing about adapters). Both hosts keep one unit per slot in that script's slice of `p.script_args`:

    - A1111 + sd-webui-controlnet (Mikubill/sd-webui-controlnet @56cec5b2): the always-on script whose
      `title().lower() == "controlnet"` (internal_controlnet/external_code.py:398-416 find_cn_script /
      is_cn_script; scripts/controlnet.py:319-323) reads `p.script_args[cn_script.args_from:args_to]`
      (external_code.py:126-148); a unit is a `ControlNetUnit` from the UI or a dict from the API
      (external_code.py:223-231), fields `enabled` (default False), `module`, `model`, `weight`,
      `guidance_start`, `guidance_end` (internal_controlnet/args.py:53-163).
    - Forge's integrated ControlNet (extensions-builtin/sd_forge_controlnet/scripts/controlnet.py:58-66,
      title "ControlNet", AlwaysVisible): `get_enabled_units(args)` of its own args (101-109, called from
      `process`, 547-549), dicts through `ControlNetUnit.from_dict`, whose `enabled` defaults to True
      (lib_controlnet/external_code.py:157-182, 207).

    T2I-Adapters and IP-Adapters run as units of the same script (their kind comes from the names)."""
    runner = getattr(p, "scripts", None)
    script = next((s for s in getattr(runner, "alwayson_scripts", None) or ()
                   if _title(s) == "controlnet"), None)
    if script is None or script.args_from is None:
        return None
    # a unit dict without "enabled": the forks' integrated ControlNet defaults it to True, A1111's extension
    # to False (`iga_webui.forks.controlnet`)
    enabled_by_default = glue("controlnet").unit_enabled_by_default
    units = []
    for unit in list(getattr(p, "script_args", None) or ())[script.args_from:script.args_to]:
        if unit is None or (not isinstance(unit, dict) and not hasattr(unit, "model")):
            continue
        if not _unit_value(unit, "enabled", enabled_by_default if isinstance(unit, dict) else False):
            continue
        model, module = _unit_value(unit, "model"), _unit_value(unit, "module")
        units.append({"model": model if isinstance(model, str) else None,
                      "preprocessor": module if isinstance(module, str) else None,
                      **{k: _number(_unit_value(unit, k)) for k in ("weight", "guidance_start", "guidance_end")}})
    return units


def _title(script: Any) -> str:
    try:
        return str(script.title()).lower()
    except Exception:  # another extension's title() that fails is not ours to report
        return ""


# --- settings and command line ---------------------------------------------------------------------------


def quicksettings() -> tuple[str, ...]:
    """The settings the top bar shows; each is built there instead of in its Settings section (A
    ui_settings.py:128-129, 155, 290-292; N 154-155, 181, 298-300): `quicksettings_list` (A shared_options.py:333,
    default ["sd_model_checkpoint"]; Neo 455, default []), Forge's `quick_setting_list` (F shared_options.py:340,
    read at ui_settings.py:136)."""
    for key in ("quicksettings_list", "quick_setting_list"):
        value = getattr(shared.opts, key, None)
        if isinstance(value, (list, tuple)):
            return tuple(str(k) for k in value)
    return ()


def option(key: str, default: Any = None) -> Any:
    """A setting's current value (`opts.data`), `default` until it is set."""
    return shared.opts.data.get(key, default)


def restore_after(key: str) -> None:
    """Have the host restore `key` after this generation. Both hosts store for restoring only the override
    keys already in `opts.data` (A processing.py:823, F 820), and `opts.data` holds only what config.json
    had (A options.py:197-202: no file, no keys), so on a host whose settings were never saved a recipe's
    override would otherwise stay set for every later generation. Called from before_process, which runs
    before the host takes that snapshot (A processing.py:818-823)."""
    opts = shared.opts
    if key not in opts.data and key in getattr(opts, "data_labels", {}):
        opts.data[key] = getattr(opts, key)  # its current value, the default: what the host restores to


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


#: a dropdown whose value may also be typed (allow_custom_value): what the hosts' own "Gradio theme" setting
#: uses to offer choices next to free text (A shared_options.py:337, F 345)
DropdownEditable = ui_components.DropdownEditable


def on(event: str, callback, name: str) -> None:
    """`script_callbacks.on_<event>(callback)`: on_ui_settings, on_app_started, ...; with `name=` where the
    host takes it (forks/callbacks.py)."""
    glue("callbacks").register(getattr(script_callbacks, f"on_{event}"), callback, name)


def queue_lock():
    """The lock every generation runs under (A call_queue.py:8, F 10): writes to model files take it."""
    return call_queue.queue_lock


# --- checkpoints and the loaded model ----------------------------------------------------------------


def target_checkpoint(p: Any):
    """The checkpoint this generation WILL use, valid in `before_process` on every host: an override in
    `p.override_settings` first, then the one the settings select (`next_checkpoint`)."""
    override = (getattr(p, "override_settings", None) or {}).get("sd_model_checkpoint")
    if override:
        info = sd_models.get_closet_checkpoint_match(override)
        if info is not None:
            return info
    return next_checkpoint()


def next_checkpoint():
    """The checkpoint the next generation runs when its request names none: the selected one, on every host.
    A1111, Classic and reForge reload it at the top of `process_images`, before the overrides (A
    processing.py:826-831, C 781-789, R 907-915), Forge and Neo after them (F 829-836, N 824-831); the model in
    memory can be another one until then: after an API request whose override named another checkpoint the
    setting is restored without a reload (`setattr(opts, …)` runs no onchange, A processing.py:852-855,
    options.py:90-126; N processing.py:842-843, through set_config), so that model stays loaded (seen in a real
    Forge Neo: the panel showed its recipe). With no checkpoint at all, the model in memory, if any."""
    return selected_checkpoint() or getattr(shared.sd_model, "sd_checkpoint_info", None)


def selected_checkpoint():
    """The checkpoint the settings select. A `select_checkpoint` (sd_models.py:218-240) exits the process
    when there is none at all, F (sd_models.py:233-245) returns None; here both mean None."""
    if not sd_models.checkpoints_list:
        return None
    return sd_models.select_checkpoint()


def loaded_model():
    """The model in memory (`shared.sd_model`; on Forge and Neo before their first lazy load, F
    sd_models.py:385-408, a stand-in without `sd_checkpoint_info`)."""
    return shared.sd_model


def loaded_checkpoint():
    """The checkpoint of the model in memory (valid in `process()`, after both hosts have loaded it)."""
    return getattr(loaded_model(), "sd_checkpoint_info", None)


def model_uses_distilled_cfg() -> bool:
    """Is `p.distilled_cfg_scale` a distilled CFG for the loaded model (F processing.py:739-742; Neo uses the
    same field as the flow shift of some families: `iga_webui.forks.guidance`)?"""
    return glue("guidance").uses_distilled_cfg(shared.sd_model, False)


def uses_distilled_cfg(recipe_has_distilled: bool) -> bool:
    """Is `p.distilled_cfg_scale` to be judged as a distilled CFG for this generation (`forks.guidance`)?"""
    return glue("guidance").uses_distilled_cfg(shared.sd_model, recipe_has_distilled)


def hires_cfg(p: Any) -> float | None:
    """The hires pass's own CFG, or None where the host has none (`iga_webui.forks.hires_cfg`)."""
    return glue("hires_cfg").value(p)



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


def schedule_control_shown() -> bool:
    """Does the txt2img / img2img page have a schedule type control (`iga_webui.forks.schedule_control`:
    always, except on Forge Classic without "Display the Scheduler Dropdown")?"""
    return glue("schedule_control").shown(option)


def schedule_without_control() -> str | None:
    """What the page sends as the schedule when it has no schedule control ("Automatic" on Forge Classic,
    classic processing_scripts/sampler.py:42); None where the page always has one."""
    return None if schedule_control_shown() else glue("schedule_control").sent_without


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
    return HostCapabilities.of_running_host(profile().name, dialect_, samplers, schedules,
                                            supports_distilled_cfg=supports_distilled_cfg(), host=profile().key)


def supports_distilled_cfg() -> bool:
    """Has `p` a distilled-CFG field at all (Forge, Neo; `iga_webui.forks.guidance`)?"""
    return glue("guidance").supports_distilled_cfg


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
    """The VAE this generation runs with (None = the checkpoint's own; `iga_webui.forks.vae`)."""
    return glue("vae").effective(p)


def vae_override(recipe_vae: Any, overrides: dict) -> tuple[str, Any, str] | None:
    """(override key, value, name shown) that makes the host use the recipe's VAE (`Recipe.vae`) for one
    request, or None when it already does, the request overrides it itself, or the host lists no such VAE
    (`iga_webui.forks.vae`: `sd_vae` on A1111, Classic and reForge, `forge_additional_modules` on Forge and Neo)."""
    return glue("vae").override(recipe_vae, overrides)


def vae_names() -> list[str]:
    """The `sd_vae` choices besides Automatic / None: `sd_vae.vae_dict` keys, file basenames (A sd_vae.py:13,
    72-106; classic 13; reForge 14)."""
    return list(sd_vae.vae_dict)


def clip_skip() -> int | None:
    """The `CLIP_stop_at_last_layers` option (A shared_options.py:181, F 183 -- F hides it as a gr.State
    "Managed by Forge" but keeps the key)."""
    value = getattr(shared.opts, "CLIP_stop_at_last_layers", None)  # its default until set (config.json may lack it)
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
