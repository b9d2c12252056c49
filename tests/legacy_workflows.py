"""A workflow that schedules an activity the way workflow code from before single-input activities did
(positional arguments): tests of what the control worker does with such a task. In its own module, as
Temporal's sandbox requires."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy


@dataclass
class PositionalCall:
    activity: str
    task_queue: str
    args: list[Any] = field(default_factory=list)


@workflow.defn(name="PositionalCallWorkflow")
class PositionalCallWorkflow:
    @workflow.run
    async def run(self, call: PositionalCall) -> None:
        await workflow.execute_activity(
            call.activity,
            args=call.args,
            task_queue=call.task_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
