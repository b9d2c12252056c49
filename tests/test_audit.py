"""Every mutation is audited in the same transaction; tampering is detected by API and CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from maestro.config import Settings
from tests.factories import login, make_token


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):  # type: ignore[no-untyped-def]
    """The audit chain is proven on both SQLite and PostgreSQL."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_url")
        from maestro.db import get_engine

        with get_engine(url).begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        return url
    return f"sqlite:///{tmp_path / 'maestro.db'}"


def _cli_verify(settings: Settings) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MAESTRO_DATABASE_URL": settings.effective_database_url}
    return subprocess.run(
        [sys.executable, "-m", "maestro.cli", "audit", "verify"], env=env, capture_output=True, text=True, timeout=60
    )


def _seed(client: TestClient) -> None:
    caller = login(client)
    for i in range(3):
        tok = make_token(caller, ["system:read"])
        if i == 1:
            assert caller.post(f"/api/tokens/{tok['token']['id']}/revoke", json={"reason": "test"}).status_code == 200


def test_mutations_are_audited_with_request_and_trace_ids(client: TestClient) -> None:
    caller = login(client)
    r = caller.post("/api/tokens", json={"name": "ci", "scopes": ["system:read"]})
    tok_id = r.json()["token"]["id"]
    items = caller.get("/api/audit?action=token.*").json()["items"]
    assert [(e["action"], e["targetId"], e["actor"]) for e in items] == [("token.create", tok_id, "admin")]
    assert items[0]["traceId"] == r.headers["x-trace-id"]
    assert items[0]["requestId"] == r.headers["x-request-id"]
    actions = [e["action"] for e in caller.get("/api/audit").json()["items"]]
    assert actions == ["token.create", "auth.login", "system.bootstrap"]


def test_refused_changes_leave_no_audit_row(client: TestClient) -> None:
    caller = login(client)
    before = caller.get("/api/audit").json()["items"]
    assert caller.post("/api/tokens", json={"name": "", "scopes": ["system:read"]}).status_code == 422
    assert (
        caller.post("/api/users/nope/role-bindings", json={"role": "admin", "scopeType": "tenant", "scopeId": "x"}).status_code
        == 404
    )
    assert caller.get("/api/audit").json()["items"] == before


def test_chain_verifies_then_edit_is_detected(client: TestClient, migrated: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    _seed(client)  # bootstrap, login, 3 token.create, 1 token.revoke
    caller = login(client)  # + this login = 7 events
    assert caller.get("/api/audit/verify").json() == {"ok": True, "checked": 7, "firstBrokenSeq": None, "reason": None}
    assert _cli_verify(migrated).returncode == 0
    with engine.begin() as c:
        c.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 4"))
    v = caller.get("/api/audit/verify").json()
    assert v["ok"] is False and v["firstBrokenSeq"] == 4 and "edited" in v["reason"]
    out = _cli_verify(migrated)
    assert out.returncode == 1 and "seq 4" in out.stderr


def test_deleted_row_is_detected(client: TestClient, migrated: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    _seed(client)
    with engine.begin() as c:
        c.execute(text("DELETE FROM audit_event WHERE seq = 3"))
    v = login(client).get("/api/audit/verify").json()
    assert v["ok"] is False and v["firstBrokenSeq"] == 4


def test_deleted_tail_row_is_detected(client: TestClient, migrated: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    _seed(client)
    with engine.begin() as c:
        last = c.execute(text("SELECT max(seq) FROM audit_event")).scalar_one()
        c.execute(text(f"DELETE FROM audit_event WHERE seq = {last}"))
    out = _cli_verify(migrated)
    assert out.returncode == 1 and "deleted" in out.stderr


def test_reordered_rows_are_detected(client: TestClient, migrated: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    _seed(client)
    with engine.begin() as c:  # swap the contents of rows 3 and 4 by renumbering them
        c.execute(text("UPDATE audit_event SET seq = -3 WHERE seq = 3"))
        c.execute(text("UPDATE audit_event SET seq = 3 WHERE seq = 4"))
        c.execute(text("UPDATE audit_event SET seq = 4 WHERE seq = -3"))
    v = login(client).get("/api/audit/verify").json()
    assert v["ok"] is False and v["firstBrokenSeq"] == 3


def test_audit_paging_is_stable_under_inserts(client: TestClient) -> None:
    caller = login(client)
    for _ in range(5):
        make_token(caller, ["system:read"])
    first = caller.get("/api/audit?limit=3").json()
    # new events arrive between page fetches
    for _ in range(4):
        make_token(caller, ["system:read"])
    seen = [e["seq"] for e in first["items"]]
    cursor = first["nextCursor"]
    while cursor:
        page = caller.get(f"/api/audit?limit=3&cursor={cursor}").json()
        seen += [e["seq"] for e in page["items"]]
        cursor = page["nextCursor"]
    top = first["items"][0]["seq"]
    assert seen == list(range(top, 0, -1))  # no duplicate, no gap, newest-first


def test_audit_filters(client: TestClient) -> None:
    _seed(client)
    caller = login(client)
    revokes = caller.get("/api/audit?action=token.revoke").json()["items"]
    assert len(revokes) == 1
    ts = revokes[0]["ts"]
    since = caller.get("/api/audit", params={"since": ts}).json()["items"]
    assert all(e["ts"] >= ts for e in since) and revokes[0]["id"] in [e["id"] for e in since]
    assert caller.get("/api/audit?actor=nobody").json()["items"] == []
