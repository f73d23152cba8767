"""The sampler/schedule vocabulary: host coverage, aliases, combined names, Automatic, timestep samplers,
unknown names (never a fallback) and export round trips per dialect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iga_core import vocab
from iga_core.errors import IgaInvalid
from iga_core.vocab.legacy import legacy_only_alias
from iga_core.vocab.model import SamplerInfo
from iga_core.vocab.table import _index, load_table

FIXTURES = Path(__file__).parent / "fixtures"
HOSTS = {h: json.loads((FIXTURES / f"host_samplers_{h}.json").read_text(encoding="utf-8")) for h in ("a1111", "forge")}

# ComfyUI comfy/samplers.py (2025): KSAMPLER_NAMES + ["ddim", "uni_pc", "uni_pc_bh2"], and SCHEDULER_NAMES
COMFY_SAMPLERS = [
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2", "exp_heun_2_x0",
    "exp_heun_2_x0_sde", "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp", "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu", "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm",
    "lcm", "ipndm", "ipndm_v", "deis", "res_multistep", "res_multistep_cfg_pp", "res_multistep_ancestral",
    "res_multistep_ancestral_cfg_pp", "gradient_estimation", "gradient_estimation_cfg_pp", "er_sde", "seeds_2",
    "seeds_3", "sa_solver", "sa_solver_pece", "ddim", "uni_pc", "uni_pc_bh2",
]
COMFY_SCHEDULERS = ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
                    "linear_quadratic", "kl_optimal"]


def _host_samplers():
    return [(h, s) for h, d in HOSTS.items() for s in d["samplers"]]


def _host_schedulers():
    return [(h, s) for h, d in HOSTS.items() for s in d["schedulers"]]


# --- host coverage -------------------------------------------------------------------------------------

def test_fixtures_are_the_hosts_lists():
    assert len(HOSTS["a1111"]["samplers"]) == 20 and len(HOSTS["a1111"]["schedulers"]) == 12
    assert len(HOSTS["forge"]["samplers"]) == 25 and len(HOSTS["forge"]["schedulers"]) == 16
    assert all("source" in d and "commit" in d["source"] for d in HOSTS.values())


@pytest.mark.parametrize(("host", "entry"), _host_samplers(), ids=lambda v: v if isinstance(v, str) else v["name"])
def test_every_host_sampler_name_and_alias_resolves_to_one_identity(host, entry):
    info = vocab.resolve_sampler(entry["name"])
    assert vocab.export_name("sampler", info.id, host) == entry["name"]
    for alias in entry["aliases"]:
        assert vocab.resolve_sampler(alias).id == info.id
        assert alias in info.aliases[host]
    # the host's own default-schedule option is what Automatic means
    assert info.explicit_default == ("scheduler" in entry["options"])
    if "scheduler" in entry["options"]:
        assert info.default_schedule == entry["options"]["scheduler"]


@pytest.mark.parametrize(("host", "entry"), _host_schedulers(), ids=lambda v: v if isinstance(v, str) else v["name"])
def test_every_host_scheduler_name_label_and_alias_resolves(host, entry):
    info = vocab.resolve_schedule(entry["label"])
    assert vocab.resolve_schedule(entry["name"]).id == info.id
    for alias in entry["aliases"] or ():
        assert vocab.resolve_schedule(alias).id == info.id
    assert vocab.export_name("schedule", info.id, host) == entry["label"]  # the UI, p.scheduler and infotext use labels


@pytest.mark.parametrize("host", ["a1111", "forge"])
def test_vocabulary_claims_no_host_name_the_host_lacks(host):
    assert {s.names[host] for s in vocab.all_samplers() if s.names[host]} == {s["name"] for s in HOSTS[host]["samplers"]}
    assert {s.names[host] for s in vocab.all_schedules() if s.names[host]} == {s["label"] for s in HOSTS[host]["schedulers"]}


NEO = json.loads((FIXTURES / "host_samplers_forge-neo.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("entry", NEO["samplers"], ids=lambda e: e["name"])
def test_every_sampler_a_real_forge_neo_lists_resolves(entry):
    """Seen in a real Forge Neo: its own 'ER SDE' (its default for Anima) was refused as an unknown name
    (IGA-H006), the sampler the user picked from the host's own list. Every name and alias Neo lists now
    resolves in the forge dialect, to the sampler Neo runs (its k-diffusion function)."""
    info = vocab.resolve_sampler(entry["name"], "forge")
    for alias in entry["aliases"] or ():
        if legacy_only_alias(alias) is not None:
            # A1111 before 1.9 meant another schedule by it (k_dpmpp_2m_sde_ka); Neo's samplers_map turns it into
            # its own name before any hook runs, so the guard sees the name
            assert legacy_only_alias(alias).sampler.id == info.id
            continue
        assert vocab.resolve_sampler(alias, "forge").id == info.id


@pytest.mark.parametrize("entry", NEO["schedulers"], ids=lambda e: e["label"])
def test_every_schedule_a_real_forge_neo_lists_resolves(entry):
    info = vocab.resolve_schedule(entry["label"], "forge")
    assert vocab.resolve_schedule(entry["name"], "forge").id == info.id


def test_forge_only_names_are_marked_forge_only():
    for name in ("HeunPP2", "IPNDM", "IPNDM_V", "DEIS", "DDPM"):
        info = vocab.resolve_sampler(name)
        assert info.names["a1111"] is None and info.names["forge"] == name
    for name in ("Turbo", "Align Your Steps GITS", "Align Your Steps 11", "Align Your Steps 32"):
        info = vocab.resolve_schedule(name)
        assert vocab.export_name("schedule", info.id, "a1111") is None
        assert vocab.export_name("schedule", info.id, "forge") == name


@pytest.mark.parametrize("name", COMFY_SAMPLERS)
def test_every_comfyui_sampler_resolves(name):
    info = vocab.resolve_sampler(name)
    assert name == info.names["comfyui"] or name in info.aliases.get("comfyui", ())


@pytest.mark.parametrize("name", COMFY_SCHEDULERS)
def test_every_comfyui_scheduler_resolves(name):
    assert vocab.export_name("schedule", vocab.resolve_schedule(name).id, "comfyui") == name


@pytest.mark.parametrize(("name", "expected"), [
    ("k_dpmpp_2m", "dpmpp_2m"), ("k_euler_a", "euler_a"), ("k_euler_ancestral", "euler_a"),
    ("sample_dpmpp_2m", "dpmpp_2m"), ("sample_euler_ancestral", "euler_a"), ("k_lcm", "lcm"),
    ("euler_ancestral", "euler_a"), ("dpmpp_2m_sde_gpu", "dpmpp_2m_sde"), ("uni_pc", "unipc"),
    ("dpm_2_ancestral", "dpm2_a"), ("EulerDiscreteScheduler", "euler"),
    ("FlowMatchEulerDiscreteScheduler", "euler"), ("DPMSolverMultistepScheduler", "dpmpp_2m"),
])
def test_dialect_aliases(name, expected):
    assert vocab.resolve_sampler(name).id == expected


# --- every alias in the data ------------------------------------------------------------------------------

def test_every_name_in_the_data_resolves_to_its_own_identity():
    shared_classes = set(load_table().diffusers["classes"])
    for info in vocab.all_samplers():
        for name in info.all_names():
            if name not in shared_classes:
                assert vocab.resolve_sampler(name).id == info.id, name
    for info in vocab.all_schedules():
        for name in info.all_names():
            if not info.scoped or name in (info.label, info.id):
                assert vocab.resolve_schedule(name).id == info.id, name
    # every dialect's own names resolve to their identity when the dialect is named (scoped ones too)
    for dialect in vocab.DIALECTS:
        for kind, infos in (("sampler", vocab.all_samplers()), ("schedule", vocab.all_schedules())):
            for info in infos:
                for name in (info.names.get(dialect), *info.aliases.get(dialect, ())):
                    if name and name not in shared_classes:
                        resolve = vocab.resolve_sampler if kind == "sampler" else vocab.resolve_schedule
                        assert resolve(name, dialect).id == info.id, (dialect, name)


def test_scoped_names_mean_their_identity_only_in_their_dialect():
    # SwarmUI's "turbo" is ComfyUI's SDTurboScheduler (999, 899, ...), Forge's alias "turbo" its own Turbo
    assert vocab.resolve_schedule("turbo").id == "turbo"
    assert vocab.resolve_schedule("turbo", "forge").id == "turbo"
    assert vocab.resolve_schedule("turbo", "swarmui").id == "sd_turbo"
    assert vocab.resolve_schedule("SD Turbo").id == "sd_turbo"
    assert vocab.export_name("schedule", "sd_turbo", "swarmui") == "turbo"


def test_a_name_claimed_by_two_identities_is_refused():
    a = SamplerInfo("a", "Same", "ode", "uniform", False, False, {"a1111": "Same"})
    b = SamplerInfo("b", "B", "ode", "uniform", False, False, {"comfyui": "same"})
    with pytest.raises(vocab.VocabDataError, match="claimed by both"):
        _index("sampler", {"a": a, "b": b}, set())


# --- matching: tolerant of case and spacing, never fuzzy -------------------------------------------------

@pytest.mark.parametrize("name", ["dpm++ 2m", "  DPM++   2M ", "DPM++\t2M", "K_DPMPP_2M"])
def test_case_and_whitespace_tolerant(name):
    assert vocab.resolve_sampler(name).id == "dpmpp_2m"


@pytest.mark.parametrize(("name", "suggestion"), [
    ("DPM++2M", "DPM++ 2M"), ("Eular a", "Euler a"), ("k_dpmpp2m", "k_dpmpp_2m"), ("dpmpp_2m_karras", "dpmpp_2m"),
])
def test_unknown_sampler_raises_with_suggestions_and_never_falls_back(name, suggestion):
    with pytest.raises(vocab.UnknownName) as err:
        vocab.resolve_sampler(name)
    exc = err.value
    assert isinstance(exc, IgaInvalid) and exc.exit_code == 1
    assert exc.kind == "sampler" and exc.name == name
    assert suggestion in exc.suggestions
    assert suggestion in exc.hint
    assert exc.to_dict()["suggestions"] == exc.suggestions


def test_unknown_schedule_raises_with_suggestions():
    with pytest.raises(vocab.UnknownName) as err:
        vocab.resolve_schedule("Karas")
    assert err.value.kind == "schedule" and "Karras" in err.value.suggestions


def test_nothing_close_gives_a_hint_to_list_the_names():
    with pytest.raises(vocab.UnknownName) as err:
        vocab.resolve_sampler("zzzz qqqq")
    assert err.value.suggestions == [] and "iga vocab" in err.value.hint


@pytest.mark.parametrize("bad", [None, "", "   ", 3, ["Euler"]])
def test_non_names_are_unknown_not_crashes(bad):
    with pytest.raises(vocab.UnknownName):
        vocab.resolve_sampler(bad)
    with pytest.raises(vocab.UnknownName):
        vocab.normalize(bad, None)


# --- combined names, Automatic, timestep samplers --------------------------------------------------------

@pytest.mark.parametrize(("combined", "sampler", "schedule"), [
    ("DPM++ 2M Karras", "dpmpp_2m", "karras"),
    ("Euler a Karras", "euler_a", "karras"),
    ("DPM++ 2M SDE Exponential", "dpmpp_2m_sde", "exponential"),
    ("DPM++ 2M SDE Karras", "dpmpp_2m_sde", "karras"),
    ("DPM++ 2M SDE Heun Karras", "dpmpp_2m_sde_heun", "karras"),
    ("DPM++ 2M SDE Heun Exponential", "dpmpp_2m_sde_heun", "exponential"),
    ("DPM++ 3M SDE Karras", "dpmpp_3m_sde", "karras"),
    ("DPM++ SDE Karras", "dpmpp_sde", "karras"),
    ("DPM++ 2S a Karras", "dpmpp_2s_a", "karras"),
    ("LMS Karras", "lms", "karras"),
    ("DPM2 a Karras", "dpm2_a", "karras"),
    ("Euler SGM Uniform", "euler", "sgm_uniform"),
    ("Euler SGMUniform", "euler", "sgm_uniform"),
    ("Euler Align Your Steps GITS", "euler", "align_your_steps_gits"),
    ("k_dpmpp_2m karras", "dpmpp_2m", "karras"),
])
def test_combined_names_split(combined, sampler, schedule):
    s, sch = vocab.normalize(combined, None)
    assert (s.id, sch.id) == (sampler, schedule)
    assert vocab.normalize(combined, "Automatic")[1].id == schedule  # A1111 1.10 pastes "Schedule type: Automatic"
    assert vocab.normalize(combined, schedule)[1].id == schedule


def test_names_ending_in_a_schedule_word_are_not_split():
    assert vocab.normalize("DPM++ 2M SDE Heun", None)[0].id == "dpmpp_2m_sde_heun"
    assert vocab.normalize("DDIM", None)[0].id == "ddim"


def test_combined_name_contradicting_the_schedule_is_refused():
    with pytest.raises(vocab.ConflictingNames) as err:
        vocab.normalize("DPM++ 2M Karras", "Exponential")
    assert "Karras" in err.value.message and "Exponential" in err.value.message and err.value.hint


@pytest.mark.parametrize(("host", "entry"), _host_samplers(), ids=lambda v: v if isinstance(v, str) else v["name"])
def test_automatic_is_the_samplers_default(host, entry):
    info, schedule = vocab.normalize(entry["name"], "Automatic")
    assert vocab.normalize(entry["name"], None) == (info, schedule)
    if info.timestep_based:
        assert schedule is None
    else:
        # the host's sampler option, else the model's own discretisation (model_wrap.get_sigmas == Uniform)
        assert schedule.id == entry["options"].get("scheduler", "uniform")


def test_resolve_schedule_keeps_automatic_as_its_own_id():
    assert vocab.resolve_schedule("Automatic").id == vocab.AUTOMATIC == "automatic"


@pytest.mark.parametrize("sampler", ["DDIM", "DDIM CFG++", "PLMS", "UniPC", "ddim", "uni_pc"])
@pytest.mark.parametrize("schedule", ["Karras", "Automatic", None, "SGM Uniform"])
def test_timestep_samplers_drop_the_schedule(sampler, schedule):
    info, sch = vocab.normalize(sampler, schedule)
    assert info.timestep_based and sch is None


def test_lcm_honours_the_schedule():
    assert vocab.normalize("LCM", "Karras")[1].id == "karras"
    assert vocab.normalize("LCM", "SGM Uniform")[1].id == "sgm_uniform"


def test_unknown_schedule_with_known_sampler_is_reported_as_a_schedule():
    with pytest.raises(vocab.UnknownName) as err:
        vocab.normalize("Euler", "Karras-ish")
    assert err.value.kind == "schedule"


# --- export ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dialect", vocab.DIALECTS)
def test_export_round_trips_in_every_dialect(dialect):
    shared_classes = set(load_table().diffusers["classes"])
    for info in vocab.all_samplers():
        name = vocab.export_name("sampler", info.id, dialect)
        if name is None:
            continue
        if dialect == "diffusers" and name in shared_classes:
            cls, config = vocab.to_diffusers(info.id)
            assert cls == name and vocab.from_diffusers(cls, config)[0].id == info.id
        else:
            assert vocab.resolve_sampler(name, dialect).id == info.id
    for info in vocab.all_schedules():
        name = vocab.export_name("schedule", info.id, dialect)
        if name is not None:
            assert vocab.resolve_schedule(name, dialect).id == info.id


@pytest.mark.parametrize(("kind", "name", "dialect", "expected"), [
    ("sampler", "DPM++ 2M", "comfyui", "dpmpp_2m"),
    ("sampler", "euler_ancestral", "a1111", "Euler a"),
    ("sampler", "k_euler_a", "kdiffusion", "sample_euler_ancestral"),
    ("sampler", "Restart", "comfyui", None),
    ("sampler", "res_multistep", "a1111", None),
    ("sampler", "HeunPP2", "a1111", None),
    ("schedule", "sgm_uniform", "a1111", "SGM Uniform"),
    ("schedule", "DDIM", "comfyui", "ddim_uniform"),
    ("schedule", "Turbo", "a1111", None),
    ("schedule", "Karras", "diffusers", "use_karras_sigmas"),
    ("schedule", "karras", "kdiffusion", "get_sigmas_karras"),
])
def test_export_name(kind, name, dialect, expected):
    assert vocab.export_name(kind, name, dialect) == expected


def test_export_refuses_unknown_dialects_kinds_and_names():
    with pytest.raises(vocab.UnknownDialect):
        vocab.export_name("sampler", "euler", "invokeai")
    with pytest.raises(vocab.UnknownDialect):
        vocab.export_name("vae", "euler", "a1111")
    with pytest.raises(vocab.UnknownName):
        vocab.export_name("sampler", "no such sampler", "a1111")


def test_names_in_lists_a_dialect_in_order():
    rows = vocab.names_in("schedule", "comfyui")
    assert [name for _, name, _ in rows] == sorted(COMFY_SCHEDULERS, key=[n for _, n, _ in rows].index)
    assert {name for _, name, _ in rows} == set(COMFY_SCHEDULERS)


def test_infos_serialise():
    d = vocab.resolve_sampler("DDIM").to_dict()
    assert d["timestep_based"] is True and d["default_schedule"] is None and "a1111" in d["hosts"]
    json.dumps(d)
    assert vocab.resolve_schedule("Turbo").to_dict()["hosts"] == ["forge"]


def test_combined_names_split_only_on_host_schedule_names():
    with pytest.raises(vocab.UnknownName):
        vocab.normalize("Euler use_karras_sigmas", None)  # a diffusers flag is not an A1111 schedule suffix
    with pytest.raises(vocab.UnknownName):
        vocab.normalize("Euler ddim_uniform", None)  # nor is a ComfyUI scheduler name


_ALL_NAMES = sorted({n for i in (*vocab.all_samplers(), *vocab.all_schedules()) for n in i.all_names()})


@given(st.one_of(
    st.text(min_size=1, max_size=24),
    # near misses: a known name with a character added, dropped or the case flipped
    st.tuples(st.sampled_from(_ALL_NAMES), st.text(max_size=2), st.integers(0, 2)).map(
        lambda t: [t[0] + t[1], t[0][:-1], t[0].swapcase()][t[2]]),
))
@settings(max_examples=400, deadline=None)
def test_resolution_is_never_fuzzy(text):
    """Whatever the input, it either raises UnknownName or matches one of the identity's names exactly
    (up to case and whitespace) - or, for a diffusers class, the class name."""
    key = " ".join(text.split()).casefold()
    try:
        info = vocab.resolve_sampler(text)
    except vocab.UnknownName:
        pass
    else:
        names = {" ".join(n.split()).casefold() for n in info.all_names()}
        classes = {c.casefold() for c in load_table().diffusers["classes"]}
        assert key in names | classes
    try:
        sch = vocab.resolve_schedule(text)
    except vocab.UnknownName:
        pass
    else:
        assert key in {" ".join(n.split()).casefold() for n in sch.all_names()}
