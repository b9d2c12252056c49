"""Inputs and results shared by the BudgetWorkflow, its activities, the API and RunWorkflow (one
dataclass per input: adding a field stays backward compatible with running histories)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class BudgetState:
    """What the workflow decides and carries from one run (and period) to the next."""

    frozen: bool = False
    frozen_by: str = ""
    frozen_reason: str = ""
    frozen_at: str = ""
    slowed: bool = False
    permits_per_minute: int = 6
    gateway_rpm: int = 60
    downgraded: bool = False
    fired: list[int] = field(default_factory=list)  # thresholds fired this period
    applied: list[int] = field(default_factory=list)  # action indices applied this period
    waiting: list[str] = field(default_factory=list)  # run workflow ids waiting for a permit


@dataclass
class BudgetInput:
    budget_id: str
    period_start: str  # ISO 8601, UTC
    period_end: str
    tick_seconds: float = 10.0
    state: BudgetState = field(default_factory=BudgetState)
    seq: int = 0
    last_usage: BudgetUsage | None = None  # the previous run's last reading (validators need the caps at once)


@dataclass
class BudgetControl:
    """freeze / unfreeze / raise_cap (caps only for raise_cap)."""

    by: str
    reason: str
    cap_usd: float | None = None
    cap_tokens: int | None = None


@dataclass
class PermitRequest:
    workflow_id: str


@dataclass
class PermitGrant:
    budget_id: str


@dataclass
class UsageInput:
    budget_id: str
    period_start: str
    period_end: str
    set_cap_usd: float | None = None  # raise_cap: written first, then the usage is read under it
    set_cap_tokens: int | None = None


@dataclass
class BudgetUsage:
    """The budget's definition as SQL has it, and what its scope spent this period."""

    budget_id: str
    name: str
    cap_usd: float | None
    cap_tokens: int | None
    thresholds: list[int]
    actions: list[dict[str, Any]]
    forecast_downgrade: bool
    usd: float
    tokens: int
    burn_per_hour: float = 0.0
    forecast_total: float | None = None
    forecast_note: str = ""
    cap_eta: str | None = None  # ISO; when the forecast crosses the cap


@dataclass
class BudgetNote:
    """One entry of the budget's history (and, for automatic actions, the audit log)."""

    kind: str
    actor: str
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)
    dedupe: str | None = None


@dataclass
class BudgetProjection:
    budget_id: str
    seq: int
    period_start: str
    period_end: str
    state: BudgetState
    usage: BudgetUsage | None
    notes: list[BudgetNote] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)  # thresholds to fire as alerts
    percent: float | None = None
    resolve_alerts_below: float | None = None  # raise_cap: resolve threshold alerts above this percent


@dataclass
class DowngradeInput:
    budget_id: str
    classes: list[str]
    on: bool
    reason: str
    actor: str


@dataclass
class ClosePeriodInput:
    budget_id: str
    period_start: str
    period_end: str
    seq: int
    waiting: int = 0
    gated: bool = False  # frozen or slowed at the close: the gateway's snapshot must learn the lift
    keep_freeze: bool = False  # a person's freeze outlives the period (only what the spend triggered is lifted)


@dataclass
class NextPeriod:
    period_start: str
    period_end: str
