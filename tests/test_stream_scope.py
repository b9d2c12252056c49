"""Live streams obey scope: every topic delivers an event only to a caller the topic's REST list
would show it to (tenant, environment, permission), a `?run=` subscription 404s like
GET /api/runs/{id}, and an open stream ends when its caller loses access."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import redis
from sqlmodel import Session, select

from maestro.config import Settings
from maestro.domain.models import Environment, LoginSession, RoleBinding, Tenant, User
from maestro.domain.security import hash_password, sha256_hex
from maestro.domain.types import utcnow
from maestro.events.payloads import PolicyDeniedEvent, RunEvent, StepEvent, StreamEvent
from maestro.events.streams import TOPICS, stream_key
from maestro.observability import alerts as alertmod
from tests.factories import PASSWORD, make_runs
from tests.services import live_api, sse_frames

# The REST list each topic mirrors: the stream must answer as it does, event by event.
REST_LIST = {
    "system": "/api/system/info",
    "audit": "/api/audit",
    "runs": "/api/runs",
    "logs": "/api/runs/{run}",
    "alerts": "/api/alerts",
    "rollouts": "/api/rollouts",
    "policies": "/api/policies/decisions",
    "routing": "/api/routing/requests",
    "budgets": "/api/budgets",
}

# Who may see an event of each topic, as its REST list decides: "installation" (the permission
# tenant-wide; every event), "tenant" (the permission tenant-wide; the caller's tenant only), "env"
# (the caller's tenant, environments where it holds the permission), "run" (the run, if readable).
RULE = {
    "system": "installation",
    "audit": "installation",
    "runs": "env",
    "logs": "run",
    "alerts": "tenant",
    "rollouts": "env",
    "policies": "tenant",
    "routing": "tenant",
    "budgets": "tenant",
}

# name -> (role, scope): "tenant" or an environment name
IDENTITIES = {
    "admin": ("admin", "tenant"),
    "tenant-viewer": ("viewer", "tenant"),
    "dev-operator": ("operator", "dev"),
    "dev-security": ("security", "dev"),
    "prod-release-manager": ("release-manager", "prod"),
}


@pytest.fixture
def fast_recheck(settings: Settings) -> Settings:
    settings.sse_recheck_seconds = 0.3
    return settings


@pytest.fixture
def server(fast_recheck: Settings, app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with live_api(app) as url:
        yield url


@pytest.fixture
def server_with_workers(fast_recheck: Settings, workers: Settings, app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with live_api(app) as url:
        yield url


@dataclass
class World:
    tenant_id: str
    envs: dict[str, str]  # name -> id
    runs: dict[str, str]  # env name -> run id


def _world(engine: Any) -> World:
    with Session(engine, expire_on_commit=False) as s:
        tenant = s.exec(select(Tenant).where(Tenant.slug == "default")).one()
        envs = {e.name: e.id for e in s.exec(select(Environment)).all()}
    dev, prod = make_runs(engine, ["dev", "prod"])
    return World(tenant.id, envs, {"dev": dev, "prod": prod})


def _user(engine: Any, world: World, role: str, scope: str) -> User:
    with Session(engine, expire_on_commit=False) as s:
        user = User(tenant_id=world.tenant_id, username=f"u{uuid.uuid4().hex[:8]}", password_hash=hash_password(PASSWORD))
        s.add(user)
        s.flush()
        scope_type, scope_id = ("tenant", world.tenant_id) if scope == "tenant" else ("environment", world.envs[scope])
        s.add(RoleBinding(subject_type="user", subject_id=user.id, role=role, scope_type=scope_type, scope_id=scope_id))
        s.commit()
        return user


def _client(base: str, username: str) -> httpx.Client:
    """A browser-like session (the cookie is Secure: carried by hand over loopback http)."""
    c = httpx.Client(base_url=base, timeout=10)
    r = c.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.cookies.set("maestro_session", r.cookies["maestro_session"])
    c.headers["X-CSRF-Token"] = r.json()["csrfToken"]
    return c


def _frames(
    c: httpx.Client, url: str, until: Callable[[dict[str, Any]], bool], on_open: Callable[[], None]
) -> list[dict[str, Any]]:
    """Open a stream, call ``on_open``, then collect frames (event, data) until ``until(frame)``."""
    out: list[dict[str, Any]] = []
    with c.stream("GET", url, timeout=httpx.Timeout(15)) as r:
        assert r.status_code == 200, r.read()
        watchdog = threading.Timer(30, r.close)  # never hang: a missing event fails the assertion below
        watchdog.daemon = True
        watchdog.start()
        on_open()
        try:
            for frame in sse_frames(r):
                if "event" in frame:
                    out.append(frame)
                    if until(frame):
                        return out
        except httpx.HTTPError:
            pass
        finally:
            watchdog.cancel()
    raise AssertionError(f"the stream never delivered the awaited frame; got {out}")


def _probe(r: redis.Redis, key: str, tenant: str, env: str, marker: str) -> None:
    """An envelope of no real type (producers cannot make one: make_envelope checks types), so no real
    event of the topic is mistaken for it; the route filters by tenant and env alone."""
    probe = {"ts": "2026-11-30T00:00:00Z", "type": "probe", "id": marker, "entity": "probe", "payload": {}}
    r.xadd(stream_key(key), {"e": json.dumps(probe | {"traceId": "", "tenant": tenant, "env": env})})


def test_every_topic_has_a_rest_list_to_mirror() -> None:
    assert set(REST_LIST) == set(TOPICS) == set(RULE), "a new stream topic needs its REST list and rule here"


def test_every_topic_delivers_only_what_its_rest_list_shows(server: str, engine, migrated: Settings) -> None:  # type: ignore[no-untyped-def]
    world = _world(engine)
    r = redis.Redis.from_url(migrated.redis_url)
    checked = 0
    for who, (role, scope) in IDENTITIES.items():
        c = _client(server, _user(engine, world, role, scope).username)
        for topic, rest in REST_LIST.items():
            runs = [world.runs["dev"], world.runs["prod"]] if topic == "logs" else [None]
            for run in runs:
                rest_status = c.get(rest.format(run=run)).status_code
                url = f"/api/streams/{topic}" + (f"?run={run}" if run else "")
                with c.stream("GET", url, timeout=httpx.Timeout(15)) as resp:
                    stream_status = resp.status_code
                    if stream_status != 200:
                        problem = json.loads(resp.read())
                assert stream_status == rest_status, f"{who} on {topic}{'/' + run if run else ''}: REST {rest_status}"
                if stream_status != 200:
                    assert problem["status"] == stream_status and problem["detail"], problem
                    continue
                # Three events: another tenant's, one in prod, one in dev; then a last marker the
                # caller may always see (its own tenant, an environment it reads), ending the read.
                key = f"logs:{run}" if run else topic
                tag = uuid.uuid4().hex[:8]
                readable_env = scope if scope != "tenant" else "dev"
                sent = [("other-tenant", "dev"), (world.tenant_id, "prod"), (world.tenant_id, "dev")]

                def publish(key: str = key, tag: str = tag, sent: list[tuple[str, str]] = sent, env: str = readable_env) -> None:
                    for i, (tenant, ev_env) in enumerate(sent):
                        _probe(r, key, tenant, ev_env, f"{tag}-{i}")
                    _probe(r, key, world.tenant_id, env, f"{tag}-end")

                frames = _frames(c, url, lambda f, tag=tag: f["data"].get("id") == f"{tag}-end", publish)
                got = {f["data"]["id"] for f in frames if f["event"] == "probe"} - {f"{tag}-end"}
                rule = RULE[topic]  # written here, not read from the code under test
                if rule in ("installation", "run"):  # the whole topic (or run) is the boundary
                    want = {0, 1, 2}
                elif rule == "tenant":
                    want = {1, 2}
                else:
                    want = {i for i, (tenant, env) in enumerate(sent) if tenant == world.tenant_id and (scope in ("tenant", env))}
                assert got == {f"{tag}-{i}" for i in want}, f"{who} on {topic}: got {sorted(got)}"
                checked += 1
        c.close()
    assert checked >= 15  # the sweep really read streams, not only refusals


def test_a_run_the_caller_cannot_see_is_a_404_on_the_logs_stream(server: str, engine) -> None:  # type: ignore[no-untyped-def]
    world = _world(engine)
    c = _client(server, _user(engine, world, "operator", "dev").username)
    r = c.get(f"/api/streams/logs?run={world.runs['prod']}")
    assert r.status_code == 404 and r.json()["detail"] == f"No run {world.runs['prod']!r}."
    assert c.get(f"/api/streams/logs?run={uuid.uuid4().hex}").status_code == 404
    assert c.get("/api/streams/logs").status_code == 422


def _ends(c: httpx.Client, url: str, action: Callable[[], None]) -> str:
    frames = _frames(c, url, lambda f: f["event"] == "end", action)
    reason: str = frames[-1]["data"]["reason"]
    return reason


def test_an_open_stream_ends_when_the_session_expires(server: str, engine) -> None:  # type: ignore[no-untyped-def]
    world = _world(engine)
    user = _user(engine, world, "viewer", "tenant")
    c = _client(server, user.username)
    raw = next(ck.value for ck in c.cookies.jar if ck.name == "maestro_session")

    def expire() -> None:
        with Session(engine) as s:
            ls = s.exec(select(LoginSession).where(LoginSession.token_hash == sha256_hex(raw))).one()
            ls.expires_at = utcnow() - timedelta(seconds=1)
            s.add(ls)
            s.commit()

    assert "expired" in _ends(c, "/api/streams/runs", expire)


def test_an_open_stream_ends_when_its_token_is_revoked(server: str, engine) -> None:  # type: ignore[no-untyped-def]
    world = _world(engine)
    user = _user(engine, world, "viewer", "tenant")
    c = _client(server, user.username)
    tok = c.post("/api/tokens", json={"name": "stream", "scopes": ["runs:read"]}).json()
    bearer = httpx.Client(base_url=server, timeout=10, headers={"Authorization": f"Bearer {tok['secret']}"})
    revoke = lambda: c.post(f"/api/tokens/{tok['token']['id']}/revoke").raise_for_status()  # noqa: E731
    assert "revoked" in _ends(bearer, "/api/streams/runs", revoke)
    assert bearer.get("/api/streams/runs").status_code == 401


def test_an_open_stream_ends_when_the_role_binding_is_removed(server: str, engine) -> None:  # type: ignore[no-untyped-def]
    world = _world(engine)
    user = _user(engine, world, "operator", "dev")
    admin = _client(server, _user(engine, world, "admin", "tenant").username)
    c = _client(server, user.username)
    binding = admin.get(f"/api/users/{user.id}/role-bindings").json()["items"][0]

    def unbind() -> None:
        assert admin.delete(f"/api/role-bindings/{binding['id']}").status_code == 204

    reason = _ends(c, "/api/streams/rollouts", unbind)
    assert "rollouts:read" in reason
    assert c.get("/api/streams/rollouts").status_code == 403


def test_events_carry_their_tenant_and_environment(server: str, engine, migrated: Settings) -> None:  # type: ignore[no-untyped-def]
    """What producers publish says whose it is (the REST payload alone would not)."""
    world = _world(engine)
    c = _client(server, _user(engine, world, "admin", "tenant").username)

    alert = alertmod.synthetic(engine, tenant_id=world.tenant_id, nonce=uuid.uuid4().hex[:8], actor="test", public_url=server)

    def ack() -> None:
        acked = c.post(f"/api/alerts/{alert.id}/ack", json={})
        assert acked.status_code == 200, acked.text

    frames = _frames(c, "/api/streams/alerts", lambda f: f["event"] == "alert_acked", ack)
    assert frames[-1]["data"]["tenant"] == world.tenant_id
    raw = redis.Redis.from_url(migrated.redis_url).xrevrange(stream_key("alerts"), count=1)
    assert json.loads(raw[0][1][b"e"])["tenant"] == world.tenant_id


def test_real_producers_say_whose_their_events_are(server_with_workers: str, engine) -> None:  # type: ignore[no-untyped-def]
    """The runs projection and the policy gate, not probes: a staging run's events carry the tenant
    and staging; a recorded denial carries the tenant."""
    world = _world(engine)
    c = _client(server_with_workers, _user(engine, world, "admin", "tenant").username)
    spec = "name: producer-check\nsteps:\n- {id: a, run: 'true'}\n"
    assert c.post("/api/pipelines", json={"spec": spec}).status_code == 201
    started: list[str] = []

    def start() -> None:
        r = c.post("/api/runs", json={"pipeline": "producer-check", "env": "staging"})
        assert r.status_code == 201, r.text
        started.append(r.json()["id"])

    frames = _frames(c, "/api/streams/runs", lambda f: f["event"] == "run_completed" and f["data"]["id"] in started, start)
    mine = [f["data"] for f in frames if f["data"].get("id") in started]
    assert mine and all(e["tenant"] == world.tenant_id and e["env"] == "staging" for e in mine), mine
    # each is what the OpenAPI document says the stream carries, under its own event name
    typed = [(f["event"], StreamEvent.model_validate(f["data"]).root) for f in frames if f["data"].get("id") in started]
    assert all(name == ev.type for name, ev in typed)
    step_started = [ev for _, ev in typed if isinstance(ev, StepEvent) and ev.type == "step_started"]
    assert step_started and all(ev.payload.started_at is not None for ev in step_started), (
        "step_started carries the runner's start"
    )
    done = [ev for _, ev in typed if isinstance(ev, RunEvent) and ev.type == "run_completed"]
    assert done and done[-1].payload.status == "succeeded" and done[-1].payload.steps_done == 1
    bad = {"env": "prod", "artifacts": [{"path": "app.whl", "sha256": "a" * 64, "signed": False}]}

    def deny() -> None:
        r = c.post("/api/policies/evaluate", json={"point": "promote", "input": bad, "dryRun": False})
        assert r.status_code == 200 and r.json()["allowed"] is False, r.text

    frames = _frames(c, "/api/streams/policies", lambda f: f["event"] == "policy_denied", deny)
    assert frames[-1]["data"]["tenant"] == world.tenant_id
    denied = StreamEvent.model_validate(frames[-1]["data"]).root
    assert isinstance(denied, PolicyDeniedEvent) and denied.payload.reasons and denied.payload.point == "promote"
