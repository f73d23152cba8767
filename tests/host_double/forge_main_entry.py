"""Mirror of Forge's modules_forge/main_entry.py, the part the glue reads: the top bar's components as module
globals, None until `make_checkpoint_manager_ui` builds them (F main_entry.py:14-23, 57-124). The double's
ui_build.py sets `ui_checkpoint` and `ui_clip_skip` when it builds Forge's top bar."""

from __future__ import annotations

ui_forge_preset = None
ui_checkpoint = None
ui_vae = None
ui_clip_skip = None
