"""Login sessions, CSRF, API tokens (scopes, expiry, revocation) and the failed-login limit."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from maestro.domain.models import ApiToken
from maestro.domain.types import utcnow
from tests.conftest import ADMIN_PASSWORD
from tests.factories import PASSWORD, bearer, login, make_token, make_user


def test_login_sets_secure_httponly_cookie_and_me_works(client: TestClient) -> None:
    r = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    me = client.get("/api/auth/me").json()
    assert me["user"]["username"] == "admin" and me["permissions"] == ["admin:*"]
    assert me["csrfToken"] == r.json()["csrfToken"]


def test_wrong_password_and_unknown_user_look_the_same(client: TestClient) -> None:
    a = client.post("/api/auth/login", json={"username": "admin", "password": "nope"})
    b = client.post("/api/auth/login", json={"username": "ghost", "password": "nope"})
    assert a.status_code == b.status_code == 401
    assert a.json()["detail"] == b.json()["detail"]


def test_failed_logins_are_rate_limited(client: TestClient) -> None:
    for _ in range(3):  # login_max_failures=3 in the test settings
        assert client.post("/api/auth/login", json={"username": "admin", "password": "bad"}).status_code == 401
    r = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"].startswith("application/problem+json")


def test_csrf_required_on_cookie_mutations(client: TestClient) -> None:
    caller = login(client)
    no_header = client.post("/api/tokens", json={"name": "x", "scopes": ["runs:read"]})
    assert no_header.status_code == 403 and "CSRF" in no_header.json()["detail"]
    wrong = client.post("/api/tokens", json={"name": "x", "scopes": ["runs:read"]}, headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    assert caller.get("/api/tokens").json()["items"] == []  # nothing was written
    assert caller.post("/api/tokens", json={"name": "x", "scopes": ["runs:read"]}).status_code == 201


def test_logout_ends_the_session(client: TestClient) -> None:
    caller = login(client)
    cookie = client.cookies.get("maestro_session")
    assert caller.post("/api/auth/logout").status_code == 204
    client.cookies.clear()
    client.cookies.set("maestro_session", cookie or "")
    r = client.get("/api/auth/me")
    assert r.status_code == 401 and "Log in again" in r.json()["remediation"]


def test_token_lifecycle_shown_once_used_revoked(client: TestClient) -> None:
    caller = login(client)
    created = make_token(caller, ["system:read", "tokens:self"])
    secret = created["secret"]
    assert secret.startswith(created["token"]["prefix"] + "_")
    listed = caller.get("/api/tokens").json()["items"]
    assert [t["id"] for t in listed] == [created["token"]["id"]]
    assert secret not in caller.get("/api/tokens").text  # never shown again
    client.cookies.clear()
    ok = client.get("/api/system/info", headers=bearer(secret))
    assert ok.status_code == 200
    # a bearer token needs no CSRF token
    assert (
        client.post("/api/tokens", json={"name": "child", "scopes": ["system:read"]}, headers=bearer(secret)).status_code == 201
    )
    caller = login(client)
    revoked = caller.post(f"/api/tokens/{created['token']['id']}/revoke", json={"reason": "leaked"})
    assert revoked.status_code == 200 and revoked.json()["revokedAt"]
    client.cookies.clear()
    r = client.get("/api/system/info", headers=bearer(secret))
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert caller.post(f"/api/tokens/{created['token']['id']}/revoke", json={}).status_code in (401, 409)


def test_expired_token_is_refused(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    created = make_token(caller, ["system:read"], expiresInDays=1)
    with Session(engine) as s:
        tok = s.get(ApiToken, created["token"]["id"])
        assert tok is not None
        tok.expires_at = utcnow() - timedelta(seconds=1)
        s.add(tok)
        s.commit()
    client.cookies.clear()
    r = client.get("/api/system/info", headers=bearer(created["secret"]))
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_garbage_bearer_is_401(client: TestClient) -> None:
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/auth/me", headers={"Authorization": "Bearer mst_00000000_x"}).status_code == 401


def test_token_scopes_limit_what_it_can_do(client: TestClient) -> None:
    caller = login(client)
    secret = make_token(caller, ["system:read"])["secret"]
    client.cookies.clear()
    r = client.get("/api/users", headers=bearer(secret))  # admin owner, but the token lacks admin:users
    assert r.status_code == 403 and "admin:users" in r.json()["detail"]


def test_token_cannot_carry_more_than_its_owner(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    viewer = make_user(engine, roles=["viewer"])
    caller = login(client, viewer.username, PASSWORD)
    r = caller.post("/api/tokens", json={"name": "sneaky", "scopes": ["admin:users"]})
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "scopes"
    assert caller.post("/api/tokens", json={"name": "bad", "scopes": ["runs:fly"]}).status_code == 422


def test_users_cannot_revoke_others_tokens(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    admin = login(client)
    admin_token = make_token(admin, ["system:read"])
    viewer = make_user(engine, roles=["viewer"])
    caller = login(client, viewer.username, PASSWORD)
    assert caller.post(f"/api/tokens/{admin_token['token']['id']}/revoke", json={}).status_code == 404


def test_deactivated_user_loses_access(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    op = make_user(engine, roles=["operator"])
    caller = login(client, op.username, PASSWORD)
    secret = make_token(caller, ["system:read"])["secret"]
    admin = login(client)
    assert admin.patch(f"/api/users/{op.id}", json={"isActive": False}).status_code == 200
    client.cookies.clear()
    assert client.get("/api/system/info", headers=bearer(secret)).status_code == 401
    assert client.post("/api/auth/login", json={"username": op.username, "password": PASSWORD}).status_code == 401


def _mint_with(client: TestClient, secret: str, **body: object) -> dict:  # type: ignore[type-arg]
    client.cookies.clear()
    r = client.post("/api/tokens", headers=bearer(secret), json={"name": "child", "scopes": ["tokens:self"], **body})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_child_token_never_outlives_its_parent(client: TestClient) -> None:
    parent = make_token(login(client), ["tokens:self", "system:read"], expiresInDays=1)
    child = _mint_with(client, parent["secret"], expiresInDays=None)  # asks for "never"
    assert child["token"]["expiresAt"] == parent["token"]["expiresAt"]
    assert child["token"]["parentId"] == parent["token"]["id"]
    assert child["token"]["parentPrefix"] == parent["token"]["prefix"]
    grandchild = _mint_with(client, child["secret"], expiresInDays=3650)
    assert grandchild["token"]["expiresAt"] == parent["token"]["expiresAt"]
    # a shorter life than the parent's is kept as asked
    parent_long = make_token(login(client), ["tokens:self"], expiresInDays=30)
    short = _mint_with(client, parent_long["secret"], expiresInDays=1)
    assert short["token"]["expiresAt"] < parent_long["token"]["expiresAt"]


def test_revoking_a_token_revokes_what_it_minted(client: TestClient) -> None:
    admin = login(client)
    parent = make_token(admin, ["tokens:self", "system:read"], expiresInDays=1)
    child = _mint_with(client, parent["secret"], scopes=["tokens:self", "system:read"])
    grandchild = _mint_with(client, child["secret"], scopes=["system:read"])
    assert client.get("/api/system/info", headers=bearer(grandchild["secret"])).status_code == 200
    admin = login(client)
    r = admin.post(f"/api/tokens/{parent['token']['id']}/revoke", json={"reason": "leaked"})
    assert r.status_code == 200
    client.cookies.clear()
    for t in (parent, child, grandchild):
        r = client.get("/api/system/info", headers=bearer(t["secret"]))
        assert r.status_code == 401 and "revoked" in r.json()["detail"], r.json()
    listed = {t["id"]: t for t in login(client).get("/api/tokens", params={"limit": 100}).json()["items"]}
    assert listed[grandchild["token"]["id"]]["revokedReason"].startswith(f"revoked with {parent['token']['prefix']}")
    audit = login(client).get("/api/audit", params={"action": "token.revoke"}).json()["items"][0]
    assert audit["targetId"] == parent["token"]["id"]


def test_a_token_whose_ancestor_died_is_refused_even_if_not_revoked_itself(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    parent = make_token(login(client), ["tokens:self", "system:read"], expiresInDays=1)
    child = _mint_with(client, parent["secret"], scopes=["system:read"])
    with Session(engine) as s:  # the parent dies without the cascade (e.g. revoked by an older version)
        tok = s.get(ApiToken, parent["token"]["id"])
        assert tok is not None
        tok.revoked_at = utcnow()
        s.add(tok)
        s.commit()
    r = client.get("/api/system/info", headers=bearer(child["secret"]))
    assert r.status_code == 401 and "minted by a token that is revoked" in r.json()["detail"]


def test_a_token_loses_what_its_owner_loses(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    op = make_user(engine, roles=["operator"])
    caller = login(client, op.username, PASSWORD)
    secret = make_token(caller, ["runs:read", "system:diagnose"])["secret"]
    client.cookies.clear()
    assert client.get("/api/runs", headers=bearer(secret)).status_code == 200
    admin = login(client)
    binding = admin.get(f"/api/users/{op.id}/role-bindings").json()["items"][0]
    assert admin.delete(f"/api/role-bindings/{binding['id']}").status_code == 204
    tenant = next(sc["scopeId"] for sc in admin.get("/api/scopes").json()["items"] if sc["scopeType"] == "tenant")
    r = admin.post(f"/api/users/{op.id}/role-bindings", json={"role": "viewer", "scopeType": "tenant", "scopeId": tenant})
    assert r.status_code == 201, r.text
    client.cookies.clear()
    assert client.get("/api/runs", headers=bearer(secret)).status_code == 200  # viewers still read runs
    r = client.post("/api/system/diagnostics", headers=bearer(secret), json={})
    assert r.status_code == 403 and "system:diagnose" in r.json()["detail"]  # the scope outlived the role: refused


def test_a_token_lineage_is_bounded(client: TestClient) -> None:
    token = make_token(login(client), ["tokens:self"], expiresInDays=1)
    for _ in range(3):  # a login's token and three generations below it
        token = _mint_with(client, token["secret"])
    client.cookies.clear()
    r = client.post("/api/tokens", headers=bearer(token["secret"]), json={"name": "too-deep", "scopes": ["tokens:self"]})
    assert r.status_code == 403 and "lineage of 4 tokens" in r.json()["detail"]
    assert client.get("/api/tokens", headers=bearer(token["secret"])).status_code == 200  # the last one still works


def test_an_environment_binding_never_reaches_tenant_wide_routes(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    """?env= only scopes routes that act in an environment: naming one does not make a dev-only
    admin an admin of users, alerts, policies or the audit log."""
    admin = login(client)
    dev = next(e["id"] for e in admin.get("/api/environments").json()["items"] if e["name"] == "dev")
    user = make_user(engine, roles=[])
    binding = {"role": "admin", "scopeType": "environment", "scopeId": dev}
    assert admin.post(f"/api/users/{user.id}/role-bindings", json=binding).status_code == 201
    caller = login(client, user.username, PASSWORD)
    for path in ("/api/users", "/api/alerts", "/api/policies/decisions", "/api/audit", "/api/system/info"):
        for query in ("", "?env=dev"):
            assert caller.get(path + query).status_code == 403, path + query
    assert caller.post("/api/pipelines?env=dev", json={"spec": "name: x\nsteps: [{id: a, run: 'true'}]\n"}).status_code == 403
    assert caller.get("/api/runs").status_code == 200  # runs are per environment: readable in dev
