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
