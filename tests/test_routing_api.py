"""Routing Studio's API drives a real gateway: providers with write-only keys, a class, a gateway key,
then pins, the downgrade switch, kill switches, live candidate scores, the request log and revocation,
each seen by the gateway (the openai SDK as its client, two simulated providers behind it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import redis
from fastapi.testclient import TestClient

from maestro.config import Settings
from maestro.gateway.secrets import load_key_ring
from maestro.gateway.server import Gateway
from maestro.gateway.sim import SimConfig, create_sim
from tests.factories import PASSWORD, Caller, login, make_user
from tests.services import live_api, serving_in_thread, wait_for

MSG = [{"role": "user", "content": "ship it"}]


@pytest.fixture
def sims() -> Iterator[tuple[str, str]]:
    with (
        live_api(create_sim(SimConfig(latency_ms=1, chunk_ms=0, api_key="sk-real-a", name="sim-a"))) as a,
        live_api(create_sim(SimConfig(latency_ms=1, chunk_ms=0, api_key="sk-real-b", name="sim-b"))) as b,
    ):
        yield a, b


@pytest.fixture
def gateway(migrated: Settings) -> Iterator[tuple[str, Gateway]]:
    s = migrated.model_copy(update={"gateway_refresh_seconds": 0.1})
    g = Gateway(s, load_key_ring(None, s.data_dir))  # the same data dir, so the same key ring, as the API
    with serving_in_thread(lambda: g.start(host="127.0.0.1", port=0), g.stop) as url:
        yield url, g


def setup_routing(admin: Caller, sims: tuple[str, str]) -> str:
    a, b = sims
    r = admin.put("/api/routing/providers/prov-a", json={"kind": "openai", "baseUrl": f"{a}/v1", "apiKey": "sk-real-a"})
    assert r.status_code == 200, r.text
    assert r.json()["keySet"] is True and "sk-real-a" not in r.text and "apiKey" not in r.json()
    r = admin.put("/api/routing/providers/prov-b", json={"kind": "anthropic", "baseUrl": b, "apiKey": "sk-real-b"})
    assert r.status_code == 200, r.text
    r = admin.put(
        "/api/routing/classes/chat",
        json={
            "match": {"models": ["fast"]},
            "candidates": [
                {"provider": "prov-a", "model": "sim-small", "price": {"input": 0.15, "output": 0.6}},
                {"provider": "prov-b", "model": "sim-large", "price": {"input": 3, "output": 15}},
            ],
            "downgradeTo": "prov-a/sim-small",
            "failover": {"backoffMs": 0},
        },
    )
    assert r.status_code == 200, r.text
    r = admin.post("/api/routing/keys", json={"name": "ci", "env": "prod"})
    assert r.status_code == 201, r.text
    secret: str = r.json()["secret"]
    assert secret.startswith(r.json()["prefix"])
    return secret


def routed(gw: tuple[str, Gateway], secret: str) -> dict[str, str]:
    client = openai.OpenAI(base_url=f"{gw[0]}/v1", api_key=secret, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model="fast", messages=MSG)  # type: ignore[arg-type]
    return dict(part.strip().split("=", 1) for part in raw.headers["x-maestro-route"].split(";"))


def test_the_api_configures_the_gateway_end_to_end(
    client: TestClient, gateway: tuple[str, Gateway], sims: tuple[str, str], migrated: Settings
) -> None:
    admin = login(client)
    secret = setup_routing(admin, sims)
    wait_for(lambda: gateway[1].router.keys, 30, 0.05)
    assert routed(gateway, secret)["provider"] == "prov-a"
    # nothing returns a provider key; the stored blob is sealed
    listed = client.get("/api/routing/providers")
    assert listed.status_code == 200 and "sk-real" not in listed.text
    assert all(p["keySet"] and p["keySealedWith"] for p in listed.json()["items"])

    # pin to the dearer candidate, with a reason; the gateway follows within a refresh
    r = admin.post(
        "/api/routing/pin", json={"class": "chat", "provider": "prov-b", "model": "sim-large", "ttl": 600, "reason": "eval"}
    )
    assert r.status_code == 201, r.text
    wait_for(lambda: routed(gateway, secret)["provider"] == "prov-b", 30, 0.1)
    assert client.get("/api/routing/classes/chat").json()["pin"]["provider"] == "prov-b"
    assert admin.delete("/api/routing/pin/chat").status_code == 204
    wait_for(lambda: routed(gateway, secret)["reason"] == "best score", 30, 0.1)

    # live candidates with their breakdown, from the gateway's own report
    def scored() -> dict[str, Any]:
        out: dict[str, Any] = client.get("/api/routing/candidates", params={"class": "chat"}).json()
        return out

    wait_for(lambda: scored()["replicas"] == 1 and any(c["requests"] for c in scored()["candidates"]), 30, 0.1)
    view = scored()
    assert view["winner"] == "prov-a/sim-small" and view["why"].startswith("best score")
    rows = {f"{c['provider']}/{c['model']}": c for c in view["candidates"]}
    assert rows["prov-a/sim-small"]["cost"] == 1.0 and rows["prov-b/sim-large"]["cost"] < 0.1

    # the downgrade switch, then a kill switch
    r = admin.post("/api/routing/classes/chat/downgrade", json={"downgraded": True, "reason": "budget 80%"})
    assert r.status_code == 200 and r.json()["downgraded"] is True
    wait_for(lambda: routed(gateway, secret)["reason"] == "downgraded", 30, 0.1)
    admin.post("/api/routing/classes/chat/downgrade", json={"downgraded": False, "reason": "new month"})
    r = admin.post("/api/routing/kill-switches", json={"scope": "provider", "value": "prov-a", "reason": "incident 7"})
    assert r.status_code == 201, r.text
    kill_id = r.json()["id"]
    wait_for(lambda: routed(gateway, secret)["provider"] == "prov-b", 30, 0.1)
    again = admin.post("/api/routing/kill-switches", json={"scope": "provider", "value": "prov-a", "reason": "x"})
    assert again.status_code == 409 and "incident 7" in again.json()["detail"]
    assert admin.delete(f"/api/routing/kill-switches/{kill_id}", params={"reason": "incident 7 resolved"}).status_code == 204
    wait_for(lambda: routed(gateway, secret)["provider"] == "prov-a", 30, 0.1)

    # the request log: the decision of each request, tokens and spend
    def logged() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = client.get("/api/routing/requests", params={"class": "chat"}).json()["items"]
        return items

    wait_for(lambda: len(logged()) >= 6, 30, 0.1)
    reasons = {x["reason"] for x in logged()}
    assert {"best score", "downgraded"} <= reasons and any(x["reason"].startswith("pinned") for x in logged())
    first = logged()[0]
    assert first["promptTokens"] == 2 and first["estimated"] is False and first["usd"] > 0 and first["status"] == 200

    # recent events for a page that just opened, and where clients should send requests
    recent = [e["type"] for e in client.get("/api/routing/events", params={"limit": 50}).json()["items"]]
    assert {"routing_revived", "routing_pinned", "routing_killed"} <= set(recent)
    info = client.get("/api/routing/gateway").json()
    assert info["url"] == f"http://{migrated.gateway_host}:{migrated.gateway_port}" and info["refreshSeconds"] > 0
    # the stream of routing events carries the pin, the downgrade and the kill
    with client.stream("GET", "/api/streams/routing", params={"since": "0"}) as resp:
        kinds = []
        for line in resp.iter_lines():
            if line.startswith("event: "):
                kinds.append(line[7:])
            if "routing_revived" in kinds:
                break
    assert {"routing_pinned", "routing_unpinned", "routing_downgraded", "routing_killed", "routing_revived"} <= set(kinds)

    # revoking the key: refused by the gateway within a refresh
    key_id = client.get("/api/routing/keys").json()["items"][0]["id"]
    assert admin.post(f"/api/routing/keys/{key_id}/revoke", json={"reason": "leaked"}).status_code == 200

    def refused() -> bool:
        try:
            routed(gateway, secret)
        except openai.AuthenticationError:
            return True
        return False

    wait_for(refused, 30, 0.1)
    # every change is audited, and the audit never holds a key
    audit = client.get("/api/audit", params={"limit": 100}).text
    for action in ("routing.provider.create", "routing.class.create", "routing.pin", "routing.kill", "routing.key.revoke"):
        assert action in audit
    assert "sk-real" not in audit


def test_bad_input_and_permissions(client: TestClient, migrated: Settings, engine: Any, sims: tuple[str, str]) -> None:
    admin = login(client)
    r = admin.put("/api/routing/classes/chat", json={"candidates": [{"provider": "nope", "model": "m"}]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "candidates.0.provider"
    for bad in ("ftp://x", "http://user:pw@h/v1", "http://h:99999/v1", "http://[::1/v1", "http://h:abc/v1"):
        r = admin.put("/api/routing/providers/p1", json={"kind": "openai", "baseUrl": bad})
        assert r.status_code == 422 and "baseUrl" in r.text, bad
    setup_routing(admin, sims)
    r = admin.put(
        "/api/routing/classes/chat",
        json={
            "candidates": [{"provider": "prov-a", "model": "m", "weight": 30}, {"provider": "prov-b", "model": "n", "weight": 30}]
        },
    )
    assert r.status_code == 422 and "add up to 100" in r.text
    r = admin.post("/api/routing/pin", json={"class": "chat", "provider": "prov-a", "model": "other", "reason": "x"})
    assert r.status_code == 422 and "not a candidate" in r.json()["detail"]
    r = admin.post("/api/routing/pin", json={"class": "chat", "provider": "prov-a", "model": "sim-small"})
    assert r.status_code == 422 and "reason" in r.text  # a pin says why
    assert admin.delete("/api/routing/providers/prov-a").status_code == 409  # still a candidate
    # a key is sealed to its host: pointing the provider elsewhere drops it (enter it again for the new host)
    moved = admin.put("/api/routing/providers/prov-a", json={"kind": "openai", "baseUrl": "https://elsewhere.example/v1"})
    assert moved.status_code == 200 and moved.json()["keySet"] is False
    assert admin.put("/api/routing/limits/tenant:x:rph", json={"value": 5}).status_code == 422
    # a viewer reads but cannot change routing or see gateway keys
    viewer = make_user(engine, roles=["viewer"])
    v = login(client, viewer.username, PASSWORD)
    assert client.get("/api/routing/classes").status_code == 200
    r = v.post("/api/routing/kill-switches", json={"scope": "provider", "value": "prov-a", "reason": "x"})
    assert r.status_code == 403 and "routing:write" in r.json()["detail"]
    assert client.get("/api/routing/keys").status_code == 403
    stored = redis.Redis.from_url(migrated.effective_redis_url).get("maestro:gateway:config")
    assert stored is not None and b"sk-real" not in stored and json.loads(stored)["keys"]


def test_a_class_rego_policy_keeps_a_candidate_out_where_it_denies(
    client: TestClient, gateway: tuple[str, Gateway], sims: tuple[str, str]
) -> None:
    """Data residency by policy: prod keys may only reach EU providers. Evaluated when the configuration
    changes, per candidate and key scope; the gateway skips what it denies and says why."""
    admin = login(client)
    prod = setup_routing(admin, sims)  # its gateway key is for env prod
    a, b = sims
    assert (
        admin.put("/api/routing/providers/prov-a", json={"kind": "openai", "baseUrl": f"{a}/v1", "region": "us"}).status_code
        == 200
    )
    assert admin.put("/api/routing/providers/prov-b", json={"kind": "anthropic", "baseUrl": b, "region": "eu"}).status_code == 200
    bad = admin.put(
        "/api/routing/classes/chat",
        json={"candidates": [{"provider": "prov-a", "model": "sim-small"}], "rego": "package x\ndeny contains msg if {"},
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "rego"
    policy = (
        "package maestro.routing\nimport rego.v1\n"
        'deny contains msg if {\n  input.env == "prod"\n  input.candidate.region != "eu"\n'
        '  msg := sprintf("%s is in %s; prod stays in the EU", [input.candidate.provider, input.candidate.region])\n}\n'
    )
    body = {
        "match": {"models": ["fast"]},
        "candidates": [
            {"provider": "prov-a", "model": "sim-small", "price": {"input": 0.15, "output": 0.6}},
            {"provider": "prov-b", "model": "sim-large", "price": {"input": 3, "output": 15}},
        ],
        "failover": {"backoffMs": 0},
        "rego": policy,
    }
    assert admin.put("/api/routing/classes/chat", json=body).status_code == 200
    dev = admin.post("/api/routing/keys", json={"name": "dev", "env": "dev"}).json()["secret"]
    wait_for(lambda: len(gateway[1].router.keys) == 2 and gateway[1].router.denied, 30, 0.05)
    # prod (the first key) goes to the EU provider although the US one scores better; dev gets the best score
    assert routed(gateway, prod)["provider"] == "prov-b"
    assert routed(gateway, dev)["provider"] == "prov-a"
    # everything denied: a 503 that names the policy's message
    admin.put("/api/routing/providers/prov-b", json={"kind": "anthropic", "baseUrl": b, "region": "us"})
    wait_for(lambda: "prov-b/sim-large" in gateway[1].router.denied.get("chat", {}), 30, 0.05)
    with pytest.raises(openai.InternalServerError) as none:
        routed(gateway, prod)
    assert "prod stays in the EU" in str(none.value)


def test_captures_are_opt_in_redacted_access_controlled_and_audited(
    client: TestClient, gateway: tuple[str, Gateway], sims: tuple[str, str], engine: Any
) -> None:
    admin = login(client)
    secret = setup_routing(admin, sims)
    wait_for(lambda: gateway[1].router.keys, 30, 0.05)  # the new key reached the gateway
    client_ = openai.OpenAI(base_url=f"{gateway[0]}/v1", api_key=secret, max_retries=0)
    secret_prompt = [{"role": "user", "content": "mail alice@example.com the key sk-abcdefghijklmnopqrstuv"}]
    client_.chat.completions.create(model="fast", messages=secret_prompt)  # type: ignore[arg-type]
    assert admin.get("/api/routing/captures", params={"class": "chat"}).json()["items"] == []  # not opted in
    cls = admin.get("/api/routing/classes/chat").json()
    body = {k: cls[k] for k in ("match", "candidates", "failover")} | {"capture": {"enabled": True, "sampleRate": 1.0}}
    assert admin.put("/api/routing/classes/chat", json=body).status_code == 200
    wait_for(lambda: gateway[1].router.by_name["chat"].spec.capture.enabled, 30, 0.05)
    client_.chat.completions.create(model="fast", messages=secret_prompt)  # type: ignore[arg-type]
    list(client_.chat.completions.create(model="fast", messages=secret_prompt, stream=True))  # type: ignore[call-overload]

    def got() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = admin.get("/api/routing/captures", params={"class": "chat"}).json()["items"]
        return items

    wait_for(lambda: len(got()) == 2, 30, 0.1)
    streamed, plain = got()
    assert plain["stream"] is False and streamed["stream"] is True and plain["provider"] == "prov-a"
    for cap in (plain, streamed):
        assert "alice@example.com" not in cap["request"] and "sk-abcdefghij" not in cap["request"]
        assert cap["request"].count("[REDACTED]") == 2 and "mail" in cap["request"]
        assert "[REDACTED]" in cap["response"]  # the simulator echoes the prompt: redacted there too
    assert "data: " in streamed["response"] and '"chat.completion"' in plain["response"]
    # prompts are not for every reader: an operator may run routing but not read captures
    op = make_user(engine, roles=["operator"])
    o = login(client, op.username, PASSWORD)
    denied = o.client.get("/api/routing/captures", params={"class": "chat"})
    assert denied.status_code == 403 and "routing:read-captures" in denied.json()["detail"]
    admin = login(client)
    reads = admin.get("/api/audit", params={"action": "routing.captures.read"}).json()["items"]
    assert reads and reads[0]["targetId"] == "chat"


def test_a_traced_caller_gets_the_gateways_span_in_its_trace(
    client: TestClient, gateway: tuple[str, Gateway], sims: tuple[str, str], engine: Any
) -> None:
    from sqlmodel import Session, select

    from maestro.domain.runs import TraceSpan

    admin = login(client)
    secret = setup_routing(admin, sims)
    wait_for(lambda: gateway[1].router.keys, 30, 0.05)
    trace_id, caller_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    resp = openai.OpenAI(base_url=f"{gateway[0]}/v1", api_key=secret, max_retries=0).chat.completions.with_raw_response.create(
        model="fast", messages=MSG, extra_headers={"traceparent": f"00-{trace_id}-{caller_span}-01"}
    )  # type: ignore[arg-type]
    out = resp.headers["traceparent"].split("-")
    assert out[1] == trace_id and out[2] != caller_span and out[3] == "01"

    def span() -> TraceSpan | None:
        with Session(engine) as s:
            return s.exec(select(TraceSpan).where(TraceSpan.trace_id == trace_id)).first()

    got = wait_for(span, 15, 0.1)
    assert got.parent_id == caller_span and got.span_id == out[2] and got.name == "gateway /v1/chat/completions"
    assert got.attributes["maestro.routing.provider"] == "prov-a" and got.attributes["gen_ai.usage.input_tokens"] == 2
