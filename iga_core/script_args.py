"""The always-on script's arguments: one versioned dict through the single args slot.

The UI keeps it in one hidden component; API callers send it as
`"alwayson_scripts": {"iga": {"args": [{...}]}}`. Both arrive here as raw JSON (the hosts do no type
coercion), so this module is the one place that checks it: unknown keys and wrong types are refused with a
typed error instead of being ignored, because a misspelt override must not silently do nothing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from iga_core.errors import IgaInvalid

SCRIPT_ARGS_VERSION = 1
#: guard modes a caller may pick; `None` means "use the iga_guard_mode setting"
GUARD_MODES = ("strict", "standard", "audit", "off")
RULE_ID = re.compile(r"^IGA-[HSI][0-9]{3}$")
MAX_REASON = 500  # a reason is logged and written into images; keep it short
MAX_PRESET = 200

SCRIPT_ARGS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/sd-webui-iga/sd-webui-iga/script-args/v1",
    "title": "IGA always-on script args",
    "description": 'Pass as "alwayson_scripts": {"iga": {"args": [<this object>]}}. Omitted keys take their defaults.',
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "v": {"const": SCRIPT_ARGS_VERSION, "default": SCRIPT_ARGS_VERSION},
        "preset": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_PRESET,
            "default": "Native",
            "description": '"Native" (the recipe defaults), a recipe preset name, or "Custom" (keep the request as sent).',
        },
        "mode": {
            "enum": [None, *GUARD_MODES],
            "default": None,
            "description": "Guard mode for this request; null uses the iga_guard_mode setting.",
        },
        "overrides": {
            "type": "array",
            "items": {"type": "string", "pattern": RULE_ID.pattern},
            "uniqueItems": True,
            "default": [],
            "description": "Rule ids the caller acknowledges (each one is logged).",
        },
        "override_reasons": {
            "type": "object",
            "propertyNames": {"pattern": RULE_ID.pattern},
            "additionalProperties": {"type": "string", "maxLength": MAX_REASON},
            "default": {},
        },
        "advanced": {"type": "boolean", "default": False, "description": "The user opened the Advanced gate."},
    },
}


class ScriptArgsInvalid(IgaInvalid):
    """The script-args value is not a valid v1 args object."""


@dataclass(frozen=True)
class ScriptArgs:
    v: int = SCRIPT_ARGS_VERSION
    preset: str = "Native"
    mode: str | None = None
    overrides: tuple[str, ...] = ()
    override_reasons: dict[str, str] = field(default_factory=dict)
    advanced: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "preset": self.preset,
            "mode": self.mode,
            "overrides": list(self.overrides),
            "override_reasons": dict(self.override_reasons),
            "advanced": self.advanced,
        }


def _fail(message: str, hint: str = "") -> ScriptArgsInvalid:
    return ScriptArgsInvalid(
        f"IGA script args: {message}",
        hint or 'send an object like {"v": 1, "preset": "Native", "overrides": []}; see GET /iga/v1/args-schema',
    )


def _is_str(value: object) -> bool:
    return isinstance(value, str)


def parse_script_args(value: object) -> ScriptArgs:
    """Check and convert the raw args value. `None` (script omitted) and `""` (empty hidden textbox) give the
    defaults; a JSON string is decoded first, because a hidden Textbox and the API `infotext` field carry text."""
    if value is None or value == "":
        return ScriptArgs()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise _fail(f"not valid JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(value, dict):
        raise _fail(f"expected an object, got {type(value).__name__}")
    known = SCRIPT_ARGS_SCHEMA["properties"].keys()
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise _fail(f"unknown key(s) {', '.join(map(repr, unknown))}",
                    f"allowed keys: {', '.join(known)}; see GET /iga/v1/args-schema")

    version = value.get("v", SCRIPT_ARGS_VERSION)
    if type(version) is not int or version != SCRIPT_ARGS_VERSION:
        raise _fail(f"unsupported version v={version!r}", f"this extension reads v={SCRIPT_ARGS_VERSION}")

    preset = value.get("preset", "Native")
    if not _is_str(preset) or not preset.strip() or len(preset) > MAX_PRESET:
        raise _fail(f"'preset' must be a non-empty string of at most {MAX_PRESET} characters, got {preset!r}")

    mode = value.get("mode")
    if mode is not None and mode not in GUARD_MODES:
        raise _fail(f"'mode' must be null or one of {', '.join(GUARD_MODES)}, got {mode!r}")

    overrides = value.get("overrides", [])
    if not isinstance(overrides, list) or not all(_is_str(x) for x in overrides):
        raise _fail(f"'overrides' must be a list of rule ids, got {overrides!r}")
    bad_ids = [x for x in overrides if not RULE_ID.match(x)]
    if bad_ids:
        raise _fail(f"'overrides' has malformed rule id(s) {bad_ids!r}", "rule ids look like IGA-S002")
    if len(set(overrides)) != len(overrides):
        raise _fail("'overrides' lists a rule id twice")

    reasons = value.get("override_reasons", {})
    if not isinstance(reasons, dict):
        raise _fail(f"'override_reasons' must be an object of rule id -> text, got {type(reasons).__name__}")
    for rule, reason in reasons.items():
        if not RULE_ID.match(str(rule)):
            raise _fail(f"'override_reasons' key {rule!r} is not a rule id", "rule ids look like IGA-S002")
        if not _is_str(reason) or len(reason) > MAX_REASON:
            raise _fail(f"reason for {rule} must be text of at most {MAX_REASON} characters")

    advanced = value.get("advanced", False)
    if type(advanced) is not bool:
        raise _fail(f"'advanced' must be true or false, got {advanced!r}")

    return ScriptArgs(
        v=version,
        preset=preset,
        mode=mode,
        overrides=tuple(overrides),
        override_reasons=dict(reasons),
        advanced=advanced,
    )
