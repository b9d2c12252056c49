"""Alerts: burn-rate evaluation fires and resolves, a Temporal schedule drives it, a real Alertmanager receives it."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from maestro.config import Settings
from tests.factories import PASSWORD, login, make_user
from tests.services import free_port, wait_for
from tests.test_slo import add_finished_runs


@pytest.fixture(scope="module")
def alertmanager() -> Iterator[str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    assert binary, "Alertmanager missing: run `make test-deps` (installs Debian's prometheus-alertmanager)"
    d = Path(tempfile.mkdtemp(prefix="maestro-am-"))
    (d / "am.yml").write_text("route:\n  receiver: sink\nreceivers:\n  - name: sink\n")
    port = free_port()
    p = subprocess.Popen(
        [
            binary,
            f"--config.file={d / 'am.yml'}",
            f"--storage.path={d}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _ready(url), 30, 0.2)
        yield url
    finally:
        p.terminate()
        p.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def settings(settings: Settings, alertmanager: str) -> Settings:
    return settings.model_copy(update={"alertmanager_url": alertmanager})


def am_alerts(url: str, **filters: str) -> list[dict]:  # type: ignore[type-arg]
    params = [("filter", f'{k}="{v}"') for k, v in filters.items()]
    return httpx.get(f"{url}/api/v2/alerts", params=params, timeout=5).json()  # type: ignore[no-any-return]


def test_burst_of_failures_fires_reaches_alertmanager_and_resolves(
    client: TestClient, workers, engine, alertmanager: str
) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    add_finished_runs(engine, ["succeeded"] * 5 + ["failed"] * 5)
    r = caller.post("/api/alerts/evaluate")
    assert r.status_code == 200, r.text
    assert "slo-burn:run-success:1h-5m" in r.json()["fired"]
    firing = caller.get("/api/alerts", params={"state": "firing"}).json()["items"]
    page = next(a for a in firing if a["fingerprint"] == "slo-burn:run-success:1h-5m")
    assert page["severity"] == "page" and page["labels"]["slo"] == "run-success"
    assert page["annotations"]["runbook_url"].endswith("/runbooks/slo-burn")
    assert "Run success" in page["annotations"]["summary"]
    assert page["notifyStatus"].startswith("delivered")
    received = am_alerts(alertmanager, alertname="SloBurnRate", slo="run-success", window="1h/5m")
    assert len(received) == 1 and received[0]["annotations"]["runbook_url"].endswith("/runbooks/slo-burn")
    assert received[0]["status"]["state"] == "active"
    # ack and assign, audited
    assert caller.post(f"/api/alerts/{page['id']}/ack", json={"note": "looking"}).json()["ackedBy"] == "admin"
    assert caller.post(f"/api/alerts/{page['id']}/ack", json={}).status_code == 409
    responder = make_user(engine, roles=["operator"])
    assert (
        caller.post(f"/api/alerts/{page['id']}/assign", json={"assignee": responder.username}).json()["assignee"]
        == responder.username
    )
    assert caller.post(f"/api/alerts/{page['id']}/assign", json={"assignee": "ghost"}).status_code == 422
    assert caller.post("/api/alerts/nope/ack", json={}).status_code == 404
    assert {e["action"] for e in caller.get("/api/audit?action=alert.*").json()["items"]} == {"alert.ack", "alert.assign"}
    # recovery: enough good runs now that the short window stops burning
    add_finished_runs(engine, ["succeeded"] * 40, ago=timedelta(seconds=30))
    r = caller.post("/api/alerts/evaluate").json()
    assert "slo-burn:run-success:1h-5m" in r["resolved"]
    assert caller.get(f"/api/alerts/{page['id']}").json()["state"] == "resolved"
    wait_for(
        lambda: all(a["status"]["state"] != "active" for a in am_alerts(alertmanager, alertname="SloBurnRate", window="1h/5m")),
        10,
    )
    # a viewer may read alerts but not act on them
    viewer = make_user(engine, roles=["viewer"])
    v = login(client, viewer.username, PASSWORD)
    assert v.get("/api/alerts").status_code == 200
    assert v.post(f"/api/alerts/{page['id']}/ack", json={}).status_code == 403


def test_synthetic_alert_arrives_in_alertmanager(client: TestClient, workers, alertmanager: str) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    r = caller.post("/api/alerts/synthetic")
    assert r.status_code == 201, r.text
    nonce = r.json()["labels"]["nonce"]
    got = am_alerts(alertmanager, alertname="MaestroSyntheticCheck", nonce=nonce)
    assert len(got) == 1 and got[0]["labels"]["source"] == "maestro"


def test_the_schedule_fires_within_two_ticks(client: TestClient, workers, engine) -> None:  # type: ignore[no-untyped-def]
    from temporalio.client import Client

    from maestro.workers.control import ensure_evaluator_schedule, evaluator_schedule_id

    fast = workers.model_copy(update={"alert_eval_interval_seconds": 2})

    async def create() -> Client:
        c = await Client.connect(fast.effective_temporal_address)
        await ensure_evaluator_schedule(c, fast)
        return c

    tc = asyncio.run(create())
    try:
        add_finished_runs(engine, ["failed"] * 4)
        caller = login(client)
        t0 = time.monotonic()

        def fired() -> bool:
            return any(
                a["fingerprint"] == "slo-burn:run-success:1h-5m"
                for a in caller.get("/api/alerts", params={"state": "firing"}).json()["items"]
            )

        wait_for(fired, 10, 0.2)
        assert time.monotonic() - t0 <= 2 * 2 + 2  # two ticks (+ slack for the first tick's start)
    finally:
        asyncio.run(tc.get_schedule_handle(evaluator_schedule_id(fast)).delete())


class TestDeadAlertmanager:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"alertmanager_url": f"http://127.0.0.1:{free_port()}"})

    def test_evaluation_goes_on_and_the_failure_is_visible(self, client: TestClient, workers, engine) -> None:  # type: ignore[no-untyped-def]
        caller = login(client)
        add_finished_runs(engine, ["failed"] * 3)
        t0 = time.monotonic()
        r = caller.post("/api/alerts/evaluate")
        assert r.status_code == 200 and "slo-burn:run-success:1h-5m" in r.json()["fired"]
        assert time.monotonic() - t0 < 30
        firing = caller.get("/api/alerts", params={"state": "firing"}).json()["items"]
        assert all("Alertmanager push failed (attempt 5/5)" in a["notifyStatus"] for a in firing)


def test_a_synthetic_alert_resolves_on_its_own(engine, migrated: Settings) -> None:  # type: ignore[no-untyped-def]
    """It proves delivery once fired; left firing, synthetic checks used to pile up (18 in a day)."""
    import redis
    from sqlmodel import Session, select
    from temporalio.testing import ActivityEnvironment

    from maestro.domain.models import Tenant
    from maestro.domain.runs import Alert
    from maestro.observability import alerts as alertmod

    with Session(engine) as s:
        tenant = s.exec(select(Tenant)).one()
    fresh = alertmod.synthetic(engine, tenant_id=tenant.id, nonce="fresh", actor="t", public_url="http://x")
    old = alertmod.synthetic(engine, tenant_id=tenant.id, nonce="old", actor="t", public_url="http://x")
    with Session(engine) as s:
        row = s.get(Alert, old.id)
        assert row is not None
        row.starts_at = row.starts_at - alertmod.SYNTHETIC_TTL - timedelta(seconds=1)
        s.add(row)
        s.commit()
    acts = alertmod.AlertActivities(engine=engine, redis=redis.Redis.from_url(migrated.redis_url), settings=migrated)
    out = ActivityEnvironment().run(acts.evaluate_alerts, None)
    assert "synthetic:old" in out.resolved and "synthetic:fresh" not in out.resolved
    with Session(engine) as s:
        gone, still = s.get(Alert, old.id), s.get(Alert, fresh.id)
        assert gone is not None and still is not None
        assert gone.state == "resolved" and still.state == "firing"
        # a resolved alert says so and why, keeping what it fired with
        fired_with = "Synthetic alert fired by t to prove the alert pipeline delivers"
        assert gone.annotations["summary"] == f"Resolved: a synthetic alert ends on its own. It fired with: {fired_with}"
        assert still.annotations["summary"] == fired_with
