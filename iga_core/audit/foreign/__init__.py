"""Images made by other tools, read into a request `iga reproduce` can check and send.

One calling convention for every format: a reader module has `FORMAT` (its name), `detect(meta)` (does
the image carry this format's metadata?) and `read(meta)` (a `ForeignRequest`, or `ForeignUnreadable`
with what the image carries instead). `read_foreign(meta)` asks the readers in `READERS` order and returns
the first one's answer, or None when no reader recognises the image.

| reader | metadata read | source |
|---|---|---|
| `comfyui` | PNG text `prompt` (the API graph): KSampler / KSamplerAdvanced and the nodes they link to | ComfyUI nodes.py SaveImage |
| `invokeai` | PNG text `invokeai_metadata` (core metadata node) | InvokeAI image_files_disk.py:150-160, metadata.py |
| `novelai` | PNG text `Software` = "NovelAI", `Description`, `Comment` (JSON) | A1111 v1.10.1 images.py:806-815 |
| `swarmui` | `parameters` JSON with `sui_image_params` | SwarmUI T2IParamInput.cs:405-425 |
| `fooocus` | `parameters` JSON (scheme "fooocus") / JPEG EXIF UserComment + MakerNote | Fooocus meta_parser.py |

The request's names stay in the tool's own dialect (`dialect`), so the guard judges them with that tool's
semantics; `iga_core.vocab.translate` turns them into the names an A1111 / Forge payload needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from iga_core.errors import IgaInvalid

#: the request fields a reader may fill (GuardRequest's, without the host facts)
FIELDS = ("sampler", "schedule", "steps", "cfg", "distilled_cfg", "vae", "clip_skip", "width", "height",
          "denoising_strength")
#: nodes, links and values a reader walks at most (the metadata is untrusted)
MAX_NODES = 10_000
MAX_HOPS = 64
MAX_TEXT = 100_000


class ForeignUnreadable(IgaInvalid):
    """An image from another tool whose metadata carries no request iga can read (or is damaged)."""

    def __init__(self, fmt: str, message: str, hint: str) -> None:
        super().__init__(f"{fmt} image: {message}", hint)
        self.format = fmt


@dataclass(frozen=True)
class ForeignRequest:
    """What another tool's metadata says was run, as request fields in that tool's `dialect`."""

    format: str  # "ComfyUI", "InvokeAI", "NovelAI", "SwarmUI", "Fooocus"
    source: str  # where in the file it was read
    dialect: str | None  # vocabulary dialect of `fields["sampler"]` / `["schedule"]`; None: A1111 labels
    prompt: str = ""
    negative_prompt: str = ""
    seed: int | None = None
    fields: dict = field(default_factory=dict)
    checkpoint: str | None = None  # as the tool names it (a file name, a model name)
    notes: tuple[str, ...] = ()
    #: A1111 settings the format implies (NovelAI images: eta_noise_seed_delta 31337, as A1111's converter)
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"format": self.format, "source": self.source, "dialect": self.dialect, "prompt": self.prompt,
                "negative_prompt": self.negative_prompt, "seed": self.seed, "fields": dict(self.fields),
                "checkpoint": self.checkpoint, "notes": list(self.notes), "settings": dict(self.settings)}


def json_object(text: Any, fmt: str, what: str) -> dict:
    """`text` parsed as a JSON object, or ForeignUnreadable."""
    if not isinstance(text, str):
        raise ForeignUnreadable(fmt, f"its {what} is missing", "the metadata was stripped or damaged")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ForeignUnreadable(fmt, f"its {what} is not valid JSON ({str(exc)[:80]})",
                                "the metadata is damaged; open the image in the tool that made it") from None
    if not isinstance(value, dict):
        raise ForeignUnreadable(fmt, f"its {what} is JSON but not an object", "the metadata is damaged")
    return value


def parameters_json(meta) -> dict | None:
    """The `parameters` text as a JSON object (SwarmUI, Fooocus), or None when it is not one."""
    text = (meta.infotext or "").strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def number(value: Any, kind: type, *, low: float | None = None) -> Any:
    """An int / float from a JSON value (numbers, or numeric strings as Fooocus writes its seed), else None."""
    if isinstance(value, bool):
        return None
    try:
        out = kind(value) if not isinstance(value, str) else kind(value.strip())
    except (TypeError, ValueError, OverflowError):
        return None
    if kind is float and out != out:  # NaN
        return None
    if kind is float and out in (float("inf"), float("-inf")):
        return None
    return out if low is None or out >= low else None


def text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def _readers():
    from iga_core.audit.foreign import comfyui, fooocus, invokeai, novelai, swarmui

    return (swarmui, fooocus, comfyui, invokeai, novelai)


def detect_foreign(meta):
    """The reader module whose format the image carries, or None."""
    for reader in _readers():
        if reader.detect(meta):
            return reader
    return None


def read_foreign(meta) -> ForeignRequest | None:
    """The request another tool's metadata carries (ForeignUnreadable when it carries none), or None when
    no reader recognises the image."""
    reader = detect_foreign(meta)
    return None if reader is None else reader.read(meta)


READERS = ("swarmui", "fooocus", "comfyui", "invokeai", "novelai")
