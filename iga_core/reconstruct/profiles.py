"""Data-driven knowledge: the name patterns of distilled models, their authors' recipes (profiles),
and each family's usual settings (data/names.json, profiles.json, families.json)."""

from __future__ import annotations

import json
import re
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from iga_core.reconstruct.evidence import PROFILE, Evidence


@cache
def _data(name: str) -> dict:
    text = resources.files("iga_core.reconstruct").joinpath(f"data/{name}.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern, str]]:
    return [(re.compile(p, re.IGNORECASE), name) for p, name in _data("names")["profiles"]]


def match_profile(text: str) -> dict | None:
    """{"profile", "n" (step count in the name or None), "cfg" (CFG-preserved)} for the first pattern found."""
    for pattern, name in _patterns():
        m = pattern.search(text)
        if m:
            groups = m.groupdict()
            digits = groups.get("n") or ""
            n = int(digits) if 0 < len(digits) <= 3 else None  # a step count; 5000 digits are not one
            return {"profile": name, "n": n if n and 1 <= n <= 64 else None, "cfg": bool(groups.get("cfg"))}
    return None


def trailing_timesteps(n: int, train_steps: int = 1000) -> list[int]:
    """diffusers "trailing" spacing: n timesteps counted down from the last training step."""
    return [round(train_steps - k * train_steps / n) - 1 for k in range(n)]


def _fill(value: Any, n: int) -> Any:
    if value == "{n}":
        return n
    if value == "trailing_timesteps":
        return {"kind": "timesteps", "values": trailing_timesteps(n)}
    if isinstance(value, dict):
        return {k: _fill(v, n) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, n) for v in value]
    return value


def expand_profile(hint: Evidence, findings: list[str]) -> list[Evidence]:
    """The field evidence a profile hint stands for, at the hint's confidence."""
    name, n, cfg = hint.value["profile"], hint.value.get("n"), hint.value.get("cfg")
    spec = _data("profiles")[name]
    confidence = hint.confidence
    if n is None and "default_n" in spec:
        n = spec["default_n"]
        confidence *= 0.8
        findings.append(f"{name}: the step count is not in the name; assumed the authors' {n}-step file")
    fields = dict(spec["fields"])
    fields.update(spec.get("when_n", {}).get(str(n), {}))
    if cfg:
        fields.update(spec.get("when_cfg", {}))
    source = f"profile:{name}"
    detail = f"{spec['source_note']} (because {hint.source}: {hint.detail})"
    return [
        Evidence(pointer, _fill(value, n or 1), source, detail, confidence)
        for pointer, value in fields.items()
    ]


def family_defaults(family: str, findings: list[str], evidence: list[Evidence] = ()) -> list[Evidence]:
    """The family's usual settings (data/families.json) as weak evidence. A fine family without an entry
    (flux2, auraflow, ...) gets its architecture's entry, else the generic one; a prediction type the family
    cannot have is left out (`iga_core.recipe.aliases.possible_prediction_types`)."""
    from iga_core.recipe.aliases import family_info, possible_prediction_types

    table = _data("families")
    arch = family_info(family)["architecture"]
    spec = table.get(family) or (table.get(arch) if arch != "other" else None)
    if spec is None:
        spec = table["other"]
        findings.append(spec["finding"] if family == "other" else
                        f"no usual settings are known for {family_info(family)['title']}: sampler, steps and CFG "
                        "are generic defaults")  # fmt: skip
    elif spec.get("finding"):
        unless = spec.get("finding_unless")
        if not (unless and any(e.pointer == unless and e.confidence >= 0.5 for e in evidence)):
            findings.append(spec["finding"])
    possible = possible_prediction_types(family)
    detail = f"the usual settings of {family} models"
    return [Evidence(p, v, "family-default", detail, spec["confidence"]) for p, v in spec["fields"].items()
            if not (p == "/prediction_type" and possible is not None and v not in possible)]


def is_profile(e: Evidence) -> bool:
    return e.pointer == PROFILE
