"""Workflows and activities stay compatible with what Temporal already holds: activity tasks scheduled
with the old positional arguments still run, and every recorded history (tests/data/histories: from the
commit before each `workflow.patched()` and from today's code) replays against the current workflows."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer, Worker

from maestro.config import Settings
from maestro.domain.models import Tenant
from maestro.domain.supply import EvidenceBundle
from maestro.workers.control import WORKFLOWS
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


HISTORIES = Path(__file__).parent / "data" / "histories"
MANIFEST: dict[str, dict[str, Any]] = json.loads((HISTORIES / "manifest.json").read_text())
WORKFLOWS_DIR = Path(__file__).resolve().parents[1] / "maestro" / "workflows"


def patch_ids() -> set[str]:
    """Every id passed to workflow.patched() in maestro/workflows, literal or through a module constant."""
    found: set[str] = set()
    for path in WORKFLOWS_DIR.glob("*.py"):
        src = path.read_text()
        consts = dict(re.findall(r'^(\w+) = "([^"]+)"', src, re.M))
        for arg in re.findall(r"patched\(([^)]+)\)", src):
            found.add(arg.strip('"') if arg.startswith('"') else consts[arg])
    return found


def patch_markers(history: dict[str, Any]) -> set[str]:
    out = set()
    for e in history["events"]:
        attrs = e.get("markerRecordedEventAttributes")
        if attrs and attrs["markerName"] == "core_patch":
            for p in attrs["details"]["patch-data"]["payloads"]:
                out.add(json.loads(base64.b64decode(p["data"]))["id"])
    return out


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_a_recorded_history_replays_against_the_current_workflows(name: str) -> None:
    """A history Temporal holds replays with today's code: no branch a patch guards was removed and no
    command moved (each file's entry in manifest.json says where it was recorded and what it covers)."""
    entry = MANIFEST[name]
    raw = (HISTORIES / f"{name}.json").read_text()
    history = WorkflowHistory.from_json(entry["workflow_id"], raw)
    asyncio.run(Replayer(workflows=WORKFLOWS).replay_workflow(history))
    markers = patch_markers(json.loads(raw))
    assert set(entry["patches_new_branch"]) <= markers and not set(entry["patches_old_branch"]) & markers, markers


def test_the_histories_cover_both_branches_of_every_patch_and_every_workflow() -> None:
    """A new patched() needs a history from the commit before it (scripts/record_histories.py)."""
    old = {p for e in MANIFEST.values() for p in e["patches_old_branch"]}
    new = {p for e in MANIFEST.values() for p in e["patches_new_branch"]}
    patches = patch_ids()
    assert patches >= {"provenance-v1", "control-tickets-v1", "native-cancel-v1"}  # the search finds them
    assert (patches - old, patches - new) == (set(), set())
    assert {w.__temporal_workflow_definition.name for w in WORKFLOWS} == {e["workflow_type"] for e in MANIFEST.values()}
