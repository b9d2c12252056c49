"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import fastapi.routing
import swagger_ui
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis import Redis as SyncRedis
from redis.asyncio import Redis
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import compile_path
from starlette.staticfiles import StaticFiles

from maestro import __version__
from maestro.api import problems
from maestro.api.deps import SESSION_COOKIE, Public, Runtime, is_public
from maestro.api.health import readiness
from maestro.api.idempotency import IdempotencyMiddleware
from maestro.api.metrics import ProjectionCollector
from maestro.api.middleware import BodyLimitMiddleware, MethodsMiddleware, RequestContextMiddleware
from maestro.api.routes import (
    alerts,
    audit,
    auth,
    budgets,
    costs,
    evidence,
    health,
    hub,
    insights,
    pipelines,
    policies,
    rollouts,
    routing,
    runbooks,
    runs,
    search,
    slo,
    streams,
    supply,
    system,
    tokens,
    users,
)
from maestro.api.ui import mount_ui
from maestro.config import Settings
from maestro.db import get_engine
from maestro.events import make_envelope
from maestro.events.streams import audit_publisher, publish
from maestro.observability.traffic import TrafficRecorder
from maestro.telemetry import setup_tracing
from maestro.temporal import connect

log = logging.getLogger("maestro.api")


def _operation_id(route: APIRoute) -> str:
    return route.operation_id or route.name


SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "mst_…",
        "description": "A Maestro API token (Admin → API tokens, or POST /api/tokens): `Authorization: Bearer mst_…`.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The browser session from POST /api/auth/login; changes also need the X-CSRF-Token header.",
    },
}


def _allowed_methods(app: FastAPI) -> Callable[[str], list[str]]:
    """path → every method some route serves there (HEAD wherever GET is), for 405's Allow."""
    table: list[tuple[re.Pattern[str], set[str]]] = []
    for ctx in fastapi.routing.iter_route_contexts(app.routes):
        methods = getattr(ctx, "methods", None)
        path = getattr(ctx, "path", None)
        if methods and path:
            table.append((compile_path(path)[0], set(methods)))

    def allowed(path: str) -> list[str]:
        methods: set[str] = set()
        for regex, ms in table:
            if regex.match(path):
                methods |= ms
        if "GET" in methods and not path.startswith("/api/streams/"):
            methods.add("HEAD")
        return sorted(methods)

    return allowed


def _document_security(app: FastAPI) -> None:
    """securitySchemes and, per operation, whether it needs them (public routes say `security: []`); a
    streamed body's schema is its model's alone."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        public = {
            (ctx.path, m.lower())
            for ctx in fastapi.routing.iter_route_contexts(app.routes)
            if getattr(ctx, "dependant", None) is not None and is_public(ctx.dependant)
            for m in (ctx.methods or ())
        }
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        schema["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
        for path, ops in schema["paths"].items():
            for method, op in ops.items():
                if (path, method) in public:
                    op["security"] = []
                for resp in op.get("responses", {}).values():
                    for content in resp.get("content", {}).values():
                        # a streaming route's model (SSE) meets FastAPI's `type: string` for non-JSON bodies
                        if "$ref" in content.get("schema", {}):
                            content["schema"].pop("type", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class _LazyTemporal:
    """Connect on first use so the API starts (and reports not-ready) while Temporal is down."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: Any = None
        self.lock = asyncio.Lock()

    async def __call__(self) -> Any:
        if self.client is None:
            async with self.lock:
                if self.client is None:
                    self.client = await connect(self.settings)
        return self.client


async def _health_loop(rt: Runtime) -> None:
    """Publish `health_changed` on the system topic whenever readiness changes (and every minute)."""
    last: dict[str, Any] | None = None
    ticks = 0
    while True:
        try:
            result = await readiness(rt)
            state = {k: v.status for k, v in result.checks.items()}
            ticks += 1
            if state != last or ticks * rt.settings.health_interval_seconds >= 60:
                ticks = 0
                last = state
                env = make_envelope(
                    type="health_changed",
                    entity="system",
                    id="ready",
                    payload=result,
                    tenant="",  # installation-wide
                )
                await publish(rt.redis, "system", env, maxlen=1000)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.debug("health publish failed", exc_info=True)
        await asyncio.sleep(rt.settings.health_interval_seconds)


async def _routing_snapshot_loop(rt: Runtime) -> None:
    """Gateways route by a snapshot in Redis: a Redis that lost it (restarted without persistence) gets it
    back from SQL within a few seconds, so no gateway is left without configuration."""
    from maestro.gateway.store import republish_if_missing

    while True:
        try:
            if rt.extras.pop("routing_unpublished", False):  # a change was saved while Redis did not answer
                from maestro.gateway.store import publish_from_sql

                try:
                    await asyncio.to_thread(publish_from_sql, rt.engine, rt.redis_sync)
                except Exception:
                    rt.extras["routing_unpublished"] = True
                    raise
                log.info("routing snapshot published after Redis came back")
            elif await asyncio.to_thread(republish_if_missing, rt.engine, rt.redis_sync):
                log.info("routing snapshot published from SQL (Redis had none)")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.debug("routing snapshot check failed", exc_info=True)
        await asyncio.sleep(5)


def create_app(settings: Settings, *, start_background: bool = True) -> FastAPI:
    setup_tracing(settings, service="maestro-api")
    engine = get_engine(settings.effective_database_url)
    redis = Redis.from_url(settings.effective_redis_url, socket_connect_timeout=2)
    redis_sync = SyncRedis.from_url(settings.effective_redis_url, socket_connect_timeout=2, socket_timeout=2)
    traffic = TrafficRecorder()
    rt = Runtime(settings=settings, engine=engine, redis=redis, redis_sync=redis_sync, temporal=_LazyTemporal(settings))

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        loops = (_health_loop(rt), traffic.run(engine), _routing_snapshot_loop(rt)) if start_background else ()
        tasks = [asyncio.create_task(c) for c in loops]
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(traffic.flush, engine)
        await redis.aclose()
        redis_sync.close()

    app = FastAPI(
        title="Maestro Build Plane API",
        version=__version__,
        description="REST and SSE API of Maestro. Errors are application/problem+json.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
        # No redirect from /path/ to /path: Starlette builds the Location from the Host header,
        # which a client controls. /api/runs/ is a 404 whose remediation names /api/runs.
        redirect_slashes=False,
    )
    app.state.runtime = rt
    rt.extras["traffic"] = traffic
    rt.extras["audit_publisher"] = audit_publisher(redis_sync, settings.stream_maxlen)
    problems.install(app)

    api = APIRouter(prefix="/api", responses=problems.PROBLEM_RESPONSES)
    routers = (
        *(health, auth, tokens, users, audit, streams, search, system, hub),
        *(pipelines, runs, slo, alerts, insights, runbooks, supply, policies, evidence, rollouts, routing),
        *(budgets, costs),
    )
    for r in (m.router for m in routers):
        api.include_router(r)
    app.include_router(api)

    projection_metrics = CollectorRegistry(auto_describe=False)
    projection_metrics.register(ProjectionCollector(engine, redis_sync))

    @app.get("/metrics", include_in_schema=False, dependencies=[Public])
    def metrics() -> Response:
        return Response(generate_latest() + generate_latest(projection_metrics), media_type=CONTENT_TYPE_LATEST)

    static = Path(swagger_ui.__file__).parent / "static"
    app.mount("/api/docs/static", StaticFiles(directory=static), name="docs-static")

    @app.get("/api/docs", include_in_schema=False, dependencies=[Public])
    def docs(request: Request) -> HTMLResponse:
        nonce = request.state.csp_nonce
        return HTMLResponse(
            f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Maestro API</title>
<link rel="stylesheet" href="/api/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/static/swagger-ui-bundle.js"></script>
<script nonce="{nonce}">window.ui = SwaggerUIBundle({{url: "/api/openapi.json", dom_id: "#swagger-ui"}});</script>
</body></html>"""
        )

    _document_security(app)
    mount_ui(app, settings)
    allowed = _allowed_methods(app)

    # middleware: last added runs first
    app.add_middleware(IdempotencyMiddleware, redis=lambda: rt.redis, ttl_seconds=settings.idempotency_ttl_seconds)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MethodsMiddleware, allowed=allowed)
    app.add_middleware(GZipMiddleware, minimum_size=1024)  # skips text/event-stream

    def count_outcome(route: str, status: int) -> None:
        if route.startswith("/api/") and not route.startswith("/api/streams/"):
            traffic.record(status)

    app.add_middleware(RequestContextMiddleware, hsts=True, on_response=count_outcome)
    return app
