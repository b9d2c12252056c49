"""Core tables: tenancy, identity, access and audit.

Table models never go over the wire: the API has its own ``*Public`` models.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from maestro.domain.types import UTCDateTime, new_id, utcnow


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class ScopeType(StrEnum):
    tenant = "tenant"
    project = "project"
    environment = "environment"


class SubjectType(StrEnum):
    user = "user"
    token = "token"  # noqa: S105 - a subject kind, not a secret


class Tenant(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    slug: str = Field(unique=True, max_length=63)
    name: str = Field(max_length=200)
    created_at: datetime = _ts()


class Project(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "slug"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    slug: str = Field(max_length=63)
    name: str = Field(max_length=200)
    created_at: datetime = _ts()


class Environment(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    project_id: str = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=63)
    created_at: datetime = _ts()


class User(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    username: str = Field(unique=True, max_length=64)
    display_name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=320)
    password_hash: str
    is_active: bool = True
    created_at: datetime = _ts(index=True)


class RoleBinding(SQLModel, table=True):
    __tablename__ = "role_binding"
    __table_args__ = (
        UniqueConstraint("subject_type", "subject_id", "role", "scope_type", "scope_id"),
        Index("ix_role_binding_subject", "subject_type", "subject_id"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    subject_type: str = Field(max_length=16)
    subject_id: str = Field(max_length=64)
    role: str = Field(max_length=64)
    scope_type: str = Field(max_length=16)
    scope_id: str = Field(max_length=64)
    created_at: datetime = _ts()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: str = Field(default_factory=new_id, primary_key=True)
    owner_id: str = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=32, index=True)
    token_hash: str = Field(unique=True, max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(index=True)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=500)
    # The token that minted this one (None: minted from a login session). A child never outlives its
    # parent and is revoked with it.
    parent_id: str | None = Field(default=None, max_length=32, index=True)


class LoginSession(SQLModel, table=True):
    __tablename__ = "login_session"
    id: str = Field(default_factory=new_id, primary_key=True)
    user_id: str = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _ts()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Append-only, hash-chained record of every mutation."""

    __tablename__ = "audit_event"
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(default_factory=new_id, unique=True, max_length=32)
    ts: datetime = _ts(index=True)
    actor: str = Field(max_length=200, index=True)
    action: str = Field(max_length=100, index=True)
    target_type: str = Field(max_length=64)
    target_id: str = Field(max_length=200)
    request_id: str = Field(default="", max_length=64)
    trace_id: str = Field(default="", max_length=32)
    change_digest: str = Field(max_length=64)
    # unique: two writers that read the same head cannot both extend it (no forks).
    prev_hash: str = Field(unique=True, max_length=64)
    hash: str = Field(unique=True, max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's newest link, updated with every append so a deleted tail row is detected."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    seq: int
    hash: str = Field(max_length=64)
