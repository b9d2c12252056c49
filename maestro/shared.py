"""Task queue names and I/O types shared by the API and the workers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from temporalio.common import SearchAttributeKey

CONTROL_TASK_QUEUE = "maestro-control"

# Custom search attributes registered on the embedded server (and by `maestro up` on external ones).
SEARCH_ATTRIBUTES = {
    "MaestroPipeline": "Keyword",
    "MaestroEnv": "Keyword",
    "MaestroTenant": "Keyword",
    "MaestroStatus": "Keyword",
}
PIPELINE_ATTR = SearchAttributeKey.for_keyword("MaestroPipeline")
ENV_ATTR = SearchAttributeKey.for_keyword("MaestroEnv")
TENANT_ATTR = SearchAttributeKey.for_keyword("MaestroTenant")
STATUS_ATTR = SearchAttributeKey.for_keyword("MaestroStatus")  # kept by RunWorkflow as the run moves


@dataclass
class DiagnosticsInput:
    """Run ``steps`` activities one after another, each taking ``step_seconds``."""

    steps: int = 3
    step_seconds: float = 0.2
    label: str = ""


@dataclass
class DiagnosticStepInput:
    index: int
    seconds: float


@dataclass
class DiagnosticStepResult:
    index: int
    worker_pid: int
    worker_host: str
    attempt: int


@dataclass
class DiagnosticsResult:
    steps: list[DiagnosticStepResult] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""


def rate_for(rate_card: dict[str, float], pool: str) -> float:
    """USD per runner-second of a pool (the card's `default` for pools it does not name)."""
    return rate_card.get(pool, rate_card.get("default", 0.0))


def runner_queue(pool: str, prefix: str = "maestro-runner-") -> str:
    return f"{prefix}{pool}"


# ---- runs -------------------------------------------------------------------------------------


@dataclass
class StepPlan:
    key: str
    step_id: str
    name: str
    kind: str  # "run" | "approval" | "sign" | "sbom"
    run: str | None
    env: dict[str, str]
    needs: list[str]
    if_: str | None
    timeout_s: int
    retries: int
    artifacts: list[str]
    matrix: dict[str, str]
    pool: str
    message: str = ""
    with_: dict[str, Any] = field(default_factory=dict)
    network: bool = True
    keep_workspace: bool = False


@dataclass
class ReusedStep:
    outputs: dict[str, str]
    source_run_id: str


@dataclass
class RunInput:
    run_id: str
    pipeline: str
    env_name: str
    steps: list[StepPlan]
    inputs: dict[str, Any]  # JSON values as validated (Any: a union would turn true into 1.0)
    source_url: str | None = None
    source_ref: str = "HEAD"
    rate_card: dict[str, float] = field(default_factory=dict)
    reuse: dict[str, ReusedStep] = field(default_factory=dict)
    log_max_lines: int = 100_000
    log_max_line_bytes: int = 16_384
    runner_queue_prefix: str = "maestro-runner-"
    # slowed-down budgets covering the run: their BudgetWorkflows grant the permit the run waits for
    permit_from: list[str] = field(default_factory=list)


@dataclass
class SourceInput:
    run_id: str
    url: str
    ref: str


@dataclass
class StepInput:
    run_id: str
    key: str
    attempt: int
    command: str
    env: dict[str, str]
    timeout_s: int
    artifacts: list[str]
    source_url: str | None
    commit: str | None
    log_max_lines: int
    log_max_line_bytes: int
    builtin: str = ""  # "sbom": the runner runs its own SBOM generator instead of `command`
    with_: dict[str, Any] = field(default_factory=dict)
    network: bool = True  # False: the pipeline chose `network: none` (the sandbox has no interface but lo)
    keep_workspace: bool = False  # the pipeline's keepWorkspace: the runner's janitor leaves this run's workspace


@dataclass
class AttestInput:
    run_id: str
    finished_at: str


@dataclass
class SignInput:
    run_id: str
    key: str
    patterns: list[str]


@dataclass
class GateInput:
    run_id: str
    key: str
    env: str


@dataclass
class GateOutcome:
    allowed: bool
    decision_id: str
    reasons: list[str]


@dataclass
class SignedArtifact:
    path: str
    sha256: str
    signature: str


@dataclass
class ArtifactRef:
    id: str
    path: str
    sha256: str
    size: int


@dataclass
class StepOutcome:
    exit_code: int | None
    timed_out: bool
    outputs: dict[str, str]
    artifacts: list[ArtifactRef]
    log_lines: int
    started_at: str
    finished_at: str
    duration_ms: int
    message: str = ""
    isolation: str = ""  # the runner's MAESTRO_RUNNER_ISOLATION: "sandbox" or "none"
    execution: int = 1  # Temporal's activity attempt: > 1 when a lost runner's step was executed again


@dataclass
class StepUpdate:
    run_id: str
    key: str
    status: str
    attempt: int = 0
    exit_code: int | None = None
    outputs: dict[str, str] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_ms: int | None = None
    cost_usd: float | None = None
    log_lines: int | None = None
    message: str | None = None
    decided_by: str | None = None
    decision_reason: str | None = None
    reused_from: str | None = None
    isolation: str | None = None
    execution: int | None = None


@dataclass
class RunUpdate:
    run_id: str
    status: str
    at: str
    commit: str | None = None
    error: str | None = None
    paused: bool | None = None
    outputs: dict[str, dict[str, str]] | None = None


@dataclass
class ActionInput:
    """Who asks, why, and (for approvals) which step."""

    by: str = ""  # informational: the redeemed ticket names the actor
    reason: str = ""
    step: str | None = None
    # set by the workflow from the redeemed ticket, never trusted from the caller: "api" when Maestro's
    # API sent it (the API audits it), "temporal" when a user sent it with `temporal workflow update`
    via: str = "temporal"
    # the control ticket (see maestro.domain.tickets): who sent this, for which workflow and action
    ticket: str = ""


@dataclass
class RedeemInput:
    ticket: str
    workflow_id: str
    action: str


@dataclass
class Redeemed:
    actor: str
    via: str


def direct_actor(by: str, via: str) -> str:
    """The audit actor of a control the API did not see: the analysis itself, or the user a ticket named."""
    return "maestro:analysis" if via == "analysis" else by


@dataclass
class DirectAction:
    """A run control that reached the workflow without Maestro's API, for the audit log."""

    run_id: str
    action: str
    by: str
    reason: str
    step: str | None
    via: str


@dataclass
class ActionResult:
    status: str
    detail: str = ""


@dataclass
class RunState:
    status: str
    paused: bool
    steps: dict[str, str]
    waiting: list[str]


@dataclass
class EvidenceInput:
    """EvidenceWorkflow's input, and evidence_fire_alert's: the bundle to build."""

    bundle_id: str


@dataclass
class BuildEvidenceInput:
    """evidence_build: the bundle and the nonce of the synthetic alert its build looks for.

    Fields in the order of the positional arguments this activity took before (see maestro.workers.legacy).
    """

    bundle_id: str
    nonce: str


@dataclass
class EvidenceFailedInput:
    """evidence_failed: the bundle and why it failed (fields in the old positional order)."""

    bundle_id: str
    error: str


@dataclass
class ProjectionItem:
    step: StepUpdate | None = None
    run: RunUpdate | None = None


@dataclass
class ProjectionBatch:
    run_id: str
    items: list[ProjectionItem] = field(default_factory=list)
