"""GET /api/search: the omnibar and command palette find pipelines, runs, services and policies too,
and only what the caller may see."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Caller, bearer, login, make_token
from tests.test_rollouts import service
from tests.test_runs import register, start, wait_run


def hits(caller: Caller, q: str) -> list[dict[str, Any]]:
    r = caller.get("/api/search", params={"q": q})
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def test_search_finds_pipelines_runs_services_and_policies(client: TestClient, workers) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    pipe = register(caller, "name: shopfront-build\nsteps:\n- {id: a, run: echo hi}\n")
    run = wait_run(caller, start(caller, "shopfront-build")["id"])
    service(caller, "shopfront", "http://127.0.0.1:9")

    found = {(h["kind"], h["title"]): h for h in hits(caller, "shopfront")}
    assert found[("pipeline", "shopfront-build")]["href"] == f"/pipelines/{pipe['id']}"
    assert found[("service", "shopfront")]["href"] == "/rollouts?service=shopfront"
    assert not any(k == "run" for k, _ in found)  # runs are found by id, not by every name they share

    title = f"shopfront-build #{run['number']}"
    for q in (run["id"], run["id"][:8], run["workflowId"], run["traceId"]):
        by_id = [h for h in hits(caller, q) if h["kind"] == "run"]
        assert [(h["title"], h["href"]) for h in by_id] == [(title, f"/runs/{run['id']}")], q
    assert not [h for h in hits(caller, run["id"][:5]) if h["kind"] == "run"]  # too short a prefix to mean a run

    policies = caller.get("/api/policies").json()["items"]
    assert policies, "the starter policies exist"
    p = policies[0]
    assert ("policy", p["name"]) in {(h["kind"], h["title"]) for h in hits(caller, p["name"])}

    # a token without runs:read, rollouts:read or policies:read finds none of them
    narrow = make_token(caller, ["tokens:self"])["secret"]
    client.cookies.clear()
    r = client.get("/api/search", params={"q": "shopfront"}, headers=bearer(narrow))
    assert r.status_code == 200 and r.json()["items"] == []
