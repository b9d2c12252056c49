from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.client import Client
from temporalio.worker import Worker

from maestro.activities.diagnostics import diagnostic_step
from maestro.config import Settings
from maestro.temporal import connect
from maestro.workflows.diagnostics import DiagnosticsWorkflow

log = logging.getLogger("maestro.worker")

WORKFLOWS = [DiagnosticsWorkflow]
ACTIVITIES = [diagnostic_step]


def build_worker(client: Client, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=WORKFLOWS, activities=ACTIVITIES)


async def run_worker(settings: Settings) -> None:
    client = await connect(settings, wait_seconds=60)
    worker = build_worker(client, settings.control_task_queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker serving task queue %s on %s", settings.control_task_queue, settings.effective_temporal_address)
    async with worker:
        await stop.wait()
        log.info("worker stopping")
