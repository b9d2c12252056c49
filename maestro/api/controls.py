"""Controls the API sends to workflows (Temporal updates: run cancel/pause/approve…, rollout pause/promote…), and
what goes wrong with them as problem+json — one place for every route:

- the workflow refuses (its validator or handler raises ApplicationError): 409 carrying the workflow's message;
- the workflow takes no such update any more (finished, gone): 409;
- Temporal is unreachable, or no worker accepts the control in time: 503 with the remedy. The control's
  single-use ticket is withdrawn first, so a late delivery is refused, never acted on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from maestro.api import tickets
from maestro.api.deps import Runtime
from maestro.api.health import pollers
from maestro.api.problems import Problem
from maestro.domain import tickets as ticket_store
from maestro.domain.identity import Principal

T = TypeVar("T")
POLLERS_CHECK_SECONDS = 3.0  # asking Temporal who polls the control queue, after a control was not accepted
RETRY_AFTER = {"Retry-After": "5"}
# the workflow is there (or was) but takes no such update: a conflict with its state, not an outage
_NOT_ACCEPTED = {
    RPCStatusCode.NOT_FOUND,
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.INVALID_ARGUMENT,
    RPCStatusCode.ALREADY_EXISTS,
}


async def execute_control(
    rt: Runtime,
    temporal: Client,
    principal: Principal,
    *,
    target: str,
    workflow_id: str,
    action: str,
    arg: Callable[[str], Any],
    result_type: type[T],
) -> T:
    """Send update `action` to the workflow of a `target` ("run", "rollout") with `arg(ticket)` as its input (a
    single-use control ticket minted for it) and return the workflow's result. The workflow must accept it within
    `control_accept_seconds` (acceptance needs a worker); once accepted, the control runs to its end (a rollback
    waits for its traffic). Raises Problem 409 or 503 as the module says."""
    ticket, jti = tickets.for_api(rt, principal, workflow_id, action)
    handle = temporal.get_workflow_handle(workflow_id)
    try:
        update: WorkflowUpdateHandle[T] = await asyncio.wait_for(
            handle.start_update(action, arg(ticket), wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=result_type),
            rt.settings.control_accept_seconds,
        )
    except WorkflowUpdateFailedError as exc:
        raise _refused(exc, target) from exc
    except RPCError as exc:
        if exc.status in _NOT_ACCEPTED:
            raise _not_accepted(exc, target, action) from exc
        await _withdraw(rt, jti)
        raise _unreachable(rt, action, exc.message) from exc
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        await _withdraw(rt, jti)
        raise await _not_taken(rt, action) from None
    try:
        result: T = await update.result()
    except WorkflowUpdateFailedError as exc:
        raise _refused(exc, target) from exc
    except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as exc:
        why = exc.message if isinstance(exc, RPCError) else "the wait for it timed out"
        raise Problem(
            503,
            f"The {action} was accepted, but its outcome could not be read from Temporal: {why}",
            remediation=f"Reload the {target} to see whether it took effect; GET /api/ready shows Temporal's state.",
            headers=RETRY_AFTER,
        ) from exc
    return result


def _refused(exc: WorkflowUpdateFailedError, target: str) -> Problem:
    cause = exc.cause
    msg = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
    return Problem(409, f"Refused: {msg}.", remediation=f"Reload the {target} to see its current state.")


def _not_accepted(exc: RPCError, target: str, action: str) -> Problem:
    return Problem(
        409,
        f"The {target}'s workflow does not accept {action}: {exc.message}",
        remediation=f"Reload the {target}: its workflow may have finished.",
    )


def _unreachable(rt: Runtime, action: str, why: str) -> Problem:
    address = rt.settings.effective_temporal_address
    return Problem(
        503,
        f"Temporal is not reachable at {address}, so the {action} was not delivered: {why}",
        remediation="Start Temporal (`maestro up` runs the embedded server) or fix MAESTRO_TEMPORAL_ADDRESS, then retry; "
        "GET /api/ready shows Temporal's state.",
        headers=RETRY_AFTER,
    )


async def _withdraw(rt: Runtime, jti: str) -> None:
    await asyncio.to_thread(ticket_store.revoke, rt.engine, jti)


async def _not_taken(rt: Runtime, action: str) -> Problem:
    """Nobody accepted the control in time: say whether a control worker polls at all."""
    queue = rt.settings.control_task_queue
    try:
        polling, _ = await asyncio.wait_for(pollers(rt, queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW), POLLERS_CHECK_SECONDS)
    except (RPCError, TimeoutError) as exc:
        return _unreachable(rt, action, str(exc) or "no answer")
    if polling == 0:
        return Problem(
            503,
            f"No control worker is running: nothing polls task queue {queue}, so the {action} was not delivered.",
            remediation="Start `maestro worker` (maestro up restarts it by itself), then retry.",
            headers=RETRY_AFTER,
        )
    return Problem(
        503,
        f"The control worker did not take the {action} within {rt.settings.control_accept_seconds:g} s (it may be "
        "overloaded); the control was withdrawn.",
        remediation="Retry in a moment; GET /api/ready lists the workers.",
        headers=RETRY_AFTER,
    )
