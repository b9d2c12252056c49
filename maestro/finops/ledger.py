"""The spend ledger: append-only rows, idempotent by (tenant, source, source event id), with hourly
rollups kept in the same transaction. A retry of any writer (a projection activity, the gateway usage
consumer, an import) inserts nothing the second time and adds nothing to the rollups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from maestro.domain.finops import ROLLUP_DIMS, SpendEntry, SpendRollup, SpendRollupDay

SOURCES = ("run-step", "gateway", "manual", "import")
_FIELDS = set(SpendEntry.model_fields) - {"id", "created_at"}
_SUMS = ("usd", "tokens_in", "tokens_out", "runner_seconds")


def hour_of(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _insert(session: Session, table: Any) -> Any:
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def record(session: Session, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Insert ledger rows (each names tenant_id, source, source_id, ts and what it cost); returns the rows
    that were new. Rollups grow by exactly those. The caller commits (with whatever it projects alongside)."""
    new: list[dict[str, Any]] = []
    for row in rows:
        values = {k: v for k, v in row.items() if k in _FIELDS}
        values.setdefault("labels", {})
        stmt = (
            _insert(session, SpendEntry)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["tenant_id", "source", "source_id"])
            .returning(col(SpendEntry.id))
        )
        if session.exec(stmt).first() is not None:  # type: ignore[call-overload]
            new.append(values)
    add_to_rollups(session, new)
    return new


def add_to_rollups(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add rows to their hourly and daily rollups (one upsert per hour or day × dimensions)."""
    _upsert(session, SpendRollup, "hour", rows, hour_of)
    _upsert(session, SpendRollupDay, "day", rows, day_of)


def day_of(ts: datetime) -> datetime:
    return hour_of(ts).replace(hour=0)


def _upsert(session: Session, table: Any, grain: str, rows: Sequence[dict[str, Any]], cut: Any) -> None:
    acc: dict[tuple[Any, ...], dict[str, float]] = defaultdict(lambda: dict.fromkeys((*_SUMS, "entries"), 0.0))
    for r in rows:
        key = (r["tenant_id"], cut(r["ts"]), *(r.get(d, "") or "" for d in ROLLUP_DIMS))
        a = acc[key]
        for f in _SUMS:
            a[f] += float(r.get(f, 0) or 0)
        a["entries"] += 1
    t = table.__table__.c
    for key, a in acc.items():
        values = dict(zip(("tenant_id", grain, *ROLLUP_DIMS), key, strict=True))
        ins = _insert(session, table).values(
            **values,
            usd=a["usd"],
            tokens_in=int(a["tokens_in"]),
            tokens_out=int(a["tokens_out"]),
            runner_seconds=a["runner_seconds"],
            entries=int(a["entries"]),
        )
        stmt = ins.on_conflict_do_update(
            index_elements=["tenant_id", grain, *ROLLUP_DIMS],
            set_={f: t[f] + ins.excluded[f] for f in (*_SUMS, "entries")},
        )
        session.exec(stmt)


def rebuild_rollups(session: Session, tenant_id: str | None = None) -> int:
    """Recompute rollups from the ledger (after a bulk load that bypassed ``record``); returns rows written."""
    stmt = select(SpendEntry)
    if tenant_id:
        stmt = stmt.where(SpendEntry.tenant_id == tenant_id)
    from sqlalchemy import delete

    for table in (SpendRollup, SpendRollupDay):
        wipe = delete(table)
        if tenant_id:
            wipe = wipe.where(col(table.tenant_id) == tenant_id)
        session.exec(wipe)  # type: ignore[call-overload]
    n = 0
    batch: list[dict[str, Any]] = []
    for e in session.exec(stmt.execution_options(yield_per=5000)):
        batch.append(e.model_dump())
        if len(batch) >= 5000:
            add_to_rollups(session, batch)
            n += len(batch)
            batch = []
    add_to_rollups(session, batch)
    return n + len(batch)


def project_of(session: Session, *, tenant_id: str, env: str) -> str:
    """The project (slug) an environment name belongs to in a tenant; "" when none or more than one."""
    from maestro.domain.models import Environment, Project

    slugs = session.exec(
        select(Project.slug)
        .join(Environment, col(Environment.project_id) == col(Project.id))
        .where(Project.tenant_id == tenant_id, Environment.name == env)
    ).all()
    return slugs[0] if len(slugs) == 1 else ""


def scope_filter(model: Any, scope: dict[str, str]) -> list[Any]:
    """WHERE clauses for a budget scope on the ledger or its rollups."""
    return [getattr(model, d) == v for d, v in scope.items() if v]


def consumed(session: Session, *, tenant_id: str, scope: dict[str, str], start: datetime, end: datetime) -> tuple[float, int]:
    """USD and tokens a scope spent in [start, end) (rollups are hourly: periods start on the hour)."""
    usd, tin, tout = session.exec(
        select(
            func.coalesce(func.sum(SpendRollup.usd), 0.0),
            func.coalesce(func.sum(SpendRollup.tokens_in), 0),
            func.coalesce(func.sum(SpendRollup.tokens_out), 0),
        ).where(
            SpendRollup.tenant_id == tenant_id,
            col(SpendRollup.hour) >= start,
            col(SpendRollup.hour) < end,
            *scope_filter(SpendRollup, scope),
        )
    ).one()
    return float(usd), int(tin) + int(tout)


def hourly(
    session: Session, *, tenant_id: str, scope: dict[str, str], start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    """Spend per hour (hours with spend only), oldest first."""
    rows = session.exec(
        select(SpendRollup.hour, func.sum(SpendRollup.usd))
        .where(
            SpendRollup.tenant_id == tenant_id,
            col(SpendRollup.hour) >= start,
            col(SpendRollup.hour) < end,
            *scope_filter(SpendRollup, scope),
        )
        .group_by(col(SpendRollup.hour))
        .order_by(col(SpendRollup.hour))
    ).all()
    out: list[tuple[datetime, float]] = []
    for h, usd in rows:
        h = h if isinstance(h, datetime) else datetime.fromisoformat(str(h))
        out.append((h if h.tzinfo else h.replace(tzinfo=UTC), float(usd or 0)))
    return out
