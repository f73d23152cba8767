"""Auto-configure: the concrete values a host should set for a recipe (or one of its presets), in that
host's own vocabulary, plus findings for what the host cannot honour.

A host is described by `HostCapabilities` (its sampler and schedule lists, as `/sdapi/v1/samplers` and
`/sdapi/v1/schedulers` give them, and a few feature flags). `A1111` and `FORGE` are built from the
vocabulary. When the host lacks the recipe's sampler or schedule, or its grid cannot reach the recipe's
timesteps, auto-configure looks for a substitute the recipe allows and the guard accepts; only when there
is none does it report a hard finding.

Finding ids (docs/guard.md "Auto-configure", registered in `iga_core.guard.rules.autoconfig`): IGA-C001
sampler, IGA-C002 schedule, IGA-C003 step grid of the sampler as the host runs it, IGA-C004 distilled CFG.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from iga_core import vocab
from iga_core.errors import IgaInvalid
from iga_core.guard import host_settings
from iga_core.guard.context import require_recipe
from iga_core.guard.engine import run_rules
from iga_core.guard.request import GuardRequest
from iga_core.guard.rules import DEFAULT_OUTCOME, RULES
from iga_core.guard.rules.grid import classify
from iga_core.guard.verdict import Finding
from iga_core.presets import CUSTOM, NATIVE, PARAM_KEYS, pipeline_recipe, resolve_preset
from iga_core.recipe import Recipe


class UnknownHost(IgaInvalid):
    """A host capability list names something the vocabulary does not know, or an unknown host key."""


@dataclass(frozen=True)
class HostCapabilities:
    """What a host can run. `samplers`/`schedules` are the host's own names (any dialect resolves);
    `dialect` is the vocabulary dialect values are spelled in for it; `host` the WebUI's key
    (iga_webui/hosts.json), which says how it runs its samplers where that is not A1111's (Forge Classic's and
    Neo's UniPC on the schedule's sigmas: `vocab.HOST_VARIANTS`); None: as A1111 / Forge run them."""

    name: str
    samplers: tuple[str, ...]
    schedules: tuple[str, ...]
    supports_distilled_cfg: bool = False
    dialect: str = "a1111"
    host: str | None = None
    sampler_ids: frozenset[str] = field(init=False, repr=False, compare=False)
    schedule_ids: frozenset[str] = field(init=False, repr=False, compare=False)
    #: (kind, id) -> the host's own first listed name of it
    own_names: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.dialect not in vocab.DIALECTS:
            raise UnknownHost(f"unknown dialect {self.dialect!r} for host {self.name!r}",
                              f"use one of {', '.join(vocab.DIALECTS)}")
        object.__setattr__(self, "samplers", tuple(self.samplers))
        object.__setattr__(self, "schedules", tuple(self.schedules))
        own: dict = {}
        for kind, names in (("sampler", self.samplers), ("schedule", self.schedules)):
            for name, ident in zip(names, self._ids(kind, names), strict=True):
                own.setdefault((kind, ident), name)
        object.__setattr__(self, "own_names", own)
        object.__setattr__(self, "sampler_ids", frozenset(i for k, i in own if k == "sampler"))
        object.__setattr__(self, "schedule_ids", frozenset(i for k, i in own if k == "schedule"))

    def _ids(self, kind: str, names) -> list[str]:
        ids = []
        for name in names:
            try:
                ids.append(vocab.lookup(kind, name).id)
            except vocab.UnknownName as exc:
                raise UnknownHost(f"host {self.name!r} lists an unknown {kind} {name!r}", exc.hint) from None
        return ids

    @classmethod
    def from_vocab(cls, name: str, dialect: str, **flags) -> HostCapabilities:
        """Every sampler and schedule the vocabulary records for `dialect`."""
        return cls(name, tuple(n for _, n, _ in vocab.names_in("sampler", dialect)),
                   tuple(n for _, n, _ in vocab.names_in("schedule", dialect)), dialect=dialect, **flags)

    @classmethod
    def of_running_host(cls, name: str, dialect: str, samplers, schedules, **flags) -> HostCapabilities:
        """A running WebUI's own dropdown lists. Names the vocabulary does not know (a sampler an extension
        adds) are left out: no recipe can name them. An empty list means the host did not say, so the
        vocabulary's list for `dialect` stands in."""
        known = {"sampler": _known("sampler", samplers), "schedule": _known("schedule", schedules)}
        fallback = cls.from_vocab(name, dialect, **flags)
        return cls(name, tuple(known["sampler"]) or fallback.samplers, tuple(known["schedule"]) or fallback.schedules,
                   dialect=dialect, **flags)

    @property
    def runs(self) -> str | None:
        """Whose sampler semantics apply: the host when it is a variant (`vocab.HOST_VARIANTS`), else None."""
        return self.host if self.host in vocab.HOST_VARIANTS else None

    def timestep_based(self, sampler_id: str) -> bool:
        """Does this host run the sampler on its own timesteps, ignoring the schedule?"""
        return vocab.lookup("sampler", sampler_id).in_dialect(self.runs).timestep_based

    def schedule_order(self) -> list[str]:
        """Schedule ids in the host's own list order (the order its dropdown shows)."""
        return list(dict.fromkeys(vocab.lookup("schedule", n).id for n in self.schedules))

    def spell(self, kind: str, name: str) -> str | None:
        """How this host writes a sampler or schedule (`name` in any dialect, or an id): the one spelling
        function for every value iga puts into a host's controls or `p`; None when the host has no such
        thing. Raises vocab.UnknownName for a name no dialect knows. Where the dialect has no name for it, the
        host's own listed name of the same identity (Forge Neo's ER SDE, Bong Tangent: known to the forge dialect
        only as aliases, since Forge does not list them)."""
        spelled = _spelling(kind, name, self.dialect)
        return spelled if spelled is not None else self.own_names.get((kind, vocab.lookup(kind, name).id))

    def to_dict(self) -> dict:
        return {"name": self.name, "dialect": self.dialect, "samplers": list(self.samplers),
                "schedules": list(self.schedules), "supports_distilled_cfg": self.supports_distilled_cfg,
                **({"host": self.host} if self.host else {})}


@lru_cache(maxsize=4096)
def _spelling(kind: str, name: str, dialect: str) -> str | None:
    return vocab.export_name(kind, name, dialect)


def _known(kind: str, names) -> list[str]:
    out = []
    for name in names or ():
        try:
            vocab.lookup(kind, name)
        except vocab.UnknownName:
            continue
        out.append(name)
    return out


A1111 = HostCapabilities.from_vocab("AUTOMATIC1111 v1.10.1", "a1111", supports_distilled_cfg=False)
FORGE = HostCapabilities.from_vocab("Forge", "forge", supports_distilled_cfg=True)
HOSTS = {"a1111": A1111, "forge": FORGE}


def host_capabilities(key: str) -> HostCapabilities:
    try:
        return HOSTS[key.lower()]
    except KeyError:
        raise UnknownHost(f"unknown host {key!r}", f"use one of {', '.join(HOSTS)}") from None


@dataclass(frozen=True)
class AutoConfig:
    """`values`: what to set (host spelling; None = leave as is); `noise_schedule` (when the recipe states
    zero terminal SNR) is the value of the host's noise-schedule option. `findings`: what the host cannot honour
    (hard: the recipe's result is out of reach; soft: a substitute or a missing feature; info: a note)."""

    host: str
    preset: str
    values: dict
    findings: tuple[Finding, ...] = ()

    @property
    def honoured(self) -> bool:
        return not any(f.severity == "hard" for f in self.findings)

    def to_dict(self) -> dict:
        return {"host": self.host, "preset": self.preset, "values": dict(self.values), "honoured": self.honoured,
                "findings": [f.to_dict() for f in self.findings]}


def _finding(rule_id: str, outcome: str, field_name: str, expected, actual, reason: str, remedy: str,
             fix: dict | None = None) -> Finding:
    """An auto-configure finding, minted through the rule registry: the outcome says what happened, the
    registry how serious that is."""
    return RULES[rule_id].mint(field_name, expected, actual, reason, remedy, fix, outcome=outcome)


def _accepts(recipe: Recipe, request: GuardRequest) -> bool:
    """The guard (standard mode) has no hard or soft finding for this request."""
    return not any(f.severity != "info" for f in run_rules(recipe, request))


def _request(values: dict, caps: HostCapabilities) -> GuardRequest:
    """The guard request of these values, run the way `caps`' host runs its samplers."""
    return GuardRequest(**{k: v for k, v in values.items() if k in PARAM_KEYS and v is not None}, host=caps.host)


def _choose_sampler(recipe: Recipe, caps: HostCapabilities, values: dict, wanted_id: str,
                    findings: list) -> str | None:
    """The recipe's sampler when the host has it, else the first one the recipe allows that the host has
    and the guard accepts with the preset's other values."""
    if wanted_id in caps.sampler_ids:
        return wanted_id
    wanted = vocab.lookup("sampler", wanted_id).label
    for alt in recipe.allowed_samplers():
        label = vocab.lookup("sampler", alt).label
        if alt in caps.sampler_ids and _accepts(recipe, _request({**values, "sampler": label}, caps)):
            findings.append(_finding("IGA-C001", "substituted", "sampler", wanted, label,
                                     f"{caps.name} has no {wanted} sampler; using {label}, which the recipe allows",
                                     f"use {label}", {"sampler": label}))
            return alt
    findings.append(_finding("IGA-C001", "missing", "sampler", wanted, None,
                             f"{caps.name} has no {wanted} sampler and none the recipe allows",
                             "run this model on a host that has it (Forge has more samplers than A1111)"))
    return None


def _schedule_candidates(recipe: Recipe, caps: HostCapabilities) -> list[str]:
    """Host schedules the recipe allows: its own first, then its allow list, then (no allow list) all."""
    ordered = recipe.allowed_schedules()
    if not recipe.allow_schedule_ids:
        ordered += [s for s in caps.schedule_order() if s not in ordered]
    return [s for s in ordered if s in caps.schedule_ids and s != vocab.AUTOMATIC
            and recipe.schedule_allowed(s)]


def _pins_schedule(recipe: Recipe) -> bool:
    """The recipe fixes a grid or lists the schedules it accepts: a different schedule changes the result."""
    return recipe.scheduler.pins_grid or bool(recipe.allow_schedule_ids)


def _choose_schedule(recipe: Recipe, caps: HostCapabilities, values: dict, wanted_id: str | None,
                     findings: list) -> str | None:
    """The recipe's schedule when the host has it (the resolved preset already passed the guard); else a
    host schedule giving the same grid (e.g. SGM Uniform for Forge's Turbo), else one the recipe lists."""
    if wanted_id in caps.schedule_ids:
        return wanted_id
    wanted = vocab.lookup("schedule", wanted_id).label if wanted_id else None
    accepted = [s for s in _schedule_candidates(recipe, caps)
                if _accepts(recipe, _request({**values, "schedule": vocab.lookup("schedule", s).label}, caps))]
    steps = values.get("steps")
    same_grid = [s for s in accepted
                 if steps and classify(recipe, s, int(steps), exact=True).kind in ("canonical", "subsample")]
    listed = [s for s in accepted if s in recipe.allow_schedule_ids]
    choice = (same_grid or listed or [None])[0]
    if choice is not None:
        label = vocab.lookup("schedule", choice).label
        how = "gives the same grid" if choice in same_grid else "is allowed by the recipe"
        findings.append(_finding("IGA-C002", "substituted", "schedule", wanted, label,
                                 f"{caps.name} has no {wanted} schedule; {label} {how}", f"use {label}",
                                 {"schedule": label}))
        return choice
    pinned = _pins_schedule(recipe)
    findings.append(_finding(
        "IGA-C002", "missing" if pinned else "unpinned", "schedule", wanted, None,
        f"{caps.name} has no {wanted} schedule and none that gives the same grid",
        "run this model on a host that has the schedule (Forge has Turbo and the AYS variants)"
        if pinned else "the host keeps its own schedule; results differ from the recipe's"))
    return None


#: dialects whose samplers `iga_core.guard.rules.grid.sampler_grid` models (their own timesteps, LCM's table)
_MODELLED_DIALECTS = ("a1111", "forge")


def _grid_misses(recipe: Recipe, values: dict, caps: HostCapabilities) -> list[Finding]:
    return [f for f in run_rules(recipe, _request(values, caps)) if f.rule_id == "IGA-H004"]


def _sampler_pool(recipe: Recipe, caps: HostCapabilities, sampler_id: str, *, within_recipe: bool) -> list[str]:
    """Samplers to try instead of `sampler_id`: the recipe's allow list when it has one (and
    `within_recipe`), else the host's samplers of the recipe's mode, the vocabulary's substitutes first."""
    info = vocab.lookup("sampler", sampler_id)
    if within_recipe and recipe.allow_sampler_ids:
        pool = recipe.allowed_samplers()
    else:
        mode = recipe.sampler_info.mode
        pool = [*info.substitutes, *(vocab.lookup("sampler", n).id for n in caps.samplers
                                      if vocab.lookup("sampler", n).mode == mode)]
    return [s for s in dict.fromkeys(pool) if s != sampler_id and s in caps.sampler_ids
            and (not within_recipe or recipe.sampler_allowed(s))]


def _pairs(recipe: Recipe, caps: HostCapabilities, sampler_ids: list[str]):
    """(sampler label, schedule label) pairs to try: a timestep sampler with Automatic, a k-diffusion one
    with the recipe's schedule first, then every host schedule the recipe allows."""
    for sid in sampler_ids:
        info = vocab.lookup("sampler", sid)
        if caps.timestep_based(sid):
            yield info.label, "Automatic" if vocab.AUTOMATIC in caps.schedule_ids else None
            continue
        for schedule_id in _schedule_candidates(recipe, caps):
            yield info.label, vocab.lookup("schedule", schedule_id).label


def _landing_pair(recipe: Recipe, caps: HostCapabilities, values: dict, sampler_ids: list[str], *,
                  within_recipe: bool = True) -> dict | None:
    """The first pair that the guard accepts (`within_recipe`) or that merely lands on the grid."""
    for sampler, schedule in _pairs(recipe, caps, sampler_ids):
        candidate = {**values, "sampler": sampler, "schedule": schedule}
        ok = (_accepts(recipe, _request(candidate, caps)) if within_recipe
              else not _grid_misses(recipe, candidate, caps))
        if ok:
            return candidate
    return None


def _land_on_grid(recipe: Recipe, caps: HostCapabilities, values: dict, findings: list) -> dict:
    """The chosen sampler and schedule, run the way A1111 / Forge run them (a timestep sampler's own
    timesteps, LCM's 50-step table, a dropped penultimate sigma), must land on the recipe's grid, exactly
    as the guard judges the values the host's sampler computes (IGA-H004). Else the first pair the recipe
    allows that lands there is used (IGA-C003 soft): the same sampler with another host schedule, then
    another sampler (the recipe's allow list, else the host's samplers of the recipe's mode, the
    vocabulary's substitutes first: DDIM -> Euler). None: IGA-C003 hard, naming a pair that would land
    if the recipe allowed it."""
    if caps.dialect not in _MODELLED_DIALECTS or values.get("sampler") is None or values.get("steps") is None:
        return values
    missed = _grid_misses(recipe, values, caps)
    if not missed:
        return values
    sampler_id = vocab.resolve_sampler(values["sampler"]).id
    label = values["sampler"]
    ran = missed[0].reason
    found = _landing_pair(recipe, caps, values, [sampler_id, *_sampler_pool(recipe, caps, sampler_id,
                                                                            within_recipe=True)])
    if found is not None:
        pair = f"{found['sampler']}" + (f" with {found['schedule']}" if found["schedule"] else "")
        findings.append(_finding(
            "IGA-C003", "substituted", "sampler", label, pair,
            f"{caps.name}'s {label} misses the recipe's step grid ({ran}); {pair} lands on it",
            f"use {pair}", {"sampler": found["sampler"], "schedule": found["schedule"]}))
        return found
    outside = _landing_pair(recipe, caps, values, _sampler_pool(recipe, caps, sampler_id, within_recipe=False),
                            within_recipe=False)
    hint = (f"; {outside['sampler']} with {outside['schedule']} at {values['steps']} steps would land on it: allow it "
            "in the recipe (constraints.allow_samplers) if the model takes it" if outside else "")
    findings.append(_finding(
        "IGA-C003", "missing", "sampler", label, None,
        f"{caps.name}'s {label} misses the recipe's step grid ({ran}) and no sampler the recipe allows lands on it",
        "run this model where the sampler takes the recipe's timesteps (ComfyUI custom sigmas, diffusers "
        f"timesteps=){hint}"))
    return values


def _is_automatic(schedule: str | None) -> bool:
    return schedule is None or vocab.lookup("schedule", schedule).id == vocab.AUTOMATIC


def auto_configure(recipe: Recipe, host: HostCapabilities, preset: str | None = None) -> AutoConfig:
    """The values `host` should set for `preset` (default Native) of `recipe`, in the host's spelling: what
    the panel pushes into the host's controls and what Generate fills into an API request's omitted fields."""
    name = preset or NATIVE
    if name.lower() == CUSTOM.lower():
        return AutoConfig(host.name, CUSTOM, {})
    # a pure function of the recipe, the host and the preset: worked out once per recipe (its memo)
    key = ("auto_configure", host, name)
    if (known := require_recipe(recipe).memo.get(key)) is not None:
        return AutoConfig(known.host, known.preset, dict(known.values), known.findings)
    config = _auto_configure(recipe, host, name)
    recipe.memo[key] = config
    return AutoConfig(config.host, config.preset, dict(config.values), config.findings)


def _auto_configure(recipe: Recipe, host: HostCapabilities, name: str) -> AutoConfig:
    params = resolve_preset(require_recipe(recipe), name)
    recipe = pipeline_recipe(recipe, name)  # the pipeline the preset belongs to decides what the host needs
    findings: list[Finding] = []
    values = {k: params.get(k) for k in PARAM_KEYS}

    sampler_id = _choose_sampler(recipe, host, values, vocab.resolve_sampler(params["sampler"]).id, findings)
    values["sampler"] = vocab.lookup("sampler", sampler_id).label if sampler_id else None
    if sampler_id is not None and host.timestep_based(sampler_id):
        values["schedule"] = "Automatic" if vocab.AUTOMATIC in host.schedule_ids else None
    elif sampler_id is not None and _is_automatic(params.get("schedule")) and vocab.AUTOMATIC in host.schedule_ids:
        values["schedule"] = "Automatic"  # the host resolves it to the sampler's default, as the recipe means
    elif sampler_id is not None:
        _, wanted = vocab.normalize(values["sampler"], params.get("schedule"), None, host.runs)
        schedule_id = _choose_schedule(recipe, host, values, wanted.id if wanted else None, findings)
        values["schedule"] = vocab.lookup("schedule", schedule_id).label if schedule_id else None
    values = _land_on_grid(recipe, host, values, findings)

    if values.get("distilled_cfg") is not None and not host.supports_distilled_cfg:
        findings.append(_finding("IGA-C004", DEFAULT_OUTCOME, "distilled_cfg", values["distilled_cfg"], None,
                                 f"{host.name} has no distilled CFG; the model runs at its built-in guidance",
                                 "use Forge to set distilled CFG"))
        values["distilled_cfg"] = None

    values["sampler"] = host.spell("sampler", values["sampler"]) if values["sampler"] else None
    values["schedule"] = host.spell("schedule", values["schedule"]) if values["schedule"] else None
    ztsnr = recipe.scheduler.zero_terminal_snr
    if isinstance(ztsnr, bool):
        # the host's noise-schedule option (A1111 / Forge sd_noise_schedule), which a script can set per request
        values["noise_schedule"] = host_settings.noise_schedule(host.dialect, ztsnr)
    return AutoConfig(host.name, params["preset"], values, tuple(findings))
