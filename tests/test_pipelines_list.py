"""GET /api/pipelines lists the most recently changed pipeline first (the UI's "Updated" column),
and its cursor pages follow that order."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Caller, login


def register(caller: Caller, name: str) -> dict[str, Any]:
    r = caller.post("/api/pipelines", json={"spec": f"name: {name}\nsteps:\n- {{id: a, run: echo {name}}}\n"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def names(caller: Caller, **params: Any) -> tuple[list[str], str | None]:
    r = caller.get("/api/pipelines", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    return [p["name"] for p in body["items"]], body["nextCursor"]


def test_pipelines_are_listed_by_update_time_newest_first(client: TestClient) -> None:
    caller = login(client)
    first, _, _ = register(caller, "alpha"), register(caller, "bravo"), register(caller, "charlie")
    assert names(caller)[0] == ["charlie", "bravo", "alpha"]

    # a new version of the oldest pipeline makes it the most recently updated
    r = caller.put(f"/api/pipelines/{first['id']}", json={"spec": "name: alpha\nsteps:\n- {id: a, run: echo v2}\n"})
    assert r.status_code == 200 and r.json()["latestVersion"] == 2, r.text
    listed = caller.get("/api/pipelines").json()["items"]
    assert [p["name"] for p in listed] == ["alpha", "charlie", "bravo"]
    updated = [p["updatedAt"] for p in listed]
    assert updated == sorted(updated, reverse=True)

    # pages of one follow the same order, without repeats or gaps
    seen: list[str] = []
    page, cursor = names(caller, limit=1)
    seen += page
    while cursor:
        page, cursor = names(caller, limit=1, cursor=cursor)
        seen += page
    assert seen == ["alpha", "charlie", "bravo"]
