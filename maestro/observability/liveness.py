"""Worker and runner liveness: each process refreshes a Redis key with a TTL; /metrics counts them.

A key expires three heartbeats after its process stopped refreshing it (killed, hung, cut off from
Redis), so `maestro_workers_up` drops without anybody having to deregister.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from maestro import __version__

log = logging.getLogger("maestro.liveness")
PREFIX = "maestro:liveness:"


@dataclass(frozen=True)
class Beat:
    kind: str  # worker | runner
    pool: str  # the control task queue for workers, the pool for runners
    task_queue: str
    host: str
    pid: int
    version: str
    started_at: float
    seen_at: float
    details: dict[str, Any] = field(default_factory=dict)  # e.g. a runner's workspaceBytes


def _key(kind: str, pool: str, host: str, pid: int) -> str:
    return f"{PREFIX}{kind}:{pool}:{host}:{pid}"


async def heartbeat(
    redis: AsyncRedis,
    *,
    kind: str,
    pool: str,
    task_queue: str,
    interval: float,
    stop: asyncio.Event,
    details: Callable[[], dict[str, Any]] | None = None,
) -> None:
    """Refresh this process's liveness key until `stop` is set; removes it on a clean stop."""
    host, pid, started = socket.gethostname(), os.getpid(), time.time()
    key = _key(kind, pool, host, pid)
    while not stop.is_set():
        extra: dict[str, Any] = {}
        if details is not None:
            try:
                extra = await asyncio.to_thread(details)
            except Exception:
                log.warning("liveness details failed", exc_info=True)
        beat = Beat(kind, pool, task_queue, host, pid, __version__, started, time.time(), extra)
        try:
            await redis.set(key, json.dumps(beat.__dict__), ex=max(int(interval * 3), 3))
        except Exception:  # Redis down: the key expires and the process shows as not live, which is the truth
            log.warning("liveness heartbeat failed", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
    try:
        await redis.delete(key)
    except Exception:
        log.info("could not remove liveness key %s", key, exc_info=True)


def live(redis: Redis) -> list[Beat]:
    out: list[Beat] = []
    keys = list(redis.scan_iter(match=f"{PREFIX}*", count=500))
    if not keys:
        return out
    for raw in redis.mget(keys):
        if raw is None:
            continue
        try:
            data: dict[str, Any] = json.loads(raw)
            out.append(Beat(**data))
        except (ValueError, TypeError):
            continue
    return out
