"""A small system workflow that proves API → Temporal → worker wiring and durability."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from maestro.activities.diagnostics import diagnostic_step
    from maestro.shared import DiagnosticsInput, DiagnosticsResult, DiagnosticStepInput, DiagnosticStepResult


@workflow.defn(name="DiagnosticsWorkflow")
class DiagnosticsWorkflow:
    def __init__(self) -> None:
        self._done = 0
        self._total = 0

    @workflow.run
    async def run(self, inp: DiagnosticsInput) -> DiagnosticsResult:
        self._total = inp.steps
        result = DiagnosticsResult(started_at=workflow.now().isoformat())
        for i in range(inp.steps):
            step: DiagnosticStepResult = await workflow.execute_activity(
                diagnostic_step,
                DiagnosticStepInput(index=i, seconds=inp.step_seconds),
                start_to_close_timeout=timedelta(seconds=max(30.0, inp.step_seconds * 4)),
                heartbeat_timeout=timedelta(seconds=2),
                retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=5),
            )
            result.steps.append(step)
            self._done = i + 1
        result.finished_at = workflow.now().isoformat()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result

    @workflow.query
    def get_progress(self) -> dict[str, int]:
        return {"done": self._done, "total": self._total}
