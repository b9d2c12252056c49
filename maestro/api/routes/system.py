from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError

from maestro import __version__
from maestro.api.deps import Require, RuntimeDep, SessionDep, TemporalDep
from maestro.api.pagination import ApiModel
from maestro.api.problems import Problem
from maestro.api.schemas import InputModel
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.types import new_id
from maestro.shared import DiagnosticsInput, DiagnosticsResult

router = APIRouter(prefix="/system", tags=["system"])


class SystemInfo(ApiModel):
    version: str
    temporal_address: str
    temporal_namespace: str
    temporal_ui_url: str | None
    control_task_queue: str


class DiagnosticsCreate(InputModel):
    steps: int = Field(3, ge=1, le=20)
    step_seconds: float = Field(0.2, ge=0, le=60)


class DiagnosticStepPublic(ApiModel):
    index: int
    worker_pid: int
    worker_host: str
    attempt: int


class DiagnosticsResultPublic(ApiModel):
    steps: list[DiagnosticStepPublic]
    started_at: str
    finished_at: str


class DiagnosticsRun(ApiModel):
    workflow_id: str
    status: str
    temporal_ui_url: str | None
    progress: dict[str, int] | None = None
    result: DiagnosticsResultPublic | None = None


def _ui_link(rt: RuntimeDep, workflow_id: str) -> str | None:
    base = rt.settings.effective_temporal_ui_url
    return f"{base}/namespaces/{rt.settings.temporal_namespace}/workflows/{workflow_id}" if base else None


@router.get("/info", operation_id="system-info", response_model=SystemInfo)
def info(*, rt: RuntimeDep, principal: Annotated[Principal, Require("system:read")]) -> SystemInfo:
    s = rt.settings
    return SystemInfo(
        version=__version__,
        temporal_address=s.effective_temporal_address,
        temporal_namespace=s.temporal_namespace,
        temporal_ui_url=s.effective_temporal_ui_url,
        control_task_queue=s.control_task_queue,
    )


@router.post("/diagnostics", operation_id="system-diagnostics-start", response_model=DiagnosticsRun, status_code=202)
async def start_diagnostics(
    *,
    body: DiagnosticsCreate,
    rt: RuntimeDep,
    temporal: TemporalDep,
    session: SessionDep,
    principal: Annotated[Principal, Require("system:diagnose", scope="request")],
) -> DiagnosticsRun:
    """Start the diagnostics workflow on the control task queue (proves API → Temporal → worker)."""
    wid = f"diagnostics-{new_id()[:12]}"
    await temporal.start_workflow(
        "DiagnosticsWorkflow",
        DiagnosticsInput(steps=body.steps, step_seconds=body.step_seconds, label=principal.actor),
        id=wid,
        task_queue=rt.settings.control_task_queue,
    )
    append_audit(
        session,
        actor=principal.actor,
        action="system.diagnostics.start",
        target_type="workflow",
        target_id=wid,
        change=body.model_dump(),
    )
    session.commit()
    return DiagnosticsRun(workflow_id=wid, status="RUNNING", temporal_ui_url=_ui_link(rt, wid))


@router.get("/diagnostics/{workflow_id}", operation_id="system-diagnostics-get", response_model=DiagnosticsRun)
async def get_diagnostics(
    *, workflow_id: str, rt: RuntimeDep, temporal: TemporalDep, principal: Annotated[Principal, Require("system:read")]
) -> DiagnosticsRun:
    if not workflow_id.startswith("diagnostics-"):
        raise Problem(404, f"No diagnostics run {workflow_id!r}.")
    handle = temporal.get_workflow_handle(workflow_id, result_type=DiagnosticsResult)
    try:
        desc = await handle.describe()
    except RPCError as exc:
        raise Problem(404, f"No diagnostics run {workflow_id!r}.") from exc
    status = desc.status.name if desc.status else "UNKNOWN"
    run = DiagnosticsRun(workflow_id=workflow_id, status=status, temporal_ui_url=_ui_link(rt, workflow_id))
    if desc.status == WorkflowExecutionStatus.RUNNING:
        run.progress = await handle.query("get_progress", result_type=dict)
    elif desc.status == WorkflowExecutionStatus.COMPLETED:
        res = await handle.result()
        run.result = DiagnosticsResultPublic.model_validate(dataclasses.asdict(res))
    return run
