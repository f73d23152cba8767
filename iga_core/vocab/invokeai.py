"""InvokeAI's scheduler names ("euler_k", "dpmpp_2m_sde_k", ...): each is a diffusers class with config
overrides (data/invokeai.json, from InvokeAI's SCHEDULER_MAP), so it resolves through the diffusers map."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from iga_core.vocab.diffusers_map import DiffusersMapping, describe_diffusers
from iga_core.vocab.model import UnknownName
from iga_core.vocab.table import load_table, name_key


@lru_cache(maxsize=1)
def _table() -> dict:
    data = json.loads(resources.files("iga_core.vocab").joinpath("data", "invokeai.json").read_text(encoding="utf-8"))
    return {name_key(k): (k, v) for k, v in data["schedulers"].items()}


def invokeai_names() -> tuple[str, ...]:
    return tuple(name for name, _ in _table().values())


def from_invokeai(name: str) -> DiffusersMapping:
    """The sampler and schedule an InvokeAI scheduler name runs (its model's own timestep spacing aside,
    which the image does not record). Unknown names raise UnknownName; configurations no WebUI host runs
    (dpmpp_3m: DPM-Solver++ 3M without noise; dpmpp_2s: singlestep) raise NoHostSampler."""
    import difflib

    found = _table().get(name_key(name)) if isinstance(name, str) else None
    if found is None:
        close = difflib.get_close_matches(str(name), list(invokeai_names()), n=3, cutoff=0.6)
        raise UnknownName("InvokeAI scheduler", name, close)
    key, spec = found
    if "sampler" in spec:  # InvokeAI's own scheduler, not a diffusers class
        sampler = load_table().samplers[spec["sampler"]]
        return DiffusersMapping(spec["class"], sampler, None, None,
                                (f"InvokeAI's {key} is its own {spec['class']} (not a diffusers class); "
                                 f"{sampler.label} is the host sampler of that name, not checked to run alike",))
    return describe_diffusers(spec["class"], spec["config"])
