"""Dependencies every router reuses: runtime, DB session, principal, permissions, scope."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client

from maestro.api.problems import Problem
from maestro.config import Settings
from maestro.domain.auditlog import publish_audit_with
from maestro.domain.identity import Principal, bindings_for, token_ancestors
from maestro.domain.models import ApiToken, Environment, LoginSession, Project, User
from maestro.domain.rbac import PERMISSIONS, ScopePath, grants
from maestro.domain.runs import Run
from maestro.domain.security import TOKEN_PREFIX, sha256_hex
from maestro.domain.types import utcnow
from maestro.pipelines import store

SESSION_COOKIE = "maestro_session"
CSRF_HEADER = "x-csrf-token"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
AUTHENTICATED = "authenticated"  # pseudo-permission: any logged-in principal


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    redis: Redis
    redis_sync: SyncRedis
    temporal: Callable[[], Any]  # async () -> temporalio Client
    extras: dict[str, Any] = field(default_factory=dict)


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_session(rt: RuntimeDep) -> Iterator[Session]:
    with Session(rt.engine, expire_on_commit=False) as s:
        publisher = rt.extras.get("audit_publisher")
        if publisher is not None:
            publish_audit_with(s, publisher)
        yield s


SessionDep = Annotated[Session, Depends(get_session)]


async def get_temporal(rt: RuntimeDep) -> Client:
    try:
        client: Client = await rt.temporal()
    except Exception as exc:
        raise Problem(503, f"Temporal is not reachable at {rt.settings.effective_temporal_address}: {exc}") from exc
    return client


TemporalDep = Annotated[Client, Depends(get_temporal)]


def _unauthorized(detail: str, remediation: str | None = None) -> Problem:
    return Problem(401, detail, remediation=remediation, headers={"WWW-Authenticate": 'Bearer realm="maestro"'})


def resolve_principal(request: Request, s: Session, settings: Settings) -> Principal | None:
    auth = request.headers.get("authorization")
    now = utcnow()
    if auth:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "bearer" or not value.startswith(TOKEN_PREFIX):
            raise _unauthorized("The Authorization header must be `Bearer mst_...` (a Maestro API token).")
        tok = s.exec(select(ApiToken).where(ApiToken.token_hash == sha256_hex(value.strip()))).first()
        if tok is None:
            raise _unauthorized("The API token is not valid.", "Create a new token under Admin → API tokens.")
        if tok.revoked_at is not None:
            raise _unauthorized(
                f"The API token {tok.prefix} was revoked.", "Create a new token; revoked tokens never work again."
            )
        if tok.expires_at is not None and tok.expires_at <= now:
            raise _unauthorized(f"The API token {tok.prefix} expired at {tok.expires_at.isoformat()}.", "Create a new token.")
        if tok.parent_id is not None:  # a child is only as alive as every token above it
            ancestors = token_ancestors(s, tok)
            if ancestors is None or any(
                a.revoked_at is not None or (a.expires_at is not None and a.expires_at <= now) for a in ancestors
            ):
                raise _unauthorized(
                    f"The API token {tok.prefix} was minted by a token that is revoked or expired.", "Create a new token."
                )
        user = s.get(User, tok.owner_id)
        if user is None or not user.is_active:
            raise _unauthorized("The owner of this API token is deactivated.")
        if tok.last_used_at is None or now - tok.last_used_at > timedelta(minutes=1):
            tok.last_used_at = now  # not audited: usage, not a change of state
            s.add(tok)
            s.commit()
        return Principal(
            user=user,
            tenant_id=user.tenant_id,
            kind="token",
            token=tok,
            bindings=bindings_for(s, user_id=user.id, token_id=tok.id),
        )
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        ls = s.exec(select(LoginSession).where(LoginSession.token_hash == sha256_hex(raw))).first()
        if ls is None or ls.revoked_at is not None or ls.expires_at <= now:
            raise _unauthorized("Your session has expired or was signed out.", "Log in again.")
        user = s.get(User, ls.user_id)
        if user is None or not user.is_active:
            raise _unauthorized("This user is deactivated.")
        if request.method in MUTATING:
            sent = request.headers.get(CSRF_HEADER, "")
            if not sent or not hmac.compare_digest(sent, ls.csrf_token):
                raise Problem(
                    403,
                    "Missing or wrong CSRF token for a cookie-authenticated change.",
                    title="CSRF token required",
                    remediation="Send the csrfToken from /api/auth/me in the X-CSRF-Token header.",
                )
        return Principal(
            user=user, tenant_id=user.tenant_id, kind="session", session=ls, bindings=bindings_for(s, user_id=user.id)
        )
    return None


def resolve_scope(s: Session, principal: Principal, env: str | None) -> ScopePath:
    if not env:
        return ScopePath(principal.tenant_id)
    row = s.exec(
        select(Environment, Project)
        .join(Project, col(Project.id) == col(Environment.project_id))
        .where(Project.tenant_id == principal.tenant_id)
        .where((Environment.id == env) | (Environment.name == env))
    ).first()
    if row is None:
        raise Problem(
            404,
            f"Unknown environment {env!r}.",
            errors=[{"field": "query.env", "message": "unknown environment"}],
            remediation="Use one of the names listed by GET /api/environments.",
        )
    e, p = row
    return ScopePath(principal.tenant_id, p.id, e.id)


def authorize(s: Session, principal: Principal, permission: str, env: str | None) -> ScopePath:
    """Check ``permission`` at an environment named in the body or by the target (runs, rollouts)."""
    scope = resolve_scope(s, principal, env)
    if not principal.can(permission, scope):
        where = f"environment {env!r}" if env else "this tenant"
        raise Problem(
            403,
            f"You lack the permission {permission!r} in {where} ({PERMISSIONS[permission]}).",
            remediation=f"Ask an admin to bind you a role that grants {permission} there.",
        )
    return scope


def readable_envs(s: Session, principal: Principal, permission: str) -> set[str] | None:
    """Environment names where ``permission`` holds; None means all of them (tenant-wide)."""
    if principal.can(permission, ScopePath(principal.tenant_id)):
        return None
    rows = s.exec(
        select(Environment, Project)
        .join(Project, col(Project.id) == col(Environment.project_id))
        .where(Project.tenant_id == principal.tenant_id)
    ).all()
    return {e.name for e, p in rows if principal.can(permission, ScopePath(principal.tenant_id, p.id, e.id))}


def run_or_404(s: Session, principal: Principal, run_id: str) -> Run:
    """The run (by id, workflow id or pipeline#number) if the caller may read it; else the same 404
    as for a run that does not exist (no probing of other environments)."""
    run = store.find_run(s, tenant_id=principal.tenant_id, ref=run_id)
    if run is None:
        raise Problem(404, f"No run {run_id!r}.", remediation="List runs with GET /api/runs.")
    envs = readable_envs(s, principal, "runs:read")
    if envs is not None and run.env not in envs:
        raise Problem(404, f"No run {run_id!r}.")
    return run


def Require(permission: str, *, scope: str = "tenant") -> Any:  # noqa: N802 - reads like a declaration on the route
    """Declare a route's permission. Every non-public route must use exactly one.

    ``scope="tenant"`` (the default) checks it tenant-wide: the route's data is not partitioned by
    environment (users, pipelines, alerts, policies, audit), so a binding in one environment never
    reaches it;
    ``scope="request"`` checks it where the request acts (``?env=`` or the tenant), for routes
    that act in one environment;
    ``scope="any"`` checks the caller holds it somewhere, and the handler calls ``authorize`` for
    the environment named in the body or by the target (or filters by ``readable_envs``).
    """
    if permission != AUTHENTICATED and permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}: add it to maestro.domain.rbac.PERMISSIONS")
    if scope not in ("tenant", "request", "any"):
        raise ValueError(f"unknown scope {scope!r}")

    def check(request: Request, rt: Runtime, s: Session, env: str | None) -> Principal:
        principal = resolve_principal(request, s, rt.settings)
        if principal is None:
            raise _unauthorized("This route needs you to log in or send an API token.")
        if permission != AUTHENTICATED and scope == "any":
            if not grants(principal.all_permissions(), permission):
                raise Problem(
                    403,
                    f"You lack the permission {permission!r} ({PERMISSIONS[permission]}).",
                    remediation=f"Ask an admin to bind you a role that grants {permission}.",
                )
        elif permission != AUTHENTICATED:
            where = resolve_scope(s, principal, env)
            if not principal.can(permission, where):
                raise Problem(
                    403,
                    f"You lack the permission {permission!r} here ({PERMISSIONS[permission]}).",
                    remediation=f"Ask an admin to bind you a role that grants {permission}.",
                )
        request.state.principal = principal
        return principal

    if scope == "request":

        def checker(
            request: Request,
            rt: RuntimeDep,
            s: SessionDep,
            env: Annotated[str | None, Query(description="Environment name or id the action applies to.")] = None,
        ) -> Principal:
            return check(request, rt, s, env)

    else:

        def checker(request: Request, rt: RuntimeDep, s: SessionDep) -> Principal:  # type: ignore[misc]
            return check(request, rt, s, None)

    checker.__maestro_permission__ = permission  # type: ignore[attr-defined]
    return Depends(checker)


def is_public(dependant: Any) -> bool:
    """Whether a route's dependencies include ``Public``."""
    if getattr(dependant.call, "__maestro_public__", False):
        return True
    return any(is_public(d) for d in dependant.dependencies)


def public() -> None:
    """Marks a route as reachable without credentials (login, health)."""


public.__maestro_public__ = True  # type: ignore[attr-defined]
Public = Depends(public)
