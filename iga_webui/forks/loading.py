"""When the checkpoint a generation uses is loaded (docs/hosts.md §2).

- `eager`: A1111 reloads the selected checkpoint when the dropdown changes and again at the top of
  `process_images`, before the override settings are applied (A processing.py:826-836); Forge Classic
  (classic processing.py:781-789) and reForge (reForge processing.py:907-915) do the same. In
  `before_process` `shared.sd_model` is the model that will run unless an override names another one.
- `lazy`: Forge loads in `manage_model_and_prompt_cache` after `before_process` (F processing.py:829-836;
  `shared.sd_model` may be the previous model or FakeInitialModel, F sd_models.py:385-408); Neo the same
  (Neo processing.py:824-831).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loading:
    name: str
    lazy: bool

    def loaded_is_target(self) -> bool:
        """In `before_process`, is the loaded model the one this generation will use (absent an override)?"""
        return not self.lazy


VARIANTS = {"eager": Loading("eager", lazy=False), "lazy": Loading("lazy", lazy=True)}
