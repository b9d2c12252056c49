"""SSE over Redis Streams: live events, heartbeats, and Last-Event-ID resume losing nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from maestro.config import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.services import live_api, sse_frames


@pytest.fixture
def server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with live_api(app) as url:
        yield url


def _login(base: str) -> httpx.Client:
    # the session cookie is Secure; over plain-http loopback we use an API token instead
    c = httpx.Client(base_url=base, timeout=10)
    r = c.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    csrf = r.json()["csrfToken"]
    c.cookies.set("maestro_session", r.cookies["maestro_session"])
    tok = c.post("/api/tokens", json={"name": "sse", "scopes": ["admin:*"]}, headers={"X-CSRF-Token": csrf}).json()
    c.cookies.clear()
    c.headers["Authorization"] = f"Bearer {tok['secret']}"
    return c


def read_events(c: httpx.Client, n: int, *, last_id: str | None = None, topic: str = "audit", on_open=None) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    """Read ``n`` events (id, event, data) from a stream, then disconnect."""
    headers = {"Last-Event-ID": last_id} if last_id else {}
    out: list[dict] = []  # type: ignore[type-arg]
    deadline = time.monotonic() + 20  # heartbeats keep the socket busy: bound the wait ourselves
    with c.stream("GET", f"/api/streams/{topic}", headers=headers, timeout=httpx.Timeout(15)) as r:
        # a watchdog: if nothing at all arrives, close the socket so the read fails instead of hanging
        watchdog = threading.Timer(25, r.close)
        watchdog.daemon = True
        watchdog.start()
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        if on_open:
            on_open()
        for frame in sse_frames(r):
            assert time.monotonic() < deadline, f"only {len(out)} of {n} events arrived"
            if "id" in frame:
                out.append(frame)
                if len(out) == n:
                    break
        watchdog.cancel()
    assert len(out) == n, f"the stream ended after {len(out)} of {n} events"
    return out


def _mint(c: httpx.Client, name: str) -> str:
    r = c.post("/api/tokens", json={"name": name, "scopes": ["system:read"]})
    assert r.status_code == 201
    return str(r.json()["token"]["id"])


def test_resume_after_disconnect_loses_no_event(server: str) -> None:
    c = _login(server)
    created: list[str] = []
    # 1) live: connect, then cause an event
    first = read_events(c, 1, on_open=lambda: created.append(_mint(c, "a")))
    assert first[0]["event"] == "audit_appended"
    env = first[0]["data"]
    assert set(env) == {"ts", "type", "id", "entity", "payload", "traceId", "tenant", "env"}
    assert env["payload"]["targetId"] == created[0] and env["payload"]["action"] == "token.create"
    # 2) while disconnected, three more changes happen
    missed = [_mint(c, n) for n in ("b", "c", "d")]
    # 3) reconnect with Last-Event-ID: exactly the missed events, in order
    resumed = read_events(c, 3, last_id=first[0]["id"])
    assert [e["data"]["payload"]["targetId"] for e in resumed] == missed
    assert [e["id"] for e in resumed] == sorted(e["id"] for e in resumed)


def test_heartbeats_keep_idle_streams_alive(server: str, migrated: Settings) -> None:
    c = _login(server)
    comments = 0
    with c.stream("GET", "/api/streams/system", timeout=httpx.Timeout(10)) as r:
        for line in r.iter_lines():
            if line.startswith(": heartbeat"):
                comments += 1
                if comments == 2:
                    break
    assert comments == 2


def test_unknown_topic_and_permissions(server: str, engine) -> None:  # type: ignore[no-untyped-def]
    c = _login(server)
    r = c.get("/api/streams/nope")
    assert r.status_code == 404 and "audit" in r.json()["remediation"]
    assert httpx.get(f"{server}/api/streams/audit").status_code == 401
    r = c.get("/api/streams/audit", headers={"Last-Event-ID": "garbage"})
    assert r.status_code == 422


def test_health_changes_are_streamed(app, migrated: Settings) -> None:  # type: ignore[no-untyped-def]
    from maestro.api.app import create_app

    live = create_app(migrated.model_copy(update={"health_interval_seconds": 0.2}), start_background=True)
    with live_api(live) as url:
        c = _login(url)
        events = read_events(c, 1, topic="system", last_id="0")
    payload = events[0]["data"]["payload"]
    assert events[0]["event"] == "health_changed"
    assert payload["status"] == "ok" and set(payload["checks"]) == {"temporal", "redis", "db"}


def test_streams_are_not_compressed(server: str) -> None:
    c = _login(server)
    with c.stream("GET", "/api/streams/system", headers={"Accept-Encoding": "gzip"}, timeout=httpx.Timeout(5)) as r:
        assert "content-encoding" not in r.headers
        assert next(r.iter_lines()).startswith("retry:")
