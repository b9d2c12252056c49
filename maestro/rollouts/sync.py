"""The provider sync loop of the control worker: every MAESTRO_PROVIDER_SYNC_SECONDS, each route carried
by an external traffic provider (not the built-in edge, whose routers re-read routes themselves) is
handed to its provider's `sync(route)`: re-apply what the provider forgot, sample its traffic counters.

Several control workers may run: a route is synced by one of them at a time, the holder of a short
lease in Redis, so counters are never sampled (and counted) twice. One failing provider never stops
the loop: its failures are logged as warnings, at most one a minute per service.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass, field

from redis import Redis

from maestro.config import Settings
from maestro.edge import routes as edge
from maestro.rollouts import providers

log = logging.getLogger("maestro.rollouts.sync")

WARN_EVERY_S = 60.0
LEASE_KEY = "maestro:provider-sync:lease:{service}"
# take the lease when free, extend it when ours; 1 when this process holds it now
_LEASE = """
local v = redis.call('GET', KEYS[1])
if v == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
"""
_OWNER = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def lease_seconds(settings: Settings) -> float:
    """How long a worker holds a route's lease without renewing it (and how old a counter sample may be)."""
    return max(5.0, 5 * settings.provider_sync_seconds)


@dataclass
class _Failures:
    """Rate-limited warnings per service: the first failure, then at most one a minute with a count."""

    last_warned: dict[str, float] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)

    def failed(self, service: str, provider: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self.last_warned.get(service, -WARN_EVERY_S) >= WARN_EVERY_S:
            more = self.suppressed.pop(service, 0)
            also = f" ({more} more failures in the last minute)" if more else ""
            log.warning("traffic provider %s of service %s: sync failed: %s%s", provider, service, exc, also)
            self.last_warned[service] = now
        else:
            self.suppressed[service] = self.suppressed.get(service, 0) + 1

    def ok(self, service: str, provider: str) -> None:
        if self.last_warned.pop(service, None) is not None:
            self.suppressed.pop(service, None)
            log.info("traffic provider %s of service %s: sync works again", provider, service)


def _routes(redis: Redis) -> list[edge.Route]:
    return [r for r in edge.parse_routes(redis.hgetall(edge.ROUTES)).values() if r.provider != "edge"]


def sync_route(route: edge.Route, *, redis: Redis, settings: Settings) -> bool:
    """One route, if this process holds its lease: the provider's sync. False when another worker has it."""
    ttl_ms = int(lease_seconds(settings) * 1000)
    if not redis.eval(_LEASE, 1, LEASE_KEY.format(service=route.service), _OWNER, ttl_ms):  # type: ignore[no-untyped-call]
        return False
    providers.provider_for(route, redis=redis, settings=settings).sync(route)
    return True


async def provider_sync(settings: Settings, stop: asyncio.Event) -> None:
    """Until `stop` is set: sync every non-edge route, each in a thread, every provider_sync_seconds. A
    route whose previous sync still runs (a provider timing out) is skipped, so it delays no other."""
    redis = Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2, socket_timeout=5)
    failures = _Failures()
    interval = settings.provider_sync_seconds
    running: dict[str, asyncio.Task[None]] = {}

    async def one(route: edge.Route) -> None:
        try:
            await asyncio.to_thread(sync_route, route, redis=redis, settings=settings)
        except Exception as exc:
            failures.failed(route.service, route.provider, exc)
        else:
            failures.ok(route.service, route.provider)

    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                routes = await asyncio.to_thread(_routes, redis)
            except Exception as exc:
                failures.failed("(all services)", "routing state in Redis", exc)
                routes = []
            else:
                failures.ok("(all services)", "routing state in Redis")
            for r in routes:
                if r.service not in running or running[r.service].done():
                    running[r.service] = asyncio.create_task(one(r))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.05, interval - (time.monotonic() - started)))
    finally:
        await asyncio.gather(*running.values(), return_exceptions=True)
        redis.close()
