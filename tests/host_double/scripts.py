"""Mirror of modules/scripts.py (A v1.10.1; F differences noted).

- `Script` hooks and defaults (A 52-348); `AlwaysVisible` (A 14); `PostprocessImageArgs` takes `(image)` in A
  and `(image, index)` in F (A 32, F 32-35).
- Script loading (A 487-530): every top-level *.py of `<ext>/scripts/`, with the extension directory put at
  the front of sys.path while the module loads and removed afterwards (A 512, 522; F keeps it, F 500-501).
- `ScriptRunner` (A 542-1025): one per tab; `args_from`/`args_to` slicing (A 636-637, 686-687); inputs[0] is the
  selectable-script dropdown (A 715-716); `infotext_fields` collected from each `ui()` (A 680-684); every hook
  wrapped in try/except + errors.report, so a raising hook never stops generation (A 820-996).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections import namedtuple

from modules import errors, shared

AlwaysVisible = object()
ScriptClassData = namedtuple("ScriptClassData", ["script_class", "path", "basedir", "module"])
scripts_data: list[ScriptClassData] = []
current_basedir = ""


class PostprocessImageArgs:
    def __init__(self, image, index=0):  # F signature; A has (image) only
        self.image = image
        self.index = index


class PostSampleArgs:
    def __init__(self, samples):
        self.samples = samples


class PostprocessBatchListArgs:
    def __init__(self, images):
        self.images = images


class Script:
    name = None
    section = None
    filename = None
    args_from = None
    args_to = None
    alwayson = False
    is_txt2img = False
    is_img2img = False
    tabname = None
    group = None
    create_group = True
    infotext_fields = None
    paste_field_names = None
    api_info = None
    setup_for_ui_only = False
    controls = None
    sorting_priority = 0  # F only (F 100)

    def title(self):
        raise NotImplementedError()

    def ui(self, is_img2img):
        pass

    def show(self, is_img2img):
        return True

    def run(self, p, *args):
        pass

    def setup(self, p, *args):
        pass

    def before_process(self, p, *args):
        pass

    def process(self, p, *args):
        pass

    def before_process_batch(self, p, *args, **kwargs):
        pass

    def process_batch(self, p, *args, **kwargs):
        pass

    def process_before_every_sampling(self, p, *args, **kwargs):
        pass

    def postprocess_batch(self, p, *args, **kwargs):
        pass

    def postprocess_image(self, p, pp, *args):
        pass

    def postprocess(self, p, processed, *args):
        pass

    def before_hr(self, p, *args):
        pass

    def elem_id(self, item_id):  # A 334-343
        need_tabname = self.show(True) == self.show(False)
        tabkind = "img2img" if self.is_img2img else "txt2img"
        tabname = f"{tabkind}_" if need_tabname else ""
        title = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.title().lower())
        return f"script_{tabname}{title}_{item_id}"


def basedir():
    return current_basedir


def load_scripts_from(extension_dir: str) -> list[ScriptClassData]:
    """Load `<extension_dir>/scripts/*.py` the way A does (A 487-530)."""
    global current_basedir
    found = []
    script_dir = os.path.join(extension_dir, "scripts")
    for fn in sorted(os.listdir(script_dir)):
        path = os.path.join(script_dir, fn)
        if not fn.endswith(".py") or not os.path.isfile(path):
            continue
        syspath = sys.path
        sys.path = [extension_dir, *sys.path]
        current_basedir = extension_dir
        try:
            spec = importlib.util.spec_from_file_location(os.path.basename(path), path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        finally:
            sys.path = syspath
            current_basedir = ""
        for obj in module.__dict__.values():
            if isinstance(obj, type) and issubclass(obj, Script) and obj is not Script:
                found.append(ScriptClassData(obj, path, extension_dir, module))
    scripts_data.extend(found)
    return found


def wrap_call(func, filename, funcname, *args, default=None, **kwargs):  # A 533-539
    try:
        return func(*args, **kwargs)
    except Exception:
        errors.report(f"Error calling: {filename}/{funcname}", exc_info=True)
    return default


class ScriptRunner:
    def __init__(self):
        self.scripts = []
        self.selectable_scripts = []
        self.alwayson_scripts = []
        self.titles = []
        self.title_map = {}
        self.infotext_fields = []
        self.paste_field_names = []
        self.inputs = [None]

    def initialize_scripts(self, is_img2img):  # A 578-612
        self.scripts.clear()
        self.alwayson_scripts.clear()
        self.selectable_scripts.clear()
        for script_data in scripts_data:
            try:
                script = script_data.script_class()
            except Exception:
                errors.report(f"Error # failed to initialize Script {script_data.module}: ", exc_info=True)
                continue
            script.filename = script_data.path
            script.is_txt2img = not is_img2img
            script.is_img2img = is_img2img
            script.tabname = "img2img" if is_img2img else "txt2img"
            visibility = script.show(script.is_img2img)
            if visibility == AlwaysVisible:
                self.scripts.append(script)
                self.alwayson_scripts.append(script)
                script.alwayson = True
            elif visibility:
                self.scripts.append(script)
                self.selectable_scripts.append(script)

    def create_script_ui(self, script):  # A 634-687 (create_script_ui_inner; api_info omitted)
        script.args_from = len(self.inputs)
        script.args_to = len(self.inputs)
        try:
            controls = wrap_call(script.ui, script.filename, "ui", script.is_img2img)
            script.controls = controls
            if controls is None:
                return
            script.name = wrap_call(script.title, script.filename, "title", default=script.filename).lower()
            if script.infotext_fields is not None:
                self.infotext_fields += script.infotext_fields
            if script.paste_field_names is not None:
                self.paste_field_names += script.paste_field_names
            self.inputs += controls
            script.args_to = len(self.inputs)
        except Exception:
            errors.report(f"Error creating UI for {script.name}: ", exc_info=True)

    def setup_ui(self):  # A 708-766, without the dropdown's events
        import gradio as gr

        all_titles = [wrap_call(s.title, s.filename, "title") or s.filename for s in self.scripts]
        self.title_map = {title.lower(): script for title, script in zip(all_titles, self.scripts, strict=True)}
        self.titles = [wrap_call(s.title, s.filename, "title") for s in self.selectable_scripts]
        ordered = sorted(self.alwayson_scripts, key=lambda s: s.sorting_priority) if shared.FLAVOUR.sorting_priority \
            else self.alwayson_scripts
        for script in ordered:
            with gr.Group(visible=True) as group:
                self.create_script_ui(script)
            script.group = group
        self.inputs[0] = gr.Dropdown(label="Script", elem_id="script_list", choices=["None", *self.titles],
                                     value="None", type="index")
        for script in self.selectable_scripts:
            with gr.Group(visible=False) as group:
                self.create_script_ui(script)
            script.group = group
        return self.inputs

    def run(self, p, *args):  # A 768-784
        script_index = args[0]
        if script_index == 0 or script_index is None:
            return None
        script = self.selectable_scripts[script_index - 1]
        script_args = args[script.args_from:script.args_to]
        return script.run(p, *script_args)

    def _each(self, method: str, p, *extra, **kwargs):
        for script in self.alwayson_scripts:
            if getattr(type(script), method) is getattr(Script, method):
                continue
            try:
                script_args = p.script_args[script.args_from:script.args_to]
                getattr(script, method)(p, *extra, *script_args, **kwargs)
            except Exception:
                errors.report(f"Error running {method}: {script.filename}", exc_info=True)

    def setup_scrips(self, p, *, is_ui=True):  # A 987-996 (sic: the host's spelling)
        for script in self.alwayson_scripts:
            if not is_ui and script.setup_for_ui_only:
                continue
            try:
                script.setup(p, *p.script_args[script.args_from:script.args_to])
            except Exception:
                errors.report(f"Error running setup: {script.filename}", exc_info=True)

    def before_process(self, p):
        self._each("before_process", p)

    def process(self, p):
        self._each("process", p)

    def before_process_batch(self, p, **kwargs):
        self._each("before_process_batch", p, **kwargs)

    def process_batch(self, p, **kwargs):
        self._each("process_batch", p, **kwargs)

    def process_before_every_sampling(self, p, **kwargs):
        self._each("process_before_every_sampling", p, **kwargs)

    def before_hr(self, p):
        self._each("before_hr", p)

    def postprocess_batch(self, p, images, **kwargs):
        self._each("postprocess_batch", p, images=images, **kwargs)

    def postprocess_image(self, p, pp):
        self._each("postprocess_image", p, pp)

    def postprocess(self, p, processed):
        self._each("postprocess", p, processed)

    def script(self, title):
        return self.title_map.get(title.lower())


scripts_txt2img = ScriptRunner()
scripts_img2img = ScriptRunner()
scripts_current = None
