"""What a sampler or schedule name means: the records the vocabulary resolves names to, and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from iga_core.errors import IgaInvalid
from iga_core.vocab.dialects import DIALECT_TITLES, DIALECTS, HOST_DIALECT, KINDS, MODES, SEMANTICS_KEYS

__all__ = ["DIALECTS", "DIALECT_TITLES", "HOST_DIALECT", "KINDS", "MODES", "ConflictingNames", "NoHostSampler",
           "SamplerInfo", "SamplerSemantics", "ScheduleInfo", "UnknownDialect", "UnknownName", "VocabDataError"]


@dataclass(frozen=True)
class SamplerSemantics:
    """How one dialect runs a sampler name: whether it ignores the schedule type (steps on its own
    timesteps), the grid it then follows, what it really runs (ComfyUI's "ddim" is Euler), the noise it
    adds (mode, default eta) and how its host turns a schedule into steps (grid_options)."""

    dialect: str
    timestep_based: bool
    mode: str
    eta: float | None
    grid_schedule: str | None
    grid_options: dict = field(default_factory=dict, compare=False, hash=False)
    #: the sampler id this dialect actually runs under the name (None: the sampler itself)
    runs_as: str | None = None
    #: the schedule id "Automatic" runs here where it is not the record's `default_schedule` (Forge Classic's
    #: and Neo's DPM++ 2M SDE has no scheduler option: the model's own discretisation, Uniform); None: the record's
    automatic: str | None = None

    @property
    def honours_schedule(self) -> bool:
        return not self.timestep_based

    def to_dict(self) -> dict:
        return {"dialect": self.dialect, "timestep_based": self.timestep_based, "mode": self.mode, "eta": self.eta,
                "grid_schedule": self.grid_schedule, "grid_options": dict(self.grid_options),
                "runs_as": self.runs_as, **({"automatic": self.automatic} if self.automatic else {})}


@dataclass(frozen=True)
class SamplerInfo:
    """One sampling algorithm, whatever a dialect calls it.

    `default_schedule` is what "Automatic" means for this sampler (None for timestep samplers, which
    ignore the schedule); `explicit_default` says whether the host states it as a sampler option
    (DPM++ 2M -> Karras) or falls back to the model's own discretisation (Euler -> Uniform).
    """

    id: str
    label: str
    mode: str
    default_schedule: str | None
    timestep_based: bool
    explicit_default: bool
    names: dict[str, str | None] = field(default_factory=dict, compare=False)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    #: timestep samplers only: the schedule whose grid their own timesteps follow (DDIM -> "ddim")
    grid_schedule: str | None = field(default=None, compare=False)
    #: how the host's sampler turns a schedule into the steps it runs (A1111 / Forge sampler options):
    #: "discard_penultimate" (n+1 sigmas, the next-to-last dropped), "denoiser": "lcm" (LCM's 50-step
    #: table), "own_steps" (DPM fast / adaptive choose their steps between sigma_max and sigma_min)
    grid_options: dict = field(default_factory=dict, compare=False, hash=False)
    #: the k-diffusion samplers nearest in step (DDIM eta 0 -> Euler, LCM -> Euler a), tried first as a
    #: substitute that a schedule can put on a recipe's grid where the host's own grid misses it
    substitutes: tuple[str, ...] = field(default=(), compare=False)
    #: the eta A1111 / Forge pass by default (None: the sampler takes no eta)
    eta: float | None = field(default=None, compare=False)
    #: dialect -> how that dialect runs this name (every dialect present; built by the loader)
    semantics: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def hosts(self) -> tuple[str, ...]:
        """Dialects that have this sampler (a name to export)."""
        return tuple(d for d in DIALECTS if self.names.get(d))

    def in_dialect(self, dialect: str | None) -> SamplerSemantics:
        """How `dialect` runs this sampler (None: the WebUI hosts, A1111 / Forge); a host variant
        (`HOST_VARIANTS`: "forge-classic", "forge-neo") names the host that runs it differently."""
        found = self.semantics.get(dialect or HOST_DIALECT)
        if found is None:
            raise UnknownDialect(f"unknown dialect {dialect!r}", f"use one of {', '.join(SEMANTICS_KEYS)}")
        return found

    def ignores_schedule(self, dialect: str | None = None) -> bool:
        """Whether a schedule type set next to this sampler has no effect in `dialect`."""
        return self.in_dialect(dialect).timestep_based

    def all_names(self) -> tuple[str, ...]:
        return _all_names(self)

    def to_dict(self) -> dict:
        return {
            "kind": "sampler",
            "id": self.id,
            "label": self.label,
            "mode": self.mode,
            "default_schedule": self.default_schedule,
            "explicit_default": self.explicit_default,
            "timestep_based": self.timestep_based,
            "grid_schedule": self.grid_schedule,
            "grid_options": dict(self.grid_options),
            "substitutes": list(self.substitutes),
            "eta": self.eta,
            "hosts": list(self.hosts),
            "names": dict(self.names),
            "aliases": {d: list(v) for d, v in self.aliases.items()},
            "semantics": {d: s.to_dict() for d, s in self.semantics.items()
                          if s.to_dict() != {**self.semantics[HOST_DIALECT].to_dict(), "dialect": d}},
        }


@dataclass(frozen=True)
class ScheduleInfo:
    """One schedule type (A1111's "Schedule type"), whatever a dialect calls it."""

    id: str
    label: str
    names: dict[str, str | None] = field(default_factory=dict, compare=False)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    diffusers_approx: str | None = field(default=None, compare=False)
    #: its dialect names are recognised only when that dialect is named (they mean another grid elsewhere)
    scoped: bool = field(default=False, compare=False)
    #: dialect -> id of the schedule that gives the same grid there (A1111 Uniform is ComfyUI's normal)
    same_grid_as: dict = field(default_factory=dict, compare=False, hash=False)
    #: False for schedules whose sigmas depend on the model and image size (SwarmUI's ltxv, flux2, ...)
    grid_known: bool = field(default=True, compare=False)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(d for d in DIALECTS if self.names.get(d))

    def all_names(self) -> tuple[str, ...]:
        return _all_names(self)

    def to_dict(self) -> dict:
        return {
            "kind": "schedule",
            "id": self.id,
            "label": self.label,
            "hosts": list(self.hosts),
            "names": dict(self.names),
            "aliases": {d: list(v) for d, v in self.aliases.items()},
            "diffusers_approx": self.diffusers_approx,
            "same_grid_as": dict(self.same_grid_as),
            "grid_known": self.grid_known,
        }


def _all_names(info) -> tuple[str, ...]:
    """Label first, then each dialect's name and aliases, then the id (the order suggestions prefer)."""
    seen: dict[str, None] = {info.label: None}
    for d in DIALECTS:
        if info.names.get(d):
            seen[info.names[d]] = None
        for a in info.aliases.get(d, ()):
            seen[a] = None
    seen[info.id] = None
    return tuple(seen)


class UnknownName(IgaInvalid):
    """A sampler or schedule name that no dialect uses. Never mapped to a fallback."""

    def __init__(self, kind: str, name: object, suggestions: list[str] | tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.name = name
        self.suggestions = list(suggestions)
        hint = (
            f"did you mean {', '.join(repr(s) for s in self.suggestions)}?"
            if self.suggestions
            else f"run `iga vocab --kind {kind}` to list every known {kind} name"
        )
        super().__init__(f"unknown {kind} name {name!r}", hint)

    def to_dict(self) -> dict:
        return {**super().to_dict(), "kind": self.kind, "name": self.name, "suggestions": self.suggestions}


class NoHostSampler(UnknownName):
    """A diffusers scheduler configuration that no host sampler runs (DPM-Solver singlestep, DPM++ 3M without
    noise, ...): refused with the reason and the nearest sampler a host has."""

    def __init__(self, name: str, why: str, nearest: str | None = None) -> None:
        super().__init__("sampler", name, [nearest] if nearest else [])
        self.why = why
        self.nearest = nearest
        self.message = f"{name} has no A1111, Forge or ComfyUI sampler: {why}"
        self.hint = (f"the nearest host sampler is {nearest}; the result will differ" if nearest
                     else "pick a host sampler by hand (`iga vocab --kind sampler` lists them)")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "why": self.why, "nearest": self.nearest}


class ConflictingNames(IgaInvalid):
    """A combined sampler name ("DPM++ 2M Karras") names a schedule that contradicts the one given."""


class UnknownDialect(IgaInvalid):
    """A dialect or kind outside the fixed lists."""


class VocabDataError(IgaInvalid):
    """The shipped vocabulary data is inconsistent (a packaging bug, caught by the tests)."""
