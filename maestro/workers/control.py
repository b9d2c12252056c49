from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from temporalio.client import Client
from temporalio.worker import Worker

from maestro.activities.diagnostics import diagnostic_step
from maestro.activities.evidence import EvidenceActivities
from maestro.activities.projection import ProjectionActivities
from maestro.activities.supply import SupplyActivities
from maestro.config import Settings
from maestro.db import get_engine
from maestro.finops.activities import BudgetActivities
from maestro.finops.ingest import gateway_usage_loop
from maestro.observability import liveness
from maestro.observability.alerts import AlertActivities
from maestro.rollouts.activities import RolloutActivities
from maestro.rollouts.sync import provider_sync
from maestro.temporal import connect
from maestro.workers.legacy import PositionalInputs
from maestro.workflows.alerts import AlertEvaluatorWorkflow
from maestro.workflows.budget import BudgetWorkflow
from maestro.workflows.diagnostics import DiagnosticsWorkflow
from maestro.workflows.evidence import EvidenceWorkflow
from maestro.workflows.rollout import RolloutWorkflow
from maestro.workflows.run import RunWorkflow

log = logging.getLogger("maestro.worker")

WORKFLOWS: list[Any] = [
    DiagnosticsWorkflow,
    RunWorkflow,
    AlertEvaluatorWorkflow,
    EvidenceWorkflow,
    RolloutWorkflow,
    BudgetWorkflow,
]


def build_worker(client: Client, settings: Settings) -> Worker:
    engine = get_engine(settings.effective_database_url)
    redis = Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2, socket_timeout=5)
    projection = ProjectionActivities(engine=engine, redis=redis, stream_maxlen=settings.stream_maxlen)
    alerts = AlertActivities(engine=engine, redis=redis, settings=settings)
    supply = SupplyActivities(engine=engine, settings=settings, redis=redis)
    evidence = EvidenceActivities(engine=engine, redis=redis, settings=settings)
    rollouts = RolloutActivities(engine=engine, redis=redis, settings=settings)
    budgets = BudgetActivities(engine=engine, redis=redis, settings=settings)
    return Worker(
        client,
        task_queue=settings.control_task_queue,
        workflows=WORKFLOWS,
        activities=[
            diagnostic_step,
            projection.project_batch,
            projection.audit_direct_action,
            projection.redeem_control_ticket,
            alerts.queue_backlogs,
            alerts.evaluate_alerts,
            alerts.push_alerts,
            alerts.push_pagerduty,
            supply.attest_run,
            supply.sign_artifacts,
            supply.policy_gate,
            evidence.fire_alert,
            evidence.build,
            evidence.failed,
            rollouts.apply,
            rollouts.measure,
            rollouts.project,
            rollouts.rolled_back,
            rollouts.stuck,
            rollouts.gate,
            budgets.budget_usage,
            budgets.budget_project,
            budgets.budget_downgrade,
            budgets.budget_close_period,
        ],
        activity_executor=_executor(),
        interceptors=[PositionalInputs()],
    )


def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=16)  # projection activities are sync (SQL + Redis)


async def serve(worker_factory, settings: Settings, what: str, *, kind: str, pool: str, details=None, loops=()) -> None:  # type: ignore[no-untyped-def]
    """Run a worker until SIGINT/SIGTERM, reporting liveness to Redis (maestro_workers_up) meanwhile;
    `loops` are background coroutines (`loop(settings, stop)`) run beside it until then."""
    client = await connect(settings, wait_seconds=60)
    worker = worker_factory(client, settings)
    if asyncio.iscoroutine(worker):
        worker = await worker
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("%s serving task queue %s on %s", what, worker.task_queue, settings.effective_temporal_address)
    redis = AsyncRedis.from_url(settings.effective_redis_url, socket_connect_timeout=2, socket_timeout=5)
    async with worker:
        beats = asyncio.create_task(
            liveness.heartbeat(
                redis,
                kind=kind,
                pool=pool,
                task_queue=worker.task_queue,
                interval=settings.worker_heartbeat_seconds,
                stop=stop,
                details=details,
            )
        )
        extra = [asyncio.create_task(loop_fn(settings, stop)) for loop_fn in loops]
        await stop.wait()
        log.info("%s stopping", what)
        await beats
        await asyncio.gather(*extra)
    await redis.aclose()


def evaluator_schedule_id(settings: Settings) -> str:
    return f"maestro-alert-evaluator-{settings.control_task_queue}"


async def ensure_evaluator_schedule(client: Client, settings: Settings) -> None:
    """The alert evaluator runs as a Temporal schedule; created once, its interval kept in step with settings."""
    from temporalio.client import (
        Schedule,
        ScheduleActionStartWorkflow,
        ScheduleIntervalSpec,
        ScheduleOverlapPolicy,
        SchedulePolicy,
        ScheduleSpec,
        ScheduleUpdate,
        ScheduleUpdateInput,
    )
    from temporalio.service import RPCError, RPCStatusCode

    sid = evaluator_schedule_id(settings)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow("AlertEvaluatorWorkflow", id=f"{sid}-tick", task_queue=settings.control_task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.alert_eval_interval_seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(sid, schedule)
    except RPCError as exc:
        if exc.status != RPCStatusCode.ALREADY_EXISTS:
            raise

        def update(_inp: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(sid).update(update)
    except Exception as exc:  # older servers raise a generic error for duplicates
        if "already" not in str(exc).lower():
            raise


async def run_worker(settings: Settings) -> None:
    async def factory(client: Client, s: Settings) -> Worker:
        await ensure_evaluator_schedule(client, s)
        return build_worker(client, s)

    await serve(
        factory, settings, "worker", kind="worker", pool=settings.control_task_queue, loops=[provider_sync, gateway_usage_loop]
    )
