"""Where the checkpoint and clip-skip controls of the UI are (docs/hosts.md §7).

- `quicksettings` (A1111, Forge Classic, reForge): settings shown in the top bar have the element id
  `setting_<key>` (A ui_settings.py:42); the checkpoint is there by default (A shared_options.py:333,
  classic 388, reForge 384, the last two with `sd_vae` too and reForge also `CLIP_stop_at_last_layers`).
  There is no `modules_forge.main_entry` on Classic and reForge.
- `forge_main_entry` (Forge, Neo): the top bar is `modules_forge.main_entry`'s module globals, built by
  `make_checkpoint_manager_ui`: Forge's checkpoint dropdown has no element id (`label="Checkpoint"`,
  `elem_classes=['model_selection']`, F main_entry.py:69-74) and its clip skip is `ui_clip_skip` (121-122); Neo's
  checkpoint has `elem_id="setting_sd_model_checkpoint"` (Neo main_entry.py:67) and clip skip is an ordinary
  setting (Neo shared_options.py:224; no `ui_clip_skip`).
"""

from __future__ import annotations


class Quicksettings:
    name = "quicksettings"
    has_main_entry = False


class ForgeMainEntry:
    name = "forge_main_entry"
    has_main_entry = True


VARIANTS = {"quicksettings": Quicksettings(), "forge_main_entry": ForgeMainEntry()}
