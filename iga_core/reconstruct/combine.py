"""Turn a pile of evidence into one recipe: the most confident evidence wins each field, conflicts are
reported, and the result is repaired until it validates (a reconstruction never hands out an invalid
recipe)."""

from __future__ import annotations

import copy
from typing import Any

from iga_core.recipe import SCHEMA_VERSION, validate_recipe
from iga_core.reconstruct.evidence import Conflict, Evidence

STRONG = 0.5  # losing evidence at least this confident is reported as a conflict
REQUIRED = ("/iga_version", "/model_id", "/prediction_type", "/sampler", "/scheduler", "/steps", "/cfg")


def choose(
    evidence: list[Evidence], findings: list[str], conflicts: list[Conflict] | None = None
) -> dict[str, Evidence]:
    """The winning evidence per pointer (highest confidence; ties go to the earlier source). Confident losers
    from another source are conflicts: a finding, and a `Conflict` in `conflicts`."""
    best: dict[str, Evidence] = {}
    for e in evidence:
        if e.pointer not in best or e.confidence > best[e.pointer].confidence:
            best[e.pointer] = e
    for pointer, won in list(best.items()):
        if isinstance(won.value, dict):
            best[pointer] = _completed(won, [e for e in evidence if e.pointer == pointer and e is not won])
    for e in evidence:
        won = best[e.pointer]
        if won.value == e.value or (isinstance(e.value, dict) and _agrees(e.value, won.value)):
            continue
        if e.confidence >= STRONG and e.source != won.source:
            conflict = Conflict(e.pointer, won, e, f"{won.source} is the more certain source "
                                f"({won.confidence:.2f} against {e.confidence:.2f})")  # fmt: skip
            findings.append(conflict.message())
            if conflicts is not None:
                conflicts.append(conflict)
    return best


def _completed(won: Evidence, others: list[Evidence]) -> Evidence:
    """Fill the keys the winning object lacks (a median steps without min/max) from the next best evidence."""
    value = dict(won.value)
    for e in sorted(others, key=lambda e: -e.confidence):
        if isinstance(e.value, dict):
            value.update({k: v for k, v in e.value.items() if k not in value})
    return won if value == won.value else Evidence(won.pointer, value, won.source, won.detail, won.confidence)


def _agrees(part: dict, whole: object) -> bool:
    return isinstance(whole, dict) and all(whole.get(k) == v for k, v in part.items())


def _set(doc: dict, pointer: str, value: Any) -> None:
    parts = pointer.strip("/").split("/")
    node = doc
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if isinstance(value, dict) and isinstance(node.get(parts[-1]), dict):
        node[parts[-1]].update(copy.deepcopy(value))  # a deeper pointer may already have filled part of it
    else:
        node[parts[-1]] = copy.deepcopy(value)


def assemble(chosen: dict[str, Evidence]) -> dict:
    """Build the recipe dict, shallow pointers first so that "/cfg/rescale" lands inside "/cfg"."""
    recipe: dict = {"iga_version": SCHEMA_VERSION}
    for pointer in sorted(chosen, key=lambda p: (p.count("/"), p)):
        _set(recipe, pointer, chosen[pointer].value)
    return recipe


def _widen(r: dict, what: str, findings: list[str]) -> None:
    lo, hi, default = r.get("min"), r.get("max"), r["default"]
    if lo is not None and default < lo:
        r["min"] = default
        findings.append(f"{what}: min lowered to the default {default}")
    if hi is not None and default > hi:
        r["max"] = default
        findings.append(f"{what}: max raised to the default {default}")


def repair(recipe: dict, findings: list[str]) -> dict:
    """Make evidence from different sources agree, then drop whatever optional part still fails."""
    _widen(recipe["steps"], "steps", findings)
    _widen(recipe["cfg"], "cfg", findings)
    if "distilled" in recipe["cfg"]:
        _widen(recipe["cfg"]["distilled"], "distilled cfg", findings)
    allowed = recipe.get("scheduler", {}).get("subsample", {}).get("allowed_steps")
    if allowed and recipe["steps"]["default"] not in allowed:
        recipe["steps"] = {"default": allowed[-1], "min": min(allowed), "max": max(allowed)}
        findings.append(f"steps: default set to {allowed[-1]}, a step count the grid allows")
    for _ in range(8):  # each round removes at least one failing optional part
        problems = validate_recipe(recipe)
        if not problems:
            return recipe
        for p in problems:
            parts = p.pointer.strip("/").split("/")
            top = "/" + parts[0]
            target = "/".join(parts[:2]) if top in ("/scheduler", "/cfg") and len(parts) > 1 else parts[0]
            if "/" + target in REQUIRED or not target:
                continue
            _drop(recipe, target.split("/"))
            findings.append(f"dropped /{target}: {p.message}")
    return recipe


def _drop(doc: dict, parts: list[str]) -> None:
    node = doc
    for part in parts[:-1]:
        node = node.get(part, {})
    if isinstance(node, dict):
        node.pop(parts[-1], None)
