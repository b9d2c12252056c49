"""AlertEvaluatorWorkflow: one evaluation tick, started by a Temporal schedule (or on demand)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from maestro.observability.alerts import PUSH_ATTEMPTS, AlertActivities, EvaluationInput, EvaluationResult, QueueBacklog

# delivery retries quickly and then gives up for this tick: a dead Alertmanager or PagerDuty never
# holds up evaluation (the failure is recorded on the alerts; the next tick tries again)
PUSH_RETRY = RetryPolicy(
    maximum_attempts=PUSH_ATTEMPTS, initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(seconds=2)
)


@workflow.defn(name="AlertEvaluatorWorkflow")
class AlertEvaluatorWorkflow:
    @workflow.run
    async def run(self) -> EvaluationResult:
        queues: list[QueueBacklog] | None = None
        try:
            queues = await workflow.execute_activity_method(
                AlertActivities.queue_backlogs,
                start_to_close_timeout=timedelta(seconds=20),
                retry_policy=RetryPolicy(maximum_attempts=2),
            )
        except ActivityError:
            workflow.logger.warning("runner queue backlog unavailable this tick; queue alerts keep their state")
        result: EvaluationResult = await workflow.execute_activity_method(
            AlertActivities.evaluate_alerts,
            EvaluationInput(queues=queues),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        await asyncio.gather(
            workflow.execute_activity_method(
                AlertActivities.push_alerts, start_to_close_timeout=timedelta(seconds=15), retry_policy=PUSH_RETRY
            ),
            workflow.execute_activity_method(
                AlertActivities.push_pagerduty, start_to_close_timeout=timedelta(seconds=60), retry_policy=PUSH_RETRY
            ),
        )
        return result
