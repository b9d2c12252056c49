from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, or_, select

from maestro.api.deps import AUTHENTICATED, Require, SessionDep
from maestro.api.pagination import Items, Page, PageParams, page_params, paginate
from maestro.api.problems import Problem
from maestro.api.schemas import (
    CREATED_ID,
    EnvironmentPublic,
    PermissionPublic,
    RoleBindingCreate,
    RoleBindingPublic,
    RolePublic,
    ScopePublic,
    UserCreate,
    UserPublic,
    UserUpdate,
    links,
)
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.models import Environment, Project, RoleBinding, SubjectType, Tenant, User
from maestro.domain.rbac import PERMISSIONS, ROLES
from maestro.domain.security import hash_password

router = APIRouter(tags=["admin"])

AdminDep = Annotated[Principal, Require("admin:users")]


def _user_or_404(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise Problem(404, f"No user with id {user_id!r}.")
    return user


def scope_names(session: Session, tenant_id: str) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    tenant = session.get(Tenant, tenant_id)
    if tenant:
        out[("tenant", tenant.id)] = f"tenant {tenant.slug}"
    for p in session.exec(select(Project).where(Project.tenant_id == tenant_id)):
        out[("project", p.id)] = f"project {p.slug}"
        for e in session.exec(select(Environment).where(Environment.project_id == p.id)):
            out[("environment", e.id)] = f"{p.slug}/{e.name}"
    return out


@router.get("/users", operation_id="users-list", response_model=Page[UserPublic])
def list_users(
    *,
    session: SessionDep,
    principal: AdminDep,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100, description="Filter by username, name or email.")] = None,
) -> Page[UserPublic]:
    stmt = select(User).where(User.tenant_id == principal.tenant_id)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(or_(col(User.username).ilike(like), col(User.display_name).ilike(like), col(User.email).ilike(like)))
    return paginate(
        session,
        stmt,
        order=[User.created_at, User.id],
        params=page,
        kind="users",
        to_public=UserPublic.model_validate,
    )


@router.post(
    "/users",
    operation_id="users-create",
    response_model=UserPublic,
    status_code=201,
    responses=links(
        201, "user_id", CREATED_ID, "users-get", "users-update", "users-role-bindings-list", "users-role-bindings-create"
    ),
)
def create_user(*, body: UserCreate, session: SessionDep, principal: AdminDep) -> UserPublic:
    if session.exec(select(User).where(User.username == body.username)).first():
        raise Problem(
            409,
            f"A user named {body.username!r} already exists.",
            errors=[{"field": "username", "message": "already taken"}],
            remediation="Pick another username.",
        )
    user = User(
        tenant_id=principal.tenant_id,
        username=body.username,
        display_name=body.display_name,
        email=body.email,
        password_hash=hash_password(body.password),
    )
    session.add(user)
    append_audit(
        session,
        actor=principal.actor,
        action="user.create",
        target_type="user",
        target_id=user.id,
        change={"username": user.username, "display_name": user.display_name, "email": user.email},
    )
    try:
        session.commit()
    except IntegrityError as exc:
        raise Problem(409, f"A user named {body.username!r} already exists.") from exc
    return UserPublic.model_validate(user)


@router.get("/users/{user_id}", operation_id="users-get", response_model=UserPublic)
def get_user(*, user_id: str, session: SessionDep, principal: AdminDep) -> UserPublic:
    return UserPublic.model_validate(_user_or_404(session, user_id))


@router.patch("/users/{user_id}", operation_id="users-update", response_model=UserPublic)
def update_user(*, user_id: str, body: UserUpdate, session: SessionDep, principal: AdminDep) -> UserPublic:
    user = _user_or_404(session, user_id)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("is_active") is False and user.id == principal.user.id:
        raise Problem(409, "You cannot deactivate yourself.", remediation="Ask another admin.")
    for k, v in changes.items():
        setattr(user, k, v)
    session.add(user)
    append_audit(session, actor=principal.actor, action="user.update", target_type="user", target_id=user.id, change=changes)
    session.commit()
    return UserPublic.model_validate(user)


def _binding_public(b: RoleBinding, names: dict[tuple[str, str], str]) -> RoleBindingPublic:
    return RoleBindingPublic.model_validate({**b.model_dump(), "scope_name": names.get((b.scope_type, b.scope_id), b.scope_id)})


@router.get("/users/{user_id}/role-bindings", operation_id="users-role-bindings-list", response_model=Items[RoleBindingPublic])
def list_bindings(*, user_id: str, session: SessionDep, principal: AdminDep) -> Items[RoleBindingPublic]:
    _user_or_404(session, user_id)
    names = scope_names(session, principal.tenant_id)
    rows = session.exec(
        select(RoleBinding).where(RoleBinding.subject_type == SubjectType.user, RoleBinding.subject_id == user_id)
    ).all()
    return Items[RoleBindingPublic](items=[_binding_public(b, names) for b in rows])


@router.post(
    "/users/{user_id}/role-bindings",
    operation_id="users-role-bindings-create",
    response_model=RoleBindingPublic,
    status_code=201,
    responses=links(201, "binding_id", CREATED_ID, "role-bindings-delete"),
)
def create_binding(*, user_id: str, body: RoleBindingCreate, session: SessionDep, principal: AdminDep) -> RoleBindingPublic:
    user = _user_or_404(session, user_id)
    if body.role not in ROLES:
        raise Problem(
            422,
            f"Unknown role {body.role!r}.",
            errors=[{"field": "role", "message": f"one of {sorted(ROLES)}"}],
        )
    names = scope_names(session, principal.tenant_id)
    if (body.scope_type, body.scope_id) not in names:
        raise Problem(
            422,
            f"No {body.scope_type} with id {body.scope_id!r} in your tenant.",
            errors=[{"field": "scopeId", "message": "unknown scope"}],
            remediation="Pick a scope from GET /api/scopes.",
        )
    exists = session.exec(
        select(RoleBinding).where(
            RoleBinding.subject_type == SubjectType.user,
            RoleBinding.subject_id == user.id,
            RoleBinding.role == body.role,
            RoleBinding.scope_type == body.scope_type,
            RoleBinding.scope_id == body.scope_id,
        )
    ).first()
    if exists:
        raise Problem(409, f"{user.username} already has {body.role} on {names[(body.scope_type, body.scope_id)]}.")
    b = RoleBinding(
        subject_type=SubjectType.user, subject_id=user.id, role=body.role, scope_type=body.scope_type, scope_id=body.scope_id
    )
    session.add(b)
    append_audit(
        session,
        actor=principal.actor,
        action="rolebinding.create",
        target_type="user",
        target_id=user.id,
        change={"binding": b.id, "role": b.role, "scope_type": b.scope_type, "scope_id": b.scope_id},
    )
    session.commit()
    return _binding_public(b, names)


@router.delete("/role-bindings/{binding_id}", operation_id="role-bindings-delete", status_code=204)
def delete_binding(
    *,
    binding_id: str,
    session: SessionDep,
    principal: AdminDep,
    reason: Annotated[str | None, Query(max_length=500, description="Why; recorded in the audit log.")] = None,
) -> Response:
    b = session.get(RoleBinding, binding_id)
    if b is None:
        raise Problem(404, f"No role binding with id {binding_id!r}.")
    if b.subject_id == principal.user.id and b.role == "admin":
        others = session.exec(
            select(RoleBinding).where(RoleBinding.role == "admin", RoleBinding.subject_id != principal.user.id)
        ).first()
        if others is None:
            raise Problem(
                409,
                "This is the last admin binding; removing it would lock everyone out.",
                remediation="Make another admin first.",
            )
    session.delete(b)
    append_audit(
        session,
        actor=principal.actor,
        action="rolebinding.delete",
        target_type=b.subject_type,
        target_id=b.subject_id,
        change={"binding": b.id, "role": b.role, "scope_type": b.scope_type, "scope_id": b.scope_id, "reason": reason},
    )
    session.commit()
    return Response(status_code=204)


@router.get("/roles", operation_id="roles-list", response_model=Items[RolePublic])
def list_roles(*, principal: Annotated[Principal, Require(AUTHENTICATED)]) -> Items[RolePublic]:
    return Items[RolePublic](items=[RolePublic(name=n, permissions=p) for n, p in ROLES.items()])


@router.get("/permissions", operation_id="permissions-list", response_model=Items[PermissionPublic])
def list_permissions(*, principal: Annotated[Principal, Require(AUTHENTICATED)]) -> Items[PermissionPublic]:
    return Items[PermissionPublic](items=[PermissionPublic(name=n, description=d) for n, d in PERMISSIONS.items()])


@router.get("/scopes", operation_id="scopes-list", response_model=Items[ScopePublic])
def list_scopes(*, session: SessionDep, principal: Annotated[Principal, Require(AUTHENTICATED)]) -> Items[ScopePublic]:
    names = scope_names(session, principal.tenant_id)
    return Items[ScopePublic](items=[ScopePublic(scope_type=t, scope_id=i, name=n) for (t, i), n in names.items()])


@router.get("/environments", operation_id="environments-list", response_model=Items[EnvironmentPublic])
def list_environments(
    *, session: SessionDep, principal: Annotated[Principal, Require(AUTHENTICATED)]
) -> Items[EnvironmentPublic]:
    rows = session.exec(
        select(Environment, Project)
        .join(Project, col(Project.id) == col(Environment.project_id))
        .where(Project.tenant_id == principal.tenant_id)
    ).all()
    order = {"dev": 0, "staging": 1, "prod": 2}
    items = [EnvironmentPublic(id=e.id, name=e.name, project_id=p.id, project_slug=p.slug) for e, p in rows]
    items.sort(key=lambda x: (x.project_slug, order.get(x.name, 9), x.name))
    return Items[EnvironmentPublic](items=items)
