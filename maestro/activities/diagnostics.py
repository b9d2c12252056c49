from __future__ import annotations

import asyncio
import os
import socket

from temporalio import activity

from maestro.shared import DiagnosticStepInput, DiagnosticStepResult


@activity.defn(name="diagnostic_step")
async def diagnostic_step(inp: DiagnosticStepInput) -> DiagnosticStepResult:
    """Sleep in small slices, heartbeating, and report which worker ran it."""
    remaining = inp.seconds
    while remaining > 0:
        activity.heartbeat(inp.index)
        slice_ = min(remaining, 0.25)
        await asyncio.sleep(slice_)
        remaining -= slice_
    return DiagnosticStepResult(
        index=inp.index, worker_pid=os.getpid(), worker_host=socket.gethostname(), attempt=activity.info().attempt
    )
