"""Budgets on the control side: creating one (its row and its BudgetWorkflow), and admission — every
path that spends asks here first; a frozen budget refuses, a slowed-down one hands out its workflow so
the run waits for a permit."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from maestro.config import Settings
from maestro.domain.auditlog import append_audit, publish_audit_with
from maestro.domain.finops import Budget
from maestro.domain.types import utcnow
from maestro.events.streams import audit_publisher
from maestro.finops.activities import add_note, publish_budget_event
from maestro.finops.budgets import BudgetCreate, covers, period_bounds
from maestro.finops.shared import BudgetInput, BudgetNote

log = logging.getLogger("maestro.finops")

PROBLEM_TYPE = "https://maestro.dev/problems/budget-frozen"


class BudgetFrozen(Exception):
    """A spend was refused: these budgets covering it are frozen."""

    def __init__(self, budgets: list[Budget], what: str) -> None:
        self.budgets = budgets
        self.what = what
        b = budgets[0]
        scope = ", ".join(f"{k} {v}" for k, v in b.scope.items() if v) or "the whole tenant"
        super().__init__(
            f"Budget {b.name!r} is frozen ({b.frozen_reason or 'no reason given'}): {what} in its scope ({scope}) is refused "
            "until it is unfrozen."
        )


@dataclass
class Admission:
    """What the budgets covering a spend say: the slowed-down ones' workflows grant permits."""

    permit_from: list[str] = field(default_factory=list)
    slowed: list[str] = field(default_factory=list)  # names


def covering(session: Session, *, tenant_id: str, dims: dict[str, str]) -> list[Budget]:
    return [b for b in session.exec(select(Budget).where(Budget.tenant_id == tenant_id)).all() if covers(dict(b.scope), dims)]


def admit(session: Session, *, tenant_id: str, dims: dict[str, str], what: str) -> Admission:
    """Raise BudgetFrozen when a budget covering this spend is frozen; else name the slowed-down ones."""
    budgets = covering(session, tenant_id=tenant_id, dims=dims)
    frozen = [b for b in budgets if b.frozen]
    if frozen:
        raise BudgetFrozen(frozen, what)
    slowed = [b for b in budgets if b.slowed]
    return Admission(permit_from=[b.workflow_id for b in slowed], slowed=[b.name for b in slowed])


def record_refusal(engine: Engine, redis: Redis | None, exc: BudgetFrozen, *, actor: str, path: str, maxlen: int) -> None:
    """Every refusal goes into the audit log and each frozen budget's history (its own transaction: the
    refused request itself writes nothing)."""
    try:
        with Session(engine, expire_on_commit=False) as s:
            if redis is not None:
                publish_audit_with(s, audit_publisher(redis, maxlen))
            notes = []
            for b in exc.budgets:
                note = BudgetNote(kind="refused", actor=actor, reason=f"{exc.what} refused: frozen", detail={"path": path})
                add_note(s, b.id, note, None)
                append_audit(
                    s,
                    actor=actor,
                    action="budget.refused",
                    target_type="budget",
                    target_id=b.id,
                    change={"what": exc.what, "path": path, "budget": b.name},
                )
                notes.append((b, note))
            s.commit()
        if redis is not None:
            for b, note in notes:
                publish_budget_event(redis, "budget_refused", b, note, maxlen)
    except Exception:
        log.warning("a budget refusal could not be recorded", exc_info=True)


def workflow_id_for(budget_id: str) -> str:
    return f"budget-{budget_id}"


async def start_budget(
    *, session: Session, temporal: Client, settings: Settings, tenant_id: str, actor: str, body: BudgetCreate
) -> Budget:
    """The budget's row (audited) and its BudgetWorkflow for the current calendar period. A workflow that
    cannot start leaves no row behind."""
    start, end = period_bounds(body.period, utcnow())
    b = Budget(
        tenant_id=tenant_id,
        name=body.name,
        description=body.description,
        tier=body.tier,
        scope=body.scope.dims(),
        period=body.period,
        cap_usd=body.cap_usd,
        cap_tokens=body.cap_tokens,
        thresholds=list(body.thresholds or []),
        actions=[a.model_dump(by_alias=True) for a in body.actions or []],
        forecast_downgrade=bool(body.forecast_downgrade),
        workflow_id="",
        period_start=start,
        period_end=end,
        created_by=actor,
    )
    b.workflow_id = workflow_id_for(b.id)
    session.add(b)
    add_note(
        session,
        b.id,
        BudgetNote(
            kind="created", actor=actor, reason=body.description or "created", detail=body.model_dump(by_alias=True, mode="json")
        ),
        "created",
    )
    append_audit(
        session,
        actor=actor,
        action="budget.create",
        target_type="budget",
        target_id=b.id,
        change=body.model_dump(by_alias=True, mode="json"),
    )
    session.commit()
    try:
        await temporal.start_workflow(
            "BudgetWorkflow",
            BudgetInput(
                budget_id=b.id,
                period_start=start.isoformat(),
                period_end=end.isoformat(),
                tick_seconds=settings.budget_tick_seconds,
            ),
            id=b.workflow_id,
            task_queue=settings.control_task_queue,
        )
    except Exception:
        from maestro.domain.finops import BudgetEvent

        for e in session.exec(select(BudgetEvent).where(BudgetEvent.budget_id == b.id)).all():
            session.delete(e)
        session.delete(b)
        append_audit(
            session, actor=actor, action="budget.create-failed", target_type="budget", target_id=b.id, change={"name": b.name}
        )
        session.commit()
        raise
    return b


def dims_of_run(session: Session, *, tenant_id: str, env: str, pipeline: str) -> dict[str, Any]:
    from maestro.finops.ledger import project_of

    return {"env": env, "pipeline": pipeline, "project": project_of(session, tenant_id=tenant_id, env=env)}
