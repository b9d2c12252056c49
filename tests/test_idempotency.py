"""Idempotency-Key: replay returns the first response; a different body is refused."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import login


def test_replay_returns_first_response_and_creates_once(client: TestClient) -> None:
    caller = login(client)
    body = {"name": "deploy-bot", "scopes": ["system:read"]}
    first = caller.post("/api/tokens", json=body, headers={"Idempotency-Key": "k-1"})
    again = caller.post("/api/tokens", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # same token id, same secret: nothing new minted
    assert again.headers["idempotent-replayed"] == "true"
    assert len(caller.get("/api/tokens").json()["items"]) == 1
    creates = caller.get("/api/audit?action=token.create").json()["items"]
    assert len(creates) == 1


def test_same_key_different_body_is_422(client: TestClient) -> None:
    caller = login(client)
    caller.post("/api/tokens", json={"name": "a", "scopes": ["system:read"]}, headers={"Idempotency-Key": "k-2"})
    r = caller.post("/api/tokens", json={"name": "b", "scopes": ["system:read"]}, headers={"Idempotency-Key": "k-2"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "different request body" in r.json()["detail"]
    assert [t["name"] for t in caller.get("/api/tokens").json()["items"]] == ["a"]


def test_keys_are_per_caller(client: TestClient) -> None:
    a = login(client)
    first = a.post("/api/tokens", json={"name": "a", "scopes": ["system:read"]}, headers={"Idempotency-Key": "shared"})
    b = login(client)  # another session of the same user is another caller
    second = b.post("/api/tokens", json={"name": "a", "scopes": ["system:read"]}, headers={"Idempotency-Key": "shared"})
    assert second.status_code == 201 and second.json()["token"]["id"] != first.json()["token"]["id"]


def test_errors_are_replayed_too_but_not_server_errors(client: TestClient) -> None:
    caller = login(client)
    r1 = caller.post("/api/tokens", json={"name": "x", "scopes": ["nope:nope"]}, headers={"Idempotency-Key": "k-3"})
    r2 = caller.post("/api/tokens", json={"name": "x", "scopes": ["nope:nope"]}, headers={"Idempotency-Key": "k-3"})
    assert r1.status_code == r2.status_code == 422 and r2.headers["idempotent-replayed"] == "true"


def test_overlong_key_is_refused(client: TestClient) -> None:
    caller = login(client)
    r = caller.post("/api/tokens", json={"name": "x", "scopes": ["system:read"]}, headers={"Idempotency-Key": "k" * 300})
    assert r.status_code == 400
