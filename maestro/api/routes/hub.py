"""GET /api/hub: the Control Hub's data — releases, KPIs, what's hot and cold, compliance — from real records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from maestro.api.deps import AUTHENTICATED, Require, RuntimeDep, SessionDep, readable_envs
from maestro.artifacts import make_store
from maestro.domain.identity import Principal
from maestro.observability import hub as hubmod
from maestro.observability.hub import Hub

router = APIRouter(tags=["hub"])


@router.get("/hub", operation_id="hub-get", response_model=Hub)
def hub(*, rt: RuntimeDep, session: SessionDep, principal: Annotated[Principal, Require(AUTHENTICATED)]) -> Hub:
    """Everything the Control Hub shows, computed now from runs, rollouts, the edge, SLOs, attestations and decisions."""
    return hubmod.summary(
        session=session,
        redis=rt.redis_sync,
        store=make_store(rt.settings),
        tenant_id=principal.tenant_id,
        read_envs=readable_envs(session, principal, "rollouts:read"),
        promote_envs=readable_envs(session, principal, "rollouts:promote"),
    )
