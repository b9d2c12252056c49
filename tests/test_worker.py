"""The control worker: API → Temporal → worker wiring, and durability when a worker is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from temporalio.client import Client

from maestro.config import Settings
from maestro.shared import DiagnosticsInput, DiagnosticsResult
from tests.factories import login
from tests.services import wait_for


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MAESTRO_TEMPORAL_ADDRESS": settings.effective_temporal_address,
        "MAESTRO_CONTROL_TASK_QUEUE": settings.control_task_queue,
        "MAESTRO_DATABASE_URL": settings.effective_database_url,
        "MAESTRO_REDIS_URL": settings.effective_redis_url,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "maestro.cli", "worker"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


@pytest.fixture
def worker(settings: Settings, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    p = start_worker(settings, tmp_path / "worker.log")
    yield p
    p.terminate()
    p.wait(10)


def test_api_starts_diagnostics_on_the_worker(client: TestClient, worker) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    r = caller.post("/api/system/diagnostics", json={"steps": 2, "stepSeconds": 0})
    assert r.status_code == 202
    wid = r.json()["workflowId"]
    assert r.json()["temporalUiUrl"] is None or wid in r.json()["temporalUiUrl"]

    def done():  # type: ignore[no-untyped-def]
        body = caller.get(f"/api/system/diagnostics/{wid}").json()
        return body if body["status"] == "COMPLETED" else None

    body = wait_for(done, 60, 0.2)
    assert [s["index"] for s in body["result"]["steps"]] == [0, 1]
    assert body["result"]["steps"][0]["workerPid"] == worker.pid
    assert caller.get("/api/system/diagnostics/diagnostics-nope").status_code == 404
    audit = caller.get("/api/audit?action=system.diagnostics.start").json()["items"]
    assert audit[0]["targetId"] == wid


async def test_killing_the_worker_mid_workflow_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    client = await Client.connect(settings.effective_temporal_address)
    first = start_worker(settings, tmp_path / "w1.log")
    wid = f"diag-kill-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        "DiagnosticsWorkflow",
        DiagnosticsInput(steps=4, step_seconds=1.0),
        id=wid,
        task_queue=settings.control_task_queue,
        result_type=DiagnosticsResult,
    )
    deadline = time.monotonic() + 60
    while (await handle.query("get_progress", result_type=dict))["done"] < 1:
        assert time.monotonic() < deadline, "first step never finished"
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)  # no graceful shutdown: the step in flight is lost with it
    first.wait(10)
    second = start_worker(settings, tmp_path / "w2.log")
    try:
        result = await handle.result(rpc_timeout=None)
    finally:
        second.terminate()
        second.wait(10)
    assert [s.index for s in result.steps] == [0, 1, 2, 3]
    pids = {s.worker_pid for s in result.steps}
    assert pids == {first.pid, second.pid}
    assert result.steps[-1].worker_pid == second.pid
