"""/api/health, /api/ready (503 naming what is down) and /metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient

from maestro.api.app import create_app
from maestro.config import Settings
from tests.services import free_port


def test_health_is_alive(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"


def test_ready_reports_each_dependency(client: TestClient) -> None:
    r = client.get("/api/ready")
    assert r.status_code == 200
    checks = r.json()["checks"]
    assert set(checks) == {"temporal", "redis", "db"}
    assert all(c["status"] == "up" and c["latencyMs"] >= 0 for c in checks.values())


def test_ready_is_503_when_redis_is_down(migrated: Settings) -> None:
    broken = migrated.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(broken, start_background=False), base_url="https://testserver") as c:
        r = c.get("/api/ready")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "degraded"
        assert body["checks"]["redis"]["status"] == "down" and body["checks"]["redis"]["error"]
        assert body["checks"]["db"]["status"] == "up" and body["checks"]["temporal"]["status"] == "up"
        assert c.get("/api/health").status_code == 200  # alive even so


def test_ready_is_503_when_temporal_is_down(migrated: Settings) -> None:
    broken = migrated.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    with TestClient(create_app(broken, start_background=False), base_url="https://testserver") as c:
        r = c.get("/api/ready")
        assert r.status_code == 503 and r.json()["checks"]["temporal"]["status"] == "down"


def test_metrics_count_requests_by_route(client: TestClient) -> None:
    client.get("/api/health")
    client.get("/api/no-such-route")
    text = client.get("/metrics").text
    assert 'maestro_http_requests_total{method="GET",route="/api/health",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert "maestro_http_request_duration_seconds_bucket" in text


def test_ready_names_the_missing_control_worker_and_runner_pool_but_stays_200(client: TestClient) -> None:
    """No worker and no runner serve this test's task queues: the API is ready, the details say who is missing."""
    r = client.get("/api/ready")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    workers = {(w["kind"], w["pool"]): w for w in r.json()["workers"]}
    control = next(w for (kind, _), w in workers.items() if kind == "worker")
    assert control["status"] == "down" and control["pollers"] == 0 and "maestro worker" in control["message"]
    assert workers[("runner", "default")]["status"] == "down"
    assert "maestro runner --pool default" in workers[("runner", "default")]["message"]


def test_ready_shows_the_workers_up_with_the_runners_disk_use(client: TestClient, workers: Settings) -> None:
    from tests.services import wait_for

    def all_up() -> dict[str, object] | None:
        body = client.get("/api/ready").json()
        return body if body["workers"] and all(w["status"] == "up" and w["pollers"] > 0 for w in body["workers"]) else None

    body = wait_for(all_up, 30, 0.5)
    assert {w["kind"] for w in body["workers"]} == {"worker", "runner"}  # type: ignore[union-attr]


def test_a_control_with_no_worker_to_take_it_fails_fast_with_a_503_naming_it(client: TestClient, migrated: Settings) -> None:
    import time

    from tests.factories import login
    from tests.test_runs import register, start

    caller = login(client)
    register(caller, "name: orphan\nsteps:\n- {id: a, run: echo hi}\n")
    run = start(caller, "orphan")  # recorded and its workflow started, but no worker will ever run it
    t0 = time.monotonic()
    r = caller.post(f"/api/runs/{run['id']}/actions", json={"action": "cancel", "reason": "stuck"})
    elapsed = time.monotonic() - t0
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
    assert migrated.control_task_queue in r.json()["detail"] and "maestro worker" in r.json()["remediation"]
    assert elapsed < 45, elapsed  # fails fast (8 s to accept), where the update used to hang until a worker came
    # the withdrawn control never acts later: its ticket is used up
    from sqlmodel import Session, select

    from maestro.db import get_engine
    from maestro.domain.tickets import ControlTicket

    with Session(get_engine(migrated.effective_database_url)) as s:
        rows = s.exec(select(ControlTicket).where(ControlTicket.workflow_id == run["workflowId"])).all()
    assert [(t.action, t.via, t.used_at is not None) for t in rows] == [("cancel", "api", True)]
