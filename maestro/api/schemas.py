"""Wire models (input with extra="forbid", output *Public) for the foundation entities."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, field_validator

from maestro.api.pagination import ApiModel
from maestro.domain.rbac import PERMISSIONS


class InputModel(ApiModel):
    model_config = ConfigDict(extra="forbid", alias_generator=ApiModel.model_config.get("alias_generator"), populate_by_name=True)


class UserPublic(ApiModel):
    id: str
    username: str
    display_name: str
    email: str
    is_active: bool
    created_at: datetime


class MePublic(ApiModel):
    user: UserPublic
    csrf_token: str | None = Field(None, description="Send in X-CSRF-Token on cookie-authenticated changes.")
    permissions: list[str]
    auth: Literal["session", "token"]


class LoginInput(InputModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,62}$"


class UserCreate(InputModel):
    username: str = Field(pattern=USERNAME_PATTERN, description="lowercase letters, digits, . _ -; 2-63 chars")
    display_name: str = Field("", max_length=200)
    email: str = Field("", max_length=320, pattern=r"^$|^[^@\s]+@[^@\s]+$")
    password: str = Field(min_length=12, max_length=1024)


class UserUpdate(InputModel):
    display_name: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=320, pattern=r"^$|^[^@\s]+@[^@\s]+$")
    is_active: bool | None = None


class TokenPublic(ApiModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    owner_id: str
    owner_username: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None = None


class TokenCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(min_length=1, description="Permissions the token carries (a subset of yours).")
    expires_in_days: int | None = Field(90, ge=1, le=3650, description="null = never expires")

    @field_validator("scopes")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [p for p in v if p not in PERMISSIONS]
        if unknown:
            raise ValueError(f"unknown permission(s) {unknown}; see GET /api/roles for the names")
        return v


class TokenCreated(ApiModel):
    token: TokenPublic
    secret: str = Field(description="The token itself. Shown once: store it now.")


class RevokeInput(InputModel):
    reason: str | None = Field(None, max_length=500)


class RoleBindingPublic(ApiModel):
    id: str
    role: str
    scope_type: str
    scope_id: str
    scope_name: str
    subject_type: str
    subject_id: str
    created_at: datetime


class RoleBindingCreate(InputModel):
    role: str
    scope_type: Literal["tenant", "project", "environment"]
    scope_id: str = Field(min_length=1, max_length=64)


class RolePublic(ApiModel):
    name: str
    permissions: list[str]


class PermissionPublic(ApiModel):
    name: str
    description: str


class ScopePublic(ApiModel):
    scope_type: str
    scope_id: str
    name: str


class EnvironmentPublic(ApiModel):
    id: str
    name: str
    project_id: str
    project_slug: str


class AuditEventPublic(ApiModel):
    seq: int
    id: str
    ts: datetime
    actor: str
    action: str
    target_type: str
    target_id: str
    request_id: str
    trace_id: str
    change_digest: str
    prev_hash: str
    hash: str


class AuditVerifyPublic(ApiModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


class CheckPublic(ApiModel):
    status: Literal["up", "down"]
    latency_ms: float
    error: str | None = None


class ReadyPublic(ApiModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, CheckPublic]


class HealthPublic(ApiModel):
    status: Literal["ok"]
    version: str


class SearchHit(ApiModel):
    kind: str
    id: str
    title: str
    subtitle: str = ""
    href: str
