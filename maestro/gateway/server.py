"""`maestro gateway`: the model gateway's data plane.

Clients speak OpenAI's API (`/v1/chat/completions`, `/v1/completions`, `/v1/embeddings`, `/v1/models`)
or Anthropic's (`/v1/messages`) with a Maestro gateway key. Each request is matched to a routing class,
planned (pin, downgrade, A/B split or best score; then the other candidates as ordered fallbacks) and
sent to a provider in that provider's format, translated where the formats differ. Retryable failures
(connection errors, timeouts, 408/409/429/5xx) move to the next candidate with exponential backoff; a
candidate failing `cooldownAfter` times in a row cools down on every replica. Streams are passed through
event by event as they arrive. Every response carries the decision (`x-maestro-route`) and the scores
behind it (`x-maestro-score`); every request is accounted (tokens as the provider reported them, or an
estimate marked as such; spend from the class's price card).

The HTTP machinery (parsing, keep-alive, pooled upstream connections, back-pressure, limits) is
`maestro.proxy`; the hot path never waits on Redis, SQL or Temporal: configuration, limits, cooldowns
and kill switches are read from Redis once per refresh tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import os
import random
import signal
import socket
import sys
import time
from typing import Any
from urllib.parse import quote

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from maestro.config import Settings
from maestro.edge import routes as edge_routes
from maestro.edge.server import Stats as VersionStats
from maestro.events.envelope import make_envelope
from maestro.events.payloads import RoutingEventPayload
from maestro.gateway import translate as tr
from maestro.gateway.limits import Limiter
from maestro.gateway.metrics import GatewayMetrics
from maestro.gateway.router import Canary, Candidate, NoCandidate, Plan, RouteClass, Router
from maestro.gateway.secrets import KeyRing, KeyRingError, load_key_ring
from maestro.gateway.spec import RETRYABLE, BudgetGate, Snapshot, key_binding
from maestro.proxy import Forward, Limits, ProxyServer, Reply, Request
from maestro.proxy.server import CONTINUE, Exchange
from maestro.proxy.upstream import UpstreamConnection
from maestro.proxy.wire import BadMessage, ResponseHead, status_line

log = logging.getLogger("maestro.gateway")

SNAPSHOT_KEY = "maestro:gateway:config"
VERSION_KEY = "maestro:gateway:config:version"
COOLDOWNS_KEY = "maestro:gateway:cooldowns"
USAGE_STREAM = "maestro:gateway:usage"
REFUSALS_STREAM = "maestro:gateway:budget-refusals"  # per budget and flush: how many requests a budget refused
CAPTURES_STREAM = "maestro:gateway:captures:{cls}"  # per class: each has its own retention
CAPTURE_BYTES = 64 * 1024  # of each body kept in a capture
EVENTS_STREAM = "maestro:stream:routing"  # the `routing` topic of /api/streams (envelopes)
SCORES_KEY = "maestro:gateway:scores"  # replica → its live candidate scores (for GET /api/routing/candidates)

CHAT, COMPLETIONS, EMBEDDINGS, MESSAGES = "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/messages"
ENDPOINTS = {CHAT.encode(): CHAT, COMPLETIONS.encode(): COMPLETIONS, EMBEDDINGS.encode(): EMBEDDINGS, MESSAGES.encode(): MESSAGES}
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
PROVIDER_FAULT = frozenset(
    {401, 403, 404}
)  # the provider's key or model is wrong: the gateway's config, not the client's request
ERROR, BUFFER, STREAM = 1, 2, 3


class ClientError(Exception):
    """A refusal before or instead of any provider: status, message, and the OpenAI error fields."""

    def __init__(
        self, status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None,
        param: str | None = None, retry_after: float | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.type_, self.code, self.param = status, message, type_, code, param
        self.retry_after = retry_after


def error_reply(anthropic: bool, e: ClientError, extra: bytes = b"") -> Reply:
    body = (
        tr.anthropic_error(e.status, e.message) if anthropic else tr.openai_error(e.status, e.message, e.type_, e.code, e.param)
    )
    headers = extra
    if e.retry_after is not None:
        headers += b"retry-after: %d\r\n" % max(1, round(e.retry_after + 0.49))
    return Reply(e.status, json.dumps(body).encode(), b"application/json", headers)


def _header_safe(text: str) -> bytes:
    return text.encode("ascii", "replace").replace(b"\r", b" ").replace(b"\n", b" ")


def estimate_tokens(text_bytes: int) -> int:
    """About four bytes of English per token (real tokenizers are a download, unavailable offline)."""
    return max(1, text_bytes // 4)


class GatewayExchange(Exchange):
    """One client request through the gateway: body buffered, planned, tried candidate by candidate."""

    __slots__ = (
        "accounted",
        "anthropic_in",
        "attempt",
        "capture",
        "captured",
        "client_model",
        "cls",
        "endpoint",
        "err",
        "estimated_out",
        "events_out",
        "failovers",
        "gw",
        "include_usage",
        "key",
        "mode",
        "over",
        "parsed",
        "plan",
        "raw",
        "rbuf",
        "req_t0",
        "resolved",
        "retry_handle",
        "retry_hdr",
        "span",
        "sse",
        "stale_retry",
        "stream",
        "streamer",
        "tenant",
        "traceparent",
        "ttft",
        "up_status",
        "up_t0",
        "usage",
    )  # fmt: skip

    def __init__(self, conn: Any, req: Request) -> None:
        super().__init__(conn, req)
        self.gw: Gateway = conn.server.app
        self.endpoint = ""
        self.anthropic_in = False
        self.key: Any = None
        self.tenant = ""
        self.raw: list[bytes] = []
        self.parsed: dict[str, Any] = {}
        self.plan: Plan | None = None
        self.cls = ""
        self.attempt = -1
        self.failovers: list[str] = []
        self.mode = 0
        self.rbuf: list[bytes] = []
        self.stream = False
        self.include_usage = False
        self.sse: tr.SSEParser | None = None
        self.streamer: Any = None
        self.usage: tuple[int, int] | None = None
        self.estimated_out = 0
        self.events_out = 0
        self.client_model = ""
        self.resolved = ""  # the model name after aliases: what classes and model limits see
        self.req_t0 = 0.0
        self.up_t0 = 0.0
        self.ttft = 0.0
        self.retry_handle: asyncio.TimerHandle | None = None
        self.stale_retry = False
        self.traceparent = b""
        self.up_status = 0
        self.retry_hdr = b""
        self.capture = False  # this request is sampled for capture (its class opted in)
        self.span: Any = None  # an OpenTelemetry span, when the caller traces (a sampled traceparent came in)
        self.accounted = False  # accounted once, whatever ends it (a cut stream, then the client's close)
        self.over = False  # answered or cut: a late upstream callback of the same read changes nothing
        self.captured: list[bytes] = []  # what the client received, up to CAPTURE_BYTES

    @property
    def candidate(self) -> Candidate:
        assert self.fwd is not None
        c: Candidate = self.fwd.tag
        return c

    # -- the client's request
    def start(self) -> None:
        self.started = True
        req = self.req
        path = req.target.split(b"?", 1)[0]
        self.anthropic_in = path == b"/v1/messages"
        if req.method == b"GET":
            if path.startswith(b"/_gateway/"):
                return self.reply(self.gw.own(path))
            if path == b"/v1/models":
                try:
                    self.authenticate()
                except ClientError as e:
                    return self.reply(error_reply(False, e))
                return self.reply(self.gw.models(self.tenant, self.key.classes))
        endpoint = ENDPOINTS.get(path)
        if endpoint is None or req.method != b"POST":
            allowed = "POST" if endpoint else "GET"
            status = 405 if endpoint or path in (b"/v1/models",) else 404
            msg = (
                f"{req.method.decode(errors='replace')} is not allowed here; use {allowed}."
                if status == 405
                else f"Unknown endpoint {path[:200].decode(errors='replace')}: the gateway serves "
                "/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models and /v1/messages."
            )
            return self.reply(error_reply(self.anthropic_in, ClientError(status, msg, code="unknown_url")))
        self.endpoint = endpoint
        try:
            self.authenticate()
        except ClientError as e:
            self.gw.metrics.refused[("auth", "")] += 1
            return self.reply(error_reply(self.anthropic_in, e))
        if req.expect and not self.body_done:
            self.conn.transport.write(CONTINUE)
            self.sent_continue = True
        if self.body_done:
            self.dispatch()

    def authenticate(self) -> None:
        req = self.req
        secret = None
        for lname, _, value in req.headers:
            if lname == b"authorization" and value[:7].lower() == b"bearer ":
                secret = value[7:].strip()
            elif lname == b"x-api-key" or lname == b"api-key":
                secret = value.strip()
        if not secret:
            raise ClientError(
                401, "No gateway key: send 'Authorization: Bearer <key>' (or x-api-key). Create one under Routing → Keys "
                "or with POST /api/routing/keys.", type_="authentication_error", code="invalid_api_key",
            )  # fmt: skip
        key = self.gw.router.keys.get(hashlib.sha256(secret).hexdigest())
        if key is not None and key.expires_at is not None and key.expires_at <= time.time():
            raise ClientError(
                401, f"The gateway key {key.prefix} has expired.", type_="authentication_error", code="invalid_api_key"
            )
        if key is None:
            raise ClientError(
                401, "Invalid gateway key (unknown or revoked).", type_="authentication_error", code="invalid_api_key"
            )
        self.key, self.tenant = key, key.tenant

    def request_body(self, piece: bytes) -> None:
        self.body_bytes += len(piece)
        if self.body_bytes > self.conn.server.limits.max_body_bytes:
            raise BadMessage(413, f"the request body is larger than {self.conn.server.limits.max_body_bytes} bytes")
        if not self.dead and self.fwd is None:
            self.raw.append(piece)

    def request_end(self) -> None:
        self.body_done = True
        if self.started and not self.dead and not self.resp_started and self.key is not None and self.req_t0 == 0.0:
            self.dispatch()

    # -- deciding
    def dispatch(self) -> None:
        self.req_t0 = time.perf_counter()
        gw = self.gw
        try:
            self._dispatch()
        except ClientError as e:
            gw.metrics.refused[(e.code or e.type_, self.tenant)] += 1
            self.reply(error_reply(self.anthropic_in, e, self._route_headers()))
        except tr.Untranslatable as e:
            self.reply(
                error_reply(
                    self.anthropic_in, ClientError(400, str(e), param=e.field, code="untranslatable"), self._route_headers()
                )
            )
        except Exception:  # the gateway's own failure on this request: answer it, never hang it
            log.exception("gateway: failed on a request to %s", self.endpoint)
            self._internal()

    def _internal(self) -> None:
        up, self.up = self.up, None
        if up is not None:
            up.abort()
        if self.over or self.dead:
            return
        if self.resp_started:
            self.over = True
            self.out = []
            self.conn.abort()
            return
        e = ClientError(500, "The gateway failed on this request; see its log.", type_="api_error", code="gateway_error")
        self.reply(error_reply(self.anthropic_in, e, self._route_headers()))

    def reply(self, reply: Reply) -> None:
        if self.over:
            return
        self.over = True
        super().reply(reply)

    def _dispatch(self) -> None:
        gw = self.gw
        router = gw.router
        body = b"".join(self.raw)
        try:
            data = json.loads(body) if body else None
        except ValueError as exc:
            raise ClientError(400, f"The request body is not valid JSON: {exc}.") from None
        if not isinstance(data, dict):
            raise ClientError(400, "The request body must be a JSON object.")
        self.parsed = data
        model = data.get("model")
        if not isinstance(model, str) or not model:
            raise ClientError(400, "'model' is required: a model name or alias (string).", param="model")
        if self.endpoint in (CHAT, MESSAGES):
            msgs = data.get("messages")
            if not isinstance(msgs, list) or not msgs:
                raise ClientError(400, "'messages' is required: a non-empty list of messages.", param="messages")
            if self.endpoint == MESSAGES and not isinstance(data.get("max_tokens"), int):
                raise ClientError(400, "'max_tokens' is required (an integer) in the Messages API.", param="max_tokens")
        elif self.endpoint == EMBEDDINGS and data.get("input") in (None, "", []):
            raise ClientError(400, "'input' is required: a string or a list of strings.", param="input")
        elif self.endpoint == COMPLETIONS and "prompt" not in data:
            raise ClientError(400, "'prompt' is required.", param="prompt")
        stream = data.get("stream", False)
        if not isinstance(stream, bool):
            raise ClientError(400, "'stream' must be true or false.", param="stream")
        self.stream = stream and self.endpoint != EMBEDDINGS
        so = data.get("stream_options")
        self.include_usage = isinstance(so, dict) and so.get("include_usage") is True
        self.client_model = model
        tenant = self.tenant
        if tenant in router.killed_tenants:
            raise ClientError(
                403, f"The gateway is switched off for tenant {tenant} ({router.killed_tenants[tenant] or 'no reason given'}).",
                type_="permission_error", code="tenant_switched_off",
            )  # fmt: skip
        resolved = self.resolved = router.resolve_alias(tenant, model)
        hdrs = {lname: value for lname, _, value in self.req.headers}
        rc = router.match(self.endpoint, resolved, tenant, hdrs, data.get("metadata"))
        if rc is None or (self.key.classes and rc.spec.name not in self.key.classes):
            raise ClientError(
                404, f"The model '{model}' does not exist or your key cannot use it: no routing class takes it"
                f"{f' (alias of {resolved!r})' if resolved != model else ''}. GET /v1/models lists what your key can use.",
                code="model_not_found", param="model",
            )  # fmt: skip
        self.cls = rc.spec.name
        now = time.time()
        gates = self._budget_gates(now) if router.budgets else None
        self._check_limits(rc, resolved, now)
        sticky = hdrs.get(rc.spec.sticky.lower().encode()) if rc.spec.sticky else None
        try:
            plan = router.plan(rc, sticky, now, f"{tenant}|{self.key.env or ''}|{self.key.project or ''}")
        except NoCandidate as e:
            raise ClientError(503, e.detail, type_="api_error", code="no_candidate", retry_after=e.retry_after) from None
        if gates:
            self._budget_candidates(plan, gates, now)
        if self.endpoint in (COMPLETIONS, EMBEDDINGS):
            plan.attempts = [c for c in plan.attempts if c.provider.kind != "anthropic"]
            if not plan.attempts:
                raise ClientError(
                    400, f"Class {rc.spec.name} has no OpenAI-format candidate, and {self.endpoint} has no Anthropic equivalent.",
                    param="model", code="untranslatable",
                )  # fmt: skip
        self.plan = plan
        cap = rc.spec.capture
        self.capture = cap.enabled and random.random() < cap.sample_rate
        if plan.canary_missed and plan.canary is not None:
            gw.versions.record(plan.canary.service, "canary", 0.0, True)
        for lname, _, value in self.req.headers:
            if lname == b"traceparent":
                parts = value.split(b"-")
                if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
                    if parts[3][:2] == b"01":  # the caller traces: the gateway's span joins its trace
                        self.span = _start_span(value.decode(errors="replace"), self.endpoint, rc.spec.name, tenant)
                        ctx = self.span.get_span_context()
                        self.traceparent = b"00-%032x-%016x-01" % (ctx.trace_id, ctx.span_id)
                    else:
                        self.traceparent = b"00-" + parts[1] + b"-" + os.urandom(8).hex().encode() + b"-" + parts[3][:2]
        if not self.traceparent:
            self.traceparent = b"00-" + os.urandom(16).hex().encode() + b"-" + os.urandom(8).hex().encode() + b"-01"
        self.next_attempt()

    def _budget_gates(self, now: float) -> list[BudgetGate]:
        """Budgets covering this request's tenant/project/env: a frozen one with no provider or model refuses it
        (429 naming the budget); a slowed-down one holds it to the budget's RPM. Returns the ones that depend
        on the candidate (provider/model budgets)."""
        key = self.key
        gates = [g for g in self.gw.router.budgets if g.covers_request(self.tenant, key.project or "", key.env or "")]
        later = []
        for g in gates:
            if g.provider or g.model:
                later.append(g)
            else:
                self._budget_gate(g, now)
        return later

    def _budget_gate(self, g: BudgetGate, now: float) -> None:
        if g.frozen:
            self.gw.refused(g, "frozen")
            raise ClientError(
                429, f"Budget {g.name} is frozen ({g.reason or 'no reason given'}): requests in its scope are refused until "
                "it is unfrozen or its cap is raised.", type_="rate_limit_error" if self.anthropic_in else "insufficient_quota",
                code="budget_frozen",
            )  # fmt: skip
        if g.rpm:
            name = f"budget:{g.id}:rpm"
            wait = self.gw.limiter.over(name, g.rpm, now)
            if wait is not None:
                self.gw.refused(g, "slowed down")
                raise ClientError(
                    429, f"Budget {g.name} is slowed down to {g.rpm} requests per minute. Retry after the window resets.",
                    type_="rate_limit_error" if self.anthropic_in else "requests", code="budget_slowdown", retry_after=wait,
                )  # fmt: skip
            self.gw.limiter.charge(name, 1, now)

    def _budget_candidates(self, plan: Plan, gates: list[BudgetGate], now: float) -> None:
        """Provider/model budgets: a frozen one removes the candidates it covers (refused when none is left)."""
        frozen = [g for g in gates if g.frozen]
        if frozen:
            kept = [c for c in plan.attempts if not any(g.covers_candidate(c.provider.name, c.model) for g in frozen)]
            if not kept:
                self._budget_gate(frozen[0], now)
            plan.attempts = kept
        for g in gates:
            if not g.frozen and any(g.covers_candidate(c.provider.name, c.model) for c in plan.attempts[:1]):
                self._budget_gate(g, now)

    def _check_limits(self, rc: RouteClass, model: str, now: float) -> None:
        gw, key = self.gw, self.key
        checks: list[tuple[str, int]] = []
        if key.rpm:
            checks.append((f"key:{key.id}:rpm", key.rpm))
        if key.tpm:
            checks.append((f"key:{key.id}:tpm", key.tpm))
        lim = gw.router.limits
        for name in (f"tenant:{self.tenant}:rpm", f"tenant:{self.tenant}:tpm", f"model:{model}:rpm", f"model:{model}:tpm"):
            if name in lim:
                checks.append((name, lim[name]))
        for name, limit in checks:
            wait = gw.limiter.over(name, limit, now)
            if wait is not None:
                what = name.rsplit(":", 1)[1].upper()
                raise ClientError(
                    429, f"Rate limit reached: {limit} {what} for {name.rsplit(':', 1)[0]}. Retry after the window resets.",
                    type_="rate_limit_error" if self.anthropic_in else "requests", code="rate_limit_exceeded", retry_after=wait,
                )  # fmt: skip
        for name, _ in checks:
            if name.endswith(":rpm"):
                gw.limiter.charge(name, 1, now)

    # -- trying candidates
    def next_attempt(self) -> None:
        try:
            self._next_attempt()
        except Exception:
            log.exception("gateway: failed starting an attempt")
            self._internal()

    def _next_attempt(self) -> None:
        self.retry_handle = None
        if self.dead or self.over:
            return
        plan = self.plan
        assert plan is not None
        self.attempt += 1
        c = plan.attempts[self.attempt]
        self.mode, self.rbuf, self.usage, self.sse, self.streamer = 0, [], None, None, None
        self.estimated_out = self.events_out = 0
        self.stale_retry = False
        self.fwd = Forward(c.origin, b"", tag=c)
        self.up_t0 = time.perf_counter()
        up = self.conn.server.pool.acquire(c.origin)
        if up is not None:
            self.attach(up, reused=True)
        else:
            self.conn.server.loop.create_task(self.connect())

    def attach(self, up: UpstreamConnection, *, reused: bool) -> None:
        try:
            self._attach(up, reused=reused)
        except Exception:
            log.exception("gateway: failed sending an attempt")
            if self.up is None:
                up.abort()
            self._internal()

    def _attach(self, up: UpstreamConnection, *, reused: bool) -> None:
        c = self.candidate
        self.up, self.reused = up, reused
        try:
            target, payload = self.gw.upstream_request(self, c)
        except (tr.Untranslatable, TypeError, ValueError, AttributeError) as e:  # a body the translator cannot take
            self.conn.server.pool.release(up)
            self.up = None
            field = e.field if isinstance(e, tr.Untranslatable) else None
            msg = str(e) if isinstance(e, tr.Untranslatable) else f"The request cannot be translated for {c.provider.name}: {e}"
            return self.reply(error_reply(self.anthropic_in, ClientError(400, msg, param=field, code="untranslatable")))
        head = [b"POST ", target, b" HTTP/1.1\r\n", c.origin.host_header, b"content-type: application/json\r\n"]
        head.append(b"content-length: %d\r\n" % len(payload))
        head.append(b"accept: text/event-stream\r\n" if self.stream else b"accept: application/json\r\n")
        kind = c.provider.kind
        if c.api_key:
            if kind == "anthropic":
                head.append(b"x-api-key: " + c.api_key.encode() + b"\r\n")
            elif kind == "azure-openai":
                head.append(b"api-key: " + c.api_key.encode() + b"\r\n")
            else:
                head.append(b"authorization: Bearer " + c.api_key.encode() + b"\r\n")
        if kind == "anthropic":
            version = next((v for n, _, v in self.req.headers if n == b"anthropic-version"), b"2023-06-01")
            head.append(b"anthropic-version: " + version + b"\r\n")
        head.append(b"traceparent: " + self.traceparent + b"\r\n\r\n")
        head.append(payload)
        up.begin(self, b"".join(head), head_request=False, now=self.conn.server.loop.time())

    # -- the provider's response (a failure in the gateway's own code answers the client, never hangs it)
    def resp_head(self, head: ResponseHead) -> None:
        if self.over or self.dead:
            return
        try:
            self._resp_head(head)
        except Exception as exc:
            self._crash(exc)

    def resp_body(self, data: bytes) -> None:
        if self.over or self.dead:
            return
        try:
            self._resp_body(data)
        except Exception as exc:
            self._crash(exc)

    def resp_end(self, reusable: bool) -> None:
        if self.over or self.dead:
            return
        try:
            self._resp_end(reusable)
        except Exception as exc:
            self._crash(exc)

    def _crash(self, exc: Exception) -> None:
        up, self.up = self.up, None
        if up is not None:
            up.abort()
        if self.dead:
            return
        c = self.candidate
        if isinstance(exc, tr.Untranslatable):
            log.warning("gateway: %s sent what cannot be translated: %s", c.key, exc)
            detail = f"Provider {c.provider.name} ({c.model}) sent a response that cannot be translated: {exc}"
        else:
            log.exception("gateway: failed on the response of %s", c.key)
            detail = f"The gateway failed on the response of {c.provider.name} ({c.model}); see its log."
        if self.resp_started:
            self.gw.account(self, c, 502, (time.perf_counter() - self.up_t0) * 1000, broken=True)
            self.over = True
            self.out = []
            self.conn.abort()
        else:
            self.gw.account(self, c, 502, (time.perf_counter() - self.up_t0) * 1000, broken=False, failed=True)
            self._final_error(502, detail, code="gateway_error")

    def _streamer_usage(self) -> None:
        st = self.streamer
        if st is not None and (st.usage.input_tokens or st.usage.output_tokens):
            self.usage = (st.usage.input_tokens, st.usage.output_tokens)

    def _resp_head(self, head: ResponseHead) -> None:
        status = self.up_status = head.status
        if status >= 300:
            self.mode = ERROR
            self.retry_hdr = next((v for n, v in head.headers if n.lower() == b"retry-after"), b"")
            return
        ctype = next((v for n, v in head.headers if n.lower() == b"content-type"), b"")
        if self.stream and ctype.startswith(b"text/event-stream"):
            self.mode = STREAM
            self.ttft = time.perf_counter()
            c = self.candidate
            self.sse = tr.SSEParser()
            provider_anthropic = c.provider.kind == "anthropic"
            if provider_anthropic and not self.anthropic_in:
                self.streamer = tr.AnthropicToOpenAIStream(self.client_model, include_usage=self.include_usage)
            elif not provider_anthropic and self.anthropic_in:
                self.streamer = tr.OpenAIToAnthropicStream(self.client_model)
            self._client_head(200, b"text/event-stream", None)
            self.resp_started = True
            return
        self.mode = BUFFER

    def _client_head(self, status: int, ctype: bytes, length: int | None) -> None:
        out = self.out
        out += (status_line(status), b"content-type: ", ctype, b"\r\n")
        if length is not None:
            out.append(b"content-length: %d\r\n" % length)
        elif self.req.http11:
            out.append(b"transfer-encoding: chunked\r\n")
            self.resp_chunked = True
        else:
            self.resp_close = True
        if ctype.startswith(b"text/event-stream"):
            out.append(b"cache-control: no-cache\r\n")
        out.append(self._route_headers())
        out.append(b"connection: close\r\n\r\n" if self.resp_close else b"\r\n")

    def _route_headers(self) -> bytes:
        plan = self.plan
        if plan is None or self.attempt < 0:
            return b""
        c = plan.attempts[self.attempt]
        h = [
            b"x-maestro-route: class=", plan.cls.spec.name.encode(), b"; provider=", c.provider.name.encode(),
            b"; model=", _header_safe(c.model), b"; reason=", _header_safe(plan.reason), b"; attempt=%d\r\n" % (self.attempt + 1),
            b"x-maestro-score: ", plan.cls.score_header, b"\r\n", b"traceparent: ", self.traceparent, b"\r\n",
        ]  # fmt: skip
        if self.failovers:
            h += (b"x-maestro-failover: ", _header_safe("; ".join(self.failovers)), b"\r\n")
        return b"".join(h)

    def _resp_body(self, data: bytes) -> None:
        mode = self.mode
        if mode == STREAM:
            assert self.sse is not None
            pieces: list[bytes] = []
            for event, payload in self.sse.feed(data):
                self._stream_event(event, payload, pieces)
            if pieces:
                if self.ttft and self.events_out == 0:
                    self.gw.metrics.latency[("ttft_added", self.cls)].observe((time.perf_counter() - self.ttft) * 1000)
                self.events_out += len(pieces)
                out = b"".join(pieces)
                if self.capture and sum(map(len, self.captured)) < CAPTURE_BYTES:
                    self.captured.append(out)
                self.out.append(b"%x\r\n%b\r\n" % (len(out), out) if self.resp_chunked else out)
        else:
            self.rbuf.append(data)
            if sum(map(len, self.rbuf)) > MAX_RESPONSE_BYTES:
                up, self.up = self.up, None
                if up is not None:
                    up.abort()
                self._final_error(502, f"the provider's response is larger than {MAX_RESPONSE_BYTES} bytes")

    def _stream_event(self, event: str | None, payload: str, pieces: list[bytes]) -> None:
        st = self.streamer
        if st is not None:
            self.estimated_out += 1
            out = st.feed(event, payload)
            if out:
                pieces.append(out)
            return
        if self.anthropic_in:  # Anthropic → Anthropic: usage from message_start / message_delta
            if event in ("message_start", "message_delta") and '"usage"' in payload:
                self._anthropic_usage(payload)
            elif event == "content_block_delta":
                self.estimated_out += 1
            pieces.append(b"event: " + (event or "message").encode() + b"\ndata: " + payload.encode() + b"\n\n")
            return
        if payload == "[DONE]":
            pieces.append(b"data: [DONE]\n\n")
            return
        if '"usage"' in payload and '"usage":null' not in payload.replace(" ", ""):
            got = tr.openai_stream_usage(payload)
            if got is not None:
                self.usage = got
                if not self.include_usage and '"choices":[]' in payload.replace(" ", ""):
                    return  # the gateway asked for usage, the client did not: keep its stream as it expects
        self.estimated_out += 1
        pieces.append(b"data: " + payload.encode() + b"\n\n")

    def _anthropic_usage(self, payload: str) -> None:
        try:
            obj = json.loads(payload)
        except ValueError:
            return
        u = (obj.get("message") or {}).get("usage") if obj.get("type") == "message_start" else obj.get("usage")
        if isinstance(u, dict):
            prev_in, prev_out = self.usage or (0, 0)
            self.usage = (int(u.get("input_tokens") or prev_in), int(u.get("output_tokens") or prev_out))

    def _resp_end(self, reusable: bool) -> None:
        up, self.up = self.up, None
        if up is not None:
            up.exchange = None
            if reusable and not self.dead:
                self.conn.server.pool.release(up)
            else:
                up.close()
        self.up_paused = False
        self.conn.resume("upstream")
        if self.dead:
            return
        mode = self.mode
        c: Candidate = self.candidate
        up_ms = (time.perf_counter() - self.up_t0) * 1000
        if mode == STREAM:
            self._streamer_usage()
            if self.resp_chunked:
                self.out.append(b"0\r\n\r\n")
            self.flush()
            c.health.success(up_ms)
            self.gw.account(self, c, 200, up_ms, broken=False)
            self.over = True
            self.conn.finished(self, close=self.resp_close)
            return
        if mode == ERROR:
            return self._failed(c, self.up_status, self._provider_message(), up_ms)
        # BUFFER: a whole JSON answer
        raw = b"".join(self.rbuf)
        try:
            obj = json.loads(raw)
        except ValueError:
            return self._failed(c, 502, f"{c.key} answered 2xx with a body that is not JSON", up_ms, retryable=True)
        self.usage = _usage_of(obj)
        if c.provider.kind == "anthropic" and not self.anthropic_in:
            obj = tr.anthropic_response_to_openai(obj, self.client_model)
            raw = json.dumps(obj).encode()
        elif c.provider.kind != "anthropic" and self.anthropic_in:
            obj = tr.openai_response_to_anthropic(obj, self.client_model)
            raw = json.dumps(obj).encode()
        self._client_head(200, b"application/json", len(raw))
        self.out.append(raw)
        if self.capture:
            self.captured.append(raw[:CAPTURE_BYTES])
        self.resp_started = True
        self.flush()
        c.health.success(up_ms)
        self.gw.account(self, c, 200, up_ms, broken=False)
        self.over = True
        self.conn.finished(self, close=self.resp_close)

    def _provider_message(self) -> str:
        raw = b"".join(self.rbuf)
        try:
            obj = json.loads(raw)
            err = obj.get("error") if isinstance(obj, dict) else None
            if isinstance(err, dict) and err.get("message"):
                return str(err["message"])[:500]
            if isinstance(err, str):
                return err[:500]
        except ValueError:
            pass
        return raw[:300].decode(errors="replace") or "no message"

    def _failed(self, c: Candidate, status: int, message: str, up_ms: float, *, retryable: bool | None = None) -> None:
        """An attempt failed: the next candidate when it may help, else the error in the client's format."""
        gw = self.gw
        if retryable is None:  # a provider refusing its key or not knowing the model is a configuration fault: try the next
            retryable = status in RETRYABLE or status in PROVIDER_FAULT or status == 0
        if status in (0, 401, 403) or status >= 500 or status in RETRYABLE:
            gw.candidate_failed(self, c, status)  # a client's mistake (400, 404, 422) says nothing of the provider
        plan = self.plan
        assert plan is not None
        label = f"{c.key}: {status or 'no answer'}"
        if retryable and self.attempt + 1 < len(plan.attempts):
            self.failovers.append(label)
            gw.metrics.failovers[(self.cls, c.key)] += 1
            gw.event("routing_failover", self, c, status=status, message=message, to=plan.attempts[self.attempt + 1].key)
            f = plan.cls.spec.failover
            delay = min(f.backoff_ms * (2 ** (len(self.failovers) - 1)), f.backoff_max_ms) / 1000
            if delay > 0:
                self.retry_handle = self.conn.server.loop.call_later(delay, self.next_attempt)
            else:
                self.next_attempt()
            return
        self.failovers.append(label)
        gw.account(self, c, status or 502, up_ms, broken=False, failed=True)
        client_status = status if 400 <= status < 500 and status not in PROVIDER_FAULT else 502
        if status == 0:
            msg = f"Provider {c.provider.name} ({c.model}) did not answer: {message}."
        else:
            msg = f"Provider {c.provider.name} ({c.model}) answered {status}: {message}"
        retry_after = None
        if status == 429 and self.retry_hdr.strip().isdigit():
            retry_after = float(self.retry_hdr.strip())
        self._final_error(
            client_status, msg, retry_after=retry_after, code="provider_error" if status else "provider_unreachable"
        )

    def _final_error(self, status: int, message: str, *, retry_after: float | None = None, code: str = "provider_error") -> None:
        type_ = "rate_limit_error" if status == 429 else "invalid_request_error" if status < 500 else "api_error"
        self.reply(
            error_reply(
                self.anthropic_in,
                ClientError(status, message, type_=type_, code=code, retry_after=retry_after),
                self._route_headers(),
            )
        )

    # -- failures without a response
    def upstream_failed(self, up: UpstreamConnection, reason: str) -> None:
        if self.dead:
            return
        self.up = None
        c: Candidate = self.candidate
        if not self.resp_started:
            if self.reused and not up.got_bytes and not self.stale_retry:
                self.stale_retry = True  # a pooled connection the provider had closed: once more on a fresh one
                self.conn.server.loop.create_task(self.connect())
                return
            return self._failed(c, 0, reason, (time.perf_counter() - self.up_t0) * 1000)
        self._broken(c, reason)

    def _broken(self, c: Candidate, reason: str) -> None:
        """The stream to the client had begun: account what was seen, cut the client's connection."""
        self._streamer_usage()
        up_ms = (time.perf_counter() - self.up_t0) * 1000
        self.gw.candidate_failed(self, c, 0)
        self.gw.account(self, c, 502, up_ms, broken=True)
        self.gw.event("routing_stream_broken", self, c, status=0, message=reason, to="")
        self.over = True
        self.out = []
        self.conn.abort()

    def check_timeout(self, now: float) -> None:
        up = self.up
        if self.dead or up is None or self.fwd is None:
            return
        c: Candidate = self.candidate
        limit = c.provider.timeout_seconds
        if now - up.last_read < limit:
            return
        self.up = None
        up.abort()
        if self.resp_started:
            self._broken(c, f"the provider sent nothing for {limit:g} s")
        else:
            self._failed(c, 0, f"no response within {limit:g} s", limit * 1000)

    def give_up(self, outcome: str, status: int, title: str, detail: str) -> None:
        c: Candidate = self.candidate
        self._failed(c, 0, detail, (time.perf_counter() - self.up_t0) * 1000)

    def kill(self) -> None:
        if self.retry_handle is not None:
            self.retry_handle.cancel()
        if self.mode == STREAM and self.fwd is not None and not self.dead and not self.over:
            c: Candidate = self.candidate
            self.gw.account(self, c, 499, (time.perf_counter() - self.up_t0) * 1000, broken=True)
        super().kill()


def _usage_of(obj: Any) -> tuple[int, int] | None:
    u = obj.get("usage") if isinstance(obj, dict) else None
    if not isinstance(u, dict):
        return None
    if "input_tokens" in u:
        return int(u.get("input_tokens") or 0), int(u.get("output_tokens") or 0)
    return int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)


class Gateway:
    """The data plane's state and its tick: configuration in, health/usage/events out, never per request."""

    def __init__(self, settings: Settings, keyring: KeyRing | None = None) -> None:
        self.settings = settings
        self.keyring = keyring
        self.router = Router()
        self.limiter = Limiter()
        self.metrics = GatewayMetrics()
        self.versions = VersionStats()  # a model canary's per-version traffic, where its analyses read it
        self.redis: Redis | None = None
        self.redis_sync: SyncRedis | None = None  # the flush thread's own client
        self.proxy: ProxyServer | None = None
        self._tick: asyncio.Task[None] | None = None
        self.usage_out: list[dict[str, Any]] = []
        self.usage_n = 0  # with the replica: each request's id in the usage stream (the ledger's source id)
        self.refusals: dict[str, dict[str, Any]] = {}  # budget id → what it refused since the last flush
        self.events_out: list[dict[str, Any]] = []
        self.cooldowns_out: dict[str, float] = {}
        self.captures_out: list[tuple[str, int, dict[str, Any]]] = []  # (class, retention days, record)
        self.sampled: dict[str, float] = {}  # class → last decision event (one per class per tick at most)
        self.loaded_at = 0.0
        self.load_error: str | None = None
        self.replica = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"

    # -- what exchanges call
    def own(self, path: bytes) -> Reply:
        if path == b"/_gateway/metrics":
            from prometheus_client import generate_latest
            from prometheus_client.exposition import CONTENT_TYPE_LATEST

            return Reply(200, generate_latest(self.metrics.registry), CONTENT_TYPE_LATEST.encode())
        if path == b"/_gateway/health":
            body = {
                "status": "ok" if self.router.version >= 0 else "no-config",
                "configVersion": self.router.version,
                "classes": [c.spec.name for c in self.router.classes],
                "configError": self.load_error,
            }
            return Reply(200 if self.router.version >= 0 else 503, json.dumps(body).encode())
        return Reply(
            404, json.dumps({"detail": "The gateway's own endpoints are /_gateway/health and /_gateway/metrics."}).encode()
        )

    def models(self, tenant: str, allowed: list[str]) -> Reply:
        """What this key can use: the plain model names of the classes its tenant and key may reach, and aliases."""
        r = self.router
        names = {
            m
            for c in r.classes
            if (not c.spec.match.tenants or tenant in c.spec.match.tenants) and (not allowed or c.spec.name in allowed)
            for m in c.spec.match.models
            if "*" not in m
        }
        names |= set(r.aliases.get("*", {})) | set(r.aliases.get(tenant, {}))
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "maestro"} for m in sorted(names)]
        return Reply(200, json.dumps({"object": "list", "data": data}).encode())

    def upstream_request(self, ex: GatewayExchange, c: Candidate) -> tuple[bytes, bytes]:
        """The request target and JSON body for this candidate, in its provider's format."""
        data = ex.parsed
        endpoint = ex.endpoint
        base = c.origin.base_path
        if c.provider.kind == "anthropic":
            if endpoint == MESSAGES:
                body = data if data.get("model") == c.model else {**data, "model": c.model}
            else:
                body = tr.openai_chat_to_anthropic(data, c.model)
            payload = b"".join(ex.raw) if body is data else json.dumps(body).encode()
            return base + b"/v1/messages", payload
        if endpoint == MESSAGES:
            body, endpoint = tr.anthropic_to_openai_chat(data, c.model), CHAT
        else:
            body = data if data.get("model") == c.model else {**data, "model": c.model}
        if ex.stream and not ex.include_usage:
            body = {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}
        payload = b"".join(ex.raw) if body is data else json.dumps(body).encode()
        path = endpoint.removeprefix("/v1").encode()
        if c.provider.kind == "azure-openai":
            version = quote(c.provider.api_version or "2024-10-21", safe="").encode()
            return base + b"/deployments/" + quote(c.model, safe="").encode() + path + b"?api-version=" + version, payload
        return base + path, payload

    def version_stat(self, ex: GatewayExchange, c: Candidate, ms: float, *, error: bool) -> None:
        canary = ex.plan.canary if ex.plan is not None else None
        if canary is not None:
            version = canary.version(c.key)
            if version is not None:
                self.versions.record(canary.service, version, ms, error)

    def candidate_failed(self, ex: GatewayExchange, c: Candidate, status: int) -> None:
        self.version_stat(ex, c, (time.perf_counter() - ex.up_t0) * 1000, error=True)
        h = c.health
        h.failure()
        f = ex.plan.cls.spec.failover if ex.plan is not None else None
        now = time.time()
        if f is not None and h.consecutive >= f.cooldown_after and h.cooldown_until <= now:
            h.cooldown_until = now + f.cooldown_seconds
            self.cooldowns_out[c.key] = h.cooldown_until
            self.event("routing_cooldown", ex, c, status=status, message=f"{h.consecutive} failures in a row", to="",
                       until=h.cooldown_until)  # fmt: skip

    def account(
        self, ex: GatewayExchange, c: Candidate, status: int, up_ms: float, *, broken: bool, failed: bool = False
    ) -> None:
        if ex.accounted:
            return
        ex.accounted = True
        m = self.metrics
        total_ms = (time.perf_counter() - ex.req_t0) * 1000
        usage = ex.usage
        estimated = usage is None or (broken and usage == (0, 0))
        if usage is None or estimated:
            prompt = usage[0] if usage else estimate_tokens(ex.body_bytes)
            completion = usage[1] if usage else (0 if failed else max(ex.estimated_out, 0))
        else:
            prompt, completion = usage
        price = c.spec.price
        usd = (prompt * price.input + completion * price.output) / 1_000_000
        prov, model = c.provider.name, c.model
        m.requests[(ex.cls, prov, model, str(status))] += 1
        if not failed:  # a failed attempt was counted by candidate_failed
            self.version_stat(ex, c, up_ms, error=broken or status >= 500)
        est = "true" if estimated else "false"
        if not failed:
            m.tokens[(prov, model, "prompt", est)] += prompt
            m.tokens[(prov, model, "completion", est)] += completion
            m.spend[(prov, model)] += usd
            m.latency[("upstream", ex.cls)].observe(up_ms)
            m.latency[("added", ex.cls)].observe(max(total_ms - up_ms, 0.0))
        now = time.time()
        tokens = 0 if failed else prompt + completion
        key = ex.key
        if tokens:
            lim = self.router.limits
            if key.tpm:
                self.limiter.charge(f"key:{key.id}:tpm", tokens, now)
            for name in (f"tenant:{ex.tenant}:tpm", f"model:{ex.resolved}:tpm"):  # the names _check_limits checked
                if name in lim:
                    self.limiter.charge(name, tokens, now)
        if len(self.usage_out) < 100_000:  # Redis away for long: keep the newest accounting bounded
            self.usage_n += 1
            self.usage_out.append(
                {
                    "id": f"{self.replica}:{self.usage_n}",
                    "ts": now, "key": key.id, "tenant": ex.tenant, "project": key.project or "", "env": key.env or "",
                    "class": ex.cls, "provider": prov, "model": model, "requested": ex.client_model, "status": status,
                    "prompt": prompt, "completion": completion, "estimated": estimated, "usd": usd,
                    "upstreamMs": round(up_ms, 3), "addedMs": round(max(total_ms - up_ms, 0.0), 3),
                    "attempts": ex.attempt + 1, "reason": ex.plan.reason if ex.plan else "", "broken": broken,
                    "failed": failed,
                    "failovers": ex.failovers[:-1] if failed else ex.failovers,
                    "trace": ex.traceparent.decode()[3:35],
                }
            )  # fmt: skip
        if ex.capture and ex.plan is not None:
            self.capture(ex, c, status, now)
        if ex.span is not None:
            _end_span(ex, c, status, prompt, completion, estimated, failed or broken)
        last = self.sampled.get(ex.cls, 0.0)
        if now - last >= self.settings.gateway_refresh_seconds:
            self.sampled[ex.cls] = now
            self.event("routing_decision", ex, c, status=status, message=ex.plan.reason if ex.plan else "", to="")

    def refused(self, g: BudgetGate, why: str) -> None:
        r = self.refusals.setdefault(g.id, {"budget": g.id, "name": g.name, "tenant": g.tenant, "why": why, "count": 0})
        r["count"] += 1

    def capture(self, ex: GatewayExchange, c: Candidate, status: int, now: float) -> None:
        """A sampled request and what the client got, redacted here (before anything leaves the process)."""
        if len(self.captures_out) >= 1000:
            return
        assert ex.plan is not None
        rc = ex.plan.cls

        def clean(data: bytes) -> str:
            text = data[:CAPTURE_BYTES].decode(errors="replace")
            return rc.redact.sub("[REDACTED]", text) if rc.redact is not None else text

        self.captures_out.append(
            (
                rc.spec.name,
                rc.spec.capture.retention_days,
                {
                    "ts": now, "tenant": ex.tenant, "key": ex.key.id, "env": ex.key.env or "", "class": ex.cls,
                    "provider": c.provider.name, "model": c.model, "status": status, "endpoint": ex.endpoint,
                    "reason": ex.plan.reason, "scores": rc.score_header.decode(), "request": clean(b"".join(ex.raw)),
                    "response": clean(b"".join(ex.captured)), "stream": ex.stream, "trace": ex.traceparent.decode()[3:35],
                },
            )
        )  # fmt: skip

    def event(self, type_: str, ex: GatewayExchange, c: Candidate, *, status: int, message: str, to: str, **extra: Any) -> None:
        if len(self.events_out) >= 10_000:
            return
        plan = ex.plan
        self.events_out.append(
            {
                "type": type_, "tenant": ex.tenant, "routeClass": ex.cls, "provider": c.provider.name, "model": c.model,
                "status": status, "message": message[:300], "to": to, "attempt": ex.attempt + 1,
                "reason": plan.reason if plan else "", "scores": plan.cls.score_header.decode() if plan else "", **extra,
            }
        )  # fmt: skip

    # -- the tick
    def load(self, snap: Snapshot) -> None:
        opened: dict[str, str] = {}
        errors: list[str] = []
        for sk in snap.provider_keys:
            if self.keyring is None:
                errors.append(f"{sk.provider}: no data key ring")
                continue
            try:
                prov = next((p for p in snap.providers if p.name == sk.provider), None)
                if prov is None:
                    continue
                opened[sk.provider] = self.keyring.open(sk.sealed, bound_to=key_binding(prov.name, prov.base_url))
            except KeyRingError as exc:
                errors.append(f"{sk.provider}: {exc}")
        if errors:
            log.error("gateway: provider keys that do not open (their requests go without a key): %s", "; ".join(errors))
        self.router.load(snap, opened)
        self.load_error = "; ".join(errors + self.router.load_errors) or None
        self.loaded_at = time.time()

    async def tick(self) -> None:
        r = self.redis
        assert r is not None
        now = time.time()
        try:
            v = await r.get(VERSION_KEY)
            if v is not None and int(v) != self.router.version:
                raw = await r.get(SNAPSHOT_KEY)
                if raw is not None:
                    self.load(Snapshot.model_validate_json(raw))
        except Exception:
            log.warning("gateway: configuration refresh failed (routing on the last configuration)", exc_info=True)
        try:  # apart from the configuration: a snapshot that does not load must not freeze cooldowns or canaries
            outs, self.cooldowns_out = self.cooldowns_out, {}
            pipe = r.pipeline(transaction=False)
            if outs:
                pipe.hset(COOLDOWNS_KEY, mapping={k: repr(u) for k, u in outs.items()})
            pipe.hgetall(COOLDOWNS_KEY)
            res = await pipe.execute()
            shared = {k.decode(): float(u) for k, u in res[-1].items()}
            self.router.shared_cooldowns = {k: u for k, u in shared.items() if u > now}
            stale = [k for k, u in shared.items() if u <= now - 60]
            if stale:
                await r.hdel(COOLDOWNS_KEY, *stale)
            self.router.canaries = _canaries(await r.hgetall(edge_routes.ROUTES))
        except Exception:
            log.warning("gateway: cooldown and canary refresh failed", exc_info=True)
        self.router.rescore(now)
        try:
            await self.limiter.sync(r, now)
        except Exception:
            log.warning("gateway: rate-limit sync failed (counting locally)", exc_info=True)
        await self.flush(with_scores=True)
        try:
            await self.versions.flush(r)
        except Exception:
            log.warning("gateway: model canary counters not flushed", exc_info=True)
        for rc in self.router.classes:
            for cand in rc.candidates:
                self.metrics.health[(cand.provider.name, cand.model)] = (
                    cand.health.error_rate, cand.health.latency_ms or 0.0, 1 if self.router.cooling(cand, now) else 0,
                )  # fmt: skip

    def scores(self) -> str:
        """This replica's live view of every class: what GET /api/routing/candidates shows."""
        now = time.time()
        classes = {}
        for rc in self.router.classes:
            ranked = {s.candidate.key: s for s in rc.ranking}
            rows = []
            for c in rc.candidates:
                sc = ranked.get(c.key)
                h = c.health
                rows.append(
                    {
                        "provider": c.provider.name, "model": c.model, "allowed": sc is not None,
                        "total": sc.total if sc else 0.0, "latency": sc.latency if sc else 0.0, "cost": sc.cost if sc else 0.0,
                        "reliability": sc.reliability if sc else 0.0, "policy": sc.policy if sc else 0.0,
                        "latencyMs": h.latency_ms, "errorRate": h.error_rate, "requests": h.requests, "failures": h.failures,
                        "coolingSeconds": round(self.router.cooling(c, now), 1), "killed": self.router.killed(c),
                    }
                )  # fmt: skip
            classes[rc.spec.name] = {
                "ranking": [s.candidate.key for s in rc.ranking], "pin": rc.pin[0] if rc.pin else None,
                "downgraded": rc.downgraded, "candidates": rows,
            }  # fmt: skip
        return json.dumps({"ts": now, "configVersion": self.router.version, "classes": classes})

    async def flush(self, *, with_scores: bool = False) -> None:
        """Accounting, events, captures and this replica's scores to Redis, once per tick. Serializing and
        writing thousands of records is ~20 µs each: done in a thread with its own client, so the event
        loop keeps serving (the process's GIL switch interval is short, see run())."""
        scores = self.scores() if with_scores else None
        if self.redis_sync is None or not (self.usage_out or self.events_out or self.captures_out or scores or self.refusals):
            return
        usage, events, captures = self.usage_out, self.events_out, self.captures_out
        self.usage_out, self.events_out, self.captures_out = [], [], []
        refusals, self.refusals = self.refusals, {}
        stamp = time.time()
        for n, r in enumerate(refusals.values()):
            r.update(ts=stamp, id=f"{self.replica}:refusals:{int(stamp * 1000)}:{n}")
        trims = [
            (CAPTURES_STREAM.format(cls=rc.spec.name), int((time.time() - rc.spec.capture.retention_days * 86400) * 1000))
            for rc in self.router.classes  # also when capture was turned off: what was captured still expires
        ]
        try:
            await asyncio.to_thread(self._write, usage, events, captures, scores, trims, list(refusals.values()))
        except Exception:
            log.warning("gateway: usage flush failed; kept for the next tick", exc_info=True)
            self.usage_out = (usage + self.usage_out)[-100_000:]  # bounded while Redis is away
            for k, r in refusals.items():
                self.refusals.setdefault(k, r)
            self.events_out = (events + self.events_out)[-10_000:]

    def _write(
        self,
        usage: list[dict[str, Any]],
        events: list[dict[str, Any]],
        captures: list[tuple[str, int, dict[str, Any]]],
        scores: str | None,
        trims: list[tuple[str, int]],
        refusals: list[dict[str, Any]] | None = None,
    ) -> None:
        assert self.redis_sync is not None
        maxlen = self.settings.gateway_usage_stream_maxlen
        pipe = self.redis_sync.pipeline(transaction=False)
        dumps = json.dumps
        for u in usage:
            pipe.xadd(USAGE_STREAM, {"u": dumps(u)}, maxlen=maxlen, approximate=True)
        for r in refusals or []:
            pipe.xadd(REFUSALS_STREAM, {"r": dumps(r)}, maxlen=100_000, approximate=True)
        for e in events:
            payload = {k: v for k, v in e.items() if k not in ("type", "tenant")}
            env = make_envelope(
                type=e["type"], entity="routing_class", payload=RoutingEventPayload.model_validate(payload), tenant=e["tenant"]
            )
            pipe.xadd(EVENTS_STREAM, {"e": env.model_dump_json(by_alias=True)}, maxlen=10_000, approximate=True)
        for cls, _, record in captures:
            pipe.xadd(CAPTURES_STREAM.format(cls=cls), {"c": dumps(record)}, maxlen=100_000, approximate=True)
        for key, horizon in trims:  # retention: older captures are deleted (stream ids are times)
            pipe.xtrim(key, minid=horizon)
        if scores is not None:
            pipe.hset(SCORES_KEY, self.replica, scores)
            pipe.expire(SCORES_KEY, 60)
        pipe.execute()

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.gateway_refresh_seconds)
            try:
                await self.tick()
            except Exception:
                log.exception("gateway: tick failed")

    async def start(self, host: str | None = None, port: int | None = None) -> int:
        s = self.settings
        self.redis = Redis.from_url(s.effective_redis_url, socket_connect_timeout=5, socket_timeout=5)
        self.redis_sync = SyncRedis.from_url(s.effective_redis_url, socket_connect_timeout=5, socket_timeout=5)
        try:
            await self.tick()
        except Exception:
            log.warning("gateway: no configuration at start; serving 503 until Redis answers", exc_info=True)
        limits = Limits(
            max_body_bytes=s.gateway_max_body_bytes, connect_timeout=5.0, upstream_timeout=600.0, keepalive_timeout=60.0
        )
        self.proxy = ProxyServer(self, limits, exchange=GatewayExchange)
        bound = await self.proxy.start(s.gateway_host if host is None else host, s.gateway_port if port is None else port)
        self._tick = asyncio.get_running_loop().create_task(self._loop())
        return bound

    async def stop(self) -> None:
        # every step bounded: a Redis connection cut mid-connect by the cancel must not keep the process up
        if self._tick is not None:
            self._tick.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._tick, 5)
        if self.proxy is not None:
            await self.proxy.stop()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.flush(), 10)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.redis.aclose(), 5)
        if self.redis_sync is not None:
            self.redis_sync.close()


def _start_span(traceparent: str, endpoint: str, cls: str, tenant: str) -> Any:
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    parent = TraceContextTextMapPropagator().extract({"traceparent": traceparent})
    return trace.get_tracer("maestro.gateway").start_span(
        f"gateway {endpoint}",
        context=parent,
        kind=trace.SpanKind.SERVER,
        attributes={"maestro.routing.class": cls, "maestro.tenant": tenant},
    )


def _end_span(ex: GatewayExchange, c: Candidate, status: int, prompt: int, completion: int, estimated: bool, error: bool) -> None:
    from opentelemetry.trace import Status, StatusCode

    span, ex.span = ex.span, None
    span.set_attributes(
        {
            "maestro.routing.provider": c.provider.name, "maestro.routing.model": c.model,
            "maestro.routing.reason": ex.plan.reason if ex.plan else "", "maestro.routing.attempts": ex.attempt + 1,
            "http.response.status_code": status, "gen_ai.usage.input_tokens": prompt,
            "gen_ai.usage.output_tokens": completion, "maestro.tokens.estimated": estimated,
        }
    )  # fmt: skip
    if error:
        span.set_status(Status(StatusCode.ERROR))
    span.end()


def _canaries(raw: dict[Any, Any]) -> dict[str, Canary]:
    """Model canaries under way, from the routes RolloutWorkflow writes (provider gateway)."""
    from maestro.rollouts.providers.gateway import candidate_of

    out: dict[str, Canary] = {}
    for route in edge_routes.parse_routes(raw).values():
        cls = route.provider_config.get("routeClass") if route.provider == "gateway" else None
        stable = candidate_of(route.stable)
        if isinstance(cls, str) and stable:
            canary = candidate_of(route.canary) if route.canary else None
            out[cls] = Canary(route.service, stable, canary, route.weight if canary else 0)
    return out


def create_gateway(settings: Settings) -> Gateway:
    secret = settings.gateway_data_keys.get_secret_value() if settings.gateway_data_keys else None
    return Gateway(settings, load_key_ring(secret, settings.data_dir))


def run(settings: Settings) -> None:
    """`maestro gateway`: serve until SIGTERM/SIGINT, then drain in-flight requests and flush accounting."""
    import uvloop

    async def main() -> None:
        from maestro.telemetry import setup_tracing

        # the tick's flush thread holds the GIL for at most this long at a time (default 5 ms)
        sys.setswitchinterval(0.0005)

        setup_tracing(settings, service="maestro-gateway")  # spans of traced callers: local store, OTLP if set
        gw = create_gateway(settings)
        port = await gw.start()
        gc.collect()
        gc.freeze()
        log.info("model gateway listening on %s:%d", settings.gateway_host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await gw.stop()

    uvloop.run(main())
