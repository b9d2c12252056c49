"""What every control update of a workflow does first: prove who sent it (see maestro.domain.tickets)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from maestro.activities.projection import ProjectionActivities
    from maestro.shared import Redeemed, RedeemInput

TICKETS_PATCH = "control-tickets-v1"
NO_TICKET = (
    "a control ticket is required: get one for this workflow and action with `maestro runs ticket RUN ACTION`, "
    "`maestro rollout ticket ID ACTION` or POST /api/runs/{id}/tickets (/api/rollouts/{id}/tickets), and pass it "
    'as "ticket" in the update input'
)


def require_ticket(ticket: str) -> None:
    """Validator check: an update without a ticket is refused before it enters the history."""
    if not ticket:
        raise ApplicationError(NO_TICKET, type="InvalidTicket")


async def redeem(ticket: str, action: str) -> Redeemed | None:
    """Verify and use up the ticket on the control worker; None for histories from before tickets existed."""
    if not workflow.patched(TICKETS_PATCH):
        return None
    try:
        return await workflow.execute_local_activity_method(
            ProjectionActivities.redeem_control_ticket,
            RedeemInput(ticket=ticket, workflow_id=workflow.info().workflow_id, action=action),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=5, non_retryable_error_types=["InvalidTicket"]),
        )
    except ActivityError as exc:
        cause = exc.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(exc)
        raise ApplicationError(f"control refused: {reason}", type="InvalidTicket") from None
