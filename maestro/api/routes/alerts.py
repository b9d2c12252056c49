from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlmodel import Session, select

from maestro.api.deps import Require, RuntimeDep, SessionDep, TemporalDep
from maestro.api.pagination import ApiModel, Page, PageParams, page_params, paginate
from maestro.api.problems import Problem
from maestro.api.schemas import FIRST_ITEM_ID, InputModel, links
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.models import User
from maestro.domain.runs import Alert
from maestro.domain.types import new_id, utcnow
from maestro.events.payloads import AlertEventPayload
from maestro.observability import alerts as alertmod

router = APIRouter(prefix="/alerts", tags=["observability"])

Reader = Annotated[Principal, Require("system:read")]
Writer = Annotated[Principal, Require("alerts:write")]


class AlertPublic(AlertEventPayload):
    """The alert as its events carry it, with delivery and triage fields."""

    updated_at: datetime
    fire_count: int
    acked_by: str | None
    acked_at: datetime | None
    assignee: str | None
    notify_status: str = Field(description="Alertmanager delivery: last outcome")
    pagerduty_action: str = Field(description="Last event PagerDuty accepted: trigger, acknowledge or resolve")
    pagerduty_status: str = Field(description="PagerDuty delivery: last outcome")


class AckInput(InputModel):
    note: str = Field("", max_length=1000)


class AssignInput(InputModel):
    assignee: str = Field(min_length=1, max_length=64, description="Username of the person taking it.")


class EvaluationPublic(ApiModel):
    workflow_id: str
    fired: list[str]
    resolved: list[str]
    firing: int


def _get(s: Session, principal: Principal, alert_id: str) -> Alert:
    a = s.exec(select(Alert).where(Alert.id == alert_id, Alert.tenant_id == principal.tenant_id)).first()
    if a is None:
        raise Problem(404, f"No alert {alert_id!r}.", remediation="List alerts with GET /api/alerts.")
    return a


def _publish(rt: RuntimeDep, kind: str, a: Alert) -> None:
    alertmod.publish_alert(rt.redis_sync, kind, a, maxlen=rt.settings.stream_maxlen)


@router.get(
    "",
    operation_id="alerts-list",
    response_model=Page[AlertPublic],
    responses=links(200, "alert_id", FIRST_ITEM_ID, "alerts-get", "alerts-ack", "alerts-assign"),
)
def list_alerts(
    *,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    state: Annotated[str | None, Query(pattern="^(firing|resolved)$")] = None,
    severity: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[AlertPublic]:
    """Alerts, newest first."""
    stmt = select(Alert).where(Alert.tenant_id == principal.tenant_id)
    if state:
        stmt = stmt.where(Alert.state == state)
    if severity:
        stmt = stmt.where(Alert.severity == severity)
    return paginate(
        session, stmt, order=[Alert.starts_at, Alert.id], params=page, kind="alerts", to_public=AlertPublic.model_validate
    )


@router.get("/{alert_id}", operation_id="alerts-get", response_model=AlertPublic)
def get_alert(*, alert_id: str, session: SessionDep, principal: Reader) -> AlertPublic:
    return AlertPublic.model_validate(_get(session, principal, alert_id))


@router.post("/{alert_id}/ack", operation_id="alerts-ack", response_model=AlertPublic)
def ack_alert(*, alert_id: str, body: AckInput, rt: RuntimeDep, session: SessionDep, principal: Writer) -> AlertPublic:
    """Acknowledge: someone is on it (recorded with who and when)."""
    a = _get(session, principal, alert_id)
    if a.acked_at is not None and a.state == "firing":
        raise Problem(409, f"Already acknowledged by {a.acked_by}.")
    a.acked_by, a.acked_at = principal.user.username, utcnow()
    session.add(a)
    append_audit(
        session, actor=principal.actor, action="alert.ack", target_type="alert", target_id=a.id, change={"note": body.note}
    )
    session.commit()
    _publish(rt, "alert_acked", a)
    return AlertPublic.model_validate(a)


@router.post("/{alert_id}/assign", operation_id="alerts-assign", response_model=AlertPublic)
def assign_alert(*, alert_id: str, body: AssignInput, rt: RuntimeDep, session: SessionDep, principal: Writer) -> AlertPublic:
    a = _get(session, principal, alert_id)
    user = session.exec(select(User).where(User.username == body.assignee, User.tenant_id == principal.tenant_id)).first()
    if user is None or not user.is_active:
        raise Problem(422, f"No active user {body.assignee!r}.", errors=[{"field": "assignee", "message": "unknown user"}])
    a.assignee = user.username
    session.add(a)
    append_audit(
        session,
        actor=principal.actor,
        action="alert.assign",
        target_type="alert",
        target_id=a.id,
        change={"assignee": user.username},
    )
    session.commit()
    _publish(rt, "alert_assigned", a)
    return AlertPublic.model_validate(a)


async def _evaluate(rt: RuntimeDep, temporal: TemporalDep) -> EvaluationPublic:
    wid = f"alert-evaluation-{new_id()[:12]}"
    res: alertmod.EvaluationResult = await temporal.execute_workflow(
        "AlertEvaluatorWorkflow", id=wid, task_queue=rt.settings.control_task_queue, result_type=alertmod.EvaluationResult
    )
    return EvaluationPublic(workflow_id=wid, fired=res.fired, resolved=res.resolved, firing=res.firing)


@router.post("/evaluate", operation_id="alerts-evaluate", response_model=EvaluationPublic)
async def evaluate_now(*, rt: RuntimeDep, temporal: TemporalDep, principal: Writer) -> EvaluationPublic:
    """Run one evaluator tick now (the schedule runs it every MAESTRO_ALERT_EVAL_INTERVAL_SECONDS)."""
    return await _evaluate(rt, temporal)


@router.post("/synthetic", operation_id="alerts-synthetic", response_model=AlertPublic, status_code=201)
async def fire_synthetic(*, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Writer) -> AlertPublic:
    """Fire a synthetic alert through the same pipeline (stream, Alertmanager) to prove delivery."""
    nonce = secrets.token_hex(6)
    a = alertmod.synthetic(
        rt.engine, tenant_id=principal.tenant_id, nonce=nonce, actor=principal.actor, public_url=rt.settings.effective_public_url
    )
    append_audit(
        session, actor=principal.actor, action="alert.synthetic", target_type="alert", target_id=a.id, change={"nonce": nonce}
    )
    session.commit()
    _publish(rt, "alert_fired", a)
    await _evaluate(rt, temporal)  # delivers it (and everything firing) to Alertmanager now
    session.expire_all()
    fresh = session.get(Alert, a.id)
    return AlertPublic.model_validate(fresh or a)
