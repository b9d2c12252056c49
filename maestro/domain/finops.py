"""FinOps: the spend ledger (append-only, idempotent by source event), its hourly rollups, budgets and
their history. SQL is the record; each budget's BudgetWorkflow is the authority on its state and
projects it here after every change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from maestro.domain import models as _models  # noqa: F401  (tenant)
from maestro.domain.types import UTCDateTime, new_id, utcnow


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


# The dimensions every ledger row carries ("" = not applicable), in the order the rollups key on.
ROLLUP_DIMS = ("source", "project", "env", "pipeline", "provider", "model")


class SpendEntry(SQLModel, table=True):
    """One cost: a step's runner time, a gateway request's tokens, or a manual/imported cost.
    Never updated; a retry of the same source event is a no-op (unique on tenant, source, source_id)."""

    __tablename__ = "spend_entry"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", "source_id", name="uq_spend_entry_source"),
        Index("ix_spend_entry_tenant_ts", "tenant_id", "ts"),
        Index("ix_spend_entry_run", "run_id"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True))
    tenant_id: str = Field(max_length=32)
    source: str = Field(max_length=16)  # run-step | gateway | manual | import
    source_id: str = Field(max_length=200)
    ts: datetime = Field(sa_type=UTCDateTime)
    project: str = Field(default="", max_length=63)
    env: str = Field(default="", max_length=63)
    pipeline: str = Field(default="", max_length=63)
    run_id: str = Field(default="", max_length=32)
    step: str = Field(default="", max_length=200)
    provider: str = Field(default="", max_length=63)
    model: str = Field(default="", max_length=200)
    artifact: str = Field(default="", max_length=300)
    labels: dict[str, str] = _json()
    usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    runner_seconds: float = 0.0
    description: str = Field(default="", max_length=500)
    recorded_by: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SpendRollup(SQLModel, table=True):
    """The ledger summed per hour and per (source, project, env, pipeline, provider, model), kept in the
    same transaction as the rows it sums: explorer and budget queries read this, not 1M ledger rows."""

    __tablename__ = "spend_rollup"
    __table_args__ = (
        UniqueConstraint("tenant_id", "hour", *ROLLUP_DIMS, name="uq_spend_rollup_key"),
        Index("ix_spend_rollup_tenant_hour", "tenant_id", "hour"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True))
    tenant_id: str = Field(max_length=32)
    hour: datetime = Field(sa_type=UTCDateTime)
    source: str = Field(default="", max_length=16)
    project: str = Field(default="", max_length=63)
    env: str = Field(default="", max_length=63)
    pipeline: str = Field(default="", max_length=63)
    provider: str = Field(default="", max_length=63)
    model: str = Field(default="", max_length=200)
    usd: float = 0.0
    tokens_in: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    tokens_out: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    runner_seconds: float = 0.0
    entries: int = 0


class SpendRollupDay(SQLModel, table=True):
    """The same sums per UTC day: a month grouped by day reads ~30× fewer rows than from the hourly rollups
    (bench/costs.py). Kept in the same transaction as the ledger rows."""

    __tablename__ = "spend_rollup_day"
    __table_args__ = (
        UniqueConstraint("tenant_id", "day", *ROLLUP_DIMS, name="uq_spend_rollup_day_key"),
        Index("ix_spend_rollup_day_tenant_day", "tenant_id", "day"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True))
    tenant_id: str = Field(max_length=32)
    day: datetime = Field(sa_type=UTCDateTime)
    source: str = Field(default="", max_length=16)
    project: str = Field(default="", max_length=63)
    env: str = Field(default="", max_length=63)
    pipeline: str = Field(default="", max_length=63)
    provider: str = Field(default="", max_length=63)
    model: str = Field(default="", max_length=200)
    usd: float = 0.0
    tokens_in: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    tokens_out: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    runner_seconds: float = 0.0
    entries: int = 0


class Budget(SQLModel, table=True):
    """A budget's definition and the projection of its BudgetWorkflow's state."""

    __tablename__ = "budget"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    name: str = Field(max_length=63)
    description: str = Field(default="", max_length=500)
    tier: str = Field(default="custom", max_length=16)
    scope: dict[str, str] = _json()  # project, env, pipeline, provider, model ("" or absent = any)
    period: str = Field(default="monthly", max_length=16)  # monthly | quarterly
    cap_usd: float | None = None
    cap_tokens: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    thresholds: list[int] = _json(list)  # percents that raise budget_warning
    actions: list[dict[str, Any]] = _json(list)  # BudgetAction, by alias
    forecast_downgrade: bool = False
    workflow_id: str = Field(max_length=200)
    # the workflow's state as last projected
    state: str = Field(default="ok", max_length=16)  # ok | warning | breached
    frozen: bool = False
    frozen_reason: str = Field(default="", max_length=500)
    frozen_by: str = Field(default="", max_length=200)
    frozen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    slowed: bool = False
    downgraded: bool = False
    period_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    period_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    spent_usd: float = 0.0
    spent_tokens: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    burn_per_hour: float = 0.0
    forecast_total: float | None = None
    forecast_note: str = Field(default="", max_length=300)
    cap_eta: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fired_thresholds: list[int] = _json(list)
    projected_seq: int = 0  # the workflow's projection sequence last applied (a retry never goes back)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class BudgetEvent(SQLModel, table=True):
    """A budget's history: thresholds crossed, actions applied, freezes and who/why, refusals, period closes."""

    __tablename__ = "budget_event"
    __table_args__ = (
        Index("ix_budget_event_budget", "budget_id", "id"),
        UniqueConstraint("budget_id", "dedupe", name="uq_budget_event_dedupe"),
    )
    id: int | None = Field(default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True))
    budget_id: str = Field(max_length=32)
    ts: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    kind: str = Field(max_length=32)
    actor: str = Field(default="", max_length=200)
    reason: str = Field(default="", max_length=500)
    detail: dict[str, Any] = _json()
    # a workflow's retried activity writes its event once (None for events that may repeat, e.g. refusals)
    dedupe: str | None = Field(default=None, max_length=200)
