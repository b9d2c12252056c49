"""SLIs from the projection, error budgets and multi-window burn rates (SRE workbook pairs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from maestro.domain.runs import ApiTraffic, Run, Slo
from maestro.domain.types import utcnow
from maestro.states import DECIDED_RUN

SLIS = {
    "availability": "Share of API requests answered without a server error (5xx)",
    "run_success": "Share of finished runs that succeeded (failed and succeeded count; cancelled runs do not)",
    "run_duration": "Share of finished runs that took at most threshold_ms",
}
WINDOWS: dict[str, timedelta] = {
    "5m": timedelta(minutes=5),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "6h": timedelta(hours=6),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
}
# (long window, short window, burn-rate threshold, severity): both windows must burn faster.
BURN_PAIRS: list[tuple[str, str, float, str]] = [
    ("1h", "5m", 14.4, "page"),
    ("6h", "30m", 6.0, "page"),
    ("1d", "2h", 3.0, "ticket"),
    ("3d", "6h", 1.0, "ticket"),
]


@dataclass
class SloDef:
    id: str
    name: str
    description: str
    sli: str
    objective: float
    window_days: int = 30
    threshold_ms: int | None = None
    pipeline: str | None = None
    builtin: bool = False


BUILTIN: list[SloDef] = [
    SloDef(
        "control-plane-availability",
        "Control plane availability",
        "API requests without a 5xx",
        "availability",
        0.999,
        builtin=True,
    ),
    SloDef("run-success", "Run success", "Runs that succeed", "run_success", 0.97, builtin=True),
    SloDef(
        "build-duration",
        "p95 build time ≤ 10 min",
        "95% of runs finish within 10 minutes",
        "run_duration",
        0.95,
        threshold_ms=600_000,
        builtin=True,
    ),
]


def of_row(row: Slo) -> SloDef:
    return SloDef(row.id, row.name, row.description, row.sli, row.objective, row.window_days, row.threshold_ms, row.pipeline)


def all_slos(s: Session, tenant_id: str) -> list[SloDef]:
    rows = s.exec(select(Slo).where(Slo.tenant_id == tenant_id).order_by(col(Slo.created_at))).all()
    return [*BUILTIN, *(of_row(r) for r in rows)]


def good_total(s: Session, slo: SloDef, tenant_id: str, since: datetime, until: datetime) -> tuple[int, int]:
    if slo.sli == "availability":
        row = s.exec(
            select(func.coalesce(func.sum(ApiTraffic.requests), 0), func.coalesce(func.sum(ApiTraffic.errors), 0)).where(
                col(ApiTraffic.minute) >= since, col(ApiTraffic.minute) < until
            )
        ).one()
        total, errors = int(row[0]), int(row[1])
        return total - errors, total
    stmt = select(func.count(), func.sum(case(good_case(slo), else_=0))).where(  # type: ignore[call-overload]
        Run.tenant_id == tenant_id,
        col(Run.status).in_(DECIDED_RUN),
        col(Run.finished_at) >= since,
        col(Run.finished_at) < until,
    )
    if slo.pipeline:
        stmt = stmt.where(Run.pipeline_name == slo.pipeline)
    total, good = s.exec(stmt).one()
    return int(good or 0), int(total or 0)


def good_case(slo: SloDef) -> Any:
    if slo.sli == "run_success":
        return (Run.status == "succeeded", 1)
    return (col(Run.duration_ms) <= (slo.threshold_ms or 0), 1)


@dataclass
class SloStatus:
    slo: SloDef
    sli: float | None
    good: int
    total: int
    error_budget_remaining: float | None  # 1.0 = untouched, 0 = spent, < 0 = overspent
    burn_rates: dict[str, float | None] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)


def burn(good: int, total: int, objective: float) -> float | None:
    if total == 0:
        return None
    return (1 - good / total) / (1 - objective)


def evaluate(s: Session, slo: SloDef, tenant_id: str, now: datetime | None = None) -> SloStatus:
    now = now or utcnow()
    good, total = good_total(s, slo, tenant_id, now - timedelta(days=slo.window_days), now)
    sli = good / total if total else None
    budget = None if sli is None else 1 - (1 - sli) / (1 - slo.objective)
    rates = {}
    for name, width in WINDOWS.items():
        g, t = good_total(s, slo, tenant_id, now - width, now)
        rates[name] = burn(g, t, slo.objective)
    alerts = []
    for long, short, threshold, severity in BURN_PAIRS:
        lr, sr = rates[long], rates[short]
        alerts.append(
            {
                "long": long,
                "short": short,
                "threshold": threshold,
                "severity": severity,
                "firing": lr is not None and sr is not None and lr > threshold and sr > threshold,
            }
        )
    return SloStatus(slo, sli, good, total, budget, rates, alerts)
