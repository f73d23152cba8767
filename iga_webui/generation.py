"""What the always-on script does to one generation, duck-typed on the host's `p` so it reads like the
hosts' lifecycle (A processing.py:821 / F 818 `before_process`, A 915 / F 907 `process`): `before_process` (server-side defaults, target checkpoint), `process` (guard,
audit record, block or warn). The per-generation state lives on `p.iga_state`."""

from __future__ import annotations

import dataclasses
import difflib
import logging
import traceback
from dataclasses import dataclass, field
from typing import Any

from iga_core import vocab
from iga_core.audit import build_record, civitai_hashes, to_infotext_fields
from iga_core.autoconfig import auto_configure
from iga_core.checkpoint.sources import RecipeSource
from iga_core.compose import ComposeError, Composition
from iga_core.errors import IgaError
from iga_core.guard import ControlUnit, GuardPolicy, GuardRequest, Verdict, judge
from iga_core.guard.host_settings import NOISE_SCHEDULE_OPTION
from iga_core.recipe import Recipe
from iga_core.script_args import ScriptArgs, parse_script_args
from iga_webui import (
    blocking,
    decisions,
    host,
    host_run,
    loras,
    page,
    passes,
    recipes,
    sent_names,
    settings,
    xyz,
)

log = logging.getLogger("iga")

#: the values the hosts' API request model gives a field the caller left out (the dataclass
#: defaults A processing.py:151-158, F distilled_cfg_scale F 143, and sampler_index "Euler" A api/models.py:104); a field still equal to these in an API request counts as omitted
API_DEFAULTS = {"sampler_name": "Euler", "steps": 50, "cfg_scale": 7.0, "width": 512, "height": 512,
                "distilled_cfg_scale": 3.5}
#: p attribute -> key of `iga_core.presets.resolve_preset`'s answer
PRESET_FIELDS = {"sampler_name": "sampler", "steps": "steps", "cfg_scale": "cfg", "width": "width",
                 "height": "height", "distilled_cfg_scale": "distilled_cfg"}
STATE_ATTR = "iga_state"


@dataclass
class IgaState:
    args: ScriptArgs = field(default_factory=ScriptArgs)
    checkpoint: Any = None
    source: RecipeSource | None = None
    policy: GuardPolicy | None = None
    request: GuardRequest | None = None
    verdict: Verdict | None = None
    record: dict | None = None
    applied: dict = field(default_factory=dict)
    failure: dict | None = None
    composition: Composition | None = None
    host_run: dict = field(default_factory=dict)  # what the host ran, per pass, and what IGA told it
    config: Any = None  # auto_configure's answer for this host, computed once (`_config`)
    told: set = field(default_factory=set)  # (pass, error) pairs already said in a comment
    asked: dict = field(default_factory=dict)  # host_run.executed_or_error's memo for this generation
    sent: dict | None = None  # names as the caller sent them (API body / its infotext)
    sent_fields: frozenset | None = None  # the API request fields the caller set (None: not known)

    @property
    def recipe(self) -> Recipe | None:
        """The recipe that governs this generation: the checkpoint's, or its composition with LoRA recipes."""
        if self.composition is not None and self.composition.recipe is not None:
            return self.composition.recipe
        return self.source.recipe if self.source is not None else None

    @property
    def subject(self):
        """What the judge weighs for the first pass: the composition (its conflicts count too), else the recipe."""
        if self.composition is not None and self.composition.recipe is not None:
            return self.composition
        return self.recipe

    @property
    def source_kind(self) -> str | None:
        if self.composition is not None and self.composition.recipe is not None:
            return "composed"
        return self.source.kind if self.source is not None and self.source.recipe is not None else None


def state_of(p: Any) -> IgaState | None:
    return getattr(p, STATE_ATTR, None)


def _say(p: Any, text: str) -> None:
    """Visible on both hosts: the comment lands under the image in the UI and in the API `info` JSON."""
    p.comment(f"[IGA] {text}")
    log.info("[IGA] %s", text)


def _fail(p: Any, st: IgaState, stage: str, exc: BaseException) -> None:
    """The extension itself failed: generation goes on unchecked, and says so (comment + audit)."""
    st.failure = {"message": f"{type(exc).__name__}: {exc}", "stage": stage}
    log.error("[IGA] internal error in %s:\n%s", stage, traceback.format_exc())
    xyz.note_failure(p, stage)  # inside a plot the grid's summary names the unchecked cell too
    _say(p, f"internal error in {stage}: {type(exc).__name__}: {exc}. This image was NOT checked against "
            "its recipe; the audit record marks it. Please report this with the console log.")


# --- before_process -------------------------------------------------------------------------------------

def before_process(p: Any, raw_args: Any) -> IgaState:
    st = IgaState()
    setattr(p, STATE_ATTR, st)
    try:
        st.args = parse_script_args(raw_args)
    except IgaError as exc:
        # A malformed args object is the caller's mistake: refuse the request rather than guess.
        blocking.block_sampling(p, f"{exc.message} ({exc.hint})", {"args_error": exc.to_dict()})
        return st
    try:
        st.checkpoint = host.target_checkpoint(p)
        _find_recipes(p, st, getattr(st.checkpoint, "filename", None))
    except ComposeError as exc:  # a malformed <lora:...> tag: the request itself is wrong
        blocking.block_sampling(p, f"{exc.message} ({exc.hint})", {"error": exc.to_dict()})
        return st
    except Exception as exc:  # e.g. an unreadable file: our problem, not the user's -- go on, unchecked
        _fail(p, st, "recipe lookup", exc)
        return st
    try:
        if not resolve_sent_names(p, st):
            return st
        if settings.get("iga_auto_apply") and st.recipe is not None:
            if getattr(p, "is_api", False):
                apply_api_defaults(p, st)
            apply_recipe_settings(p, st)
    except IgaError as exc:  # e.g. the caller named a preset the recipe does not have
        blocking.block_sampling(p, f"{exc.message} ({exc.hint})", {"error": exc.to_dict()})
    except Exception as exc:
        _fail(p, st, "before_process", exc)
    return st


def _resolve_name(kind: str, sent: str) -> tuple[str | None, str]:
    """(the host's name for `sent`, explanation) -- None when no host sampler/schedule has that name."""
    listed = host.sampler_map() if kind == "sampler" else host.schedule_map()
    if sent in listed:
        return sent, "listed"
    try:
        if kind == "sampler":
            info, _schedule = vocab.normalize(sent, None)
            ident = info.id
        else:
            ident = vocab.resolve_schedule(sent).id
    except vocab.ConflictingNames as exc:
        return None, exc.message
    except vocab.UnknownName as exc:
        # names this host lists first (seen in a real Forge Neo: "DPM++ 2N" got "DPM++ 2S a", a name of the
        # vocabulary Neo does not have), else the vocabulary's
        own = host.sampler_names() if kind == "sampler" else host.schedule_labels()
        close = difflib.get_close_matches(sent, own, n=3, cutoff=0.6) or list(exc.suggestions[:3])
        return None, (f"{kind} {sent!r} is not a known {kind} name (closest names this WebUI has: "
                      f"{', '.join(close) or 'none'})")
    name = host.capabilities().spell(kind, ident)
    if name is None or (kind == "sampler" and name not in listed):
        return None, f"{kind} {sent!r} exists in another tool, but this host has no such {kind}"
    return name, "alias"


def resolve_sent_names(p: Any, st: IgaState) -> bool:
    """No silent fallbacks: the names the caller sent (API body, its infotext; hires names as set) are
    resolved to the host's own names -- an alias another dialect uses runs as what it names (recorded), an
    unknown name is refused with 422 naming it. False when the request was refused."""
    sent = dict(sent_names.current() or {}) if getattr(p, "is_api", False) else {}
    st.sent_fields = sent.pop("fields", None)
    sent["hr_sampler"] = getattr(p, "hr_sampler_name", None) or None
    st.sent = {k: v for k, v in sent.items() if v}
    resolved = {}
    for key, attr, kind in (("sampler", "sampler_name", "sampler"), ("schedule", "scheduler", "schedule"),
                            ("hr_sampler", "hr_sampler_name", "sampler")):
        raw = st.sent.get(key)
        if not raw or raw in ("Use same sampler", "Automatic"):
            continue
        if kind == "sampler" and key == "sampler":
            host_sampler, _host_schedule = host.sampler_and_schedule(raw, None)
            if host_sampler in host.sampler_map() and raw.startswith(host_sampler):
                continue  # a host name, or a host name with a schedule suffix the host splits off itself
        name, why = _resolve_name(kind, raw)
        if name is None:
            blocking.block_sampling(p, f"IGA refused this generation: {why}. The host would have silently run "
                                       f"{'DPM++ 2M' if kind == 'sampler' else 'Automatic'} instead.",
                                    {"error": {"message": why, "field": key, "sent": raw}})
            return False
        if name != raw:
            setattr(p, attr, name)
            if key == "sampler" and getattr(p, "sampler_index", None):
                p.sampler_index = None
            resolved[key] = {"sent": raw, "ran_as": name}
            _say(p, f"{kind} {raw!r} is this host's {name!r}; running it as {name}")
    if resolved:
        st.host_run["names"] = resolved
    return True


def _find_recipes(p: Any, st: IgaState, checkpoint_file: str | None) -> None:
    """The checkpoint's recipe source, composed with the recipes of LoRAs tagged in the prompt."""
    st.source = recipes.lookup(checkpoint_file)
    st.composition = loras.compose_for(p, st.source.recipe if st.source is not None else None)
    if st.composition is not None and st.composition.recipe is not None:
        _say(p, loras.describe(st.composition))


def _config(st: IgaState):
    """The recipe's values for this host (`auto_configure`, the one function that spells a recipe for a
    host), computed once per generation."""
    if st.config is None:
        st.config = auto_configure(st.recipe, host.capabilities(), st.args.preset)
    return st.config


def _omitted(p: Any, st: IgaState, attr: str) -> bool:
    """Did the API caller leave `attr` out? By the fields the request set, when the wrapper saw them (so a
    sampler_name "Euler" sent on purpose stays Euler); else by the value still being the request model's
    default (A api/models.py:104, processing.py:151-158)."""
    if st.sent_fields is not None:
        return attr not in st.sent_fields and not (attr == "sampler_name" and "sampler_index" in st.sent_fields)
    return getattr(p, attr) == API_DEFAULTS[attr]


def apply_api_defaults(p: Any, st: IgaState) -> None:
    """Give API fields the caller omitted (still at the API model's defaults) the recipe's values, or the
    values of the preset named in the args. "Custom" keeps the request as sent."""
    if st.args.preset.lower() == "custom":
        return
    # the values in this host's own spelling, from the one function that spells a recipe for a host
    config = _config(st)
    values = config.values
    for attr, key in PRESET_FIELDS.items():
        if attr == "distilled_cfg_scale" and not _uses_distilled_cfg(st.recipe):
            continue
        wanted = values.get(key)
        if wanted is None or not hasattr(p, attr) or not _omitted(p, st, attr):
            continue
        # the hosts' fields are typed (int steps and sizes, float CFG); JSON may give 2 for 2.0
        wanted = wanted if attr == "sampler_name" else type(API_DEFAULTS[attr])(wanted)
        if getattr(p, attr) != wanted:
            setattr(p, attr, wanted)
            st.applied[attr] = wanted
    # the schedule follows the sampler: only when the sampler itself was omitted
    if "sampler_name" in st.applied or p.sampler_name == values.get("sampler"):
        schedule = values.get("schedule")
        if schedule and getattr(p, "scheduler", None) in (None, "Automatic") and schedule != p.scheduler:
            p.scheduler = schedule
            st.applied["scheduler"] = schedule
    if st.applied:
        listed = ", ".join(f"{k}={v}" for k, v in st.applied.items())
        _say(p, f"applied {config.preset} values for fields the request omitted: {listed}")
    for finding in config.findings:
        _say(p, f"{config.preset} on this host: {finding.advice()}")


def apply_recipe_settings(p: Any, st: IgaState) -> None:
    """Clip skip, VAE and the noise schedule the recipe sets, through the host's per-request override
    settings (applied after before_process and restored afterwards: A processing.py:823-858, F sysinfo.py
    set_config), in the UI and the API, whether or not the user has quicksettings. A value the request
    itself overrides, or a "Custom" preset, is left alone; what is applied is said in a comment and the audit."""
    if st.args.preset.lower() == "custom":
        return
    values = _config(st).values
    overrides = p.override_settings
    before = set(overrides)
    applied = {}
    clip = values.get("clip_skip")
    if clip and "CLIP_stop_at_last_layers" not in overrides and host.clip_skip() != int(clip):
        overrides["CLIP_stop_at_last_layers"] = int(clip)
        applied["clip_skip"] = int(clip)
    vae = host.vae_override(st.recipe.vae, overrides)
    if vae is not None:
        key, value, shown = vae
        overrides[key] = value
        applied["vae"] = shown
    noise = applied_noise_schedule(st.recipe, st.args.preset, values)
    if noise is not None and NOISE_SCHEDULE_OPTION not in overrides and host.option(NOISE_SCHEDULE_OPTION,
                                                                                      "Default") != noise:
        overrides[NOISE_SCHEDULE_OPTION] = noise
        applied["noise_schedule"] = noise
    for key in set(overrides) - before:
        host.restore_after(key)
    if applied:
        st.applied.update(applied)
        st.host_run["applied"] = applied
        listed = ", ".join(f"{k}={v}" for k, v in applied.items())
        _say(p, f"applied the recipe's settings for this generation (override settings, restored afterwards): "
                f"{listed}")


def applied_noise_schedule(recipe: Recipe | None, preset: str | None, values: dict | None = None) -> str | None:
    """The noise-schedule option value Generate sets for one request (`apply_recipe_settings`): the recipe's
    zero-terminal-SNR setting, in the host's option value; None where Generate leaves the host's setting
    alone (auto-apply off, a Custom preset, a recipe that says nothing about it). `values`: the recipe's
    auto-configured values, when the caller has them."""
    if not _applies(recipe, preset):
        return None
    return (_auto_values(recipe, preset) if values is None else values).get("noise_schedule")


def _applies(recipe: Recipe | None, preset: str | None) -> bool:
    """Does Generate apply the recipe's settings to a request with this preset (a recipe, auto-apply on, not
    Custom: `before_process`, `apply_recipe_settings`)?"""
    preset = preset or ScriptArgs().preset
    return recipe is not None and preset.lower() != "custom" and bool(settings.get("iga_auto_apply"))


def _auto_values(recipe: Recipe | None, preset: str | None) -> dict:
    """auto-configure's values for this recipe and preset, as Generate spells them here; {} where Generate
    applies nothing (`_applies`) or refuses the preset before applying any."""
    if not _applies(recipe, preset):
        return {}
    preset = preset or ScriptArgs().preset
    try:
        return auto_configure(recipe, host.capabilities(), preset).values
    except IgaError:  # a preset the recipe lacks: Generate refuses it before any setting is applied
        return {}


def applied_clip_skip(recipe: Recipe | None, preset: str | None, values: dict | None = None) -> int | None:
    """The clip skip Generate runs for a request that sets none (`apply_recipe_settings`): the recipe's, set
    per request, unless the preset is Custom or the recipe has none; then the host's Clip skip setting (2 by
    default on Neo, N shared_options.py:224: seen in a real Forge Neo, where the live verdict had no clip skip
    to judge on a page without its control while Generate warned IGA-S006). With auto-apply off Generate sets
    nothing (`before_process`), so the setting runs. `values`: `_auto_values`, when the caller has them."""
    wanted = (_auto_values(recipe, preset) if values is None else values).get("clip_skip")
    return int(wanted) if wanted else host.clip_skip()


def check_facts(checkpoint_file: str | None, recipe: Recipe | None, preset: str | None = None):
    """The host facts a check made before Generate judges with (the panel's live verdict, POST /iga/v1/check):
    the loaded model's, read by the reader Generate's request is built with (`host_run.loaded_facts`), under
    the noise schedule Generate will set for this recipe and preset, and the clip skip Generate runs where the
    request sets none (`applied_clip_skip`). A recipe that names no checkpoint gets no facts (it is judged as
    `iga check` judges it, on the request alone)."""
    values = _auto_values(recipe, preset)  # once for both
    facts = host_run.loaded_facts(checkpoint_file, noise_schedule=applied_noise_schedule(recipe, preset, values))
    if checkpoint_file is None:
        return facts
    clip_skip = applied_clip_skip(recipe, preset, values)
    return dataclasses.replace(facts, clip_skip=clip_skip) if clip_skip is not None else facts


# --- process --------------------------------------------------------------------------------------------

def _uses_distilled_cfg(recipe: Recipe | None) -> bool:
    """Is `p.distilled_cfg_scale` a distilled CFG here (F processing.py:739-742; none on A1111, Classic and
    reForge, a flow shift for some Neo families: `iga_webui.forks.guidance`)?"""
    return host.uses_distilled_cfg(recipe is not None and recipe.cfg.distilled is not None)


def request_from_p(p: Any, recipe: Recipe | None = None, st: IgaState | None = None) -> GuardRequest:
    """The effective settings after the host applied overrides and normalised names (valid in process()),
    with the host's facts: the loaded model's prediction type, noise schedule and architecture, the
    schedule the host's sampler will run, and the names as sent."""
    img2img = hasattr(p, "init_images")
    facts = host_run.model_facts(p.sd_model, p)
    sent = (st.sent or {}) if st is not None else {}
    executed, error = host_run.executed_or_error(p, memo=st.asked if st is not None else None)
    if st is not None:
        st.host_run["model"] = facts
        record_executed(p, st, "first", executed, error)
    # the host facts go in as the request is built (one validation, not a second one in HostFacts.apply)
    return GuardRequest(
        **host_run.host_facts(facts).request_fields(),
        executed=executed,
        sampler_sent=sent.get("sampler"),
        schedule_sent=sent.get("schedule"),
        sampler=p.sampler_name or None,
        schedule=getattr(p, "scheduler", None) or None,
        steps=int(p.steps),
        cfg=float(p.cfg_scale),
        distilled_cfg=float(p.distilled_cfg_scale) if _uses_distilled_cfg(recipe) else None,
        vae=host.effective_vae(p),
        clip_skip=host.clip_skip(),
        width=int(p.width),
        height=int(p.height),
        denoising_strength=float(p.denoising_strength) if img2img and p.denoising_strength is not None else None,
        control=_control(host.control_units(p)),
        hidden_controls=_hidden_controls(p),
    )


def _hidden_controls(p: Any) -> tuple[str, ...] | None:
    """The request fields the page of a UI generation has no control for (Forge Classic's schedule type
    without "Display the Scheduler Dropdown": `forks.schedule_control`; clip skip on a page without its
    control, `iga_webui.page`); None for the API, which sets every field, and where the page has them all."""
    if getattr(p, "is_api", False):
        return None
    hidden = (*(() if host.schedule_control_shown() else ("schedule",)),
              *(("clip_skip",) if page.lacks_clip_skip() else ()))
    return hidden or None


def _control(units: list[dict] | None) -> tuple[ControlUnit, ...] | None:
    """The host's enabled control units for the guard; a unit whose values the guard cannot take (another
    extension's odd arguments) is left out rather than failing the generation."""
    if units is None:
        return None
    out = []
    for unit in units:
        try:
            out.append(ControlUnit.from_dict(unit))
        except IgaError as exc:
            log.warning("[IGA] control unit %r not checked: %s", unit.get("model"), exc.message)
    return tuple(out)


def record_executed(p: Any, st: IgaState, name: str, executed, error: str | None) -> None:
    """The schedule the host's sampler computed for pass `name` into the audit's host_run; when the host's
    own code raised computing it, that error instead, said in a comment (the pass is judged on iga's model,
    and the host will raise the same when it samples)."""
    passes = st.host_run.setdefault("passes", {})
    errors = st.host_run.setdefault("errors", {})
    if executed is not None:
        passes[name] = executed.to_dict()
        errors.pop(name, None)
    else:
        passes.pop(name, None)
        errors[name] = error
    if not errors:
        st.host_run.pop("errors")


def _tell_errors(p: Any, st: IgaState) -> None:
    """Say once per pass that the host's sampler could not compute its schedule (recorded in host_run)."""
    for name, error in (st.host_run.get("errors") or {}).items():
        if (name, error) not in st.told:
            st.told.add((name, error))
            _say(p, f"the host's sampler could not compute the {name} pass's schedule ({error}); the pass is "
                    "judged on IGA's model of it, and the host will likely fail the same way when it samples")


#: set on a p by tools that must generate outside the recipe on purpose (the consistency report)
FORCED_MODE_ATTR = "iga_forced_mode"


def policy_for(args: ScriptArgs, p: Any = None) -> GuardPolicy:
    mode = getattr(p, FORCED_MODE_ATTR, None) or args.mode or settings.get("iga_guard_mode")
    return GuardPolicy(mode=mode, overrides=frozenset(args.overrides), override_reasons=dict(args.override_reasons))


def _checkpoint_facts(info: Any, source: RecipeSource | None) -> dict:
    weights = None
    if source is not None:
        hashes = source.recipe.hashes if source.recipe is not None else None
        weights = source.weights.actual or (hashes.weights_sha256 if hashes is not None else None)
    return {"name": getattr(info, "name_for_extra", None) or getattr(info, "name", None),
            "weights_sha256": weights, "model_hash": getattr(info, "shorthash", None)}


#: what the audit record's params hold of a request (the prediction type is the model's: host_run records it)
_AUDIT_FIELDS = tuple(k for k in GuardRequest.REQUEST_FIELDS if k != "prediction_type")


def _audit_params(p: Any, request: GuardRequest | None) -> dict:
    params = {}
    if request is not None:  # the request's own fields only (not `to_dict`: it converts the executed grid)
        for key in _AUDIT_FIELDS:
            value = getattr(request, key)
            if value is not None:
                params[key] = value
    seeds = getattr(p, "all_seeds", None) or []
    if seeds:
        params["seed"] = int(seeds[0])
        params["seeds"] = [int(s) for s in seeds]
    return params


def write_record(p: Any, st: IgaState) -> None:
    st.record = build_record(
        params=_audit_params(p, st.request), recipe=st.recipe, verdict=st.verdict, preset=st.args.preset,
        policy=st.policy, host=host.host_info(), checkpoint=_checkpoint_facts(st.checkpoint, st.source),
        source=st.source_kind,
        advanced=st.args.advanced, failure=st.failure, host_run=st.host_run or None,
    )
    p.extra_generation_params.update(to_infotext_fields(st.record))
    _original_model_hash(p, st)


def _original_model_hash(p: Any, st: IgaState) -> None:
    """A stamped checkpoint's pre-stamp AutoV2 as CivitAI reads it (`Hashes: {"model": …}`), beside the host's
    own Model hash, so CivitAI still links the image to the model page (iga_core.audit.civitai_hashes)."""
    source = st.source
    hashes = source.recipe.hashes if source is not None and source.recipe is not None else None
    if hashes is None or source.hash_status == "mismatch":
        return
    original = civitai_hashes.original_model_hash(source.kind, hashes.source_file_sha256,
                                                  getattr(st.checkpoint, "shorthash", None))  # fmt: skip
    if original is None:
        return
    value = civitai_hashes.merged(p.extra_generation_params.get(civitai_hashes.KEY), original)
    if value is None:
        log.info("[IGA] %s is already set by another extension; the original model hash %s was not added",
                 civitai_hashes.KEY, original)
        return
    p.extra_generation_params[civitai_hashes.KEY] = value  # a dict: the host writes it as raw JSON


def process(p: Any, raw_args: Any) -> IgaState:
    st = state_of(p) or before_process(p, raw_args)
    if blocking.is_blocked(p):
        return st
    try:
        loaded = host.loaded_checkpoint()
        if loaded is not None and getattr(loaded, "filename", None) != getattr(st.checkpoint, "filename", None):
            # Forge loaded lazily, or an override switched models: judge against what actually runs
            st.checkpoint = loaded
            _find_recipes(p, st, loaded.filename)
        st.policy = policy_for(st.args, p)
        st.request = request_from_p(p, st.recipe, st)
        judge_generation(p, st)
        write_record(p, st)
    except Exception as exc:
        _fail(p, st, "process", exc)
        try:
            write_record(p, st)
        except Exception:  # the comment above already told the user; the infotext still says "error"
            log.exception("[IGA] the audit record could not be written either")
            p.extra_generation_params["IGA"] = "error"
        return st
    try:
        report(p, st)
    except Exception as exc:
        _fail(p, st, "report", exc)
        if st.verdict is not None and not st.verdict.allowed:  # the refusal stands even if showing it failed
            blocking.block_sampling(p, "IGA refused this generation.\n" + st.verdict.message())
    if not blocking.is_blocked(p) and not xyz.in_plot(p):
        hand_over(p, st)
    return st


def judge_generation(p: Any, st: IgaState) -> None:
    """The one judge on this generation: the first pass's composition or recipe, and its extra passes."""
    extra = passes.extra_passes(p, st.recipe, st.request, st.host_run)
    _tell_errors(p, st)
    st.verdict = judge(st.subject, st.request, st.policy, extra)


# --- the p.sample hand-over ------------------------------------------------------------------------------

def hand_over(p: Any, st: IgaState) -> None:
    """Check again where the host hands over to its sampler: `p.sample` runs after the noise-schedule
    override (A processing.py:985; F swaps the predictor's sigmas for zero terminal SNR only around it,
    F 982-996) and `sample_hr_pass` after the hires checkpoint is loaded (A 1359-1362). The schedule the
    host's sampler computes there is recorded; if it differs from what process() judged, it is judged
    again and a refusal raises before any denoising (host-api.md §4)."""
    original_sample = p.sample

    def sample(*args: Any, **kwargs: Any):
        _recheck(p, st, hires=False)
        return original_sample(*args, **kwargs)

    p.sample = sample
    original_hr = getattr(p, "sample_hr_pass", None)
    if original_hr is not None and getattr(p, "enable_hr", False):
        def sample_hr_pass(*args: Any, **kwargs: Any):
            _recheck(p, st, hires=True)
            return original_hr(*args, **kwargs)

        p.sample_hr_pass = sample_hr_pass


def _recheck(p: Any, st: IgaState, *, hires: bool) -> None:
    if st.request is None:
        return
    name = "hires" if hires else "first"
    try:
        facts = host_run.model_facts(p.sd_model, p)
    except Exception as exc:
        _fail(p, st, f"{name} pass hand-over", exc)
        return
    asked_before = st.asked.get(hires)
    executed, error = host_run.executed_or_error(p, hires=hires, memo=st.asked)
    if not hires and asked_before is not None and st.asked[hires] is asked_before and facts == st.host_run.get("model"):
        return  # nothing the schedule depends on changed since process() judged it: the verdict stands
    judged = ((st.host_run.get("passes") or {}).get(name), (st.host_run.get("errors") or {}).get(name))
    record_executed(p, st, name, executed, error)
    changed = judged != (executed.to_dict() if executed is not None else None, error)
    if not hires:
        changed = changed or facts != st.host_run.get("model")
        st.host_run["model"] = facts
        st.request = dataclasses.replace(st.request, executed=executed, prediction_type=facts["prediction_type"],
                                         prediction_set_by=facts.get("prediction_set_by"),
                                         zero_terminal_snr=facts["zero_terminal_snr"],
                                         architecture=facts["architecture"])
    else:
        st.host_run["hires_model"] = facts
        changed = True  # the hires checkpoint is loaded only now: judge the pass on it
    if changed and st.policy is not None:
        judge_generation(p, st)
    write_record(p, st)
    if st.verdict is not None and not st.verdict.allowed:
        message = "IGA refused this generation.\n" + st.verdict.message()
        log.warning("[IGA] %s", message)
        decisions.append(p, st.record)
        raise blocking.GuardBlocked(message, {"verdict": st.verdict.to_dict(), "audit": st.record})


def report(p: Any, st: IgaState) -> None:
    """Block, warn and log according to the verdict (the mode is already applied by the guard)."""
    verdict = st.verdict
    if st.source is not None and st.source.problems:
        for problem in st.source.problems:
            _say(p, f"recipe source: {problem}")
    if verdict is None:
        return
    xyz.note_cell(p, verdict, st.record["guard"]["outcome"] if st.record else "unchecked")
    if not verdict.allowed:
        message = "IGA refused this generation.\n" + verdict.message()
        if xyz.in_plot(p):  # one refused cell must not abort the whole plot: it becomes a labelled tile
            xyz.block_cell(p, verdict)
        else:
            blocking.block_sampling(p, message, {"verdict": verdict.to_dict(), "audit": st.record})
        log.warning("[IGA] %s", message)
        decisions.append(p, st.record)  # no image will follow: log the block now
        return
    prefix = "audit only, not enforced: " if verdict.mode == "audit" else ""
    for f in verdict.warnings:
        _say(p, f"{prefix}{f.rule_id} ({f.severity}) {f.advice()}")
    reasons = st.policy.override_reasons if st.policy else {}
    for f in verdict.overridden:
        reason = reasons.get(f.rule_id) or "no reason given"
        _say(p, f"override {f.rule_id} acknowledged ({f.field}): {reason}")


def postprocess(p: Any, processed: Any) -> None:
    """After the images exist: log warnings, overrides and errors with the first saved file."""
    st = state_of(p)
    if st is None or blocking.is_blocked(p):
        return
    saved = [getattr(im, "already_saved_as", None) for im in getattr(processed, "images", [])]
    decisions.append(p, st.record, next((s for s in saved if s), None))
