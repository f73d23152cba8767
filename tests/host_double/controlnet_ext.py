"""A double of the ControlNet script both hosts run, to the extent IGA reads it: an always-on script
titled "ControlNet" whose `ui()` returns one state per unit, so its units sit in its slice of
`p.script_args` (from the UI: unit objects; from the API's `alwayson_scripts["ControlNet"]["args"]`:
dicts). It does no control at all.

- A1111 + Mikubill/sd-webui-controlnet @56cec5b2: `Script.title()` "ControlNet", `show()` AlwaysVisible
  (scripts/controlnet.py:319-323); `ui()` makes `control_net_unit_count` (default 3) unit groups, each
  rendering a `gr.State` of a `ControlNetUnit` (scripts/controlnet.py:368-390, 326-328); the unit fields
  read here (internal_controlnet/args.py:53-163), `enabled` False by default.
- Forge's integrated ControlNet (extensions-builtin/sd_forge_controlnet/scripts/controlnet.py:58-98): the
  same title and always-on, `control_net_unit_count` units, unit dataclass with `enabled` True by default
  (lib_controlnet/external_code.py:157-182); the UI's default unit is built `enabled=False` (74). Neo, Forge
  Classic and reForge ship the same integrated script (title at Neo 58-59, classic 48-49, reForge 69-70;
  `enabled` True at Neo external_code.py:160, classic 175, reForge 230).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
from modules import scripts

UNIT_COUNT = 3


@dataclass
class ControlNetUnit:
    enabled: bool = False
    module: str = "none"
    model: str = "None"
    weight: float = 1.0
    guidance_start: float = 0.0
    guidance_end: float = 1.0


class Script(scripts.Script):
    def title(self):
        return "ControlNet"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def ui(self, is_img2img):
        return [gr.State(value=ControlNetUnit()) for _ in range(UNIT_COUNT)]

    def process(self, p, *args):
        self.seen = list(args)  # what the host handed over, for tests
