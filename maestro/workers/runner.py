"""`maestro runner --pool NAME`: executes steps from the task queue maestro-runner-NAME."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from temporalio.client import Client
from temporalio.worker import Worker

from maestro.activities.steps import StepActivities, disk_usage
from maestro.artifacts import make_store
from maestro.config import Settings
from maestro.db import get_engine
from maestro.sandbox import StepSandbox
from maestro.shared import runner_queue
from maestro.workers.control import serve


def make_sandbox(settings: Settings) -> StepSandbox:
    """The runner's step sandbox, checked and ready (raises SandboxUnavailable saying how to fix the host)."""
    sandbox = StepSandbox(
        isolation=settings.runner_isolation, step_user=settings.step_user, toolchains=settings.runner_toolchains
    )
    sandbox.start()
    sandbox.prime()
    return sandbox


def build_runner(client: Client, settings: Settings, sandbox: StepSandbox | None = None) -> Worker:
    steps = StepActivities(
        engine=get_engine(settings.effective_database_url),
        redis=Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2),
        workspace_dir=settings.effective_workspace_dir,
        store=make_store(settings),
        sandbox=sandbox or make_sandbox(settings),
        retention_minutes=settings.workspace_retention_minutes,
        artifact_max_bytes=settings.artifact_max_bytes,
        protected=[settings.effective_artifact_dir, settings.data_dir / "keys", settings.data_dir / "valkey"],
    )
    return Worker(
        client,
        task_queue=runner_queue(settings.runner_pool, settings.runner_queue_prefix),
        activities=[steps.resolve_source, steps.run_step],
        max_concurrent_activities=settings.runner_concurrency,
    )


async def run_runner(settings: Settings) -> None:
    sandbox = make_sandbox(settings)  # before connecting: a host that cannot sandbox steps serves none

    def factory(client: Client, s: Settings) -> Worker:
        return build_runner(client, s, sandbox)

    def details() -> dict[str, Any]:
        return {"workspaceBytes": disk_usage(settings.effective_workspace_dir), "isolation": settings.runner_isolation}

    await serve(factory, settings, f"runner[{settings.runner_pool}]", kind="runner", pool=settings.runner_pool, details=details)
