from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from maestro.api.deps import Require, RuntimeDep, SessionDep
from maestro.api.pagination import ApiModel
from maestro.artifacts import make_store
from maestro.domain.identity import Principal
from maestro.domain.types import utcnow
from maestro.observability.insights import compute

router = APIRouter(tags=["observability"])


class FlakyTest(ApiModel):
    pipeline: str
    test: str
    commits: int = Field(description="Commits on which this test both passed and failed.")


class FlakyPipeline(ApiModel):
    pipeline: str
    commits: int = Field(description="Commits on which this pipeline both succeeded and failed.")


class SlowStep(ApiModel):
    pipeline: str
    step: str
    p95_ms: int
    samples: int


class NoisyAlert(ApiModel):
    fingerprint: str
    name: str
    fires: int
    fires_per_day: float


class CostCenter(ApiModel):
    dimension: str = Field(description="pipeline, env or label:<key>")
    value: str
    cost_usd: float


class Insights(ApiModel):
    since: str
    flaky_tests: list[FlakyTest]
    flaky_pipelines: list[FlakyPipeline]
    slowest_steps: list[SlowStep]
    noisy_alerts: list[NoisyAlert]
    top_cost_centers: list[CostCenter]


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
