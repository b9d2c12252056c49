"""Activity tasks scheduled by workflow code from before an activity took one input dataclass.

Such a task (still queued, or retried, when the new worker starts) carries the old positional
payloads. Temporal's SDK decodes a task whose payload count differs from the activity's parameters
without type hints, so it arrives here as plain values; they are turned into the input dataclass,
whose fields are in the old positional order. Remove an entry once no workflow started before its
change can still schedule it (the evidence and rollout workflows of that release have finished).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from maestro.rollouts.types import RolledBackInput
from maestro.shared import BuildEvidenceInput, EvidenceFailedInput

POSITIONAL_INPUTS: dict[str, type[Any]] = {
    "evidence_build": BuildEvidenceInput,  # (bundle_id, nonce)
    "evidence_failed": EvidenceFailedInput,  # (bundle_id, error)
    "rollout_rolled_back": RolledBackInput,  # (rollout_id, reason)
}


class PositionalInputs(Interceptor):
    """Worker interceptor: old positional activity payloads become the activity's input dataclass."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next)


class _Inbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        cls = POSITIONAL_INPUTS.get(activity.info().activity_type)
        if cls is not None and len(input.args) == len(dataclasses.fields(cls)) > 1:
            input = dataclasses.replace(input, args=[cls(*input.args)])
        return await self.next.execute_activity(input)
