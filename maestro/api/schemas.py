"""Wire models (input with extra="forbid", output *Public) for the foundation entities."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, JsonValue, field_validator

from maestro.api.pagination import ApiModel
from maestro.domain.rbac import PERMISSIONS, ROLES
from maestro.domain.tickets import MAX_TICKET_TTL_SECONDS, TICKET_TTL_SECONDS


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


INT32_MAX = 2_147_483_647  # version and revision numbers, counts: the bound every integer in the API has
INT64_MAX = 9_223_372_036_854_775_807  # sequence numbers (SQL BIGINT)


# enums the schema states for fields the server checks with its own wording
_ROLE_NAMES: list[JsonValue] = [*sorted(ROLES)]
_PERMISSION_NAMES: list[JsonValue] = [*sorted(PERMISSIONS)]

CREATED_ID = "$response.body#/id"  # link expressions: the id in a create's response, the first listed item's
FIRST_ITEM_ID = "$response.body#/items/0/id"


def links(status: int, param: str, value: str, *operation_ids: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI links from a response to the operations that take one of its ids (``value`` is a
    runtime expression such as ``$response.body#/id``): clients and fuzzers follow them."""
    return {
        status: {
            "description": "Success",
            "links": {op: {"operationId": op, "parameters": {param: value}} for op in operation_ids},
        }
    }


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def Omittable(*, json_schema_extra: Callable[[dict[str, Any]], None] | None = None, **kw: Any) -> Any:  # noqa: N802 - reads like Field
    """A field that may be left out (it then keeps its value) but never sent as null: its default
    None is not validated and not shown in the schema, so an explicit null is a 422."""

    def patch(schema: dict[str, Any]) -> None:
        _drop_default(schema)
        if json_schema_extra is not None:
            json_schema_extra(schema)

    return Field(None, json_schema_extra=patch, **kw)


class UserUpdate(InputModel):
    """Only the fields sent change. None of them takes null: send "" to clear the email or display name."""

    display_name: str = Omittable(max_length=200, description='Shown instead of the username; "" clears it.')
    email: str = Omittable(max_length=320, pattern=r"^$|^[^@\s]+@[^@\s]+$", description='"" clears it.')
    is_active: bool = Omittable(description="false signs the user out everywhere and stops their tokens.")


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
    parent_id: str | None = Field(None, description="The token that minted this one (null: minted from a login session).")
    parent_prefix: str | None = Field(None, description="That parent token's prefix, to recognise it in the list.")


class TokenCreate(InputModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] = Field(
        min_length=1,
        max_length=len(PERMISSIONS),
        description="Permissions the token carries (a subset of yours).",
        json_schema_extra={"items": {"type": "string", "enum": _PERMISSION_NAMES}},
    )
    expires_in_days: int | None = Field(
        90,
        ge=1,
        le=3650,
        description="null = never expires. Minted with a token, the new token expires no later than that one.",
    )

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
    role: str = Field(json_schema_extra={"enum": _ROLE_NAMES}, description="See GET /api/roles.")
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


class AuditVerifyPublic(ApiModel):
    ok: bool
    checked: int
    first_broken_seq: int | None
    reason: str | None


class HealthPublic(ApiModel):
    status: Literal["ok"]
    version: str


class SearchHit(ApiModel):
    kind: str
    id: str
    title: str
    subtitle: str = ""
    href: str


class TicketCreate(InputModel):
    """Which control the ticket is for (the subclasses list the actions) and how long it lives."""

    action: str
    ttl_seconds: int = Field(TICKET_TTL_SECONDS, ge=30, le=MAX_TICKET_TTL_SECONDS, description="Lifetime (30 s to 15 min).")


class TicketPublic(ApiModel):
    """A control ticket for `temporal workflow update` (single use, bound to one workflow, action and user)."""

    ticket: str
    workflow_id: str
    action: str
    actor: str = Field(description="Who the workflow will audit as having sent the control.")
    expires_at: datetime
    command: str = Field(
        description="The `temporal workflow update execute` command that uses it; add --address and --namespace "
        "for your Temporal, and a reason."
    )
