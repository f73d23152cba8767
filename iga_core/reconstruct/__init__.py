"""Legacy reconstruction: a best-effort recipe for a checkpoint that carries none, from what is already
in and around the file. Every field says where it came from and how sure that is; the result is marked
"reconstructed" and is never written anywhere by this package (a person saves it: registry, sidecar,
stamp).

    reconstruct(checkpoint_path) -> Reconstruction(recipe, status, fields, evidence, findings, sources)

Sources (one module each in `sources/`): ModelSpec keys, kohya `ss_*` keys, marker tensors and tensor
layout, the `.yaml` config sidecar (data only), diffusers `scheduler_config.json` / `model_index.json`,
Civitai Helper's `.civitai.info`, the host's user-metadata `.json`, and the file name. Distilled models'
recipes and each family's usual settings are data (`data/*.json`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from iga_core.checkpoint.safetensors_io import CheckpointUnreadable
from iga_core.recipe import Problem, Recipe, validate_recipe
from iga_core.reconstruct.combine import assemble, choose, repair
from iga_core.reconstruct.context import context_for
from iga_core.reconstruct.evidence import PROFILE, Evidence
from iga_core.reconstruct.profiles import expand_profile, family_defaults
from iga_core.reconstruct.sources import SOURCES

STATUS = "reconstructed"


@dataclass(frozen=True)
class FieldProvenance:
    pointer: str
    value: object
    source: str
    detail: str
    confidence: float

    def to_dict(self) -> dict:
        return {"pointer": self.pointer, "value": self.value, "source": self.source, "detail": self.detail,
                "confidence": round(self.confidence, 3)}  # fmt: skip


@dataclass(frozen=True)
class Reconstruction:
    recipe: dict
    status: str = STATUS
    fields: tuple[FieldProvenance, ...] = ()  # the evidence each recipe field was taken from
    evidence: tuple[Evidence, ...] = ()  # everything that was found, winners and losers
    findings: tuple[str, ...] = ()  # conflicts, skipped inputs, assumptions
    sources: tuple[str, ...] = ()  # sources that contributed at least one piece of evidence
    problems: tuple[Problem, ...] = field(default=())  # validation problems left (empty in practice)

    def confidence(self, pointer: str) -> float | None:
        """Confidence of a field, or of the deepest reconstructed field above it ("/steps/default" -> "/steps")."""
        by_pointer = {f.pointer: f.confidence for f in self.fields}
        while pointer:
            if pointer in by_pointer:
                return by_pointer[pointer]
            pointer = pointer.rsplit("/", 1)[0]
        return None

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "recipe": self.recipe,
            "fields": [f.to_dict() for f in self.fields],
            "findings": list(self.findings),
            "sources": list(self.sources),
            "evidence": [e.to_dict() for e in self.evidence],
            "problems": [p.to_dict() for p in self.problems],
        }


def reconstruct(checkpoint_path: str | os.PathLike) -> Reconstruction:
    """Reconstruct a recipe for `checkpoint_path`. Raises `CheckpointUnreadable` when the file is missing
    and the header reader's typed errors when a .safetensors header is broken."""
    path = Path(checkpoint_path)
    if not path.is_file():
        raise CheckpointUnreadable(f"{path} is not a file", "check the checkpoint path")
    ctx = context_for(path)
    _ = ctx.header  # a broken header is an error, not a reconstruction
    findings = ctx.findings
    evidence: list[Evidence] = []
    for source in SOURCES:
        evidence += source.collect(ctx)

    family_votes = [e for e in evidence if e.pointer == "/architecture"]
    family = max(family_votes, key=lambda e: e.confidence).value if family_votes else "other"
    profiles = [e for e in evidence if e.pointer == PROFILE]
    expanded: list[Evidence] = []
    if profiles:
        expanded = expand_profile(_merge_profile_hints(profiles), findings)
        # The profile may name the family itself (schnell is Flux).
        family = next(
            (e.value for e in expanded if e.pointer == "/architecture" and not family_votes), family
        )
    defaults = family_defaults(family, findings)
    field_evidence = [e for e in evidence if e.pointer != PROFILE] + expanded + defaults

    chosen = choose(field_evidence, findings)
    recipe = assemble(chosen)
    recipe.setdefault("notes", "")
    recipe["notes"] = (
        f"Reconstructed by iga from {', '.join(sorted({e.source for e in chosen.values()}))}; "
        "check every field before saving it. " + recipe["notes"]
    ).strip()[:10000]
    recipe = repair(recipe, findings)
    problems = tuple(validate_recipe(recipe))
    if not problems:
        recipe = Recipe.from_dict(recipe).to_dict()  # the schema's key order, for people reading it
    used = {e.source for e in chosen.values()}
    fields = tuple(
        FieldProvenance(p, e.value, e.source, e.detail, e.confidence)
        for p, e in sorted(chosen.items())
        if _present(recipe, p)
    )
    return Reconstruction(
        recipe=recipe,
        fields=fields,
        evidence=tuple(evidence + expanded + defaults),
        findings=tuple(dict.fromkeys(findings)),
        sources=tuple(
            s for s in dict.fromkeys(e.source for e in evidence + expanded + defaults) if s in used
        ),
        problems=problems,
    )


def _merge_profile_hints(hints: list[Evidence]) -> Evidence:
    """The most confident profile, completed with the step count / CFG flag another hint for the same
    profile read (the title may say "Lightning" and only the file name "4step")."""
    best = max(hints, key=lambda e: e.confidence)
    same = sorted(
        (e for e in hints if e.value["profile"] == best.value["profile"]), key=lambda e: -e.confidence
    )
    n = next((e.value["n"] for e in same if e.value.get("n")), None)
    cfg = any(e.value.get("cfg") for e in same)
    if n == best.value.get("n") and cfg == bool(best.value.get("cfg")):
        return best
    return Evidence(
        best.pointer, {**best.value, "n": n, "cfg": cfg}, best.source, best.detail, best.confidence
    )


def _present(doc: dict, pointer: str) -> bool:
    node: object = doc
    for part in pointer.strip("/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


__all__ = ["STATUS", "Evidence", "FieldProvenance", "Reconstruction", "reconstruct"]
