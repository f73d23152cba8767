"""What each source can know. A source's own confidence says how sure it is of what it read; this module
asks whether what it read can be true of the model at all, once the model family is known:

- the model family is the most certain `/architecture` evidence, refined by the `/x-iga-model` evidence
  that agrees with it (`flux2`, `auraflow`, `sd2` + `768-v`, ...);
- a prediction type the family cannot have (`iga_core/recipe/data/model_families.json`) is not evidence:
  it is discounted and reported as a `Conflict`. The known case: kohya sd-scripts writes
  `modelspec.prediction_type = epsilon` into every model it does not handle as Flux (library/sai_model_spec.py
  build_metadata_dataclass), SD 3 / 3.5, Lumina and Chroma included, which are rectified-flow models;
- a family with a single possible prediction type implies it, as strongly as the family is known.
"""

from __future__ import annotations

from dataclasses import replace

from iga_core.recipe.aliases import family_info, is_family, possible_prediction_types
from iga_core.reconstruct.evidence import MODEL, Conflict, Evidence

SOURCE = "model-family"
STRUCTURAL = 0.7  # a family known at least this well overrules a prediction type it cannot have
IGNORED = 0.05  # the confidence left to evidence that cannot be true of the model
KOHYA = "kohya sd-scripts"
KOHYA_DEFAULT = ("kohya sd-scripts writes 'epsilon' into every model it does not handle as Flux, whatever "
                 "the model is (library/sai_model_spec.py)")  # fmt: skip


def model_family(evidence: list[Evidence]) -> tuple[str, Evidence | None]:
    """(family, the evidence it rests on): the most certain architecture, refined by the most certain
    model description that agrees with it."""
    votes = [e for e in evidence if e.pointer == "/architecture"]
    vote = max(votes, key=lambda e: e.confidence) if votes else None
    arch = vote.value if vote is not None else "other"
    described = [e for e in evidence if e.pointer == MODEL and isinstance(e.value, dict)
                 and is_family(str(e.value.get("family"))) and family_info(e.value["family"])["architecture"] == arch]  # fmt: skip
    if described:
        best = max(described, key=lambda e: e.confidence)
        return best.value["family"], vote if vote is not None and vote.confidence >= best.confidence else best
    return (arch if is_family(arch) else "other"), vote


def weigh(evidence: list[Evidence], family: str, vote: Evidence | None, findings: list[str],
          conflicts: list[Conflict]) -> list[Evidence]:  # fmt: skip
    """The evidence, with what cannot be true of `family` discounted (and reported), plus what the family
    itself implies."""
    possible = possible_prediction_types(family)
    if possible is None:
        return evidence
    title = family_info(family)["title"]
    strength = vote.confidence if vote is not None else 0.0
    out: list[Evidence] = []
    rejected: list[tuple[Evidence, str]] = []
    for e in evidence:
        if e.pointer != "/prediction_type" or e.value in possible or e.confidence <= IGNORED:
            out.append(e)
            continue
        kohya_default = e.writer == KOHYA and e.value == "eps"
        reason = f"{title} checkpoints are {' or '.join(possible)} models, never {e.value!r}"
        if kohya_default:
            reason += f"; {KOHYA_DEFAULT}"
        if strength >= STRUCTURAL or kohya_default:
            out.append(replace(e, confidence=IGNORED, detail=f"{e.detail}; ignored: not possible for {family}"))
            rejected.append((e, reason))
        else:  # the family itself is only a guess: the file's statement stands against it
            out.append(e)
            conflict = Conflict("/architecture", e, vote, f"{reason}, so the model family ({family}) is doubtful")
            conflicts.append(conflict)
            findings.append(conflict.message())
    if len(possible) == 1 and vote is not None:
        out.append(Evidence("/prediction_type", possible[0], SOURCE,
                            f"{title} checkpoints are {possible[0]} models ({vote.source}: {vote.detail})",
                            round(min(0.9, strength), 3)))  # fmt: skip
    for e, reason in rejected:
        candidates = [x for x in out if x.pointer == "/prediction_type" and x.value in possible]
        kept = max(candidates, key=lambda x: x.confidence) if candidates else None
        conflict = Conflict("/prediction_type", kept, e, reason)
        conflicts.append(conflict)
        findings.append(conflict.message())
    return out
