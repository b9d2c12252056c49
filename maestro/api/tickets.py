"""Minting control tickets for the API's own controls and for users who drive workflows through Temporal."""

from __future__ import annotations

import asyncio
import json
import shlex
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlmodel import Session
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.client import WorkflowHandle, WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateStage

from maestro.api.deps import Runtime
from maestro.api.health import pollers
from maestro.api.problems import Problem
from maestro.api.schemas import TicketPublic
from maestro.domain import tickets
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal

T = TypeVar("T")
CONTROL_ACCEPT_SECONDS = 8.0


def for_api(rt: Runtime, principal: Principal, workflow_id: str, action: str) -> tuple[str, str]:
    """A ticket for a control the API sends itself (and audits itself): used at once, expires in a minute.
    Returns the ticket and its id (to withdraw it when the control cannot be delivered)."""
    token, claims = tickets.issue(
        rt.settings, rt.engine, workflow_id=workflow_id, action=action, actor=principal.actor, via="api", ttl_seconds=60
    )
    return token, claims.jti


async def send_control(
    rt: Runtime, handle: WorkflowHandle[Any, Any], action: str, arg: Any, *, result_type: type[T], jti: str
) -> T:
    """Send a control update and fail fast when no control worker takes it: the workflow must accept it within
    CONTROL_ACCEPT_SECONDS (acceptance needs a worker), else its ticket is withdrawn and the caller gets a 503
    naming what is missing. Once accepted, the control runs to its end (a rollback waits for its traffic)."""
    try:
        update = await asyncio.wait_for(
            handle.start_update(action, arg, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=result_type),
            CONTROL_ACCEPT_SECONDS,
        )
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        await asyncio.to_thread(tickets.revoke, rt.engine, jti)  # a late delivery is refused, never acted on
        queue = rt.settings.control_task_queue
        try:
            polling, _ = await pollers(rt, queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
        except Exception:
            polling = 0
        if polling == 0:
            raise Problem(
                503,
                f"No control worker is running: nothing polls task queue {queue}, so the {action} was not delivered.",
                remediation="Start `maestro worker` (maestro up restarts it by itself), then retry.",
                headers={"Retry-After": "5"},
            ) from None
        raise Problem(
            503,
            f"The control worker did not take the {action} within {CONTROL_ACCEPT_SECONDS:.0f} s (it may be overloaded);"
            " the control was withdrawn.",
            remediation="Retry in a moment; GET /api/ready lists the workers.",
            headers={"Retry-After": "5"},
        ) from None
    result: T = await update.result()
    return result


def for_user(
    rt: Runtime,
    session: Session,
    principal: Principal,
    *,
    target_type: str,
    target_id: str,
    workflow_id: str,
    action: str,
    ttl_seconds: int,
    finished: str | None = None,
) -> TicketPublic:
    """A ticket a user passes to `temporal workflow update`; minting it is audited. `finished`: the target's
    status when it has finished (no control applies any more: 409)."""
    if finished:
        raise Problem(
            409,
            f"The {target_type} is {finished}; {action} applies to running {target_type}s only.",
            errors=[{"field": "action", "message": f"the {target_type} has finished"}],
        )
    token, claims = tickets.issue(
        rt.settings,
        rt.engine,
        workflow_id=workflow_id,
        action=action,
        actor=principal.actor,
        via="temporal",
        ttl_seconds=ttl_seconds,
    )
    expires = datetime.fromtimestamp(claims.exp, UTC)
    append_audit(
        session,
        actor=principal.actor,
        action=f"{target_type}.ticket",
        target_type=target_type,
        target_id=target_id,
        change={"action": action, "expiresAt": expires.isoformat(), "jti": claims.jti},
    )
    session.commit()
    body = json.dumps({"ticket": token, "reason": ""})
    command = shlex.join(
        ["temporal", "workflow", "update", "execute", "--workflow-id", workflow_id, "--name", action, "--input", body]
    )
    return TicketPublic(
        ticket=token, workflow_id=workflow_id, action=action, actor=principal.actor, expires_at=expires, command=command
    )
