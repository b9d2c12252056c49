"""The HAProxy traffic provider against a real HAProxy (Debian's 2.6): a frontend, one backend with the
servers `stable` and `canary` in front of two real upstream HTTP servers, the admin socket, master-worker
mode so the tests can reload it. Canaries walk through the API; traffic goes through HAProxy's frontend;
analysis reads HAProxy's own counters, sampled by the control worker's sync loop."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redislib
from fastapi.testclient import TestClient
from pydantic import ValidationError

from maestro.config import Settings
from maestro.edge import routes as edge
from maestro.rollouts import providers
from maestro.rollouts.providers.haproxy import HAProxyConfig, counter_delta
from tests.factories import Caller, login
from tests.services import free_port, wait_for
from tests.test_rollouts import Traffic, Upstream, analysis, rollout, wait_rollout

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
FINISHED = {"succeeded", "rolled_back", "aborted"}


def ask(sock: Path | str, cmd: str) -> str:
    """One command on an HAProxy CLI socket (the admin socket or the master's)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(sock))
        s.sendall(cmd.encode() + b"\n")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out.decode()


def servers(sock: Path, backend: str = "app") -> dict[str, dict[str, str]]:
    """`show servers state` as HAProxy prints it: server → column → value."""
    lines = ask(sock, f"show servers state {backend}").splitlines()
    header = lines[1][2:].split()
    rows = [dict(zip(header, ln.split(), strict=False)) for ln in lines[2:] if ln.strip()]
    return {r["srv_name"]: r for r in rows}


class HAProxy:
    """A real HAProxy in master-worker mode: frontend → backend `app` {stable, canary}."""

    def __init__(self, tmp: Path, stable: Upstream, *, extra_backend: str = "") -> None:
        assert Path(HAPROXY).exists(), "haproxy missing: run `make test-deps` (installs Debian's haproxy)"
        self.dir = tmp
        self.admin = tmp / "admin.sock"
        self.user_socket = tmp / "user.sock"
        self.master = tmp / "master.sock"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        stable_port = stable.server.server_port
        cfg = tmp / "haproxy.cfg"
        cfg.write_text(
            f"""global
    stats socket {self.admin} level admin mode 600
    stats socket {self.user_socket} level user mode 600
    nbthread 1

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s

frontend web
    bind 127.0.0.1:{self.port}
    default_backend app

backend app
    balance roundrobin
    server stable 127.0.0.1:{stable_port} weight 100
    server canary 127.0.0.1:1 weight 0 disabled
{extra_backend}"""
        )
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.log = (tmp / "haproxy.log").open("w")
        self.proc = subprocess.Popen(
            [HAPROXY, "-W", "-S", str(self.master), "-f", str(cfg)], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.pid = wait_for(self._worker_pid, 30, 0.1)

    def _worker_pid(self) -> str | None:
        assert self.proc.poll() is None, (self.dir / "haproxy.log").read_text()
        try:
            info = ask(self.admin, "show info")
        except OSError:
            return None
        return next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("Pid:")), None)

    def reload(self) -> None:
        """What `systemctl reload haproxy` does: a new worker reads haproxy.cfg again."""
        before = self.pid
        ask(self.master, "reload")
        self.pid = wait_for(lambda: (p := self._worker_pid()) and p != before and p, 30, 0.1)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def upstream_name(r: httpx.Response) -> str:
    """Which upstream answered (HAProxy adds no header: the upstreams answer with their name)."""
    return r.text.split(" ")[0] if r.text else "?"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"provider_sync_seconds": 0.5, "provider_resources": ["haproxy:/run/a.sock/*", "haproxy:/run/b.sock/shop"]}
    )


@pytest.fixture
def stable() -> Iterator[Upstream]:
    u = Upstream("stable")
    yield u
    u.close()


@pytest.fixture
def haproxy(tmp_path: Path, stable: Upstream, settings: Settings) -> Iterator[HAProxy]:
    # a short directory: a unix socket path must fit in 108 bytes
    d = Path(f"/tmp/mhx-{tmp_path.name[-20:]}-{free_port()}")
    d.mkdir()
    # the operator lists the sockets providers may use (the API's and the worker's settings share this list)
    settings.provider_resources[:] = [f"haproxy:{d}/*"]
    h = HAProxy(d, stable, extra_backend="backend lonely\n    server stable 127.0.0.1:1 weight 100\n")
    yield h
    h.close()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def caller(client: TestClient, workers) -> Caller:  # type: ignore[no-untyped-def]
    return login(client)


def post_service(caller: Caller, name: str, url: str, config: dict[str, Any]) -> httpx.Response:
    body = {"name": name, "env": "dev", "stableUrl": url, "provider": "haproxy", "providerConfig": config}
    return caller.post("/api/services", json=body)


def register(caller: Caller, name: str, url: str, config: dict[str, Any]) -> dict[str, Any]:
    r = post_service(caller, name, url, config)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def share_of(seen: Counter[str], name: str) -> float:
    answered = sum(n for v, n in seen.items() if v in {"stable", "canary"})
    return seen[name] / answered if answered else 0.0


# ---- through the API, with the worker's sync loop -------------------------------------------------


def test_a_failing_canary_is_rolled_back_and_haproxy_stops_sending_it_traffic(
    caller: Caller, haproxy: HAProxy, stable: Upstream
) -> None:
    canary = Upstream("canary", error_rate=0.5)
    register(caller, "pay", stable.url, {"adminSocket": str(haproxy.admin), "backend": "app"})
    traffic = Traffic(haproxy.url, 40, version=upstream_name)
    try:
        steps = [{"setWeight": 50}, {"pause": 0}, analysis(count=5), {"setWeight": 100}]
        r = rollout(caller, "pay", canary.url, steps)
        wait_rollout(caller, r["id"], lambda x: x["weight"] == 50 and x["status"] == "paused", 60)
        state = servers(haproxy.admin)
        assert (state["canary"]["srv_port"], state["canary"]["srv_uweight"]) == (str(canary.server.server_port), "50")
        assert state["stable"]["srv_uweight"] == "50" and state["canary"]["srv_admin_state"] in {"0", "4"}  # ready
        assert caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "resume"}).status_code == 200
        done = wait_rollout(caller, r["id"], lambda x: x["status"] in FINISHED, 90)
        assert done["status"] == "rolled_back" and done["weight"] == 0, done
        decided = [a for a in done["analyses"] if a["outcome"] != "inconclusive"]
        assert decided[0]["outcome"] == "failed" and "error_rate" in done["message"], done["analyses"]
        # HAProxy's canary server: weight 0, in maintenance; everything goes to stable again
        state = servers(haproxy.admin)
        assert state["canary"]["srv_uweight"] == "0" and int(state["canary"]["srv_admin_state"]) & 1
        assert state["stable"]["srv_uweight"] == "100" and state["stable"]["srv_port"] == str(stable.server.server_port)
        t0 = time.monotonic() + 0.5
        hits = wait_for(lambda: (c := traffic.since(t0))["stable"] >= 40 and c, 60, 0.2)
        assert hits["canary"] == 0, hits
    finally:
        traffic.close()
        canary.close()


def test_a_rollback_while_haproxy_is_down_is_retried_until_it_answers(caller: Caller, haproxy: HAProxy, stable: Upstream) -> None:
    """Weight 0 cannot be applied: the rollout is rolling_back with RolloutStuck firing, and finishes
    (alert resolved) once HAProxy answers again."""
    canary = Upstream("canary")
    register(caller, "ship", stable.url, {"adminSocket": str(haproxy.admin), "backend": "app"})
    try:
        r = rollout(caller, "ship", canary.url, [{"setWeight": 30}, {"pause": 0}, {"setWeight": 100}])
        wait_rollout(caller, r["id"], lambda x: x["status"] == "paused" and x["weight"] == 30, 60)
        haproxy.close()  # the provider is gone
        answer = caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "rollback", "reason": "bad canary"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "rolling_back" and answer.json()["rollout"]["status"] == "rolling_back"

        def stuck_alert() -> dict[str, Any] | None:
            items = caller.get("/api/alerts", params={"state": "firing", "limit": 200}).json()["items"]
            return next((a for a in items if a["name"] == "RolloutStuck" and a["labels"]["service"] == "ship"), None)

        alert = wait_for(stuck_alert, 60, 0.5)
        assert alert["severity"] == "page" and "weight 0 could not be applied" in alert["annotations"]["summary"]
        assert alert["annotations"]["runbook_url"].endswith("/runbooks/rollout-stuck")
        busy = caller.get(f"/api/rollouts/{r['id']}").json()
        assert busy["status"] == "rolling_back" and "stuck rolling back" in busy["message"] and busy["finishedAt"] is None
        # HAProxy is back (a new process, the same admin socket): the retry takes, the rollout ends
        back = HAProxy(haproxy.dir, stable)
        try:
            done = wait_rollout(caller, r["id"], lambda x: x["status"] == "rolled_back", 120)
            assert done["weight"] == 0 and done["snapshotSha256"]
            assert [h["action"] for h in done["history"]] == ["rollback"]
            state = servers(back.admin)
            assert state["canary"]["srv_uweight"] == "0" and state["stable"]["srv_uweight"] == "100"
            resolved = caller.get(f"/api/alerts/{alert['id']}").json()
            assert resolved["state"] == "resolved" and "weight 0 applied after" in resolved["annotations"]["summary"]
        finally:
            back.close()
    finally:
        canary.close()


def test_a_healthy_canary_promotes_and_the_stable_server_then_points_at_it(
    caller: Caller, haproxy: HAProxy, stable: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="maestro.rollouts")
    began = time.monotonic()
    canary = Upstream("canary")
    # a second service whose HAProxy never answers: the loop warns about it and carries on with the others
    register(caller, "ghost", stable.url, {"adminSocket": str(haproxy.dir / "nobody.sock"), "backend": "app"})
    register(caller, "shop", stable.url, {"adminSocket": str(haproxy.admin), "backend": "app"})
    traffic = Traffic(haproxy.url, 40, version=upstream_name)
    try:
        steps = [{"setWeight": 20}, analysis(), {"setWeight": 60}, analysis(), {"setWeight": 100}]
        r = rollout(caller, "shop", canary.url, steps)
        at60 = wait_rollout(caller, r["id"], lambda x: x["weight"] == 60 or x["status"] in FINISHED, 90)
        assert at60["weight"] == 60, at60
        t0 = time.monotonic() + 0.5
        seen = wait_for(lambda: (c := traffic.since(t0))["canary"] + c["stable"] >= 60 and c, 60, 0.2)
        if servers(haproxy.admin)["canary"]["srv_uweight"] == "60":  # (the rollout may have moved on meanwhile)
            assert 0.45 < share_of(seen, "canary") < 0.75, seen
        done = wait_rollout(caller, r["id"], lambda x: x["status"] in FINISHED, 120)
        assert done["status"] == "succeeded", done["message"]
        # analysis measured HAProxy's counters of the canary server: every analysis passed at least once
        outcomes = [(a["step"], a["outcome"]) for a in done["analyses"]]
        assert all(o != "failed" for _, o in outcomes) and {s for s, o in outcomes if o == "passed"} == {1, 3}, outcomes
        passed = next(a for a in done["analyses"] if a["outcome"] == "passed")
        assert passed["requests"] >= 3 and f"in {passed['requests']} canary requests" in passed["detail"], passed
        # the stable server now points at the former canary's address; the canary server is off
        state = servers(haproxy.admin)
        assert (state["stable"]["srv_addr"], state["stable"]["srv_port"]) == ("127.0.0.1", str(canary.server.server_port))
        assert state["stable"]["srv_uweight"] == "100" and state["canary"]["srv_uweight"] == "0"
        assert int(state["canary"]["srv_admin_state"]) & 1  # in maintenance
        t1 = time.monotonic() + 0.5
        hits = wait_for(lambda: (c := traffic.since(t1))["canary"] >= 40 and c, 60, 0.2)
        assert hits["stable"] == 0, hits  # every answer now comes from the former canary
        svc = next(s for s in caller.get("/api/services").json()["items"] if s["name"] == "shop")
        assert svc["stableUrl"] == canary.url and svc["canaryUrl"] is None
        # rate-limited: the first failure, then at most one warning a minute (the loop ran every 0.5 s)
        ghost = [rec for rec in caplog.records if rec.levelno == logging.WARNING and "service ghost" in rec.getMessage()]
        assert 1 <= len(ghost) <= 1 + (time.monotonic() - began) // 60, [g.getMessage() for g in ghost]
        assert "nobody.sock does not answer" in ghost[0].getMessage(), ghost[0].getMessage()
    finally:
        traffic.close()
        canary.close()


def test_a_reload_mid_rollout_forgets_the_weights_and_the_sync_loop_restores_them(
    caller: Caller, haproxy: HAProxy, stable: Upstream, caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    caplog.set_level(logging.INFO, logger="maestro.rollouts")
    canary = Upstream("canary")
    register(caller, "books", stable.url, {"adminSocket": str(haproxy.admin), "backend": "app"})
    traffic = Traffic(haproxy.url, 40, version=upstream_name)
    try:
        r = rollout(caller, "books", canary.url, [{"setWeight": 50}, {"pause": 0}, {"setWeight": 100}])
        wait_rollout(caller, r["id"], lambda x: x["status"] == "paused", 60)
        assert servers(haproxy.admin)["canary"]["srv_uweight"] == "50"
        caplog.clear()
        old_pid = haproxy.pid
        haproxy.reload()  # the new worker starts from haproxy.cfg: stable 100, canary disabled at 127.0.0.1:1
        assert haproxy.pid != old_pid

        def restored() -> bool:
            s = servers(haproxy.admin)["canary"]
            return (s["srv_uweight"], s["srv_port"], s["srv_admin_state"]) in {
                ("50", str(canary.server.server_port), a) for a in ("0", "4")
            }

        wait_for(restored, 30, 0.1)
        assert servers(haproxy.admin)["stable"]["srv_uweight"] == "50"
        noticed = [rec.getMessage() for rec in caplog.records if "re-applying" in rec.getMessage()]
        assert any("route of books" in m and "canary: weight 0" in m for m in noticed), noticed
        t0 = time.monotonic() + 0.5
        seen = wait_for(lambda: (c := traffic.since(t0))["canary"] + c["stable"] >= 60 and c, 60, 0.2)
        assert 0.35 < share_of(seen, "canary") < 0.65, seen
        # the counters of the new process count from zero: the canary's traffic keeps being measured
        rds = redislib.Redis.from_url(settings.effective_redis_url)
        wait_for(lambda: edge.window(rds, "books", "canary", 3).requests > 10, 30, 0.2)
        caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "resume", "reason": "reload survived"})
        done = wait_rollout(caller, r["id"], lambda x: x["status"] in FINISHED, 60)
        assert done["status"] == "succeeded", done
        assert servers(haproxy.admin)["stable"]["srv_port"] == str(canary.server.server_port)
    finally:
        traffic.close()
        canary.close()


# ---- the settings, apply's refusals, the counters ----------------------------------------------


def test_haproxy_settings_are_checked_and_a_bad_one_is_a_422_naming_it(client: TestClient, migrated: Settings) -> None:
    ok = HAProxyConfig.model_validate({"adminSocket": "/run/haproxy/admin.sock", "backend": "shop"})
    assert (ok.stable_server, ok.canary_server, ok.timeout_seconds) == ("stable", "canary", 2.0)
    for good in ("127.0.0.1:9999", "haproxy.internal:9999", "[::1]:9999"):
        assert HAProxyConfig.model_validate({"adminSocket": good, "backend": "b"}).admin_socket == good
    bad: list[tuple[dict[str, Any], str]] = [
        ({"adminSocket": "admin.sock", "backend": "b"}, "adminSocket"),
        ({"adminSocket": "127.0.0.1:99999", "backend": "b"}, "adminSocket"),
        ({"adminSocket": "/x/" + "a" * 200, "backend": "b"}, "adminSocket"),
        ({"adminSocket": "/run/a.sock", "backend": "shop; shutdown sessions"}, "backend"),
        ({"adminSocket": "/run/a.sock", "backend": "b", "canaryServer": "can ary"}, "canaryServer"),
        ({"adminSocket": "/run/a.sock", "backend": "b", "stableServer": "x", "canaryServer": "x"}, "canaryServer"),
        ({"adminSocket": "/run/a.sock", "backend": "b\nset weight b/s 100"}, "backend"),
        ({"adminSocket": "/run/a.sock"}, "backend"),
        ({"adminSocket": "/run/a.sock", "backend": "b", "weights": 3}, "weights"),
    ]
    for config, field in bad:
        with pytest.raises(ValidationError) as e:
            HAProxyConfig.model_validate(config)
        assert {err["loc"][0] for err in e.value.errors()} == {field}, (config, e.value)
    caller = login(client)
    r = post_service(caller, "web", "http://127.0.0.1:8000", {"adminSocket": "/run/a.sock", "backend": "we b"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "providerConfig.backend", r.text
    r = post_service(caller, "web", "http://127.0.0.1:8000/app", {"adminSocket": "/run/a.sock", "backend": "web"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "stableUrl", r.text
    assert "cannot add a path" in r.json()["errors"][0]["message"] and "http://127.0.0.1:8000" in r.json()["errors"][0]["message"]
    # a socket the operator did not list: a tenant's settings never make the worker open it
    for socket_ in ("/var/run/docker.sock", "127.0.0.1:6379"):
        r = post_service(caller, "web", "http://127.0.0.1:8000", {"adminSocket": socket_, "backend": "web"})
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        assert error["field"] == "providerConfig.adminSocket", error
        assert (
            f"haproxy:{socket_}/web is not allowed here" in error["message"] and "MAESTRO_PROVIDER_RESOURCES" in error["message"]
        )
        assert f"haproxy:{socket_}/web" in r.json()["remediation"]
    # a listed socket, but a backend the operator did not list on it: the backend is named
    r = post_service(caller, "web", "http://127.0.0.1:8000", {"adminSocket": "/run/b.sock", "backend": "web"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "providerConfig.backend", r.text
    listed = {p["name"]: p for p in caller.get("/api/services/providers").json()["items"]}
    assert listed["haproxy"]["docs"] == "docs/providers/haproxy.md"
    assert set(listed["haproxy"]["configSchema"]["required"]) == {"adminSocket", "backend"}


def _provider(settings: Settings, config: dict[str, Any]) -> Any:
    route = edge.Route(service="svc", stable="http://127.0.0.1:1", provider="haproxy", provider_config=config)
    return providers.provider_for(route, redis=redislib.Redis.from_url(settings.effective_redis_url), settings=settings)


def test_apply_says_what_haproxy_said_when_it_refuses(settings: Settings, haproxy: HAProxy, stable: Upstream) -> None:
    closed_port = f"127.0.0.1:{free_port()}"
    settings.provider_resources.append(f"haproxy:{closed_port}/*")
    canary = Upstream("canary")
    try:
        route = edge.Route(service="svc", stable=stable.url, canary=canary.url, weight=30, provider="haproxy")
        cases = [
            ({"adminSocket": str(haproxy.dir / "gone.sock"), "backend": "app"}, "gone.sock does not answer"),
            ({"adminSocket": str(haproxy.admin), "backend": "nope"}, "refused `show servers state nope`: Can't find backend."),
            (
                {"adminSocket": str(haproxy.admin), "backend": "lonely"},
                "backend 'lonely' has no server 'canary' (its servers: stable)",
            ),
            ({"adminSocket": str(haproxy.user_socket), "backend": "app"}, "Permission denied"),
            ({"adminSocket": closed_port, "backend": "app"}, "does not answer"),
        ]
        for config, said in cases:
            with pytest.raises(providers.ProviderUnavailable) as e:
                _provider(settings, config).apply(route)
            assert said in str(e.value), (config, str(e.value))
        unresolvable = edge.Route(service="svc", stable="http://no-such-host.invalid:80", provider="haproxy")
        with pytest.raises(providers.ProviderUnavailable, match=r"cannot resolve 'no-such-host\.invalid'"):
            _provider(settings, {"adminSocket": str(haproxy.admin), "backend": "app"}).apply(unresolvable)
        # applied twice: the second changes nothing (absolute weights); a hostname is resolved for HAProxy
        p = _provider(settings, {"adminSocket": str(haproxy.admin), "backend": "app"})
        by_name = edge.Route(
            service="svc",
            stable=stable.url,
            canary=f"http://localhost:{canary.server.server_port}",
            weight=30,
            provider="haproxy",
        )
        p.apply(by_name)
        p.apply(by_name)
        again = servers(haproxy.admin)
        assert [(again[s]["srv_uweight"], again[s]["srv_port"]) for s in ("stable", "canary")] == [
            ("70", str(stable.server.server_port)),
            ("30", str(canary.server.server_port)),
        ]
        assert again["canary"]["srv_addr"] in {"127.0.0.1", "::1"}
        with pytest.raises(providers.ProviderUnavailable, match="no traffic counters from HAProxy"):
            p.window("canary", 10)  # no worker samples this service here
    finally:
        canary.close()


def test_counter_deltas_across_a_reload() -> None:
    def c(req: int, err5: int = 0, econ: int = 0, eresp: int = 0, rtime: int = 4, rmax: int = 20) -> dict[str, int]:
        return {"req_tot": req, "hrsp_5xx": err5, "econ": econ, "eresp": eresp, "rtime": rtime, "rtime_max": rmax}

    # 10 more responses, 3 of them 5xx, 2 failed connects: 12 requests, 5 errors; the max did not rise:
    # all 10 responses at the 4 ms average (the 5 ms bucket and up), the failed connects in no bucket
    d = counter_delta(c(100, 7, 1), c(110, 10, 3))
    assert (d["req"], d["err"], d["lat"], d["le5"], d["le10000"]) == (12, 5, 40.0, 10, 10)
    # the maximum rose to 300 ms: one response counted there, the other 9 at the average
    d = counter_delta(c(100, rmax=20), c(110, rmax=300))
    assert (d["req"], d["lat"], d["le5"], d["le250"], d["le500"]) == (10, 336.0, 9, 9, 10)
    # a reload: the new process counts from zero, so its counters are all new traffic
    d = counter_delta(c(5000, 40, rmax=900), c(25, 2, rmax=15))
    assert (d["req"], d["err"], d["le25"]) == (25, 2, 25)
    assert counter_delta(c(110), c(110)) == {}  # nothing happened
    assert counter_delta(None, c(8, 8))["err"] == 8  # no baseline: everything is new
