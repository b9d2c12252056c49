"""Controls the API sends as Temporal updates (maestro.api.controls.execute_control): a refusal by the workflow is a
409 carrying the workflow's message; Temporal gone or no worker taking the control is a 503 naming the remedy, and
the control's ticket is withdrawn so a late delivery can never act."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from maestro.api.app import create_app
from maestro.config import Settings
from maestro.db import get_engine
from maestro.domain.tickets import ControlTicket
from tests.factories import login
from tests.services import temporal_server
from tests.test_runs import register, start, wait_step

PROBLEM = "application/problem+json"


def unique(name: str) -> str:
    """A pipeline name (so a workflow id) of this test alone: the Temporal server is shared by the session."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def tickets_of(settings: Settings, workflow_id: str) -> list[tuple[str, str, bool]]:
    with Session(get_engine(settings.effective_database_url)) as s:
        rows = s.exec(select(ControlTicket).where(ControlTicket.workflow_id == workflow_id)).all()
    return [(t.action, t.via, t.used_at is not None) for t in rows]


@contextmanager
def api(settings: Settings) -> Iterator[TestClient]:
    """The API on these settings (its own app, so a test can change what the shared fixtures set)."""
    with TestClient(
        create_app(settings, start_background=False), base_url="https://testserver", raise_server_exceptions=False
    ) as c:
        yield c


def test_a_refusal_by_the_workflow_is_a_409_carrying_its_message(client: TestClient, workers: Settings) -> None:
    caller = login(client)
    name = unique("slow")
    register(caller, f"name: {name}\nsteps:\n- {{id: a, run: sleep 600}}\n")
    run = start(caller, name)
    wait_step(caller, run["id"], "a", "running")
    r = caller.post(f"/api/runs/{run['id']}/actions", json={"action": "resume"})  # RunWorkflow.validate_resume refuses
    assert r.status_code == 409 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["detail"] == "Refused: the run is not paused." and "Reload the run" in r.json()["remediation"]
    r = caller.post(f"/api/runs/{run['id']}/actions", json={"action": "approve"})
    assert r.status_code == 409 and r.json()["detail"] == "Refused: no step is waiting for approval."
    assert caller.post(f"/api/runs/{run['id']}/actions", json={"action": "cancel"}).status_code == 200


def test_no_worker_polling_is_a_503_after_the_accept_time(migrated: Settings) -> None:
    quick = migrated.model_copy(update={"control_accept_seconds": 1.0})
    with ExitStack() as stack:
        client = stack.enter_context(api(quick))
        caller = login(client)
        name = unique("orphan")
        register(caller, f"name: {name}\nsteps:\n- {{id: a, run: echo hi}}\n")
        run = start(caller, name)  # its workflow is started on the control queue, which nobody polls here
        r = caller.post(f"/api/runs/{run['id']}/actions", json={"action": "pause"})
    assert r.status_code == 503 and r.headers["content-type"].startswith(PROBLEM) and r.headers["retry-after"] == "5"
    body = r.json()
    assert body["detail"] == (
        f"No control worker is running: nothing polls task queue {quick.control_task_queue}, so the pause was not delivered."
    )
    assert "maestro worker" in body["remediation"]
    assert tickets_of(quick, run["workflowId"]) == [("pause", "api", True)]  # withdrawn: it can never act later


def test_temporal_gone_is_a_503_naming_it(migrated: Settings) -> None:
    with ExitStack() as stack:
        server = temporal_server()
        address, _ = server.__enter__()
        stack.callback(server.__exit__, None, None, None)  # stopping twice is harmless
        own = migrated.model_copy(update={"temporal_address": address, "control_accept_seconds": 1.0})
        client = stack.enter_context(api(own))
        caller = login(client)
        name = unique("stranded")
        register(caller, f"name: {name}\nsteps:\n- {{id: a, run: echo hi}}\n")
        run = start(caller, name)
        server.__exit__(None, None, None)  # Temporal goes away after the API connected to it
        t0 = time.monotonic()
        r = caller.post(f"/api/runs/{run['id']}/actions", json={"action": "cancel"})
        took = time.monotonic() - t0
    assert r.status_code == 503 and r.headers["content-type"].startswith(PROBLEM) and r.headers["retry-after"] == "5"
    body = r.json()
    assert body["detail"].startswith(f"Temporal is not reachable at {address}, so the cancel was not delivered")
    assert "MAESTRO_TEMPORAL_ADDRESS" in body["remediation"] and "/api/ready" in body["remediation"]
    assert tickets_of(own, run["workflowId"]) == [("cancel", "api", True)]
    assert took < 30, took  # bounded by the accept time and the pollers check, not by the SDK's retries
