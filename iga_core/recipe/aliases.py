"""Other tools' names for a model family and a prediction type, mapped to the recipe's values.

The tables are data (`data/aliases.json`); migration and legacy reconstruction both read ModelSpec,
kohya, CivitAI and diffusers spellings through these two functions.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _tables() -> dict:
    text = resources.files("iga_core.recipe").joinpath("data/aliases.json").read_text(encoding="utf-8")
    data = json.loads(text)
    data["architecture"] = [(re.compile(p, re.IGNORECASE), arch) for p, arch in data["architecture"]]
    return data


def normalize_architecture(text: str) -> str | None:
    """ "SDXL 1.0", "stable-diffusion-xl-v1-base", "sdxl_base_v1-0" -> "sdxl"; None when unknown."""
    cleaned = text.strip()
    for pattern, arch in _tables()["architecture"]:
        if pattern.search(cleaned):
            return arch
    return None


def normalize_prediction_type(text: str) -> str | None:
    """ "epsilon" -> "eps", "v_prediction" -> "v", "sample" -> "x0", "flow_matching" -> "flow"; None when unknown."""
    return _tables()["prediction_type"].get(text.strip().lower())


def implies_zero_terminal_snr(text: str) -> bool:
    """SwarmUI's "v-zsnr" names v-prediction with a zero-terminal-SNR schedule in one word."""
    return text.strip().lower() in _tables()["zero_terminal_snr_prediction_types"]
