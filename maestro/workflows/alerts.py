"""AlertEvaluatorWorkflow: one evaluation tick, started by a Temporal schedule (or on demand)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from maestro.observability.alerts import PUSH_ATTEMPTS, EvaluationResult


@workflow.defn(name="AlertEvaluatorWorkflow")
class AlertEvaluatorWorkflow:
    @workflow.run
    async def run(self) -> EvaluationResult:
        result: EvaluationResult = await workflow.execute_activity(
            "evaluate_alerts",
            result_type=EvaluationResult,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        # delivery retries quickly and then gives up for this tick: a dead Alertmanager never
        # holds up evaluation (the failure is recorded on the alerts; the next tick tries again)
        await workflow.execute_activity(
            "push_alerts",
            result_type=int,
            start_to_close_timeout=timedelta(seconds=15),
            retry_policy=RetryPolicy(
                maximum_attempts=PUSH_ATTEMPTS,
                initial_interval=timedelta(milliseconds=500),
                maximum_interval=timedelta(seconds=2),
            ),
        )
        return result
