"""EvidenceWorkflow: a run's witness bundle, durable (a killed worker resumes it)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from maestro.activities.evidence import EvidenceActivities
    from maestro.shared import BuildEvidenceInput, EvidenceFailedInput, EvidenceInput
    from maestro.workflows.alerts import AlertEvaluatorWorkflow


@workflow.defn(name="EvidenceWorkflow")
class EvidenceWorkflow:
    @workflow.run
    async def run(self, inp: EvidenceInput | str) -> str:
        # a bare bundle id: a workflow started before EvidenceInput, whose history holds that payload
        bundle_id = inp if isinstance(inp, str) else inp.bundle_id
        try:
            nonce = await workflow.execute_activity_method(
                EvidenceActivities.fire_alert,
                EvidenceInput(bundle_id=bundle_id),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
            # the alert pipeline's own tick delivers it (Alertmanager, PagerDuty) before the build looks
            await workflow.execute_child_workflow(
                AlertEvaluatorWorkflow.run, id=f"{workflow.info().workflow_id}-alerts", task_queue=workflow.info().task_queue
            )
            return await workflow.execute_activity_method(
                EvidenceActivities.build,
                BuildEvidenceInput(bundle_id=bundle_id, nonce=nonce),
                start_to_close_timeout=timedelta(minutes=15),
                heartbeat_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except (ActivityError, ChildWorkflowError) as exc:
            cause = exc.cause
            message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
            await workflow.execute_activity_method(
                EvidenceActivities.failed,
                EvidenceFailedInput(bundle_id=bundle_id, error=message),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=10),
            )
            raise
