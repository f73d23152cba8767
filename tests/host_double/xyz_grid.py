"""Mirror of scripts/xyz_grid.py (A v1.10.1 root script; F identical where it matters), cut to what the
guard meets: a selectable Script "X/Y/Z plot"; each cell is `copy(p)` with the axis value applied
(`apply_field`, A 30-35) and runs `process_images(pc)` inside try/except -- an exception becomes an empty
cell, `Processed(p, [], p.seed, "")`, and the grid goes on (A 707-733, F 751-756); `draw_xyz_grid` fills a
blank `Image.new` for a cell without images (A 317-331); the grid infotext is the first cell's with
`Script`, `X Type`, `X Values` added (A 736-749), built right after the first cell ran; the grid is
saved with `info=processed.infotexts[0]` and `p=processed`, the object the UI and the API get back
(A 793-805).
Axes: two (X and Y) of Sampler, Schedule type, Steps, CFG Scale (A 243-258); values comma-separated.
"""

from __future__ import annotations

from copy import copy

from modules import errors, images, processing, scripts, shared
from modules.processing import Processed, process_images
from modules.shared import opts
from PIL import Image

AXES = {  # label -> (type, p field)  (A AxisOption table, 240-280)
    "Nothing": (str, None),
    "Sampler": (str, "sampler_name"),
    "Schedule type": (str, "scheduler"),
    "Steps": (int, "steps"),
    "CFG Scale": (float, "cfg_scale"),
}


class Script(scripts.Script):
    def title(self):
        return "X/Y/Z plot"

    def ui(self, is_img2img):
        import gradio as gr

        choices = list(AXES)
        return [gr.Dropdown(label="X type", choices=choices, value="Nothing"), gr.Textbox(label="X values", value=""),
                gr.Dropdown(label="Y type", choices=choices, value="Nothing"), gr.Textbox(label="Y values", value="")]

    def run(self, p, x_type, x_values, y_type, y_values):
        def values(kind, text):
            cast, _ = AXES[kind]
            return [cast(v.strip()) for v in str(text).split(",") if v.strip()] if kind != "Nothing" else [None]

        xs, ys = values(x_type, x_values), values(y_type, y_values)
        grid_infotext = [None]
        processed_result = None
        list_size = len(xs) * len(ys)
        shared.state.job_count = list_size * p.n_iter

        def cell(x, y, ix, iy):
            pc = copy(p)
            pc.styles = pc.styles[:]
            for kind, value in ((x_type, x), (y_type, y)):
                field = AXES[kind][1]
                if field is not None:
                    setattr(pc, field, value)
            try:
                res = process_images(pc)
            except Exception as e:
                errors.display(e, "generating image for xyz plot")
                res = Processed(p, [], p.seed, "")
            if grid_infotext[0] is None and ix == 0 and iy == 0:
                pc.extra_generation_params = copy(pc.extra_generation_params)
                pc.extra_generation_params["Script"] = self.title()
                if x_type != "Nothing":
                    pc.extra_generation_params["X Type"] = x_type
                    pc.extra_generation_params["X Values"] = x_values
                if y_type != "Nothing":
                    pc.extra_generation_params["Y Type"] = y_type
                    pc.extra_generation_params["Y Values"] = y_values
                if pc.all_prompts is not None:
                    grid_infotext[0] = processing.create_infotext(pc, pc.all_prompts, pc.all_seeds, pc.all_subseeds)
            return res

        for iy, y in enumerate(ys):
            for ix, x in enumerate(xs):
                processed = cell(x, y, ix, iy)
                if processed_result is None:
                    processed_result = copy(processed)
                    processed_result.images = [None] * list_size
                    processed_result.infotexts = [None] * list_size
                idx = ix + iy * len(xs)
                if processed.images:
                    processed_result.images[idx] = processed.images[0]
                    processed_result.infotexts[idx] = processed.infotexts[0]
                else:
                    cell_size = (processed_result.width, processed_result.height)
                    cell_mode = "P"
                    if processed_result.images[0] is not None:
                        cell_mode, cell_size = processed_result.images[0].mode, processed_result.images[0].size
                    processed_result.images[idx] = Image.new(cell_mode, cell_size)

        grid = images.image_grid(processed_result.images, rows=len(ys))
        processed_result.images.insert(0, grid)
        processed_result.infotexts.insert(0, grid_infotext[0])
        if opts.grid_save:
            images.save_image(grid, p.outpath_grids, "xyz_grid", info=processed_result.infotexts[0],
                              extension=opts.grid_format, prompt=p.prompt, seed=processed_result.seed, grid=True, p=processed_result)
        return processed_result
