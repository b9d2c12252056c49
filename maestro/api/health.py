"""Readiness checks of the three dependencies, shared by /api/ready and the live status stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import text

from maestro.api.deps import Runtime
from maestro.api.schemas import CheckPublic, ReadyPublic

CHECK_TIMEOUT = 2.0


async def _timed(fn: Callable[[], Awaitable[Any]]) -> CheckPublic:
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(fn(), CHECK_TIMEOUT)
    except Exception as exc:  # each dependency's failure is reported, never raised
        msg = str(exc) or type(exc).__name__
        return CheckPublic(status="down", latency_ms=round((time.perf_counter() - t0) * 1000, 2), error=msg[:300])
    return CheckPublic(status="up", latency_ms=round((time.perf_counter() - t0) * 1000, 2))


async def readiness(rt: Runtime) -> ReadyPublic:
    async def temporal() -> None:
        client = await rt.temporal()
        ok = await client.service_client.check_health()
        if not ok:
            raise RuntimeError("Temporal reports not serving")

    async def redis() -> None:
        await rt.redis.ping()

    def _db() -> None:
        with rt.engine.connect() as c:
            c.execute(text("SELECT 1"))

    async def db() -> None:
        await asyncio.to_thread(_db)

    t, r, d = await asyncio.gather(_timed(temporal), _timed(redis), _timed(db))
    checks = {"temporal": t, "redis": r, "db": d}
    status = "ok" if all(c.status == "up" for c in checks.values()) else "degraded"
    return ReadyPublic(status=status, checks=checks)
