"""A small fake of the `modules` package of A1111 v1.10.1, Forge, Forge Neo, Forge Classic and reForge,
installed into `sys.modules` for one test (`install(host, root)`, host a key of `flavours.FLAVOURS`).

Each file here mirrors one host module and cites the host lines it copies (`scripts.py` for
modules/scripts.py, `processing.py`, `api.py` for modules/api/api.py, ...). `install()` makes a `modules`
package whose `__path__` is this folder, so `from modules import shared` loads `shared.py` from here, and
`HostDouble` drives the extension the way the host does: load `scripts/*.py`, run `on_ui_settings`, build
both tabs' script UIs, then generate through the UI path or the API.

Per host (`flavours.py`): its `modules_forge/forge_version.py`, the packages it ships besides `modules`
(`backend`, `ldm_patched`: empty stand-ins, present so the extension can see them), eager or lazy loading,
where the model's prediction lives, the VAE setting, the top bar, the API's error bodies and name checks,
the distilled-CFG and hires-CFG fields, the sampler and schedule lists, and Classic's Schedule type dropdown
behind its `show_scheduler` setting (started on; off, the page has none and a UI generation runs Automatic).

What the double does not model (a test passing here says nothing about these):
- of the forks: their own schedule functions (a schedule the double has no function for is left out of that
  host's list; one of the same name is computed with A1111's / Forge's function), reForge's other alter
  samplers and, of its Advanced Model Sampling script (reforge_ams_ext.py), all but the Discrete / Continuous V
  prediction mixin and Zero SNR sigmas, Classic's hires sampler / schedule controls behind
  `hires_fix_show_sampler`, Neo's families besides SD 1, SDXL and Z-Image, gradio 3.43 (Classic) and the forks' newer fastapi / Pillow;
- no model weights and no denoising: `p.sample` returns a colour field drawn from the seed. The samplers
  and schedules up to the hand-over are the hosts' own code (sd_samplers.py, sd_schedulers.py, computing
  with the real k-diffusion package), recording in `p.double_executed` what the sampling function would get;
- no real model loading: `shared.sd_model` is a small record (its CheckpointInfo, hash, architecture flags
  from the tensor names, A's `alphas_cumprod` / F's predictor, the prediction type from a `.yaml` beside the
  file or F's `v_pred` / `ztsnr` keys), loaded eagerly as A does or lazily as F does, without VAEs, text
  encoders or Forge's memory management;
- the hash cache lives in memory for one installed double (A keeps it on disk across starts), the old
  `model_hash` reads what tiny test files have at offset 1 MiB (nothing: they all share one old hash);
- no Gradio server and no browser events: UI callbacks are called directly (tests/browser drives a real page
  for the standalone app); the UI build creates only the components the glue looks up (ui_build.py);
- Forge's and Neo's main thread (F main_thread.py) is not modelled; reForge's and Classic's, which drop the
  UI task's exception, are (main_thread.py), but their loop's turn runs on the test's thread;
- no network, no downloads, no extensions besides IGA, the X/Y/Z plot script and, when a test asks for it,
  a ControlNet script that only holds its units (controlnet_ext.py), no `--api-auth` middleware
  for /sdapi (the glue's own /iga/v1 auth is tested), no settings persistence (ui-config.json, config.json);
- the queue lock is a plain lock (one request at a time in tests).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types
from pathlib import Path

from tests.host_double.flavours import flavour

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
_PREFIXES = ("modules", "modules_forge", "iga_webui", "launch", "networks", "backend", "ldm_patched")


def _owned(name: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in _PREFIXES)


_saved_env: dict[str, str | None] = {}


def clear() -> None:
    for name in [n for n in sys.modules if _owned(n)]:
        del sys.modules[name]
    for key, value in _saved_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    _saved_env.clear()


class HostDouble:
    def __init__(self, host: str, root: Path):
        self.host = host
        self.root = Path(root)
        self.models = self.root / "models" / "Stable-diffusion"
        self.loras = self.root / "models" / "Lora"
        self.outputs = self.root / "outputs"
        self.models.mkdir(parents=True, exist_ok=True)
        self.loras.mkdir(parents=True, exist_ok=True)
        self.m = types.SimpleNamespace()
        for name in ("shared", "errors", "paths", "script_callbacks", "sd_models", "sd_samplers", "extra_networks",
                     "images", "infotext_utils", "scripts", "processing", "txt2img"):
            setattr(self.m, name, importlib.import_module(f"modules.{name}"))
        self.m.paths.data_path = str(self.root)
        self.m.paths.models_path = str(self.root / "models")
        self.m.shared.cmd_opts.lora_dir = str(self.loras)
        opts = self.m.shared.opts
        # the host's start loads config.json over the defaults (A shared_init.py:21-24); a host whose settings
        # were never saved has none, and then `opts.data` is empty (A options.py:197-202): every option reads
        # its default through __getattr__, and only keys set since are in `data`
        opts.data.clear()
        for key, sub in (("outdir_txt2img_samples", "txt2img-images"), ("outdir_img2img_samples", "img2img-images"),
                         ("outdir_txt2img_grids", "txt2img-grids")):
            opts.data[key] = str(self.outputs / sub)
        if self.flavour.schedule_setting:
            # Classic's page shows its Schedule type dropdown only with this setting (default off); the double
            # starts with it on, as a config.json would after the user turned it on, so the tests every host
            # runs see the same page; tests of the hidden dropdown turn it off
            opts.data[self.flavour.schedule_setting] = True
        self.api = None

    @property
    def flavour(self):
        """This host's traits (flavours.py)."""
        return self.m.shared.FLAVOUR

    # --- host lifecycle ---------------------------------------------------------------------------
    def refresh_checkpoints(self) -> None:
        self.m.sd_models.list_models(str(self.models))
        sys.modules["networks"].list_available_networks()
        importlib.import_module("modules.sd_vae").refresh_vae_list()
        if self.m.shared.FLAVOUR.vae == "modules":  # F main_entry.py:140-164, Neo 96-115: files by basename
            module_list = sys.modules["modules_forge.main_entry"].module_list
            module_list.clear()
            for sub in ("VAE", "text_encoder"):
                folder = self.root / "models" / sub
                for f in sorted(folder.glob("*")) if folder.is_dir() else ():
                    module_list[f.name] = str(f)

    def start(self, *, select: str | None = None, extensions: tuple[str, ...] = ()):
        """What a host start does: list checkpoints, load the extension's scripts, settings, initial model
        load (A eager, F FakeInitialModel), build both tabs' script UIs, app-started callbacks, API."""
        import gradio as gr

        self.refresh_checkpoints()
        if select is not None:
            self.select(select)
        self.m.scripts.scripts_data.clear()
        xyz = importlib.import_module("modules.xyz_grid")  # a root script: loaded before extensions (A 493)
        self.m.scripts.scripts_data.append(self.m.scripts.ScriptClassData(xyz.Script, xyz.__file__, str(HERE), xyz))
        for name in extensions:  # doubles of other extensions' scripts (controlnet_ext: the ControlNet script)
            ext = importlib.import_module(f"modules.{name}")
            self.m.scripts.scripts_data.append(self.m.scripts.ScriptClassData(ext.Script, ext.__file__, str(HERE), ext))
        self.m.scripts.load_scripts_from(str(REPO))
        self.m.script_callbacks.ui_settings_callback()
        self.m.sd_models.initial_load()
        self.blocks = gr.Blocks()
        with self.blocks:
            for runner, is_img2img in ((self.m.scripts.scripts_txt2img, False), (self.m.scripts.scripts_img2img, True)):
                runner.initialize_scripts(is_img2img)
                self.m.scripts.scripts_current = runner
                runner.setup_ui()
            self.m.scripts.scripts_current = None
        api_module = importlib.import_module("modules.api.api")
        self.api = api_module.Api()
        return self

    def reset(self, select: str) -> None:
        """Between tests that share one started host: settings, outputs, logs and the model back to a
        known state (cheaper than a new start, which builds three Gradio Blocks)."""
        import shutil

        if not hasattr(self, "_opts_snapshot"):
            self._opts_snapshot = dict(self.m.shared.opts.data)
        self.m.shared.opts.data.clear()
        self.m.shared.opts.data.update(self._opts_snapshot)
        shutil.rmtree(self.outputs, ignore_errors=True)
        self.m.errors.REPORTS.clear()
        self.m.shared.state.begin()
        if self.m.shared.FLAVOUR.lazy_load:
            self.m.shared.sd_model = self.m.sd_models.FakeInitialModel()
        self.select(select)

    def select(self, name: str) -> None:
        """The checkpoint dropdown: A, Classic and reForge reload at once (opts onchange), F and Neo only record
        the choice."""
        info = self.m.sd_models.get_closet_checkpoint_match(name)
        assert info is not None, f"no checkpoint {name}"
        self.m.shared.opts.data["sd_model_checkpoint"] = info.title
        if not self.m.shared.FLAVOUR.lazy_load and self.m.shared.sd_model is not None:
            self.m.sd_models.reload_model_weights()

    def script(self, img2img: bool = False):
        runner = self.m.scripts.scripts_img2img if img2img else self.m.scripts.scripts_txt2img
        return runner.script("IGA")

    # --- generation ---------------------------------------------------------------------------------
    def ui_args(self, iga_args=None, img2img: bool = False) -> list:
        """The Generate button's script args: every component's current value, ours replaced if given."""
        runner = self.m.scripts.scripts_img2img if img2img else self.m.scripts.scripts_txt2img
        values = [0] + [getattr(c, "value", None) for c in runner.inputs[1:]]
        if iga_args is not None:
            script = self.script(img2img)
            values[script.args_from] = iga_args
        return values

    def ui_txt2img(self, iga_args=None, **fields):
        setting = self.flavour.schedule_setting
        if setting and not getattr(self.m.shared.opts, setting):
            # no dropdown: the Sampler script sends its State, "Automatic" (classic processing_scripts/sampler.py:
            # 41-43, setup 63-66)
            fields["scheduler"] = "Automatic"
        p = self.m.processing.StableDiffusionProcessingTxt2Img(prompt=fields.pop("prompt", "a cat"), **fields)
        self.last_p = p
        return self.m.txt2img.ui_generate(p, self.ui_args(iga_args))

    def ui_xyz(self, x_type, x_values, y_type="Nothing", y_values="", iga_args=None, **fields):
        """Generate with "X/Y/Z plot" selected in the Script dropdown."""
        runner = self.m.scripts.scripts_txt2img
        xyz = runner.script("X/Y/Z plot")
        values = self.ui_args(iga_args)
        values[0] = runner.selectable_scripts.index(xyz) + 1
        values[xyz.args_from:xyz.args_to] = [x_type, x_values, y_type, y_values]
        p = self.m.processing.StableDiffusionProcessingTxt2Img(prompt=fields.pop("prompt", "a cat"), **fields)
        self.last_p = p
        return self.m.txt2img.ui_generate(p, values)

    def ui_selectable(self, title: str, script_args: list, iga_args=None, **fields):
        """Generate with a selectable script (Script dropdown) chosen, e.g. "IGA consistency report"."""
        runner = self.m.scripts.scripts_txt2img
        chosen = runner.script(title)
        values = self.ui_args(iga_args)
        values[0] = runner.selectable_scripts.index(chosen) + 1
        values[chosen.args_from:chosen.args_to] = script_args
        p = self.m.processing.StableDiffusionProcessingTxt2Img(prompt=fields.pop("prompt", "a cat"), **fields)
        self.last_p = p
        return self.m.txt2img.ui_generate(p, values)

    def last_api_p(self):
        return self.api.last_p

    def api_txt2img(self, body: dict):
        return self.api.text2imgapi(txt2imgreq=body)  # by keyword, as FastAPI calls an endpoint

    def api_img2img(self, body: dict):
        return self.api.img2imgapi(img2imgreq=body)

    def saved_files(self) -> list[Path]:
        return sorted(p for p in self.outputs.rglob("*") if p.is_file())


#: what the double needs beyond iga's own dependencies: the hosts' samplers are the real k-diffusion, on torch.
#: The a1111 CI env runs on Python 3.10 without torch (no CPU wheel for it offline): there the double's tests
#: skip, and the a1111-host env (3.11, same pins, torch) runs them (`-m host`; .ci/run, docs/development.md).
STACK = ("torch", "k_diffusion")
#: the test being set up (tests/conftest.py); `install` insists it is marked `host`, so `-m host` selects
#: every test that uses the double
current_item = None


def require_stack() -> None:
    import pytest

    item = current_item
    if item is not None and item.get_closest_marker("host") is None:
        raise RuntimeError(f"{item.nodeid} uses the host double but is not marked `host`: add "
                           "pytestmark = pytest.mark.host (the a1111-host CI env selects tests by it)")
    for name in STACK:
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"the host double needs {name}, not installed here (the forge and a1111-host CI envs have it)")


def _package(name: str, path: list | None = None) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=True)
    module.__path__ = path or []
    sys.modules[name] = module
    return module


def _install_forks_modules(flavour) -> None:
    """What a fork ships besides `modules`: `modules_forge` with its version file (F forge_version.py:1
    '2.0.1v1.10.1', Neo 'neo' + release, Classic 'classic', reForge '1.0.0v2-v1.10.1RC') and the submodules the
    glue looks for (F / Neo `main_entry`, mirrored by forge_main_entry.py; Classic / reForge `forge_loader`,
    an empty stand-in), and the backend packages (`backend` or `ldm_patched`, empty stand-ins)."""
    for name in flavour.packages:
        _package(name)
    if flavour.forge_version is None:
        return
    forge = _package("modules_forge")
    version = types.ModuleType("modules_forge.forge_version")
    version.__spec__ = importlib.machinery.ModuleSpec("modules_forge.forge_version", None)
    for key, value in flavour.forge_version.items():
        setattr(version, key, value)
    sys.modules["modules_forge.forge_version"] = forge.forge_version = version
    if "main_entry" in flavour.forge_modules:
        entry_spec = importlib.util.spec_from_file_location("modules_forge.main_entry", HERE / "forge_main_entry.py")
        forge.main_entry = importlib.util.module_from_spec(entry_spec)
        entry_spec.loader.exec_module(forge.main_entry)
        sys.modules["modules_forge.main_entry"] = forge.main_entry
    if flavour.main_thread == "drops":  # R / C modules_forge/main_thread.py, mirrored by main_thread.py
        thread_spec = importlib.util.spec_from_file_location("modules_forge.main_thread", HERE / "main_thread.py")
        forge.main_thread = importlib.util.module_from_spec(thread_spec)
        thread_spec.loader.exec_module(forge.main_thread)
        sys.modules["modules_forge.main_thread"] = forge.main_thread
    if "forge_loader" in flavour.forge_modules:
        loader = types.ModuleType("modules_forge.forge_loader")
        loader.__spec__ = importlib.machinery.ModuleSpec("modules_forge.forge_loader", None)
        sys.modules["modules_forge.forge_loader"] = forge.forge_loader = loader


def install(host: str, root: Path) -> HostDouble:
    """Put the double into sys.modules (call `clear()` afterwards). host: a key of `flavours.FLAVOURS`."""
    require_stack()
    clear()
    from tests.host_double import k_diffusion_pkg

    k_diffusion_pkg.install()  # top-level in the hosts (A repositories/k-diffusion, F k_diffusion/)
    # the extension's data folder (decision log) goes under the test's root, never into the checkout
    for key, value in (("IGA_DATA_DIR", str(Path(root) / "iga-data")), ("IGA_DECISION_LOG", None)):
        _saved_env[key] = os.environ.get(key)
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    pkg = types.ModuleType("modules")
    pkg.__path__ = [str(HERE)]
    pkg.__spec__ = importlib.machinery.ModuleSpec("modules", None, is_package=True)
    pkg.DOUBLE_HOST = host
    sys.modules["modules"] = pkg
    api_pkg = types.ModuleType("modules.api")
    api_pkg.__path__ = []
    sys.modules["modules.api"] = api_pkg
    spec = importlib.util.spec_from_file_location("modules.api.api", HERE / "api.py")
    api_mod = importlib.util.module_from_spec(spec)
    sys.modules["modules.api.api"] = api_mod
    _install_forks_modules(flavour(host))
    double = HostDouble(host, root)
    sys.modules["modules.generation_parameters_copypaste"] = double.m.infotext_utils  # A infotext_utils alias
    spec.loader.exec_module(api_mod)
    api_pkg.api = api_mod
    # the built-in LoRA extension's module, top-level as in the hosts (extensions-builtin/Lora on sys.path)
    sys.modules["networks"] = importlib.import_module("modules.networks")
    sys.modules["launch"] = importlib.import_module("modules.launch")  # top-level in the hosts' root folder
    return double
