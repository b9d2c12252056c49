"""Gateway requests into the spend ledger: a Redis consumer group on the gateway's usage stream.

Each worker replica is a consumer of the group ``maestro-ledger``. A batch is written to the ledger in
one transaction and acknowledged after it commits; a worker killed in between leaves the batch pending,
and it is claimed again (by this consumer on restart, or by another one after ``CLAIM_IDLE_MS``). The
ledger is idempotent by request id, so a batch written twice counts once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError
from sqlalchemy import Engine
from sqlmodel import Session

from maestro.config import Settings
from maestro.db import get_engine
from maestro.finops import ledger

log = logging.getLogger("maestro.finops.ingest")

USAGE_STREAM = "maestro:gateway:usage"  # maestro.gateway.server writes them
REFUSALS_STREAM = "maestro:gateway:budget-refusals"
STREAMS = (USAGE_STREAM, REFUSALS_STREAM)
GROUP = "maestro-ledger"
CLAIM_IDLE_MS = 60_000
BATCH = 500


def _text(v: Any, n: int) -> str:
    return str(v or "").replace("\x00", "")[:n]


def usage_row(entry_id: str, u: dict[str, Any]) -> dict[str, Any] | None:
    """The ledger row of one gateway request; None for an attempt that failed before any answer (no spend).
    A stream the client closed (499) or the provider broke (502) still spent its tokens: it counts."""
    prompt, completion = int(u.get("prompt") or 0), int(u.get("completion") or 0)
    usd = float(u.get("usd") or 0.0)
    if u.get("failed") or (usd <= 0 and prompt + completion == 0):
        return None
    return {
        "tenant_id": _text(u.get("tenant"), 32),
        "source": "gateway",
        "source_id": _text(u.get("id") or entry_id, 200),
        "ts": datetime.fromtimestamp(float(u.get("ts") or 0), UTC),
        "project": _text(u.get("project"), 63),
        "env": _text(u.get("env"), 63),
        "provider": _text(u.get("provider"), 63),
        "model": _text(u.get("model"), 200),
        "labels": {"class": _text(u.get("class"), 63), "key": _text(u.get("key"), 63)},
        "usd": usd,
        "tokens_in": prompt,
        "tokens_out": completion,
        "description": _text(f"{u.get('class', '')} → {u.get('provider', '')}/{u.get('model', '')}", 480)
        + (" (tokens estimated)" if u.get("estimated") else "")
        + (f" (HTTP {u.get('status')})" if int(u.get("status") or 0) >= 400 else ""),
    }


def ingest_batch(engine: Engine, entries: list[tuple[str, str, dict[bytes, bytes]]]) -> int:
    """Write a batch to the ledger and the budgets' histories (one transaction); returns the ledger rows
    that were new."""
    rows, refusals = [], []
    for stream, entry_id, fields in entries:
        raw = fields.get(b"u") or fields.get(b"r")
        try:
            u = json.loads(raw) if raw else None
        except ValueError:
            log.warning("gateway entry %s is not JSON; skipped", entry_id)
            continue
        if not isinstance(u, dict):
            continue
        if stream == REFUSALS_STREAM:
            refusals.append(u)
        elif u.get("tenant"):
            row = usage_row(entry_id, u)
            if row is not None:
                rows.append(row)
    if not rows and not refusals:
        return 0
    with Session(engine) as s:
        new = ledger.record(s, rows)
        for r in refusals:
            _refusal(s, r)
        s.commit()
    return len(new)


def _refusal(s: Session, r: dict[str, Any]) -> None:
    """Requests a frozen (or slowed-down) budget refused at the gateway, one history entry and one audit
    entry per budget and gateway flush (not per request: a client retrying in a loop writes no more)."""
    from maestro.domain.auditlog import append_audit
    from maestro.domain.finops import Budget
    from maestro.finops.activities import add_note
    from maestro.finops.shared import BudgetNote

    b = s.get(Budget, _text(r.get("budget"), 32))
    if b is None:
        return
    count, why = int(r.get("count") or 0), _text(r.get("why"), 40)
    note = BudgetNote(
        kind="refused",
        actor="gateway",
        reason=f"{count} gateway request(s) refused: {why}",
        detail={"path": "gateway", "count": count},
    )
    if add_note(s, b.id, note, _text(r.get("id"), 200)):
        append_audit(
            s,
            actor="gateway",
            action="budget.refused",
            target_type="budget",
            target_id=b.id,
            change={"what": f"{count} gateway request(s)", "path": "gateway", "budget": b.name, "why": why},
        )


def ensure_group(redis: Redis) -> None:
    for stream in STREAMS:
        try:
            redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise


def consume_once(redis: Redis, engine: Engine, consumer: str, *, block_ms: int = 1000) -> int:
    """One round: this consumer's own pending entries first (a restart), then others' stale ones, then new."""
    entries = _entries(redis.xreadgroup(GROUP, consumer, dict.fromkeys(STREAMS, "0"), count=BATCH))
    if not entries:
        for stream in STREAMS:
            claimed = redis.xautoclaim(stream, GROUP, consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=BATCH)
            entries += [(stream, _s(i), f) for i, f in claimed[1] if f] if claimed and len(claimed) > 1 else []
    if not entries:
        entries = _entries(redis.xreadgroup(GROUP, consumer, dict.fromkeys(STREAMS, ">"), count=BATCH, block=block_ms))
    if not entries:
        return 0
    ingest_batch(engine, entries)
    for stream in STREAMS:
        ids = [i for st, i, _ in entries if st == stream]
        if ids:
            redis.xack(stream, GROUP, *ids)
    return len(entries)


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _entries(resp: Any) -> list[tuple[str, str, dict[bytes, bytes]]]:
    out: list[tuple[str, str, dict[bytes, bytes]]] = []
    for stream, items in resp or []:
        out.extend((_s(stream), _s(i), f) for i, f in items if f)
    return out


async def gateway_usage_loop(settings: Settings, stop: asyncio.Event) -> None:
    """Until `stop`: gateway usage → ledger. Redis or the database away: wait and try again (nothing acked)."""
    redis = Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2, socket_timeout=10)
    engine = get_engine(settings.effective_database_url)
    consumer = f"{socket.gethostname()}:{os.getpid()}"
    ready = False
    try:
        while not stop.is_set():
            try:
                if not ready:
                    await asyncio.to_thread(ensure_group, redis)
                    ready = True
                n = await asyncio.to_thread(consume_once, redis, engine, consumer)
            except Exception:
                log.warning("gateway usage → ledger: retrying", exc_info=True)
                ready = False
                n = 0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2.0)
            if n == 0:
                await asyncio.sleep(0)  # the blocking read already waited
    finally:
        redis.close()
