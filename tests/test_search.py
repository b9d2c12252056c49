"""GET /api/search: the omnibar and command palette find pipelines, runs, services and policies too,
and only what the caller may see."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from maestro.domain.models import Tenant, User
from maestro.domain.rollouts import Rollout
from maestro.domain.runs import Alert, Artifact, Pipeline, PipelineVersion, Run
from maestro.domain.types import new_id
from tests.factories import PASSWORD, Caller, bearer, login, make_token, make_user
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


# --- alerts, artifacts, rollouts, ranking and scope (records straight in SQL: no run needs to execute) ---


@dataclass
class Seeded:
    marker: str
    pipeline_id: str
    runs: dict[str, str]  # env -> run id
    artifacts: dict[str, Artifact]  # env -> artifact
    alerts: list[str]
    rollouts: dict[str, str]  # env -> rollout id
    user_id: str


def _seed(client: TestClient, engine: Any) -> Seeded:
    """A pipeline with a run and an artifact in dev and in prod, services with an active rollout in each,
    an alert named after the marker and one whose summary names it, and a user named after it."""
    marker = f"zq{uuid.uuid4().hex[:6]}"
    admin = login(client)
    svcs = {env: service(admin, f"{marker}-{env}", "http://127.0.0.1:9", env=env) for env in ("dev", "prod")}
    user = make_user(engine, roles=[], username=f"{marker}-person")
    with Session(engine, expire_on_commit=False) as s:
        tenant = s.exec(select(Tenant).where(Tenant.slug == "default")).one()
        p = Pipeline(tenant_id=tenant.id, name=f"{marker}-build", created_by="test")
        s.add(p)
        s.flush()
        v = PipelineVersion(
            pipeline_id=p.id,
            version=1,
            spec={"name": p.name, "steps": [{"id": "package", "run": "true"}]},
            source_text="",
            content_hash="x",
            created_by="test",
        )
        s.add(v)
        s.flush()
        runs, arts, rollouts = {}, {}, {}
        for n, env in enumerate(("dev", "prod"), 1):
            r = Run(
                tenant_id=tenant.id,
                pipeline_id=p.id,
                pipeline_name=p.name,
                version_id=v.id,
                version=1,
                number=n,
                workflow_id=f"run-{new_id()}",
                env=env,
                owner="test",
            )
            s.add(r)
            s.flush()
            digest = hashlib.sha256(f"{marker}-{env}".encode()).hexdigest()
            a = Artifact(
                run_id=r.id, step_key="package", path=f"dist/{marker}-{env}.whl", sha256=digest, size=3, uri=f"sha256/{digest}"
            )
            ro = Rollout(
                tenant_id=tenant.id,
                service_id=svcs[env]["id"],
                service=svcs[env]["name"],
                env=env,
                workflow_id=f"rollout-{new_id()}",
                status="running",
                weight=25,
                stable_url="http://127.0.0.1:9",
                canary_url="http://127.0.0.1:10",
                created_by="test",
            )
            s.add_all([a, ro])
            runs[env], arts[env], rollouts[env] = r.id, a, ro
        now = datetime.now(UTC)
        alerts = [
            Alert(
                tenant_id=tenant.id,
                fingerprint=f"{marker}-1",
                name=f"{marker}Down",
                severity="page",
                state="firing",
                starts_at=now,
            ),
            Alert(
                tenant_id=tenant.id,
                fingerprint=f"{marker}-2",
                name="RunFailureSpike",
                severity="ticket",
                state="firing",
                annotations={"summary": f"{marker}-build: 6 of 6 runs failed"},
                starts_at=now,
            ),
        ]
        s.add_all(alerts)
        s.commit()
        return Seeded(
            marker=marker,
            pipeline_id=p.id,
            runs=runs,
            artifacts=arts,
            alerts=[a.id for a in alerts],
            rollouts={env: ro.id for env, ro in rollouts.items()},
            user_id=user.id,
        )


def _kind_ids(items: list[dict[str, Any]], kind: str) -> set[str]:
    return {h["id"] for h in items if h["kind"] == kind}


def test_search_finds_alerts_by_name_and_summary_and_artifacts_by_path_and_digest(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    w = _seed(client, engine)
    caller = login(client)
    found = hits(caller, w.marker)
    by_kind = {k: _kind_ids(found, k) for k in ("alert", "artifact", "rollout", "service", "pipeline", "user")}
    assert by_kind["alert"] == set(w.alerts)  # one by its name, one by its summary
    assert by_kind["artifact"] == {a.id for a in w.artifacts.values()}
    assert by_kind["rollout"] == set(w.rollouts.values())  # active rollouts of the services named so
    assert by_kind["pipeline"] == {w.pipeline_id}
    summary_hit = next(h for h in found if h["id"] == w.alerts[1])
    assert summary_hit["title"] == "RunFailureSpike" and f"{w.marker}-build: 6 of 6 runs failed" in summary_hit["subtitle"]
    assert summary_hit["href"] == f"/observability/alerts/{w.alerts[1]}"

    dev = w.artifacts["dev"]
    for q in (dev.sha256[:6], dev.sha256[:12].upper(), f"sha256:{dev.sha256[:16]}", dev.sha256):
        art = [h for h in hits(caller, q) if h["kind"] == "artifact"]
        assert [(h["id"], h["title"], h["href"]) for h in art] == [(dev.id, dev.path, f"/runs/{w.runs['dev']}?tab=artifacts")], q
    assert not _kind_ids(hits(caller, dev.sha256[:5]), "artifact")  # too short a prefix to mean a digest
    assert _kind_ids(hits(caller, f"{w.marker}-prod.whl"), "artifact") == {w.artifacts["prod"].id}
    assert not _kind_ids(hits(caller, f"{w.marker}_prod"), "artifact")  # LIKE's _ is taken literally

    # a finished rollout is found by its id, no longer by its service's name
    with Session(engine) as s:
        ro = s.get(Rollout, w.rollouts["prod"])
        assert ro is not None
        ro.status = "succeeded"
        s.add(ro)
        s.commit()
    assert _kind_ids(hits(caller, w.marker), "rollout") == {w.rollouts["dev"]}
    assert _kind_ids(hits(caller, w.rollouts["prod"]), "rollout") == {w.rollouts["prod"]}
    assert _kind_ids(hits(caller, w.rollouts["prod"][:8]), "rollout") == {w.rollouts["prod"]}
    # an id prefix is literal too: wildcards find no run or rollout
    for q in ("%%%%%%%%", "________"):
        assert not [h for h in hits(caller, q) if h["kind"] in {"run", "rollout"}], q


def test_entities_rank_above_audit_events_and_exact_matches_first(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    pipe = register(caller, f"name: rank-{uuid.uuid4().hex[:6]}\nsteps:\n- {{id: a, run: echo hi}}\n")
    kinds = [h["kind"] for h in hits(caller, pipe["id"])]  # the pipeline itself, and its pipeline.create audit event
    assert kinds == ["pipeline", "audit"], kinds
    for q in ("admin", "pipeline"):  # many audit events by actor or action, among users, tokens, policies...
        kinds = [h["kind"] for h in hits(caller, q)]
        assert "audit" in kinds and all(k == "audit" for k in kinds[kinds.index("audit") :]), (q, kinds)
    w = _seed(client, engine)
    # the service named exactly so, then the rollout whose title starts with it, then the artifact holding it
    assert [h["kind"] for h in hits(caller, f"{w.marker}-dev")] == ["service", "rollout", "artifact"]


class TokenCaller:
    """Reads with an API token only (no session cookie)."""

    def __init__(self, client: TestClient, secret: str) -> None:
        self.client, self.secret = client, secret

    def get(self, url: str, **kw: Any) -> httpx.Response:
        self.client.cookies.clear()
        return self.client.get(url, headers=bearer(self.secret), **kw)


def _rest_visible(c: TokenCaller | Caller, w: Seeded) -> dict[str, set[str]]:
    """What each REST list or read shows this caller of the seeded records."""
    out: dict[str, set[str]] = {}
    r = c.get("/api/alerts", params={"limit": 200})
    out["alert"] = {a["id"] for a in r.json()["items"] if a["id"] in w.alerts} if r.status_code == 200 else set()
    out["artifact"] = set()
    for run_id in w.runs.values():
        r = c.get(f"/api/runs/{run_id}/artifacts")
        if r.status_code == 200:
            out["artifact"] |= {a["id"] for a in r.json()["items"]}
    r = c.get("/api/rollouts", params={"limit": 200})
    out["rollout"] = {x["id"] for x in r.json()["items"] if x["id"] in w.rollouts.values()} if r.status_code == 200 else set()
    r = c.get("/api/services")
    out["service"] = {x["id"] for x in r.json()["items"] if x["name"].startswith(w.marker)} if r.status_code == 200 else set()
    out["pipeline"] = {w.pipeline_id} if c.get(f"/api/pipelines/{w.pipeline_id}").status_code == 200 else set()
    out["user"] = {w.user_id} if c.get(f"/api/users/{w.user_id}").status_code == 200 else set()
    out["run"] = {rid for rid in w.runs.values() if c.get(f"/api/runs/{rid}").status_code == 200}
    r = c.get("/api/audit", params={"limit": 5})
    out["audit"] = {"readable"} if r.status_code == 200 else set()
    return out


def test_search_shows_each_kind_exactly_as_its_rest_list_does(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    """A caller finds an alert, artifact, rollout, service, pipeline, user, run or audit event only if the
    REST API shows it to them: environment bindings (even of the admin role) never reach tenant-wide data."""
    w = _seed(client, engine)
    admin = login(client)
    envs = {e["name"]: e["id"] for e in admin.get("/api/environments").json()["items"]}
    narrow_secret = make_token(admin, ["runs:read"])["secret"]

    def bound(role: str, scope: str) -> User:
        if scope == "tenant":
            return make_user(engine, roles=[role])
        u = make_user(engine, roles=[])
        body = {"role": role, "scopeType": "environment", "scopeId": envs[scope]}
        r = login(client).post(f"/api/users/{u.id}/role-bindings", json=body)
        assert r.status_code == 201, r.text
        return u

    callers = [("admin", None, None), ("token runs:read", None, narrow_secret)]
    callers += [
        (f"{role}@{scope}", bound(role, scope), None)
        for role, scope in (("viewer", "tenant"), ("viewer", "dev"), ("admin", "dev"))
    ]
    seen: dict[str, dict[str, set[str]]] = {}
    for name, user, secret in callers:
        client.cookies.clear()
        c: TokenCaller | Caller
        if secret is not None:
            c = TokenCaller(client, secret)
        else:
            c = login(client) if user is None else login(client, user.username, PASSWORD)
        rest = _rest_visible(c, w)
        found = c.get("/api/search", params={"q": w.marker, "limit": 50}).json()["items"]
        found += [h for rid in w.runs.values() for h in c.get("/api/search", params={"q": rid}).json()["items"]]
        found += [h for h in c.get("/api/search", params={"q": w.artifacts["prod"].sha256[:10]}).json()["items"]]
        found += [h for h in c.get("/api/search", params={"q": "service.create"}).json()["items"] if h["kind"] == "audit"]
        got = {k: _kind_ids(found, k) for k in rest if k != "audit"}
        got["audit"] = {"readable"} if any(h["kind"] == "audit" for h in found) else set()
        assert got == rest, name
        seen[name] = got
    # the cases say something: full sight, environment sight, and tenant-wide data out of reach of a binding
    assert seen["admin"]["alert"] == set(w.alerts) and seen["admin"]["user"] == {w.user_id} and seen["admin"]["audit"]
    assert seen["viewer@tenant"]["alert"] == set(w.alerts) and not seen["viewer@tenant"]["user"]
    assert seen["viewer@dev"]["artifact"] == {w.artifacts["dev"].id} and seen["viewer@dev"]["rollout"] == {w.rollouts["dev"]}
    assert not seen["viewer@dev"]["alert"]  # alerts are tenant-wide (system:read): a dev binding does not reach them
    assert not seen["admin@dev"]["alert"] and not seen["admin@dev"]["user"] and not seen["admin@dev"]["audit"]
    assert seen["admin@dev"]["run"] == {w.runs["dev"]}
    assert seen["token runs:read"]["artifact"] == {a.id for a in w.artifacts.values()} and not seen["token runs:read"]["alert"]
