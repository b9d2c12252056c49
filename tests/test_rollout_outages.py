"""RolloutWorkflow under outages and at scale, against the dev server with short intervals given in
the spec: a metrics outage of many intervals pauses (never decides), cancelling from Temporal aborts,
a promote during an analysis gate moves on at once, long rollouts continue as new, and an inconclusive
analysis pauses for a person. The Prometheus here is Debian's real `prometheus`, stopped and started
again to make the outage."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from maestro.config import Settings
from tests.factories import Caller
from tests.services import free_port, temporal_cli, wait_for
from tests.test_rollouts import Upstream, rollout, service, wait_rollout


class Prometheus:
    """A real Prometheus with nothing to scrape: PromQL such as `vector(0.01)` still evaluates."""

    def __init__(self) -> None:
        binary = shutil.which("prometheus")
        assert binary, "prometheus missing: run `make test-deps` (installs Debian's prometheus)"
        self.binary, self.port = binary, free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="maestro-prom-"))
        (self.dir / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ready, 60, 0.2)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def prom() -> Iterator[Prometheus]:
    p = Prometheus()
    p.start()
    yield p
    p.close()


@pytest.fixture
def settings(settings: Settings, prom: Prometheus) -> Settings:
    # a low continue-as-new threshold, so a rollout of a few dozen measurements takes several runs
    return settings.model_copy(update={"prometheus_url": prom.url, "rollout_continue_after_events": 150})


@pytest.fixture
def caller(client, workers) -> Caller:  # type: ignore[no-untyped-def]
    from tests.factories import login

    return login(client)


@pytest.fixture
def upstreams() -> Iterator[tuple[Upstream, Upstream]]:
    s, c = Upstream("stable"), Upstream("canary")
    yield s, c
    s.close()
    c.close()


def promql(query: str, **kw: Any) -> dict[str, Any]:
    return {
        "analysis": {
            "metric": "promql",
            "provider": "prometheus",
            "query": query,
            "successCondition": "< 0.05",
            "interval": 1,
            **kw,
        }
    }


def test_a_metrics_outage_of_many_intervals_pauses_and_never_decides(
    caller: Caller, prom: Prometheus, upstreams: tuple[Upstream, Upstream]
) -> None:
    stable, canary = upstreams
    service(caller, "ledger", stable.url)
    steps = [{"setWeight": 20}, promql("vector(0.01)", count=30, inconclusiveLimit=3), {"setWeight": 100}]
    r = rollout(caller, "ledger", canary.url, steps)
    wait_rollout(caller, r["id"], lambda x: any(a["outcome"] == "passed" for a in x["analyses"]), 60)
    prom.stop()  # Prometheus is down for far more than the analysis tolerates
    try:
        paused = wait_rollout(caller, r["id"], lambda x: x["status"] == "paused", 90)
    finally:
        prom.start()
    failed = [a for a in paused["analyses"] if a["outcome"] == "inconclusive"]
    assert len(failed) == 4 and all("measurement failed" in a["detail"] for a in failed), failed
    assert "inconclusive 4 times" in paused["message"]
    # neither rolled back nor promoted: the canary keeps its weight and no new rollout is admitted
    assert paused["weight"] == 20 and paused["finishedAt"] is None
    busy = caller.post("/api/rollouts", json={"service": "ledger", "canaryUrl": canary.url + "/v3"})
    assert busy.status_code == 409 and "paused" in busy.json()["detail"]
    # Prometheus is back: a person resumes and the analysis finishes on real measurements
    resumed = caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "resume", "reason": "prometheus is back"})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["status"] == "running" and resumed.json()["rollout"]["status"] == "running"
    done = wait_rollout(caller, r["id"], lambda x: x["status"] == "succeeded", 120)
    assert 100 in [w["weight"] for w in done["weights"]] and done["snapshotSha256"]
    services = {s["name"]: s for s in caller.get("/api/services").json()["items"]}
    assert services["ledger"]["stableUrl"] == canary.url and services["ledger"]["canaryUrl"] is None
    assert sum(a["outcome"] == "passed" for a in done["analyses"]) == 30 - len(failed)


def test_a_long_rollout_continues_as_new_and_keeps_every_measurement(
    settings: Settings, caller: Caller, upstreams: tuple[Upstream, Upstream]
) -> None:
    stable, canary = upstreams
    service(caller, "search", stable.url)
    r = rollout(caller, "search", canary.url, [{"setWeight": 10}, promql("vector(0)", count=24), {"setWeight": 100}])
    done = wait_rollout(caller, r["id"], lambda x: x["status"] == "succeeded", 180)
    assert len(done["analyses"]) == 24 and [a["measurement"] for a in done["analyses"]] == list(range(1, 25))

    async def runs() -> list[WorkflowExecutionStatus | None]:
        client = await Client.connect(settings.effective_temporal_address, namespace=settings.temporal_namespace)
        return [w.status async for w in client.list_workflows(f"WorkflowId = '{r['workflowId']}'")]

    statuses = wait_for(lambda: (s := asyncio.run(runs())) and WorkflowExecutionStatus.COMPLETED in s and s, 60, 1)
    assert statuses.count(WorkflowExecutionStatus.CONTINUED_AS_NEW) >= 2, statuses
    state = temporal_cli(
        settings, "workflow", "query", "--workflow-id", r["workflowId"], "--name", "get_state", "--output", "json"
    )
    assert state.returncode == 0 and '"runs"' in state.stdout and '"succeeded"' in state.stdout, state.stdout + state.stderr


def test_cancelling_the_workflow_from_temporal_aborts_the_rollout(
    settings: Settings, caller: Caller, upstreams: tuple[Upstream, Upstream]
) -> None:
    stable, canary = upstreams
    service(caller, "cart", stable.url)
    r = rollout(caller, "cart", canary.url, [{"setWeight": 30}, {"pause": 0}, {"setWeight": 100}])
    wait_rollout(caller, r["id"], lambda x: x["status"] == "paused", 60)
    cancelled = temporal_cli(settings, "workflow", "cancel", "--workflow-id", r["workflowId"])
    assert cancelled.returncode == 0, cancelled.stderr
    done = wait_rollout(caller, r["id"], lambda x: x["status"] == "aborted", 60)
    assert done["weight"] == 0 and done["snapshotSha256"] and done["finishedAt"]
    assert done["history"][-1]["action"] == "abort" and done["history"][-1]["by"] == "temporal:native-cancel"
    services = {s["name"]: s for s in caller.get("/api/services").json()["items"]}
    assert services["cart"]["weight"] == 0 and services["cart"]["canaryUrl"] is None
    audit = caller.get("/api/audit", params={"action": "rollout.abort"}).json()["items"]
    assert [(e["targetId"], e["actor"]) for e in audit] == [(r["id"], "temporal:native-cancel")], audit


def test_promote_during_an_analysis_gate_moves_on_and_the_toast_state_is_the_new_one(
    caller: Caller, upstreams: tuple[Upstream, Upstream]
) -> None:
    stable, canary = upstreams
    service(caller, "orders", stable.url)
    steps = [{"setWeight": 10}, promql("vector(0)", count=100), {"setWeight": 40}, {"pause": 0}, {"setWeight": 100}]
    r = rollout(caller, "orders", canary.url, steps)
    wait_rollout(caller, r["id"], lambda x: x["stepIndex"] == 1 and len(x["analyses"]) >= 1, 60)
    promoted = caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "promote", "reason": "looks good"})
    assert promoted.status_code == 200, promoted.text
    # the answer is the state after the promote, as SQL has it (what the UI's toast shows)
    assert promoted.json()["rollout"]["history"][-1]["action"] == "promote"
    assert promoted.json()["stepIndex"] == 1  # the step the promote ended: the analysis
    at_pause = wait_rollout(caller, r["id"], lambda x: x["status"] == "paused", 60)
    assert at_pause["stepIndex"] == 3 and at_pause["weight"] == 40 and len(at_pause["analyses"]) < 100
    full = caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "promote", "full": True})
    assert full.status_code == 200, full.text
    done = wait_rollout(caller, r["id"], lambda x: x["status"] == "succeeded", 60)
    assert done["snapshotSha256"], "a promoted rollout keeps an evidence snapshot too"
    assert [h["action"] for h in done["history"]] == ["promote", "promote-full"]


def test_an_analysis_without_traffic_is_inconclusive_and_pauses(caller: Caller, upstreams: tuple[Upstream, Upstream]) -> None:
    stable, canary = upstreams
    service(caller, "quiet", stable.url)  # nobody sends traffic through the edge
    steps: list[dict[str, Any]] = [
        {"setWeight": 50},
        {"analysis": {"interval": 1, "count": 5, "minRequests": 5, "inconclusiveLimit": 1}},
    ]
    r = rollout(caller, "quiet", canary.url, steps)
    paused = wait_rollout(caller, r["id"], lambda x: x["status"] == "paused", 60)
    assert [a["outcome"] for a in paused["analyses"]] == ["inconclusive", "inconclusive"]
    assert "0 canary requests" in paused["analyses"][0]["detail"] and paused["weight"] == 50
    aborted = caller.post(f"/api/rollouts/{r['id']}/actions", json={"action": "abort", "reason": "no traffic to judge"})
    assert aborted.status_code == 200 and aborted.json()["rollout"]["status"] == "aborted"


def test_a_retried_projection_or_a_stale_weight_is_applied_once(settings: Settings, caller: Caller, engine) -> None:  # type: ignore[no-untyped-def]
    """The outbox retries a projection whose commit went through (the worker died before reporting it),
    and a delayed weight application can arrive after a later one: neither changes anything twice."""
    from redis import Redis
    from sqlmodel import Session

    from maestro.domain.rollouts import Rollout, Service
    from maestro.edge import routes as edge
    from maestro.rollouts.activities import RolloutActivities
    from maestro.rollouts.types import ApplyInput, ProjectInput

    svc = service(caller, "audit", "http://127.0.0.1:9")
    with Session(engine) as s:
        row = s.get(Service, svc["id"])
        assert row is not None
        r = Rollout(
            tenant_id=row.tenant_id,
            service_id=row.id,
            service=row.name,
            env=row.env,
            workflow_id="rollout-audit-test",
            stable_url=row.stable_url,
            canary_url="http://127.0.0.1:10",
            created_by="test",
        )
        s.add(r)
        s.commit()
        rid = r.id
    redis = Redis.from_url(settings.effective_redis_url)
    acts = RolloutActivities(engine=engine, redis=redis, settings=settings)
    entry = {
        "at": "2026-11-30T06:00:00+00:00",
        "action": "pause",
        "by": "alice",
        "reason": "",
        "weight": 10,
        "step": 1,
        "via": "api",
    }
    paused = ProjectInput(rollout_id=rid, status="paused", step_index=1, weight=10, event="rollout_paused", history=entry, seq=7)
    acts.project(paused)
    acts.project(paused)  # the retry
    acts.project(ProjectInput(rollout_id=rid, status="running", step_index=0, weight=0, event="rollout_step", seq=6))  # stale
    got = caller.get(f"/api/rollouts/{rid}").json()
    assert [h["action"] for h in got["history"]] == ["pause"] and got["status"] == "paused" and got["weight"] == 10

    def apply(weight: int, seq: int) -> None:
        acts.apply(
            ApplyInput(
                rollout_id=rid,
                service="audit",
                stable_url="http://127.0.0.1:9",
                canary_url="http://127.0.0.1:10",
                sticky=None,
                weight=weight,
                seq=seq,
            )
        )

    apply(50, 3)
    apply(10, 2)  # an earlier application arriving late
    assert edge.get(redis, "audit").weight == 50  # type: ignore[union-attr]
    apply(50, 3)  # its own retry is applied again (the provider is told again)
    apply(0, 4)
    assert edge.get(redis, "audit").weight == 0  # type: ignore[union-attr]
