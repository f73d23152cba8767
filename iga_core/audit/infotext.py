"""The IGA fields of the infotext: one writer, one reader, a fixed key set.

The host writes `extra_generation_params` into the infotext's last line as `Key: value` pairs joined by
", " and passes each value through `quote()` (JSON-quotes it when it has `,` `:` or a newline);
`parse_generation_parameters` reads it back with a regex and `unquote()` (A1111 v1.10.1
modules/infotext_utils.py:16-17, 56-70, 269-281; modules/processing.py:812). A value survives that trip
unchanged only if it is non-empty, has no edge whitespace, does not start with `"`, differs from its key
and is not `<digits>x<digits>` (split into `Key-1`/`Key-2`). `to_infotext_fields` makes every value
survive: free text is cleaned of line breaks and control characters, and the few values the host would
still damage are pre-quoted as JSON, which the host's `unquote()` undoes. `from_infotext_params` is the
exact inverse and accepts what the host's parser returns.

Keys (all match the host's key regex `\\w[\\w \\-/]+`):

| key | value | example |
|---|---|---|
| `IGA` | audit version, guard mode, outcome, flags | `v1 standard ok`, `v1 audit audit advanced` |
| `IGA preset` | preset name (cleaned text) | `Fast` |
| `IGA overrides` | acknowledged rule ids, space separated | `IGA-S002 IGA-S004` |
| `IGA recipe` | first 12 hex digits of the recipe digest | `3f2a9c1b4d5e` |
"""

from __future__ import annotations

import contextlib
import json
import re
import unicodedata
from dataclasses import dataclass

from iga_core.audit.record import AUDIT_VERSION, SHORT_HASH
from iga_core.errors import IgaInvalid

KEY_STATUS = "IGA"
KEY_PRESET = "IGA preset"
KEY_OVERRIDES = "IGA overrides"
KEY_RECIPE = "IGA recipe"
INFOTEXT_KEYS = (KEY_STATUS, KEY_PRESET, KEY_OVERRIDES, KEY_RECIPE)

MODES = ("strict", "standard", "audit", "off")
OUTCOMES = ("ok", "warn", "override", "audit", "blocked", "off", "norecipe", "unchecked", "error")
FLAGS = ("advanced",)
MAX_PRESET = 200
RULE_ID = re.compile(r"^IGA-[A-Z][0-9]{3}$")
DIGEST = re.compile(r"^[0-9a-f]{8,64}$")

# The host's regexes, copied so the core can read an infotext string without the host
# (A1111 v1.10.1 modules/infotext_utils.py:16-18). tests/test_infotext*.py checks them against the mirror.
RE_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
RE_IMAGESIZE = re.compile(r"^(\d+)x(\d+)$")
# The host regex retries at every position of a long run of key characters, so its cost grows with the
# square of the run. Refuse lines whose estimated cost would take more than about half a second.
_RUN = re.compile(r"[\s\w\-/]+")
MAX_PARSE_COST = 20_000_000
MAX_INFOTEXT = 1024 * 1024


class InfotextInvalid(IgaInvalid):
    """An IGA infotext field (or an infotext string) cannot be read."""


@dataclass(frozen=True)
class IgaInfotext:
    """What the IGA infotext fields say. `present` is False when the infotext has none of them."""

    present: bool = False
    version: int | None = None
    mode: str | None = None
    outcome: str | None = None
    flags: tuple[str, ...] = ()
    preset: str | None = None
    overrides: tuple[str, ...] = ()
    recipe_digest: str | None = None

    @property
    def advanced(self) -> bool:
        return "advanced" in self.flags

    def to_dict(self) -> dict:
        return {"present": self.present, "version": self.version, "mode": self.mode, "outcome": self.outcome,
                "flags": list(self.flags), "preset": self.preset, "overrides": list(self.overrides),
                "recipe_digest": self.recipe_digest}


# ------------------------------------------------------------------------------------------------ writing


def clean_text(value: str) -> str:
    """Free text as it can appear in infotext: line breaks, control and format characters and unusual
    spaces become one space each, edges are trimmed, length is capped."""
    out = []
    for ch in value:
        if ch != " " and (ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")):
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out).strip()[:MAX_PRESET].strip()


def _host_quotes(value: str) -> bool:
    # A1111 infotext_utils.py:57: quote() JSON-encodes values with a comma, newline or colon
    return "," in value or "\n" in value or ":" in value


def protect(key: str, value: str) -> str:
    """Return the form of `value` to hand to the host so that quote() + parse give back `value`."""
    if _host_quotes(value):
        return value  # quote() JSON-encodes it and unquote() decodes it: exact
    if value and value[0] != '"' and value == value.strip() and value != key:
        return value  # written raw, read back raw
    # quote() would leave it raw but the parser would change it (strip it, unquote it, or read it as a
    # flag): pre-encode it as JSON, which unquote() undoes.
    return json.dumps(value, ensure_ascii=False)


def status_text(record: dict) -> str:
    guard = record["guard"]
    flags = ["advanced"] if guard.get("advanced") else []
    return " ".join([f"v{record['audit_version']}", guard["mode"], guard["outcome"], *flags])


def to_infotext_fields(record: dict) -> dict[str, str]:
    """The IGA fields for `p.extra_generation_params` (values always `str`; empty ones left out)."""
    fields = {KEY_STATUS: status_text(record)}
    preset = clean_text(record["preset"]) if record.get("preset") else ""
    if preset:
        fields[KEY_PRESET] = protect(KEY_PRESET, preset)
    overrides = [o["rule_id"] for o in record["guard"].get("overrides", [])]
    if overrides:
        fields[KEY_OVERRIDES] = " ".join(overrides)
    if record.get("recipe"):
        fields[KEY_RECIPE] = record["recipe"]["digest"][:SHORT_HASH]
    return fields


# ------------------------------------------------------------------------------------------------ reading


def _garbage(key: str, value: str, want: str) -> InfotextInvalid:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return InfotextInvalid(
        f"infotext field {key!r} has value {shown!r}, expected {want}",
        "the IGA fields were edited or damaged; paste the original image's parameters, or remove the field",
    )


def _value(params: dict, key: str) -> str | None:
    if key in params and params[key] is not None:
        return str(params[key])
    # the host's parser splits "<digits>x<digits>" into Key-1 / Key-2 (infotext_utils.py:274-277)
    first, second = params.get(f"{key}-1"), params.get(f"{key}-2")
    if first is not None and second is not None:
        return f"{first}x{second}"
    return None


def _parse_status(value: str) -> tuple[int | None, str | None, str, tuple[str, ...]]:
    parts = value.split()
    want = "'v<version> <mode> <outcome> [flags]', e.g. 'v1 standard ok'"
    if parts == ["error"]:
        return None, None, "error", ()  # the glue's last-resort marker when even the record failed
    if len(parts) < 3 or not re.fullmatch(r"v[0-9]{1,4}", parts[0]):
        raise _garbage(KEY_STATUS, value, want)
    version = int(parts[0][1:])
    mode, outcome, flags = parts[1], parts[2], tuple(parts[3:])
    if version > AUDIT_VERSION:
        return version, mode, outcome, flags  # newer writer: keep what it says, do not judge its words
    if mode not in MODES or outcome not in OUTCOMES or not set(flags) <= set(FLAGS):
        raise _garbage(KEY_STATUS, value, want)
    return version, mode, outcome, flags


def from_infotext_params(params: dict) -> IgaInfotext:
    """Read the IGA fields from parsed infotext params (the host's `parse_generation_parameters` result or
    `parse_infotext(text).params`). Missing keys are fine; a damaged IGA value raises `InfotextInvalid`."""
    status = _value(params, KEY_STATUS)
    preset = _value(params, KEY_PRESET)
    overrides = _value(params, KEY_OVERRIDES)
    digest = _value(params, KEY_RECIPE)
    if status is None and preset is None and overrides is None and digest is None:
        return IgaInfotext()
    version = mode = outcome = None
    flags: tuple[str, ...] = ()
    if status is not None:
        version, mode, outcome, flags = _parse_status(status)
    ids: tuple[str, ...] = ()
    if overrides is not None:
        ids = tuple(overrides.split())
        if not all(RULE_ID.match(i) for i in ids):
            raise _garbage(KEY_OVERRIDES, overrides, "rule ids like 'IGA-S002', separated by spaces")
    if digest is not None:
        digest = digest.strip().lower()
        if not DIGEST.match(digest):
            raise _garbage(KEY_RECIPE, digest, "8 to 64 hex digits of the recipe digest")
    if preset is not None:
        preset = clean_text(preset) or None
    return IgaInfotext(present=True, version=version, mode=mode, outcome=outcome, flags=flags,
                       preset=preset, overrides=ids, recipe_digest=digest)


@dataclass(frozen=True)
class InfotextParts:
    prompt: str
    negative_prompt: str
    params: dict[str, str]


def _check_parse_cost(line: str) -> None:
    cost = sum((m.end() - m.start()) ** 2 for m in _RUN.finditer(line))
    if cost > MAX_PARSE_COST:
        raise InfotextInvalid(
            "infotext parameter line has very long runs of text without separators; not parsing it",
            "a real infotext's last line is 'Key: value, Key: value, ...'; this one was not written by a WebUI",
        )


def parse_infotext(text: str) -> InfotextParts:
    """Split an infotext string the way the host's `parse_generation_parameters` does (its line and
    key/value loop, A1111 v1.10.1 infotext_utils.py:254-281), without the host's defaults, styles and
    back-compat rewrites. The last line holds the params only if the regex matches it 3 or more times."""
    if len(text) > MAX_INFOTEXT:
        raise InfotextInvalid(
            f"infotext is {len(text)} characters, more than the {MAX_INFOTEXT} allowed",
            "this text was not written by a WebUI",
        )
    *lines, lastline = text.strip().split("\n")
    _check_parse_cost(lastline)
    if len(RE_PARAM.findall(lastline)) < 3:
        lines.append(lastline)
        lastline = ""
    prompt, negative, done = "", "", False
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done = True
            line = line[16:].strip()
        if done:
            negative += ("" if negative == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    params: dict[str, str] = {}
    for key, value in RE_PARAM.findall(lastline):
        if not value:
            continue  # the host's loop fails on v[0] for an empty value and skips the key
        if value[0] == '"' and value[-1] == '"':
            with contextlib.suppress(ValueError):  # the host's unquote() keeps the text when not JSON
                value = json.loads(value)
        size = RE_IMAGESIZE.match(value)
        if size is not None:
            params[f"{key}-1"], params[f"{key}-2"] = size.group(1), size.group(2)
        else:
            params[key] = value
    return InfotextParts(prompt=prompt, negative_prompt=negative, params=params)
