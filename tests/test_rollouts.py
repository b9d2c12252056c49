"""Canary rollouts end to end: two real upstream servers behind the edge router, a traffic generator,
RolloutWorkflow walking weights, analysis on the edge's per-version counters, controls, audit."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from maestro.config import Settings
from tests.factories import Caller, login, make_token
from tests.services import free_port, live_api, temporal_cli, update_via_temporal, wait_for
from tests.test_edge import running_edge
from tests.test_runs import register, start, wait_run


class Upstream:
    """A real HTTP server answering with its name; `error_rate` of its answers are 500s."""

    def __init__(self, name: str, error_rate: float = 0.0) -> None:
        self.name, self.error_rate, self.hits = name, error_rate, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                bad = random.random() < outer.error_rate
                body = f"{outer.name}{' error' if bad else ''}".encode()
                self.send_response(500 if bad else 200)  # with its own Server and Date headers
                self.send_header("content-length", str(len(body)))
                self.send_header("set-cookie", f"seen={outer.name}; Path=/")
                self.send_header("set-cookie", "theme=dark; Path=/")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def edge_version(r: httpx.Response) -> str:
    return r.headers.get("x-maestro-version", "?")


class Traffic:
    """Requests at a steady pace; remembers which version answered (by default the edge's
    x-maestro-version header), over time."""

    def __init__(self, url: str, rps: float = 60, version: Callable[[httpx.Response], str] = edge_version) -> None:
        self.url, self.rps, self.version = url, rps, version
        self.seen: list[tuple[float, str, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=5) as c:
            while not self.stop.is_set():
                try:
                    r = c.get(self.url)
                    self.seen.append((time.monotonic(), self.version(r), r.status_code))
                except httpx.HTTPError:
                    self.seen.append((time.monotonic(), "unreachable", 0))
                time.sleep(1 / self.rps)

    def since(self, t0: float) -> Counter[str]:
        return Counter(v for t, v, _ in list(self.seen) if t >= t0)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"edge_refresh_seconds": 0.2})


@pytest.fixture
def edge_url(settings: Settings, workers) -> Iterator[str]:  # type: ignore[no-untyped-def]
    with running_edge(settings) as url:
        yield url


@pytest.fixture
def caller(client: TestClient, workers) -> Caller:  # type: ignore[no-untyped-def]
    return login(client)


@pytest.fixture
def stable() -> Iterator[Upstream]:
    u = Upstream("stable")
    yield u
    u.close()


def service(caller: Caller, name: str, url: str, env: str = "dev") -> dict[str, Any]:
    r = caller.post("/api/services", json={"name": name, "env": env, "stableUrl": url})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def rollout(caller: Caller, svc: str, canary: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    r = caller.post("/api/rollouts", json={"service": svc, "canaryUrl": canary, "steps": steps, "reason": "test"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def wait_rollout(caller: Caller, rid: str, pred, timeout: float = 60) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    def ok() -> dict[str, Any] | None:
        r = caller.get(f"/api/rollouts/{rid}").json()
        return r if pred(r) else None

    return wait_for(ok, timeout, 0.2)  # type: ignore[no-any-return]


def analysis(**kw: Any) -> dict[str, Any]:
    return {"analysis": {"interval": 2, "count": 2, "minRequests": 3, "inconclusiveLimit": 4, **kw}}


def test_a_healthy_canary_walks_to_100_and_becomes_stable(caller: Caller, edge_url: str, stable: Upstream) -> None:
    canary = Upstream("canary")
    service(caller, "shop", stable.url)
    traffic = Traffic(f"{edge_url}/shop/buy")
    try:
        wait_for(lambda: traffic.since(0)["stable"] > 5, 10)
        steps = [{"setWeight": 10}, analysis(), {"setWeight": 25}, analysis(), {"setWeight": 50}, analysis(), {"setWeight": 100}]
        r = rollout(caller, "shop", canary.url, steps)
        done = wait_rollout(caller, r["id"], lambda x: x["status"] in {"succeeded", "rolled_back", "aborted"}, 90)
        assert done["status"] == "succeeded", done["message"]
        weights = [w["weight"] for w in done["weights"]]
        assert [w for w in weights if w in {10, 25, 50, 100}] == [10, 25, 50, 100]
        # a measurement may be inconclusive when a busy machine sends the canary too few requests in its
        # window; a healthy canary never fails one, and every analysis passes at least once
        outcomes = [(a["step"], a["outcome"]) for a in done["analyses"]]
        assert len(outcomes) == 6 and all(o != "failed" for _, o in outcomes), outcomes
        assert {s for s, o in outcomes if o == "passed"} == {1, 3, 5}, outcomes
        # the canary is the stable version now: all traffic goes to it
        svc = next(s for s in caller.get("/api/services").json()["items"] if s["name"] == "shop")
        assert svc["stableUrl"] == canary.url and svc["canaryUrl"] is None and svc["weight"] == 0
        t0 = time.monotonic() + 1
        time.sleep(2)
        hits_before = canary.hits
        time.sleep(1)
        assert traffic.since(t0)["canary"] == 0 and canary.hits > hits_before  # served as "stable" by the new stable
        assert "x-maestro-version" in httpx.get(f"{edge_url}/shop/").headers
        metrics = httpx.get(f"{edge_url}/_edge/metrics").text
        assert 'maestro_edge_requests_total{outcome="2xx",service="shop",version="canary"}' in metrics
        assert 'maestro_edge_request_duration_seconds_bucket{le="0.005",service="shop",version="stable"}' in metrics
    finally:
        traffic.close()
        canary.close()


def test_a_failing_canary_is_rolled_back_automatically_with_an_alert(caller: Caller, edge_url: str, stable: Upstream) -> None:
    canary = Upstream("canary", error_rate=0.5)
    service(caller, "pay", stable.url)
    traffic = Traffic(f"{edge_url}/pay/charge")
    try:
        r = rollout(caller, "pay", canary.url, [{"setWeight": 50}, analysis(count=5), {"setWeight": 100}])
        at50 = wait_rollout(caller, r["id"], lambda x: x["weight"] == 50, 30)
        done = wait_rollout(caller, r["id"], lambda x: x["status"] not in ("running", "rolling_back"), 60)
        assert done["status"] == "rolled_back" and done["weight"] == 0, done
        # The first decided analysis failed and rolled back at once: no later window, no other step.
        # (a window may hold too few canary requests on a busy machine: inconclusive, then decided)
        decided = [a["outcome"] for a in done["analyses"] if a["outcome"] != "inconclusive"]
        assert decided[:1] == ["failed"] and "error_rate" in done["message"], done["analyses"]
        assert done["snapshotSha256"] and at50["weight"] == 50
        # The rollback alert is fired by the activity that follows the rollback: wait for it.
        fingerprint = f"rollout:{r['id']}"

        def rollback_alert() -> dict[str, Any] | None:
            alerts = caller.get("/api/alerts", params={"state": "firing", "limit": 200}).json()["items"]
            return next((a for a in alerts if a["fingerprint"] == fingerprint), None)

        alert = wait_for(rollback_alert, 30, 0.2)
        assert alert["name"] == "RolloutRolledBack" and alert["annotations"]["rolloutId"] == r["id"]
        audit = caller.get("/api/audit", params={"action": "rollout.rollback"}).json()["items"]
        assert [(e["actor"], e["targetId"]) for e in audit] == [("maestro:analysis", r["id"])]
        # From now on every request goes to stable.
        t0 = time.monotonic() + 1.0
        wait_for(lambda: traffic.since(t0)["stable"] > 10 or None, 30, 0.2)
        assert traffic.since(t0)["canary"] == 0
        assert caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "rollback"}).status_code == 409
        # a later good rollout of the service resolves the rollback alert
        fixed = Upstream("canary-fixed")
        try:
            again = rollout(caller, "pay", fixed.url, [{"setWeight": 100}])
            wait_rollout(caller, again["id"], lambda x: x["status"] == "succeeded", 30)
            assert caller.get(f"/api/alerts/{alert['id']}").json()["state"] == "resolved"
        finally:
            fixed.close()
    finally:
        traffic.close()
        canary.close()


def test_pause_holds_the_weight_resume_continues_and_every_action_is_audited(
    caller: Caller, edge_url: str, stable: Upstream
) -> None:
    canary = Upstream("canary")
    service(caller, "api", stable.url)
    traffic = Traffic(f"{edge_url}/api/x")
    try:
        r = rollout(caller, "api", canary.url, [{"setWeight": 30}, {"pause": 2}, {"setWeight": 60}, {"pause": 0}])
        wait_rollout(caller, r["id"], lambda x: x["weight"] == 30, 30)
        act = caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "pause", "reason": "watching dashboards"})
        assert act.status_code == 200 and act.json()["status"] == "paused", act.text
        t0 = time.monotonic() + 0.5
        time.sleep(4)  # longer than the 2 s pause step: the weight holds, traffic keeps flowing
        held = caller.get(f"/api/rollouts/{r['id']}").json()
        assert held["weight"] == 30 and held["status"] == "paused"
        seen = traffic.since(t0)
        assert seen["canary"] > 10 and seen["stable"] > 10 and 0.1 < seen["canary"] / (seen["canary"] + seen["stable"]) < 0.55
        assert caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "pause"}).status_code == 409  # already paused
        release = next(x for x in caller.get("/api/hub").json()["releases"] if x["service"] == "api")
        assert release["canaryWeight"] == 30 and release["rolloutStatus"] == "paused" and release["health"] == "healthy"
        assert release["actions"] == ["resume", "promote", "rollback", "abort"] and release["canaryRequests"] > 0
        caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "resume", "reason": "looks fine"})
        wait_rollout(caller, r["id"], lambda x: x["weight"] == 60 and x["status"] == "paused", 30)
        done = caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "promote", "full": True, "reason": "ship"})
        assert done.status_code == 200, done.text
        final = wait_rollout(caller, r["id"], lambda x: x["status"] == "succeeded", 30)
        assert [h["action"] for h in final["history"]] == ["pause", "resume", "promote-full"]
        audit = caller.get("/api/audit", params={"action": "rollout.*"}).json()["items"]
        by_action = {e["action"]: e for e in audit}
        assert set(by_action) == {"rollout.start", "rollout.pause", "rollout.resume", "rollout.promote"}
        assert all(e["actor"].startswith("user:admin") or e["actor"] == "admin" for e in audit)
    finally:
        traffic.close()
        canary.close()


def test_controls_sent_straight_through_temporal_are_audited(settings: Settings, caller: Caller, stable: Upstream) -> None:
    """A release manager drives the rollout with the documented `temporal workflow update` commands."""
    canary = Upstream("canary")
    service(caller, "ledger", stable.url)
    try:
        r = rollout(caller, "ledger", canary.url, [{"setWeight": 20}, {"pause": 0}, {"setWeight": 100}])
        wait_rollout(caller, r["id"], lambda x: x["status"] == "paused", 30)
        refused = update_via_temporal(settings, r["workflowId"], "resume", {"by": "release-bot"})
        assert refused.returncode != 0 and "control ticket is required" in refused.stderr  # `by` alone proves nothing
        t = caller.post(f"/api/rollouts/{r['id']}/tickets", json={"action": "resume"})
        assert t.status_code == 201, t.text
        assert t.json()["command"].startswith(f"temporal workflow update execute --workflow-id {r['workflowId']} --name resume")
        body = {"ticket": t.json()["ticket"], "reason": "freeze lifted", "by": "someone-else", "via": "api"}
        sent = update_via_temporal(settings, r["workflowId"], "resume", body)
        assert sent.returncode == 0, sent.stderr
        done = wait_rollout(caller, r["id"], lambda x: x["status"] == "succeeded", 30)
        # the ticket's user, not the caller-set `by`/`via`, is recorded and audited
        assert [(h["action"], h["by"], h["via"]) for h in done["history"]] == [("resume", "admin", "temporal")]
        state = temporal_cli(
            settings, "workflow", "query", "--workflow-id", r["workflowId"], "--name", "state", "--output", "json"
        )
        assert state.returncode == 0 and '"succeeded"' in state.stdout, state.stdout + state.stderr
        audit = caller.get("/api/audit", params={"action": "rollout.*"}).json()["items"]
        resumed = next(e for e in audit if e["action"] == "rollout.resume")
        assert resumed["actor"] == "admin" and resumed["targetId"] == r["id"]
        assert [e["action"] for e in audit].count("rollout.ticket") == 1
        assert caller.get("/api/audit/verify").json()["ok"] is True
    finally:
        canary.close()


def test_promote_is_refused_while_analysis_fails(caller: Caller, edge_url: str, stable: Upstream) -> None:
    canary = Upstream("canary", error_rate=0.6)
    service(caller, "cart", stable.url)
    traffic = Traffic(f"{edge_url}/cart/")
    try:
        r = rollout(caller, "cart", canary.url, [{"setWeight": 50}, analysis(count=20, failureLimit=19), {"setWeight": 100}])
        wait_rollout(caller, r["id"], lambda x: any(a["outcome"] == "failed" for a in x["analyses"]), 30)
        refused = caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "promote"})
        assert refused.status_code == 409 and "analysis is failing: error_rate = " in refused.json()["detail"]
        aborted = caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "abort", "reason": "bad build"})
        assert aborted.json()["status"] == "aborted" and aborted.json()["weight"] == 0
    finally:
        traffic.close()
        canary.close()


def test_bad_input(caller: Caller, stable: Upstream) -> None:
    r = caller.post("/api/rollouts", json={"service": "ghost", "canaryUrl": "http://127.0.0.1:9"})
    assert r.status_code == 422 and r.json()["errors"] == [{"field": "service", "message": "unknown service"}]
    service(caller, "web", stable.url)
    r = caller.post("/api/rollouts", json={"service": "web", "canaryUrl": "http://x:1", "steps": [{"setWeight": 150}]})
    assert r.status_code == 422 and "setWeight" in r.text
    r = caller.post("/api/rollouts", json={"service": "web", "canaryUrl": "ftp://x", "steps": [{"setWeight": 10}]})
    assert r.status_code == 422 and "canaryUrl" in r.text
    r = caller.post("/api/rollouts", json={"service": "web", "canaryUrl": "http://x:1", "steps": [{"setWeight": 10, "pause": 1}]})
    assert r.status_code == 422 and "exactly one" in r.text
    for bad in ("forever", "-5s", 0.5):  # a bad duration is the caller's mistake: 422, and nothing is written
        r = caller.post("/api/rollouts", json={"service": "web", "canaryUrl": "http://x:1", "steps": [{"pause": bad}]})
        assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("pause"), r.text
        assert not r.json()["errors"][0]["message"].startswith("Value error"), r.text  # our words, not pydantic's prefix
    same = caller.post("/api/rollouts", json={"service": "web", "canaryUrl": stable.url + "/", "steps": [{"setWeight": 10}]})
    assert same.status_code == 422 and same.json()["errors"] == [
        {"field": "canaryUrl", "message": "same as the service's stable URL"}
    ]
    assert caller.get("/api/rollouts").json()["items"] == []
    assert caller.post("/api/services", json={"name": "web", "env": "dev", "stableUrl": stable.url}).status_code == 409
    # the default steps (no `steps` given): 10 → analysis → 25 → analysis → 50 → analysis → 100
    canary = Upstream("canary")
    d = caller.post("/api/rollouts", json={"service": "web", "canaryUrl": canary.url})
    assert d.status_code == 201, d.text
    assert [next(iter(x)) for x in d.json()["steps"]] == ["setWeight", "analysis"] * 3 + ["setWeight"]
    assert d.json()["steps"][1]["analysis"]["interval"] == 10
    busy = caller.post("/api/rollouts", json={"service": "web", "canaryUrl": canary.url})
    assert busy.status_code == 409 and "still running" in busy.json()["detail"]
    assert caller.post(f"/api/rollouts/{d.json()['id']}/actions", json={"action": "abort"}).json()["status"] == "aborted"
    canary.close()


def test_a_run_is_promoted_into_a_rollout_and_prod_needs_signatures(caller: Caller, edge_url: str, stable: Upstream) -> None:
    register(caller, "name: app\nsteps:\n- {id: build, run: 'mkdir -p d && echo v2 > d/app.txt', artifacts: ['d/*']}\n")
    run = wait_run(caller, start(caller, "app")["id"])
    canary = Upstream("canary")
    try:
        service(caller, "app-dev", stable.url)
        res = caller.post(
            f"/api/runs/{run['id']}/actions",
            json={"action": "promote", "service": "app-dev", "canaryUrl": canary.url, "steps": [{"setWeight": 100}]},
        )
        assert res.status_code == 200, res.text
        ro = wait_rollout(caller, res.json()["detail"], lambda x: x["status"] == "succeeded", 30)
        assert ro["runId"] == run["id"]
        # the run's witness bundle records the rollout: weights over time and who did what
        b = caller.post(f"/api/evidence/run/{run['id']}").json()
        bundle = wait_for(lambda: (x := caller.get(f"/api/evidence/{b['id']}").json())["status"] == "succeeded" and x, 60, 0.3)
        assert bundle["summary"]["rollouts"] == 1
        with zipfile.ZipFile(io.BytesIO(caller.get(bundle["downloadUrl"]).content)) as z:
            snap = json.loads(z.read("rollouts.json"))
        assert snap[0]["id"] == ro["id"] and [w["weight"] for w in snap[0]["weights"]][-1] == 100
        service(caller, "app-prod", stable.url, env="prod")
        denied = caller.post(
            f"/api/runs/{run['id']}/actions", json={"action": "promote", "service": "app-prod", "canaryUrl": canary.url}
        )
        assert denied.status_code == 403 and "d/app.txt is not signed" in denied.text
        assert caller.get("/api/rollouts", params={"service": "app-prod"}).json()["items"] == []
    finally:
        canary.close()


def test_sticky_routing_keeps_a_user_on_one_version() -> None:
    from maestro.edge.routes import Route
    from maestro.edge.server import pick

    route = Route(service="s", stable="http://a", canary="http://b", weight=30, sticky="header:X-User")
    per_user = {u: {pick(route, {"x-user": u}, {}) for _ in range(20)} for u in (f"user-{i}" for i in range(400))}
    assert all(len(v) == 1 for v in per_user.values())  # each user always lands on the same version
    share = sum(v == {"canary"} for v in per_user.values()) / len(per_user)
    assert 0.2 < share < 0.4  # and the users split by the weight
    by_cookie = Route(service="s", stable="http://a", canary="http://b", weight=100, sticky="cookie:uid")
    assert pick(by_cookie, {}, {"uid": "u1"}) == "canary"
    assert pick(Route(service="s", stable="http://a", canary=None, weight=50), {}, {}) == "stable"


def test_the_cli_shows_and_drives_a_rollout(app, caller: Caller, stable: Upstream) -> None:  # type: ignore[no-untyped-def]
    canary = Upstream("canary")
    service(caller, "books", stable.url)
    token = make_token(caller, ["admin:*"])["secret"]
    try:
        r = rollout(caller, "books", canary.url, [{"setWeight": 40}, {"pause": 0}, {"setWeight": 100}])
        wait_rollout(caller, r["id"], lambda x: x["status"] == "paused", 30)
        with live_api(app) as url:

            def cli(*args: str) -> subprocess.CompletedProcess[str]:
                cmd = [sys.executable, "-m", "maestro.cli", "rollout", *args, r["id"], "--url", url, "--token", token]
                return subprocess.run(cmd, capture_output=True, text=True, timeout=60)

            shown = cli("show")
            assert shown.returncode == 0 and "books (dev): paused" in shown.stdout and "at 40%, step 2/3" in shown.stdout
            promoted = cli("promote", "--full")
            assert promoted.returncode == 0, promoted.stderr
            wait_rollout(caller, r["id"], lambda x: x["status"] == "succeeded", 30)
            assert "succeeded" in (done := cli("show")).stdout and "at 0%, all 3 steps done" in done.stdout, done.stdout
            refused = cli("pause")
            assert refused.returncode != 0 and "succeeded" in refused.stderr, refused.stderr
    finally:
        canary.close()


def test_the_edge_passes_every_upstream_header_once(caller: Caller, edge_url: str, stable: Upstream) -> None:
    service(caller, "headers", stable.url)
    r = wait_for(lambda: (x := httpx.get(f"{edge_url}/headers/")).status_code == 200 and x, 10, 0.2)
    assert r.headers.get_list("set-cookie") == ["seen=stable; Path=/", "theme=dark; Path=/"]  # both cookies, in order
    assert len(r.headers.get_list("date")) == 1 and r.headers["x-maestro-version"] == "stable"
    assert r.headers["content-length"] == str(len(r.content)) and r.text == "stable"


def test_a_service_name_is_taken_in_every_tenant(caller: Caller, engine, stable: Upstream) -> None:  # type: ignore[no-untyped-def]
    """Edge routes (and every provider's routing state) are keyed by the service name alone: another
    tenant's "shop" would take over this tenant's traffic."""
    from sqlmodel import Session

    from maestro.domain.models import Tenant
    from maestro.domain.rollouts import Service

    with Session(engine) as s:
        other = Tenant(slug="other", name="Another tenant")
        s.add(other)
        s.flush()
        s.add(Service(tenant_id=other.id, name="shop", env="prod", stable_url="http://10.9.9.9:80", created_by="them"))
        s.commit()
    r = caller.post("/api/services", json={"name": "shop", "env": "dev", "stableUrl": stable.url})
    assert r.status_code == 409 and r.json()["errors"] == [{"field": "name", "message": "already taken"}], r.text
    assert "10.9.9.9" not in r.text and "Another tenant" not in r.text  # nothing about the other tenant's service
    assert service(caller, "shop-2", stable.url)["name"] == "shop-2"
