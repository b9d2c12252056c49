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

USAGE_STREAM = "maestro:gateway:usage"  # maestro.gateway.server writes it
GROUP = "maestro-ledger"
CLAIM_IDLE_MS = 60_000
BATCH = 500


def usage_row(entry_id: str, u: dict[str, Any]) -> dict[str, Any] | None:
    """The ledger row of one gateway request; None for a request that was refused or failed (no spend)."""
    status = int(u.get("status") or 0)
    prompt, completion = int(u.get("prompt") or 0), int(u.get("completion") or 0)
    if status >= 400 or status == 0:
        return None
    return {
        "tenant_id": str(u.get("tenant") or ""),
        "source": "gateway",
        "source_id": str(u.get("id") or entry_id)[:200],
        "ts": datetime.fromtimestamp(float(u.get("ts") or 0), UTC),
        "project": str(u.get("project") or "")[:63],
        "env": str(u.get("env") or "")[:63],
        "provider": str(u.get("provider") or "")[:63],
        "model": str(u.get("model") or "")[:200],
        "labels": {"class": str(u.get("class") or "")[:63], "key": str(u.get("key") or "")[:63]},
        "usd": float(u.get("usd") or 0.0),
        "tokens_in": prompt,
        "tokens_out": completion,
        "description": f"{u.get('class', '')} → {u.get('provider', '')}/{u.get('model', '')}"
        + (" (tokens estimated)" if u.get("estimated") else ""),
    }


def ingest_batch(engine: Engine, entries: list[tuple[str, dict[bytes, bytes]]]) -> int:
    """Write a batch to the ledger (one transaction); returns the rows that were new."""
    rows = []
    for entry_id, fields in entries:
        raw = fields.get(b"u")
        try:
            u = json.loads(raw) if raw else None
        except ValueError:
            log.warning("gateway usage entry %s is not JSON; skipped", entry_id)
            continue
        if isinstance(u, dict) and u.get("tenant"):
            row = usage_row(entry_id, u)
            if row is not None:
                rows.append(row)
    if not rows:
        return 0
    with Session(engine) as s:
        new = ledger.record(s, rows)
        s.commit()
    return len(new)


def ensure_group(redis: Redis) -> None:
    try:
        redis.xgroup_create(USAGE_STREAM, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def consume_once(redis: Redis, engine: Engine, consumer: str, *, block_ms: int = 1000) -> int:
    """One round: this consumer's own pending entries first (a restart), then others' stale ones, then new."""
    mine = redis.xreadgroup(GROUP, consumer, {USAGE_STREAM: "0"}, count=BATCH)
    entries = _entries(mine)
    if not entries:
        claimed = redis.xautoclaim(USAGE_STREAM, GROUP, consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=BATCH)
        entries = [(_s(i), f) for i, f in claimed[1] if f] if claimed and len(claimed) > 1 else []
    if not entries:
        entries = _entries(redis.xreadgroup(GROUP, consumer, {USAGE_STREAM: ">"}, count=BATCH, block=block_ms))
    if not entries:
        return 0
    ingest_batch(engine, entries)
    redis.xack(USAGE_STREAM, GROUP, *[i for i, _ in entries])
    return len(entries)


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


def _entries(resp: Any) -> list[tuple[str, dict[bytes, bytes]]]:
    out: list[tuple[str, dict[bytes, bytes]]] = []
    for _stream, items in resp or []:
        out.extend((_s(i), f) for i, f in items if f)
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
