"""The cost explorer API on ledgers whose answers are known from the rows the tests put in.

Every expected figure is summed in the test from the rows it inserted (the ledger's own code only
stores them), never read back from the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from maestro.domain.models import AuditEvent, RoleBinding, Tenant, User
from maestro.domain.runs import Artifact
from maestro.domain.security import hash_password
from maestro.finops import ledger
from tests.factories import PASSWORD, add_runs, login, make_user

D0 = datetime(2026, 10, 1, tzinfo=UTC)
H = timedelta(hours=1)
RANGE = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-03T00:00:00Z"}
OTHER_TENANT = "other-tenant-id"
# SQLite and PostgreSQL bucket time differently (text prefixes vs date_trunc): both are tested
BOTH_DATABASES = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def tenant_id(engine: Any) -> str:
    with Session(engine) as s:
        return s.exec(select(Tenant).where(Tenant.slug == "default")).one().id


def insert(engine: Any, rows: list[dict[str, Any]]) -> None:
    with Session(engine) as s:
        ledger.record(s, rows)
        s.commit()


def entry(tenant: str, sid: str, ts: datetime, usd: float, **dims: Any) -> dict[str, Any]:
    return {"tenant_id": tenant, "source": dims.pop("source", "gateway"), "source_id": sid, "ts": ts, "usd": usd, **dims}


def sample(tenant: str) -> list[dict[str, Any]]:
    """Two days of spend for pipelines a and b, plus rows just outside the range and another tenant's."""
    return [
        entry(tenant, "a1", D0 + 1 * H, 1.0, pipeline="a", env="prod", provider="p1", model="m1", tokens_in=10, tokens_out=5),
        entry(tenant, "a2", D0 + 23 * H + timedelta(minutes=30), 2.0, pipeline="a", env="prod", labels={"team": "core"}),
        entry(tenant, "a3", D0 + 24 * H + timedelta(minutes=15), 4.0, pipeline="a", env="prod", tokens_in=7),
        entry(tenant, "a4", D0 + 5 * H, 0.5, pipeline="a", env="dev", source="manual", description='a, "quoted"\nline'),
        entry(tenant, "b1", D0 + 34 * H, 3.0, pipeline="b", env="prod", tokens_out=100),
        entry(tenant, "late", D0 + 48 * H, 100.0, pipeline="a", env="prod"),  # `to` is exclusive
        entry(tenant, "early", D0 - timedelta(minutes=1), 5.0, pipeline="b", env="prod"),  # the previous period
        entry(OTHER_TENANT, "x1", D0 + 2 * H, 1000.0, pipeline="a", env="prod"),
    ]


def in_range(rows: list[dict[str, Any]], tenant: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["tenant_id"] == tenant and D0 <= r["ts"] < D0 + 48 * H]


@BOTH_DATABASES
def test_series_group_by_daily_and_hourly_and_tenant_isolation(client: TestClient, engine: Any) -> None:
    t = tenant_id(engine)
    rows = sample(t)
    insert(engine, rows)
    admin = login(client)
    r = admin.get("/api/costs", params={**RANGE, "group_by": "pipeline,env", "step": "1d"})
    assert r.status_code == 200, r.text
    body = r.json()
    expected: dict[tuple[str, str], dict[datetime, float]] = defaultdict(lambda: defaultdict(float))
    for row in in_range(rows, t):
        day = row["ts"].replace(hour=0, minute=0, second=0)
        expected[(row["pipeline"], row["env"])][day] += row["usd"]
    got = {
        (s["key"]["pipeline"], s["key"]["env"]): {datetime.fromisoformat(p["ts"]): p["usd"] for p in s["points"]}
        for s in body["series"]
    }
    assert got == {k: dict(v) for k, v in expected.items()}
    assert body["groupBy"] == ["pipeline", "env"] and body["step"] == "1d"
    assert math.isclose(body["totalUsd"], 1.0 + 2.0 + 4.0 + 0.5 + 3.0)  # neither the other tenant's 1000 nor the rows outside
    assert body["totalTokens"] == 15 + 7 + 100
    assert [(s["key"]["pipeline"], s["key"]["env"]) for s in body["series"]] == [("a", "prod"), ("b", "prod"), ("a", "dev")]
    assert body["from"].startswith("2026-10-01T00:00") and body["to"].startswith("2026-10-03T00:00")

    hourly = admin.get("/api/costs", params={**RANGE, "group_by": "pipeline", "step": "1h", "env": "prod"}).json()
    a = next(s for s in hourly["series"] if s["key"] == {"pipeline": "a"})
    assert [(datetime.fromisoformat(p["ts"]), p["usd"]) for p in a["points"]] == [
        (D0 + 1 * H, 1.0),
        (D0 + 23 * H, 2.0),
        (D0 + 24 * H, 4.0),
    ]  # env=prod leaves a's dev spend out

    # a label from the ledger rows themselves
    by_label = admin.get("/api/costs", params={**RANGE, "group_by": "label:team"}).json()
    assert {s["key"]["label:team"]: s["totalUsd"] for s in by_label["series"]} == {"core": 2.0, "": 1.0 + 4.0 + 0.5 + 3.0}

    # a user of the other tenant sees only that tenant's spend
    with Session(engine) as s:
        s.add(Tenant(id=OTHER_TENANT, slug="other", name="Other"))
        user = User(tenant_id=OTHER_TENANT, username="other-finops", password_hash=hash_password(PASSWORD))
        s.add(user)
        s.flush()
        s.add(RoleBinding(subject_type="user", subject_id=user.id, role="viewer", scope_type="tenant", scope_id=OTHER_TENANT))
        s.commit()
    other = login(client, "other-finops", PASSWORD)
    theirs = other.get("/api/costs", params={**RANGE, "group_by": "pipeline"}).json()
    assert theirs["totalUsd"] == 1000.0 and [s["key"] for s in theirs["series"]] == [{"pipeline": "a"}]
    exported = list(csv.DictReader(io.StringIO(other.get("/api/costs/export", params=RANGE).text)))
    assert [e["sourceId"] for e in exported] == ["x1"]


def test_bad_input_is_a_422_naming_the_field(client: TestClient) -> None:
    admin = login(client)
    r = admin.get("/api/costs", params={"group_by": "pipeline,colour"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "query.group_by" and "colour" in r.json()["errors"][0]["message"]
    r = admin.get("/api/costs", params={"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.to"
    r = admin.get("/api/costs", params={"from": "2026-10-02T00:00:00Z", "to": "2026-10-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.to"
    assert admin.get("/api/costs", params={"step": "5m"}).status_code == 422
    assert admin.get("/api/costs", params={"from": "yesterday"}).status_code == 422
    r = admin.get("/api/costs/anomalies", params={"group_by": "run"})  # hourly anomalies are rollup dimensions only
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.group_by"
    r = admin.get("/api/costs/top", params={"dimension": "pipeline,env"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.dimension"


@BOTH_DATABASES
def test_top_drivers_with_share_and_change(client: TestClient, engine: Any) -> None:
    t = tenant_id(engine)
    insert(engine, sample(t))
    r = login(client).get("/api/costs/top", params={**RANGE, "dimension": "pipeline", "k": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    total = 1.0 + 2.0 + 4.0 + 0.5 + 3.0
    assert [d["value"] for d in body["drivers"]] == ["a", "b"]
    a, b = body["drivers"]
    assert math.isclose(a["usd"], 7.5) and math.isclose(a["share"], 7.5 / total)
    assert a["previousUsd"] == 0 and a["changeRatio"] is None
    # b spent 5 in the two days before (the row a minute before the range) and 3 in the range
    assert math.isclose(b["previousUsd"], 5.0) and math.isclose(b["changeUsd"], -2.0) and math.isclose(b["changeRatio"], -0.4)
    assert math.isclose(body["totalUsd"], total) and math.isclose(body["previousTotalUsd"], 5.0)
    assert [d["value"] for d in login(client).get("/api/costs/top", params={**RANGE, "k": 1}).json()["drivers"]] == ["a"]


@BOTH_DATABASES
def test_cost_per_artifact(client: TestClient, engine: Any) -> None:
    t = tenant_id(engine)
    run1, run2, run3 = add_runs(engine, [{}, {}, {}], pipeline="build")
    with Session(engine) as s:
        for run, path in ((run1, "a.tar"), (run1, "b.tar"), (run2, "c.tar")):
            s.add(Artifact(run_id=run.id, step_key="pack", path=path, sha256="0" * 64, size=1, uri=f"file:///{path}"))
        s.commit()
    insert(
        engine,
        [
            entry(t, "s1", D0 + 1 * H, 1.0, source="run-step", pipeline="build", run_id=run1.id, step="pack"),
            entry(t, "s2", D0 + 2 * H, 2.0, source="run-step", pipeline="build", run_id=run1.id, step="test"),
            entry(t, "s3", D0 + 3 * H, 3.0, source="run-step", pipeline="build", run_id=run2.id, step="pack"),
            entry(t, "s4", D0 + 4 * H, 1.5, source="run-step", pipeline="lint", run_id=run3.id, step="lint"),
            entry(t, "g1", D0 + 4 * H, 50.0, source="gateway", pipeline="build", run_id=run1.id),  # not a run step
        ],
    )
    r = login(client).get("/api/costs/per-artifact", params=RANGE)
    assert r.status_code == 200, r.text
    items = {i["pipeline"]: i for i in r.json()["items"]}
    assert items["build"] == {"pipeline": "build", "usd": 6.0, "runs": 2, "artifacts": 3, "usdPerArtifact": 2.0}
    assert items["lint"]["artifacts"] == 0 and items["lint"]["usdPerArtifact"] is None
    only = login(client).get("/api/costs/per-artifact", params={**RANGE, "pipeline": "lint"}).json()["items"]
    assert [i["pipeline"] for i in only] == ["lint"]


@BOTH_DATABASES
def test_an_injected_spike_is_an_anomaly_with_its_driver(client: TestClient, engine: Any) -> None:
    t = tenant_id(engine)
    days = 4
    spike_at = D0 + (2 * 24 + 3) * H  # 03:00 on the third day
    rows = []
    for h in range(days * 24):
        ts = D0 + h * H
        rate = 1.0 + 0.05 * (h % 3)  # the same at the same hour every day: a daily shape, no noise
        rows.append(entry(t, f"c{h}p", ts, rate * 0.6, pipeline="chat", env="prod", provider="p1", model="m1"))
        rows.append(entry(t, f"c{h}d", ts, rate * 0.4, pipeline="chat", env="dev", provider="p1", model="m1"))
        rows.append(entry(t, f"b{h}", ts, 2.0, pipeline="batch", env="prod", provider="p1", model="m1"))
    # the spike: a big model on another provider, half in each env
    rows.append(
        entry(t, "spike-p", spike_at + timedelta(minutes=10), 5.0, pipeline="chat", env="prod", provider="p2", model="big")
    )
    rows.append(
        entry(t, "spike-d", spike_at + timedelta(minutes=20), 5.0, pipeline="chat", env="dev", provider="p2", model="big")
    )
    insert(engine, rows)
    r = login(client).get(
        "/api/costs/anomalies",
        params={"from": D0.isoformat(), "to": (D0 + days * 24 * H).isoformat(), "group_by": "pipeline"},
    )
    assert r.status_code == 200, r.text
    found = r.json()["items"]
    assert [(a["key"], datetime.fromisoformat(a["ts"]), a["direction"]) for a in found] == [
        ({"pipeline": "chat"}, spike_at, "spike")
    ]
    a = found[0]
    usual = 1.0 + 0.05 * ((2 * 24 + 3) % 3)
    assert math.isclose(a["value"], usual + 10.0) and math.isclose(a["expected"], usual)
    drivers = [(d["dimension"], d["value"]) for d in a["drivers"]]
    # the big model on p2 explains all 10 USD of the surprise; each env explains only half of it
    assert set(drivers[:2]) == {("model", "big"), ("provider", "p2")}
    assert math.isclose(a["drivers"][0]["excess"], 10.0) and math.isclose(a["drivers"][0]["usd"], 10.0)
    assert drivers[2][0] == "env"


def _csv(client: TestClient, params: dict[str, str]) -> tuple[list[dict[str, str]], str]:
    r = login(client).get("/api/costs/export", params={**params, "format": "csv"})
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text))), r.headers["content-disposition"]


@BOTH_DATABASES
def test_exports_hold_exactly_the_rows_of_the_range(client: TestClient, engine: Any) -> None:
    t = tenant_id(engine)
    rows = sample(t)
    insert(engine, rows)
    exported, disposition = _csv(client, RANGE)
    assert disposition.startswith("attachment;") and "default" in disposition and "20261001" in disposition
    expected = {r["source_id"]: r for r in in_range(rows, t)}
    assert sorted(e["sourceId"] for e in exported) == sorted(expected)
    total = login(client).get("/api/costs", params=RANGE).json()["totalUsd"]
    assert math.isclose(sum(float(e["usd"]) for e in exported), total)
    assert math.isclose(total, sum(r["usd"] for r in expected.values()))
    a2 = next(e for e in exported if e["sourceId"] == "a2")
    assert json.loads(a2["labels"]) == {"team": "core"} and datetime.fromisoformat(a2["ts"]) == expected["a2"]["ts"]
    a4 = next(e for e in exported if e["sourceId"] == "a4")
    assert a4["description"] == 'a, "quoted"\nline' and a4["source"] == "manual" and a4["env"] == "dev"
    assert list(exported[0]) == [
        "id", "ts", "source", "sourceId", "project", "env", "pipeline", "runId", "step", "provider", "model",
        "artifact", "labels", "usd", "tokensIn", "tokensOut", "runnerSeconds", "description",
    ]  # fmt: skip

    r = login(client).get("/api/costs/export", params={**RANGE, "format": "parquet"})
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('.parquet"')
    table = pq.read_table(io.BytesIO(r.content)).to_pylist()
    assert len(table) == len(exported)
    for got, want in zip(table, exported, strict=True):
        assert got["id"] == int(want["id"]) and got["sourceId"] == want["sourceId"]
        assert got["ts"] == datetime.fromisoformat(want["ts"]) and got["usd"] == float(want["usd"])
        assert got["labels"] == want["labels"] and got["description"] == want["description"]
        assert got["tokensIn"] == int(want["tokensIn"]) and got["pipeline"] == want["pipeline"]

    filtered, _ = _csv(client, {**RANGE, "pipeline": "b"})
    assert [e["sourceId"] for e in filtered] == ["b1"]
    empty = pq.read_table(
        io.BytesIO(
            login(client).get("/api/costs/export", params={"from": "2025-01-01", "to": "2025-01-02", "format": "parquet"}).content
        )
    )
    assert empty.num_rows == 0 and "usd" in empty.column_names


@BOTH_DATABASES
def test_manual_entries_are_idempotent_audited_and_need_budgets_write(client: TestClient, engine: Any) -> None:
    admin = login(client)
    first = [
        {"id": "inv-1", "ts": "2026-10-01T10:00:00Z", "usd": 12.5, "project": "web", "labels": {"vendor": "acme"}},
        {"id": "inv-2", "ts": "2026-10-01T11:00:00Z", "usd": 2.5, "description": "support"},
    ]
    r = admin.post("/api/costs/entries", json={"source": "manual", "entries": first})
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 2, "recorded": 2, "duplicates": 0}
    again = [
        *first,
        {"id": "inv-3", "ts": "2026-10-02T09:00:00Z", "usd": 1.0},
        {"id": "inv-3", "ts": "2026-10-02T09:00:00Z", "usd": 1.0},
    ]
    r = admin.post("/api/costs/entries", json={"source": "manual", "entries": again})
    assert r.json() == {"received": 4, "recorded": 1, "duplicates": 3}
    body = admin.get("/api/costs", params={**RANGE, "source": "manual", "group_by": "project"}).json()
    assert math.isclose(body["totalUsd"], 12.5 + 2.5 + 1.0)
    assert {s["key"]["project"]: s["totalUsd"] for s in body["series"]} == {"web": 12.5, "": 3.5}
    with Session(engine) as s:
        audits = s.exec(select(AuditEvent).where(AuditEvent.action == "costs.import")).all()
    assert len(audits) == 2 and all(a.actor == "admin" for a in audits)

    for bad, field in (
        ({"id": "x", "ts": "2026-10-01T00:00:00Z", "usd": -1}, "entries.0.usd"),
        ({"id": "x", "ts": (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "usd": 1}, "entries.0.ts"),
        ({"id": "x", "ts": "2026-10-01T00:00:00Z", "usd": 1, "pipeline": "p" * 64}, "entries.0.pipeline"),
        ({"ts": "2026-10-01T00:00:00Z", "usd": 1}, "entries.0.id"),
        ({"id": "x", "ts": "2026-10-01T00:00:00Z", "usd": 1, "tenantId": "other"}, "entries.0.tenantId"),
    ):
        r = admin.post("/api/costs/entries", json={"source": "manual", "entries": [bad]})
        assert r.status_code == 422 and field in [e["field"] for e in r.json()["errors"]], (bad, r.text)
    r = admin.post("/api/costs/entries", content=b'{"source": "manual", "entries": [{"id": "x", "ts": "2026-10-01T00:00:00Z", "usd": NaN}]}',
                   headers={"Content-Type": "application/json"})  # fmt: skip
    assert r.status_code in (400, 422)
    r = admin.post("/api/costs/entries", json={"source": "gateway", "entries": first})
    assert r.status_code == 422  # only manual and imported costs come in through the API

    viewer = make_user(engine, roles=["viewer"])
    v = login(client, viewer.username, PASSWORD)
    assert v.get("/api/costs", params=RANGE).status_code == 200
    r = v.post("/api/costs/entries", json={"source": "manual", "entries": first})
    assert r.status_code == 403 and "budgets:write" in r.json()["detail"]


def test_forecast_vs_actual_for_the_current_month(client: TestClient, engine: Any) -> None:
    admin = login(client)
    r = admin.get("/api/costs/forecast")
    assert r.status_code == 200, r.text
    assert r.json()["enoughHistory"] is False and "not enough history" in r.json()["reason"]
    t = tenant_id(engine)
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rows = [entry(t, f"h{k}", this_hour - k * H, 1.0, pipeline="chat") for k in range(1, 49)]  # 1 USD/h for 48 hours
    insert(engine, rows)
    body = admin.get("/api/costs/forecast", params={"pipeline": "chat"}).json()
    month = this_hour.replace(day=1, hour=0)
    spent = sum(r["usd"] for r in rows if r["ts"] >= month)
    assert body["enoughHistory"] is True and body["method"] == "linear", body["reason"]
    assert math.isclose(body["burnPerHour"], 1.0) and math.isclose(body["spent"], spent)
    last = body["actual"][-1]
    assert datetime.fromisoformat(last["ts"]) == this_hour and math.isclose(last["usd"], spent)
    assert datetime.fromisoformat(body["from"]) == month
    hours_left = (datetime.fromisoformat(body["to"]) - datetime.fromisoformat(body["now"])) / H
    assert math.isclose(body["projectedTotal"], spent + hours_left, rel_tol=1e-6)
    end = body["forecast"][-1]
    assert end["low"] <= end["expected"] <= end["high"] and datetime.fromisoformat(end["ts"]) == datetime.fromisoformat(
        body["to"]
    )
    assert admin.get("/api/costs/forecast", params={"pipeline": "other"}).json()["spent"] == 0
