"""FinOps budgets: tiers, caps and thresholds, each run by its BudgetWorkflow; freeze, unfreeze and
raise-cap are Temporal updates (refusals are 409s with the workflow's reason), audited with their reason."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from maestro.api.deps import Require, RuntimeDep, SessionDep, TemporalDep
from maestro.api.pagination import ApiModel, Items
from maestro.api.problems import Problem
from maestro.api.schemas import InputModel
from maestro.domain.auditlog import append_audit
from maestro.domain.finops import Budget, BudgetEvent
from maestro.domain.identity import Principal
from maestro.domain.models import Environment, Project
from maestro.domain.routing import ModelProvider, RoutingClass
from maestro.domain.runs import Pipeline
from maestro.domain.types import utcnow
from maestro.finops import analytics, ledger
from maestro.finops.budgets import TIERS, BudgetAction, BudgetCreate, utilisation
from maestro.finops.service import start_budget
from maestro.finops.shared import BudgetControl, BudgetState

router = APIRouter(prefix="/budgets", tags=["budgets"])
CONTROL_TIMEOUT_S = 15.0
Reader = Annotated[Principal, Require("budgets:read")]
Writer = Annotated[Principal, Require("budgets:write")]


class BudgetPublic(ApiModel):
    id: str
    name: str
    description: str
    tier: str
    scope: dict[str, str] = Field(description="project, env, pipeline, provider, model it covers; absent = any")
    period: str
    cap_usd: float | None
    cap_tokens: int | None
    thresholds: list[int]
    actions: list[BudgetAction]
    forecast_downgrade: bool
    state: str = Field(description="ok | warning (a threshold fired) | breached (at or over the cap)")
    percent: float = Field(description="Utilisation of the tighter cap this period, in percent")
    frozen: bool
    frozen_reason: str
    frozen_by: str
    frozen_at: datetime | None
    slowed: bool
    downgraded: bool
    period_start: datetime | None
    period_end: datetime | None
    spent_usd: float
    spent_tokens: int
    burn_per_hour: float = Field(description="Recent burn rate (USD per hour) the forecast uses")
    forecast_total: float | None = Field(description="Expected spend at the period's end; null: not enough history")
    forecast_note: str
    cap_eta: datetime | None = Field(description="When the forecast reaches the USD cap (null: not this period)")
    fired_thresholds: list[int]
    workflow_id: str
    created_by: str
    created_at: datetime
    updated_at: datetime


class BudgetHistoryEntry(ApiModel):
    id: int
    ts: datetime
    kind: str = Field(description="created, threshold, breached, frozen, unfrozen, slowed, downgraded, refused, ...")
    actor: str
    reason: str
    detail: dict[str, Any]


class BurnPoint(ApiModel):
    ts: datetime
    spent_usd: float = Field(description="Cumulative spend of the period at this hour")
    remaining_usd: float | None


class ForecastPointPublic(ApiModel):
    ts: datetime
    expected: float
    low: float
    high: float


class BudgetDetail(BudgetPublic):
    history: list[BudgetHistoryEntry]
    burndown: list[BurnPoint]
    forecast: list[ForecastPointPublic]
    forecast_method: str


class TierPublic(ApiModel):
    name: str
    cap_usd: float
    cap_tokens: int
    thresholds: list[int]
    actions: list[BudgetAction]
    forecast_downgrade: bool


class BudgetControlInput(InputModel):
    reason: str = Field(min_length=1, max_length=500, description="Why (recorded in the audit log and the budget's history).")


class RaiseCapInput(BudgetControlInput):
    cap_usd: float | None = Field(None, ge=0.000001, le=1e12, allow_inf_nan=False)
    cap_tokens: int | None = Field(None, gt=0, le=10**15)


def _public(b: Budget) -> BudgetPublic:
    return BudgetPublic.model_validate(
        {
            **b.model_dump(),
            "percent": round(utilisation(cap_usd=b.cap_usd, cap_tokens=b.cap_tokens, usd=b.spent_usd, tokens=b.spent_tokens), 2),
            "actions": [BudgetAction.model_validate(a) for a in b.actions],
        }
    )


def _budget(session: Session, principal: Principal, budget_id: str) -> Budget:
    b = session.get(Budget, budget_id)
    if b is None or b.tenant_id != principal.tenant_id:
        b = session.exec(select(Budget).where(Budget.tenant_id == principal.tenant_id, Budget.name == budget_id)).first()
    if b is None:
        raise Problem(
            404, f"No budget {budget_id!r}.", remediation="GET /api/budgets lists your tenant's budgets (by id or name)."
        )
    return b


@router.get("/tiers", operation_id="budgets-tiers", response_model=Items[TierPublic])
def list_tiers(*, principal: Reader) -> Items[TierPublic]:
    """The tier presets and what they set when a budget names a tier and leaves caps/thresholds/actions out."""
    return Items(
        items=[
            TierPublic(
                name=n,
                cap_usd=t.cap_usd,
                cap_tokens=t.cap_tokens,
                thresholds=list(t.thresholds),
                actions=[BudgetAction.model_validate(a) for a in t.actions],
                forecast_downgrade=t.forecast_downgrade,
            )
            for n, t in TIERS.items()
        ]
    )


@router.get("", operation_id="budgets-list", response_model=Items[BudgetPublic])
def list_budgets(*, session: SessionDep, principal: Reader) -> Items[BudgetPublic]:
    """Your tenant's budgets with their spend this period, burn rate, ETA to cap and state."""
    rows = session.exec(select(Budget).where(Budget.tenant_id == principal.tenant_id).order_by(Budget.name)).all()
    return Items(items=[_public(b) for b in rows])


def _validate_scope(session: Session, principal: Principal, body: BudgetCreate) -> None:
    errors: list[dict[str, str]] = []
    sc = body.scope
    if (
        sc.project
        and not session.exec(select(Project).where(Project.tenant_id == principal.tenant_id, Project.slug == sc.project)).first()
    ):
        errors.append({"field": "scope.project", "message": f"no project {sc.project!r} in your tenant"})
    if (
        sc.env
        and not session.exec(
            select(Environment)
            .join(Project, col(Project.id) == col(Environment.project_id))
            .where(Project.tenant_id == principal.tenant_id, Environment.name == sc.env)
        ).first()
    ):
        errors.append({"field": "scope.env", "message": f"no environment {sc.env!r} in your tenant"})
    if (
        sc.pipeline
        and not session.exec(
            select(Pipeline).where(Pipeline.tenant_id == principal.tenant_id, Pipeline.name == sc.pipeline)
        ).first()
    ):
        errors.append({"field": "scope.pipeline", "message": f"no pipeline {sc.pipeline!r} in your tenant"})
    if sc.provider and session.get(ModelProvider, sc.provider) is None:
        errors.append({"field": "scope.provider", "message": f"no model provider {sc.provider!r}"})
    for i, a in enumerate(body.actions or []):
        for name in a.classes:
            c = session.get(RoutingClass, name)
            if c is None:
                errors.append({"field": f"actions.{i}.classes", "message": f"no routing class {name!r}"})
            elif not c.spec.get("downgradeTo"):
                errors.append({"field": f"actions.{i}.classes", "message": f"class {name!r} has no downgrade path (downgradeTo)"})
            elif principal.tenant_id not in (c.spec.get("match") or {}).get("tenants", []):
                errors.append(
                    {
                        "field": f"actions.{i}.classes",
                        "message": f"class {name!r} does not serve only named tenants including yours: a tenant's budget "
                        "cannot downgrade routing other tenants share (give the class match.tenants)",
                    }
                )
    if session.exec(select(Budget).where(Budget.tenant_id == principal.tenant_id, Budget.name == body.name)).first():
        errors.append({"field": "name", "message": f"a budget named {body.name!r} exists"})
    if errors:
        raise Problem(422, "The budget cannot be created: " + "; ".join(e["message"] for e in errors) + ".", errors=errors)


@router.post("", operation_id="budgets-create", response_model=BudgetPublic, status_code=201)
async def create_budget(
    *, body: BudgetCreate, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Writer
) -> BudgetPublic:
    """A budget on a scope of your tenant for the current calendar month or quarter; its BudgetWorkflow starts
    at once. A tier (bronze, silver, gold) fills in what is not given."""
    _validate_scope(session, principal, body)
    try:
        b = await start_budget(
            session=session,
            temporal=temporal,
            settings=rt.settings,
            tenant_id=principal.tenant_id,
            actor=principal.actor,
            body=body,
        )
    except RPCError as exc:
        raise Problem(503, f"The budget's workflow could not start, so no budget was created: {exc}") from exc
    except IntegrityError:  # created meanwhile by another request
        session.rollback()
        raise Problem(409, f"A budget named {body.name!r} exists.", errors=[{"field": "name", "message": "taken"}]) from None
    return _public(b)


@router.get("/{budget_id}", operation_id="budgets-get", response_model=BudgetDetail)
def get_budget(
    *, budget_id: str, session: SessionDep, principal: Reader, history: Annotated[int, Query(ge=1, le=1000)] = 200
) -> BudgetDetail:
    """A budget with its history (newest first), the period's burndown and the forecast band."""
    b = _budget(session, principal, budget_id)
    events = session.exec(
        select(BudgetEvent).where(BudgetEvent.budget_id == b.id).order_by(col(BudgetEvent.id).desc()).limit(history)
    ).all()
    now = utcnow()
    start = b.period_start or now
    end = b.period_end or now
    series = ledger.hourly(
        session,
        tenant_id=b.tenant_id,
        scope=dict(b.scope),
        start=start - timedelta(days=28),
        end=min(now, end) + timedelta(hours=1),
    )
    burn = analytics.burndown(series, period_start=start, now=min(now, end), cap=b.cap_usd)
    fc = analytics.forecast(series, period_start=start, period_end=end, now=min(now, end), cap=b.cap_usd)
    return BudgetDetail.model_validate(
        {
            **_public(b).model_dump(),
            "history": [BudgetHistoryEntry.model_validate(e.model_dump()) for e in events],
            "burndown": [BurnPoint(ts=t, spent_usd=round(v, 6), remaining_usd=r) for t, v, r in burn],
            "forecast": [ForecastPointPublic(ts=p.ts, expected=p.expected, low=p.low, high=p.high) for p in fc.points],
            "forecast_method": fc.method,
        }
    )


async def _control(
    rt: Any, temporal: Client, session: Session, principal: Principal, b: Budget, update: str, c: BudgetControl
) -> BudgetPublic:
    handle = temporal.get_workflow_handle(b.workflow_id)
    try:
        await asyncio.wait_for(handle.execute_update(update, c, result_type=BudgetState), CONTROL_TIMEOUT_S)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise Problem(
            503,
            f"The budget's workflow did not answer within {CONTROL_TIMEOUT_S:g} s (is the worker running?).",
            remediation="Check GET /api/ready; reload the budget before retrying: the control may still apply when the "
            "worker answers.",
        ) from None
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        msg = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise Problem(409, f"{update.replace('_', '-')} refused: {msg}") from None
    except RPCError as exc:
        raise Problem(
            503,
            f"The budget's workflow did not answer: {exc}.",
            remediation="Check GET /api/ready (Temporal and the worker) and retry.",
        ) from None
    append_audit(
        session,
        actor=principal.actor,
        action=f"budget.{update.replace('_', '-')}",
        target_type="budget",
        target_id=b.id,
        change={
            "reason": c.reason,
            "budget": b.name,
            **({"capUsd": c.cap_usd} if c.cap_usd else {}),
            **({"capTokens": c.cap_tokens} if c.cap_tokens else {}),
        },
    )
    session.commit()
    session.refresh(b)
    return _public(b)


@router.post("/{budget_id}/freeze", operation_id="budgets-freeze", response_model=BudgetPublic)
async def freeze(
    *, budget_id: str, body: BudgetControlInput, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Writer
) -> BudgetPublic:
    """Freeze now: new runs (and gateway requests) in the budget's scope are refused until unfrozen."""
    b = _budget(session, principal, budget_id)
    return await _control(rt, temporal, session, principal, b, "freeze", BudgetControl(by=principal.actor, reason=body.reason))


@router.post("/{budget_id}/unfreeze", operation_id="budgets-unfreeze", response_model=BudgetPublic)
async def unfreeze(
    *, budget_id: str, body: BudgetControlInput, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Writer
) -> BudgetPublic:
    """Lift a freeze (manual or automatic) for the rest of the period; runs start again at once."""
    b = _budget(session, principal, budget_id)
    return await _control(rt, temporal, session, principal, b, "unfreeze", BudgetControl(by=principal.actor, reason=body.reason))


@router.post("/{budget_id}/raise-cap", operation_id="budgets-raise-cap", response_model=BudgetPublic)
async def raise_cap(
    *, budget_id: str, body: RaiseCapInput, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Writer
) -> BudgetPublic:
    """Raise the USD and/or token cap; thresholds and actions no longer reached re-arm, and automatic
    freeze/slowdown/downgrade that the new cap no longer justifies are lifted."""
    if body.cap_usd is None and body.cap_tokens is None:
        raise Problem(422, "Give capUsd, capTokens or both.", errors=[{"field": "capUsd", "message": "a new cap is required"}])
    b = _budget(session, principal, budget_id)
    c = BudgetControl(by=principal.actor, reason=body.reason, cap_usd=body.cap_usd, cap_tokens=body.cap_tokens)
    return await _control(rt, temporal, session, principal, b, "raise_cap", c)


@router.delete("/{budget_id}", operation_id="budgets-delete", status_code=204)
async def delete_budget(
    *,
    budget_id: str,
    reason: Annotated[str, Query(min_length=1, max_length=500, description="Why (recorded in the audit log).")],
    rt: RuntimeDep,
    temporal: TemporalDep,
    session: SessionDep,
    principal: Writer,
) -> None:
    """Delete a budget: its workflow lifts what it applied (freeze, slowdown, downgrade), lets runs waiting for
    a permit go, and ends; the budget's history and audit entries stay."""
    b = _budget(session, principal, budget_id)
    try:
        running = (await temporal.get_workflow_handle(b.workflow_id).describe()).status == WorkflowExecutionStatus.RUNNING
    except RPCError:
        running = False
    if running:
        await _control(rt, temporal, session, principal, b, "retire", BudgetControl(by=principal.actor, reason=reason))
    gated = b.frozen or b.slowed  # its workflow is gone (a retire that answered late): the row goes all the same
    session.delete(b)
    append_audit(
        session,
        actor=principal.actor,
        action="budget.delete",
        target_type="budget",
        target_id=b.id,
        change={"reason": reason, "budget": b.name},
    )
    session.commit()
    if gated and not running:  # the workflow could not lift it: the gateway learns from the new snapshot
        from maestro.gateway.store import publish_from_sql

        publish_from_sql(rt.engine, rt.redis_sync)
