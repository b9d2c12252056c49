"""`maestro gateway` end to end: the official `openai` and `anthropic` SDKs as clients, two simulated
providers (`maestro sim-provider`, real HTTP servers speaking both wire formats, told at run time to fail,
slow down or rate-limit) as upstreams, the routing snapshot published to the test Valkey the way the
API publishes it, and the gateway on a free port in its own event loop."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
import redis

from maestro.config import Settings
from maestro.gateway.publish import publish
from maestro.gateway.secrets import KeyRing, load_key_ring
from maestro.gateway.server import EVENTS_STREAM, USAGE_STREAM, Gateway
from maestro.gateway.sim import SimConfig, create_sim
from maestro.gateway.spec import Snapshot, key_binding
from tests.services import live_api, serving_in_thread, wait_for

SECRET = "mk-test-" + "x" * 24


class Sim:
    def __init__(self, url: str) -> None:
        self.url = url

    def set(self, **changes: Any) -> None:
        httpx.post(f"{self.url}/_sim/config", json=changes).raise_for_status()

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = httpx.get(f"{self.url}/_sim/stats").json()
        return out


@pytest.fixture
def sim_a() -> Iterator[Sim]:
    with live_api(create_sim(SimConfig(latency_ms=1, chunk_ms=0, api_key="sk-provider-a", name="sim-a"))) as url:
        yield Sim(url)


@pytest.fixture
def sim_b() -> Iterator[Sim]:
    with live_api(create_sim(SimConfig(latency_ms=1, chunk_ms=0, api_key="sk-provider-b", name="sim-b"))) as url:
        yield Sim(url)


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    stale = list(client.scan_iter("maestro:gateway:*"))  # cooldowns, windows and accounting of an earlier test
    if stale:
        client.delete(*stale)
    yield client
    client.close()


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    return load_key_ring(None, tmp_path)


@pytest.fixture
def gw(r: redis.Redis, redis_url: str, tmp_path: Path, ring: KeyRing) -> Iterator[tuple[str, Gateway]]:
    s = Settings(data_dir=tmp_path, redis_url=redis_url, gateway_refresh_seconds=0.1)
    g = Gateway(s, ring)
    with serving_in_thread(lambda: g.start(host="127.0.0.1", port=0), g.stop) as url:
        yield url, g


def snapshot(sim_a: Sim, sim_b: Sim, ring: KeyRing, **over: Any) -> dict[str, Any]:
    """Two providers on the two simulators (a: OpenAI format, b: Anthropic format), one class `chat`
    taking the alias `fast`, a: cheap, b: dearer."""
    base: dict[str, Any] = {
        "providers": [
            {"name": "prov-a", "kind": "openai", "baseUrl": f"{sim_a.url}/v1", "region": "eu"},
            {"name": "prov-b", "kind": "anthropic", "baseUrl": sim_b.url, "region": "us"},
        ],
        "providerKeys": [
            {"provider": "prov-a", "sealed": ring.seal("sk-provider-a", bound_to=key_binding("prov-a", f"{sim_a.url}/v1"))},
            {"provider": "prov-b", "sealed": ring.seal("sk-provider-b", bound_to=key_binding("prov-b", sim_b.url))},
        ],
        "classes": [
            {
                "name": "chat",
                "match": {"models": ["fast", "sim-*"]},
                "candidates": [
                    {"provider": "prov-a", "model": "sim-small", "price": {"input": 0.15, "output": 0.6}},
                    {"provider": "prov-b", "model": "sim-large", "price": {"input": 3, "output": 15}},
                ],
                "failover": {"backoffMs": 0, "cooldownAfter": 3, "cooldownSeconds": 60},
            }
        ],
        "keys": [{"id": "k1", "prefix": "mk-test", "hash": hashlib.sha256(SECRET.encode()).hexdigest(), "tenant": "t1"}],
    }
    base.update(over)
    return base


def configure(r: redis.Redis, gw: tuple[str, Gateway], doc: dict[str, Any]) -> None:
    version = publish(r, lambda v: Snapshot.model_validate({**doc, "version": v}))
    wait_for(lambda: gw[1].router.version >= version, 30, 0.02)


def route_of(headers: Mapping[str, str]) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in headers["x-maestro-route"].split(";"))


def oai(gw: tuple[str, Gateway], key: str = SECRET) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gw[0]}/v1", api_key=key, max_retries=0)


def chat(gw: tuple[str, Gateway], **kw: Any) -> Any:
    """chat.completions.create, untyped: the SDK's overloads do not follow a **kw call."""
    return oai(gw).chat.completions.create(**kw)


def raw_chat(gw: tuple[str, Gateway], **kw: Any) -> Any:
    return oai(gw).chat.completions.with_raw_response.create(**kw)


def entries(r: redis.Redis, stream: str, field: bytes, count: int | None = None) -> list[dict[str, Any]]:
    """A Redis stream's JSON records, newest first when `count` is given."""
    got: Any = r.xrevrange(stream, count=count) if count else r.xrange(stream)
    return [json.loads(f[field]) for _, f in got]


MSG = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "ship it"}]


def test_openai_clients_get_the_best_candidate_with_the_decision_and_its_scores(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    configure(r, gw, snapshot(sim_a, sim_b, ring))
    raw = raw_chat(gw, model="fast", messages=MSG)
    done = raw.parse()
    assert done.choices[0].message.content == "Simulated reply from sim-a to: be brief ship it"
    assert done.usage is not None and done.usage.prompt_tokens == 4
    route = route_of(raw.headers)
    assert route == {"class": "chat", "provider": "prov-a", "model": "sim-small", "reason": "best score", "attempt": "1"}
    # both candidates, best first, each with its four dimensions; a is 20x cheaper, nothing measured yet
    score = raw.headers["x-maestro-score"]
    assert score.startswith("prov-a/sim-small=1.000 (latency 1.00, cost 1.00, reliability 1.00, policy 1)")
    assert "prov-b/sim-large=" in score and "cost 0.04" in score
    assert raw.headers["traceparent"].startswith("00-")

    # streaming, as the SDK reads it; the gateway asks the provider for usage, the client did not: no usage chunk
    chunks = list(chat(gw, model="fast", messages=MSG, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == done.choices[0].message.content
    assert all(c.usage is None for c in chunks)
    with_usage = list(chat(gw, model="fast", messages=MSG, stream=True, stream_options={"include_usage": True}))
    assert with_usage[-1].usage is not None and with_usage[-1].usage.prompt_tokens == 4
    # the accounting of all three: provider-reported tokens, spend from the price card
    wait_for(lambda: r.xlen(USAGE_STREAM) >= 3, 30, 0.05)
    recs = entries(r, USAGE_STREAM, b"u", 3)
    assert {(x["provider"], x["model"], x["prompt"], x["estimated"]) for x in recs} == {("prov-a", "sim-small", 4, False)}
    rec = recs[0]
    assert rec["usd"] == pytest.approx((4 * 0.15 + rec["completion"] * 0.6) / 1e6) and rec["tenant"] == "t1"


def test_translation_both_ways_streaming_and_not(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    doc = snapshot(sim_a, sim_b, ring)
    doc["classes"].append(
        {
            "name": "claude",
            "priority": 10,
            "match": {"models": ["smart"]},
            "candidates": [{"provider": "prov-b", "model": "sim-large"}],
        }
    )
    configure(r, gw, doc)
    # an OpenAI client, an Anthropic provider
    done = chat(gw, model="smart", messages=MSG)
    assert done.choices[0].message.content == "Simulated reply from sim-b to: be brief ship it"
    assert done.choices[0].finish_reason == "stop" and done.usage is not None and done.usage.prompt_tokens == 4
    chunks = list(chat(gw, model="smart", messages=MSG, stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == done.choices[0].message.content
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == done.usage.completion_tokens
    # an Anthropic client, an OpenAI-format provider (class chat, alias fast)
    ant = anthropic.Anthropic(base_url=gw[0], api_key=SECRET, max_retries=0)
    msg = ant.messages.create(model="fast", max_tokens=64, system="terse", messages=[{"role": "user", "content": "roll back?"}])
    assert msg.content[0].text == "Simulated reply from sim-a to: terse roll back?"  # type: ignore[union-attr]
    assert msg.stop_reason == "end_turn" and msg.usage.input_tokens == 3
    with ant.messages.stream(model="fast", max_tokens=64, messages=[{"role": "user", "content": "roll back?"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == "Simulated reply from sim-a to: roll back?" and final.usage.output_tokens == len(text.split())
    # Anthropic to Anthropic: passed through, usage read from the events
    with ant.messages.stream(model="smart", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as s:
        assert "".join(s.text_stream) == "Simulated reply from sim-b to: hi"
    # what has no equivalent is refused naming the field
    with pytest.raises(openai.BadRequestError) as bad:
        chat(gw, model="smart", messages=MSG, n=2)
    assert bad.value.status_code == 400 and "n" in str(bad.value.body)


def test_failover_cooldown_and_recovery_with_events(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    configure(r, gw, snapshot(sim_a, sim_b, ring))
    sim_a.set(error_rate=1.0, error_status=503)
    raw = raw_chat(gw, model="fast", messages=MSG)
    assert raw.parse().choices[0].message.content == "Simulated reply from sim-b to: be brief ship it"
    assert route_of(raw.headers)["provider"] == "prov-b" and route_of(raw.headers)["attempt"] == "2"
    assert raw.headers["x-maestro-failover"] == "prov-a/sim-small: 503"
    for _ in range(2):
        chat(gw, model="fast", messages=MSG)
    # three failures in a row: prov-a cools down; the next request goes straight to b
    tried = sim_a.stats()["requests"]
    raw = raw_chat(gw, model="fast", messages=MSG)
    assert route_of(raw.headers)["attempt"] == "1" and route_of(raw.headers)["provider"] == "prov-b"
    assert sim_a.stats()["requests"] == tried
    wait_for(lambda: r.hexists("maestro:gateway:cooldowns", "prov-a/sim-small"), 30, 0.05)

    def events() -> list[dict[str, Any]]:
        return [{"type": e["type"], "tenant": e["tenant"], **e["payload"]} for e in entries(r, EVENTS_STREAM, b"e")]

    wait_for(lambda: any(e["type"] == "routing_cooldown" for e in events()), 30, 0.05)
    kinds = [e["type"] for e in events() if e["provider"] == "prov-a"]
    assert kinds.count("routing_failover") == 3 and "routing_cooldown" in kinds
    fo = next(e for e in events() if e["type"] == "routing_failover")
    assert fo["to"] == "prov-b/sim-large" and fo["status"] == 503 and fo["routeClass"] == "chat" and fo["tenant"] == "t1"
    cool = next(e for e in events() if e["type"] == "routing_cooldown")
    assert cool["until"] > time.time() + 30 and "3 failures in a row" in cool["message"]


def test_everything_failing_is_the_providers_error_in_the_clients_format(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    doc = snapshot(sim_a, sim_b, ring)
    doc["classes"].append(
        {
            "name": "solo",
            "priority": 1,
            "match": {"models": ["solo"]},
            "candidates": [{"provider": "prov-a", "model": "sim-small"}],
        }
    )
    doc["classes"][0]["failover"]["cooldownAfter"] = 10
    configure(r, gw, doc)
    sim_a.set(error_rate=1.0, error_status=500)
    sim_b.set(error_rate=1.0, error_status=500)
    with pytest.raises(openai.InternalServerError) as e:
        chat(gw, model="fast", messages=MSG)
    assert e.value.status_code == 502 and "prov-b" in str(e.value) and "simulated failure of sim-b" in str(e.value)
    ant = anthropic.Anthropic(base_url=gw[0], api_key=SECRET, max_retries=0)
    with pytest.raises(anthropic.InternalServerError) as ae:
        ant.messages.create(model="fast", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert ae.value.status_code == 502 and "Provider prov-b" in str(ae.value)
    # a 400 from a provider is the client's request: not failed over, answered as the provider said, named
    sim_a.set(error_rate=1.0, error_status=400)
    sim_b.set(error_rate=0.0)
    tried_b = sim_b.stats()["requests"]
    with pytest.raises(openai.BadRequestError) as bad:
        chat(gw, model="fast", messages=MSG)
    assert "Provider prov-a (sim-small) answered 400" in str(bad.value) and sim_b.stats()["requests"] == tried_b
    # a provider refusing its key is the gateway's configuration, not the client's: the next candidate serves,
    # and with none left the client gets a 502 naming the provider (never a 401 it would read as its own key)
    sim_a.set(error_rate=0.0, api_key="rotated")
    assert route_of(raw_chat(gw, model="fast", messages=MSG).headers)["provider"] == "prov-b"
    with pytest.raises(openai.InternalServerError) as auth:
        chat(gw, model="solo", messages=MSG)
    assert auth.value.status_code == 502 and "Provider prov-a (sim-small) answered 401" in str(auth.value)


def test_pins_downgrade_and_kill_switches(r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing) -> None:
    doc = snapshot(sim_a, sim_b, ring)
    doc["classes"][0]["downgradeTo"] = "prov-a/sim-small"
    doc["pins"] = [{"class": "chat", "provider": "prov-b", "model": "sim-large", "reason": "eval week"}]
    configure(r, gw, doc)
    raw = raw_chat(gw, model="fast", messages=MSG)
    assert route_of(raw.headers)["provider"] == "prov-b" and route_of(raw.headers)["reason"] == "pinned (eval week)"
    # an expired pin routes by score again
    doc["pins"][0]["expiresAt"] = time.time() - 1
    configure(r, gw, doc)
    raw = raw_chat(gw, model="fast", messages=MSG)
    assert route_of(raw.headers)["reason"] == "best score" and route_of(raw.headers)["provider"] == "prov-a"
    # the budget downgrade switch outranks a pin: a breach stops the spending even on a pinned class
    doc["pins"] = [{"class": "chat", "provider": "prov-a", "model": "sim-small", "reason": "eval week"}]
    doc["classes"][0]["downgradeTo"] = "prov-b/sim-large"  # "cheaper" is the class's say; here: prove it is obeyed
    doc["downgraded"] = ["chat"]
    configure(r, gw, doc)
    raw = raw_chat(gw, model="fast", messages=MSG)
    assert route_of(raw.headers)["provider"] == "prov-b" and route_of(raw.headers)["reason"] == "downgraded"
    doc["pins"] = []
    # kill switches: a provider, then the tenant
    doc["downgraded"] = []
    doc["kills"] = [{"scope": "provider", "value": "prov-a", "reason": "incident 42"}]
    configure(r, gw, doc)
    raw = raw_chat(gw, model="fast", messages=MSG)
    assert route_of(raw.headers)["provider"] == "prov-b" and route_of(raw.headers)["attempt"] == "1"
    doc["kills"].append({"scope": "model", "value": "prov-b/sim-large", "reason": "eval"})
    configure(r, gw, doc)
    with pytest.raises(openai.InternalServerError) as none:
        chat(gw, model="fast", messages=MSG)
    assert none.value.status_code == 503 and "incident 42" in str(none.value) and "switched off" in str(none.value)
    doc["kills"] = [{"scope": "tenant", "value": "t1", "reason": "unpaid"}]
    configure(r, gw, doc)
    with pytest.raises(openai.PermissionDeniedError) as tenant:
        chat(gw, model="fast", messages=MSG)
    assert "unpaid" in str(tenant.value)


def test_bad_input_in_each_format(r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing) -> None:
    configure(r, gw, snapshot(sim_a, sim_b, ring))
    with pytest.raises(openai.AuthenticationError):
        oai(gw, key="mk-nope").chat.completions.create(model="fast", messages=MSG)  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError) as nf:
        chat(gw, model="gpt-9", messages=MSG)
    assert nf.value.code == "model_not_found" and "gpt-9" in str(nf.value)
    ant = anthropic.Anthropic(base_url=gw[0], api_key=SECRET, max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as anf:
        ant.messages.create(model="gpt-9", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert anf.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    h = {"authorization": f"Bearer {SECRET}"}
    for body, field in [
        (b"{not json", None),
        (b"[]", None),
        (json.dumps({"messages": MSG}).encode(), "model"),
        (json.dumps({"model": "fast", "messages": []}).encode(), "messages"),
        (json.dumps({"model": "fast", "messages": MSG, "stream": "yes"}).encode(), "stream"),
    ]:
        resp = httpx.post(f"{gw[0]}/v1/chat/completions", content=body, headers=h)
        assert resp.status_code == 400, resp.text
        err = resp.json()["error"]
        assert err["type"] == "invalid_request_error" and err["param"] == field and err["message"]
    resp = httpx.post(f"{gw[0]}/v1/messages", json={"model": "fast", "messages": MSG[1:]}, headers=h)
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in resp.json()["error"]["message"]
    assert httpx.get(f"{gw[0]}/v1/nothing", headers=h).status_code == 404


def test_provider_keys_are_sealed_and_rate_limits_answer_429_with_retry_after(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    doc = snapshot(sim_a, sim_b, ring)
    doc["keys"][0]["rpm"] = 2
    configure(r, gw, doc)
    stored = r.get("maestro:gateway:config")
    assert stored is not None and b"sk-provider-a" not in stored and b"sk-provider-b" not in stored
    for _ in range(2):
        chat(gw, model="fast", messages=MSG)
    raw = httpx.post(
        f"{gw[0]}/v1/chat/completions", json={"model": "fast", "messages": MSG}, headers={"authorization": f"Bearer {SECRET}"}
    )
    assert raw.status_code == 429 and 1 <= int(raw.headers["retry-after"]) <= 60
    assert raw.json()["error"]["code"] == "rate_limit_exceeded" and "2 RPM" in raw.json()["error"]["message"]
    # a key sealed for another provider does not open there: that provider's calls go without a key
    doc["keys"][0]["rpm"] = None
    doc["providerKeys"][0]["sealed"] = ring.seal("sk-provider-a", bound_to=key_binding("prov-b", sim_b.url))
    configure(r, gw, doc)
    assert "prov-a" in (httpx.get(f"{gw[0]}/_gateway/health").json()["configError"] or "")


def test_models_embeddings_and_completions(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    doc = snapshot(sim_a, sim_b, ring)
    doc["classes"].append(
        {
            "name": "embed",
            "priority": 5,
            "match": {"models": ["embed"]},
            "candidates": [{"provider": "prov-a", "model": "sim-embed"}],
        }
    )
    doc["aliases"] = {"t1": {"house-embedder": "embed"}}
    configure(r, gw, doc)
    ids = [m.id for m in oai(gw).models.list()]
    assert ids == ["embed", "fast", "house-embedder"]
    emb = oai(gw).embeddings.create(model="house-embedder", input=["a b", "c"])
    assert len(emb.data) == 2 and len(emb.data[0].embedding) > 0
    done = oai(gw).completions.create(model="fast", prompt="say hi")
    assert done.choices[0].text.endswith("say hi")
    # an Anthropic-only class cannot serve embeddings: refused naming why
    doc["classes"][1]["candidates"] = [{"provider": "prov-b", "model": "sim-embed"}]
    configure(r, gw, doc)
    with pytest.raises(openai.BadRequestError) as bad:
        oai(gw).embeddings.create(model="embed", input="x")
    assert "no Anthropic equivalent" in str(bad.value)


def test_ab_split_is_sticky_per_user_and_follows_the_weights(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    doc = snapshot(sim_a, sim_b, ring)
    doc["classes"][0]["candidates"][0]["weight"] = 80
    doc["classes"][0]["candidates"][1]["weight"] = 20
    doc["classes"][0]["sticky"] = "x-user"
    configure(r, gw, doc)
    seen: dict[str, set[str]] = {}
    with httpx.Client() as c:
        for i in range(200):
            user = f"user-{i % 40}"
            resp = c.post(
                f"{gw[0]}/v1/chat/completions",
                json={"model": "fast", "messages": MSG},
                headers={"authorization": f"Bearer {SECRET}", "x-user": user},
            )
            route = route_of(resp.headers)
            assert route["reason"] == f"a/b split {80 if route['provider'] == 'prov-a' else 20}% (sticky)"
            seen.setdefault(user, set()).add(route["provider"])
    assert all(len(p) == 1 for p in seen.values())  # each user always on the same side
    on_b = sum(1 for p in seen.values() if p == {"prov-b"})
    assert 2 <= on_b <= 16  # 20% of 40 users is 8; a hash split, not an exact one


def test_rpm_limit_shared_by_two_replicas_overshoots_at_most_two_refreshes_of_the_other(
    r: redis.Redis, redis_url: str, tmp_path: Path, sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    """Two gateway replicas, one key with 30 RPM: together they admit at least the limit and at most the
    limit plus what the other replica admitted in two refresh intervals (docs/routing.md)."""
    refresh = 0.5
    doc = snapshot(sim_a, sim_b, ring)
    doc["keys"][0]["rpm"] = 30
    gws = [Gateway(Settings(data_dir=tmp_path, redis_url=redis_url, gateway_refresh_seconds=refresh), ring) for _ in range(2)]
    with (
        serving_in_thread(lambda: gws[0].start(host="127.0.0.1", port=0), gws[0].stop) as u0,
        serving_in_thread(lambda: gws[1].start(host="127.0.0.1", port=0), gws[1].stop) as u1,
    ):
        version = publish(r, lambda v: Snapshot.model_validate({**doc, "version": v}))
        wait_for(lambda: all(g.router.version >= version for g in gws), 30, 0.02)
        if time.time() % 60 > 45:  # keep the burst inside one minute window
            wait_for(lambda: time.time() % 60 < 5, 30, 0.2)
        admitted: list[tuple[int, float]] = []  # (replica, when)
        body = {"model": "fast", "messages": MSG}
        h = {"authorization": f"Bearer {SECRET}"}
        with httpx.Client() as c:
            for i in range(60):
                replica = i % 2
                resp = c.post(f"{(u0, u1)[replica]}/v1/chat/completions", json=body, headers=h)
                assert resp.status_code in (200, 429), resp.text
                if resp.status_code == 200:
                    admitted.append((replica, time.monotonic()))
                else:
                    assert resp.json()["error"]["code"] == "rate_limit_exceeded" and int(resp.headers["retry-after"]) >= 1
        total = len(admitted)
        assert total >= 30
        # the documented bound: what the other replica admitted in two refresh intervals (its rate × 2 intervals)
        span = max(admitted[-1][1] - admitted[0][1], refresh)
        per_interval = max(sum(1 for rep, _ in admitted if rep == k) * refresh / span for k in (0, 1))
        assert total <= 30 + 2 * per_interval + 1, (total, per_interval, span)
        wait_for(lambda: int(r.get(f"maestro:gateway:rl:key:k1:rpm:{int(time.time() // 60)}") or 0) >= total, 30, 0.1)


def test_a_stream_that_breaks_keeps_its_accounting_as_an_estimate(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    """The provider dies mid-stream: the client's connection is cut, the request is accounted with the
    tokens seen (estimated), and an event says so."""
    configure(r, gw, snapshot(sim_a, sim_b, ring))
    sim_a.set(chunk_ms=5000)
    got: list[bytes] = []
    with (
        httpx.Client(timeout=10) as c,
        c.stream(
            "POST",
            f"{gw[0]}/v1/chat/completions",
            json={"model": "fast", "messages": MSG, "stream": True},
            headers={"authorization": f"Bearer {SECRET}"},
        ) as resp,
    ):
        assert resp.status_code == 200
        with pytest.raises(httpx.HTTPError):
            for piece in resp.iter_bytes():
                got.append(piece)
                if len(got) == 1:
                    # the provider stalls past its timeout (set here, where the config model allows seconds)
                    gw[1].router.by_name["chat"].candidates[0].provider.timeout_seconds = 0.3
    assert got and b"data:" in b"".join(got)
    wait_for(lambda: any(x["broken"] for x in entries(r, USAGE_STREAM, b"u")), 30, 0.05)
    rec = next(x for x in entries(r, USAGE_STREAM, b"u") if x["broken"])
    assert rec["estimated"] is True and rec["completion"] >= 1 and rec["prompt"] >= 1 and rec["status"] == 502
    wait_for(lambda: any(json.loads(f[b"e"])["type"] == "routing_stream_broken" for _, f in r.xrange(EVENTS_STREAM)), 30, 0.05)


def test_an_azure_openai_provider_gets_its_deployment_path_api_version_and_key_header(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    doc = snapshot(sim_a, sim_b, ring)
    doc["providers"].append(
        {"name": "azure", "kind": "azure-openai", "baseUrl": f"{sim_a.url}/openai", "apiVersion": "2024-10-21"}
    )
    doc["providerKeys"].append(
        {"provider": "azure", "sealed": ring.seal("sk-provider-a", bound_to=key_binding("azure", f"{sim_a.url}/openai"))}
    )
    doc["classes"].append(
        {"name": "az", "priority": 1, "match": {"models": ["az"]}, "candidates": [{"provider": "azure", "model": "sim-small"}]}
    )
    configure(r, gw, doc)
    before = sim_a.stats()["by_path"].get("/openai/deployments/sim-small/chat/completions", 0)
    done = chat(gw, model="az", messages=MSG)
    assert done.choices[0].message.content == "Simulated reply from sim-a to: be brief ship it"
    assert sim_a.stats()["by_path"]["/openai/deployments/sim-small/chat/completions"] == before + 1
    chunks = list(chat(gw, model="az", messages=MSG, stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == done.choices[0].message.content


def test_the_request_log_keeps_the_attempts_a_failover_abandoned(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    configure(r, gw, snapshot(sim_a, sim_b, ring))
    sim_a.set(error_rate=1.0, error_status=503)
    chat(gw, model="fast", messages=MSG)
    wait_for(lambda: entries(r, USAGE_STREAM, b"u"), 30, 0.05)
    rec = entries(r, USAGE_STREAM, b"u", 1)[0]
    assert rec["provider"] == "prov-b" and rec["attempts"] == 2 and rec["failovers"] == ["prov-a/sim-small: 503"]


def test_hostile_bodies_get_a_400_and_never_cool_a_provider_down(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    """Bodies of the wrong types where the translator expects lists and strings: a 400 (never a hang, a
    cut connection or a provider blamed for it), on fresh and pooled provider connections alike."""
    doc = snapshot(sim_a, sim_b, ring)
    doc["classes"][0]["failover"]["cooldownAfter"] = 1
    configure(r, gw, doc)
    h = {"authorization": f"Bearer {SECRET}"}
    user = [{"role": "user", "content": "x"}]
    hostile = [
        ("/v1/messages", {"model": "fast", "max_tokens": 10, "messages": user, "stop_sequences": 5}),
        ("/v1/messages", {"model": "fast", "max_tokens": 10, "messages": user, "system": [{"type": "text", "text": 5}]}),
        ("/v1/messages", {"model": "fast", "max_tokens": 10, "messages": [{"role": "user", "content": 7}]}),
        ("/v1/chat/completions", {"model": "fast", "messages": [{"role": "assistant", "content": "x", "tool_calls": 5}]}),
    ]
    with httpx.Client(timeout=10) as c:
        for _ in range(3):  # the first time on fresh provider connections, then on pooled ones
            for path, body in hostile:
                resp = c.post(f"{gw[0]}{path}", json=body, headers=h)
                assert resp.status_code in (400, 200), (path, body, resp.status_code, resp.text)
    assert not gw[1].router.shared_cooldowns and all(
        gw[1].router.cooling(cand, time.time()) == 0 for cand in gw[1].router.by_name["chat"].candidates
    )
    assert chat(gw, model="fast", messages=MSG).choices[0].message.content.startswith("Simulated reply")


def test_tpm_limits_count_the_model_the_alias_stands_for_and_expired_keys_are_refused(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    doc = snapshot(sim_a, sim_b, ring)
    doc["aliases"] = {"t1": {"quick": "fast"}}
    doc["limits"] = {"model:fast:tpm": 5}
    configure(r, gw, doc)
    chat(gw, model="quick", messages=MSG)  # about 14 tokens, charged to model fast
    with pytest.raises(openai.RateLimitError):
        chat(gw, model="fast", messages=MSG)
    with pytest.raises(openai.RateLimitError):
        chat(gw, model="quick", messages=MSG)
    doc["limits"] = {}
    doc["keys"][0]["expiresAt"] = time.time() - 1
    configure(r, gw, doc)
    with pytest.raises(openai.AuthenticationError) as expired:
        chat(gw, model="fast", messages=MSG)
    assert "expired" in str(expired.value)


def test_budgets_freeze_and_slow_down_requests_in_their_scope(
    r: redis.Redis, gw: tuple[str, Gateway], sim_a: Sim, sim_b: Sim, ring: KeyRing
) -> None:
    """A frozen budget of the key's tenant refuses with 429 naming it; another tenant's does nothing; a
    provider budget only takes its candidates out; a slowed-down one holds the scope to its RPM."""
    doc = snapshot(sim_a, sim_b, ring)
    doc["budgets"] = [{"id": "b2", "name": "other-team", "tenant": "t2", "frozen": True, "reason": "cap"}]
    configure(r, gw, doc)
    assert route_of(raw_chat(gw, model="fast", messages=MSG).headers)["provider"] == "prov-a"
    doc["budgets"].append({"id": "b1", "name": "team-ai", "tenant": "t1", "frozen": True, "reason": "100% of the cap used"})
    configure(r, gw, doc)
    with pytest.raises(openai.RateLimitError) as refused:
        chat(gw, model="fast", messages=MSG)
    assert refused.value.status_code == 429 and "team-ai" in str(refused.value) and "frozen" in str(refused.value)
    assert refused.value.code == "budget_frozen"
    # the refusal is reported (one record per budget and flush) for the budget's history and the audit log
    got = wait_for(lambda: entries(r, "maestro:gateway:budget-refusals", b"r"), 30, 0.05)
    assert got[0]["budget"] == "b1" and got[0]["count"] >= 1 and got[0]["why"] == "frozen" and got[0]["tenant"] == "t1"
    # a budget on one provider: its candidates are out, the class answers from the other
    doc["budgets"] = [{"id": "b3", "name": "openai-spend", "tenant": "t1", "provider": "prov-a", "frozen": True}]
    configure(r, gw, doc)
    assert route_of(raw_chat(gw, model="fast", messages=MSG).headers)["provider"] == "prov-b"
    # slowed down: 2 requests a minute for the tenant (5 tries cross at least one window's limit)
    doc["budgets"] = [{"id": "b4", "name": "slow-team", "tenant": "t1", "rpm": 2}]
    configure(r, gw, doc)
    codes = []
    for _ in range(5):
        try:
            chat(gw, model="fast", messages=MSG)
            codes.append(200)
        except openai.RateLimitError as exc:
            codes.append(exc.status_code)
            assert "slow-team" in str(exc) and exc.code == "budget_slowdown"
    assert 429 in codes and codes.count(200) <= 4
