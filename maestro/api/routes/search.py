from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, or_, select

from maestro.api.deps import AUTHENTICATED, Require, SessionDep
from maestro.api.pagination import Items
from maestro.api.schemas import SearchHit
from maestro.domain.identity import Principal
from maestro.domain.models import ApiToken, AuditEvent, Environment, Project, User
from maestro.domain.rbac import grants

router = APIRouter(tags=["search"])


@router.get("/search", operation_id="search", response_model=Items[SearchHit])
def search(
    *,
    session: SessionDep,
    principal: Annotated[Principal, Require(AUTHENTICATED)],
    q: Annotated[str, Query(min_length=1, max_length=100, description="Name, id or prefix to look for.")],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> Items[SearchHit]:
    """Find entities you may see by name or id: environments, users, your tokens, audit events."""
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
