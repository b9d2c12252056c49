"""`maestro edge`: the edge router. Requests to /<service>/<path> go to the service's stable or canary
upstream by weight (or sticky by header/cookie); every response is counted per version.

The proxying itself (HTTP/1.1 keep-alive both sides, pooled upstream connections, streamed bodies,
limits) is `maestro.proxy`; this module is what makes it the edge: routes re-read from Redis and
counters flushed to Redis on one tick (never per request), version choice, x-maestro-version,
/_edge/metrics and /_edge/health."""

from __future__ import annotations

import asyncio
import bisect
import gc
import hashlib
import json
import logging
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString
from redis.asyncio import Redis

from maestro.config import Settings
from maestro.edge import routes as rt
from maestro.proxy import Forward, Limits, Origin, ProxyServer, Reply, Request, problem

log = logging.getLogger("maestro.edge")
METHODS = frozenset({b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD", b"OPTIONS"})
_LE = rt.LATENCY_BUCKETS_MS
_LE_LABELS = tuple(floatToGoString(le / 1000) for le in _LE)  # type: ignore[no-untyped-call]
_OUTCOME = {i: f"{i}xx" for i in range(1, 10)}
VERSION_HEADER = {v: f"x-maestro-version: {v}\r\n".encode() for v in ("stable", "canary")}


def pick(route: rt.Route, request_headers: dict[str, str], cookies: dict[str, str]) -> str:
    """ "canary" or "stable" for one request."""
    if not route.canary or route.weight <= 0:
        return "stable"
    if route.weight >= 100:
        return "canary"
    key = None
    if route.sticky:
        kind, _, name = route.sticky.partition(":")
        key = request_headers.get(name.lower()) if kind == "header" else cookies.get(name) if kind == "cookie" else None
    if key:
        bucket = int.from_bytes(hashlib.sha256(f"{route.service}:{key}".encode()).digest()[:4], "big") % 100
    else:
        bucket = random.randrange(100)
    return "canary" if bucket < route.weight else "stable"


def parse_cookies(header: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in out:
            out[name] = value.strip().strip('"')
    return out


class Stats:
    """Per-version counters in memory: 1 s buckets flushed to Redis every refresh (one pipeline, never per
    request) under the keys `routes.window()` reads, and running totals for /_edge/metrics."""

    def __init__(self) -> None:
        # (service, version, 1 s bucket) → [requests, errors, latency sum ms, per-bucket counts (non-cumulative)]
        self.pending: dict[tuple[str, str, int], list[Any]] = {}
        # (service, version) → [{outcome: n}, per-bucket counts (non-cumulative, last = over the top), sum seconds]
        self.totals: dict[tuple[str, str], list[Any]] = {}

    def record(self, service: str, version: str, ms: float, error: bool, outcome: str | None = None) -> None:
        i = bisect.bisect_left(_LE, ms)  # first bucket edge ≥ ms
        key = (service, version, int(time.time() // rt.BUCKET_S))
        b = self.pending.get(key)
        if b is None:
            b = self.pending[key] = [0, 0, 0.0, [0] * (len(_LE) + 1)]
        b[0] += 1
        b[1] += error
        b[2] += ms
        b[3][i] += 1
        t = self.totals.get((service, version))
        if t is None:
            t = self.totals[(service, version)] = [{}, [0] * (len(_LE) + 1), 0.0]
        outcomes = t[0]
        name = outcome or ("5xx" if error else "2xx")
        outcomes[name] = outcomes.get(name, 0) + 1
        t[1][i] += 1
        t[2] += ms / 1000

    async def flush(self, redis: Redis) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, {}
        pipe = redis.pipeline(transaction=False)
        for (service, version, bucket), (req, err, lat, counts) in batch.items():
            key = rt.stats_key(service, version, bucket)
            pipe.hincrby(key, "req", req)
            pipe.hincrby(key, "err", err)
            pipe.hincrbyfloat(key, "lat", lat)
            cumulative = 0
            for le, n in zip(_LE, counts, strict=False):
                cumulative += n
                if cumulative:
                    pipe.hincrby(key, f"le{le}", cumulative)
            pipe.expire(key, rt.STATS_TTL_S)
        await pipe.execute()


class _Metrics:
    """Prometheus view of the in-memory totals (same names as the prometheus_client metrics before)."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "maestro_edge_requests", "Requests through the edge router", labels=["service", "version", "outcome"]
        )
        latency = HistogramMetricFamily(
            "maestro_edge_request_duration_seconds",
            "Upstream latency seen by the edge router",
            labels=["service", "version"],
        )
        for (service, version), (outcomes, counts, total) in sorted(self.stats.totals.items()):
            for outcome, n in sorted(outcomes.items()):
                requests.add_metric([service, version, outcome], n)
            buckets, cumulative = [], 0
            for label, n in zip(_LE_LABELS, counts, strict=False):
                cumulative += n
                buckets.append((label, cumulative))
            buckets.append(("+Inf", cumulative + counts[-1]))
            latency.add_metric([service, version], buckets, total)
        yield requests
        yield latency


@dataclass(slots=True)
class _Entry:
    """A route ready for the hot path: parsed upstreams and the tags counters are kept under."""

    route: rt.Route
    stable: Origin | None
    canary: Origin | None
    error: str | None
    stable_tag: tuple[str, str]
    canary_tag: tuple[str, str]


def _origin(url: str | None) -> Origin | None:
    return Origin.parse(url) if url else None


def _entry(route: rt.Route) -> _Entry:
    error = None
    stable = canary = None
    try:
        stable = _origin(route.stable)
        canary = _origin(route.canary)
    except ValueError as exc:
        error = str(exc)
    return _Entry(route, stable, canary, error, (route.service, "stable"), (route.service, "canary"))


def _json(status: int, obj: object) -> Reply:
    return Reply(status, json.dumps(obj).encode())


class Edge:
    """The edge router's application on the proxy core, plus its Redis tick."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.table: dict[str, _Entry] = {}
        self.stats = Stats()
        self.registry = CollectorRegistry()
        self.registry.register(_Metrics(self.stats))  # type: ignore[arg-type]
        self.limits = Limits(
            connect_timeout=settings.edge_connect_timeout_seconds,
            upstream_timeout=settings.edge_upstream_timeout_seconds,
            max_body_bytes=settings.edge_max_body_bytes,
        )
        self.proxy: ProxyServer | None = None
        self.redis: Redis | None = None
        self._tick: asyncio.Task[None] | None = None

    # -- the proxy's App interface (hot path)
    def handle(self, request: Request) -> Forward | Reply:
        path, sep, query = request.target.partition(b"?")
        end = path.find(b"/", 1)
        service = (path[1:] if end < 0 else path[1:end]).decode("latin-1")
        if service == "_edge":
            return self._own(request, path)
        entry = self.table.get(service)
        if entry is None:
            return problem(404, "Unknown service", f"No route for service {service!r}.")
        route = entry.route
        if route.provider != "edge":
            return problem(
                404,
                "Service routed elsewhere",
                f"Service {service!r} is carried by the {route.provider!r} traffic provider, not by this edge router.",
            )
        if request.method not in METHODS:
            allow = b"allow: " + b", ".join(sorted(METHODS)) + b"\r\n"
            return problem(405, "Method not allowed", f"The edge router does not forward {request.method.decode()}.", allow)
        if entry.error is not None:
            return problem(502, "Bad route", f"The route for {service!r} is unusable: {entry.error}.")
        if route.canary and 0 < route.weight < 100 and route.sticky:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, _, v in request.headers}
            version = pick(route, headers, parse_cookies(headers.get("cookie", "")))
        else:
            version = pick(route, {}, {})
        origin = entry.canary if version == "canary" else None
        tag = entry.canary_tag
        if origin is None:
            version, origin, tag = "stable", entry.stable, entry.stable_tag
            if origin is None:
                return problem(502, "Bad route", f"The route for {service!r} has no stable upstream.")
        target = origin.base_path + (b"/" if end < 0 else path[end:])
        if sep:
            target += b"?" + query
        return Forward(origin, target, VERSION_HEADER[version], tag)

    def observe(self, tag: tuple[str, str], status: int, seconds: float) -> None:
        self.stats.record(tag[0], tag[1], seconds * 1000, status >= 500, _OUTCOME.get(status // 100, "other"))

    def failed(self, tag: tuple[str, str], outcome: str, seconds: float) -> None:
        self.stats.record(tag[0], tag[1], seconds * 1000, True, outcome)

    def _own(self, request: Request, path: bytes) -> Reply:
        if request.method not in (b"GET", b"HEAD"):
            return problem(405, "Method not allowed", "The edge's own endpoints answer GET only.", b"allow: GET, HEAD\r\n")
        if path == b"/_edge/metrics":
            return Reply(200, generate_latest(self.registry), CONTENT_TYPE_LATEST.encode())
        if path == b"/_edge/health":
            served = sorted(s for s, e in self.table.items() if e.route.provider == "edge")
            return _json(200, {"status": "ok", "services": served})
        return problem(404, "Not found", "The edge's own endpoints are /_edge/health and /_edge/metrics.")

    # -- the tick: routes in, counters out
    async def refresh(self) -> None:
        assert self.redis is not None
        try:
            raw = await self.redis.hgetall(rt.ROUTES)
            self.table = {s: _entry(r) for s, r in rt.parse_routes(raw).items()}
        except Exception:
            log.warning("edge: route refresh failed", exc_info=True)
        try:
            await self.stats.flush(self.redis)
        except Exception:
            log.warning("edge: stats flush failed", exc_info=True)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.edge_refresh_seconds)
            await self.refresh()

    async def start(self, host: str | None = None, port: int | None = None) -> int:
        """Read routes, listen, start the tick; returns the bound port (port 0: a free one)."""
        s = self.settings
        self.redis = Redis.from_url(s.effective_redis_url, socket_connect_timeout=2, socket_timeout=5)
        await self.refresh()
        self.proxy = ProxyServer(self, self.limits)
        bound = await self.proxy.start(s.edge_host if host is None else host, s.edge_port if port is None else port)
        self._tick = asyncio.get_running_loop().create_task(self._loop())
        return bound

    async def stop(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
        if self.proxy is not None:
            await self.proxy.stop()
        if self.redis is not None:
            try:
                await self.stats.flush(self.redis)
            except Exception:
                log.warning("edge: final stats flush failed", exc_info=True)
            await self.redis.aclose()


def create_edge(settings: Settings) -> Edge:
    return Edge(settings)


def run(settings: Settings) -> None:
    """`maestro edge`: serve until SIGTERM/SIGINT, then drain in-flight requests and flush counters."""
    import uvloop

    async def main() -> None:
        edge = create_edge(settings)
        port = await edge.start()
        gc.collect()
        gc.freeze()  # start-up objects (imports, settings) out of the collector's way: no long pauses under load
        log.info("edge router listening on %s:%d", settings.edge_host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await edge.stop()

    uvloop.run(main())
