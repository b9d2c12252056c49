from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field, model_validator
from sqlmodel import Session, select

from maestro.api.deps import Require, RuntimeDep, SessionDep
from maestro.api.pagination import ApiModel, Items
from maestro.api.problems import Problem
from maestro.api.schemas import CREATED_ID, InputModel, links
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.runs import Slo
from maestro.domain.types import utcnow
from maestro.observability import slo as slomod

router = APIRouter(prefix="/slo", tags=["observability"])


class SloCreate(InputModel):
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=1000)
    sli: Literal["availability", "run_success", "run_duration"] = Field(description="What is measured (see GET /api/slo/slis).")
    objective: float = Field(gt=0, lt=1, description="Target share of good events, strictly between 0 and 1 (0.99 = 99%).")
    window_days: int = Field(30, ge=1, le=90)
    threshold_ms: int | None = Field(
        None, ge=1, le=7 * 86_400_000, description="run_duration only: a good run finishes within this (at most a week)."
    )
    pipeline: str | None = Field(None, max_length=63, description="Only this pipeline's runs (run SLIs).")

    @model_validator(mode="after")
    def _sane(self) -> SloCreate:
        if not 0 < self.objective < 1:
            raise ValueError("objective must be strictly between 0 and 1: 1.0 leaves no error budget, 0 means no goal")
        if self.sli == "run_duration" and self.threshold_ms is None:
            raise ValueError("a run_duration SLO needs threshold_ms")
        if self.sli != "run_duration" and self.threshold_ms is not None:
            raise ValueError("threshold_ms applies to run_duration SLOs only")
        if self.sli == "availability" and self.pipeline:
            raise ValueError("availability is measured on the API, not per pipeline")
        return self


class BurnAlert(ApiModel):
    long: str
    short: str
    threshold: float
    severity: str
    firing: bool


class SloPublic(ApiModel):
    id: str
    name: str
    description: str
    sli_kind: str
    objective: float
    window_days: int
    threshold_ms: int | None
    pipeline: str | None
    builtin: bool
    sli: float | None = Field(description="Current SLI over the window (null: no events yet).")
    good: int
    total: int
    error_budget_remaining: float | None = Field(description="1 = untouched, 0 = spent, negative = overspent.")
    burn_rates: dict[str, float | None] = Field(description="Burn rate per window (1 = spending exactly the budget).")
    burn_alerts: list[BurnAlert]
    evaluated_at: datetime


def _public(st: slomod.SloStatus, at: datetime) -> SloPublic:
    d = st.slo
    return SloPublic(
        id=d.id,
        name=d.name,
        description=d.description,
        sli_kind=d.sli,
        objective=d.objective,
        window_days=d.window_days,
        threshold_ms=d.threshold_ms,
        pipeline=d.pipeline,
        builtin=d.builtin,
        sli=st.sli,
        good=st.good,
        total=st.total,
        error_budget_remaining=st.error_budget_remaining,
        burn_rates=st.burn_rates,
        burn_alerts=[BurnAlert(**a) for a in st.alerts],
        evaluated_at=at,
    )


def _flush_traffic(rt: RuntimeDep) -> None:
    traffic = rt.extras.get("traffic")
    if traffic is not None:
        traffic.flush(rt.engine)  # this replica's latest minute counts too


@router.get("", operation_id="slo-list", response_model=Items[SloPublic])
def list_slos(
    *, rt: RuntimeDep, session: SessionDep, principal: Annotated[Principal, Require("system:read")]
) -> Items[SloPublic]:
    """Every SLO (built-in and defined) with its SLI, error budget and multi-window burn rates."""
    _flush_traffic(rt)
    now = utcnow()
    return Items[SloPublic](
        items=[
            _public(slomod.evaluate(session, d, principal.tenant_id, now), now)
            for d in slomod.all_slos(session, principal.tenant_id)
        ]
    )


def _get_row(session: Session, principal: Principal, slo_id: str) -> Slo:
    row = session.exec(select(Slo).where(Slo.id == slo_id, Slo.tenant_id == principal.tenant_id)).first()
    if row is None:
        builtin = any(b.id == slo_id for b in slomod.BUILTIN)
        raise Problem(
            409 if builtin else 404,
            f"The SLO {slo_id!r} is built in and cannot be removed." if builtin else f"No SLO {slo_id!r}.",
        )
    return row


@router.post(
    "",
    operation_id="slo-create",
    response_model=SloPublic,
    status_code=201,
    responses=links(201, "slo_id", CREATED_ID, "slo-delete"),
)
def create_slo(
    *, body: SloCreate, rt: RuntimeDep, session: SessionDep, principal: Annotated[Principal, Require("alerts:write")]
) -> SloPublic:
    """Declare an SLO: SLI, objective, window (and threshold for run_duration)."""
    if any(d.name == body.name for d in slomod.all_slos(session, principal.tenant_id)):
        raise Problem(409, f"An SLO named {body.name!r} exists.", errors=[{"field": "name", "message": "already taken"}])
    row = Slo(tenant_id=principal.tenant_id, created_by=principal.actor, **body.model_dump())
    session.add(row)
    append_audit(
        session, actor=principal.actor, action="slo.create", target_type="slo", target_id=row.id, change=body.model_dump()
    )
    session.commit()
    now = utcnow()
    return _public(slomod.evaluate(session, slomod.of_row(row), principal.tenant_id, now), now)


@router.delete("/{slo_id}", operation_id="slo-delete", status_code=204)
def delete_slo(
    *,
    slo_id: str,
    session: SessionDep,
    principal: Annotated[Principal, Require("alerts:write")],
    reason: Annotated[str | None, Query(max_length=500, description="Why; recorded in the audit log.")] = None,
) -> Response:
    row = _get_row(session, principal, slo_id)
    session.delete(row)
    append_audit(
        session,
        actor=principal.actor,
        action="slo.delete",
        target_type="slo",
        target_id=row.id,
        change={"name": row.name, "reason": reason},
    )
    session.commit()
    return Response(status_code=204)
