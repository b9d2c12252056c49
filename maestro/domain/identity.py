"""Tenancy bootstrap, users, role bindings, API tokens and sessions (data access, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from maestro.domain.auditlog import append_audit
from maestro.domain.models import (
    ApiToken,
    Environment,
    LoginSession,
    Project,
    RoleBinding,
    ScopeType,
    SubjectType,
    Tenant,
    User,
)
from maestro.domain.rbac import ROLES, ScopePath, grants, role_permissions
from maestro.domain.security import generate_password, hash_password, new_api_token, new_opaque, sha256_hex
from maestro.domain.types import utcnow

DEFAULT_ENVIRONMENTS = ("dev", "staging", "prod")
SYSTEM_ACTOR = "system"


@dataclass
class BootstrapResult:
    created: bool
    admin_username: str
    admin_password: str | None  # only when it was generated now (print once)
    tenant_id: str


def bootstrap(engine: Engine, *, admin_username: str, admin_password: str | None) -> BootstrapResult:
    """Create the default tenant, project, environments and first admin, once (and starter policies missing)."""
    from maestro.policy.service import seed_starters

    with Session(engine, expire_on_commit=False) as s:
        tenant = s.exec(select(Tenant).where(Tenant.slug == "default")).first()
        if tenant is not None:
            if seed_starters(s, tenant.id):
                s.commit()
            return BootstrapResult(False, admin_username, None, tenant.id)
        tenant = Tenant(slug="default", name="Default tenant")
        project = Project(tenant_id=tenant.id, slug="default", name="Default project")
        s.add(tenant)
        s.flush()
        s.add(project)
        s.flush()
        envs = [Environment(project_id=project.id, name=n) for n in DEFAULT_ENVIRONMENTS]
        for e in envs:
            s.add(e)
        password = admin_password or generate_password()
        admin = User(
            tenant_id=tenant.id,
            username=admin_username,
            display_name="Administrator",
            password_hash=hash_password(password),
        )
        s.add(admin)
        s.flush()
        s.add(
            RoleBinding(
                subject_type=SubjectType.user,
                subject_id=admin.id,
                role="admin",
                scope_type=ScopeType.tenant,
                scope_id=tenant.id,
            )
        )
        append_audit(
            s,
            actor=SYSTEM_ACTOR,
            action="system.bootstrap",
            target_type="tenant",
            target_id=tenant.id,
            change={"tenant": "default", "environments": list(DEFAULT_ENVIRONMENTS), "admin": admin_username},
        )
        seed_starters(s, tenant.id)
        s.commit()
        return BootstrapResult(True, admin_username, None if admin_password else password, tenant.id)


def reset_password(engine: Engine, *, username: str) -> str:
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise LookupError(f"no user named {username!r}")
        password = generate_password()
        user.password_hash = hash_password(password)
        s.add(user)
        # sign out everywhere
        for ls in s.exec(select(LoginSession).where(LoginSession.user_id == user.id, col(LoginSession.revoked_at).is_(None))):
            ls.revoked_at = utcnow()
            s.add(ls)
        append_audit(
            s, actor=SYSTEM_ACTOR, action="user.password_reset", target_type="user", target_id=user.id, change={"via": "cli"}
        )
        s.commit()
        return password


@dataclass
class Principal:
    user: User
    tenant_id: str
    kind: str  # "session" | "token"
    bindings: list[RoleBinding] = field(default_factory=list)
    token: ApiToken | None = None
    session: LoginSession | None = None

    @property
    def actor(self) -> str:
        if self.token is not None:
            return f"{self.user.username} (token {self.token.prefix})"
        return self.user.username

    def permissions_at(self, scope: ScopePath) -> set[str]:
        held: set[str] = set()
        for b in self.bindings:
            if scope.covered_by(b.scope_type, b.scope_id):
                held |= role_permissions([b.role])
        return self._limit(held)

    def _limit(self, held: set[str]) -> set[str]:
        """A token never carries more than its scopes, nor more than its owner holds."""
        if self.token is None or "admin:*" in self.token.scopes:
            return held
        scopes = set(self.token.scopes)
        return scopes if "admin:*" in held else held & scopes

    def can(self, permission: str, scope: ScopePath) -> bool:
        return grants(self.permissions_at(scope), permission)

    def all_permissions(self) -> set[str]:
        """Union over every scope the principal is bound at (what the UI may offer)."""
        held: set[str] = set()
        for b in self.bindings:
            held |= role_permissions([b.role])
        return self._limit(held)


def bindings_for(s: Session, *, user_id: str, token_id: str | None = None) -> list[RoleBinding]:
    subjects = [(SubjectType.user.value, user_id)]
    if token_id:
        subjects.append((SubjectType.token.value, token_id))
    out: list[RoleBinding] = []
    for st, sid in subjects:
        out.extend(s.exec(select(RoleBinding).where(RoleBinding.subject_type == st, RoleBinding.subject_id == sid)).all())
    return out


def create_session(s: Session, *, user: User, ttl: timedelta) -> tuple[LoginSession, str]:
    raw = new_opaque()
    ls = LoginSession(user_id=user.id, token_hash=sha256_hex(raw), csrf_token=new_opaque(), expires_at=utcnow() + ttl)
    s.add(ls)
    append_audit(s, actor=user.username, action="auth.login", target_type="user", target_id=user.id, change={"session": ls.id})
    s.commit()
    return ls, raw


def mint_token(
    s: Session,
    *,
    owner: User,
    actor: str,
    name: str,
    scopes: list[str],
    expires_in_days: int | None,
    parent: ApiToken | None = None,
) -> tuple[ApiToken, str]:
    """A new token; minted with ``parent`` (a token), it expires no later than the parent does."""
    secret, prefix = new_api_token()
    expires_at = (utcnow() + timedelta(days=expires_in_days)) if expires_in_days else None
    if parent is not None and parent.expires_at is not None and (expires_at is None or expires_at > parent.expires_at):
        expires_at = parent.expires_at
    tok = ApiToken(
        owner_id=owner.id,
        name=name,
        prefix=prefix,
        token_hash=sha256_hex(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
        parent_id=parent.id if parent is not None else None,
    )
    s.add(tok)
    append_audit(
        s,
        actor=actor,
        action="token.create",
        target_type="api_token",
        target_id=tok.id,
        change={
            "name": name,
            "prefix": prefix,
            "scopes": tok.scopes,
            "expires_at": tok.expires_at,
            **({"parent": parent.prefix} if parent is not None else {}),
        },
    )
    s.commit()
    return tok, secret


MAX_TOKEN_DEPTH = 4  # a login's token, its child, grandchild...: deeper lineages are refused


def token_ancestors(s: Session, tok: ApiToken) -> list[ApiToken] | None:
    """The tokens above ``tok``, nearest first; None when the lineage is broken (a parent missing),
    cyclic or deeper than MAX_TOKEN_DEPTH — such a token must not be honoured."""
    out: list[ApiToken] = []
    seen = {tok.id}
    cur = tok
    while cur.parent_id is not None:
        parent = s.get(ApiToken, cur.parent_id)
        if parent is None or parent.id in seen or len(out) >= MAX_TOKEN_DEPTH:
            return None
        seen.add(parent.id)
        out.append(parent)
        cur = parent
    return out


def token_descendants(s: Session, token_id: str) -> list[ApiToken]:
    """Every token minted, directly or not, by ``token_id`` (breadth-first)."""
    out: list[ApiToken] = []
    frontier = [token_id]
    seen = {token_id}
    while frontier:
        children = s.exec(select(ApiToken).where(col(ApiToken.parent_id).in_(frontier))).all()
        frontier = [c.id for c in children if c.id not in seen]
        seen.update(frontier)
        out += [c for c in children if c.id in frontier]
    return out


def known_role(role: str) -> bool:
    return role in ROLES
