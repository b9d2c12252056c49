from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import col, select

from maestro.api.deps import Require, SessionDep
from maestro.api.pagination import Page, PageParams, page_params, paginate
from maestro.api.schemas import INT64_MAX, AuditVerifyPublic
from maestro.domain import auditlog
from maestro.domain.identity import Principal
from maestro.domain.models import AuditEvent
from maestro.events.payloads import AuditEventPublic

router = APIRouter(prefix="/audit", tags=["audit"])

AuditReader = Annotated[Principal, Require("audit:read")]


@router.get("", operation_id="audit-list", response_model=Page[AuditEventPublic])
def list_audit(
    *,
    session: SessionDep,
    principal: AuditReader,
    page: Annotated[PageParams, Depends(page_params)],
    since: Annotated[datetime | None, Query(description="Only events at or after this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Only events before this time (ISO 8601).")] = None,
    actor: Annotated[str | None, Query(max_length=200, description="Exact actor, or a prefix ending in *.")] = None,
    action: Annotated[str | None, Query(max_length=100, description="Exact action (token.create) or prefix (token.*).")] = None,
    until_seq: Annotated[
        int | None, Query(ge=1, le=INT64_MAX, description="Only events at or before this sequence number (jump to an event).")
    ] = None,
) -> Page[AuditEventPublic]:
    """The append-only audit log, newest first."""
    stmt = select(AuditEvent)
    if since:
        stmt = stmt.where(AuditEvent.ts >= since)
    if until:
        stmt = stmt.where(AuditEvent.ts < until)
    if until_seq:
        stmt = stmt.where(col(AuditEvent.seq) <= until_seq)
    for column, value in ((AuditEvent.actor, actor), (AuditEvent.action, action)):
        if value:
            stmt = stmt.where(col(column).startswith(value[:-1])) if value.endswith("*") else stmt.where(column == value)
    return paginate(session, stmt, order=[AuditEvent.seq], params=page, kind="audit", to_public=AuditEventPublic.model_validate)


@router.get("/verify", operation_id="audit-verify", response_model=AuditVerifyPublic)
def verify_audit(*, session: SessionDep, principal: AuditReader) -> AuditVerifyPublic:
    """Recompute the hash chain; report the first broken link (edited, deleted or reordered row)."""
    r = auditlog.verify(session)
    return AuditVerifyPublic(ok=r.ok, checked=r.checked, first_broken_seq=r.first_broken_seq, reason=r.reason)
