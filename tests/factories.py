"""Test data through the real API (and the domain layer where the API has no route)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from maestro.domain.models import RoleBinding, Tenant, User
from maestro.domain.runs import Pipeline, PipelineVersion, Run
from maestro.domain.security import hash_password
from maestro.domain.types import new_id
from tests.conftest import ADMIN_PASSWORD

PASSWORD = "a-long-test-password"


class Caller:
    """A logged-in browser-like client: session cookie + CSRF header on changes."""

    def __init__(self, client: TestClient, csrf: str) -> None:
        self.client = client
        self.csrf = csrf

    def get(self, url: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kw)

    def _mut(self, method: str, url: str, **kw: Any):  # type: ignore[no-untyped-def]
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kw)

    def post(self, url: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self._mut("POST", url, **kw)

    def put(self, url: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self._mut("PUT", url, **kw)

    def patch(self, url: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self._mut("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any):  # type: ignore[no-untyped-def]
        return self._mut("DELETE", url, **kw)


def login(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> Caller:
    client.cookies.clear()
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return Caller(client, r.json()["csrfToken"])


def make_user(engine: Any, *, roles: list[str], username: str | None = None) -> User:
    """A user bound to ``roles`` at tenant scope."""
    with Session(engine, expire_on_commit=False) as s:
        tenant = s.exec(select(Tenant).where(Tenant.slug == "default")).one()
        user = User(tenant_id=tenant.id, username=username or f"u{uuid.uuid4().hex[:8]}", password_hash=hash_password(PASSWORD))
        s.add(user)
        s.flush()
        for role in roles:
            s.add(RoleBinding(subject_type="user", subject_id=user.id, role=role, scope_type="tenant", scope_id=tenant.id))
        s.commit()
        return user


def make_token(caller: Caller, scopes: list[str], **extra: Any) -> dict[str, Any]:
    r = caller.post("/api/tokens", json={"name": f"t-{uuid.uuid4().hex[:6]}", "scopes": scopes, **extra})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def add_pipeline(engine: Any, name: str | None = None) -> tuple[str, str]:
    """A pipeline with one (empty) version, straight in SQL: its id and the version's."""
    with Session(engine) as s:
        tenant = s.exec(select(Tenant).where(Tenant.slug == "default")).one()
        p = Pipeline(tenant_id=tenant.id, name=name or f"p-{uuid.uuid4().hex[:8]}", created_by="test")
        s.add(p)
        s.flush()
        v = PipelineVersion(pipeline_id=p.id, version=1, spec={}, source_text="", content_hash="x", created_by="test")
        s.add(v)
        s.commit()
        return p.id, v.id


def add_runs(engine: Any, rows: list[dict[str, Any]], pipeline: str | None = None) -> list[Run]:
    """Runs of one new pipeline as the projection records them (numbered in order), straight in SQL:
    each dict overrides Run fields (env defaults to dev, status to queued)."""
    pid, vid = add_pipeline(engine, pipeline)
    with Session(engine, expire_on_commit=False) as s:
        p = s.get(Pipeline, pid)
        assert p is not None
        runs = [
            Run(
                tenant_id=p.tenant_id,
                pipeline_id=pid,
                pipeline_name=p.name,
                version_id=vid,
                version=1,
                number=n,
                workflow_id=f"run-{new_id()}",
                owner="test",
                **({"env": "dev"} | row),
            )
            for n, row in enumerate(rows, 1)
        ]
        s.add_all(runs)
        s.commit()
        return runs


def make_runs(engine: Any, envs: list[str]) -> list[str]:
    """Run records (queued, one per environment given) of a new pipeline, straight in SQL: for tests
    of what surrounds a run (scope, projections), not of running one."""
    return [r.id for r in add_runs(engine, [{"env": env} for env in envs])]
