"""`maestro runner --pool NAME`: executes steps from the task queue maestro-runner-NAME."""

from __future__ import annotations

from redis.asyncio import Redis
from temporalio.client import Client
from temporalio.worker import Worker

from maestro.activities.steps import StepActivities
from maestro.artifacts import make_store
from maestro.config import Settings
from maestro.db import get_engine
from maestro.shared import runner_queue
from maestro.workers.control import serve


def build_runner(client: Client, settings: Settings) -> Worker:
    steps = StepActivities(
        engine=get_engine(settings.effective_database_url),
        redis=Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2),
        workspace_dir=settings.effective_workspace_dir,
        store=make_store(settings),
    )
    return Worker(
        client,
        task_queue=runner_queue(settings.runner_pool, settings.runner_queue_prefix),
        activities=[steps.resolve_source, steps.run_step],
        max_concurrent_activities=settings.runner_concurrency,
    )


async def run_runner(settings: Settings) -> None:
    await serve(build_runner, settings, f"runner[{settings.runner_pool}]", kind="runner", pool=settings.runner_pool)
