"""Pure ASGI middleware: request context + tracing + metrics + security headers, body limit."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import fastapi.routing
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro.api.problems import PROBLEM_JSON, problem_body
from maestro.context import request_id_var, trace_id_var

log = logging.getLogger("maestro.api")
tracer = trace.get_tracer("maestro.api")

HTTP_REQUESTS = Counter("maestro_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "maestro_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def csp(nonce: str) -> str:
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def security_headers(nonce: str, *, hsts: bool) -> list[tuple[bytes, bytes]]:
    out = [
        (b"content-security-policy", csp(nonce).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    ]
    if hsts:
        out.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    return out


def route_template(scope: Scope) -> str:
    """The matched route's full path template (``/api/tokens/{token_id}``), or ``unmatched``."""
    # FastAPI >= 0.16x routes through included-router contexts; their path is the full template.
    get_ctx = getattr(fastapi.routing, "_get_scope_effective_route_context", None)
    ctx = get_ctx(scope) if get_ctx else None
    path = getattr(ctx, "path", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else "unmatched"


async def send_problem(
    send: Send, status: int, detail: str, extra_headers: list[tuple[bytes, bytes]] | None = None, **kw: Any
) -> None:
    body = json.dumps(problem_body(status, detail, **kw)).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Outermost layer: every response (errors included) carries ids and security headers."""

    def __init__(self, app: ASGIApp, *, hsts: bool = True, on_response: Callable[[str, int], None] | None = None) -> None:
        self.app = app
        self.hsts = hsts
        self.on_response = on_response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id", "")[:64] or secrets.token_hex(8)
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        method = scope["method"]
        ctx = propagate.extract(headers)
        started = time.perf_counter()
        status_holder = {"status": 500, "started": False}
        with tracer.start_as_current_span(f"HTTP {method}", context=ctx, kind=SpanKind.SERVER) as span:
            trace_id = format(span.get_span_context().trace_id, "032x")
            t1 = request_id_var.set(request_id)
            t2 = trace_id_var.set(trace_id)
            extra = [
                (b"x-request-id", request_id.encode()),
                (b"x-trace-id", trace_id.encode()),
                *security_headers(nonce, hsts=self.hsts),
            ]

            async def send_wrapper(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status_holder["status"] = message["status"]
                    status_holder["started"] = True
                    hdrs = [h for h in message.get("headers", []) if h[0].lower() not in {k for k, _ in extra}]
                    message = {**message, "headers": hdrs + extra}
                await send(message)

            try:
                await self.app(scope, receive, send_wrapper)
            except Exception as exc:
                log.exception("unhandled error", exc_info=exc)
                span.set_status(Status(StatusCode.ERROR))
                if not status_holder["started"]:
                    await send_problem(
                        send_wrapper, 500, "The server failed to handle this request. No stack trace is shown for safety."
                    )
            finally:
                route_path = route_template(scope)
                span.update_name(f"{method} {route_path}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", route_path)
                span.set_attribute("http.response.status_code", status_holder["status"])
                elapsed = time.perf_counter() - started
                if route_path != "/metrics":
                    HTTP_REQUESTS.labels(method, route_path, str(status_holder["status"])).inc()
                    HTTP_LATENCY.labels(method, route_path).observe(elapsed)
                    if self.on_response is not None:
                        self.on_response(route_path, int(status_holder["status"]))
                log.info(
                    "request",
                    extra={
                        "method": method,
                        "path": scope["path"],
                        "route": route_path,
                        "status": status_holder["status"],
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
                request_id_var.reset(t1)
                trace_id_var.reset(t2)


MAX_JSON_DEPTH = 64
# A string, or an unterminated one up to the end: every attempt consumes what it scans (possessive),
# so the scan is linear even for `"\"\"\"…` without a closing quote.
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when JSON text nests arrays/objects deeper than ``limit`` (strings do not count).

    Checked before any parser sees the body: deep nesting costs recursion (RecursionError) and
    seconds of CPU in parsing and validation, whatever the route does with it."""
    depth = 0
    for m in _BRACKETS.finditer(_JSON_STRING.sub(b"", body)):
        if m.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


MAX_REPEATED_PARAM = 20


def repeated_query_param(query_string: bytes) -> str | None:
    """The first query parameter given more than MAX_REPEATED_PARAM times (filters like
    ``label=`` become one SQL condition each), or None."""
    counts: dict[str, int] = {}
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        counts[name] = counts.get(name, 0) + 1
        if counts[name] > MAX_REPEATED_PARAM:
            return name[:64]
    return None


class BodyLimitMiddleware:
    """Every request body, in one place: at most ``max_bytes`` (413, chunked or not) and, when it is
    JSON, nested at most MAX_JSON_DEPTH deep (422) — checked before the app parses anything."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_many = repeated_query_param(scope.get("query_string", b""))
        if too_many:
            await send_problem(
                send,
                422,
                f"The query parameter {too_many!r} is repeated more than {MAX_REPEATED_PARAM} times.",
                errors=[{"field": f"query.{too_many}", "message": f"at most {MAX_REPEATED_PARAM} values"}],
                remediation="Narrow the filter to fewer values, or make several requests.",
            )
            return
        content_types = 0
        for k, v in scope["headers"]:
            k = k.lower()
            if k == b"content-type":
                content_types += 1
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    await send_problem(send, 400, "Content-Length is not a number.")
                    return
                if declared > self.max_bytes:
                    await send_problem(send, 413, f"The request body is {declared} bytes; the limit is {self.max_bytes} bytes.")
                    return
        # Read the whole body first (it is small: at most max_bytes), so that a chunked body over
        # the limit is a 413 like a sized one, and a hostile JSON body never reaches a parser.
        chunks: list[bytes] = []
        seen = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await send_problem(send, 413, f"The request body is larger than the limit of {self.max_bytes} bytes.")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if content_types > 1:
            await send_problem(send, 400, "The request has more than one Content-Type header.")
            return
        # Whatever it claims to be: a body that looks like JSON is checked as JSON.
        if body.lstrip()[:1] in (b"{", b"[") and json_depth_exceeds(body):
            await send_problem(
                send,
                422,
                f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.",
                errors=[{"field": "body", "message": f"nesting deeper than {MAX_JSON_DEPTH}"}],
                remediation="Flatten the document: no Maestro resource needs that much nesting.",
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)


class MethodsMiddleware:
    """HEAD answers like GET without a body (``curl -I`` works on every GET route, streams aside),
    and a 405's ``Allow`` lists every method the path has, not just one route's."""

    def __init__(self, app: ASGIApp, *, allowed: Callable[[str], list[str]]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD" and not scope["path"].startswith("/api/streams/")
        path = scope["path"]
        finished = False

        async def receive_wrapper() -> Message:
            if finished:  # a HEAD's response is complete: whatever still generates a body stops here
                return {"type": "http.disconnect"}
            return await receive()

        async def send_wrapper(message: Message) -> None:
            nonlocal finished
            if finished:
                return
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = self.allowed(path)
                if methods:
                    headers = [h for h in message.get("headers", []) if h[0].lower() != b"allow"]
                    message = {**message, "headers": [*headers, (b"allow", ", ".join(methods).encode())]}
            if head and message["type"] == "http.response.body":
                message = {"type": "http.response.body", "body": b"", "more_body": False}
                finished = True  # the rest of a GET body is not sent for a HEAD
            await send(message)

        await self.app({**scope, "method": "GET"} if head else scope, receive_wrapper, send_wrapper)
