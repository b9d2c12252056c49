"""Services behind the edge router, and rollouts (the projection of RolloutWorkflow)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from maestro.domain import runs as _runs  # noqa: F401  (tables these rows reference by foreign key)
from maestro.domain.types import UTCDateTime, new_id, utcnow


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Service(SQLModel, table=True):
    """A routable service: the edge router sends /<name>/… to its stable URL, or to a rollout's canary."""

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    name: str = Field(max_length=63)
    env: str = Field(max_length=63)
    stable_url: str = Field(max_length=2000)
    sticky: str | None = Field(default=None, max_length=200)
    provider: str = Field(default="edge", max_length=32)  # the traffic provider (maestro.rollouts.providers)
    provider_config: dict[str, Any] = _json()  # its settings, as its config model stored them
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Rollout(SQLModel, table=True):
    __table_args__ = (Index("ix_rollout_tenant_created", "tenant_id", "created_at"), Index("ix_rollout_service", "service_id"))
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    service_id: str = Field(foreign_key="service.id")
    service: str = Field(max_length=63)
    env: str = Field(max_length=63)
    run_id: str | None = Field(default=None, foreign_key="run.id")
    workflow_id: str = Field(max_length=200)
    status: str = Field(default="running", max_length=16)  # maestro.states.RolloutStatus
    step_index: int = 0
    weight: int = 0
    stable_url: str = Field(max_length=2000)
    canary_url: str = Field(max_length=2000)
    steps: list[dict[str, Any]] = _json(list)
    history: list[dict[str, Any]] = _json(list)  # {at, action, by, reason, weight, step}
    analyses: list[dict[str, Any]] = _json(list)  # {at, step, metric, value, condition, outcome, requests}
    weights: list[dict[str, Any]] = _json(list)  # {at, weight}: weight over time
    message: str = Field(default="", max_length=2000)
    projected_seq: int = 0  # the last workflow outbox item applied (a retried projection is applied once)
    snapshot_sha256: str = Field(default="", max_length=64)  # evidence snapshot taken at rollback or abort (artifact store)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
