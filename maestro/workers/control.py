from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from redis import Redis
from temporalio.client import Client
from temporalio.worker import Worker

from maestro.activities.diagnostics import diagnostic_step
from maestro.activities.projection import ProjectionActivities
from maestro.config import Settings
from maestro.db import get_engine
from maestro.temporal import connect
from maestro.workflows.diagnostics import DiagnosticsWorkflow
from maestro.workflows.run import RunWorkflow

log = logging.getLogger("maestro.worker")

WORKFLOWS: list[Any] = [DiagnosticsWorkflow, RunWorkflow]


def build_worker(client: Client, settings: Settings) -> Worker:
    projection = ProjectionActivities(
        engine=get_engine(settings.effective_database_url),
        redis=Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2, socket_timeout=5),
        stream_maxlen=settings.stream_maxlen,
    )
    return Worker(
        client,
        task_queue=settings.control_task_queue,
        workflows=WORKFLOWS,
        activities=[diagnostic_step, projection.project_batch],
        activity_executor=_executor(),
    )


def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=16)  # projection activities are sync (SQL + Redis)


async def serve(worker_factory, settings: Settings, what: str) -> None:  # type: ignore[no-untyped-def]
    client = await connect(settings, wait_seconds=60)
    worker = worker_factory(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("%s serving task queue %s on %s", what, worker.task_queue, settings.effective_temporal_address)
    async with worker:
        await stop.wait()
        log.info("%s stopping", what)


async def run_worker(settings: Settings) -> None:
    await serve(build_worker, settings, "worker")
