"""Evaluator rules beyond SLO burn (failure spikes, saturated runner queues) and PagerDuty delivery."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maestro.config import Settings
from tests.factories import login
from tests.services import free_port, wait_for
from tests.test_runs import register, start, wait_run
from tests.test_slo import add_finished_runs

ROUTING_KEY = "R0123456789abcdef0123456789abcde"  # 32 characters, like a PagerDuty integration key


def firing(caller: Any) -> dict[str, dict[str, Any]]:
    return {a["fingerprint"]: a for a in caller.get("/api/alerts", params={"state": "firing", "limit": 100}).json()["items"]}


def test_a_failure_spike_fires_with_a_link_to_the_latest_failed_run_and_resolves(client: TestClient, workers, engine) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    add_finished_runs(engine, ["succeeded"] * 3 + ["failed"] * 4)
    assert "failure-spike:slo-p:dev" not in caller.post("/api/alerts/evaluate").json()["fired"]  # 4 < 5 failures
    add_finished_runs(engine, ["failed"] * 2, ago=timedelta(minutes=1))
    assert "failure-spike:slo-p:dev" in caller.post("/api/alerts/evaluate").json()["fired"]
    a = firing(caller)["failure-spike:slo-p:dev"]
    assert a["name"] == "RunFailureSpike" and a["labels"]["pipeline"] == "slo-p" and a["labels"]["env"] == "dev"
    assert "6 of 9 finished runs failed" in a["annotations"]["summary"]
    failed = caller.get("/api/runs", params={"status": "failed", "limit": 50}).json()["items"]
    latest = next(r for r in failed if r["id"] == a["annotations"]["runId"])
    assert latest["finishedAt"] == max(r["finishedAt"] for r in failed)  # the most recently failed run
    assert a["annotations"]["run_url"].endswith(f"/runs/{latest['id']}")
    assert a["annotations"]["runbook_url"].endswith("/runbooks/run-failure-spike")
    # the run-success burn alert names the failed run too
    burn = firing(caller)["slo-burn:run-success:1h-5m"]
    assert burn["annotations"]["runId"] == latest["id"]
    # recovery: failures stop being half of the window
    add_finished_runs(engine, ["succeeded"] * 10, ago=timedelta(seconds=20))
    assert "failure-spike:slo-p:dev" in caller.post("/api/alerts/evaluate").json()["resolved"]
    assert "failure-spike:slo-p:dev" not in firing(caller)


LONELY = """
name: lonely
steps:
  - id: gpu-job
    pool: lonely
    run: echo ran on the lonely pool
"""


class TestQueueSaturation:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"alert_queue_wait_seconds": 2})

    def test_steps_waiting_for_a_missing_runner_fire_and_a_runner_resolves_it(self, client: TestClient, workers, engine) -> None:  # type: ignore[no-untyped-def]
        caller = login(client)
        register(caller, LONELY)
        run = start(caller, "lonely")

        def fired() -> dict[str, Any] | None:
            caller.post("/api/alerts/evaluate")
            return firing(caller).get("queue:lonely")

        a = wait_for(fired, 30, 0.5)
        assert a["name"] == "RunQueueSaturated" and a["severity"] == "page" and a["labels"]["pool"] == "lonely"
        assert a["annotations"]["pollers"] == "0" and int(a["annotations"]["backlog"]) >= 1
        assert "no runner polls it" in a["annotations"]["summary"]
        metrics = client.get("/metrics").text
        assert 'maestro_queue_backlog_steps{pool="lonely"} 1.0' in metrics
        assert 'maestro_queue_pollers{pool="lonely"} 0.0' in metrics
        assert "queue:default" not in firing(caller)  # the default pool has a runner and no backlog
        # a runner for the pool drains the queue: the run finishes and the alert resolves
        with PoolRunner(workers, "lonely"):
            assert wait_run(caller, run["id"])["status"] == "succeeded"

            def resolved() -> bool:
                caller.post("/api/alerts/evaluate")
                return "queue:lonely" not in firing(caller)

            wait_for(resolved, 30, 0.5)


class PoolRunner:
    """An extra in-process runner serving one pool (the `workers` fixture serves only "default")."""

    def __init__(self, settings: Settings, pool: str) -> None:
        self.settings = settings.model_copy(update={"runner_pool": pool})
        self.loop = asyncio.new_event_loop()
        self.started = threading.Event()
        self.stop: asyncio.Event | None = None

    async def _main(self) -> None:
        from maestro.temporal import connect
        from maestro.workers.runner import build_runner

        self.stop = asyncio.Event()
        client = await connect(self.settings)
        async with build_runner(client, self.settings):
            self.started.set()
            await self.stop.wait()

    def __enter__(self) -> PoolRunner:
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)
        self.thread.start()
        assert self.started.wait(30)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


class PagerDutyReceiver:
    """Speaks the PagerDuty Events API v2 contract (validation, 202 + dedup_key) and records what it got."""

    def __init__(self, fail_first: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if self.path != "/v2/enqueue":
                    return self._send(404, {"status": "not found"})
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    return self._send(503, {"status": "unavailable"})
                errors = receiver.validate(body)
                if errors:
                    return self._send(400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors})
                receiver.events.append(body)
                self._send(202, {"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]})

            def _send(self, code: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v2/enqueue"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def validate(e: dict[str, Any]) -> list[str]:
        errors = []
        if len(e.get("routing_key", "")) != 32:
            errors.append("'routing_key' must be 32 characters")
        if e.get("event_action") not in {"trigger", "acknowledge", "resolve"}:
            errors.append("'event_action' is invalid")
        if e.get("event_action") != "trigger" and not e.get("dedup_key"):
            errors.append("'dedup_key' is required for acknowledge and resolve")
        if e.get("event_action") == "trigger":
            p = e.get("payload") or {}
            for k in ("summary", "source", "severity"):
                if not p.get(k):
                    errors.append(f"'payload.{k}' is missing")
            if p.get("severity") not in {"critical", "error", "warning", "info"}:
                errors.append("'payload.severity' is invalid")
            if len(p.get("summary", "")) > 1024:
                errors.append("'payload.summary' is too long")
        return errors

    def actions(self, dedup_key: str) -> list[str]:
        return [e["event_action"] for e in self.events if e["dedup_key"] == dedup_key]


@pytest.fixture
def pagerduty() -> Iterator[PagerDutyReceiver]:
    r = PagerDutyReceiver(fail_first=2)  # the first two deliveries fail: retries must get through
    yield r
    r.server.shutdown()


class TestPagerDuty:
    @pytest.fixture
    def settings(self, settings: Settings, pagerduty: PagerDutyReceiver) -> Settings:
        return settings.model_copy(update={"pagerduty_routing_key": ROUTING_KEY, "pagerduty_events_url": pagerduty.url})

    def test_trigger_acknowledge_resolve_follow_the_alert(self, client: TestClient, workers, engine, pagerduty) -> None:  # type: ignore[no-untyped-def]
        caller = login(client)
        fp = "slo-burn:run-success:1h-5m"
        add_finished_runs(engine, ["succeeded"] * 5 + ["failed"] * 5)
        assert fp in caller.post("/api/alerts/evaluate").json()["fired"]
        assert pagerduty.actions(fp) == ["trigger"]
        trigger = next(e for e in pagerduty.events if e["dedup_key"] == fp)
        a = firing(caller)[fp]
        assert trigger["payload"]["severity"] == "critical" and trigger["payload"]["class"] == "SloBurnRate"
        assert trigger["payload"]["summary"] == a["annotations"]["summary"]
        assert {link["text"] for link in trigger["links"]} >= {"Alert in Maestro", "Runbook", "Run"}
        assert a["pagerdutyAction"] == "trigger" and "PagerDuty accepted trigger" in a["pagerdutyStatus"]
        # nothing changed: nothing is sent again
        caller.post("/api/alerts/evaluate")
        assert pagerduty.actions(fp) == ["trigger"]
        # ack in Maestro → acknowledge in PagerDuty
        caller.post(f"/api/alerts/{a['id']}/ack", json={})
        caller.post("/api/alerts/evaluate")
        assert pagerduty.actions(fp) == ["trigger", "acknowledge"]
        # recovery → resolve
        add_finished_runs(engine, ["succeeded"] * 60, ago=timedelta(seconds=20))
        assert fp in caller.post("/api/alerts/evaluate").json()["resolved"]
        assert pagerduty.actions(fp) == ["trigger", "acknowledge", "resolve"]
        assert caller.get(f"/api/alerts/{a['id']}").json()["pagerdutyAction"] == "resolve"


class TestDeadPagerDuty:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        url = f"http://127.0.0.1:{free_port()}/v2/enqueue"
        return settings.model_copy(update={"pagerduty_routing_key": ROUTING_KEY, "pagerduty_events_url": url})

    def test_evaluation_goes_on_and_the_failure_is_visible(self, client: TestClient, workers, engine) -> None:  # type: ignore[no-untyped-def]
        caller = login(client)
        add_finished_runs(engine, ["failed"] * 3)
        r = caller.post("/api/alerts/evaluate")
        assert r.status_code == 200 and "slo-burn:run-success:1h-5m" in r.json()["fired"]
        a = firing(caller)["slo-burn:run-success:1h-5m"]
        assert a["pagerdutyAction"] == "" and "PagerDuty trigger failed (attempt 5/5)" in a["pagerdutyStatus"]
