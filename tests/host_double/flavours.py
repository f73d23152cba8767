"""The hosts the double runs as, and the traits that set them apart. Each trait cites the host lines it
mirrors (the sources read are listed in docs/hosts.md: A1111 v1.10.1, Forge dfdcbab, Forge Classic 5136ce20,
Forge Neo 2026-02, reForge 3b56b268); the extension's side of the same facts is iga_webui/hosts.json.

`gradio` is the major version each host pins, `PINS` the library versions (docs/hosts.md §11). CI gives each
host a venv on its own pins and runs the glue tests there as that host alone (`.ci/run` sets
IGA_DOUBLE_HOSTS; tests/test_ci_pins.py checks the venv holds `PINS[host]`). Without IGA_DOUBLE_HOSTS the
double runs as every host whose gradio major this venv holds (`hosts_for_this_venv`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Flavour:
    key: str
    gradio: int  # the gradio major version the host pins
    #: modules_forge/forge_version.py's names (None: A1111 has no modules_forge)
    forge_version: dict | None
    git_tag: str  # what launch.git_tag() answers (F prefixes "f"; Classic / Neo return forge_version.version)
    #: top-level packages the host ships besides `modules` (F/Neo `backend`, Classic/reForge `ldm_patched`)
    packages: tuple[str, ...]
    #: modules_forge submodules the glue may look for (F/Neo main_entry; Classic/reForge forge_loader)
    forge_modules: tuple[str, ...]
    lazy_load: bool  # F processing.py:829-836 / Neo 824-831 load after before_process; A, Classic, reForge before
    model: str  # where the prediction lives: "ldm" (A), "forge" (F/Neo predictor), "ldm_patched" (model_sampling)
    vae: str  # "sd_vae" (A, Classic, reForge) or "modules" (F/Neo forge_additional_modules)
    api_errors: str  # "middleware" (A/Classic/reForge api_middleware) or "app" (F/Neo webui.py handler)
    api_unlisted_sampler: str  # "fallback" (get_sampler_and_scheduler) or "404" (Classic validate_sampler_name)
    distilled_cfg: bool  # p.distilled_cfg_scale (F processing.py:143, Neo 139)
    hires_cfg: str | None  # "hr_cfg" (F 1202, Neo 1220, reForge 1298), "hr_cfg_scale" (Classic 1120), None (A)
    top_bar: str  # "quicksettings" (A, Classic, reForge), "forge" (F main_entry), "neo" (Neo main_entry)
    sorting_priority: bool  # F scripts.py:100, 703 (Neo the same); A, Classic, reForge ignore it
    samplers: str  # which sampler list: the key of sd_samplers.SAMPLER_LISTS
    schedules: str  # which schedule list: the key of sd_schedulers.SCHEDULE_LISTS
    #: script_callbacks.on_<event> takes `name=` (A 456-609, reForge script_callbacks.py:127); Classic's
    #: take the callback only (classic modules/script_callbacks.py:324-328, 378)
    callback_names: bool = True
    #: what modules_forge/main_thread.py does with an exception of the UI's generation task: None (A1111 has
    #: no main thread: the call runs on the request's thread, A txt2img.py:102-120), "keeps" (Forge, Neo: the
    #: task keeps it, F main_thread.py:27-37, Neo 28-37, and call_queue shows it, F call_queue.py:77-88; not
    #: modelled, the double shows it as A1111 does), "drops" (reForge, Classic: printed, the result left None,
    #: R main_thread.py:29-42, C 43-58; main_thread.py here)
    main_thread: str | None = None
    #: the setting without which the page has no Schedule type dropdown and sends "Automatic" (Classic:
    #: `show_scheduler`, classic modules/shared_options.py:365, processing_scripts/sampler.py:34-43); None: the
    #: dropdown is always there (A processing_scripts/sampler.py:23-32)
    schedule_setting: str | None = None

    @property
    def forge_backend(self) -> bool:
        return self.model == "forge"


FLAVOURS = {
    "a1111": Flavour("a1111", 3, None, "v1.10.1", (), (), lazy_load=False, model="ldm", vae="sd_vae",
                     api_errors="middleware", api_unlisted_sampler="fallback", distilled_cfg=False, hires_cfg=None,
                     top_bar="quicksettings", sorting_priority=False, samplers="a1111", schedules="a1111"),
    "forge": Flavour("forge", 4, {"version": "2.0.1v1.10.1"}, "f2.0.1v1.10.1", ("backend",), ("main_entry",),
                     lazy_load=True, model="forge", vae="modules", api_errors="app", api_unlisted_sampler="fallback",
                     distilled_cfg=True, hires_cfg="hr_cfg", top_bar="forge", sorting_priority=True,
                     samplers="forge", schedules="forge", main_thread="keeps"),
    "forge-neo": Flavour("forge-neo", 4, {"version": "neo", "release": "2.22"}, "neo", ("backend",), ("main_entry",),
                         lazy_load=True, model="forge", vae="modules", api_errors="app",
                         api_unlisted_sampler="fallback", distilled_cfg=True, hires_cfg="hr_cfg", top_bar="neo",
                         sorting_priority=True, samplers="forge-neo", schedules="forge-neo", main_thread="keeps"),
    "forge-classic": Flavour("forge-classic", 3, {"version": "classic"}, "classic", ("ldm_patched",),
                             ("forge_loader",), lazy_load=False, model="ldm_patched", vae="sd_vae",
                             api_errors="middleware", api_unlisted_sampler="404", distilled_cfg=False,
                             hires_cfg="hr_cfg_scale", top_bar="quicksettings", sorting_priority=False,
                             samplers="forge-classic", schedules="forge-classic", callback_names=False,
                             main_thread="drops", schedule_setting="show_scheduler"),
    "reforge": Flavour("reforge", 3, {"version": "1.0.0v2-v1.10.1RC"}, "f1.0.0v2-v1.10.1RC", ("ldm_patched",),
                       ("forge_loader",), lazy_load=False, model="ldm_patched", vae="sd_vae",
                       api_errors="middleware", api_unlisted_sampler="fallback", distilled_cfg=False,
                       hires_cfg="hr_cfg", top_bar="quicksettings", sorting_priority=False, samplers="reforge",
                       schedules="reforge", main_thread="drops"),
}
ALL = tuple(FLAVOURS)
#: hosts iga does not know, for the tests that the extension then says so and guards nothing: lllyasviel's
#: Forge before 2.0 (gradio 3, `ldm_patched`, forge_version '0.0.17v1.8.0rc', A1111 1.8 base), which the
#: glue must not mistake for reForge or Forge Classic
UNKNOWN = {
    "old-forge": Flavour("old-forge", 3, {"version": "0.0.17v1.8.0rc"}, "f0.0.17v1.8.0rc-v1.8.0", ("ldm_patched",),
                         ("forge_loader",), lazy_load=False, model="ldm_patched", vae="sd_vae",
                         api_errors="middleware", api_unlisted_sampler="fallback", distilled_cfg=False,
                         hires_cfg=None, top_bar="quicksettings", sorting_priority=False, samplers="a1111",
                         schedules="a1111"),
}


#: the versions each host's own install pins, of the libraries the extension or its tests touch (distribution
#: name -> version). What a host leaves unpinned is absent (A1111 pins no pydantic: fastapi 0.94 holds it to 1).
PINS = {
    # A requirements_versions.txt:3-34 (the a1111-host venv; "pydantic<2" as fastapi 0.94 allows)
    "a1111": {"gradio": "3.41.2", "fastapi": "0.94.0", "Pillow": "9.5.0", "httpx": "0.24.1", "httpcore": "0.15.0"},
    # F requirements_versions.txt:3-42; F's Pillow 9.5.0 is not pinned in the forge venv (gradio 4.40 gives 10.4)
    "forge": {"gradio": "4.40.0", "fastapi": "0.104.1", "pydantic": "2.8.2", "httpx": "0.24.1"},
    # N launch_utils.py:297 (gradio), N requirements.txt:2-30 (the rest, installed over gradio's pillow<11)
    "forge-neo": {"gradio": "4.40.0", "fastapi": "0.127.1", "pydantic": "2.10.6", "pydantic-core": "2.27.2",
                  "httpx": "0.24.1", "huggingface-hub": "0.34.6", "numpy": "2.3.5", "safetensors": "0.7.0",
                  "Pillow": "12.1.0"},
    # C launch_utils.py:279 (gradio), C requirements.txt:2-28 (the rest, installed over gradio's pillow<11)
    "forge-classic": {"gradio": "3.43.2", "fastapi": "0.114.2", "pydantic": "1.10.22", "httpx": "0.24.1",
                      "httpcore": "0.15.0", "huggingface-hub": "0.30.2", "numpy": "1.26.4", "safetensors": "0.5.3",
                      "Pillow": "11.2.1"},
    # R requirements_versions.txt:6-44; pydantic 1.10.15 is R's own rebuilt wheel (line 40), PyPI's in CI
    "reforge": {"gradio": "3.41.2", "fastapi": "0.94.0", "pydantic": "1.10.15", "Pillow": "10.4.0", "httpx": "0.24.1",
                "httpcore": "0.15.0", "huggingface-hub": "0.25.0", "numpy": "1.26.4", "safetensors": "0.5.2"},
}


def flavour(key: str) -> Flavour:
    return FLAVOURS.get(key) or UNKNOWN[key]


def hosts_for_this_venv() -> tuple[str, ...]:
    """The hosts whose pins this interpreter matches (by gradio major); IGA_DOUBLE_HOSTS=all (or a comma
    list) runs others too -- e.g. to try a host on the other venv."""
    wanted = os.environ.get("IGA_DOUBLE_HOSTS", "").strip()
    if wanted == "all":
        return ALL
    if wanted:
        return tuple(h for h in wanted.split(",") if h in FLAVOURS)
    import gradio

    major = int(gradio.__version__.split(".")[0])
    return tuple(key for key, f in FLAVOURS.items() if f.gradio == major) or ALL
