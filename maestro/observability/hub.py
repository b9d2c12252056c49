"""The Control Hub's figures — releases, KPIs, what's hot and cold, compliance — computed from records.

Counts, sums, means and the p95 are SQL aggregates (COUNT/SUM/AVG/GROUP BY and one ranked row), so the
cost does not grow with the number of runs loaded into Python; the same statements run on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field
from redis import Redis
from sqlalchemy import Float, case, cast, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from maestro.artifacts import Store
from maestro.domain.finops import SpendRollup
from maestro.domain.rollouts import Rollout, Service
from maestro.domain.runs import Run, StepRun
from maestro.domain.supply import Attestation, EvidenceBundle, PolicyDecision, counted_denial
from maestro.domain.types import utcnow
from maestro.edge import routes as edge
from maestro.observability import slo as slomod
from maestro.observability.insights import compute as insights
from maestro.states import ACTIVE_ROLLOUT, ACTIVE_RUN, DECIDED_RUN, RolloutStatus, RunStatus, StepStatus
from maestro.supply import runsbom
from maestro.wire import ApiModel

log = logging.getLogger("maestro.hub")
SBOM_RUNS_CHECKED = 20  # the newest successful runs whose SBOM diff the compliance figures check
UNFINISHED_STEP = (StepStatus.pending, StepStatus.running, StepStatus.waiting)


class Release(ApiModel):
    service: str
    env: str
    stable_url: str
    canary_url: str | None
    canary_weight: int
    rollout_id: str | None
    rollout_status: RolloutStatus | None
    canary_error_rate: float | None = Field(description="Canary 5xx ratio over the last minute at the edge (null: no traffic)")
    stable_error_rate: float | None
    canary_requests: int
    stable_requests: int
    health: str = Field(description="healthy, degraded (canary errors above 5%), idle (no traffic) or unknown")
    actions: list[str] = Field(description="Controls this caller may use now")


class Kpis(ApiModel):
    build_success_pct: float | None = Field(description="Succeeded / (succeeded + failed) runs, last 7 days")
    runs_7d: int = Field(alias="runs7d")
    lead_time_to_prod_hours: float | None = Field(description="Mean run start → rollout completed in a prod* env, last 30 days")
    p95_build_ms: int | None
    worst_burn_rate_1h: float | None = Field(alias="worstBurnRate1h")
    lowest_error_budget: float | None
    spend_24h_usd: float = Field(alias="spend24hUsd")
    spend_7d_usd: float = Field(alias="spend7dUsd")
    queue_depth: int = Field(description="Steps of active runs not finished yet")


class Compliance(ApiModel):
    successful_runs_7d: int = Field(alias="successfulRuns7d")
    runs_with_provenance_7d: int = Field(alias="runsWithProvenance7d")
    signed_artifacts_7d: int = Field(alias="signedArtifacts7d")
    sbom_runs_checked: int
    sbom_diffs_ok: int = Field(description="Of those, SBOM diffs without downgrades or same-version hash changes")
    policy_denials_24h: int = Field(alias="policyDenials24h")
    evidence_bundles_7d: int = Field(alias="evidenceBundles7d")
    evidence_bundles_failed_7d: int = Field(alias="evidenceBundlesFailed7d")


class Hub(ApiModel):
    generated_at: str
    releases: list[Release]
    kpis: Kpis
    hot_cold: dict[str, Any]
    compliance: Compliance


def summary(
    *,
    session: Session,
    redis: Redis,
    store: Store,
    tenant_id: str,
    read_envs: set[str] | None,
    promote_envs: set[str] | None,
    now: datetime | None = None,
) -> Hub:
    """Everything the Control Hub shows. Releases are the services of the environments where the caller
    holds rollouts:read (``read_envs``; None: all), with controls where it holds rollouts:promote
    (``promote_envs``) — the rule of GET /api/services."""
    now = now or utcnow()
    releases = _releases(session, redis, tenant_id, read_envs=read_envs, promote_envs=promote_envs)
    return Hub(
        generated_at=now.isoformat(),
        releases=releases,
        kpis=_kpis(session, tenant_id, now),
        hot_cold=insights(session, tenant_id=tenant_id, since=now - timedelta(days=7), store=store, limit=5),
        compliance=_compliance(session, store, tenant_id, now),
    )


def _succeeded_7d(tid: str, now: datetime) -> list[ColumnElement[bool]]:
    return [col(Run.tenant_id) == tid, col(Run.status) == RunStatus.succeeded, col(Run.created_at) >= now - timedelta(days=7)]


def _hours(session: Session, start: Any, end: Any) -> Any:
    """end - start in hours, in the session's SQL dialect (SQLite keeps datetimes as text)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0


def _p95_build_ms(session: Session, tid: str, now: datetime) -> int | None:
    """Nearest-rank p95 of the decided runs' durations: count them, then read the one row at that rank."""
    where: list[ColumnElement[bool]] = [
        col(Run.tenant_id) == tid,
        col(Run.created_at) >= now - timedelta(days=7),
        col(Run.status).in_(DECIDED_RUN),
        col(Run.duration_ms).is_not(None),
    ]
    n = int(session.exec(select(func.count()).select_from(Run).where(*where)).one())
    if n == 0:
        return None
    rank = max(0, math.ceil(0.95 * n) - 1)
    value = session.exec(select(Run.duration_ms).where(*where).order_by(col(Run.duration_ms)).offset(rank).limit(1)).one()
    return int(value) if value is not None else None


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0)


def _kpis(session: Session, tid: str, now: datetime) -> Kpis:
    week, day = now - timedelta(days=7), now - timedelta(days=1)
    decided, succeeded = session.exec(
        select(
            func.count(case((col(Run.status).in_(DECIDED_RUN), 1))),
            func.count(case((col(Run.status) == RunStatus.succeeded, 1))),
        ).where(col(Run.tenant_id) == tid, col(Run.created_at) >= week)
    ).one()
    # cost burn: the spend ledger (runner time and gateway tokens alike), from its hourly rollups
    spend_7d, spend_24h = session.exec(
        select(
            func.coalesce(func.sum(SpendRollup.usd), 0.0),
            func.coalesce(func.sum(case((col(SpendRollup.hour) >= _hour(day), SpendRollup.usd), else_=0.0)), 0.0),
        ).where(col(SpendRollup.tenant_id) == tid, col(SpendRollup.hour) >= _hour(week))
    ).one()
    lead = session.exec(
        select(func.avg(cast(_hours(session, Run.started_at, Rollout.finished_at), Float)))
        .select_from(Rollout)
        .join(Run, col(Run.id) == col(Rollout.run_id))
        .where(
            Rollout.tenant_id == tid,
            Rollout.status == RolloutStatus.succeeded,
            col(Rollout.env).startswith("prod"),
            col(Rollout.finished_at) >= now - timedelta(days=30),
            col(Run.started_at).is_not(None),
        )
    ).one()
    burns, budgets = [], []
    for d in slomod.all_slos(session, tid):
        st = slomod.evaluate(session, d, tid, now)
        if st.burn_rates.get("1h") is not None:
            burns.append(st.burn_rates["1h"])
        if st.error_budget_remaining is not None:
            budgets.append(st.error_budget_remaining)
    depth = session.exec(
        select(func.count())
        .select_from(StepRun)
        .join(Run, col(Run.id) == col(StepRun.run_id))
        .where(Run.tenant_id == tid, col(StepRun.status).in_(UNFINISHED_STEP), col(Run.status).in_(ACTIVE_RUN))
    ).one()
    return Kpis(
        build_success_pct=round(100 * int(succeeded) / int(decided), 2) if decided else None,
        runs_7d=int(decided),
        lead_time_to_prod_hours=round(float(lead), 3) if lead is not None else None,
        p95_build_ms=_p95_build_ms(session, tid, now),
        worst_burn_rate_1h=round(max(b for b in burns if b is not None), 3) if burns else None,
        lowest_error_budget=round(min(budgets), 4) if budgets else None,
        spend_24h_usd=round(float(spend_24h), 6),
        spend_7d_usd=round(float(spend_7d), 6),
        queue_depth=int(depth),
    )


def _releases(s: Session, redis: Redis, tid: str, *, read_envs: set[str] | None, promote_envs: set[str] | None) -> list[Release]:
    out = []
    stmt = select(Service).where(Service.tenant_id == tid)
    if read_envs is not None:
        stmt = stmt.where(col(Service.env).in_(read_envs))
    for svc in s.exec(stmt.order_by(col(Service.env), col(Service.name))).all():
        may_promote = promote_envs is None or svc.env in promote_envs
        route = edge.get(redis, svc.name)
        active = s.exec(
            select(Rollout)
            .where(Rollout.service_id == svc.id, col(Rollout.status).in_(ACTIVE_ROLLOUT))
            .order_by(col(Rollout.created_at).desc())
        ).first()
        c = edge.window(redis, svc.name, "canary", 60)
        st = edge.window(redis, svc.name, "stable", 60)
        if c.requests + st.requests == 0:
            health = "idle"
        elif (c.error_rate is not None and c.error_rate > 0.05) or (st.error_rate is not None and st.error_rate > 0.05):
            health = "degraded"
        else:
            health = "healthy"
        actions: list[str] = []
        if active is not None and may_promote:
            actions = (
                ["pause", "promote", "rollback", "abort"]
                if active.status == RolloutStatus.running
                else ["resume", "promote", "rollback", "abort"]
            )
        out.append(
            Release(
                service=svc.name,
                env=svc.env,
                stable_url=route.stable if route else svc.stable_url,
                canary_url=route.canary if route else None,
                canary_weight=route.weight if route and route.canary else 0,
                rollout_id=active.id if active else None,
                rollout_status=active.status if active else None,
                canary_error_rate=c.error_rate,
                stable_error_rate=st.error_rate,
                canary_requests=c.requests,
                stable_requests=st.requests,
                health=health,
                actions=actions,
            )
        )
    return out


def _compliance(s: Session, store: Store, tid: str, now: datetime) -> Compliance:
    succeeded = _succeeded_7d(tid, now)
    n_succeeded = int(s.exec(select(func.count()).select_from(Run).where(*succeeded)).one())
    with_prov, signed = s.exec(
        select(
            func.count(func.distinct(case((col(Attestation.kind) == "provenance", col(Attestation.run_id))))),
            func.count(case((col(Attestation.kind) == "signature", 1))),
        )
        .select_from(Attestation)
        .join(Run, col(Run.id) == col(Attestation.run_id))
        .where(*succeeded, col(Attestation.kind).in_(("provenance", "signature")))
    ).one()
    checked = ok = 0
    newest = s.exec(
        select(Run).where(*succeeded).order_by(col(Run.created_at).desc(), col(Run.id).desc()).limit(SBOM_RUNS_CHECKED)
    ).all()
    for run in newest:
        art = runsbom.sbom_artifact(s, run.id)
        if art is None:
            continue
        checked += 1
        try:
            _, d = runsbom.diff_for(s, store, run, runsbom.read_json(store, art))
        except Exception:  # unreadable SBOM: counted as checked, not OK
            log.warning("run %s: its SBOM could not be read for the hub's compliance figures", run.id, exc_info=True)
            continue
        ok += not d["downgraded"] and not d["hashChanged"]
    denials = s.exec(
        select(func.count())
        .select_from(PolicyDecision)
        .where(PolicyDecision.tenant_id == tid, counted_denial(), col(PolicyDecision.created_at) >= now - timedelta(days=1))
    ).one()
    bundles = s.exec(
        select(EvidenceBundle.status, func.count())
        .where(col(EvidenceBundle.tenant_id) == tid, col(EvidenceBundle.created_at) >= now - timedelta(days=7))
        .group_by(EvidenceBundle.status)
    ).all()
    by_status = {st: int(n) for st, n in bundles}
    return Compliance(
        successful_runs_7d=n_succeeded,
        runs_with_provenance_7d=int(with_prov),
        signed_artifacts_7d=int(signed),
        sbom_runs_checked=checked,
        sbom_diffs_ok=ok,
        policy_denials_24h=int(denials),
        evidence_bundles_7d=by_status.get("succeeded", 0),
        evidence_bundles_failed_7d=by_status.get("failed", 0),
    )
