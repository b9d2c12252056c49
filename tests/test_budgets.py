"""Budgets (the seed's flow 5 through the API): runs spend, the threshold fires a budget_warning alert that
reaches a real Alertmanager, the breach freezes the scope and every spending path is refused with a 409
naming the budget, unfreezing with a reason lets runs start again; slowdown hands out permits at its rate;
a period close continues the workflow as new and tells finance (signed)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from maestro.config import Settings
from maestro.domain.finops import Budget, BudgetEvent, SpendEntry
from maestro.domain.models import AuditEvent
from tests.factories import PASSWORD, Caller, login, make_user
from tests.services import free_port, wait_for
from tests.test_alerts import alertmanager, am_alerts  # noqa: F401  (the module's Alertmanager)

SPEND = """
name: {name}
steps:
  - id: work
    run: sleep 0.3
"""
TERMINAL = {"succeeded", "failed", "cancelled", "error"}


@pytest.fixture
def settings(settings: Settings, alertmanager: str) -> Settings:  # noqa: F811
    # a runner-second costs $1: a few short runs cross a $1 cap; budgets re-read the ledger every 0.3 s
    return settings.model_copy(
        update={"alertmanager_url": alertmanager, "budget_tick_seconds": 0.3, "rate_card": {"default": 1.0}}
    )


def register(caller: Caller, name: str) -> None:
    r = caller.post("/api/pipelines", json={"spec": SPEND.format(name=name)})
    assert r.status_code == 201, r.text


def run_to_end(caller: Caller, pipeline: str) -> dict[str, Any]:
    r = caller.post("/api/runs", json={"pipeline": pipeline, "env": "dev"})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    return wait_for(lambda: (b := caller.get(f"/api/runs/{rid}").json()) and b["status"] in TERMINAL and b, 90, 0.1)  # type: ignore[no-any-return]


def budget(caller: Caller, bid: str) -> dict[str, Any]:
    r = caller.get(f"/api/budgets/{bid}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def create(caller: Caller, **body: Any) -> dict[str, Any]:
    r = caller.post("/api/budgets", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_threshold_alerts_breach_freezes_every_spending_path_and_unfreeze_lets_runs_start(
    client: TestClient,
    workers: Settings,
    engine: Any,
    alertmanager: str,  # noqa: F811
) -> None:
    admin = login(client)
    name = f"spendy-{uuid.uuid4().hex[:6]}"
    other = f"other-{uuid.uuid4().hex[:6]}"
    register(admin, name)
    register(admin, other)
    b = create(
        admin,
        name=f"{name}-monthly",
        scope={"pipeline": name},
        capUsd=1.0,
        thresholds=[50, 100],
        actions=[{"kind": "freeze", "atPercent": 100}],
    )
    assert b["frozen"] is False and b["capUsd"] == 1.0 and b["periodStart"] is not None

    spent = 0.0
    runs: list[dict[str, Any]] = []
    for _ in range(12):  # each run costs ≥ $0.30 (0.3 s at $1/s): the cap is crossed within a few
        run = run_to_end(admin, name)
        assert run["status"] == "succeeded", run
        runs.append(run)
        spent += run["costUsd"]
        seen = wait_for(lambda want=spent: (x := budget(admin, b["id"])) and x["spentUsd"] >= want - 1e-6 and x, 60, 0.1)
        assert seen["spentUsd"] == pytest.approx(spent, abs=1e-6)  # the ledger holds each step once
        if spent >= 0.5:
            assert 50 in wait_for(lambda: budget(admin, b["id"])["firedThresholds"], 30, 0.1)
        if spent >= 1.0:
            break
    assert spent >= 1.0

    frozen = wait_for(lambda: (x := budget(admin, b["id"])) and x["frozen"] and x, 30, 0.1)
    assert frozen["state"] == "breached" and frozen["frozenBy"] == f"budget:{name}-monthly"
    kinds = [h["kind"] for h in frozen["history"]]
    assert {"created", "threshold", "breached", "frozen"} <= set(kinds)

    # the warning reached the real Alertmanager (and the breach too), naming the budget
    got = wait_for(lambda: am_alerts(alertmanager, alertname="BudgetWarning", budget=f"{name}-monthly"), 60, 0.3)
    assert got[0]["labels"]["threshold"] == "50" and got[0]["labels"]["pipeline"] == name
    assert wait_for(lambda: am_alerts(alertmanager, alertname="BudgetBreach", budget=f"{name}-monthly"), 60, 0.3)

    # every path that spends in the scope is refused with budget-frozen (not 403), naming the budget
    r = admin.post("/api/runs", json={"pipeline": name, "env": "dev"})
    assert r.status_code == 409, r.text
    p = r.json()
    assert p["type"].endswith("/budget-frozen") and f"{name}-monthly" in p["detail"] and "unfreeze" in p["remediation"]
    r = admin.post(f"/api/runs/{runs[0]['id']}/actions", json={"action": "rerun", "reason": "again"})
    assert r.status_code == 409 and r.json()["type"].endswith("/budget-frozen"), r.text
    r = admin.post(
        f"/api/runs/{runs[0]['id']}/actions",
        json={"action": "promote", "reason": "ship", "service": "web", "canaryUrl": "http://127.0.0.1:9/"},
    )
    assert r.status_code == 409 and r.json()["type"].endswith("/budget-frozen"), r.text
    # nothing half-written: no run was recorded for the refused starts
    assert admin.get("/api/runs", params={"pipeline": name, "limit": 100}).json()["items"].__len__() == len(runs)
    # out of scope: another pipeline still starts
    assert run_to_end(admin, other)["status"] == "succeeded"

    # each refusal is in the audit log and the budget's history
    with Session(engine) as s:
        refusals = s.exec(select(AuditEvent).where(AuditEvent.action == "budget.refused")).all()
    assert len(refusals) == 3 and all(e.target_id == b["id"] for e in refusals)
    assert [h["kind"] for h in budget(admin, b["id"])["history"]].count("refused") == 3

    # controls: a reason is required, a viewer may not, a second unfreeze is refused with the reason
    r = admin.post(f"/api/budgets/{b['id']}/unfreeze", json={"reason": ""})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("reason")
    make_user(engine, roles=["viewer"], username="bv")
    viewer_client = TestClient(client.app, base_url="https://testserver")
    viewer = login(viewer_client, "bv", PASSWORD)
    assert viewer.post(f"/api/budgets/{b['id']}/unfreeze", json={"reason": "please"}).status_code == 403
    r = admin.post(f"/api/budgets/{b['id']}/unfreeze", json={"reason": "finance approved the overrun"})
    assert r.status_code == 200 and r.json()["frozen"] is False, r.text
    r = admin.post(f"/api/budgets/{b['id']}/unfreeze", json={"reason": "again"})
    assert r.status_code == 409 and "not frozen" in r.json()["detail"]
    # runs start again at once, and the automatic freeze does not come back this period
    assert run_to_end(admin, name)["status"] == "succeeded"
    with Session(engine) as s:
        audited = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.target_id == b["id"])).all()]
    assert {"budget.create", "budget.frozen", "budget.refused", "budget.unfreeze"} <= set(audited)

    # raise-cap must raise; a manual freeze needs a reason and is refused twice
    r = admin.post(f"/api/budgets/{b['id']}/raise-cap", json={"reason": "more", "capUsd": 0.5})
    assert r.status_code == 409 and "above the current" in r.json()["detail"]
    r = admin.post(f"/api/budgets/{b['id']}/freeze", json={"reason": "quarter-end review"})
    assert r.status_code == 200 and r.json()["frozen"] and r.json()["frozenBy"] == "admin"
    assert admin.post(f"/api/budgets/{b['id']}/freeze", json={"reason": "again"}).status_code == 409
    r = admin.post(f"/api/budgets/{b['id']}/raise-cap", json={"reason": "new quarter plan", "capUsd": 100})
    assert r.status_code == 200 and r.json()["capUsd"] == 100
    assert r.json()["frozen"] is True  # a person's freeze is not lifted by a raise


def test_a_budget_is_validated_and_tiers_apply_their_documented_caps(client: TestClient, workers: Settings) -> None:
    admin = login(client)
    r = admin.post("/api/budgets", json={"name": "nocap"})
    assert r.status_code == 422 and "cap" in r.text
    r = admin.post("/api/budgets", json={"name": "ghost", "capUsd": 5, "scope": {"pipeline": "no-such"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scope.pipeline"
    r = admin.post("/api/budgets", json={"name": "dg", "capUsd": 5, "actions": [{"kind": "downgrade"}]})
    assert r.status_code == 422 and "classes" in r.text
    # the tiers as docs/finops.md documents them
    bronze = create(admin, name="team-bronze", tier="bronze")
    assert (bronze["capUsd"], bronze["capTokens"], bronze["thresholds"]) == (100.0, 5_000_000, [50, 80, 100])
    assert [(a["kind"], a["atPercent"]) for a in bronze["actions"]] == [("notify", 80), ("freeze", 100)]
    silver = create(admin, name="team-silver", tier="silver", capUsd=250)
    assert silver["capUsd"] == 250 and silver["capTokens"] is None  # a cap given overrides the tier's caps
    assert [(a["kind"], a["atPercent"]) for a in silver["actions"]] == [("notify", 80), ("slowdown", 100)]
    gold = create(admin, name="team-gold", tier="gold")
    assert (gold["capUsd"], gold["capTokens"], gold["thresholds"]) == (10_000.0, 500_000_000, [50, 80, 90, 100])
    assert admin.post("/api/budgets", json={"name": "team-gold", "tier": "gold"}).status_code == 422
    tiers = {t["name"]: t for t in admin.get("/api/budgets/tiers").json()["items"]}
    assert set(tiers) == {"bronze", "silver", "gold"}
    period = datetime.fromisoformat(bronze["periodEnd"]) - datetime.fromisoformat(bronze["periodStart"])
    assert timedelta(days=28) <= period <= timedelta(days=31)
    listed = [b["name"] for b in admin.get("/api/budgets").json()["items"]]
    assert listed == ["team-bronze", "team-gold", "team-silver"]


def test_slowdown_grants_run_permits_at_its_rate(client: TestClient, workers: Settings) -> None:
    admin = login(client)
    name = f"slow-{uuid.uuid4().hex[:6]}"
    register(admin, name)
    b = create(
        admin,
        name=f"{name}-b",
        scope={"pipeline": name},
        capUsd=0.2,
        thresholds=[100],
        actions=[{"kind": "slowdown", "atPercent": 100, "permitsPerMinute": 30}],
    )
    run_to_end(admin, name)  # $0.30 > the cap
    wait_for(lambda: budget(admin, b["id"])["slowed"], 30, 0.1)
    ids = []
    for _ in range(3):
        r = admin.post("/api/runs", json={"pipeline": name, "env": "dev"})
        assert r.status_code == 201, r.text  # slowed down, not refused
        ids.append(r.json()["id"])
    done = [
        wait_for(lambda i=i: (x := admin.get(f"/api/runs/{i}").json()) and x["status"] in TERMINAL and x, 120, 0.2) for i in ids
    ]
    assert all(d["status"] == "succeeded" for d in done)
    starts = sorted(datetime.fromisoformat(d["startedAt"]) for d in done)
    # one permit every 2 s (30 per minute): three runs span at least 4 s (less a second for projection jitter)
    assert (starts[-1] - starts[0]).total_seconds() >= 3.0, starts


class _Finance(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        _Finance.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def finance() -> Iterator[str]:
    _Finance.received = []
    srv = HTTPServer(("127.0.0.1", free_port()), _Finance)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/finance"
    srv.shutdown()


class TestPeriodClose:
    @pytest.fixture
    def settings(self, settings: Settings, finance: str) -> Settings:
        return settings.model_copy(
            update={"finance_webhook_url": finance, "finance_webhook_secret": SecretStr("finance-shared-secret")}
        )

    def test_period_close_sends_a_signed_summary_lifts_the_freeze_and_continues_as_new(
        self, client: TestClient, workers: Settings, engine: Any
    ) -> None:
        import asyncio

        from maestro.finops import ledger
        from maestro.finops.shared import BudgetInput
        from maestro.temporal import connect

        admin = login(client)
        b = create(admin, name="closing", capUsd=1.0, thresholds=[100], actions=[{"kind": "freeze"}])
        with Session(engine) as s:
            row = s.exec(select(Budget).where(Budget.id == b["id"])).one()
            tenant, workflow_id = row.tenant_id, row.workflow_id
            ledger.record(s, [{"tenant_id": tenant, "source": "manual", "source_id": "inv-1",
                               "ts": datetime.now(UTC) - timedelta(seconds=5), "usd": 2.5}])  # fmt: skip
            s.commit()
        # the period is the workflow's input: this one ends in a few seconds (a clock through the input)
        start = (datetime.now(UTC) - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        end = datetime.now(UTC) + timedelta(seconds=4)

        async def restart() -> None:
            c = await connect(workers)
            await c.get_workflow_handle(workflow_id).terminate("test: a short period")
            await c.start_workflow(
                "BudgetWorkflow",
                BudgetInput(budget_id=b["id"], period_start=start.isoformat(), period_end=end.isoformat(), tick_seconds=0.3),
                id=workflow_id,
                task_queue=workers.control_task_queue,
            )

        asyncio.run(restart())
        wait_for(lambda: budget(admin, b["id"])["frozen"], 30, 0.1)
        closed = wait_for(
            lambda: (x := budget(admin, b["id"])) and datetime.fromisoformat(x["periodStart"]) == end and x, 60, 0.2
        )
        got = wait_for(lambda: _Finance.received, 30, 0.1)
        headers, body = got[0]
        ts, sig = headers["x-maestro-timestamp"], headers["x-maestro-signature"]
        want = hmac.new(b"finance-shared-secret", ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert sig == f"sha256={want}"
        doc = json.loads(body)
        assert doc["type"] == "budget_period_closed" and doc["data"]["budget"] == "closing"
        assert doc["data"]["spentUsd"] == pytest.approx(2.5) and doc["data"]["wasFrozen"] is True
        # the new period: the freeze its spend caused is lifted and the workflow runs on (continued as new)
        assert closed["frozen"] is False and closed["firedThresholds"] == []
        kinds = [h["kind"] for h in closed["history"]]
        assert "period-closed" in kinds
        r = admin.post(f"/api/budgets/{b['id']}/freeze", json={"reason": "the new period answers"})
        assert r.status_code == 200 and r.json()["frozen"] is True, r.text
        with Session(engine) as s:
            assert s.exec(select(SpendEntry).where(SpendEntry.source_id == "inv-1")).one().usd == 2.5


def test_gateway_usage_reaches_the_ledger_once_even_when_a_batch_is_delivered_twice(engine: Any, redis_url: str) -> None:
    import redis as redis_lib

    from maestro.domain.finops import SpendRollup
    from maestro.finops import ingest

    r = redis_lib.Redis.from_url(redis_url)
    r.delete(ingest.USAGE_STREAM)
    ingest.ensure_group(r)
    now = datetime.now(UTC).timestamp()

    def usage(rid: str, status: int, prompt: int, completion: int, usd: float, failed: bool = False) -> None:
        r.xadd(ingest.USAGE_STREAM, {"u": json.dumps({"id": rid, "ts": now, "tenant": "t1", "env": "prod", "class": "chat",
              "provider": "prov-a", "model": "sim-small", "status": status, "prompt": prompt, "completion": completion,
              "usd": usd, "key": "k1", "failed": failed})})  # fmt: skip

    usage("gw:1", 200, 100, 50, 0.25)
    usage("gw:2", 200, 10, 5, 0.5)
    usage("gw:3", 429, 10, 0, 0.01, failed=True)  # the provider refused the attempt: no answer, no spend
    # a worker read the batch and died before it acknowledged it: the entries stay pending
    r.xreadgroup(ingest.GROUP, "dead-worker", {ingest.USAGE_STREAM: ">"}, count=10)
    assert ingest.consume_once(r, engine, "dead-worker", block_ms=10) == 3  # its restart takes its pending entries
    usage("gw:1", 200, 100, 50, 0.25)  # the same request delivered again (a flush retried)
    assert ingest.consume_once(r, engine, "w2", block_ms=10) == 1
    assert ingest.consume_once(r, engine, "w2", block_ms=10) == 0
    with Session(engine) as s:
        rows = s.exec(select(SpendEntry).where(SpendEntry.source == "gateway")).all()
        roll = s.exec(select(SpendRollup).where(SpendRollup.source == "gateway")).all()
    assert sorted((e.source_id, e.usd, e.tokens_in, e.tokens_out) for e in rows) == [
        ("gw:1", 0.25, 100, 50),
        ("gw:2", 0.5, 10, 5),
    ]
    assert len(roll) == 1 and roll[0].usd == pytest.approx(0.75) and roll[0].entries == 2 and roll[0].tokens_in == 110
    assert r.xpending(ingest.USAGE_STREAM, ingest.GROUP)["pending"] == 0
    # a client streaming past the end it closed (499) or a stream the provider broke (502) still spent
    r.xadd(ingest.USAGE_STREAM, {"u": json.dumps({"id": "gw:4", "ts": now, "tenant": "t1", "provider": "prov-a", "model": "m",
           "status": 499, "prompt": 40, "completion": 60, "usd": 0.1, "failed": False})})  # fmt: skip
    r.xadd(ingest.USAGE_STREAM, {"u": json.dumps({"id": "gw:5", "ts": now, "tenant": "t1", "provider": "prov-a", "model": "m",
           "status": 503, "prompt": 40, "completion": 0, "usd": 0.01, "failed": True})})  # fmt: skip
    assert ingest.consume_once(r, engine, "w2", block_ms=10) == 2
    with Session(engine) as s:
        got = {e.source_id for e in s.exec(select(SpendEntry).where(SpendEntry.source == "gateway")).all()}
    assert got == {"gw:1", "gw:2", "gw:4"}  # the failed attempt (no answer) is not spend


def test_gateway_refusals_reach_the_budget_history_and_the_audit_log_once(engine: Any, redis_url: str) -> None:
    import redis as redis_lib

    from maestro.domain.models import Tenant
    from maestro.finops import ingest

    with Session(engine) as s:
        tenant_row = s.exec(select(Tenant)).first()
        assert tenant_row is not None
        tid = tenant_row.id
        b = Budget(tenant_id=tid, name="llm", workflow_id="budget-x", created_by="t", frozen=True, cap_usd=1.0)
        s.add(b)
        s.commit()
        bid = b.id
    r = redis_lib.Redis.from_url(redis_url)
    ingest.ensure_group(r)
    record = {
        "budget": bid,
        "name": "llm",
        "tenant": tid,
        "why": "frozen",
        "count": 7,
        "ts": 1.0,
        "id": "gw-a:refusals:1:0",
    }
    for _ in range(2):  # the same flush record delivered twice
        r.xadd(ingest.REFUSALS_STREAM, {"r": json.dumps(record)})
    assert ingest.consume_once(r, engine, "w", block_ms=10) == 2
    with Session(engine) as s:
        notes = s.exec(select(BudgetEvent).where(BudgetEvent.budget_id == bid)).all()
        audits = s.exec(select(AuditEvent).where(AuditEvent.action == "budget.refused")).all()
    assert [(n.kind, n.actor, n.detail["count"]) for n in notes] == [("refused", "gateway", 7)]
    assert len(audits) == 1 and audits[0].target_id == bid and audits[0].actor == "gateway"


def test_period_bounds_are_calendar_months_and_quarters() -> None:
    from maestro.finops.budgets import period_bounds

    def d(*a: int) -> datetime:
        return datetime(*a, tzinfo=UTC)

    assert period_bounds("monthly", d(2026, 11, 30, 23, 59)) == (d(2026, 11, 1), d(2026, 12, 1))
    assert period_bounds("monthly", d(2026, 12, 31, 23)) == (d(2026, 12, 1), d(2027, 1, 1))
    assert period_bounds("quarterly", d(2026, 11, 30)) == (d(2026, 10, 1), d(2027, 1, 1))
    assert period_bounds("quarterly", d(2026, 2, 1)) == (d(2026, 1, 1), d(2026, 4, 1))
    assert period_bounds("quarterly", d(2026, 4, 1)) == (d(2026, 4, 1), d(2026, 7, 1))


def test_a_frozen_budget_reaches_the_gateway_snapshot(client: TestClient, workers: Settings, engine: Any) -> None:
    from maestro.gateway.store import build_snapshot

    admin = login(client)
    b = create(admin, name="llm-spend", capUsd=50, scope={"env": "dev"}, thresholds=[100], actions=[{"kind": "freeze"}])
    create(admin, name="not-frozen", capUsd=50, thresholds=[100])  # a budget that is not frozen is not a gate
    with Session(engine) as s:
        assert build_snapshot(s, 1).budgets == []
    r = admin.post(f"/api/budgets/{b['id']}/freeze", json={"reason": "provider invoice dispute"})
    assert r.status_code == 200, r.text
    with Session(engine) as s:
        gates = build_snapshot(s, 2).budgets
    assert [(g.name, g.env, g.frozen, g.reason) for g in gates] == [("llm-spend", "dev", True, "provider invoice dispute")]
    # deleting the budget lifts its freeze everywhere; its history and audit entries stay
    assert admin.delete(f"/api/budgets/{b['id']}").status_code == 422  # a reason is required
    assert admin.delete(f"/api/budgets/{b['id']}", params={"reason": "moved to the team budget"}).status_code == 204
    assert admin.get(f"/api/budgets/{b['id']}").status_code == 404
    with Session(engine) as s:
        assert build_snapshot(s, 3).budgets == []
        kinds = [e.kind for e in s.exec(select(BudgetEvent).where(BudgetEvent.budget_id == b["id"])).all()]
        deleted = s.exec(select(AuditEvent).where(AuditEvent.action == "budget.delete")).one()
    assert {"created", "frozen", "retired"} <= set(kinds) and deleted.target_id == b["id"]


def test_downgrade_before_the_breach_from_the_forecast_and_restored_by_a_raised_cap(
    client: TestClient, workers: Settings, engine: Any
) -> None:
    """A steady $1/h burn: the forecast reaches the cap before the period ends while utilisation is below
    100%, so the class switches to its cheaper path pre-emptively; raising the cap past the forecast's need
    (and the action's percent) restores it."""
    from maestro.domain.models import Tenant
    from maestro.finops import ledger

    admin = login(client)
    with Session(engine) as s:
        tenant = s.exec(select(Tenant).where(Tenant.slug == "default")).one().id
    for name, kind, url in (("cheap", "openai", "http://127.0.0.1:9/v1"), ("dear", "openai", "http://127.0.0.1:10/v1")):
        assert admin.put(f"/api/routing/providers/{name}", json={"kind": kind, "baseUrl": url}).status_code == 200
    r = admin.put(
        "/api/routing/classes/assist",
        json={
            "match": {"models": ["assist"], "tenants": [tenant]},
            "candidates": [{"provider": "dear", "model": "big"}, {"provider": "cheap", "model": "small"}],
            "downgradeTo": "cheap/small",
        },
    )
    assert r.status_code == 200, r.text
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    hours = [now - timedelta(hours=h) for h in range(1, 49)]  # 48 hours of $1 an hour, ending an hour ago
    with Session(engine) as s:
        ledger.record(s, [{"tenant_id": tenant, "source": "gateway", "source_id": f"burn-{t.isoformat()}", "ts": t,
                           "usd": 1.0, "provider": "dear", "model": "big"} for t in hours])  # fmt: skip
        s.commit()
    probe = create(admin, name="probe", capUsd=1e9, thresholds=[100])  # learns the period's bounds
    start, end = datetime.fromisoformat(probe["periodStart"]), datetime.fromisoformat(probe["periodEnd"])
    spent = sum(1.0 for t in hours if start <= t < end)
    left_h = (end - datetime.now(UTC)).total_seconds() / 3600
    cap = spent + max(left_h, 2) / 2  # at $1/h the cap is hit halfway to the period's end
    b = create(
        admin,
        name="assist-spend",
        scope={"provider": "dear"},
        capUsd=cap,
        thresholds=[100],
        actions=[{"kind": "downgrade", "atPercent": 100, "classes": ["assist"]}],
        forecastDowngrade=True,
    )
    got = wait_for(lambda: (x := budget(admin, b["id"])) and x["downgraded"] and x, 60, 0.2)
    assert got["percent"] < 100 and got["capEta"] is not None and got["spentUsd"] == pytest.approx(spent)
    assert datetime.fromisoformat(got["capEta"]) < end
    cls = admin.get("/api/routing/classes/assist").json()
    assert cls["downgraded"] is True and "forecast" in cls["downgradeReason"] and "assist-spend" in cls["downgradeReason"]
    assert any(h["kind"] == "downgraded" and "forecast" in h["reason"] for h in got["history"])
    # a cap the burn cannot reach this period: the pre-emptive downgrade is lifted
    r = admin.post(f"/api/budgets/{b['id']}/raise-cap", json={"reason": "approved", "capUsd": cap * 1000})
    assert r.status_code == 200, r.text
    assert admin.get("/api/routing/classes/assist").json()["downgraded"] is False


def test_utilisation_is_a_finite_percent_whatever_the_caps() -> None:
    from maestro.finops.budgets import utilisation

    assert utilisation(cap_usd=200.0, cap_tokens=1000, usd=50.0, tokens=500) == 50.0  # the tighter of the two
    assert utilisation(cap_usd=None, cap_tokens=None, usd=5.0, tokens=5) == 0.0
    assert utilisation(cap_usd=5e-324, cap_tokens=None, usd=1.0, tokens=0) == 1e12  # bounded, never inf (JSON)
