"""`maestro edge`: the edge router. Requests to /<service>/<path> go to the service's stable or canary
upstream by weight (or sticky by header/cookie); every response is counted per version."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route as HttpRoute

from maestro.config import Settings
from maestro.edge import routes as rt

log = logging.getLogger("maestro.edge")
HOP_HEADERS = {
    *("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers"),
    *("transfer-encoding", "upgrade", "host", "content-length"),
}


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


class Stats:
    """Per-version counters, flushed to Redis 1 s buckets every refresh (one pipeline, not per request)."""

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str, int], dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def record(self, service: str, version: str, ms: float, error: bool) -> None:
        b = self.pending[(service, version, int(time.time() // rt.BUCKET_S))]
        b["req"] += 1
        b["err"] += 1 if error else 0
        b["lat"] += ms
        for le in rt.LATENCY_BUCKETS_MS:
            if ms <= le:
                b[f"le{le}"] += 1

    async def flush(self, redis: Redis) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, defaultdict(lambda: defaultdict(float))
        pipe = redis.pipeline()
        for (service, version, bucket), fields in batch.items():
            key = rt.stats_key(service, version, bucket)
            for f, v in fields.items():
                if f == "lat":
                    pipe.hincrbyfloat(key, f, v)
                else:
                    pipe.hincrby(key, f, int(v))
            pipe.expire(key, rt.STATS_TTL_S)
        await pipe.execute()


def create_edge(settings: Settings) -> Starlette:
    registry = CollectorRegistry()
    requests = Counter(
        "maestro_edge_requests", "Requests through the edge router", ["service", "version", "outcome"], registry=registry
    )
    latency = Histogram(
        "maestro_edge_request_duration_seconds",
        "Upstream latency seen by the edge router",
        ["service", "version"],
        buckets=tuple(b / 1000 for b in rt.LATENCY_BUCKETS_MS),
        registry=registry,
    )
    state: dict[str, Any] = {"routes": {}}
    stats = Stats()

    async def refresh(redis: Redis) -> None:
        while True:
            try:
                raw = await redis.hgetall(rt.ROUTES)
                state["routes"] = rt.parse_routes(raw)
                await stats.flush(redis)
            except Exception:
                log.warning("edge: route refresh or stats flush failed", exc_info=True)
            await asyncio.sleep(settings.edge_refresh_seconds)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2, socket_timeout=5)
        client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), limits=httpx.Limits(max_connections=512))
        app.state.client = client
        task = asyncio.create_task(refresh(redis))
        try:
            yield
        finally:
            task.cancel()
            await stats.flush(redis)
            await client.aclose()
            await redis.aclose()

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "services": sorted(state["routes"])})

    async def proxy(request: Request) -> Response:
        service = request.path_params["service"]
        route: rt.Route | None = state["routes"].get(service)
        if route is None:
            return JSONResponse(
                {"title": "Unknown service", "status": 404, "detail": f"No route for service {service!r}."},
                status_code=404,
                media_type="application/problem+json",
            )
        version = pick(route, {k.lower(): v for k, v in request.headers.items()}, request.cookies)
        upstream = (route.canary if version == "canary" else route.stable) or route.stable
        url = upstream.rstrip("/") + "/" + request.path_params.get("path", "")
        if request.url.query:
            url += "?" + request.url.query
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        t0 = time.perf_counter()
        try:
            r = await request.app.state.client.request(request.method, url, headers=headers, content=await request.body())
        except httpx.HTTPError as exc:
            ms = (time.perf_counter() - t0) * 1000
            stats.record(service, version, ms, True)
            requests.labels(service, version, "connect_error").inc()
            latency.labels(service, version).observe(ms / 1000)
            return JSONResponse(
                {"title": "Upstream unreachable", "status": 502, "detail": f"{version} upstream: {exc}"},
                status_code=502,
                headers={"x-maestro-version": version},
                media_type="application/problem+json",
            )
        ms = (time.perf_counter() - t0) * 1000
        error = r.status_code >= 500
        stats.record(service, version, ms, error)
        requests.labels(service, version, f"{r.status_code // 100}xx").inc()
        latency.labels(service, version).observe(ms / 1000)
        resp = Response(r.content, status_code=r.status_code)
        for k, v in r.headers.multi_items():  # every Set-Cookie kept; the edge's own Date replaces the upstream's
            if k.lower() not in HOP_HEADERS | {"content-encoding", "date"}:
                resp.headers.append(k, v)
        resp.headers["x-maestro-version"] = version
        return resp

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[
            HttpRoute("/_edge/metrics", metrics),
            HttpRoute("/_edge/health", health),
            HttpRoute("/{service}", proxy, methods=methods),
            HttpRoute("/{service}/{path:path}", proxy, methods=methods),
        ],
        lifespan=lifespan,
    )
