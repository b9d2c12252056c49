"""Rollout I/O types shared by the API, the workflow and its activities (plain dataclasses)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_COND = re.compile(r"^\s*(<=|>=|<|>|==)\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_condition(cond: str) -> tuple[str, float]:
    m = _COND.match(cond)
    if not m:
        raise ValueError(f"success condition {cond!r}: write an operator and a number, e.g. '< 0.05'")
    return m.group(1), float(m.group(2))


def holds(cond: str, value: float) -> bool:
    op, x = parse_condition(cond)
    return {"<": value < x, "<=": value <= x, ">": value > x, ">=": value >= x, "==": value == x}[op]


@dataclass
class Analysis:
    metric: str = "error_rate"  # error_rate | latency_p95_ms | promql
    provider: str = "edge"  # edge | prometheus
    query: str = ""  # PromQL when provider is prometheus
    success_condition: str = "< 0.05"
    interval_s: float = 10.0
    count: int = 3
    failure_limit: int = 0  # failed measurements tolerated
    inconclusive_limit: int = 1  # measurements without enough traffic tolerated (then the rollout pauses)
    min_requests: int = 10


@dataclass
class Step:
    set_weight: int | None = None
    pause_s: float | None = None  # 0 = until resumed or promoted
    analysis: Analysis | None = None


@dataclass
class RolloutCarry:
    """What a RolloutWorkflow hands to its next run when it continues as new (long rollouts): where
    it is and what the UI shows. The full history and analyses are in SQL (the projection)."""

    index: int = 0
    weight: int = 0
    status: str = "running"
    paused: bool = False
    full: bool = False
    failing: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # the latest entries only
    measured: int = 0  # the current analysis step: measurements taken, failed, inconclusive
    failures: int = 0
    inconclusive: int = 0
    passes: int = 0
    runs: int = 1  # this run is the n-th of the rollout's chain
    sequence: int = 0  # outbox items and weight applications so far (projections and routes skip stale ones)
    # a rollback or abort under way (rolling_back: weight 0 not yet taken by the provider)
    stop_kind: str | None = None
    stop_by: str = ""
    stop_reason: str = ""
    stop_via: str = ""
    stuck_tries: int = 0


@dataclass
class RolloutInput:
    rollout_id: str
    tenant_id: str
    service: str
    stable_url: str
    canary_url: str
    sticky: str | None
    env: str
    run_id: str | None
    steps: list[Step]
    provider: str = "edge"  # the service's traffic provider (maestro.rollouts.providers) and its settings
    provider_config: dict[str, Any] = field(default_factory=dict)
    # continue as new once the history holds this many events (Temporal's hard limit is 51,200), or
    # earlier when the server suggests it
    continue_after_events: int = 10_000
    carry: RolloutCarry | None = None  # set by the previous run of a rollout that continued as new


@dataclass
class ControlInput:
    by: str = ""  # informational: the redeemed ticket names the actor
    reason: str = ""
    full: bool = False
    # set by the workflow from the redeemed ticket (or "analysis" for its own rollbacks), never trusted
    # from the caller: "api" when Maestro's API sent it (the API audits it), "temporal" otherwise
    via: str = "temporal"
    ticket: str = ""  # the control ticket (see maestro.domain.tickets)


@dataclass
class ControlResult:
    status: str
    weight: int
    step_index: int


@dataclass
class ApplyInput:
    rollout_id: str
    service: str
    stable_url: str
    canary_url: str | None
    sticky: str | None
    weight: int
    provider: str = "edge"
    provider_config: dict[str, Any] = field(default_factory=dict)
    seq: int = 0  # the rollout's application number: a stale (retried, late) one never overwrites a later one


@dataclass
class MeasureInput:
    service: str
    analysis: Analysis
    window_s: float
    provider: str = "edge"
    provider_config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Measurement:
    value: float | None
    requests: int
    detail: str = ""


@dataclass
class ProjectInput:
    rollout_id: str
    status: str
    step_index: int
    weight: int
    event: str  # rollout_step, analysis_completed, rollout_paused, …
    message: str = ""
    history: dict[str, Any] | None = None
    analysis: dict[str, Any] | None = None
    weight_changed: bool = False
    finished: bool = False
    snapshot: bool = False  # keep an evidence snapshot of the finished rollout in the same transaction
    audit: dict[str, Any] | None = None  # {actor, action, change}: an audit record for a control the API did not see
    seq: int = 0  # the workflow's outbox number: a projection already applied (a retry after its commit) is skipped


@dataclass
class RolloutState:
    """The `get_state` query (typed): where a rollout stands in its workflow."""

    status: str
    step_index: int
    weight: int
    paused: bool
    failing: str | None
    history: list[dict[str, Any]]
    runs: int = 1  # how many workflow runs the rollout took so far (it continues as new)
    pending_projections: int = 0  # updates the SQL projection has not taken yet (e.g. while the database is down)


@dataclass
class StuckInput:
    """RolloutStuck: weight 0 could not be applied (fired), or finally was (resolved)."""

    rollout_id: str
    reason: str
    stuck: bool = True


@dataclass
class GateRolloutInput:
    rollout_id: str
    by: str


@dataclass
class RolledBackInput:
    """rollout_rolled_back: the rollout and why (fields in the order of its old positional arguments,
    see maestro.workers.legacy)."""

    rollout_id: str
    reason: str


@dataclass
class GateRolloutResult:
    allowed: bool
    reasons: list[str] = field(default_factory=list)
    decision_id: str = ""
