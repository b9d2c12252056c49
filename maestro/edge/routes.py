"""Routing state shared by the control plane (writer) and every edge router (readers), in Redis.

A service's route: stable and canary upstream URLs, the canary weight (0-100), optional sticky
routing, and the rollout that owns it. Per-version traffic statistics are aggregated by each edge
into 1-second buckets, so rollout analysis reads the same numbers whichever edge served a request.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from redis import Redis

ROUTES = "maestro:edge:routes"
BUCKET_S = 1
LATENCY_BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
STATS_TTL_S = 6 * 3600


@dataclass
class Route:
    service: str
    stable: str
    canary: str | None = None
    weight: int = 0  # % of requests to the canary
    sticky: str | None = None  # "header:<name>" or "cookie:<name>"
    rollout_id: str | None = None
    revision: int = 0
    updated_at: float = field(default_factory=time.time)
    # the traffic provider that carries this service's traffic (maestro.rollouts.providers): the built-in
    # edge routes only "edge" services; the others' weights are applied to HAProxy, an HTTPRoute, …
    provider: str = "edge"
    provider_config: dict[str, Any] = field(default_factory=dict)
    # the rollout that last wrote it and that write's number: a stale write of the same rollout (an
    # application retried or delayed past a later one) never replaces a later one
    owner: str | None = None
    seq: int = 0


def put(redis: Redis, route: Route) -> None:
    redis.hset(ROUTES, route.service, json.dumps(asdict(route)))


def put_if_newer(redis: Redis, route: Route) -> bool:
    """Write the route unless its owner already wrote a later one (False: this write is stale, skipped).
    The same write again (a retry) is written again, so the provider behind it is told again too."""
    from redis.exceptions import WatchError

    with redis.pipeline() as pipe:
        while True:
            try:
                pipe.watch(ROUTES)  # type: ignore[no-untyped-call]
                raw = pipe.hget(ROUTES, route.service)
                if raw and route.owner:
                    old = json.loads(raw)
                    if old.get("owner") == route.owner and int(old.get("seq", 0)) > route.seq:
                        pipe.unwatch()
                        return False
                pipe.multi()
                pipe.hset(ROUTES, route.service, json.dumps(asdict(route)))
                pipe.execute()
                return True
            except WatchError:  # another route changed meanwhile: read again
                continue


def get(redis: Redis, service: str) -> Route | None:
    raw = redis.hget(ROUTES, service)
    return Route(**json.loads(raw)) if raw else None  # type: ignore[arg-type]


def parse_routes(raw: dict[Any, Any]) -> dict[str, Route]:
    """The ROUTES hash as read from Redis (sync or async client) → routes by service."""
    return {(k.decode() if isinstance(k, bytes) else k): Route(**json.loads(v)) for k, v in raw.items()}


def stats_key(service: str, version: str, bucket: int) -> str:
    return f"maestro:edge:stats:{service}:{version}:{bucket}"


@dataclass
class Window:
    requests: int = 0
    errors: int = 0
    latency_sum_ms: float = 0.0
    buckets: dict[int, int] = field(default_factory=dict)  # le (ms) → count (cumulative per bucket edge)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def latency_quantile(self, q: float) -> float | None:
        if not self.requests:
            return None
        target = q * self.requests
        for le in LATENCY_BUCKETS_MS:
            if self.buckets.get(le, 0) >= target:
                return float(le)
        return float("inf")


def window(redis: Redis, service: str, version: str, seconds: float, now: float | None = None) -> Window:
    """Traffic of one version over the last `seconds` (whole 1 s buckets, the current one included)."""
    now = now or time.time()
    first, last = int((now - seconds) // BUCKET_S), int(now // BUCKET_S)
    pipe = redis.pipeline()
    for b in range(first + 1, last + 1):
        pipe.hgetall(stats_key(service, version, b))
    w = Window()
    for h in pipe.execute():
        data = {(k.decode() if isinstance(k, bytes) else k): float(v) for k, v in h.items()}
        w.requests += int(data.get("req", 0))
        w.errors += int(data.get("err", 0))
        w.latency_sum_ms += data.get("lat", 0.0)
        for le in LATENCY_BUCKETS_MS:
            w.buckets[le] = w.buckets.get(le, 0) + int(data.get(f"le{le}", 0))
    return w
