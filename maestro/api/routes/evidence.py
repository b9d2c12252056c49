"""Witness bundles: POST starts an EvidenceWorkflow; GET follows it; the zip downloads when done."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from pydantic import Field
from sqlmodel import col, select
from starlette.background import BackgroundTask

from maestro.api.deps import Require, RuntimeDep, SessionDep, TemporalDep, authorize, run_or_404
from maestro.api.pagination import ApiModel, Items
from maestro.api.problems import Problem
from maestro.artifacts import DigestMismatch, make_store
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.supply import EvidenceBundle
from maestro.domain.types import new_id
from maestro.shared import EvidenceInput
from maestro.states import EVIDENCE_RUN, EvidenceStatus

router = APIRouter(tags=["evidence"])
Reader = Annotated[Principal, Require("runs:read", scope="any")]
Writer = Annotated[Principal, Require("runs:write", scope="any")]


class EvidenceSummary(ApiModel):
    files: int = 0
    slsa_level: int = 0
    provenance_verified: bool = False
    signatures: int = 0
    signatures_verified: int = 0
    artifacts: int = 0
    artifacts_matching: int = Field(0, description="Artifacts whose bytes re-hashed to their recorded digest")
    sbom_components: int | None = None
    sbom_changes: int | None = None
    policies: int = 0
    decisions: int = 0
    deny_test_denied: bool = False
    deny_test_reasons: list[str] = Field(default_factory=list)
    synthetic_alert_observed: bool = False
    synthetic_alert_via: list[str] = Field(default_factory=list)
    slos: int = 0
    rollouts: int = 0
    problems: list[str] = Field(default_factory=list)


class EvidencePublic(ApiModel):
    id: str
    run_id: str
    workflow_id: str
    status: EvidenceStatus
    stage: str = Field(description="What is being collected now")
    done: int
    total: int
    sha256: str = Field(description="sha256 of the zip")
    size: int
    keyid: str = Field(description="Key that signed the manifest")
    summary: EvidenceSummary
    error: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    download_url: str | None


def public(b: EvidenceBundle) -> EvidencePublic:
    return EvidencePublic(
        id=b.id,
        run_id=b.run_id,
        workflow_id=b.workflow_id,
        status=b.status,
        stage=b.stage,
        done=b.done,
        total=b.total,
        sha256=b.sha256,
        size=b.size,
        keyid=b.keyid,
        summary=EvidenceSummary.model_validate(b.summary),
        error=b.error,
        created_by=b.created_by,
        created_at=b.created_at,
        finished_at=b.finished_at,
        download_url=f"/api/evidence/{b.id}/download" if b.status == "succeeded" else None,
    )


@router.post(
    "/evidence/run/{run_id}",
    operation_id="evidence-create",
    response_model=EvidencePublic,
    status_code=202,
    responses={200: {"model": EvidencePublic, "description": "A bundle of this run exists or is being built"}},
)
async def create_bundle(
    *, run_id: str, response: Response, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Writer
) -> EvidencePublic:
    """Start building the run's witness bundle (202); asking again returns the same bundle (200) unless it failed."""
    run = run_or_404(session, principal, run_id)
    authorize(session, principal, "runs:write", run.env)
    if run.status not in EVIDENCE_RUN:
        raise Problem(
            409, f"Run {run.id} is {run.status}: a witness bundle describes a finished run.", remediation="Wait for it to finish."
        )
    existing = session.exec(
        select(EvidenceBundle)
        .where(EvidenceBundle.run_id == run.id, EvidenceBundle.status != "failed")
        .order_by(col(EvidenceBundle.created_at).desc())
    ).first()
    if existing is not None:
        response.status_code = 200
        return public(existing)
    bid = new_id()
    b = EvidenceBundle(
        id=bid, tenant_id=principal.tenant_id, run_id=run.id, workflow_id=f"evidence-{bid}", created_by=principal.actor
    )
    session.add(b)
    append_audit(
        session, actor=principal.actor, action="evidence.create", target_type="run", target_id=run.id, change={"bundle": bid}
    )
    session.commit()
    await temporal.start_workflow(
        "EvidenceWorkflow", EvidenceInput(bundle_id=bid), id=b.workflow_id, task_queue=rt.settings.control_task_queue
    )
    return public(b)


@router.get("/evidence/{bundle_id}", operation_id="evidence-get", response_model=EvidencePublic)
def get_bundle(*, bundle_id: str, session: SessionDep, principal: Reader) -> EvidencePublic:
    b = session.get(EvidenceBundle, bundle_id)
    if b is None or b.tenant_id != principal.tenant_id:
        raise Problem(404, f"No witness bundle {bundle_id!r}.")
    run_or_404(session, principal, b.run_id)
    return public(b)


@router.get("/runs/{run_id}/evidence", operation_id="runs-evidence", response_model=Items[EvidencePublic])
def run_bundles(*, run_id: str, session: SessionDep, principal: Reader) -> Items[EvidencePublic]:
    """The run's witness bundles, newest first."""
    run = run_or_404(session, principal, run_id)
    rows = session.exec(
        select(EvidenceBundle).where(EvidenceBundle.run_id == run.id).order_by(col(EvidenceBundle.created_at).desc())
    ).all()
    return Items(items=[public(b) for b in rows])


@router.get(
    "/evidence/{bundle_id}/download",
    operation_id="evidence-download",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The bundle (verify it with `maestro evidence verify`)"}},
)
def download_bundle(*, bundle_id: str, rt: RuntimeDep, session: SessionDep, principal: Reader) -> FileResponse:
    b = session.get(EvidenceBundle, bundle_id)
    if b is None or b.tenant_id != principal.tenant_id:
        raise Problem(404, f"No witness bundle {bundle_id!r}.")
    run_or_404(session, principal, b.run_id)
    if b.status != "succeeded":
        raise Problem(409, f"The bundle is {b.status}.", remediation=f"Follow it with GET /api/evidence/{b.id}.")
    store = make_store(rt.settings)
    try:
        path = store.verified_path(b.sha256)
    except (FileNotFoundError, DigestMismatch) as exc:
        raise Problem(409, f"The bundle's bytes are missing or corrupted in the store: {exc}") from exc
    cleanup = BackgroundTask(os.unlink, path) if store.temporary_downloads else None
    return FileResponse(path, media_type="application/zip", filename=f"evidence-{b.run_id}-{b.id[:8]}.zip", background=cleanup)
