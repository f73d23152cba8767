"""Whether the txt2img / img2img page has a schedule type control (docs/hosts.md §5, §7).

- `dropdown` (A1111, Forge, Neo, reForge): the Sampler script always builds the "Schedule type" dropdown
  `{tab}_scheduler` (A processing_scripts/sampler.py:23-32; F, Neo and reForge the same file).
- `setting` (Forge Classic): the dropdown exists only when the setting `show_scheduler`, "Display the
  Scheduler Dropdown" under UI Alternatives, is on (classic modules/shared_options.py:362-365, default False,
  needs Reload UI); otherwise the script holds `gr.State(value="Automatic")` (classic
  processing_scripts/sampler.py:34-43) and its `setup` sets `p.scheduler` to it (63-66), so a generation from
  the page runs "Automatic": the sampler's own scheduler option, else the model's discretisation (classic
  sd_samplers_kdiffusion.py:115-130). The API takes a `scheduler` field either way.

`shown(option)` answers from the host's settings (`option(key, default)`), as the script does when it builds
the page; `sent_without` is what the page sends for the schedule when it has no control.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class AlwaysShown:
    name = "dropdown"
    sent_without = None

    def shown(self, option: Callable[[str, Any], Any]) -> bool:
        return True


class ShownBySetting:
    name = "setting"

    def __init__(self, key: str, default: bool, sent_without: str) -> None:
        self.key = key
        self.default = default
        self.sent_without = sent_without

    def shown(self, option: Callable[[str, Any], Any]) -> bool:
        return bool(option(self.key, self.default))


VARIANTS = {"dropdown": AlwaysShown(), "setting": ShownBySetting("show_scheduler", False, "Automatic")}
