"""Scenarios that scripts/record_histories.py copies into a checkout's tests/ (as
test_zz_history_scenarios.py) and runs there with that checkout's own fixtures and helpers, when no
test of that checkout drives a workflow down the path a later `workflow.patched()` guards.

Each scenario uses only what every checkout since the runs API has: the `caller`, `settings` and
`engine` fixtures, `register`/`start`/`wait_run` from tests.test_runs, and Temporal's own client.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from tests.factories import login
from tests.test_runs import register, start, wait_run, wait_step

SLEEPER = "sleep 600"


@pytest.fixture
def caller(client: Any, workers: Any) -> Any:
    return login(client)


async def _handle(settings: Any, workflow_id: str) -> WorkflowHandle[Any, Any]:
    address = getattr(settings, "effective_temporal_address", None) or settings.temporal_address
    client = await Client.connect(address, namespace=getattr(settings, "temporal_namespace", "default"))
    return client.get_workflow_handle(workflow_id)


def _wait_closed(settings: Any, workflow_id: str) -> None:
    async def go() -> None:
        handle = await _handle(settings, workflow_id)
        while (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await asyncio.sleep(0.1)

    asyncio.run(go())


def _cancel(settings: Any, workflow_id: str) -> None:
    async def go() -> None:
        await (await _handle(settings, workflow_id)).cancel()

    asyncio.run(go())


def _update(settings: Any, workflow_id: str, name: str, body: dict[str, Any]) -> Any:
    async def go() -> Any:
        return await (await _handle(settings, workflow_id)).execute_update(name, body)

    return asyncio.run(go())


def test_history_native_cancel(caller: Any, settings: Any) -> None:
    """`temporal workflow cancel` while a step runs (NATIVE_CANCEL_PATCH)."""
    register(caller, f"name: native\nsteps:\n- {{id: a, run: '{SLEEPER}'}}\n- {{id: b, run: echo never, needs: [a]}}\n")
    run = start(caller, "native")
    wait_step(caller, run["id"], "a", "running")
    _cancel(settings, run["workflowId"])
    _wait_closed(settings, run["workflowId"])


def test_history_direct_controls(caller: Any, settings: Any) -> None:
    """pause, resume and approve sent straight through Temporal, without Maestro's API (audit-direct-actions-v1)."""
    register(caller, "name: gated-direct\nsteps:\n- {id: gate, uses: approval}\n- {id: ship, run: echo shipped, needs: [gate]}\n")
    run = start(caller, "gated-direct")
    wait_step(caller, run["id"], "gate", "waiting")
    for name, body in (
        ("pause", {"by": "release-bot", "reason": "change freeze"}),
        ("resume", {"by": "release-bot", "reason": "freeze over"}),
        ("approve", {"by": "cab", "reason": "CAB-1234 approved"}),
    ):
        _update(settings, run["workflowId"], name, body)
    assert wait_run(caller, run["id"])["status"] == "succeeded"


def test_history_refused_command(caller: Any, settings: Any, engine: Any) -> None:
    """A step whose `run:` a later shellsafe refuses (shellsafe-refusals-v1). Checkouts that refuse it at
    registration get it the way a version saved before did: written into the stored version."""
    refused = "eval echo ${{ params.greeting }}"
    spec = "name: refused\nparams:\n  greeting: {default: hello}\nsteps:\n- {id: a, run: 'RUN'}\n"
    r = caller.post("/api/pipelines", json={"spec": spec.replace("RUN", refused)})
    if r.status_code != 201:
        from sqlmodel import Session, select

        from maestro.domain.runs import PipelineVersion

        register(caller, spec.replace("RUN", "echo ${{ params.greeting }}"))
        with Session(engine) as s:
            v = s.exec(select(PipelineVersion)).one()
            v.spec = {**v.spec, "steps": [{**v.spec["steps"][0], "run": refused}]}
            s.add(v)
            s.commit()
    wait_run(caller, start(caller, "refused")["id"])


def test_history_cancel_while_resolving_source(caller: Any, settings: Any, tmp_path: Path) -> None:
    """`temporal workflow cancel` while the source is resolved: the pool has no runner, so it never is."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    register(
        caller,
        f"name: unserved\nsource: {{url: 'file://{repo}', ref: main}}\nsteps:\n- {{id: a, run: echo never, pool: unserved}}\n",
    )
    run = start(caller, "unserved")
    wait_run(caller, run["id"], {"running"})
    _cancel(settings, run["workflowId"])
    _wait_closed(settings, run["workflowId"])


def test_history_evidence(caller: Any, settings: Any) -> None:
    """A witness bundle of a finished run (EvidenceWorkflow and its AlertEvaluatorWorkflow child)."""
    register(caller, "name: witnessed\nsteps:\n- {id: a, run: echo built}\n")
    run = wait_run(caller, start(caller, "witnessed")["id"])
    r = caller.post(f"/api/evidence/run/{run['id']}")
    assert r.status_code in (200, 201, 202), r.text
    bundle = r.json()
    _wait_closed(settings, bundle["workflowId"])
