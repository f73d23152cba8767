"""Mirror of the parts of modules/shared.py, options.py and shared_state.py the glue touches.

- `OptionInfo` / `options_section`: A options.py:13-77 (same in F).
- `Options`: A options.py:85-260 — attribute access falls back to the registered default; `set()` is what
  `process_images` calls for `override_settings` (A processing.py:832).
- `cmd_opts`: A shared_cmd_options.py — only the flags the glue reads (`api_auth`, `skip_install`).
- `state`: A shared_state.py:110-160 — `interrupted`, `begin()` resets it, `interrupt()`.
- Forge and Neo (F modules_forge/shared_options.py:7-8, Neo 9-10): `forge_preset`, `forge_additional_modules`
  exist only there. Neo's clip skip defaults to 2 (Neo shared_options.py:224).
- Forge Classic's `show_scheduler` ("Display the Scheduler Dropdown", UI Alternatives; classic
  shared_options.py:361-365), default off: without it the page has no Schedule type dropdown (ui_build.py).
- `HOST` is the flavour the installer picked (`flavours.FLAVOURS`), `FLAVOUR` its traits.
"""

from __future__ import annotations

from types import SimpleNamespace

import modules

from tests.host_double.flavours import flavour

HOST = getattr(modules, "DOUBLE_HOST", "a1111")  # the installer picks a key of flavours.FLAVOURS
FLAVOUR = flavour(HOST)


class OptionInfo:
    def __init__(self, default=None, label="", component=None, component_args=None, onchange=None, section=None,
                 refresh=None, comment_before="", comment_after="", infotext=None, restrict_api=False,
                 category_id=None):
        self.default = default
        self.label = label
        self.component = component
        self.component_args = component_args
        self.onchange = onchange
        self.section = section
        self.category_id = category_id
        self.refresh = refresh
        self.comment_before = comment_before
        self.comment_after = comment_after
        self.infotext = infotext
        self.restrict_api = restrict_api

    def info(self, info):
        self.comment_after += f"<span class='info'>({info})</span>"
        return self

    def needs_reload_ui(self):
        self.comment_after += " <span class='info'>(requires Reload UI)</span>"
        return self


def options_section(section_identifier, options_dict):
    for v in options_dict.values():
        if len(section_identifier) == 2:
            v.section = section_identifier
        elif len(section_identifier) == 3:
            v.section = section_identifier[0:2]
            v.category_id = section_identifier[2]
    return options_dict


class Options:
    def __init__(self, data_labels: dict[str, OptionInfo]):
        object.__setattr__(self, "data_labels", data_labels)
        object.__setattr__(self, "data", {k: v.default for k, v in data_labels.items()})

    def __setattr__(self, key, value):
        if key in self.data or key in self.data_labels:
            self.data[key] = value
            return
        object.__setattr__(self, key, value)

    def __getattr__(self, item):
        data = object.__getattribute__(self, "data")
        if item in data:
            return data[item]
        labels = object.__getattribute__(self, "data_labels")
        if item in labels:
            return labels[item].default
        raise AttributeError(item)

    def set(self, key, value, is_api=False, run_callbacks=True):
        if key not in self.data_labels:
            return False
        self.data[key] = value
        return True

    def get_default(self, key):
        info = self.data_labels.get(key)
        return None if info is None else info.default

    def add_option(self, key, info):  # A options.py:256-259
        self.data_labels[key] = info
        if key not in self.data:
            self.data[key] = info.default


def _builtin_options() -> dict[str, OptionInfo]:
    opts = {
        "sd_model_checkpoint": OptionInfo(None, "Stable Diffusion checkpoint", infotext="Model hash"),
        "sd_vae": OptionInfo("Automatic", "SD VAE", infotext="VAE"),
        "CLIP_stop_at_last_layers": OptionInfo(1, "Clip skip", infotext="Clip skip"),
        "samples_save": OptionInfo(True, "Always save all generated images"),
        "samples_format": OptionInfo("png", "File format for images"),
        "grid_save": OptionInfo(True, "Always save all generated image grids"),
        "grid_format": OptionInfo("png", "File format for grids"),
        # file naming (A shared_options.py:37-39, F the same): the pattern is empty and the counter is on by default
        "samples_filename_pattern": OptionInfo("", "Images filename pattern"),
        "save_images_add_number": OptionInfo(True, "Add number to filename when saving"),
        "save_images_replace_action": OptionInfo("Replace", "Saving the image to an existing file"),
        "grid_extended_filename": OptionInfo(False, "Add extended info (seed, prompt) to filename when saving grid"),
        "grid_only_if_multiple": OptionInfo(True, "Do not save grids consisting of one picture"),
        "return_grid": OptionInfo(True, "Show grid in gallery"),
        "enable_pnginfo": OptionInfo(True, "Save text information about generation parameters"),
        "jpeg_quality": OptionInfo(80, "Quality for saved jpeg and avif images"),
        "webp_lossless": OptionInfo(False, "Use lossless compression for webp images"),
        "outdir_txt2img_samples": OptionInfo("outputs/txt2img-images", "Output directory for txt2img images"),
        "outdir_img2img_samples": OptionInfo("outputs/img2img-images", "Output directory for img2img images"),
        "outdir_txt2img_grids": OptionInfo("outputs/txt2img-grids", "Output directory for txt2img grids"),
        "outdir_samples": OptionInfo("", "Output directory for images; if empty, defaults to three directories below"),
        "add_model_hash_to_info": OptionInfo(True, "Add model hash to infotext"),
        "add_model_name_to_info": OptionInfo(True, "Add model name to infotext"),
        "add_version_to_infotext": OptionInfo(True, "Add program version to infotext"),
        "samplers_in_dropdown": OptionInfo(True, "Use dropdown for sampler selection"),
        "infotext_skip_pasting": OptionInfo([], "Disregard fields from pasted infotext"),
        "disable_weights_auto_swap": OptionInfo(True, "Ignore checkpoint information from pasted infotext"),
        # sampler parameters the sigma / timestep code reads (A shared_options.py:176, 220, 250, 255, 396-409;
        # F the same keys at F 185-418)
        "enable_quantization": OptionInfo(False, "Enable quantization in K samplers"),
        "img2img_fix_steps": OptionInfo(False, "With img2img, do exactly the amount of steps the slider specifies."),
        "use_old_karras_scheduler_sigmas": OptionInfo(False, "Use old karras scheduler sigmas (0.1 to 10)."),
        "use_downcasted_alpha_bar": OptionInfo(False, "Downcast model alphas_cumprod to fp16 before sampling.",
                                               infotext="Downcast alphas_cumprod"),
        "sigma_min": OptionInfo(0.0, "sigma min", infotext="Schedule min sigma"),
        "sigma_max": OptionInfo(0.0, "sigma max", infotext="Schedule max sigma"),
        "rho": OptionInfo(0.0, "rho", infotext="Schedule rho"),
        "always_discard_next_to_last_sigma": OptionInfo(False, "Always discard next-to-last sigma",
                                                        infotext="Discard penultimate sigma"),
        "uni_pc_variant": OptionInfo("bh1", "UniPC variant", infotext="UniPC variant"),
        "uni_pc_skip_type": OptionInfo("time_uniform", "UniPC skip type", infotext="UniPC skip type"),
        "uni_pc_order": OptionInfo(3, "UniPC order", infotext="UniPC order"),
        "uni_pc_lower_order_final": OptionInfo(True, "UniPC lower order final", infotext="UniPC lower order final"),
        "sd_noise_schedule": OptionInfo("Default", "Noise schedule for sampling", infotext="Noise Schedule"),
        "beta_dist_alpha": OptionInfo(0.6, "Beta scheduler - alpha", infotext="Beta scheduler alpha"),
        "beta_dist_beta": OptionInfo(0.6, "Beta scheduler - beta", infotext="Beta scheduler beta"),
        "sd_vae_overrides_per_model_preferences": OptionInfo(True, "Selected VAE overrides per-model preferences"),
    }
    if FLAVOUR.vae == "modules":
        opts["forge_preset"] = OptionInfo("sd", "UI preset")
        opts["forge_additional_modules"] = OptionInfo([], "VAE / Text Encoder")
    if HOST == "forge-neo":
        opts["CLIP_stop_at_last_layers"] = OptionInfo(2, "Clip Skip", infotext="Clip skip")
    # the settings the top bar shows (each built there instead of in the Settings tab, A ui_settings.py:128-129,
    # 155, 290-292): A shared_options.py:333, classic 388, reForge 384, Neo 455; Forge names it
    # quick_setting_list (F shared_options.py:340, ui_settings.py:136)
    quick = {"a1111": ["sd_model_checkpoint"], "forge-classic": ["sd_model_checkpoint", "sd_vae"],
             "reforge": ["sd_model_checkpoint", "sd_vae", "CLIP_stop_at_last_layers"], "forge-neo": []}
    if HOST == "forge":
        opts["quick_setting_list"] = OptionInfo([], "Quicksettings list")
    else:
        opts["quicksettings_list"] = OptionInfo(quick.get(HOST, ["sd_model_checkpoint"]), "Quicksettings list")
    if FLAVOUR.schedule_setting:  # classic modules/shared_options.py:361-365: off by default, needs Reload UI
        opts.update(options_section(("ui_alternatives", "UI Alternatives", "ui"), {
            FLAVOUR.schedule_setting: OptionInfo(False, "Display the Scheduler Dropdown").needs_reload_ui()}))
    return opts


opts = Options(_builtin_options())

cmd_opts = SimpleNamespace(api_auth=None, skip_install=False, nowebui=False, api=True, no_prompt_history=True)


class State:
    def __init__(self):
        self.interrupted = False
        self.skipped = False
        self.stopping_generation = False
        self.job = ""
        self.job_count = 0
        self.job_no = 0
        self.sampling_step = 0
        self.sampling_steps = 0
        self.textinfo = None

    def begin(self, job: str = "(unknown)"):
        self.interrupted = False
        self.skipped = False
        self.job = job
        self.job_count = -1
        self.job_no = 0

    def end(self):
        self.job = ""
        self.job_count = 0

    def interrupt(self):
        self.interrupted = True

    def nextjob(self):
        self.job_no += 1


state = State()
sd_model = None  # set by sd_models.load_model (A: eager; F: FakeInitialModel until the first generation)
total_tqdm = SimpleNamespace(clear=lambda: None, updateTotal=lambda n: None)
