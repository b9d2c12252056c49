"""GET /api/hub: every Control Hub figure comes from records (runs, steps, rollouts, SLOs, attestations, decisions,
evidence bundles), counted in SQL on SQLite and PostgreSQL alike."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from maestro.domain.models import Environment, RoleBinding, Tenant
from maestro.domain.rollouts import Rollout, Service
from maestro.domain.runs import Run, StepRun
from maestro.domain.supply import Attestation, EvidenceBundle
from maestro.domain.types import new_id, utcnow
from maestro.finops import ledger
from tests.factories import PASSWORD, add_runs, login, make_user
from tests.test_slo import add_finished_runs

BOTH_DATABASES = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def add(engine: Any, *rows: Any) -> None:
    with Session(engine, expire_on_commit=False) as s:
        s.add_all(rows)
        s.commit()


def ago(**kw: float) -> datetime:
    return utcnow() - timedelta(**kw)


def spend(engine: Any, tid: str, rows: list[tuple[Run, float, datetime]]) -> None:
    with Session(engine) as s:
        ledger.record(
            s,
            [
                {"tenant_id": tid, "source": "run-step", "source_id": f"{r.id}:{i}", "ts": ts, "usd": usd, "run_id": r.id,
                 "pipeline": r.pipeline_name, "env": r.env}
                for i, (r, usd, ts) in enumerate(rows)
            ],
        )  # fmt: skip
        s.commit()


def the_other_figures(engine: Any) -> None:
    """Records behind the figures the finished runs do not set: spend, queue depth, lead time to prod,
    provenance and signatures, evidence bundles, and a release with an active rollout. Each comes with a
    record just outside what is counted (too old, wrong kind or env), which must not count."""
    with Session(engine) as s:
        tid = s.exec(select(Tenant)).one().id
        succeeded = s.exec(select(Run).where(Run.status == "succeeded")).all()
        failed = s.exec(select(Run).where(Run.status == "failed")).one()
    assert len(succeeded) == 3
    live, cancelled, old, also_old = add_runs(
        engine,
        [
            {"status": "running", "cost_usd": 1.5, "started_at": ago(hours=5)},
            {"status": "cancelled", "cost_usd": 2.25, "created_at": ago(days=3), "started_at": ago(days=3)},
            {"status": "succeeded", "cost_usd": 100.0, "created_at": ago(days=10), "started_at": ago(days=10)},
            {"status": "succeeded", "cost_usd": 0.0, "created_at": ago(days=40), "started_at": ago(days=40)},
        ],
    )
    # the hub's cost burn reads the spend ledger (what the projection writes as steps finish)
    spend(engine, tid, [(live, 1.5, ago(hours=5)), (cancelled, 2.25, ago(days=3)), (old, 100.0, ago(days=10))])
    steps = [("a", "succeeded"), ("b", "running"), ("c", "pending")]
    add(engine, *(StepRun(run_id=live.id, key=k, step_id=k, name=k, status=st) for k, st in steps))
    add(engine, StepRun(run_id=cancelled.id, key="x", step_id="x", name="x", status="pending"))  # not an active run
    web = Service(tenant_id=tid, name="web", env="prod", stable_url="http://127.0.0.1:9/", created_by="t")
    add(engine, web)

    def rollout(run: Run, status: str, env: str = "prod", finished: datetime | None = None) -> Rollout:
        return Rollout(
            tenant_id=tid,
            service_id=web.id,
            service="web",
            env=env,
            run_id=run.id,
            workflow_id=f"rollout-{new_id()}",
            status=status,
            stable_url=web.stable_url,
            canary_url="http://127.0.0.1:10/",
            created_by="t",
            finished_at=finished,
        )

    assert live.started_at is not None and cancelled.started_at is not None and also_old.started_at is not None
    add(
        engine,
        rollout(live, "succeeded", finished=live.started_at + timedelta(hours=2)),  # 2 h from run start to prod
        rollout(cancelled, "succeeded", env="production-eu", finished=cancelled.started_at + timedelta(hours=4)),  # 4 h
        rollout(cancelled, "succeeded", env="staging", finished=cancelled.started_at + timedelta(hours=50)),  # not prod
        rollout(cancelled, "rolled_back", finished=cancelled.started_at + timedelta(hours=70)),  # not completed
        rollout(also_old, "succeeded", finished=also_old.started_at + timedelta(hours=90)),  # 36 days ago
        rollout(live, "running"),  # the active one: the release's controls
    )

    def att(run: Run, kind: str) -> Attestation:
        return Attestation(run_id=run.id, kind=kind, keyid="k")

    add(
        engine,
        att(succeeded[0], "provenance"),
        att(succeeded[0], "provenance"),  # a second statement about the same run: still one run
        att(succeeded[1], "provenance"),
        att(succeeded[0], "signature"),
        att(succeeded[1], "signature"),
        att(succeeded[2], "signature"),
        att(failed, "provenance"),  # not a successful run
        att(failed, "signature"),
        att(old, "provenance"),  # 10 days old
        att(old, "signature"),
    )

    def bundle(status: str, created: datetime | None = None) -> EvidenceBundle:
        b = EvidenceBundle(
            tenant_id=tid, run_id=succeeded[0].id, workflow_id=f"evidence-{new_id()}", status=status, created_by="t"
        )
        if created is not None:
            b.created_at = created
        return b

    add(engine, bundle("succeeded"), bundle("succeeded"), bundle("failed"), bundle("running"), bundle("succeeded", ago(days=8)))


@BOTH_DATABASES
def test_hub_figures_come_from_records(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    empty = caller.get("/api/hub").json()
    k0, c0 = empty["kpis"], empty["compliance"]
    assert k0["buildSuccessPct"] is None and k0["runs7d"] == 0 and empty["releases"] == []
    assert k0["p95BuildMs"] is None and k0["leadTimeToProdHours"] is None and k0["queueDepth"] == 0
    assert k0["spend24hUsd"] == 0 and k0["spend7dUsd"] == 0
    assert set(c0.values()) == {0}
    add_finished_runs(engine, ["succeeded"] * 3 + ["failed"])
    assert caller.post("/api/pipelines", json={"spec": "name: x\nsteps:\n- {id: a, run: sudo true}\n"}).status_code == 422
    the_other_figures(engine)
    h = caller.get("/api/hub").json()
    k = h["kpis"]
    # the running and cancelled runs are not decided: 3 of 4 decided runs succeeded
    assert k["buildSuccessPct"] == 75.0 and k["runs7d"] == 4 and k["p95BuildMs"] == 30_000
    assert k["worstBurnRate1h"] is not None and k["worstBurnRate1h"] > 1  # 25% failures burn the 97% run-success budget
    assert k["lowestErrorBudget"] is not None and k["lowestErrorBudget"] < 0
    assert k["spend24hUsd"] == 1.5 and k["spend7dUsd"] == 3.75  # the 10-day-old run's $100 is outside both
    assert k["queueDepth"] == 2  # the running run's running and pending steps
    assert k["leadTimeToProdHours"] == 3.0  # mean of 2 h and 4 h
    c = h["compliance"]
    assert c["successfulRuns7d"] == 3 and c["runsWithProvenance7d"] == 2 and c["signedArtifacts7d"] == 3
    assert c["policyDenials24h"] == 1
    assert c["evidenceBundles7d"] == 2 and c["evidenceBundlesFailed7d"] == 1
    assert c["sbomRunsChecked"] == 0 and c["sbomDiffsOk"] == 0  # no run stored an SBOM
    assert set(h["hotCold"]) >= {"flakyTests", "slowestSteps", "topCostCenters"}
    [release] = h["releases"]
    assert (release["service"], release["env"], release["rolloutStatus"], release["health"]) == ("web", "prod", "running", "idle")
    assert release["actions"] == ["pause", "promote", "rollback", "abort"]
    # anyone signed in may read it; a viewer sees releases but no actions
    viewer = make_user(engine, roles=["viewer"])
    seen = login(client, viewer.username, PASSWORD).get("/api/hub")
    assert seen.status_code == 200
    assert [(r["service"], r["rolloutId"], r["actions"]) for r in seen.json()["releases"]] == [("web", release["rolloutId"], [])]
    # releases follow GET /api/services: an admin of dev alone sees no prod service, rollout or URL
    dev_admin = make_user(engine, roles=[])
    with Session(engine) as s:
        dev = s.exec(select(Environment).where(Environment.name == "dev")).one()
        s.add(RoleBinding(subject_type="user", subject_id=dev_admin.id, role="admin", scope_type="environment", scope_id=dev.id))
        s.commit()
    scoped = login(client, dev_admin.username, PASSWORD)
    assert scoped.get("/api/services").json()["items"] == []
    assert scoped.get("/api/hub").json()["releases"] == []
    client.cookies.clear()
    assert client.get("/api/hub").status_code == 401


@BOTH_DATABASES
def test_hub_counts_every_run_not_a_page(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    """More runs than any page holds (500): the figures are aggregates over all of them."""
    n, ok = 1234, 1000
    durations = [10 * i for i in range(1, n + 1)]
    random.Random(13).shuffle(durations)
    runs = add_runs(
        engine,
        [
            {"status": "succeeded" if i < ok else "failed", "duration_ms": d, "cost_usd": 0.01, "started_at": ago(hours=1)}
            for i, d in enumerate(durations)
        ],
    )
    spend(engine, runs[0].tenant_id, [(r, 0.01, ago(hours=1)) for r in runs])
    h = login(client).get("/api/hub").json()
    k, c = h["kpis"], h["compliance"]
    assert k["runs7d"] == n and k["buildSuccessPct"] == round(100 * ok / n, 2) == 81.04
    assert k["p95BuildMs"] == 11_730  # nearest rank: the 1173rd of 1234 sorted durations (10, 20, ..., 12340)
    assert k["spend7dUsd"] == pytest.approx(12.34) and k["spend24hUsd"] == pytest.approx(12.34)
    assert c["successfulRuns7d"] == ok
