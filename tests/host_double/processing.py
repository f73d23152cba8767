"""Mirror of modules/processing.py: the fields, call order and infotext the glue depends on.

- `StableDiffusionProcessing` fields and defaults (A 137-226, F 123-213; F adds `distilled_cfg_scale`=3.5,
  F 143). The `scripts` / `script_args` setters run `setup()` once both are set (A 270-294).
- `StableDiffusionProcessingTxt2Img` hires fields (A 1166-1183; F adds `hr_cfg`, `hr_distilled_cfg`,
  F 1197-1203); `init()` records hires infotext and raises on an unknown hires checkpoint (A 1252-1281).
- `process_images` (A 818-856, F 815-850): `before_process` first, then overrides and the model load
  (A eager `reload_model_weights`; F lazy `manage_model_and_prompt_cache`), then
  `fix_p_invalid_sampler_and_scheduler`, then `process_images_inner` (A 859-1108): model names on `p`,
  seeds, `scripts.process`, the batch loop with `p.sample(...)` called **outside** any try/except (A 988),
  per-image `save_image` (A 1073), grid (A 1097-1108), `Processed`, `scripts.postprocess`.
- `create_infotext` (A 705-816): built-in keys + `extra_generation_params` (strings, lists, callables).
  VAE keys: A, Classic and reForge write `VAE` (A 784, classic 733, reForge 863); F and Neo write the modules as
  `Module 1..N` instead (F 778-780, Neo 770-772). Neo writes the slider as "Shift" for flow models (Neo 733-734).
  "Version": `launch.git_tag()` (A 695-701), which each fork answers its own way (flavours.py).
- The forks' process_images: Classic and reForge load eagerly like A (classic 781-792, reForge 904-915), Neo
  lazily like F (Neo 824-831); the zero-terminal-SNR switch before `p.sample`: A rescales `alphas_cumprod`
  (A 985), F and Neo swap the predictor's sigmas around it (F 984-988, Neo 985-989), Classic and reForge
  rescale the model_sampling sigmas (classic forge_loader.py:280-284, reForge processing.py:1071-1083; not
  modelled beyond the flag: the double's ldm_patched model_sampling carries no schedule).
The "model" is a deterministic colour field from the seed; no torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from modules import errors, extra_networks, images, infotext_utils, scripts, sd_models, sd_samplers, shared
from modules.shared import opts, state
from PIL import Image


def get_fixed_seed(seed):
    if seed == "" or seed is None:
        seed = -1
    elif isinstance(seed, str):
        seed = int(seed)
    if seed == -1:
        return 1234  # the host picks a random seed; the double stays deterministic
    return seed


@dataclass(repr=False)
class StableDiffusionProcessing:
    sd_model: object = None
    outpath_samples: str = None
    outpath_grids: str = None
    prompt: str = ""
    negative_prompt: str = ""
    styles: list = None
    seed: int = -1
    subseed: int = -1
    subseed_strength: float = 0
    seed_resize_from_h: int = -1
    seed_resize_from_w: int = -1
    sampler_name: str = None
    scheduler: str = None
    batch_size: int = 1
    n_iter: int = 1
    steps: int = 50
    cfg_scale: float = 7.0
    distilled_cfg_scale: float = 3.5  # F only; ignored by the A flavour of the double
    width: int = 512
    height: int = 512
    restore_faces: bool = None
    tiling: bool = None
    do_not_save_samples: bool = False
    do_not_save_grid: bool = False
    extra_generation_params: dict = None
    denoising_strength: float = None
    override_settings: dict = None
    override_settings_restore_afterwards: bool = True
    sampler_index: int = None
    sampler_noise_scheduler_override: Any = None
    refiner_checkpoint: str = None
    refiner_switch_at: float = None
    disable_extra_networks: bool = False

    scripts_value: Any = field(default=None, init=False)
    script_args_value: list = field(default=None, init=False)
    scripts_setup_complete: bool = field(default=False, init=False)
    comments: dict = None
    is_hr_pass: bool = field(default=False, init=False)
    all_prompts: list = field(default=None, init=False)
    all_negative_prompts: list = field(default=None, init=False)
    all_seeds: list = field(default=None, init=False)
    all_subseeds: list = field(default=None, init=False)
    iteration: int = field(default=0, init=False)
    main_prompt: str = field(default=None, init=False)
    main_negative_prompt: str = field(default=None, init=False)
    prompts: list = field(default=None, init=False)
    negative_prompts: list = field(default=None, init=False)
    seeds: list = field(default=None, init=False)
    subseeds: list = field(default=None, init=False)
    extra_network_data: dict = field(default=None, init=False)
    user: str = field(default=None, init=False)
    sd_model_name: str = field(default=None, init=False)
    sd_model_hash: str = field(default=None, init=False)
    sd_vae_name: str = field(default=None, init=False)
    sd_vae_hash: str = field(default=None, init=False)
    refiner_checkpoint_info: Any = field(default=None, init=False)
    is_api: bool = field(default=False, init=False)

    def __post_init__(self):
        self.styles = self.styles or []
        self.comments = {}
        self.extra_generation_params = self.extra_generation_params or {}
        self.override_settings = {k: v for k, v in (self.override_settings or {}).items()}
        self.double_passes = []  # test aid: (pass, sampler, scheduler, steps, cfg) of every sampling call
        self.double_executed = []  # test aid: what each sampling call handed its sampling function

    @property
    def scripts(self):
        return self.scripts_value

    @scripts.setter
    def scripts(self, value):
        self.scripts_value = value
        if self.scripts_value and self.script_args_value and not self.scripts_setup_complete:
            self.setup_scripts()

    @property
    def script_args(self):
        return self.script_args_value

    @script_args.setter
    def script_args(self, value):
        self.script_args_value = value
        if self.scripts_value and self.script_args_value and not self.scripts_setup_complete:
            self.setup_scripts()

    def setup_scripts(self):
        self.scripts_setup_complete = True
        self.scripts.setup_scrips(self, is_ui=not self.is_api)

    def comment(self, text):  # A 296
        self.comments[text] = 1

    def setup_prompts(self):
        self.all_prompts = self.prompt if isinstance(self.prompt, list) else self.batch_size * self.n_iter * [self.prompt]
        neg = self.negative_prompt
        self.all_negative_prompts = neg if isinstance(neg, list) else self.batch_size * self.n_iter * [neg]
        self.main_prompt = self.all_prompts[0]
        self.main_negative_prompt = self.all_negative_prompts[0]

    def init(self, all_prompts, all_seeds, all_subseeds):
        pass

    def parse_extra_network_prompts(self):  # A 513-514
        self.prompts, self.extra_network_data = extra_networks.parse_prompts(self.prompts)

    def save_samples(self) -> bool:  # A 516-518
        return opts.samples_save and not self.do_not_save_samples and not state.interrupted

    def _denoise(self, seeds, label, sampler_name, *, img2img_steps=None):
        """The host's hand-over to its sampler (A 1307-1346, 1364-1454, 1759-1774): create the sampler
        (img2img did it in init(), A 1607), `process_before_every_sampling`, then the sampler's `sample` /
        `sample_img2img`, which computes the sigmas / timesteps with the host's code and records them in
        `p.double_executed`. Stands in for denoising + VAE decode: one (3, H, W) image in [-1, 1] per seed."""
        if label != "img2img" or getattr(self, "sampler", None) is None:
            self.sampler = sd_samplers.create_sampler(sampler_name, self.sd_model)
        if self.scripts is not None:
            self.scripts.process_before_every_sampling(self, x=None, noise=None, c=None, uc=None)
        if label == "first":
            self.sampler.sample(self, None, None, None)
        else:
            self.sampler.sample_img2img(self, None, None, None, None, steps=img2img_steps)
        self.double_passes.append((label, sampler_name, self.hr_scheduler if self.is_hr_pass else self.scheduler,
                                   img2img_steps or self.steps, self.cfg_scale))
        out = DecodedSamples()
        for seed in seeds:
            rng = np.random.default_rng(seed + 7919 * int(self.steps))
            colour = rng.uniform(-1, 1, size=(3, 1, 1))
            out.append(np.broadcast_to(colour, (3, 16, 16)).astype(np.float32))
        return out


class DecodedSamples(list):  # A processing.py:621-622 (F 624-625)
    already_decoded = True


@dataclass(repr=False)
class StableDiffusionProcessingTxt2Img(StableDiffusionProcessing):
    enable_hr: bool = False
    denoising_strength: float = 0.75
    hr_scale: float = 2.0
    hr_upscaler: str = None
    hr_second_pass_steps: int = 0
    hr_resize_x: int = 0
    hr_resize_y: int = 0
    hr_checkpoint_name: str = None
    hr_sampler_name: str = None
    hr_scheduler: str = None
    hr_prompt: str = ""
    hr_negative_prompt: str = ""
    hr_cfg: float = 1.0  # F only (F 1197)
    hr_distilled_cfg: float = 3.5  # F only
    hr_cfg_scale: float = None  # Forge Classic's hires CFG (classic processing.py:1120); None elsewhere
    force_task_id: str = None
    hr_checkpoint_info: Any = field(default=None, init=False)

    def init(self, all_prompts, all_seeds, all_subseeds):  # A 1252-1281 (the parts that touch infotext)
        if self.enable_hr:
            self.extra_generation_params["Denoising strength"] = self.denoising_strength
            if self.hr_checkpoint_name and self.hr_checkpoint_name != "Use same checkpoint":
                self.hr_checkpoint_info = sd_models.get_closet_checkpoint_match(self.hr_checkpoint_name)
                if self.hr_checkpoint_info is None:
                    raise Exception(f"Could not find checkpoint with name {self.hr_checkpoint_name}")
                self.extra_generation_params["Hires checkpoint"] = self.hr_checkpoint_info.short_title
            if self.hr_sampler_name is not None and self.hr_sampler_name != self.sampler_name:
                self.extra_generation_params["Hires sampler"] = self.hr_sampler_name
            if self.hr_scheduler is None:
                self.hr_scheduler = self.scheduler
            if self.hr_second_pass_steps:
                self.extra_generation_params["Hires steps"] = self.hr_second_pass_steps

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength, prompts):
        samples = self._denoise(seeds, "first", self.sampler_name)
        if not self.enable_hr or state.interrupted:
            return samples
        if self.hr_checkpoint_info is not None:  # A 1359-1360: the hires checkpoint is loaded here
            sd_models.reload_model_weights(info=self.hr_checkpoint_info)
            self.sd_model = shared.sd_model
        return self.sample_hr_pass(samples, seeds)

    def sample_hr_pass(self, samples, seeds):  # A 1364-1460: second pass with the hires sampler and steps
        if state.interrupted:
            return samples
        self.is_hr_pass = True
        if self.scripts is not None:
            self.scripts.before_hr(self)
        self._denoise(seeds, "hires", self.hr_sampler_name or self.sampler_name,
                      img2img_steps=self.hr_second_pass_steps or self.steps)
        self.is_hr_pass = False
        return samples


@dataclass(repr=False)
class StableDiffusionProcessingImg2Img(StableDiffusionProcessing):
    init_images: list = None
    resize_mode: int = 0
    denoising_strength: float = 0.75
    image_cfg_scale: float = None
    mask: Any = None
    inpainting_fill: int = 0

    def init(self, all_prompts, all_seeds, all_subseeds):  # A 1602-1607
        self.extra_generation_params["Denoising strength"] = self.denoising_strength
        self.sampler = sd_samplers.create_sampler(self.sampler_name, self.sd_model)

    def sample(self, conditioning, unconditional_conditioning, seeds, subseeds, subseed_strength, prompts):
        return self._denoise(seeds, "img2img", self.sampler_name)


class Processed:  # A 521-600 (the fields the glue and the API read)
    def __init__(self, p, images_list, seed=-1, info="", subseed=None, index_of_first_image=0, infotexts=None):
        self.images = images_list
        self.prompt = p.prompt
        self.seed = seed
        self.info = info
        self.comments = "".join(f"{comment}\n" for comment in p.comments)
        self.width = p.width
        self.height = p.height
        self.sampler_name = p.sampler_name
        self.cfg_scale = p.cfg_scale
        self.steps = p.steps
        self.extra_generation_params = p.extra_generation_params
        self.index_of_first_image = index_of_first_image
        self.infotexts = infotexts or [info]
        self.all_seeds = p.all_seeds

    def js(self):
        return json.dumps({
            "prompt": self.prompt, "seed": self.seed, "width": self.width, "height": self.height,
            "sampler_name": self.sampler_name, "cfg_scale": self.cfg_scale, "steps": self.steps,
            "infotexts": self.infotexts, "comments": self.comments,
            "extra_generation_params": {k: v for k, v in self.extra_generation_params.items() if isinstance(v, str)},
        })


def create_infotext(p, all_prompts, all_seeds, all_subseeds, comments=None, iteration=0, position_in_batch=0,
                    use_main_prompt=False, index=None, all_negative_prompts=None):
    if use_main_prompt:
        index = 0
    elif index is None:
        index = position_in_batch + iteration * p.batch_size
    if all_negative_prompts is None:
        all_negative_prompts = p.all_negative_prompts
    clip_skip = opts.CLIP_stop_at_last_layers
    prompt_text = p.main_prompt if use_main_prompt else all_prompts[index]
    negative_prompt = p.main_negative_prompt if use_main_prompt else all_negative_prompts[index]
    forge = shared.FLAVOUR.forge_backend
    shift = forge and getattr(p.sd_model, "use_shift", False)
    generation_params = {
        "Steps": p.steps,
        "Sampler": p.sampler_name,
        "Schedule type": p.scheduler,
        "CFG scale": p.cfg_scale,
        "Distilled CFG Scale": p.distilled_cfg_scale if forge and getattr(p.sd_model, "use_distilled_cfg_scale", False) else None,
        "Shift": p.distilled_cfg_scale if shift else None,
        "Seed": p.all_seeds[0] if use_main_prompt else all_seeds[index],
        "Size": f"{p.width}x{p.height}",
        "Model hash": p.sd_model_hash if opts.add_model_hash_to_info else None,
        "Model": p.sd_model_name if opts.add_model_name_to_info else None,
        "VAE": p.sd_vae_name if not forge else None,
        "Denoising strength": p.extra_generation_params.get("Denoising strength"),
        "Clip skip": None if clip_skip <= 1 else clip_skip,
        **p.extra_generation_params,
        "Version": shared.FLAVOUR.git_tag if opts.add_version_to_infotext else None,
    }
    for key, value in generation_params.items():
        try:
            if isinstance(value, list):
                generation_params[key] = value[index]
            elif callable(value):
                generation_params[key] = value(**locals())
        except Exception:
            errors.report(f'Error creating infotext for key "{key}"', exc_info=True)
            generation_params[key] = None
    generation_params_text = ", ".join(
        [k if k == v else f"{k}: {infotext_utils.quote(v)}" for k, v in generation_params.items() if v is not None]
    )
    negative_prompt_text = f"\nNegative prompt: {negative_prompt}" if negative_prompt else ""
    return f"{prompt_text}{negative_prompt_text}\n{generation_params_text}".strip()


def manage_model_and_prompt_cache(p):  # F processing.py:795-812: the lazy load
    sd_models.reload_model_weights()


def process_images(p: StableDiffusionProcessing) -> Processed:
    if p.scripts is not None:
        p.scripts.before_process(p)
    stored_opts = {k: opts.data[k] for k in p.override_settings if k in opts.data}
    try:
        if sd_models.checkpoint_aliases.get(p.override_settings.get("sd_model_checkpoint")) is None:
            p.override_settings.pop("sd_model_checkpoint", None)
            if not shared.FLAVOUR.lazy_load:
                sd_models.reload_model_weights()
        for k, v in p.override_settings.items():
            opts.set(k, v, is_api=True, run_callbacks=False)
            if k == "sd_model_checkpoint" and not shared.FLAVOUR.lazy_load:
                sd_models.reload_model_weights()
        if shared.FLAVOUR.lazy_load:
            manage_model_and_prompt_cache(p)
        sd_samplers.fix_p_invalid_sampler_and_scheduler(p)
        res = process_images_inner(p)
    finally:
        if p.override_settings_restore_afterwards:
            for k, v in stored_opts.items():
                setattr(opts, k, v)
    return res


def process_images_inner(p: StableDiffusionProcessing) -> Processed:
    seed = get_fixed_seed(p.seed)
    subseed = get_fixed_seed(p.subseed)
    if p.refiner_checkpoint not in (None, "", "None", "none"):
        p.refiner_checkpoint_info = sd_models.get_closet_checkpoint_match(p.refiner_checkpoint)
        if p.refiner_checkpoint_info is None:
            raise Exception(f"Could not find checkpoint with name {p.refiner_checkpoint}")
    p.sd_model = shared.sd_model
    p.sd_model_name = shared.sd_model.sd_checkpoint_info.name_for_extra
    p.sd_model_hash = shared.sd_model.sd_model_hash
    # A 892-893: the loaded VAE's basename (None = baked in; the double has no VAE beside checkpoints, so
    # Automatic means baked in); F: always None (its VAE lives in forge_additional_modules)
    p.sd_vae_name = None if shared.FLAVOUR.vae == "modules" or opts.sd_vae in ("None", "Automatic") else opts.sd_vae
    p.setup_prompts()
    p.all_seeds = [int(seed) + x for x in range(len(p.all_prompts))]
    p.all_subseeds = [int(subseed) + x for x in range(len(p.all_prompts))]

    if p.scripts is not None:
        p.scripts.process(p)

    infotexts = []
    output_images = []
    p.init(p.all_prompts, p.all_seeds, p.all_subseeds)
    if state.job_count == -1:
        state.job_count = p.n_iter

    def infotext(index=0, use_main_prompt=False):
        return create_infotext(p, p.prompts, p.seeds, p.subseeds, use_main_prompt=use_main_prompt, index=index,
                               all_negative_prompts=p.negative_prompts)

    for n in range(p.n_iter):
        p.iteration = n
        if state.interrupted or state.stopping_generation:
            break
        sd_models.reload_model_weights()  # model can be changed for example by refiner (A 938)
        p.prompts = p.all_prompts[n * p.batch_size:(n + 1) * p.batch_size]
        p.negative_prompts = p.all_negative_prompts[n * p.batch_size:(n + 1) * p.batch_size]
        p.seeds = p.all_seeds[n * p.batch_size:(n + 1) * p.batch_size]
        p.subseeds = p.all_subseeds[n * p.batch_size:(n + 1) * p.batch_size]
        if p.scripts is not None:
            p.scripts.before_process_batch(p, batch_number=n, prompts=p.prompts, seeds=p.seeds, subseeds=p.subseeds)
        if len(p.prompts) == 0:
            break
        p.parse_extra_network_prompts()
        if p.scripts is not None:
            p.scripts.process_batch(p, batch_number=n, prompts=p.prompts, seeds=p.seeds, subseeds=p.subseeds)

        # A 985 / F 982-988: the noise schedule override right before sampling (A rescales alphas_cumprod;
        # F swaps the predictor's sigmas for zero terminal SNR and restores them after p.sample)
        sd_models.apply_alpha_schedule_override(p.sd_model, p)
        if hasattr(p.sd_model, "get_learned_conditioning"):  # Neo's flow models take the shift with the prompt
            p.sd_model.get_learned_conditioning(p)           # (setup_conds, Neo zimage.py:40-43)
        sigmas_backup = None
        if shared.FLAVOUR.forge_backend and (opts.sd_noise_schedule == "Zero Terminal SNR"
                                       or getattr(p.sd_model.model_config, "ztsnr", False)):
            p.extra_generation_params['Noise Schedule'] = opts.sd_noise_schedule
            predictor = p.sd_model.forge_objects.unet.model.predictor
            sigmas_backup = predictor.sigmas
            predictor.set_sigmas(sd_models.rescale_zero_terminal_snr_sigmas(predictor.sigmas))
        sampling_backup = None
        if shared.FLAVOUR.model == "ldm_patched" and (opts.sd_noise_schedule == "Zero Terminal SNR"
                                                       or getattr(p.sd_model, "ztsnr", False)):
            # reForge processing.py:1071-1083 (restored after p.sample, 1092-1095); Classic rescales the same
            # sigmas in apply_alpha_schedule_override (classic forge_loader.py:280-284) and keeps them
            sampling = p.sd_model.forge_objects.unet.model.model_sampling
            sampling_backup = sampling.sigmas
            sampling.set_sigmas(sd_models.rescale_zero_terminal_snr_sigmas(sampling.sigmas))
        # A 988 / F 990: not inside any try/except -- an exception here ends the job
        try:
            samples = p.sample(conditioning=None, unconditional_conditioning=None, seeds=p.seeds, subseeds=p.subseeds,
                               subseed_strength=p.subseed_strength, prompts=p.prompts)
        finally:
            if sigmas_backup is not None:
                p.sd_model.forge_objects.unet.model.predictor.set_sigmas(sigmas_backup)
            if sampling_backup is not None:
                p.sd_model.forge_objects.unet.model.model_sampling.set_sigmas(sampling_backup)
        # A 995-1005: decoded samples -> [0, 1]; the host uses torch.stack/clamp, the double numpy
        x_samples = np.clip((np.stack([np.asarray(x, dtype=np.float32) for x in samples]) + 1.0) / 2.0, 0.0, 1.0)
        state.nextjob()
        if p.scripts is not None:
            p.scripts.postprocess_batch(p, x_samples, batch_number=n)
        save_samples = p.save_samples()
        for i, x_sample in enumerate(x_samples):
            p.batch_index = i
            image = Image.fromarray((255.0 * np.moveaxis(x_sample, 0, 2)).astype(np.uint8))  # A 1033-1034
            if p.scripts is not None:
                pp = scripts.PostprocessImageArgs(image)
                p.scripts.postprocess_image(p, pp)
                image = pp.image
            if save_samples:
                images.save_image(image, p.outpath_samples, "", p.seeds[i], p.prompts[i], opts.samples_format,
                                  info=infotext(i), p=p)
            text = infotext(i)
            infotexts.append(text)
            if opts.enable_pnginfo:
                image.info["parameters"] = text
            output_images.append(image)

    if not infotexts and p.all_prompts:
        p.prompts = p.prompts or p.all_prompts[:1]
        p.seeds = p.seeds or p.all_seeds[:1]
        p.subseeds = p.subseeds or p.all_subseeds[:1]
        p.negative_prompts = p.negative_prompts or p.all_negative_prompts[:1]
        infotexts.append(infotext(0))

    index_of_first_image = 0
    unwanted_grid = len(output_images) < 2 and opts.grid_only_if_multiple
    if (opts.return_grid or opts.grid_save) and not p.do_not_save_grid and not unwanted_grid:
        grid = images.image_grid(output_images, p.batch_size)
        if opts.return_grid:
            text = infotext(use_main_prompt=True)
            infotexts.insert(0, text)
            if opts.enable_pnginfo:
                grid.info["parameters"] = text
            output_images.insert(0, grid)
            index_of_first_image = 1
        if opts.grid_save:
            images.save_image(grid, p.outpath_grids, "grid", p.all_seeds[0], p.all_prompts[0], opts.grid_format,
                              info=infotext(use_main_prompt=True), short_filename=not opts.grid_extended_filename,
                              p=p, grid=True)  # A processing.py:1130

    res = Processed(p, images_list=output_images, seed=p.all_seeds[0], info=infotexts[0],
                    index_of_first_image=index_of_first_image, infotexts=infotexts)
    if p.scripts is not None:
        p.scripts.postprocess(p, res)
    return res

