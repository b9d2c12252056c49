from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from maestro.api.deps import Require, RuntimeDep, SessionDep
from maestro.api.pagination import ApiModel
from maestro.artifacts import make_store
from maestro.domain.identity import Principal
from maestro.domain.types import utcnow
from maestro.observability.insights import compute

router = APIRouter(tags=["observability"])


class Insights(ApiModel):
    since: str
    flaky_tests: list[dict[str, Any]]
    flaky_pipelines: list[dict[str, Any]]
    slowest_steps: list[dict[str, Any]]
    noisy_alerts: list[dict[str, Any]]
    top_cost_centers: list[dict[str, Any]]


@router.get("/insights", operation_id="insights-get", response_model=Insights)
def insights(
    *,
    rt: RuntimeDep,
    session: SessionDep,
    principal: Annotated[Principal, Require("runs:read", scope="any")],
    days: Annotated[int, Query(ge=1, le=90, description="Look back this many days.")] = 7,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Insights:
    """What's hot and cold: flaky tests (JUnit artifacts) and pipelines, slowest steps (p95), noisy alerts, top cost centers."""
    data = compute(
        session, tenant_id=principal.tenant_id, since=utcnow() - timedelta(days=days), store=make_store(rt.settings), limit=limit
    )
    return Insights.model_validate(data)
