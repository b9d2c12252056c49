"""Every route declares a permission; every mutating route refuses anonymous and unprivileged callers."""

from __future__ import annotations

import re
from typing import Any

import fastapi.routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from maestro.api.deps import AUTHENTICATED
from maestro.domain.rbac import PERMISSIONS, ROLES, grants
from tests.factories import PASSWORD, login, make_user

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
# Public routes are an explicit, reviewed list: a new public route must be added here on purpose.
PUBLIC = {
    ("POST", "/api/auth/login"),
    ("GET", "/api/health"),
    ("GET", "/api/ready"),
    ("GET", "/api/docs"),
    # public signing keys: anyone verifying a signature or a witness bundle needs them, no account
    ("GET", "/api/keys"),
    ("GET", "/api/keys/{keyid}.pem"),
}


def declared(route: Any) -> tuple[str | None, bool]:
    perm, public = None, False

    def walk(dep: Any) -> None:
        nonlocal perm, public
        call = dep.call
        if getattr(call, "__maestro_permission__", None):
            perm = call.__maestro_permission__
        if getattr(call, "__maestro_public__", False):
            public = True
        for d in dep.dependencies:
            walk(d)

    walk(route.dependant)
    return perm, public


def api_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, full path, route) of every API route, as the app really routes them."""
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = list(iter_contexts(app.routes)) if iter_contexts else [r for r in app.routes if isinstance(r, APIRoute)]
    out = []
    for r in routes:
        if getattr(r, "dependant", None) is not None and (r.path or "").startswith("/api"):
            for m in sorted(set(r.methods or ()) - {"HEAD"}):
                out.append((m, r.path, r))
    assert len(out) > 15, "the route table walk found too few routes"
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x0", path)


def test_every_api_route_declares_a_permission_or_is_listed_public(app) -> None:  # type: ignore[no-untyped-def]
    for method, path, route in api_routes(app):
        perm, public = declared(route)
        if public:
            assert (method, path) in PUBLIC, f"{method} {path} is public but not in the reviewed PUBLIC list"
            assert perm is None
        else:
            assert perm is not None, f"{method} {path} declares no permission: add Require(...)"
            assert perm == AUTHENTICATED or perm in PERMISSIONS


def test_mutating_routes_refuse_anonymous_callers(app, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for method, path, _route in api_routes(app):
        if method not in MUTATING or (method, path) in PUBLIC:
            continue
        r = client.request(method, concrete(path), json={})
        assert r.status_code == 401, f"{method} {path} answered {r.status_code} to an anonymous caller"
        assert r.headers["content-type"].startswith("application/problem+json")
        checked += 1
    assert checked >= 6


def test_mutating_routes_refuse_callers_lacking_the_permission(app, client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for method, path, route in api_routes(app):
        perm, _ = declared(route)
        if method not in MUTATING or perm in (None, AUTHENTICATED):
            continue
        # a user holding every role that does NOT grant this permission
        roles = [name for name, perms in ROLES.items() if not grants(set(perms), perm)]
        user = make_user(engine, roles=roles)
        caller = login(client, user.username, PASSWORD)
        r = caller._mut(method, concrete(path), json={})
        assert r.status_code == 403, f"{method} {path} ({perm}) answered {r.status_code} to a caller without it"
        assert perm in r.json()["detail"]
        checked += 1
    assert checked >= 5


def test_role_binding_at_environment_scope_only_applies_there(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    admin = login(client)
    envs = {e["name"]: e["id"] for e in admin.get("/api/environments").json()["items"]}
    assert set(envs) == {"dev", "staging", "prod"}
    user = make_user(engine, roles=[])
    r = admin.post(
        f"/api/users/{user.id}/role-bindings", json={"role": "operator", "scopeType": "environment", "scopeId": envs["dev"]}
    )
    assert r.status_code == 201 and r.json()["scopeName"] == "default/dev"
    caller = login(client, user.username, PASSWORD)
    body = {"steps": 1, "stepSeconds": 0}
    assert caller.post("/api/system/diagnostics?env=prod", json=body).status_code == 403
    assert caller.post("/api/system/diagnostics?env=nowhere", json=body).status_code == 404
    assert caller.post("/api/system/diagnostics", json=body).status_code == 403  # tenant-wide: not granted
    assert caller.post("/api/system/diagnostics?env=dev", json=body).status_code == 202


def test_services_are_listed_only_where_rollouts_are_readable(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    admin = login(client)
    envs = {e["name"]: e["id"] for e in admin.get("/api/environments").json()["items"]}
    for name, env in (("svc-dev", "dev"), ("svc-prod", "prod")):
        r = admin.post("/api/services", json={"name": name, "env": env, "stableUrl": "http://127.0.0.1:9"})
        assert r.status_code == 201, r.text
    user = make_user(engine, roles=[])
    binding = {"role": "viewer", "scopeType": "environment", "scopeId": envs["dev"]}
    assert admin.post(f"/api/users/{user.id}/role-bindings", json=binding).status_code == 201
    caller = login(client, user.username, PASSWORD)
    assert [s["name"] for s in caller.get("/api/services").json()["items"]] == ["svc-dev"]
    assert [s["name"] for s in login(client).get("/api/services").json()["items"]] == ["svc-dev", "svc-prod"]


def test_the_route_walk_notices_an_undeclared_route(app) -> None:  # type: ignore[no-untyped-def]
    @app.post("/api/test-undeclared")
    def undeclared() -> None:
        pass

    found = [(m, p) for m, p, r in api_routes(app) if declared(r) == (None, False)]
    assert found == [("POST", "/api/test-undeclared")]
