"""The HTTP API's contract: every status comes from the error's type, a body of any shape is a 4xx naming the
problem (never a 500), bodies are bounded, and /check is the one judge (LoRA compositions and passes).

The core handlers are called directly here; the route, with its size check before parsing, runs through the
glue's FastAPI routes with the host double on both pins (test_webui_api.py has the rest of the routes)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iga_core import http_api
from iga_core.errors import IgaError, IgaInvalid, IgaIOError, IgaNotFound
from iga_core.recipe import RecipeInvalid
from tests.factories import make_checkpoint
from tests.test_guard_support import document

STYLE = {"iga_version": "1.0.0", "model_id": "ink", "architecture": "sdxl", "prediction_type": "eps",
         "sampler": {"name": "Euler"}, "scheduler": {"name": "Automatic"},
         "steps": {"default": 30, "min": 10, "max": 60}, "cfg": {"default": 6.0, "min": 3.0, "max": 12.0},
         "x-compose": "narrow"}


@pytest.fixture
def files(tmp_path, monkeypatch):
    """A checkpoint with a recipe, two style LoRAs whose CFG ranges do not overlap, a refiner."""
    from iga_core.checkpoint.stamp import stamp

    monkeypatch.setenv("IGA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IGA_REGISTRY", str(tmp_path / "registry"))
    base = {k: v for k, v in document("sd1_anime").items() if k not in ("clip_skip", "vae", "presets")}
    base.update(architecture="sdxl", resolution={"preferred": [{"width": 1024, "height": 1024}]})
    paths = {}
    for name, doc, seed in (("base", base, 1), ("low", {**STYLE, "model_id": "low", "cfg": {"default": 4.0, "min": 4.0,
                                                                                          "max": 5.0}}, 2),
                            ("high", {**STYLE, "model_id": "high", "cfg": {"default": 8.0, "min": 8.0, "max": 9.0}}, 3),
                            ("refiner", document("lightning"), 4)):
        paths[name] = make_checkpoint(tmp_path / f"{name}.safetensors", seed=seed)
        stamp(paths[name], doc)
    return {name: str(path) for name, path in paths.items()}


def check(body, files) -> tuple[int, dict]:
    resolve = {"base": files["base"], "refiner": files["refiner"]}.get
    return http_api.check(body, resolve, verify="never", resolve_lora={"low": files["low"], "high": files["high"]}.get)


def test_every_error_type_carries_its_status():
    assert (IgaError.http_status, IgaInvalid.http_status, IgaIOError.http_status, IgaNotFound.http_status) == (
        400, 422, 500, 404)
    assert http_api.BodyTooLarge.http_status == 413 and http_api.CheckpointNotFound.http_status == 404
    assert issubclass(RecipeInvalid, IgaInvalid) and http_api.NoRecipe.http_status == 404


def test_a_status_never_comes_from_the_message():
    status, body = http_api.error_answer(IgaInvalid("no such thing named x", "hint"))
    assert status == 422 and body["error"] == "IgaInvalid"  # the message's words do not make it a 404
    status, _ = http_api.error_answer(http_api.CheckpointNotFound("whatever it says", ""))
    assert status == 404


def test_unknown_names_are_404_and_a_checkpoint_without_recipe_says_what_it_found(files, tmp_path):
    status, body = check({"checkpoint": "nope"}, files)
    assert status == 404 and body["error"] == "CheckpointNotFound"
    status, body = check({"checkpoint": "base", "loras": [{"name": "nope"}]}, files)
    assert status == 404 and "no LoRA named 'nope'" in body["message"]
    plain = make_checkpoint(tmp_path / "plain.safetensors", seed=9)
    status, body = http_api.check({"checkpoint": "plain"}, {"plain": str(plain)}.get, verify="never")
    assert status == 404 and body["error"] == "NoRecipe" and body["source"]["kind"] == "none"
    status, body = http_api.get_recipe("nope", lambda name: None)
    assert status == 404 and body["error"] == "CheckpointNotFound"


def test_two_loras_whose_cfg_ranges_do_not_overlap_are_blocked_by_the_api_as_by_the_panel(files):
    status, body = check({"checkpoint": "base", "loras": [{"name": "low"}, {"name": "high"}],
                          "request": {"cfg": 4.5}}, files)
    assert status == 200 and body["ok"] is False
    assert "IGA-M004" in body["verdict"]["blocked_ids"]
    assert [f["rule_id"] for f in body["composition"]].count("IGA-M004") == 1


def test_passes_are_judged_and_labelled(files):
    status, body = check({"checkpoint": "base", "request": {"steps": 25},
                          "passes": [{"name": "hires", "request": {"steps": 90, "denoising_strength": 0.5}},
                                     {"name": "refiner", "checkpoint": "refiner"}]}, files)
    assert status == 200 and body["passes"] == ["hires", "refiner"]
    fields = {f["field"] for f in body["verdict"]["findings"]}
    assert "hires steps" in fields  # 90 steps is outside the base recipe's 15-50
    assert any(f.startswith("refiner ") for f in fields)  # 25 steps on the 4-step Lightning refiner
    assert body["ok"] is False


@pytest.mark.parametrize(("passes", "words"), [
    ({"name": "hires"}, "list"),
    ([{"name": "upscale"}], "unknown pass"),
    ([{"name": "refiner"}], "refiner pass names its 'checkpoint'"),
    ([{"name": "refiner", "checkpoint": "refiner", "request": {}}], "no 'request'"),
    ([{"name": "hires", "checkpoint": "base", "recipe": {}}], "exactly one"),
    ([{"name": "hires", "steps": 4}], "unknown key"),
    ([{"name": "hires"}, {"name": "hires"}], "named twice"),
    ([{"name": "hires"}] * 3, "at most 2"),
    ([{"name": "hires", "request": {"steps": "many"}}], "steps"),
])
def test_malformed_passes_are_422(files, passes, words):
    status, body = check({"checkpoint": "base", "passes": passes}, files)
    assert status == 422 and words in json.dumps(body), body


@pytest.mark.parametrize(("body", "words"), [
    ({"checkpoint": "base", "overrides": [["IGA-S002"]]}, "overrides must be a list of rule ids"),
    ({"checkpoint": "base", "overrides": "IGA-S002"}, "overrides must be a list of rule ids"),
    ({"checkpoint": "base", "overrides": {"IGA-S002": 1}}, "overrides must be a list of rule ids"),
    ({"checkpoint": "base", "overrides": ["S002"]}, "malformed rule id"),
    ({"checkpoint": "base", "override_reasons": ["why"]}, "override_reasons must map"),
    ({"checkpoint": "base", "override_reasons": {"IGA-S002": ["why"]}}, "override_reasons must map"),
    ({"checkpoint": "base", "override_reasons": {"IGA-S002": "x" * 5000}}, "override_reasons must map"),
    ({"checkpoint": "base", "mode": ["strict"]}, "unknown guard mode"),
    ({"checkpoint": "base", "preset": {"name": "Native"}}, "'preset' must be a name"),
    ({"checkpoint": "base", "request": ["steps", 4]}, "'request' must be a JSON object"),
    ({"checkpoint": "base", "request": {"steps": 1e300}}, "steps"),
    ({"checkpoint": ["base"]}, "'checkpoint' must be a name"),
    ({"checkpoint": "base", "loras": [{"name": "low", "weight": "strong"}]}, "weight"),
    ({"checkpoint": "base", "loras": {"name": "low"}}, "'loras' must be a list"),
    ({"recipe": "text"}, "'recipe' must be a JSON object"),
    ({"recipe": {"iga_version": "1.0.0"}}, "the recipe is invalid"),
])
def test_wrong_types_anywhere_are_a_422_naming_the_problem(files, body, words):
    status, answer = check(body, files)
    assert status == 422 and words in json.dumps(answer), answer


def test_ten_thousand_lora_entries_are_refused_before_any_lookup(files):
    looked_up = []

    def resolve_lora(name):
        looked_up.append(name)
        return files["low"]

    status, body = http_api.check({"checkpoint": "base", "loras": [{"name": f"l{i}"} for i in range(10_000)]},
                                  {"base": files["base"]}.get, verify="never", resolve_lora=resolve_lora)
    assert status == 413 and "'loras' lists 10000 entries" in body["message"] and looked_up == []


def _nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


def test_deep_nesting_is_a_422_whether_it_arrives_as_bytes_or_as_json(files):
    raw = b"[" * 100_000 + b"]" * 100_000  # json.loads alone raises RecursionError on this
    with pytest.raises(http_api.ApiRequestInvalid) as err:
        http_api.parse_body(raw)
    assert err.value.http_status == 422 and "nests deeper" in err.value.message
    status, body = check({"checkpoint": "base", "request": {"x-deep": _nested(500)}}, files)
    assert status == 422 and "nests deeper" in body["message"]
    status, body = http_api.write_sidecar({"checkpoint": "base", "recipe": _nested(5000)}, {"base": files["base"]}.get)
    assert status == 422 and "nests deeper" in body["message"]


@pytest.mark.parametrize(("raw", "status", "words"), [
    (b"", 422, "not JSON"),
    (b"{not json", 422, "not JSON"),
    (b"\xff\xfe{}", 422, "not UTF-8"),
    (b"x" * (http_api.MAX_BODY_BYTES + 1), 413, "more than"),
])
def test_parse_body_errors_are_typed(raw, status, words):
    with pytest.raises(IgaError) as err:
        http_api.parse_body(raw)
    assert err.value.http_status == status and words in err.value.message


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=30)
_KEYS = sorted(http_api.CHECK_KEYS)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(body=st.one_of(_JSON, st.dictionaries(st.sampled_from([*_KEYS, "junk"]), _JSON, max_size=6)))
def test_any_json_body_gets_a_4xx_or_a_verdict_never_a_crash(files, body):
    status, answer = check(body, files)
    assert status == 200 or 400 <= status < 500, (status, answer)
    assert json.dumps(answer)
    if status != 200:
        assert answer["ok"] is False and answer["message"]


def test_a_check_without_steps_judges_the_recipes_default_steps(files):
    # the same rule as `iga check` (presets.DEFAULTED_WHEN_MISSING): a request with no step count is judged
    # at the recipe's default, and the answer says it took it
    status, body = http_api.check({"checkpoint": "refiner", "request": {"sampler": "DPM++ 2M"}},
                                  {"refiner": files["refiner"]}.get, verify="never")  # fmt: skip
    assert status == 200 and body["defaults"] == {"steps": 4} and body["request"]["steps"] == 4
    assert body["ok"] is False and "IGA-H004" in body["verdict"]["blocked_ids"]
    status, body = check({"checkpoint": "base", "request": {"steps": 25}}, files)
    assert status == 200 and body["defaults"] == {}


def test_a_check_with_one_side_of_the_size_judges_the_other_at_the_recipes_default(files):
    """Seen in a real Forge Neo: `/check` with width 1088 alone said allowed while the same txt2img body was
    refused (IGA-H005, 1088x512: the host's request model fills the height, Generate gives it the recipe's)."""
    status, body = check({"checkpoint": "base", "request": {"steps": 25, "width": 4096}}, files)
    assert status == 200 and body["defaults"] == {"height": 1024} and body["request"]["height"] == 1024
    sizes = [f["actual"] for f in body["verdict"]["findings"] if f["field"] == "size"]
    assert sizes and all(size == {"width": 4096, "height": 1024} for size in sizes)
    status, body = check({"checkpoint": "base", "request": {"steps": 25, "height": 1024}}, files)
    assert body["defaults"] == {"width": 1024}
