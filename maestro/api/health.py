"""Readiness checks of the three dependencies, shared by /api/ready and the live status stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from maestro.api.deps import Runtime
from maestro.events.payloads import CheckPublic, ReadyPublic, WorkerQueuePublic
from maestro.observability import liveness
from maestro.shared import runner_queue

CHECK_TIMEOUT = 2.0
# A polling worker re-polls at least every ~70 s (long polls last up to a minute); older means gone or full.
POLL_FRESH_SECONDS = 75.0


async def _timed(fn: Callable[[], Awaitable[Any]]) -> CheckPublic:
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(fn(), CHECK_TIMEOUT)
    except Exception as exc:  # each dependency's failure is reported, never raised
        msg = str(exc) or type(exc).__name__
        return CheckPublic(status="down", latency_ms=round((time.perf_counter() - t0) * 1000, 2), error=msg[:300])
    return CheckPublic(status="up", latency_ms=round((time.perf_counter() - t0) * 1000, 2))


async def readiness(rt: Runtime) -> ReadyPublic:
    async def temporal() -> None:
        client = await rt.temporal()
        ok = await client.service_client.check_health()
        if not ok:
            raise RuntimeError("Temporal reports not serving")

    async def redis() -> None:
        await rt.redis.ping()

    def _db() -> None:
        with rt.engine.connect() as c:
            c.execute(text("SELECT 1"))

    async def db() -> None:
        await asyncio.to_thread(_db)

    t, r, d = await asyncio.gather(_timed(temporal), _timed(redis), _timed(db))
    checks = {"temporal": t, "redis": r, "db": d}
    status = "ok" if all(c.status == "up" for c in checks.values()) else "degraded"
    try:
        workers = await asyncio.wait_for(worker_health(rt), CHECK_TIMEOUT * 2) if t.status == "up" else []
    except Exception:  # details only: the API's own readiness does not depend on them
        workers = []
    return ReadyPublic(status=status, checks=checks, workers=workers)


async def pollers(rt: Runtime, task_queue: str, kind: TaskQueueType.ValueType) -> tuple[int, float | None]:
    """How many pollers Temporal saw recently on a queue, and when the latest polled (epoch seconds)."""
    client = await rt.temporal()
    resp = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=rt.settings.temporal_namespace, task_queue=TaskQueue(name=task_queue), task_queue_type=kind
        )
    )
    now = time.time()
    seen = [p.last_access_time.ToDatetime().timestamp() for p in resp.pollers if p.HasField("last_access_time")]
    fresh = [ts for ts in seen if now - ts <= POLL_FRESH_SECONDS]
    return len(fresh), max(seen) if seen else None


async def worker_health(rt: Runtime) -> list[WorkerQueuePublic]:
    """The control worker and every runner pool in use, from Temporal's pollers and the processes' heartbeats."""
    settings = rt.settings
    beats = await asyncio.to_thread(liveness.live, rt.redis_sync)
    pools = {"default"} | {b.pool for b in beats if b.kind == "runner"}
    targets = [("worker", settings.control_task_queue, settings.control_task_queue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)]
    targets += [
        ("runner", p, runner_queue(p, settings.runner_queue_prefix), TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)
        for p in sorted(pools)
    ]
    found = await asyncio.gather(*(pollers(rt, q, k) for _, _, q, k in targets))
    out: list[WorkerQueuePublic] = []
    for (kind, pool, queue, _), (n, last) in zip(targets, found, strict=True):
        mine = [b for b in beats if b.kind == kind and b.pool == pool]
        up = n > 0 or bool(mine)
        what = (
            "control worker (maestro worker)" if kind == "worker" else f"runner of pool {pool!r} (maestro runner --pool {pool})"
        )
        used = [int(b.details.get("workspaceBytes", 0)) for b in mine if "workspaceBytes" in b.details]
        out.append(
            WorkerQueuePublic(
                kind=kind,  # type: ignore[arg-type]
                pool=pool,
                task_queue=queue,
                status="up" if up else "down",
                pollers=n,
                last_poll_at=datetime.fromtimestamp(last, UTC) if last else None,
                processes=len(mine),
                workspace_bytes=sum(used) if used else None,
                message="" if up else f"no {what} is polling task queue {queue}: start one",
            )
        )
    return out
