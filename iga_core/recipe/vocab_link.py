"""The one place the recipe package reaches `iga_core.vocab` (sampler and schedule names).

Imported lazily: the recipe format does not need the vocabulary to load, and until the vocabulary
package is complete only the name checks are skipped, never anything else.
"""

from __future__ import annotations

from types import ModuleType


def optional_vocab() -> ModuleType | None:
    """`iga_core.vocab` when it is installed and complete, else None."""
    try:
        from iga_core import vocab
    except ModuleNotFoundError as exc:
        if exc.name in ("iga_core.vocab", "iga_core"):
            return None
        raise
    # A bare folder imports as a namespace package: nothing to ask until the package is complete.
    return vocab if hasattr(vocab, "resolve_sampler") and hasattr(vocab, "UnknownName") else None
