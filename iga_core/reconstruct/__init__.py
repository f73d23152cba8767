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
from iga_core.reconstruct.evidence import MODEL, PROFILE, Conflict, Evidence
from iga_core.reconstruct.profiles import expand_profile, family_defaults
from iga_core.reconstruct.sources import SOURCES
from iga_core.reconstruct.weigh import model_family, weigh

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
    conflicts: tuple[Conflict, ...] = ()  # sources that disagree, what was kept and why (also in findings)
    family: str = "other"  # the model family (finer than recipe.architecture: flux2, auraflow, ...)

    @property
    def model(self) -> dict:
        """What the file is beyond the recipe's `architecture`: {"kind", "family", "variant", "size"}."""
        value = self.recipe.get("x-iga-model")
        return value if isinstance(value, dict) else {"kind": "checkpoint", "family": self.family}

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
            "conflicts": [c.to_dict() for c in self.conflicts],
            "family": self.family,
            "model": self.model,
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

    conflicts: list[Conflict] = []
    profiles = [e for e in evidence if e.pointer == PROFILE]
    expanded = expand_profile(_merge_profile_hints(profiles), findings) if profiles else []
    field_evidence = [e for e in evidence if e.pointer != PROFILE] + expanded
    family, vote = model_family(field_evidence)
    field_evidence = weigh(_consistent(field_evidence, family), family, vote, findings, conflicts)
    defaults = family_defaults(family, findings, field_evidence)
    field_evidence += defaults

    chosen = choose(field_evidence, findings, conflicts)
    _describe_model(chosen, family)
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
        evidence=tuple(profiles + field_evidence),
        findings=tuple(dict.fromkeys(findings)),
        sources=tuple(s for s in dict.fromkeys(e.source for e in field_evidence) if s in used),
        problems=problems,
        conflicts=tuple(conflicts),
        family=family,
    )


def _consistent(evidence: list[Evidence], family: str) -> list[Evidence]:
    """Model descriptions of another architecture than the chosen one are dropped (the architecture
    conflict is reported on /architecture)."""
    from iga_core.recipe.aliases import family_info, is_family

    arch = family_info(family)["architecture"]
    return [e for e in evidence if e.pointer != MODEL or not isinstance(e.value, dict) or "family" not in e.value
            or (is_family(str(e.value["family"])) and family_info(e.value["family"])["architecture"] == arch)]


def _describe_model(chosen: dict[str, Evidence], family: str) -> None:
    """`x-iga-model` is written only when it says more than `architecture` does (a finer family, a
    variant, a LoRA); it always names the family chosen."""
    from iga_core.recipe.aliases import family_info

    won = chosen.get(MODEL)
    value = {"kind": "checkpoint", **(dict(won.value) if won is not None else {}), "family": family}
    if value["kind"] == "checkpoint" and family == family_info(family)["architecture"] and len(value) == 2:
        chosen.pop(MODEL, None)
        return
    if value.get("size") is None:
        value.pop("size", None)
    chosen[MODEL] = Evidence(MODEL, value, won.source if won else "model-family",
                             won.detail if won else f"the model family {family}",
                             won.confidence if won else 0.5)  # fmt: skip


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
