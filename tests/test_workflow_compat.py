"""Workflows and activities stay compatible with what Temporal already holds: activity tasks scheduled
with the old positional arguments still run (and recorded histories replay, see test_histories_replay)."""

from __future__ import annotations

import asyncio
import uuid

from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.worker import Worker

from maestro.config import Settings
from maestro.domain.models import Tenant
from maestro.domain.supply import EvidenceBundle
from tests.factories import make_runs
from tests.legacy_workflows import PositionalCall, PositionalCallWorkflow


def test_an_activity_task_scheduled_with_old_positional_arguments_still_runs(workers: Settings, engine) -> None:  # type: ignore[no-untyped-def]
    """evidence_failed took (bundle_id, error) before EvidenceFailedInput: a task scheduled so by a workflow
    of the previous release (still queued, or retried, when the new worker starts) is carried out."""
    (run_id,) = make_runs(engine, ["dev"])
    with Session(engine) as s:
        tenant = s.exec(select(Tenant).where(Tenant.slug == "default")).one()
        bundle = EvidenceBundle(tenant_id=tenant.id, run_id=run_id, workflow_id="evidence-legacy", created_by="test")
        s.add(bundle)
        s.commit()
        bundle_id = bundle.id

    async def call() -> None:
        client = await Client.connect(workers.effective_temporal_address, namespace=workers.temporal_namespace)
        queue = f"legacy-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[PositionalCallWorkflow]):
            await client.execute_workflow(
                PositionalCallWorkflow.run,
                PositionalCall(activity="evidence_failed", task_queue=workers.control_task_queue, args=[bundle_id, "disk full"]),
                id=f"legacy-{uuid.uuid4().hex[:8]}",
                task_queue=queue,
            )

    asyncio.run(call())
    with Session(engine) as s:
        b = s.get(EvidenceBundle, bundle_id)
        assert b is not None and (b.status, b.error) == ("failed", "disk full")
