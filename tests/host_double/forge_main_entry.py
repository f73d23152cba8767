"""Mirror of Forge's modules_forge/main_entry.py, the parts the glue reads: the top bar's components as module
globals, None until `make_checkpoint_manager_ui` builds them (F main_entry.py:14-23, 57-124; the double's
ui_build.py sets them when it builds Forge's top bar), and `module_list`, the VAE / text-encoder files."""

from __future__ import annotations

ui_forge_preset = None
ui_checkpoint = None
ui_vae = None
ui_clip_skip = None
#: the VAE / text-encoder files Forge offers: basename -> full path (F main_entry.py:140-164)
module_list: dict[str, str] = {}
