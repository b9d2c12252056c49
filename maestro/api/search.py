"""What the omnibar and the command palette find (GET /api/search), each kind under exactly the rule of
its REST list: a caller who cannot read an entity there never finds it here. Entities (runs,
pipelines, rollouts, services, alerts, artifacts) rank above configuration, and audit events last."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select

from maestro.api.deps import readable_envs
from maestro.api.schemas import SearchHit
from maestro.domain.identity import Principal
from maestro.domain.models import ApiToken, AuditEvent, Environment, Project, User
from maestro.domain.rbac import ScopePath, grants
from maestro.domain.rollouts import Rollout, Service
from maestro.domain.runs import Alert, Artifact, Pipeline, Run
from maestro.domain.supply import Policy
from maestro.states import ACTIVE_ROLLOUT, AlertState

# Result order: kinds earlier in this tuple rank first among equally good matches; audit events always last.
KIND_ORDER: tuple[str, ...] = (
    "run",
    "pipeline",
    "rollout",
    "service",
    "alert",
    "artifact",
    "policy",
    "environment",
    "user",
    "token",
    "audit",
)
MIN_ID_PREFIX = 8  # a run or rollout id is found by its first 8+ characters
MIN_DIGEST_PREFIX = 6  # an artifact by the first 6+ hex characters of its sha256
_HEX = re.compile(r"[0-9a-f]+")


def _like(q: str) -> str:
    """``%q%`` with LIKE's wildcards in ``q`` taken literally (escape character backslash)."""
    return "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _ilike(column: object, pattern: str) -> ColumnElement[bool]:
    return col(column).ilike(pattern, escape="\\")  # type: ignore[arg-type]


def contains(column: object, q: str) -> ColumnElement[bool]:
    """``column`` contains ``q``, ignoring case, its wildcards taken literally (also the runs list's free text)."""
    return _ilike(column, _like(q))


def _score(q: str, hit: SearchHit, exact: Iterable[str] = ()) -> int:
    """0: the id, title or another exact key is what was typed; 1: the title starts with it; 2: anywhere."""
    ql = q.lower()
    if ql == hit.id.lower() or ql == hit.title.lower() or ql in {e.lower() for e in exact if e}:
        return 0
    return 1 if hit.title.lower().startswith(ql) else 2


def _tenant_wide(principal: Principal, permission: str) -> bool:
    """The rule of a REST route declared ``Require(permission)`` (tenant scope): an environment binding never reaches it."""
    return principal.can(permission, ScopePath(principal.tenant_id))


def digest_prefix(q: str) -> str | None:
    """The sha256 prefix ``q`` spells (``sha256:`` optional), when it is long enough to mean a digest."""
    d = q.strip().lower().removeprefix("sha256:").removeprefix("sha-256=")
    return d if MIN_DIGEST_PREFIX <= len(d) <= 64 and _HEX.fullmatch(d) else None


def search(*, session: Session, principal: Principal, q: str, limit: int) -> list[SearchHit]:
    """At most ``limit`` hits of each kind, ``limit * 2`` in all, best first (see KIND_ORDER)."""
    like = _like(q)
    scored: list[tuple[int, SearchHit]] = []

    def add(hits: Iterable[SearchHit], exact: Iterable[str] = ()) -> None:
        keys = list(exact)
        scored.extend((_score(q, h, keys), h) for h in hits)

    envs = session.exec(
        select(Environment, Project)
        .join(Project, col(Project.id) == col(Environment.project_id))
        .where(Project.tenant_id == principal.tenant_id)
        .where(or_(_ilike(Environment.name, like), Environment.id == q))
        .limit(limit)
    ).all()
    add(
        SearchHit(kind="environment", id=e.id, title=e.name, subtitle=f"project {p.slug}", href=f"/?env={e.name}")
        for e, p in envs
    )
    for hits in (
        _pipelines(session, principal, q, like, limit),
        _runs(session, principal, q, limit),
        _rollouts(session, principal, q, like, limit),
        _services(session, principal, like, limit),
        _alerts(session, principal, q, like, limit),
        _artifacts(session, principal, q, like, limit),
        _policies(session, principal, q, like, limit),
        _users(session, principal, q, like, limit),
        _tokens(session, principal, q, like, limit),
    ):
        add(hits)
    found_ids = [h.id for _, h in scored if h.kind in {"user", "token"}]
    add(_audit(session, principal, q, like, limit, found_ids))
    rank = {k: i for i, k in enumerate(KIND_ORDER)}
    scored.sort(key=lambda sh: (sh[1].kind == "audit", sh[0], rank.get(sh[1].kind, len(rank))))
    return [h for _, h in scored[: limit * 2]]


def _pipelines(s: Session, principal: Principal, q: str, like: str, limit: int) -> list[SearchHit]:
    """As GET /api/pipelines: runs:read somewhere."""
    run_envs = readable_envs(s, principal, "runs:read")
    if run_envs is not None and not run_envs:
        return []
    pipes = s.exec(
        select(Pipeline)
        .where(Pipeline.tenant_id == principal.tenant_id, or_(_ilike(Pipeline.name, like), Pipeline.id == q))
        .order_by(col(Pipeline.name))
        .limit(limit)
    ).all()
    return [
        SearchHit(
            kind="pipeline",
            id=p.id,
            title=p.name,
            subtitle=f"v{p.latest_version} · {p.run_counter} runs" + (f" · {p.description}" if p.description else ""),
            href=f"/pipelines/{p.id}",
        )
        for p in pipes
    ]


def _runs(s: Session, principal: Principal, q: str, limit: int) -> list[SearchHit]:
    """Runs by id (or its first 8+ characters), workflow id or trace id — not by every name they share —
    in the environments where the caller may read runs (as GET /api/runs)."""
    run_envs = readable_envs(s, principal, "runs:read")
    if run_envs is not None and not run_envs:
        return []
    prefix = col(Run.id).startswith(q.lower(), autoescape=True) if len(q) >= MIN_ID_PREFIX else Run.id == q
    runs = select(Run).where(
        Run.tenant_id == principal.tenant_id, or_(Run.id == q, Run.workflow_id == q, Run.trace_id == q, prefix)
    )
    if run_envs is not None:
        runs = runs.where(col(Run.env).in_(run_envs))
    return [
        SearchHit(
            kind="run",
            id=r.id,
            title=f"{r.pipeline_name} #{r.number}",
            subtitle=f"{r.status} · {r.env} · {r.id}",
            href=f"/runs/{r.id}",
        )
        for r in s.exec(runs.order_by(col(Run.created_at).desc()).limit(limit)).all()
    ]


def _rollouts(s: Session, principal: Principal, q: str, like: str, limit: int) -> list[SearchHit]:
    """Rollouts by id (or its first 8+ characters) or workflow id, and the active ones of services whose
    name matches, in the environments where the caller may read rollouts (as GET /api/rollouts)."""
    envs = readable_envs(s, principal, "rollouts:read")
    if envs is not None and not envs:
        return []
    prefix = col(Rollout.id).startswith(q.lower(), autoescape=True) if len(q) >= MIN_ID_PREFIX else Rollout.id == q
    active_by_service = _ilike(Rollout.service, like) & col(Rollout.status).in_(ACTIVE_ROLLOUT)
    stmt = select(Rollout).where(
        Rollout.tenant_id == principal.tenant_id, or_(Rollout.id == q, Rollout.workflow_id == q, prefix, active_by_service)
    )
    if envs is not None:
        stmt = stmt.where(col(Rollout.env).in_(envs))
    return [
        SearchHit(
            kind="rollout",
            id=r.id,
            title=f"{r.service} rollout at {r.weight}%",
            subtitle=f"{r.status} · {r.env} · {r.created_by} · {r.id}",
            href=f"/rollouts/{r.id}",
        )
        for r in s.exec(stmt.order_by(col(Rollout.created_at).desc()).limit(limit)).all()
    ]


def _services(s: Session, principal: Principal, like: str, limit: int) -> list[SearchHit]:
    """As GET /api/services: the environments where the caller may read rollouts."""
    envs = readable_envs(s, principal, "rollouts:read")
    if envs is not None and not envs:
        return []
    svcs = select(Service).where(Service.tenant_id == principal.tenant_id, _ilike(Service.name, like))
    if envs is not None:
        svcs = svcs.where(col(Service.env).in_(envs))
    return [
        SearchHit(
            kind="service",
            id=v.id,
            title=v.name,
            subtitle=f"service · {v.env} · {v.stable_url}",
            href=f"/rollouts?service={v.name}",
        )
        for v in s.exec(svcs.order_by(col(Service.name)).limit(limit)).all()
    ]


def _alerts(s: Session, principal: Principal, q: str, like: str, limit: int) -> list[SearchHit]:
    """Alerts by name, summary, id or fingerprint, firing first; as GET /api/alerts: system:read tenant-wide."""
    if not _tenant_wide(principal, "system:read"):
        return []
    summary = col(Alert.annotations)["summary"].as_string()
    rows = s.exec(
        select(Alert)
        .where(Alert.tenant_id == principal.tenant_id)
        .where(or_(_ilike(Alert.name, like), summary.ilike(like, escape="\\"), Alert.id == q, Alert.fingerprint == q))
        .order_by(col(Alert.state) == AlertState.resolved, col(Alert.updated_at).desc())
        .limit(limit)
    ).all()
    return [
        SearchHit(
            kind="alert",
            id=a.id,
            title=a.name,
            subtitle=" · ".join(x for x in (a.state, a.severity, a.annotations.get("summary", "")) if x),
            href=f"/observability/alerts/{a.id}",
        )
        for a in rows
    ]


def _artifacts(s: Session, principal: Principal, q: str, like: str, limit: int) -> list[SearchHit]:
    """Artifacts by path, or by their sha256 (a prefix of 6+ hex characters, ``sha256:`` optional), newest
    first; as GET /api/runs/{id}/artifacts: only of runs in environments where the caller may read runs."""
    run_envs = readable_envs(s, principal, "runs:read")
    if run_envs is not None and not run_envs:
        return []
    digest = digest_prefix(q)
    match = _ilike(Artifact.path, like)
    if digest is not None:
        match = or_(match, col(Artifact.sha256).startswith(digest))
    stmt = (
        select(Artifact, Run)
        .join(Run, col(Run.id) == col(Artifact.run_id))
        .where(Run.tenant_id == principal.tenant_id, or_(match, Artifact.id == q))
    )
    if run_envs is not None:
        stmt = stmt.where(col(Run.env).in_(run_envs))
    rows = s.exec(stmt.order_by(col(Artifact.created_at).desc(), col(Artifact.id)).limit(limit)).all()
    return [
        SearchHit(
            kind="artifact",
            id=a.id,
            title=a.path,
            subtitle=f"sha256:{a.sha256[:12]} · {r.pipeline_name} #{r.number} · step {a.step_key} · {r.env}",
            href=f"/runs/{r.id}?tab=artifacts",
        )
        for a, r in rows
    ]


def _policies(s: Session, principal: Principal, q: str, like: str, limit: int) -> list[SearchHit]:
    """As GET /api/policies: policies:read tenant-wide."""
    if not _tenant_wide(principal, "policies:read"):
        return []
    pols = s.exec(
        select(Policy)
        .where(Policy.tenant_id == principal.tenant_id, or_(_ilike(Policy.name, like), Policy.id == q))
        .order_by(col(Policy.name))
        .limit(limit)
    ).all()
    return [
        SearchHit(kind="policy", id=p.id, title=p.name, subtitle="policy · " + ", ".join(p.points), href=f"/policies/{p.id}")
        for p in pols
    ]


def _users(s: Session, principal: Principal, q: str, like: str, limit: int) -> list[SearchHit]:
    """As GET /api/users: admin:users tenant-wide."""
    if not _tenant_wide(principal, "admin:users"):
        return []
    users = s.exec(
        select(User)
        .where(User.tenant_id == principal.tenant_id)
        .where(
            or_(
                _ilike(User.username, like),
                _ilike(User.display_name, like),
                _ilike(User.email, like),
                User.id == q,
            )
        )
        .limit(limit)
    ).all()
    return [
        SearchHit(kind="user", id=u.id, title=u.username, subtitle=u.display_name or u.email, href=f"/admin/users/{u.id}")
        for u in users
    ]


def _tokens(s: Session, principal: Principal, q: str, like: str, limit: int) -> list[SearchHit]:
    """As GET /api/tokens: your own with tokens:self tenant-wide; everyone's with admin:tokens (?all=true)."""
    if not _tenant_wide(principal, "tokens:self"):
        return []
    stmt = select(ApiToken).where(or_(_ilike(ApiToken.name, like), _ilike(ApiToken.prefix, like), ApiToken.id == q))
    if not grants(principal.all_permissions(), "admin:tokens"):
        stmt = stmt.where(ApiToken.owner_id == principal.user.id)
    out = []
    for t in s.exec(stmt.limit(limit)).all():
        state = "revoked" if t.revoked_at else "active"
        out.append(
            SearchHit(kind="token", id=t.id, title=t.name, subtitle=f"{t.prefix} · {state}", href=f"/admin/tokens?focus={t.id}")
        )
    return out


def _audit(s: Session, principal: Principal, q: str, like: str, limit: int, found_ids: list[str]) -> list[SearchHit]:
    """Audit events by action, actor or any id they carry (and those of users and tokens found), newest
    first; as GET /api/audit: audit:read tenant-wide."""
    if not _tenant_wide(principal, "audit:read"):
        return []
    audit = s.exec(
        select(AuditEvent)
        .where(
            or_(
                _ilike(AuditEvent.action, like),
                _ilike(AuditEvent.actor, like),
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
    return [
        SearchHit(
            kind="audit",
            id=a.id,
            title=f"{a.action} by {a.actor}",
            subtitle=f"#{a.seq} · {a.target_type} {a.target_id} · {a.ts.isoformat(timespec='seconds')}",
            href=f"/admin/audit?seq={a.seq}",
        )
        for a in audit
    ]
