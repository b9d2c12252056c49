"""What every stream event carries, as models: one per payload, one envelope per event type, and
their discriminated union ``StreamEvent`` (published in the OpenAPI document for the stream route,
so the UI's types are generated from the same schemas the producers validate against).

Payloads with a REST twin (an audit event, readiness, an alert's fields) share its model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, RootModel

from maestro.states import AlertState, RolloutStatus, RunStatus, StepStatus
from maestro.wire import ApiModel

# ---- payloads ----------------------------------------------------------------------------------


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


class CheckPublic(ApiModel):
    status: Literal["up", "down"]
    latency_ms: float
    error: str | None = None


class WorkerQueuePublic(ApiModel):
    """Who serves a task queue, from Temporal's pollers (and the runners' own heartbeats)."""

    kind: Literal["worker", "runner"]
    pool: str = Field(description="The control task queue for the worker, the pool for runners.")
    task_queue: str
    status: Literal["up", "down"]
    pollers: int = Field(description="Workers Temporal saw polling this queue in the last 75 s.")
    last_poll_at: datetime | None = None
    processes: int = Field(
        0, description="Processes whose heartbeat is current (runners are busy, not gone, when only these remain)."
    )
    workspace_bytes: int | None = Field(None, description="Runners: disk used by step workspaces on their hosts.")
    message: str = ""


class ReadyPublic(ApiModel):
    status: Literal["ok", "degraded"]
    checks: dict[str, CheckPublic]
    workers: list[WorkerQueuePublic] = Field(
        default_factory=list,
        description="The control worker and each runner pool. A missing one leaves the API ready (200) but nothing "
        "progresses: runs stay queued and controls answer 503 naming it.",
    )


class RunEventPayload(ApiModel):
    """A run's summary as it changed (run_started, run_progress, run_completed)."""

    run_id: str
    workflow_id: str
    pipeline: str
    number: int
    env: str
    status: RunStatus
    paused: bool
    steps_done: int
    steps_total: int
    cost_usd: float
    duration_ms: int | None
    error: str | None = Field(None, description="Why a failed run failed (its failed steps), once it has.")


class StepEventPayload(ApiModel):
    """One step of a run as it changed (step_started, step_updated, step_completed, approval_requested)."""

    run_id: str
    key: str
    name: str
    status: StepStatus
    attempt: int
    exit_code: int | None
    duration_ms: int | None
    message: str
    started_at: datetime | None = Field(None, description="When the current attempt started (the runner's clock).")
    finished_at: datetime | None = None


class LogLine(ApiModel):
    """One line of a step's output, as the logs stream and GET /api/runs/{id}/logs (NDJSON) carry it."""

    ts: str = Field(description="When the line was read (ISO 8601, UTC).")
    step: str
    stream: Literal["stdout", "stderr", "system"]
    line: str
    n: int = Field(description="Line number within the step's execution, from 1.")
    attempt: int
    execution: int = 1


class AlertEventPayload(ApiModel):
    id: str
    fingerprint: str
    name: str
    severity: str
    state: AlertState
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None


class RolloutHistoryEntry(ApiModel):
    """A control applied to a rollout: by whom, why, at which weight and step."""

    at: datetime
    action: str = Field(description="pause, resume, promote, rollback, abort")
    by: str = ""
    reason: str = ""
    weight: int | None = None
    step: int | None = None
    via: str = Field("", description="api, temporal or analysis (empty on records older than the field)")


class AnalysisRecord(ApiModel):
    """One measurement of a canary analysis and its outcome."""

    at: datetime
    step: int | None = None
    measurement: int | None = Field(None, description="1-based measurement number within its analysis step")
    metric: str
    provider: str = ""
    value: float | None
    requests: int | None = None
    condition: str
    outcome: Literal["passed", "failed", "inconclusive"]
    detail: str = ""


class WeightPoint(ApiModel):
    at: datetime
    weight: int


class RolloutEventPayload(ApiModel):
    id: str
    service: str
    env: str
    status: RolloutStatus
    step_index: int
    steps: int = Field(description="How many steps the rollout has (not the steps themselves).")
    weight: int
    message: str
    run_id: str | None
    history: RolloutHistoryEntry | None = Field(None, description="The control this event records, if any.")
    analysis: AnalysisRecord | None = Field(None, description="The measurement this event records, if any.")


class PolicyDeniedPayload(ApiModel):
    decision_id: str
    point: str = Field(description="Where the gate stands: admission, promotion, …")
    subject: str = Field(description="What was judged, e.g. the run or rollout it concerns.")
    reasons: list[str]
    policies: list[str] = Field(description="The policies that denied.")


# ---- envelopes ---------------------------------------------------------------------------------


class RoutingEventPayload(ApiModel):
    """A model gateway decision or a change of its routing: which class, which candidate, and why."""

    route_class: str = Field(description="The routing class")
    provider: str = ""
    model: str = ""
    status: int = Field(0, description="The provider's HTTP status (0: no answer)")
    message: str = ""
    to: str = Field("", description="routing_failover: the candidate tried next (provider/model)")
    attempt: int = 0
    reason: str = Field("", description="Why the first candidate was chosen: best score, pinned, downgraded, a/b split")
    scores: str = Field("", description="Every candidate's score and its dimensions, best first")
    until: float | None = Field(None, description="routing_cooldown / routing_pinned: until (unix time)")
    actor: str = ""


class BudgetEventPayload(ApiModel):
    """A budget's state after something happened to it (a threshold, an action, a control, a period close)."""

    name: str
    scope: dict[str, str] = Field(description="project, env, pipeline, provider, model it covers (unset: any)")
    percent: float = Field(description="Utilisation of the tighter cap, in percent")
    spent_usd: float
    cap_usd: float | None
    frozen: bool
    slowed: bool
    downgraded: bool
    kind: str = Field("", description="The history entry this event records: threshold, breached, frozen, unfrozen, ...")
    actor: str = ""
    reason: str = ""


class EnvelopeBase(ApiModel):
    """What every stream carries: ``{ts, type, id, entity, payload, traceId, tenant, env}``.

    ``tenant`` and ``env`` say whose the event is: the stream route delivers an event only to a
    caller who may read it through the REST list of the same topic.
    """

    ts: datetime
    id: str = Field(description="The entity's id (a run's, an alert's, ...).")
    entity: str
    trace_id: str = ""
    tenant: str = Field("", description="Tenant id of the entity; empty for installation-wide events (health, audit).")
    env: str = Field("", description="Environment name of the entity when it lives in one (runs, rollouts, services).")


RoutingEventType = Literal[
    "routing_decision", "routing_failover", "routing_cooldown", "routing_stream_broken", "routing_pinned",
    "routing_unpinned", "routing_killed", "routing_revived", "routing_downgraded", "routing_restored",
]  # fmt: skip
RunEventType = Literal["run_started", "run_progress", "run_completed"]
StepEventType = Literal["step_started", "step_updated", "step_completed", "approval_requested"]
BudgetEventType = Literal[
    "budget_warning", "budget_breached", "budget_frozen", "budget_unfrozen", "budget_slowed", "budget_slowdown_lifted",
    "budget_downgraded", "budget_restored", "budget_cap_raised", "budget_refused", "budget_period_closed",
]  # fmt: skip
AlertEventType = Literal["alert_fired", "alert_resolved", "alert_acked", "alert_assigned"]
RolloutEventType = Literal[
    "rollout_started",
    "rollout_step",
    "analysis_completed",
    "rollout_paused",
    "rollout_resumed",
    "rollout_promoted",
    "rollout_rolled_back",
    "rollout_aborted",
]


class RunEvent(EnvelopeBase):
    type: RunEventType
    payload: RunEventPayload


class StepEvent(EnvelopeBase):
    type: StepEventType
    payload: StepEventPayload


class LogLineEvent(EnvelopeBase):
    type: Literal["log_line"]
    payload: LogLine


class AlertEvent(EnvelopeBase):
    type: AlertEventType
    payload: AlertEventPayload


class RolloutEvent(EnvelopeBase):
    type: RolloutEventType
    payload: RolloutEventPayload


class PolicyDeniedEvent(EnvelopeBase):
    type: Literal["policy_denied"]
    payload: PolicyDeniedPayload


class RoutingEvent(EnvelopeBase):
    type: RoutingEventType
    payload: RoutingEventPayload


class BudgetStreamEvent(EnvelopeBase):
    type: BudgetEventType
    payload: BudgetEventPayload


class AuditAppendedEvent(EnvelopeBase):
    type: Literal["audit_appended"]
    payload: AuditEventPublic


class HealthChangedEvent(EnvelopeBase):
    type: Literal["health_changed"]
    payload: ReadyPublic


Envelope = (
    RunEvent
    | StepEvent
    | LogLineEvent
    | AlertEvent
    | RolloutEvent
    | PolicyDeniedEvent
    | AuditAppendedEvent
    | HealthChangedEvent
    | RoutingEvent
    | BudgetStreamEvent
)


class StreamEvent(RootModel[Annotated[Envelope, Field(discriminator="type")]]):
    """Any event of any topic; ``type`` (also the SSE event name) says which payload it carries."""


class StreamControl(ApiModel):
    """The data of the stream's own events: ``reset`` (events were trimmed; reload state) and ``end``
    (the caller lost access; the stream closes)."""

    reason: str
