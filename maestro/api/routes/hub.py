"""GET /api/hub: the Control Hub's data — releases, KPIs, what's hot and cold, compliance — from real records."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import func
from sqlmodel import Session, col, select

from maestro.api.deps import AUTHENTICATED, Require, RuntimeDep, SessionDep
from maestro.api.pagination import ApiModel
from maestro.artifacts import make_store
from maestro.domain.identity import Principal
from maestro.domain.rbac import grants
from maestro.domain.rollouts import Rollout, Service
from maestro.domain.runs import Run, StepRun
from maestro.domain.supply import Attestation, EvidenceBundle, PolicyDecision, counted_denial
from maestro.domain.types import utcnow
from maestro.edge import routes as edge
from maestro.observability import slo as slomod
from maestro.observability.insights import compute as insights
from maestro.states import ACTIVE_ROLLOUT, ACTIVE_RUN, DECIDED_RUN
from maestro.supply import runsbom

router = APIRouter(tags=["hub"])


class Release(ApiModel):
    service: str
    env: str
    stable_url: str
    canary_url: str | None
    canary_weight: int
    rollout_id: str | None
    rollout_status: str | None
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


def _p95(xs: list[int]) -> int | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[max(0, math.ceil(0.95 * len(xs)) - 1)]


@router.get("/hub", operation_id="hub-get", response_model=Hub)
def hub(*, rt: RuntimeDep, session: SessionDep, principal: Annotated[Principal, Require(AUTHENTICATED)]) -> Hub:
    """Everything the Control Hub shows, computed now from runs, rollouts, the edge, SLOs, attestations and decisions."""
    now = utcnow()
    tid = principal.tenant_id
    perms = principal.all_permissions()
    may_promote = grants(perms, "rollouts:promote")
    releases = _releases(rt, session, tid, may_promote) if grants(perms, "rollouts:read") else []
    runs_7d = session.exec(
        select(Run).where(Run.tenant_id == tid, col(Run.created_at) >= now - timedelta(days=7), col(Run.status).in_(DECIDED_RUN))
    ).all()
    ok = sum(1 for r in runs_7d if r.status == "succeeded")
    spend = {
        d: float(
            session.exec(
                select(func.coalesce(func.sum(Run.cost_usd), 0.0)).where(
                    Run.tenant_id == tid, col(Run.created_at) >= now - timedelta(days=d)
                )
            ).one()
        )
        for d in (1, 7)
    }
    lead = []
    for ro, run in session.exec(
        select(Rollout, Run)
        .join(Run, col(Run.id) == col(Rollout.run_id))
        .where(
            Rollout.tenant_id == tid,
            Rollout.status == "succeeded",
            col(Rollout.env).startswith("prod"),
            col(Rollout.finished_at) >= now - timedelta(days=30),
        )
    ).all():
        if ro.finished_at and run.started_at:
            lead.append((ro.finished_at - run.started_at).total_seconds() / 3600)
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
        .where(
            Run.tenant_id == tid,
            col(StepRun.status).in_(("pending", "running", "waiting")),
            col(Run.status).in_(ACTIVE_RUN),
        )
    ).one()
    kpis = Kpis(
        build_success_pct=round(100 * ok / len(runs_7d), 2) if runs_7d else None,
        runs_7d=len(runs_7d),
        lead_time_to_prod_hours=round(sum(lead) / len(lead), 3) if lead else None,
        p95_build_ms=_p95([r.duration_ms for r in runs_7d if r.duration_ms is not None]),
        worst_burn_rate_1h=round(max(b for b in burns if b is not None), 3) if burns else None,
        lowest_error_budget=round(min(budgets), 4) if budgets else None,
        spend_24h_usd=round(spend[1], 6),
        spend_7d_usd=round(spend[7], 6),
        queue_depth=int(depth),
    )
    store = make_store(rt.settings)
    hot = insights(session, tenant_id=tid, since=now - timedelta(days=7), store=store, limit=5)
    return Hub(
        generated_at=now.isoformat(),
        releases=releases,
        kpis=kpis,
        hot_cold=hot,
        compliance=_compliance(session, store, tid, now, [r for r in runs_7d if r.status == "succeeded"]),
    )


def _releases(rt: RuntimeDep, s: Session, tid: str, may_promote: bool) -> list[Release]:
    out = []
    for svc in s.exec(select(Service).where(Service.tenant_id == tid).order_by(col(Service.env), col(Service.name))).all():
        route = edge.get(rt.redis_sync, svc.name)
        active = s.exec(
            select(Rollout)
            .where(Rollout.service_id == svc.id, col(Rollout.status).in_(ACTIVE_ROLLOUT))
            .order_by(col(Rollout.created_at).desc())
        ).first()
        c = edge.window(rt.redis_sync, svc.name, "canary", 60)
        st = edge.window(rt.redis_sync, svc.name, "stable", 60)
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
                if active.status == "running"
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


def _compliance(s: Session, store: Any, tid: str, now: Any, succeeded: list[Run]) -> Compliance:
    ids = [r.id for r in succeeded]
    with_prov = signed = 0
    if ids:
        with_prov = int(
            s.exec(
                select(func.count(func.distinct(Attestation.run_id))).where(
                    col(Attestation.run_id).in_(ids), Attestation.kind == "provenance"
                )
            ).one()
        )
        signed = int(
            s.exec(
                select(func.count())
                .select_from(Attestation)
                .where(col(Attestation.run_id).in_(ids), Attestation.kind == "signature")
            ).one()
        )
    checked = ok = 0
    for run in sorted(succeeded, key=lambda r: r.created_at, reverse=True)[:20]:
        art = runsbom.sbom_artifact(s, run.id)
        if art is None:
            continue
        try:
            _, d = runsbom.diff_for(s, store, run, runsbom.read_json(store, art))
        except Exception:  # unreadable SBOM: counted as checked, not OK
            checked += 1
            continue
        checked += 1
        ok += not d["downgraded"] and not d["hashChanged"]
    denials = s.exec(
        select(func.count())
        .select_from(PolicyDecision)
        .where(
            PolicyDecision.tenant_id == tid,
            counted_denial(),
            col(PolicyDecision.created_at) >= now - timedelta(days=1),
        )
    ).one()
    bundles = s.exec(
        select(EvidenceBundle.status, func.count())
        .where(EvidenceBundle.tenant_id == tid, col(EvidenceBundle.created_at) >= now - timedelta(days=7))
        .group_by(EvidenceBundle.status)
    ).all()
    by_status = {st: int(n) for st, n in bundles}
    return Compliance(
        successful_runs_7d=len(succeeded),
        runs_with_provenance_7d=with_prov,
        signed_artifacts_7d=signed,
        sbom_runs_checked=checked,
        sbom_diffs_ok=ok,
        policy_denials_24h=int(denials),
        evidence_bundles_7d=by_status.get("succeeded", 0),
        evidence_bundles_failed_7d=by_status.get("failed", 0),
    )
