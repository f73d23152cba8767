"""HTML for the panel's status and verdict boxes.

Every string that comes from a checkpoint, a recipe or an image goes through `esc` before it is placed in
HTML: a recipe is untrusted input (its `model_id` may be `<img src=x onerror=...>`, or a megabyte long, or
hold U+202E to make `safe‮exe.live` read `safeevil.exe`). `esc` neutralises control and bidi characters
(shown as visible escapes, `untrusted_text`), HTML-escapes, and cuts a long value to `SHOWN` characters
(a message iga wrote around such values to `MESSAGE`) with a details element that shows it whole
(scrolling, at most `WHOLE` characters).
"""

from __future__ import annotations

import html
from typing import Any

from iga_core.decision_log import KINDS as DECISION_KINDS
from iga_core.presets import preset_groups
from iga_core.recipe import Recipe, deprecation_notices
from iga_core.ui.ids import css_class
from iga_core.untrusted_text import shorten

KIND_LABELS = {
    "embedded": "Embedded recipe",
    "sidecar": "Sidecar recipe",
    "registry": "Registry recipe",
    "reconstructed": "Reconstructed recipe (not confirmed)",
    "none": "No recipe",
}
HASH_LABELS = {
    "verified": ("hashes verified", "ok"),
    "unverified": ("hashes not checked yet", "note"),
    "mismatch": ("hash MISMATCH: the recipe was made for other weights", "bad"),
}


SHOWN = 300  # characters of one value shown in place
MESSAGE = 2000  # characters of a message iga wrote (it may quote values from files) shown in place
WHOLE = 64_000  # characters shown when a long value is expanded (the file holds the rest)


def esc(value: Any, limit: int = SHOWN) -> str:
    """Untrusted text as safe HTML: neutralised, escaped, cut to `limit` characters behind a "show all"."""
    head, left = shorten(value, limit)
    out = html.escape(head, quote=True)
    if not left:
        return out
    whole, rest = shorten(value, WHOLE)
    note = f" … ({rest:,} more characters are in the file)" if rest else ""
    return (f'{out}<details class="{css_class("more")}"><summary>… {left:,} more characters: show all</summary>'
            f'<div class="{css_class("whole")}">{html.escape(whole, quote=True)}{note}</div></details>')


def _badge(text: str, tone: str) -> str:
    return f'<span class="{css_class("badge")} {css_class("badge", tone)}">{esc(text)}</span>'


def _size(size: Any) -> str:
    return f"{size.width}×{size.height}" if size is not None else ""


def _range(r: Any) -> str:
    shown = str(r.default)
    if r.min is not None and r.max is not None and r.min != r.max:
        return f"{shown} ({r.min}–{r.max})"
    return shown


def recipe_facts(recipe: Recipe) -> list[tuple[str, str]]:
    """(label, text) rows describing a recipe; the texts are NOT escaped yet."""
    rows: list[tuple[str, str]] = [("Model", recipe.model_id)]
    if recipe.title:
        rows.append(("Title", recipe.title))
    pred = recipe.prediction_type
    if recipe.architecture:
        pred = f"{pred} · {recipe.architecture}"
    rows.append(("Prediction", pred))
    rows.append(("Sampling", f"{recipe.sampler.name} · {recipe.scheduler.name}"))
    rows.append(("Steps / CFG", f"{_range(recipe.steps)} / {_range(recipe.cfg)}"))
    resolution = recipe.resolution
    if resolution is not None and (resolution.preferred or resolution.max):
        text = ", ".join(_size(p) for p in resolution.preferred or ())
        if resolution.max is not None:
            text += f" (max {_size(resolution.max)})"
        rows.append(("Resolution", text.strip()))
    if recipe.notes:
        rows.append(("Notes", recipe.notes))
    return rows


def pipelines_html(recipe: Recipe) -> str:
    """A recipe with pipelines (schema 1.1.0): one group per pipeline, its sampling, ranges and the presets
    that belong to it (the preset radio lists them in this order); "" for a one-pipeline recipe."""
    if not recipe.pipelines:
        return ""
    described = {pl.name: pl.description for pl in recipe.pipelines}
    groups = dict(preset_groups(recipe))
    rows = []
    for name, view in recipe.pipeline_views:
        sampling = f"{view.sampler.name} · {view.scheduler.name}"
        ranges = f"steps {_range(view.steps)}, CFG {_range(view.cfg)}"
        about = f" — {described[name]}" if described.get(name) else ""
        presets = ", ".join(groups.get(name, []))
        rows.append(f'<tr><th>{esc(name)}</th><td>{esc(sampling)}; {esc(ranges)}{esc(about)}'
                    f'<div class="{css_class("presets")}">presets: {esc(presets)}</div></td></tr>')
    return (f'<div class="{css_class("pipelines")}"><div class="{css_class("hint")}">This recipe has '
            f'{len(rows)} pipelines: a request that fits any of them is inside the recipe.</div>'
            f'<table class="{css_class("facts")}">{"".join(rows)}</table></div>')


def _problem_text(problem: Any) -> str:
    message = getattr(problem, "message", None)
    pointer = getattr(problem, "pointer", "")
    if message is None:
        return str(problem)
    return f"{pointer}: {message}" if pointer else str(message)


def _weight(weight: Any) -> str:
    return "" if weight is None else f"{weight:g}"


#: what each role of a composed part means, for the sources table
ROLE_LABELS = {
    "base": "base recipe",
    "replace": "replaces the sampling recipe",
    "narrow": "narrows the ranges",
    "inactive": "weight 0: inactive",
    "ignored": "ignored (see findings)",
}


def composition_html(composition: Any) -> str:
    """The sources of a composed recipe: each part with its weight and role, and the fields it supplied."""
    fields: dict[str, list[str]] = {}
    for field_name, part in (composition.sources or {}).items():
        fields.setdefault(part, []).append(field_name)
    rows = "".join(
        f"<tr><td>{esc(part.name)}</td><td>{esc(part.model_id or '')}</td><td>{esc(_weight(part.weight))}</td>"
        f"<td>{esc(ROLE_LABELS.get(part.role, part.role))}</td>"
        f"<td>{esc(', '.join(sorted(fields.get(part.name, ()))))}</td></tr>"
        for part in composition.parts)
    return (f'<table class="{css_class("sources")}"><caption>Composed from the prompt\'s LoRA tags</caption>'
            "<tr><th>Part</th><th>Model</th><th>Weight</th><th>Role</th><th>Fields</th></tr>"
            f"{rows}</table>")


def status_html(source: Any, notes: list[str] | None = None, error: Exception | None = None, *,
                composition: Any = None) -> str:
    parts = [f'<div class="{css_class("status")}">']
    if error is not None:
        parts.append(_badge("Recipe could not be read", "bad"))
        parts.append(f'<div class="{css_class("error")}">{esc(getattr(error, "message", error), MESSAGE)}</div>')
        hint = getattr(error, "hint", "")
        if hint:
            parts.append(f'<div class="{css_class("hint")}">{esc(hint, MESSAGE)}</div>')
    kind = getattr(source, "kind", "none") if source is not None else "none"
    own = getattr(source, "recipe", None) if source is not None else None
    recipe = composition.recipe if composition is not None else own
    if error is None:
        parts.append(_badge(KIND_LABELS.get(kind, kind), "none" if not own else "ok"))
        if own:
            text, tone = HASH_LABELS.get(getattr(source, "hash_status", ""), (getattr(source, "hash_status", ""), "note"))
            parts.append(_badge(text, tone))
        if composition is not None:
            parts.append(_badge("Composed with LoRA recipes", "warn" if composition.findings else "ok"))
    if composition is not None:
        parts.append(composition_html(composition))
    if recipe:
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in recipe_facts(recipe))
        parts.append(f'<table class="{css_class("facts")}">{rows}</table>')
        parts.append(pipelines_html(recipe))
    elif error is None and getattr(source, "document", None) is not None:
        parts.append(f'<div class="{css_class("hint")}">This checkpoint\'s IGA recipe is invalid, so it is not '
                     "used: the panel leaves your settings alone and nothing is checked. Fix it in the Recipes tab "
                     "(the problems are listed below).</div>")
    elif error is None:
        parts.append(f'<div class="{css_class("hint")}">This checkpoint carries no IGA recipe: '
                     "the panel leaves your settings alone and nothing is hidden.</div>")
    for problem in getattr(source, "problems", None) or ():
        parts.append(f'<div class="{css_class("warn")}">{esc(_problem_text(problem), MESSAGE)}</div>')
    parts.append(deprecations_html(getattr(source, "document", None) if source is not None else None))
    for note in notes or ():
        parts.append(f'<div class="{css_class("note")}">{esc(note, MESSAGE)}</div>')
    parts.append("</div>")
    return "".join(parts)


def deprecations_html(document: Any) -> str:
    """What the recipe document uses that the schema marks deprecated, and what replaces it (empty: nothing)."""
    items = deprecation_notices(document) if isinstance(document, dict) else []
    return "".join(f'<div class="{css_class("deprecated")}">{esc(n.advice(), MESSAGE)}</div>' for n in items)


VERDICT_STATES = ("ok", "warn", "blocked", "off", "none", "error")


def verdict_state(verdict: Any, error: Exception | None, *, has_recipe: bool) -> str:
    if error is not None and has_recipe:
        return "error"
    if verdict is None:
        return "none"
    if verdict.mode == "off":
        return "off"
    if not verdict.allowed:
        return "blocked"
    return "warn" if verdict.warnings else "ok"


_HEADLINES = {
    "ok": "Inside the recipe",
    "warn": "Allowed, with warnings",
    "blocked": "Blocked: Generate will refuse these settings",
    "off": "Guard off: nothing is checked",
    "none": "No recipe: nothing to check",
    "error": "The guard could not check these settings",
}


def _finding_row(finding: Any, state: str) -> str:
    return (
        f'<li class="{css_class("finding")} {css_class("finding", state)}">'
        f'<b>{esc(finding.rule_id)}</b> <i>{esc(finding.severity)}, {esc(state)}</i> — {esc(finding.reason, MESSAGE)}'
        + (f'<div class="{css_class("hint")}">{esc(finding.remedy, MESSAGE)}</div>' if finding.remedy else "")
        + "</li>"
    )


def host_facts_text(facts: Any) -> list[str]:
    """What the live verdict knew of the host's model (`iga_core.guard.HostFacts`) and what it could not know
    before Generate, as sentences; none without facts (the standalone app)."""
    if facts is None:
        return []
    out = []
    if facts.loaded:
        noise = {True: "zero-terminal-SNR", False: "default"}.get(facts.zero_terminal_snr, "unknown")
        read = [f"prediction type {facts.prediction_type or 'unknown'}", f"{noise} noise schedule",
                f"architecture {facts.architecture or 'unknown'}"]
        out.append(f"Judged with the loaded model as the host reads it ({facts.source or 'host'}): "
                   f"{', '.join(read)}.")
    if facts.later:
        out.append("Checked only at Generate: " + "; ".join(facts.later) + ".")
    return out


def verdict_html(verdict: Any, error: Exception | None = None, *, has_recipe: bool = True, facts: Any = None) -> str:
    state = verdict_state(verdict, error, has_recipe=has_recipe)
    parts = [
        f'<div class="{css_class("verdict")} {css_class("verdict", state)}" data-iga-state="{state}">',
        f'<div class="{css_class("verdict-head")}">{esc(_HEADLINES[state])}</div>',
    ]
    if state == "error":
        parts.append(f'<div class="{css_class("error")}">{esc(getattr(error, "message", error), MESSAGE)}</div>')
    if verdict is not None and state != "off":
        parts.append(f'<div class="{css_class("verdict-summary")}">{esc(verdict.summary(), MESSAGE)}</div>')
        rows = "".join(_finding_row(f, verdict.finding_state(f)) for f in verdict.findings)
        if rows:
            parts.append(f'<ul class="{css_class("findings")}">{rows}</ul>')
        parts.extend(f'<div class="{css_class("host-facts")}">{esc(line, MESSAGE)}</div>'
                     for line in host_facts_text(facts))
    parts.append("</div>")
    return "".join(parts)


def _rules(entry: dict) -> str:
    ids = [str(f.get("rule_id", "")) for f in entry.get("findings") or () if isinstance(f, dict)]
    return ", ".join(dict.fromkeys(i for i in ids if i))


def _checkpoint_name(entry: dict) -> str:
    checkpoint = entry.get("checkpoint")
    if isinstance(checkpoint, dict):
        return str(checkpoint.get("name") or checkpoint.get("title") or checkpoint.get("file") or "")
    return "" if checkpoint is None else str(checkpoint)


def _kind(entry: dict) -> str:
    kind = entry.get("kind")
    return kind if kind in DECISION_KINDS else "entry"  # a class name: never text from the file itself


def decisions_html(entries: Any, error: Exception | None = None) -> str:
    """The last decisions of the log (newest first) as a small table; every cell escaped (log entries hold
    checkpoint names and findings from untrusted recipes). `entries` None: the log is switched off."""
    parts = [f'<div class="{css_class("decisions")}"><div class="{css_class("decisions-head")}">Last decisions</div>']
    if error is not None:
        parts.append(f'<div class="{css_class("error")}">{esc(getattr(error, "message", error), MESSAGE)}</div>')
    rows = [e for e in entries or () if isinstance(e, dict)]
    if entries is None and error is None:
        parts.append(f'<div class="{css_class("hint")}">The decision log is off (setting iga_decision_log).</div>')
    elif not rows and error is None:
        parts.append(f'<div class="{css_class("hint")}">No blocks, warnings or overrides logged yet.</div>')
    if rows:
        body = "".join(
            f'<tr class="{css_class("decision", _kind(e))}"><td>{esc(e.get("time"))}</td>'
            f"<td>{esc(_checkpoint_name(e))}</td><td>{esc(e.get('outcome') or e.get('kind'))}</td>"
            f"<td>{esc(_rules(e))}</td></tr>"
            for e in reversed(rows))
        parts.append(f'<table class="{css_class("decisions-table")}"><tr><th>Time</th><th>Checkpoint</th>'
                     f"<th>Outcome</th><th>Rules</th></tr>{body}</table>")
    parts.append("</div>")
    return "".join(parts)


def host_notice_html(message: str) -> str:
    """What the panel says on a WebUI the extension does not know: that nothing is guarded, and why."""
    return f'<div class="{css_class("notice")}">{esc(message, MESSAGE)}</div>'


def notice_html(notice: Any) -> str:
    """The paste-back notice (`IGA notice` of a pasted infotext), escaped; empty when there is none."""
    if not notice:
        return ""
    return f'<div class="{css_class("notice")}">{esc(f"Pasted parameters: {notice}", MESSAGE)}</div>'
