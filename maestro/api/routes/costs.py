"""FinOps cost explorer: the spend ledger as time series, group-bys, top-K drivers, $/artifact, forecast vs
actual, anomalies, exports (CSV, Parquet) and manual/imported costs.

Every query is the caller's tenant's. Ranges are whole UTC hours (``from`` rounded down, ``to`` up);
the queries live in ``maestro.finops.explorer``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import Field, field_validator

from maestro.api.deps import Require, RuntimeDep, SessionDep
from maestro.api.pagination import ApiModel
from maestro.api.problems import Problem
from maestro.api.schemas import InputModel
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.models import Tenant
from maestro.domain.types import utcnow
from maestro.finops import explorer
from maestro.finops.explorer import QueryError, Step

router = APIRouter(prefix="/costs", tags=["costs"])
Reader = Annotated[Principal, Require("budgets:read")]
Writer = Annotated[Principal, Require("budgets:write")]

From = Annotated[
    datetime | None,
    Query(alias="from", description="Range start (UTC when no offset; rounded down to the hour). Default: this month's start."),
]
To = Annotated[datetime | None, Query(alias="to", description="Range end, exclusive (rounded up to the hour). Default: now.")]
StepQ = Annotated[Step | None, Query(description="Bucket: 1h or 1d (UTC). Default: 1d when the range spans more than 3 days.")]
FUTURE_SLACK = timedelta(minutes=5)
MAX_ENTRIES = 5000


@contextmanager
def _answerable() -> Iterator[None]:
    """An explorer ``QueryError`` is the caller's input: a 422 naming the parameter."""
    try:
        yield
    except QueryError as exc:
        raise Problem(422, f"{exc.field}: {exc.message}", errors=[{"field": exc.field, "message": exc.message}]) from None


def filters(
    source: Annotated[str | None, Query(max_length=16, description="run-step, gateway, manual or import")] = None,
    project: Annotated[str | None, Query(max_length=63)] = None,
    env: Annotated[str | None, Query(max_length=63)] = None,
    pipeline: Annotated[str | None, Query(max_length=63)] = None,
    provider: Annotated[str | None, Query(max_length=63)] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, str]:
    """The dimension filters every cost query takes (each narrows to one value)."""
    given = {"source": source, "project": project, "env": env, "pipeline": pipeline, "provider": provider, "model": model}
    for k, v in given.items():
        if v and "\x00" in v:
            raise Problem(422, f"query.{k}: a NUL character is not allowed", errors=[{"field": f"query.{k}", "message": "NUL"}])
    return {k: v for k, v in given.items() if v}


Filters = Annotated[dict[str, str], Depends(filters)]


class RangePublic(ApiModel):
    from_: datetime = Field(alias="from")
    to: datetime


# ---- series ---------------------------------------------------------------------------------------


class CostPoint(ApiModel):
    ts: datetime = Field(description="Bucket start (UTC)")
    usd: float
    tokens: int


class CostSeries(ApiModel):
    key: dict[str, str] = Field(description="The group's value of each group_by dimension ('' = none)")
    points: list[CostPoint] = Field(description="Buckets with spend, oldest first (buckets without spend are left out)")
    total_usd: float
    total_tokens: int


class CostExplorerPublic(RangePublic):
    step: Step
    group_by: list[str]
    series: list[CostSeries] = Field(description="Groups by total spend, largest first")
    total_usd: float = Field(description="All spend of the range and filters (every group, also past `limit`)")
    total_tokens: int
    truncated: bool = Field(description="More groups than `limit`: the smallest are left out of `series`")


@router.get("", operation_id="costs-series", response_model=CostExplorerPublic)
def get_series(
    *,
    session: SessionDep,
    principal: Reader,
    dims: Filters,
    group_by: Annotated[
        str,
        Query(
            max_length=300,
            description="Comma-separated: source, project, env, pipeline, provider, model (from hourly rollups: fast); "
            "run, step, artifact, label:<key> (from the ledger rows of the range: slower).",
        ),
    ] = "",
    start: From = None,
    end: To = None,
    step: StepQ = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most groups returned")] = 100,
) -> CostExplorerPublic:
    """Spend over time, per group. Default range: the current month so far (at most 400 days)."""
    with _answerable():
        dimensions = explorer.parse_group_by(group_by)
        w = explorer.window(start=start, end=end, step=step, now=utcnow())
    s = explorer.series(session=session, tenant_id=principal.tenant_id, window=w, group_by=dimensions, filters=dims, limit=limit)
    return CostExplorerPublic(
        from_=w.start,
        to=w.end,
        step=w.step,
        group_by=list(s.dimensions),
        series=[
            CostSeries(
                key=g.key,
                points=[CostPoint(ts=p.ts, usd=p.usd, tokens=p.tokens) for p in g.points],
                total_usd=g.total_usd,
                total_tokens=g.total_tokens,
            )
            for g in s.groups
        ],
        total_usd=s.total_usd,
        total_tokens=s.total_tokens,
        truncated=s.truncated,
    )


# ---- top-K ----------------------------------------------------------------------------------------


class CostDriver(ApiModel):
    value: str = Field(description="The dimension's value ('' = spend without one)")
    usd: float
    tokens: int
    share: float = Field(description="Share of the range's total spend, 0..1")
    previous_usd: float = Field(description="Its spend in the period of the same length just before")
    change_usd: float
    change_ratio: float | None = Field(description="(usd - previousUsd) / previousUsd; null when it spent nothing before")


class CostTopPublic(RangePublic):
    dimension: str
    total_usd: float
    previous_total_usd: float
    drivers: list[CostDriver]


@router.get("/top", operation_id="costs-top", response_model=CostTopPublic)
def get_top(
    *,
    session: SessionDep,
    principal: Reader,
    dims: Filters,
    dimension: Annotated[str, Query(max_length=80, description="One group_by dimension")] = "pipeline",
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    start: From = None,
    end: To = None,
) -> CostTopPublic:
    """The top-K cost drivers of one dimension, with their share and change vs the previous period."""
    with _answerable():
        dimension_ = explorer.parse_group_by(dimension, field="query.dimension")
        if len(dimension_) != 1:
            raise QueryError("query.dimension", "exactly one dimension")
        w = explorer.window(start=start, end=end, step=None, now=utcnow())
    t = explorer.top(session=session, tenant_id=principal.tenant_id, dimension=dimension_[0], k=k, window=w, filters=dims)
    return CostTopPublic(
        from_=w.start,
        to=w.end,
        dimension=t.dimension,
        total_usd=t.total_usd,
        previous_total_usd=t.previous_total_usd,
        drivers=[CostDriver.model_validate(d, from_attributes=True) for d in t.drivers],
    )


# ---- $ per artifact -------------------------------------------------------------------------------


class ArtifactCostPublic(ApiModel):
    pipeline: str
    usd: float = Field(description="Run-step spend of the pipeline in the range")
    runs: int = Field(description="Runs that spent")
    artifacts: int = Field(description="Artifacts those runs produced")
    usd_per_artifact: float | None = Field(description="usd / artifacts; null when they produced none")


class PerArtifactPublic(RangePublic):
    items: list[ArtifactCostPublic]


@router.get("/per-artifact", operation_id="costs-per-artifact", response_model=PerArtifactPublic)
def get_per_artifact(
    *,
    session: SessionDep,
    principal: Reader,
    pipeline: Annotated[str | None, Query(max_length=63)] = None,
    start: From = None,
    end: To = None,
) -> PerArtifactPublic:
    """$ per artifact per pipeline: run-step spend divided by the artifacts the runs produced."""
    with _answerable():
        w = explorer.window(start=start, end=end, step=None, now=utcnow())
    rows = explorer.per_artifact(session=session, tenant_id=principal.tenant_id, window=w, pipeline=pipeline)
    return PerArtifactPublic(
        from_=w.start, to=w.end, items=[ArtifactCostPublic.model_validate(r, from_attributes=True) for r in rows]
    )


# ---- anomalies ------------------------------------------------------------------------------------


class AnomalyDriver(ApiModel):
    dimension: str
    value: str
    usd: float = Field(description="Its spend in the anomaly's hour (within the group)")
    expected: float = Field(description="Its median hourly spend over the range")
    excess: float = Field(description="usd - expected")
    share: float = Field(description="Share of the group's spend in that hour, 0..1")


class CostAnomaly(ApiModel):
    key: dict[str, str]
    ts: datetime = Field(description="Hour start (UTC)")
    value: float
    expected: float
    score: float = Field(description="Robust z-score; positive above the baseline")
    direction: Literal["spike", "drop"]
    drivers: list[AnomalyDriver] = Field(description="The 3 pipeline/env/provider/model values that explain it most")


class CostAnomaliesPublic(RangePublic):
    group_by: list[str]
    items: list[CostAnomaly]


@router.get("/anomalies", operation_id="costs-anomalies", response_model=CostAnomaliesPublic)
def get_anomalies(
    *,
    session: SessionDep,
    principal: Reader,
    dims: Filters,
    group_by: Annotated[
        str, Query(max_length=200, description="Comma-separated rollup dimensions; '' scores the total")
    ] = "pipeline",
    start: Annotated[datetime | None, Query(alias="from", description="Default: 14 days before now")] = None,
    end: To = None,
    threshold: Annotated[float, Query(ge=1, le=1000, description="Robust z-score above which an hour is listed")] = 3.5,
    drops: Annotated[bool, Query(description="List drops too, not only spikes")] = False,
) -> CostAnomaliesPublic:
    """Hours whose spend departs from that group's usual hour (robust z-score, seasonal from 3 days on)."""
    now = utcnow()
    with _answerable():
        dimensions = explorer.parse_group_by(group_by, rollups_only=True)
        w = explorer.window(start=start, end=end, step="1h", now=now, default_start=explorer.floor_hour(now) - timedelta(days=14))
    found = explorer.anomalies(
        session=session,
        tenant_id=principal.tenant_id,
        window=w,
        group_by=dimensions,
        filters=dims,
        threshold=threshold,
        include_drops=drops,
    )
    return CostAnomaliesPublic(
        from_=w.start,
        to=w.end,
        group_by=list(dimensions),
        items=[
            CostAnomaly(
                key=a.key,
                ts=a.ts,
                value=a.value,
                expected=a.expected,
                score=a.score,
                direction="drop" if a.direction == "drop" else "spike",
                drivers=[AnomalyDriver.model_validate(d, from_attributes=True) for d in a.drivers],
            )
            for a in found
        ],
    )


# ---- forecast vs actual ---------------------------------------------------------------------------


class ActualPoint(ApiModel):
    ts: datetime
    usd: float = Field(description="Cumulative spend from the period start to ts")


class ForecastPointPublic(ApiModel):
    ts: datetime
    expected: float = Field(description="Expected cumulative spend at ts")
    low: float
    high: float


class CostForecastPublic(RangePublic):
    now: datetime
    method: str = Field(description="linear, seasonal or none")
    enough_history: bool
    reason: str = Field(description="How the forecast was made, or why there is none")
    spent: float
    projected_total: float
    burn_per_hour: float
    cap_usd: float | None
    cap_hit_at: datetime | None
    actual: list[ActualPoint]
    forecast: list[ForecastPointPublic]


@router.get("/forecast", operation_id="costs-forecast", response_model=CostForecastPublic)
def get_forecast(
    *,
    session: SessionDep,
    principal: Reader,
    dims: Filters,
    start: Annotated[datetime | None, Query(alias="from", description="Period start; default: this month's start")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Period end; default: next month's start")] = None,
    cap: Annotated[float | None, Query(ge=0, le=1e12, description="USD cap: when it would be reached")] = None,
) -> CostForecastPublic:
    """Actual cumulative spend per hour against the forecast band to the period's end."""
    with _answerable():
        f = explorer.forecast_vs_actual(
            session=session, tenant_id=principal.tenant_id, start=start, end=end, filters=dims, now=utcnow(), cap=cap
        )
    fc = f.forecast
    return CostForecastPublic(
        from_=f.start,
        to=f.end,
        now=f.now,
        method=fc.method,
        enough_history=fc.enough_history,
        reason=fc.reason,
        spent=fc.spent,
        projected_total=fc.projected_total,
        burn_per_hour=fc.burn_per_hour,
        cap_usd=cap,
        cap_hit_at=fc.cap_hit_at,
        actual=[ActualPoint(ts=ts, usd=usd) for ts, usd in f.actual],
        forecast=[ForecastPointPublic(ts=p.ts, expected=p.expected, low=p.low, high=p.high) for p in fc.points],
    )


# ---- export ---------------------------------------------------------------------------------------

_MEDIA = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


@router.get(
    "/export",
    operation_id="costs-export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every ledger row of the range: " + ", ".join(explorer.EXPORT_COLUMNS),
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                _MEDIA["parquet"]: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def export(
    *,
    rt: RuntimeDep,
    session: SessionDep,
    principal: Reader,
    dims: Filters,
    format: Annotated[Literal["csv", "parquet"], Query()] = "csv",
    start: From = None,
    end: To = None,
) -> StreamingResponse:
    """Every ledger row of the range (and filters), streamed as CSV or Parquet."""
    with _answerable():
        w = explorer.window(start=start, end=end, step=None, now=utcnow())
    tenant = session.get(Tenant, principal.tenant_id)
    slug = re.sub(r"[^A-Za-z0-9_-]", "-", tenant.slug if tenant else principal.tenant_id)
    name = f"maestro-costs-{slug}-{w.start:%Y%m%dT%H%MZ}-{w.end:%Y%m%dT%H%MZ}.{format}"
    write = explorer.export_csv if format == "csv" else explorer.export_parquet
    body = write(engine=rt.engine, tenant_id=principal.tenant_id, window=w, filters=dims)
    return StreamingResponse(body, media_type=_MEDIA[format], headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---- manual and imported costs --------------------------------------------------------------------


class CostEntryInput(InputModel):
    id: str = Field(min_length=1, max_length=200, description="The source's event id: a re-sent id is recorded once")
    ts: datetime = Field(description="When the cost was incurred (UTC when no offset; at most 5 minutes ahead)")
    usd: float = Field(ge=0, le=1e12, allow_inf_nan=False)
    tokens_in: int = Field(0, ge=0, le=10**15)
    tokens_out: int = Field(0, ge=0, le=10**15)
    project: str = Field("", max_length=63)
    env: str = Field("", max_length=63)
    pipeline: str = Field("", max_length=63)
    provider: str = Field("", max_length=63)
    model: str = Field("", max_length=200)
    artifact: str = Field("", max_length=300)
    labels: dict[str, str] = Field(default_factory=dict, max_length=20)
    description: str = Field("", max_length=500)

    @field_validator("ts")
    @classmethod
    def _not_ahead(cls, v: datetime) -> datetime:
        if not (explorer.EARLIEST <= v.replace(tzinfo=None) <= explorer.LATEST):
            raise ValueError(f"must be between {explorer.EARLIEST.year} and {explorer.LATEST.year}")
        v = v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        if v > utcnow() + FUTURE_SLACK:
            raise ValueError("is more than 5 minutes in the future")
        return v

    @field_validator("id", "project", "env", "pipeline", "provider", "model", "artifact", "description")
    @classmethod
    def _no_nul(cls, v: str) -> str:
        if "\x00" in v:
            raise ValueError("a NUL character is not allowed")
        return v

    @field_validator("labels")
    @classmethod
    def _bounded_labels(cls, v: dict[str, str]) -> dict[str, str]:
        for k, val in v.items():
            if "\x00" in val:
                raise ValueError(f"label {k!r}: a NUL character is not allowed")
            if not explorer.LABEL_KEY.match(k):
                raise ValueError(f"label key {k[:70]!r}: 1-63 letters, digits or _.-/")
            if len(val) > 200:
                raise ValueError(f"label {k!r}: at most 200 characters")
        return v


class CostImportInput(InputModel):
    source: Literal["manual", "import"]
    entries: list[CostEntryInput] = Field(min_length=1, max_length=MAX_ENTRIES)


class CostImportResult(ApiModel):
    received: int
    recorded: int = Field(description="New ledger rows")
    duplicates: int = Field(description="Entries whose id was already recorded (or repeated): not counted again")


@router.post("/entries", operation_id="costs-entries-record", response_model=CostImportResult)
def record_entries(*, body: CostImportInput, session: SessionDep, principal: Writer) -> CostImportResult:
    """Record manual or imported costs in the caller's tenant ledger, with an audit entry (idempotent by id)."""
    entries: list[dict[str, Any]] = [e.model_dump() for e in body.entries]
    result = explorer.record_entries(
        session=session, tenant_id=principal.tenant_id, actor=principal.actor, source=body.source, entries=entries
    )
    append_audit(
        session,
        actor=principal.actor,
        action="costs.import",
        target_type="spend_ledger",
        target_id=body.source,
        change={
            "source": body.source,
            "received": result.received,
            "recorded": result.recorded,
            "duplicates": result.duplicates,
            "usdReceived": sum(e.usd for e in body.entries),
        },
    )
    session.commit()
    return CostImportResult(received=result.received, recorded=result.recorded, duplicates=result.duplicates)
