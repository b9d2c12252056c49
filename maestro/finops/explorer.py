"""The cost explorer's queries: the spend ledger as time series, group-bys, top-K drivers, $/artifact,
anomalies with their drivers, forecast vs actual, exports and manual/imported costs.

Everything a dashboard asks for by the six rollup dimensions (source, project, env, pipeline, provider,
model) is read from ``SpendRollup`` (one row per hour × dimensions, kept in the ledger's transaction), so
a month of a million ledger rows answers in milliseconds. Group-bys on run, step, artifact or a label
read the ledger rows themselves within the range: slower, proportional to the rows in the range.

Time is UTC and bucketed by hour or day. Ranges are whole hours (``from`` rounded down, ``to`` up), the
rollups' grain, so a series total and an export of the same range always hold the same spend.
"""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import distinct, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from maestro.domain.finops import ROLLUP_DIMS, SpendEntry, SpendRollup, SpendRollupDay
from maestro.domain.runs import Artifact
from maestro.finops import analytics, ledger

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
EARLIEST, LATEST = datetime(1970, 1, 2), datetime(9000, 1, 1)  # naive bounds: far from datetime's own limits
Step = Literal["1h", "1d"]
MAX_RANGE = timedelta(days=400)
# A range longer than this is shown daily unless the caller asks for hours.
HOURLY_UP_TO = timedelta(days=3)
ENTRY_DIMS = {"run": "run_id", "step": "step", "artifact": "artifact"}
LABEL_PREFIX = "label:"
LABEL_KEY = re.compile(r"^[A-Za-z0-9_.\-/]{1,63}$")
MAX_GROUP_DIMS = 4
# The dimensions an anomaly's drivers are looked for in (what an operator can act on).
DRIVER_DIMS = ("pipeline", "env", "provider", "model")
EXPORT_COLUMNS = (
    "id", "ts", "source", "sourceId", "project", "env", "pipeline", "runId", "step", "provider", "model",
    "artifact", "labels", "usd", "tokensIn", "tokensOut", "runnerSeconds", "description",
)  # fmt: skip
_EXPORT_FIELDS = (
    "id", "ts", "source", "source_id", "project", "env", "pipeline", "run_id", "step", "provider", "model",
    "artifact", "labels", "usd", "tokens_in", "tokens_out", "runner_seconds", "description",
)  # fmt: skip
EXPORT_BATCH = 10_000


class QueryError(ValueError):
    """A request the explorer cannot answer as asked: ``field`` names the parameter to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ---- ranges, dimensions, filters -----------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    start: datetime  # inclusive, on the hour
    end: datetime  # exclusive, on the hour
    step: Step


def floor_hour(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(ts: datetime) -> datetime:
    f = floor_hour(ts)
    return f if f == ts.astimezone(UTC) else f + HOUR


def month_start(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(ts: datetime) -> datetime:
    m = month_start(ts)
    return m.replace(year=m.year + 1, month=1) if m.month == 12 else m.replace(month=m.month + 1)


def _aware(ts: datetime) -> datetime:
    """Query datetimes without an offset are UTC."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _in_range(start: datetime | None, end: datetime | None) -> None:
    for name, t in (("query.from", start), ("query.to", end)):
        if t is not None and not (EARLIEST <= t.replace(tzinfo=None) <= LATEST):
            raise QueryError(name, f"must be between {EARLIEST.year} and {LATEST.year}")


def window(
    *, start: datetime | None, end: datetime | None, step: Step | None, now: datetime, default_start: datetime | None = None
) -> Window:
    """The range a request covers, in whole UTC hours: by default the current month so far (the month
    of `to` when only `to` is given); at most 400 days; daily buckets by default when it spans more than
    three days, else hourly."""
    _in_range(start, end)
    hi = ceil_hour(_aware(end)) if end is not None else ceil_hour(now)
    month = month_start(now) if end is None else month_start(hi - HOUR)
    lo = floor_hour(_aware(start)) if start is not None else (default_start or month)
    if start is None and lo >= hi:  # the first minutes of a month: show its first hour
        hi = lo + HOUR
    if lo >= hi:
        raise QueryError("query.to", "must be after `from`")
    if hi - lo > MAX_RANGE:
        raise QueryError("query.to", f"the range spans {(hi - lo).days} days; at most {MAX_RANGE.days} are allowed")
    return Window(lo, hi, step or ("1d" if hi - lo > HOURLY_UP_TO else "1h"))


def parse_group_by(text: str, *, field: str = "query.group_by", rollups_only: bool = False) -> tuple[str, ...]:
    """Comma-separated dimensions: the rollup dimensions, and (slower, from the ledger rows) run, step,
    artifact and label:<key>."""
    dims: list[str] = []
    for raw in text.split(","):
        d = raw.strip()
        if not d or d in dims:
            continue
        if d in ROLLUP_DIMS:
            pass
        elif rollups_only:
            raise QueryError(field, f"unknown dimension {d!r}: one of {', '.join(ROLLUP_DIMS)}")
        elif d in ENTRY_DIMS:
            pass
        elif d.startswith(LABEL_PREFIX):
            if not LABEL_KEY.match(d[len(LABEL_PREFIX) :]):
                raise QueryError(field, f"{d!r}: a label key is 1-63 letters, digits or _.-/")
        else:
            allowed = ", ".join((*ROLLUP_DIMS, *ENTRY_DIMS, "label:<key>"))
            raise QueryError(field, f"unknown dimension {d!r}: one of {allowed}")
        dims.append(d)
    if len(dims) > MAX_GROUP_DIMS:
        raise QueryError(field, f"at most {MAX_GROUP_DIMS} dimensions")
    return tuple(dims)


def _from_rollups(dims: Sequence[str]) -> bool:
    return all(d in ROLLUP_DIMS for d in dims)


def _dim_column(model: Any, dim: str) -> Any:
    """The SQL expression of a dimension on the ledger (labels are JSON) or its rollups."""
    if dim.startswith(LABEL_PREFIX):
        return func.coalesce(col(SpendEntry.labels)[dim[len(LABEL_PREFIX) :]].as_string(), "")
    return getattr(model, ENTRY_DIMS.get(dim, dim))


def _ts(model: Any) -> Any:
    return model.day if model is SpendRollupDay else model.hour if model is SpendRollup else model.ts


def _where(model: Any, tenant_id: str, filters: dict[str, str], lo: datetime, hi: datetime) -> list[Any]:
    ts = _ts(model)
    return [model.tenant_id == tenant_id, col(ts) >= lo, col(ts) < hi, *ledger.scope_filter(model, filters)]


def _bucket(model: Any, dialect: str, step: Step) -> Any:
    """The bucket of a row in SQL. Rollups are hourly already; a day (or a ledger row's hour) is cut
    from the stored timestamp: SQLite stores 'YYYY-MM-DD HH:MM:SS', PostgreSQL truncates in UTC."""
    ts = _ts(model)
    if (step == "1h" and model is SpendRollup) or model is SpendRollupDay:
        return ts
    if dialect == "postgresql":
        return func.date_trunc("day" if step == "1d" else "hour", func.timezone("UTC", ts))
    return func.substr(ts, 1, 10 if step == "1d" else 13)


def _bucket_value(v: Any) -> datetime:
    """A bucket as SQL returns it (a datetime, or SQLite's 'YYYY-MM-DD[ HH]' text) as an aware datetime."""
    if isinstance(v, datetime):
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    s = str(v)
    if len(s) == 10:
        return datetime.fromisoformat(s).replace(tzinfo=UTC)
    if len(s) == 13:
        return datetime.fromisoformat(s + ":00").replace(tzinfo=UTC)
    return _aware(datetime.fromisoformat(s))


def _chunked(
    session: Session, stmt: Callable[[datetime, datetime], Any], lo: datetime, hi: datetime
) -> Iterator[tuple[datetime, Any]]:
    """The rows of ``stmt`` over [lo, hi), each with the start of the piece it came from. SQLite groups
    by sorting every input row in one temporary B-tree; asked one UTC day at a time each sort stays
    small (30 days of rollups grouped by day, pipeline and env: ~370 ms in one query, ~210 ms a day at
    a time, measured by bench/costs.py). Day-aligned pieces keep every hourly and daily bucket whole.
    PostgreSQL aggregates by hashing: one query."""
    if session.get_bind().dialect.name != "sqlite":
        for row in session.exec(stmt(lo, hi)):
            yield lo, row
        return
    a = lo
    while a < hi:
        b = min(hi, a.replace(hour=0) + DAY)
        for row in session.exec(stmt(a, b)):
            yield a, row
        a = b


# ---- series ---------------------------------------------------------------------------------------


@dataclass
class Point:
    ts: datetime
    usd: float
    tokens: int


@dataclass
class Group:
    key: dict[str, str]
    points: list[Point] = field(default_factory=list)
    total_usd: float = 0.0
    total_tokens: int = 0


@dataclass
class Series:
    window: Window
    dimensions: tuple[str, ...]
    groups: list[Group]
    total_usd: float
    total_tokens: int
    truncated: bool


def series(
    *,
    session: Session,
    tenant_id: str,
    window: Window,
    group_by: Sequence[str],
    filters: dict[str, str],
    limit: int = 100,
) -> Series:
    """Spend per bucket and group, groups by total spend (largest first, at most ``limit``; the totals
    count every group). Buckets without spend are left out."""
    model: Any = SpendRollup if _from_rollups(group_by) else SpendEntry
    dialect = session.get_bind().dialect.name
    groups: dict[tuple[str, ...], Group] = {}
    parts: list[tuple[Any, datetime, datetime]] = [(model, window.start, window.end)]
    if model is SpendRollup and window.step == "1d":
        # whole days from the daily rollups (one small query), the partial days at the edges from the hourly
        first_day = window.start if window.start.hour == 0 else window.start.replace(hour=0) + DAY
        last_day = window.end.replace(hour=0)
        if first_day < last_day:
            parts = [
                (SpendRollup, window.start, first_day),
                (SpendRollupDay, first_day, last_day),
                (SpendRollup, last_day, window.end),
            ]
    for m, lo, hi in parts:
        if lo < hi:
            _accumulate(
                session,
                groups,
                model=m,
                dialect=dialect,
                tenant_id=tenant_id,
                step=window.step,
                group_by=group_by,
                filters=filters,
                lo=lo,
                hi=hi,
            )
    ordered = sorted(groups.values(), key=lambda g: (-g.total_usd, tuple(g.key.values())))
    for g in ordered:
        g.points.sort(key=lambda p: p.ts)
    return Series(
        window=window,
        dimensions=tuple(group_by),
        groups=ordered[:limit],
        total_usd=sum(g.total_usd for g in ordered),
        total_tokens=sum(g.total_tokens for g in ordered),
        truncated=len(ordered) > limit,
    )


def _accumulate(
    session: Session,
    groups: dict[tuple[str, ...], Group],
    *,
    model: Any,
    dialect: str,
    tenant_id: str,
    step: Step,
    group_by: Sequence[str],
    filters: dict[str, str],
    lo: datetime,
    hi: datetime,
) -> None:
    # Asked a day at a time (SQLite), a daily bucket is the day asked: no per-row date arithmetic.
    day_at_a_time = dialect == "sqlite" and step == "1d" and model is not SpendRollupDay
    buckets = [] if day_at_a_time else [_bucket(model, dialect, step).label("bucket")]
    dims = [_dim_column(model, d).label(f"d{i}") for i, d in enumerate(group_by)]
    tokens = func.sum(model.tokens_in) + func.sum(model.tokens_out)

    def stmt(a: datetime, b: datetime) -> Any:
        return (
            select(*buckets, *dims, func.sum(model.usd), tokens)  # type: ignore[call-overload]
            .where(*_where(model, tenant_id, filters, a, b))
            .group_by(*buckets, *dims)
        )

    first = len(buckets)
    rows = ((lo, r) for r in session.exec(stmt(lo, hi))) if model is SpendRollupDay else _chunked(session, stmt, lo, hi)
    for day, row in rows:
        if row[-2] is None and row[-1] is None:  # an aggregate without GROUP BY over no rows (SQLite, a day asked)
            continue
        key = tuple(str(v or "") for v in row[first : first + len(dims)])
        g = groups.get(key)
        if g is None:
            g = groups[key] = Group(dict(zip(group_by, key, strict=True)))
        usd, tok = float(row[-2] or 0.0), int(row[-1] or 0)
        g.points.append(Point(day.replace(hour=0) if day_at_a_time else _bucket_value(row[0]), usd, tok))
        g.total_usd += usd
        g.total_tokens += tok


def _totals(
    session: Session, *, tenant_id: str, dim: str, filters: dict[str, str], lo: datetime, hi: datetime
) -> dict[str, tuple[float, int]]:
    model: Any = SpendRollup if _from_rollups([dim]) else SpendEntry
    d = _dim_column(model, dim)
    stmt = (
        select(d, func.sum(model.usd), func.sum(model.tokens_in) + func.sum(model.tokens_out))
        .where(*_where(model, tenant_id, filters, lo, hi))
        .group_by(d)
    )
    return {str(v or ""): (float(usd or 0.0), int(tok or 0)) for v, usd, tok in session.exec(stmt)}  # type: ignore[call-overload]


# ---- top-K ----------------------------------------------------------------------------------------


@dataclass
class Driver:
    value: str
    usd: float
    tokens: int
    share: float  # of the range's total spend, 0..1
    previous_usd: float  # the same dimension value in the period of the same length just before
    change_usd: float
    change_ratio: float | None  # None when it spent nothing before


@dataclass
class Top:
    window: Window
    dimension: str
    total_usd: float
    previous_total_usd: float
    drivers: list[Driver]


def top(*, session: Session, tenant_id: str, dimension: str, k: int, window: Window, filters: dict[str, str]) -> Top:
    """The ``k`` values of one dimension that spent most, with their share and change vs the period of
    the same length before."""
    now = _totals(session, tenant_id=tenant_id, dim=dimension, filters=filters, lo=window.start, hi=window.end)
    span = window.end - window.start
    before = _totals(session, tenant_id=tenant_id, dim=dimension, filters=filters, lo=window.start - span, hi=window.start)
    total = sum(u for u, _ in now.values())
    drivers = []
    for value, (usd, tok) in sorted(now.items(), key=lambda kv: (-kv[1][0], kv[0]))[:k]:
        prev = before.get(value, (0.0, 0))[0]
        drivers.append(
            Driver(
                value=value,
                usd=usd,
                tokens=tok,
                share=usd / total if total > 0 else 0.0,
                previous_usd=prev,
                change_usd=usd - prev,
                change_ratio=(usd - prev) / prev if prev > 0 else None,
            )
        )
    return Top(window, dimension, total, sum(u for u, _ in before.values()), drivers)


# ---- $ per artifact -------------------------------------------------------------------------------


@dataclass
class ArtifactCost:
    pipeline: str
    usd: float
    runs: int
    artifacts: int
    usd_per_artifact: float | None  # None when its runs produced no artifact


def per_artifact(*, session: Session, tenant_id: str, window: Window, pipeline: str | None) -> list[ArtifactCost]:
    """Run-step spend per pipeline divided by the artifacts those runs produced (most expensive first)."""
    where = [
        *_where(SpendEntry, tenant_id, {"pipeline": pipeline or ""}, window.start, window.end),
        SpendEntry.source == "run-step",
        SpendEntry.run_id != "",
    ]
    spend = session.exec(
        select(SpendEntry.pipeline, func.sum(SpendEntry.usd), func.count(distinct(col(SpendEntry.run_id))))
        .where(*where)
        .group_by(SpendEntry.pipeline)
    ).all()
    runs = select(SpendEntry.pipeline, SpendEntry.run_id).where(*where).distinct().subquery()
    produced = dict(
        session.exec(
            select(runs.c.pipeline, func.count(col(Artifact.id)))
            .join(runs, runs.c.run_id == Artifact.run_id)
            .group_by(runs.c.pipeline)
        ).all()
    )
    out = []
    for name, usd, n_runs in spend:
        arts = int(produced.get(name, 0))
        out.append(ArtifactCost(name, float(usd or 0.0), int(n_runs), arts, float(usd or 0.0) / arts if arts else None))
    return sorted(out, key=lambda a: (-(a.usd_per_artifact or 0.0), -a.usd, a.pipeline))


# ---- anomalies ------------------------------------------------------------------------------------


@dataclass
class Contribution:
    dimension: str
    value: str
    usd: float  # spent by this value in the anomaly's hour (within its group)
    expected: float  # what it usually spends in an hour (median over the range)
    excess: float  # usd - expected: how much of the surprise it explains
    share: float  # of the hour's spend in the group, 0..1


@dataclass
class FoundAnomaly:
    key: dict[str, str]
    ts: datetime
    value: float
    expected: float
    score: float
    direction: str
    drivers: list[Contribution]


def anomalies(
    *,
    session: Session,
    tenant_id: str,
    window: Window,
    group_by: Sequence[str],
    filters: dict[str, str],
    threshold: float = 3.5,
    include_drops: bool = False,
) -> list[FoundAnomaly]:
    """Hourly spend per group scored by ``analytics.anomalies``; each anomaly names the 3 dimension values
    (pipeline, env, provider, model) whose spend in that hour departs most from their usual hour."""
    dims = [getattr(SpendRollup, d) for d in group_by]
    drivers = [getattr(SpendRollup, d) for d in DRIVER_DIMS]

    def stmt(lo: datetime, hi: datetime) -> Any:
        return (
            select(SpendRollup.hour, *dims, *drivers, func.sum(SpendRollup.usd))  # type: ignore[call-overload]
            .where(*_where(SpendRollup, tenant_id, filters, lo, hi))
            .group_by(SpendRollup.hour, *dims, *drivers)
        )

    # per group: hour -> spend, and (driver dim, value) -> hour -> spend
    hourly: dict[tuple[str, ...], dict[datetime, float]] = defaultdict(lambda: defaultdict(float))
    detail: dict[tuple[str, ...], dict[tuple[str, str], dict[datetime, float]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(float))
    )
    n = len(dims)
    for _, row in _chunked(session, stmt, window.start, window.end):
        hour, usd = _bucket_value(row[0]), float(row[-1] or 0.0)
        key = tuple(str(v or "") for v in row[1 : 1 + n])
        hourly[key][hour] += usd
        for d, v in zip(DRIVER_DIMS, row[1 + n : 1 + n + len(DRIVER_DIMS)], strict=True):
            if d not in group_by and v:
                detail[key][(d, str(v))][hour] += usd
    hours = int((window.end - window.start) / HOUR)
    found: list[FoundAnomaly] = []
    for key, spend in hourly.items():
        for a in analytics.anomalies(sorted(spend.items()), threshold=threshold, include_drops=include_drops):
            found.append(
                FoundAnomaly(
                    key=dict(zip(group_by, key, strict=True)),
                    ts=a.ts,
                    value=a.value,
                    expected=a.expected,
                    score=a.score,
                    direction=a.direction,
                    drivers=_drivers(detail[key], a.ts, spend.get(a.ts, 0.0), hours, spike=a.direction == "spike"),
                )
            )
    return sorted(found, key=lambda f: (f.ts, -abs(f.score)))


def _drivers(
    detail: dict[tuple[str, str], dict[datetime, float]], hour: datetime, hour_total: float, hours: int, *, spike: bool
) -> list[Contribution]:
    """The 3 (dimension, value) pairs that explain most of an anomalous hour: the largest departure from
    their median hour (zeros counted), upwards for a spike, downwards for a drop."""
    out = []
    for (dim, value), spend in detail.items():
        usd = spend.get(hour, 0.0)
        values = list(spend.values()) + [0.0] * max(0, hours - len(spend))
        expected = statistics.median(values) if values else 0.0
        out.append(Contribution(dim, value, usd, expected, usd - expected, usd / hour_total if hour_total > 0 else 0.0))
    out.sort(key=lambda c: (-c.excess if spike else c.excess, c.dimension, c.value))
    return out[:3]


# ---- forecast vs actual ---------------------------------------------------------------------------


@dataclass
class ForecastVsActual:
    start: datetime
    end: datetime
    now: datetime
    actual: list[tuple[datetime, float]]  # cumulative spend at each hour start, period start to now
    forecast: analytics.Forecast


def forecast_vs_actual(
    *,
    session: Session,
    tenant_id: str,
    start: datetime | None,
    end: datetime | None,
    filters: dict[str, str],
    now: datetime,
    cap: float | None = None,
) -> ForecastVsActual:
    """The period's actual cumulative spend per hour and the forecast band to its end (by default the
    current calendar month). The fit reads up to a week before the period too (``analytics.forecast``)."""
    _in_range(start, end)
    lo = floor_hour(_aware(start)) if start is not None else month_start(now)
    hi = ceil_hour(_aware(end)) if end is not None else next_month(lo)
    if lo >= hi:
        raise QueryError("query.to", "must be after `from`")
    if hi - lo > MAX_RANGE:
        raise QueryError("query.to", f"at most {MAX_RANGE.days} days")
    at = min(max(now, lo), hi)
    history = ledger.hourly(session, tenant_id=tenant_id, scope=filters, start=lo - timedelta(days=7), end=min(ceil_hour(at), hi))
    fc = analytics.forecast(history, period_start=lo, period_end=hi, now=at, cap=cap)
    actual = [(ts, cum) for ts, cum, _ in analytics.burndown(history, period_start=lo, now=at, cap=None)]
    return ForecastVsActual(lo, hi, at, actual, fc)


# ---- exports --------------------------------------------------------------------------------------


def _export_query(tenant_id: str, window: Window, filters: dict[str, str]) -> Any:
    fields = [getattr(SpendEntry, f) for f in _EXPORT_FIELDS]
    return (
        select(*fields)
        .where(*_where(SpendEntry, tenant_id, filters, window.start, window.end))
        .order_by(col(SpendEntry.ts), col(SpendEntry.id))
        .execution_options(yield_per=EXPORT_BATCH)
    )


def export_rows(*, engine: Engine, tenant_id: str, window: Window, filters: dict[str, str]) -> Iterator[Sequence[Any]]:
    """Every ledger row of the range, oldest first, read in batches from its own session (a streamed
    response outlives the request's session)."""
    with Session(engine) as session:
        yield from session.exec(_export_query(tenant_id, window, filters))


def _cell(name: str, v: Any) -> Any:
    if name == "ts":
        return _aware(v).isoformat()
    if name == "labels":
        return json.dumps(v or {}, sort_keys=True, separators=(",", ":"))
    return v


def export_csv(*, engine: Engine, tenant_id: str, window: Window, filters: dict[str, str]) -> Iterator[bytes]:
    """CSV (header + one line per ledger row), yielded in chunks of ``EXPORT_BATCH`` rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EXPORT_COLUMNS)
    rows = export_rows(engine=engine, tenant_id=tenant_id, window=window, filters=filters)
    for n, row in enumerate(rows, 1):
        w.writerow([_cell(f, v) for f, v in zip(_EXPORT_FIELDS, row, strict=True)])
        if n % EXPORT_BATCH == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def export_parquet(*, engine: Engine, tenant_id: str, window: Window, filters: dict[str, str]) -> Iterator[bytes]:
    """Parquet, written in row groups of ``EXPORT_BATCH`` rows to a spooled temporary file (a Parquet
    footer is written last, so the file is complete before its first byte is sent), then streamed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("id", pa.int64()), ("ts", pa.timestamp("us", tz="UTC")), ("source", pa.string()), ("sourceId", pa.string()),
            ("project", pa.string()), ("env", pa.string()), ("pipeline", pa.string()), ("runId", pa.string()),
            ("step", pa.string()), ("provider", pa.string()), ("model", pa.string()), ("artifact", pa.string()),
            ("labels", pa.string()), ("usd", pa.float64()), ("tokensIn", pa.int64()), ("tokensOut", pa.int64()),
            ("runnerSeconds", pa.float64()), ("description", pa.string()),
        ]
    )  # fmt: skip
    with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as f:
        with pq.ParquetWriter(f, schema) as writer:
            columns: list[list[Any]] = [[] for _ in _EXPORT_FIELDS]
            for row in export_rows(engine=engine, tenant_id=tenant_id, window=window, filters=filters):
                for c, name, v in zip(columns, _EXPORT_FIELDS, row, strict=True):
                    c.append(_aware(v) if name == "ts" else _cell(name, v))
                if len(columns[0]) >= EXPORT_BATCH:
                    writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                    columns = [[] for _ in _EXPORT_FIELDS]
            if columns[0]:
                writer.write_table(pa.Table.from_arrays(columns, schema=schema))
        f.seek(0)
        while chunk := f.read(1024 * 1024):
            yield chunk


# ---- manual and imported costs --------------------------------------------------------------------


@dataclass
class Imported:
    received: int
    recorded: int
    duplicates: int


def record_entries(*, session: Session, tenant_id: str, actor: str, source: str, entries: Sequence[dict[str, Any]]) -> Imported:
    """Add manual/imported costs to the caller's tenant ledger (the caller commits, with its audit entry).
    An entry id already recorded for this tenant and source, or repeated within the request, is a
    duplicate: recorded once, never counted twice."""
    rows = [{**e, "tenant_id": tenant_id, "source": source, "source_id": e["id"], "recorded_by": actor} for e in entries]
    for r in rows:
        r.pop("id", None)
    new = ledger.record(session, rows)
    return Imported(received=len(entries), recorded=len(new), duplicates=len(entries) - len(new))
