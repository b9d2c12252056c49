"""Pipelines, versions, runs, steps, artifacts and durable log chunks (the SQL projection)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from maestro.domain import models as _models  # noqa: F401  (tables these rows reference by foreign key)
from maestro.domain.types import UTCDateTime, new_id, utcnow
from maestro.states import TERMINAL_RUN, TERMINAL_STEP, RunStatus, StepStatus  # noqa: F401  (re-exported)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


def _json(default: Any = dict) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class Pipeline(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    name: str = Field(max_length=63)
    description: str = Field(default="", max_length=2000)
    latest_version: int = 1
    run_counter: int = 0
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class PipelineVersion(SQLModel, table=True):
    __tablename__ = "pipeline_version"
    __table_args__ = (UniqueConstraint("pipeline_id", "version"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    pipeline_id: str = Field(foreign_key="pipeline.id", index=True)
    version: int
    spec: dict[str, Any] = _json()
    source_text: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=80)
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()


class Run(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("pipeline_id", "number"),
        # every list is "newest first within a tenant": lead with tenant_id so the planner walks
        # the index in order and stops after one page (also for free-text filters)
        Index("ix_run_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_run_status_created", "status", "created_at", "id"),
        Index("ix_run_pipeline_created", "pipeline_name", "created_at", "id"),
        Index("ix_run_env_created", "env", "created_at", "id"),
        Index("ix_run_owner_created", "owner", "created_at", "id"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    pipeline_id: str = Field(foreign_key="pipeline.id")
    pipeline_name: str = Field(max_length=63)
    version_id: str = Field(foreign_key="pipeline_version.id")
    version: int
    number: int
    workflow_id: str = Field(max_length=200, unique=True)
    status: str = Field(default=RunStatus.queued, max_length=16)
    env: str = Field(max_length=63)
    ref: str = Field(default="", max_length=200)
    branch: str = Field(default="", max_length=200, index=True)
    commit: str = Field(default="", max_length=64)
    inputs: dict[str, Any] = _json()
    labels: dict[str, str] = _json()
    outputs: dict[str, Any] = _json()
    owner: str = Field(max_length=200)
    trace_id: str = Field(default="", max_length=32)
    cost_usd: float = 0.0
    steps_total: int = 0
    steps_done: int = 0
    rerun_of: str | None = Field(default=None, max_length=32)
    error: str = Field(default="", max_length=2000)
    paused: bool = False
    isolation: str = Field(default="", max_length=16)  # "none" once any step ran unsandboxed
    created_at: datetime = _ts()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_ms: int | None = None


class StepRun(SQLModel, table=True):
    __tablename__ = "step_run"
    __table_args__ = (UniqueConstraint("run_id", "key"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    run_id: str = Field(foreign_key="run.id", index=True)
    key: str = Field(max_length=200)
    step_id: str = Field(max_length=63)
    name: str = Field(max_length=300)
    kind: str = Field(default="run", max_length=16)
    position: int = 0
    needs: list[str] = _json(list)
    pool: str = Field(default="default", max_length=63)
    status: str = Field(default=StepStatus.pending, max_length=16)
    attempt: int = 0
    exit_code: int | None = None
    outputs: dict[str, str] = _json()
    attempts: list[dict[str, Any]] = _json(list)  # [{attempt, status, startedAt, finishedAt, exitCode, durationMs, message}]
    reused_from: str | None = Field(default=None, max_length=32)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_ms: int | None = None
    cost_usd: float = 0.0
    log_lines: int = 0
    message: str = Field(default="", max_length=2000)
    decided_by: str | None = Field(default=None, max_length=200)
    decision_reason: str | None = Field(default=None, max_length=2000)
    isolation: str = Field(default="", max_length=16)  # how the runner isolated it: "sandbox" or "none"
    command: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # what the shell runs


class Artifact(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("run_id", "step_key", "path", name="uq_artifact_run_step_path"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    run_id: str = Field(foreign_key="run.id", index=True)
    step_key: str = Field(max_length=200)
    path: str = Field(max_length=1000)
    sha256: str = Field(max_length=64, index=True)
    size: int
    media_type: str = Field(default="application/octet-stream", max_length=200)
    uri: str = Field(max_length=2000)
    created_at: datetime = _ts()


class LogChunk(SQLModel, table=True):
    """A batch of log lines of one step attempt; (run, step, attempt, chunk) is unique: no duplicates."""

    __tablename__ = "log_chunk"
    __table_args__ = (UniqueConstraint("run_id", "step_key", "attempt", "execution", "chunk"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=32, index=True)
    step_key: str = Field(max_length=200)
    attempt: int  # the step's attempt (retries)
    execution: int = 1  # the runner execution of that attempt (>1 after a runner was lost)
    chunk: int
    first_line: int
    line_count: int
    lines: list[dict[str, Any]] = _json(list)  # [{ts, stream, line, n}]
    created_at: datetime = _ts()


class StepExecution(SQLModel, table=True):
    """One runner execution of a step attempt, written by the runner itself: when it started (and why),
    when it was last seen alive, and — before its completion is reported to Temporal — its outcome. A
    re-execution finds a finished outcome here and returns it instead of running the step again."""

    __tablename__ = "step_execution"
    __table_args__ = (UniqueConstraint("run_id", "step_key", "attempt", "execution"),)
    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=32, index=True)
    step_key: str = Field(max_length=200)
    attempt: int
    execution: int
    host: str = Field(default="", max_length=200)
    isolation: str = Field(default="", max_length=16)
    reason: str = Field(default="", max_length=300)
    started_at: datetime = _ts()
    seen_at: datetime = _ts()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    exit_code: int | None = None
    duration_ms: int | None = None
    log_lines: int = 0
    outcome: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class TraceSpan(SQLModel, table=True):
    """Finished OpenTelemetry spans kept locally (bounded retention) for run trace waterfalls."""

    __tablename__ = "trace_span"
    __table_args__ = (Index("ix_trace_span_trace", "trace_id", "start_time"),)
    id: int | None = Field(default=None, primary_key=True)
    trace_id: str = Field(max_length=32)
    span_id: str = Field(max_length=16)
    parent_id: str | None = Field(default=None, max_length=16)
    name: str = Field(max_length=300)
    service: str = Field(max_length=100)
    kind: str = Field(default="internal", max_length=16)
    start_time: datetime = Field(sa_type=UTCDateTime)
    end_time: datetime = Field(sa_type=UTCDateTime, index=True)
    status: str = Field(default="unset", max_length=8)
    attributes: dict[str, Any] = _json()


class ApiTraffic(SQLModel, table=True):
    """API request outcomes per minute (all replicas add into the same row): the availability SLI."""

    __tablename__ = "api_traffic"
    minute: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    requests: int = 0
    errors: int = 0


class Slo(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=1000)
    sli: str = Field(max_length=32)  # availability | run_success | run_duration
    objective: float
    threshold_ms: int | None = None  # run_duration: a good run finishes within this
    window_days: int = 30
    pipeline: str | None = Field(default=None, max_length=63)
    created_by: str = Field(max_length=200)
    created_at: datetime = _ts()


class Alert(SQLModel, table=True):
    """One alert per fingerprint; it fires, resolves and may fire again (fire_count counts noise)."""

    __table_args__ = (
        UniqueConstraint("tenant_id", "fingerprint"),
        Index("ix_alert_state_started", "tenant_id", "state", "starts_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    fingerprint: str = Field(max_length=200)
    name: str = Field(max_length=200)
    severity: str = Field(max_length=16)
    state: str = Field(max_length=16)  # firing | resolved
    labels: dict[str, str] = _json()
    annotations: dict[str, str] = _json()
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = _ts()
    fire_count: int = 1
    acked_by: str | None = Field(default=None, max_length=200)
    acked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    assignee: str | None = Field(default=None, max_length=200)
    notify_status: str = Field(default="", max_length=2000)  # Alertmanager delivery
    pagerduty_action: str = Field(default="", max_length=16)  # last event PagerDuty accepted: trigger|acknowledge|resolve
    pagerduty_status: str = Field(default="", max_length=2000)
