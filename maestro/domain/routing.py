"""The model gateway's configuration as the control plane keeps it (SQL is the truth; Redis holds the
snapshot every gateway replica routes by, published after each change)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from maestro.domain import models as _models  # noqa: F401  (tenant, referenced by gateway keys)
from maestro.domain.types import UTCDateTime, new_id, utcnow


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class ModelProvider(SQLModel, table=True):
    __tablename__ = "model_provider"
    name: str = Field(primary_key=True, max_length=63)
    spec: dict[str, Any] = _json()  # maestro.gateway.spec.ProviderSpec, by alias
    key_sealed: str | None = Field(default=None, max_length=4000)  # AES-256-GCM blob; never returned
    key_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RoutingClass(SQLModel, table=True):
    __tablename__ = "routing_class"
    name: str = Field(primary_key=True, max_length=63)
    spec: dict[str, Any] = _json()  # maestro.gateway.spec.ClassSpec, by alias
    downgraded: bool = False
    downgrade_reason: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RoutingPin(SQLModel, table=True):
    __tablename__ = "routing_pin"
    class_name: str = Field(primary_key=True, max_length=63)
    provider: str = Field(max_length=63)
    model: str = Field(max_length=200)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str = Field(default="", max_length=500)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class KillSwitch(SQLModel, table=True):
    __tablename__ = "kill_switch"
    __table_args__ = (UniqueConstraint("scope", "value"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    scope: str = Field(max_length=16)  # provider | model | tenant
    value: str = Field(max_length=200)
    reason: str = Field(max_length=500)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GatewayKey(SQLModel, table=True):
    __tablename__ = "gateway_key"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=32, index=True)
    secret_hash: str = Field(unique=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    project: str | None = Field(default=None, max_length=63)
    env: str | None = Field(default=None, max_length=63)
    rpm: int | None = None
    tpm: int | None = None
    classes: list[str] = _json(list)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=500)


class ModelAlias(SQLModel, table=True):
    __tablename__ = "model_alias"
    tenant: str = Field(primary_key=True, max_length=63)  # a tenant id, or "*" for every tenant
    alias: str = Field(primary_key=True, max_length=200)
    target: str = Field(max_length=200)  # the model name classes match
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RoutingLimit(SQLModel, table=True):
    __tablename__ = "routing_limit"
    name: str = Field(primary_key=True, max_length=300)  # tenant:<id>:rpm, model:<name>:tpm, …
    value: int
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
