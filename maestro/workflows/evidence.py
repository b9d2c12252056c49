"""EvidenceWorkflow: a run's witness bundle, durable (a killed worker resumes it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError


@workflow.defn(name="EvidenceWorkflow")
class EvidenceWorkflow:
    @workflow.run
    async def run(self, bundle_id: str) -> str:
        try:
            nonce: str = await workflow.execute_activity(
                "evidence_fire_alert",
                bundle_id,
                result_type=str,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
            # the alert pipeline's own tick delivers it (Alertmanager, PagerDuty) before the build looks
            await workflow.execute_child_workflow(
                "AlertEvaluatorWorkflow", id=f"{workflow.info().workflow_id}-alerts", task_queue=workflow.info().task_queue
            )
            return await workflow.execute_activity(  # type: ignore[no-any-return]
                "evidence_build",
                args=[bundle_id, nonce],
                result_type=str,
                start_to_close_timeout=timedelta(minutes=15),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except (ActivityError, ChildWorkflowError) as exc:
            cause = exc.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            await workflow.execute_activity(
                "evidence_failed",
                args=[bundle_id, message],
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=10),
            )
            raise
