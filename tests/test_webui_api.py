"""The /iga/v1 routes on a FastAPI app, with the host double for checkpoint lookup and settings:
read-only by default, the same verdict as `iga check --json`, auth reimplemented, writes off unless enabled."""

from __future__ import annotations

import base64
import contextlib
import io
import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.host_double.fixture import host  # noqa: F401 -- the fixture, parametrised over both hosts
from tests.webui_recipes import LIGHTNING, add_checkpoint

pytestmark = pytest.mark.host


@pytest.fixture
def client(host):  # noqa: F811
    add_checkpoint(host.models, "lightning.safetensors", LIGHTNING)
    add_checkpoint(host.models, "plain.safetensors", None, seed=2)
    host.refresh_checkpoints()
    from iga_webui import api

    app = FastAPI()
    api.on_app_started(None, app)
    client = TestClient(app)
    client.double = host
    return client


def basic(user: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_recipe_route(client):
    answer = client.get("/iga/v1/recipe", params={"checkpoint": "lightning"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["recipe"]["model_id"] == "test-lightning" and body["source"]["kind"] == "embedded"
    missing = client.get("/iga/v1/recipe", params={"checkpoint": "nope"})
    assert missing.status_code == 404 and "no checkpoint named" in missing.json()["message"]
    bare = client.get("/iga/v1/recipe", params={"checkpoint": "plain"})
    assert bare.status_code == 404 and bare.json()["source"]["kind"] == "none"


def test_check_route_answers_like_the_cli(client):
    from iga_core.cli import main

    request = {"sampler": "DPM++ 2M", "steps": 30}
    answer = client.post("/iga/v1/check", json={"checkpoint": "lightning", "request": request})
    assert answer.status_code == 200
    api_body = answer.json()
    assert api_body["ok"] is False and api_body["verdict"]["blocked_ids"] == ["IGA-H001"]

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["check", str(client.double.models / "lightning.safetensors"), "--sampler", "DPM++ 2M",
                     "--steps", "30", "--json"])
    assert code == 3
    cli_body = json.loads(out.getvalue())
    assert set(api_body) == set(cli_body) | {"host_facts"}  # what the host read: the CLI has no host
    for key in ("ok", "model_id", "policy", "verdict"):
        assert api_body[key] == cli_body[key], key
    facts = api_body["host_facts"]  # the double is not started: no model is loaded, only the host is known
    assert facts["host"] == client.double.host and facts["loaded"] is False
    assert any("lightning.safetensors" in line and "not the loaded model" in line for line in facts["later"])
    # the host's own part of the request: its key, and the clip skip Generate runs for a request that sets none
    # (the recipe has none: the host's Clip skip setting, 2 on Neo), which host_facts names
    host_part = {"host": client.double.host, "clip_skip": facts["clip_skip"]}
    assert facts["clip_skip"] == client.double.m.shared.opts.CLIP_stop_at_last_layers
    assert api_body["request"] == {**cli_body["request"], **host_part}


def test_check_route_composes_lora_recipes(client):
    from tests.webui_recipes import LCM_LORA

    add_checkpoint(client.double.loras, "lcm.safetensors", LCM_LORA, seed=5)
    client.double.refresh_checkpoints()
    body = {"checkpoint": "lightning", "loras": [{"name": "lcm", "weight": 1.0}], "request": {"steps": 2}}
    result = client.post("/iga/v1/check", json=body).json()
    assert result["ok"] is True  # 2 steps: outside lightning's 4-8, inside the LCM LoRA's 2-8
    missing = client.post("/iga/v1/check", json={**body, "loras": [{"name": "nope"}]})
    assert missing.status_code == 404 and "no LoRA named" in missing.json()["message"]


def test_check_route_with_an_inline_recipe_preset_and_overrides(client):
    body = {"recipe": LIGHTNING, "preset": "Quality", "request": {"cfg": 3.0}, "mode": "strict",
            "overrides": ["IGA-S002"], "override_reasons": {"IGA-S002": "testing"}}
    answer = client.post("/iga/v1/check", json=body)
    assert answer.status_code == 200
    result = answer.json()
    assert result["ok"] is True and result["request"]["steps"] == 8
    assert [f["rule_id"] for f in result["verdict"]["findings"] if f["overridden"]] == ["IGA-S002"]


@pytest.mark.parametrize(("body", "status", "words"), [
    ([1, 2], 422, "JSON object"),
    ({"checkpoint": "lightning", "reqest": {}}, 422, "unknown key"),
    ({"request": {}}, 422, "exactly one"),
    ({"checkpoint": "lightning", "request": {"steps": "many"}}, 422, "steps"),
    ({"checkpoint": "lightning", "mode": "lenient"}, 422, "mode"),
    ({"checkpoint": "nope"}, 404, "no checkpoint named"),
    ({"recipe": {"iga_version": "1.0.0"}}, 422, "invalid"),
])
def test_check_route_refuses_bad_bodies_with_a_message(client, body, status, words):
    answer = client.post("/iga/v1/check", json=body)
    assert answer.status_code == status
    assert words in json.dumps(answer.json())


def test_malformed_json_is_a_422_not_a_crash(client):
    answer = client.post("/iga/v1/check", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 422


def test_schema_routes(client):
    from iga_core.recipe import load_schema
    from iga_core.script_args import SCRIPT_ARGS_SCHEMA

    assert client.get("/iga/v1/schema").json() == load_schema()
    assert client.get("/iga/v1/args-schema").json() == json.loads(json.dumps(SCRIPT_ARGS_SCHEMA))


def test_read_routes_follow_api_auth_when_the_host_sets_it(client):
    client.double.m.shared.cmd_opts.api_auth = "alice:secret,bob:hunter2"
    assert client.get("/iga/v1/schema").status_code == 401
    assert client.get("/iga/v1/schema", headers=basic("bob", "wrong")).status_code == 401
    assert client.get("/iga/v1/schema", headers=basic("bob", "hunter2")).status_code == 200


def test_api_auth_is_parsed_as_the_host_parses_it(client):
    # A and F api.py:201-205 split on "," and ":" and trim nothing: the password here is " secret"
    client.double.m.shared.cmd_opts.api_auth = "alice: secret"
    assert client.get("/iga/v1/schema", headers=basic("alice", " secret")).status_code == 200
    assert client.get("/iga/v1/schema", headers=basic("alice", "secret")).status_code == 401


def test_writing_route_is_off_unless_enabled_and_authenticated(client):
    body = {"checkpoint": "plain", "recipe": LIGHTNING}
    sidecar = client.double.models / "plain.safetensors.iga.json"
    assert client.post("/iga/v1/sidecar", json=body).status_code == 403  # default: off
    client.double.m.shared.opts.data["iga_api_writes"] = True
    assert client.post("/iga/v1/sidecar", json=body).status_code == 403  # on, but no --api-auth configured
    client.double.m.shared.cmd_opts.api_auth = "alice:secret"
    assert client.post("/iga/v1/sidecar", json=body, headers=basic("alice", "nope")).status_code == 401
    assert not sidecar.exists()
    answer = client.post("/iga/v1/sidecar", json=body, headers=basic("alice", "secret"))
    assert answer.status_code == 200, answer.json()
    assert sidecar.exists()
    got = client.get("/iga/v1/recipe", params={"checkpoint": "plain"}, headers=basic("alice", "secret")).json()
    assert got["source"]["kind"] == "sidecar" and got["recipe"]["model_id"] == "test-lightning"


def test_the_writing_route_names_its_checkpoint_exactly(client):
    """The host's closest match (a substring of a title) must not pick the file a write goes to: "a" wrote
    plain.safetensors.iga.json before; exact titles, model names, names and file paths work."""
    client.double.m.shared.opts.data["iga_api_writes"] = True
    client.double.m.shared.cmd_opts.api_auth = "alice:secret"
    auth = basic("alice", "secret")
    sidecar = client.double.models / "plain.safetensors.iga.json"
    for vague in ("a", "plai", "plain.safe"):
        answer = client.post("/iga/v1/sidecar", json={"checkpoint": vague, "recipe": LIGHTNING}, headers=auth)
        assert answer.status_code == 404 and "no checkpoint named" in answer.json()["message"], vague
    assert not sidecar.exists()
    info = client.double.m.sd_models.checkpoint_aliases["plain"]
    for exact in (info.title, info.model_name, info.name, info.filename):
        sidecar.unlink(missing_ok=True)
        answer = client.post("/iga/v1/sidecar", json={"checkpoint": exact, "recipe": LIGHTNING}, headers=auth)
        assert answer.status_code == 200 and sidecar.exists(), exact
    # the read routes keep the host's own lookup, as its UI and API resolve names
    assert client.get("/iga/v1/recipe", params={"checkpoint": "plai"}, headers=auth).json()["source"]["kind"] == "sidecar"


def test_a_body_over_the_limit_is_413_before_it_is_parsed(client, monkeypatch):
    from iga_core import http_api

    parsed = []
    monkeypatch.setattr(http_api, "parse_body", lambda raw: parsed.append(raw) or {})
    big = b"[" + b"1," * (http_api.MAX_BODY_BYTES // 2) + b"1]"
    answer = client.post("/iga/v1/check", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"] == "BodyTooLarge" and parsed == []

    def chunks():  # no Content-Length: the route stops reading at the limit
        for _ in range(http_api.MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    answer = client.post("/iga/v1/check", content=chunks(), headers={"content-type": "application/json"})
    assert answer.status_code == 413 and parsed == []


def test_hostile_bodies_through_the_route_are_4xx_naming_the_problem(client):
    deep = b"[" * 50_000 + b"]" * 50_000
    for raw, status, words in ((deep, 422, "nests deeper"), (b"\xff", 422, "not UTF-8"),
                               (b'{"checkpoint": "lightning", "overrides": [[1]]}', 422, "overrides"),
                               (b'{"checkpoint": "lightning", "override_reasons": ["x"]}', 422, "override_reasons")):
        answer = client.post("/iga/v1/check", content=raw, headers={"content-type": "application/json"})
        assert answer.status_code == status and words in answer.json()["message"], (raw[:40], answer.json())
    answer = client.post("/iga/v1/check", content=b"{}", headers={"content-type": "application/json",
                                                                   "content-length": "lots"})
    assert 400 <= answer.status_code < 500
