"""SLOs: SLIs from real request outcomes and runs, error budgets, multi-window burn rates."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from maestro.domain.runs import Pipeline, PipelineVersion, Run
from maestro.domain.types import utcnow
from tests.factories import login


def add_finished_runs(engine, statuses: list[str], ago: timedelta = timedelta(minutes=2)) -> None:  # type: ignore[no-untyped-def]
    """Finished runs as the projection records them (the run workflow itself is covered elsewhere)."""
    with Session(engine) as s:
        from maestro.domain.models import Tenant

        tenant = s.exec(select(Tenant)).one()
        p = s.exec(select(Pipeline).where(Pipeline.name == "slo-p")).first()
        if p is None:
            p = Pipeline(tenant_id=tenant.id, name="slo-p", created_by="t")
            s.add(p)
            s.flush()
            s.add(PipelineVersion(pipeline_id=p.id, version=1, spec={}, source_text="", content_hash="x", created_by="t"))
            s.flush()
        v = s.exec(select(PipelineVersion).where(PipelineVersion.pipeline_id == p.id)).one()
        end = utcnow() - ago
        for st in statuses:
            p.run_counter += 1
            s.add(
                Run(
                    tenant_id=tenant.id,
                    pipeline_id=p.id,
                    pipeline_name=p.name,
                    version_id=v.id,
                    version=1,
                    number=p.run_counter,
                    workflow_id=f"run-slo-p-{p.run_counter}",
                    status=st,
                    env="dev",
                    owner="t",
                    started_at=end - timedelta(seconds=30),
                    finished_at=end,
                    duration_ms=30_000,
                )
            )
        s.add(p)
        s.commit()


def slos(caller) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = caller.get("/api/slo")
    assert r.status_code == 200, r.text
    return {x["id"]: x for x in r.json()["items"]}


def test_builtin_slos_measure_real_traffic(client: TestClient) -> None:
    caller = login(client)
    for _ in range(5):
        client.get("/api/health")
    got = slos(caller)
    assert set(got) == {"control-plane-availability", "run-success", "build-duration"}
    avail = got["control-plane-availability"]
    assert avail["total"] >= 6 and avail["sli"] == 1.0 and avail["errorBudgetRemaining"] == 1.0
    assert avail["burnRates"]["5m"] == 0.0
    assert got["run-success"]["sli"] is None and got["run-success"]["errorBudgetRemaining"] is None  # no runs yet


def test_server_errors_burn_the_availability_budget(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    @app.get("/api/test-fail")
    def fail() -> None:
        raise RuntimeError("boom")

    caller = login(client)
    for _ in range(3):
        assert client.get("/api/test-fail").status_code == 500
    avail = slos(caller)["control-plane-availability"]
    assert avail["good"] == avail["total"] - 3
    assert avail["errorBudgetRemaining"] < 0  # 3 errors in a few requests overspend a 99.9% budget
    assert avail["burnRates"]["5m"] > 14.4
    assert {a["severity"] for a in avail["burnAlerts"] if a["firing"]} == {"page", "ticket"}


def test_failing_runs_fire_the_fast_burn_pair(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    add_finished_runs(engine, ["succeeded"] * 90, ago=timedelta(hours=2))  # a healthy past
    add_finished_runs(engine, ["succeeded"] * 5 + ["failed"] * 5)  # a burst of failures now
    rs = slos(caller)["run-success"]
    assert rs["total"] == 100 and rs["good"] == 95
    assert abs(rs["sli"] - 0.95) < 1e-9
    assert abs(rs["errorBudgetRemaining"] - (1 - 0.05 / 0.03)) < 1e-9
    assert abs(rs["burnRates"]["5m"] - 0.5 / 0.03) < 1e-6  # half of the recent runs failed
    fast = next(a for a in rs["burnAlerts"] if a["long"] == "1h")
    assert fast["firing"] and fast["severity"] == "page"
    slow = next(a for a in rs["burnAlerts"] if a["long"] == "3d")
    assert slow["firing"]  # 5% failed over 3 days burns a 97% budget faster than 1x
    assert slos(caller)["build-duration"]["sli"] == 1.0  # all took 30 s < 10 min


def test_defined_slos_and_bad_input(client: TestClient) -> None:
    caller = login(client)
    r = caller.post(
        "/api/slo",
        json={"name": "deploys fast", "sli": "run_duration", "objective": 0.9, "thresholdMs": 60000, "pipeline": "slo-p"},
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert sid in slos(caller)
    bad = caller.post("/api/slo", json={"name": "perfect", "sli": "run_success", "objective": 1.0})
    assert bad.status_code == 422 and "objective" in bad.json()["detail"]
    assert caller.post("/api/slo", json={"name": "x", "sli": "happiness", "objective": 0.9}).status_code == 422
    assert caller.post("/api/slo", json={"name": "y", "sli": "run_duration", "objective": 0.9}).status_code == 422
    assert caller.post("/api/slo", json={"name": "deploys fast", "sli": "run_success", "objective": 0.9}).status_code == 409
    assert caller.delete("/api/slo/run-success").status_code == 409
    assert caller.delete("/api/slo/nope").status_code == 404
    assert caller.delete(f"/api/slo/{sid}").status_code == 204
    assert sid not in slos(caller)
