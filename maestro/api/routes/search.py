from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, or_, select

from maestro.api.deps import AUTHENTICATED, Require, SessionDep, readable_envs
from maestro.api.pagination import Items
from maestro.api.schemas import SearchHit
from maestro.domain.identity import Principal
from maestro.domain.models import ApiToken, AuditEvent, Environment, Project, User
from maestro.domain.rbac import grants
from maestro.domain.rollouts import Service
from maestro.domain.runs import Pipeline, Run
from maestro.domain.supply import Policy

router = APIRouter(tags=["search"])


@router.get("/search", operation_id="search", response_model=Items[SearchHit])
def search(
    *,
    session: SessionDep,
    principal: Annotated[Principal, Require(AUTHENTICATED)],
    q: Annotated[str, Query(min_length=1, max_length=100, description="Name, id or prefix to look for.")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> Items[SearchHit]:
    """Find what you may see by name or id: environments, pipelines, runs (by id, workflow id or trace id),
    services, policies, users, your tokens, audit events."""
    perms = principal.all_permissions()
    like = f"%{q.lower()}%"
    hits: list[SearchHit] = []
    envs = session.exec(
        select(Environment, Project)
        .join(Project, col(Project.id) == col(Environment.project_id))
        .where(Project.tenant_id == principal.tenant_id)
        .where(or_(col(Environment.name).ilike(like), Environment.id == q))
        .limit(limit)
    ).all()
    hits += [
        SearchHit(kind="environment", id=e.id, title=e.name, subtitle=f"project {p.slug}", href=f"/?env={e.name}")
        for e, p in envs
    ]
    hits += _delivery_hits(session, principal, q, like, limit)
    if grants(perms, "admin:users"):
        users = session.exec(
            select(User)
            .where(User.tenant_id == principal.tenant_id)
            .where(
                or_(col(User.username).ilike(like), col(User.display_name).ilike(like), col(User.email).ilike(like), User.id == q)
            )
            .limit(limit)
        ).all()
        hits += [
            SearchHit(kind="user", id=u.id, title=u.username, subtitle=u.display_name or u.email, href=f"/admin/users/{u.id}")
            for u in users
        ]
    tok_stmt = select(ApiToken).where(or_(col(ApiToken.name).ilike(like), col(ApiToken.prefix).ilike(like), ApiToken.id == q))
    if not grants(perms, "admin:tokens"):
        tok_stmt = tok_stmt.where(ApiToken.owner_id == principal.user.id)
    for t in session.exec(tok_stmt.limit(limit)).all():
        state = "revoked" if t.revoked_at else "active"
        hits.append(
            SearchHit(kind="token", id=t.id, title=t.name, subtitle=f"{t.prefix} · {state}", href=f"/admin/tokens?focus={t.id}")
        )
    if grants(perms, "audit:read"):
        found_ids = [h.id for h in hits if h.kind in {"user", "token"}]
        audit = session.exec(
            select(AuditEvent)
            .where(
                or_(
                    col(AuditEvent.action).ilike(like),
                    col(AuditEvent.actor).ilike(like),
                    AuditEvent.target_id == q,
                    AuditEvent.id == q,
                    AuditEvent.request_id == q,
                    AuditEvent.trace_id == q,
                    col(AuditEvent.target_id).in_(found_ids),
                )
            )
            .order_by(col(AuditEvent.seq).desc())
            .limit(limit)
        ).all()
        hits += [
            SearchHit(
                kind="audit",
                id=a.id,
                title=f"{a.action} by {a.actor}",
                subtitle=f"#{a.seq} · {a.target_type} {a.target_id} · {a.ts.isoformat(timespec='seconds')}",
                href=f"/admin/audit?seq={a.seq}",
            )
            for a in audit
        ]
    return Items[SearchHit](items=hits[: limit * 2])


def _delivery_hits(session: SessionDep, principal: Principal, q: str, like: str, limit: int) -> list[SearchHit]:
    """Pipelines and services by name, runs by id (or its first 8+ characters), workflow id or trace id, policies."""
    tid, hits = principal.tenant_id, []
    run_envs = readable_envs(session, principal, "runs:read")
    if run_envs is None or run_envs:
        pipes = session.exec(
            select(Pipeline)
            .where(Pipeline.tenant_id == tid, or_(col(Pipeline.name).ilike(like), Pipeline.id == q))
            .order_by(col(Pipeline.name))
            .limit(limit)
        ).all()
        hits += [
            SearchHit(
                kind="pipeline",
                id=p.id,
                title=p.name,
                subtitle=f"v{p.latest_version} · {p.run_counter} runs" + (f" · {p.description}" if p.description else ""),
                href=f"/pipelines/{p.id}",
            )
            for p in pipes
        ]
        prefix = col(Run.id).startswith(q.lower()) if len(q) >= 8 else Run.id == q
        runs = select(Run).where(Run.tenant_id == tid, or_(Run.id == q, Run.workflow_id == q, Run.trace_id == q, prefix))
        if run_envs is not None:
            runs = runs.where(col(Run.env).in_(run_envs))
        hits += [
            SearchHit(
                kind="run",
                id=r.id,
                title=f"{r.pipeline_name} #{r.number}",
                subtitle=f"{r.status} · {r.env} · {r.id}",
                href=f"/runs/{r.id}",
            )
            for r in session.exec(runs.order_by(col(Run.created_at).desc()).limit(limit)).all()
        ]
    svc_envs = readable_envs(session, principal, "rollouts:read")
    if svc_envs is None or svc_envs:
        svcs = select(Service).where(Service.tenant_id == tid, col(Service.name).ilike(like))
        if svc_envs is not None:
            svcs = svcs.where(col(Service.env).in_(svc_envs))
        hits += [
            SearchHit(
                kind="service",
                id=v.id,
                title=v.name,
                subtitle=f"service · {v.env} · {v.stable_url}",
                href=f"/rollouts?service={v.name}",
            )
            for v in session.exec(svcs.order_by(col(Service.name)).limit(limit)).all()
        ]
    if grants(principal.all_permissions(), "policies:read"):
        pols = session.exec(
            select(Policy)
            .where(Policy.tenant_id == tid, or_(col(Policy.name).ilike(like), Policy.id == q))
            .order_by(col(Policy.name))
            .limit(limit)
        ).all()
        hits += [
            SearchHit(kind="policy", id=p.id, title=p.name, subtitle="policy · " + ", ".join(p.points), href=f"/policies/{p.id}")
            for p in pols
        ]
    return hits
