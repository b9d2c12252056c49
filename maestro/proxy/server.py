"""Client side of the proxy: an HTTP/1.1 server protocol (httptools/llhttp, strict) with keep-alive and
pipelining, request limits, and the exchange that streams a request to a pooled upstream connection
and the response back, piece by piece, in both directions with back-pressure.

The application decides per request (`App.handle`): answer itself (`Reply`) or forward (`Forward`).
No task is created per request unless a new upstream connection has to be opened."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

import httptools

from maestro.proxy.upstream import Origin, UpstreamConnection, UpstreamPool
from maestro.proxy.wire import (
    HOP_BY_HOP,
    LENGTH,
    NO_BODY,
    BadMessage,
    Limits,
    Reply,
    ResponseHead,
    connection_tokens,
    date_header,
    problem,
    status_line,
)

log = logging.getLogger("maestro.proxy")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# request fields the proxy handles itself rather than forwarding
_NOT_FORWARDED = HOP_BY_HOP | {b"host", b"content-length", b"expect"}


class Request:
    """One parsed request head. `headers` keeps (lowercase name, name, value) in arrival order."""

    __slots__ = ("chunked", "client", "expect", "headers", "http11", "keep_alive", "length", "method", "target")

    def __init__(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes, bytes]],
        http11: bool,
        keep_alive: bool,
        length: int,
        chunked: bool,
        expect: bool,
        client: Any,
    ) -> None:
        self.method, self.target, self.headers = method, target, headers
        self.http11, self.keep_alive, self.length, self.chunked = http11, keep_alive, length, chunked
        self.expect, self.client = expect, client

    @property
    def has_body(self) -> bool:
        return self.chunked or self.length > 0

    def header(self, name: bytes) -> bytes | None:
        for lname, _, value in self.headers:
            if lname == name:
                return value
        return None


@dataclass(slots=True)
class Forward:
    """Send the request to `origin` with request target `target` (path and query, raw)."""

    origin: Origin
    target: bytes
    headers: bytes = b""  # raw header lines added to the response (and to a 502/504 the proxy writes)
    tag: Any = None  # handed back to App.observe / App.failed


class App(Protocol):
    def handle(self, request: Request) -> Forward | Reply: ...
    def observe(self, tag: Any, status: int, seconds: float) -> None:
        """The upstream's response head arrived `seconds` after forwarding began."""

    def failed(self, tag: Any, outcome: str, seconds: float) -> None:
        """No response: outcome is connect_error, timeout or upstream_error; a 502/504 was written."""


class Exchange:
    """One request/response through the proxy."""

    __slots__ = (
        "body",
        "body_bytes",
        "body_done",
        "conn",
        "dead",
        "fwd",
        "out",
        "req",
        "resp_chunked",
        "resp_close",
        "resp_started",
        "retried",
        "reused",
        "sent_continue",
        "started",
        "t0",
        "up",
        "up_paused",
    )  # fmt: skip

    def __init__(self, conn: ClientConnection, req: Request) -> None:
        self.conn, self.req = conn, req
        self.fwd: Forward | None = None
        self.up: UpstreamConnection | None = None
        self.body: list[bytes] = []  # request body pieces waiting for an upstream
        self.body_bytes = 0
        self.body_done = not req.has_body
        self.started = False
        self.resp_started = False
        self.resp_chunked = False
        self.resp_close = not req.keep_alive
        self.out: list[bytes] = []
        self.t0 = 0.0
        self.dead = False
        self.reused = False
        self.retried = False
        self.up_paused = False
        self.sent_continue = False

    # -- start
    def start(self) -> None:
        self.started = True
        conn = self.conn
        req = self.req
        try:
            result = conn.server.app.handle(req)
        except Exception:
            log.exception("proxy: the application failed on %r", req.target[:200])
            result = problem(500, "Internal error", "The proxy failed on this request; see its log.")
        if isinstance(result, Reply):
            return self.reply(result)
        self.fwd = result
        if req.expect and not self.body_done:
            conn.transport.write(CONTINUE)
            self.sent_continue = True
        self.t0 = time.perf_counter()
        up = conn.server.pool.acquire(result.origin)
        if up is not None:
            self.attach(up, reused=True)
        else:
            conn.server.loop.create_task(self.connect())

    async def connect(self) -> None:
        assert self.fwd is not None
        try:
            up = await self.conn.server.pool.connect(self.fwd.origin)
        except TimeoutError:
            if not self.dead:
                self.give_up("timeout", 504, "Upstream timeout", "connecting to the upstream timed out")
            return
        except OSError as exc:
            if not self.dead:
                self.give_up("connect_error", 502, "Upstream unreachable", f"connecting to the upstream failed: {exc}")
            return
        if self.dead:
            self.conn.server.pool.release(up)  # a fresh, clean connection: keep it for the next request
            return
        self.attach(up, reused=False)

    def attach(self, up: UpstreamConnection, *, reused: bool) -> None:
        fwd = self.fwd
        req = self.req
        assert fwd is not None
        self.up, self.reused = up, reused
        head = [req.method, b" ", fwd.target, b" HTTP/1.1\r\n", fwd.origin.host_header]
        hs = req.headers
        drop = _NOT_FORWARDED
        for lname, _, value in hs:
            if lname == b"connection":
                drop = drop | connection_tokens(value)
        for lname, name, value in hs:
            if lname not in drop:
                head += (name, b": ", value, b"\r\n")
        if req.chunked:
            head.append(b"transfer-encoding: chunked\r\n\r\n")
        elif req.length >= 0:
            head.append(b"content-length: %d\r\n\r\n" % req.length)
        elif req.method in (b"POST", b"PUT", b"PATCH"):
            head.append(b"content-length: 0\r\n\r\n")
        else:
            head.append(b"\r\n")
        for piece in self.body:
            head.append(self._frame(piece))
        self.body = []
        if self.body_done and req.chunked:
            head.append(b"0\r\n\r\n")
        up.begin(self, b"".join(head), head_request=req.method == b"HEAD", now=self.conn.server.loop.time())
        self.conn.resume("buffer")

    def _frame(self, piece: bytes) -> bytes:
        return b"%x\r\n%b\r\n" % (len(piece), piece) if self.req.chunked else piece

    # -- request body from the client
    def request_body(self, piece: bytes) -> None:
        self.body_bytes += len(piece)
        if self.body_bytes > self.conn.server.limits.max_body_bytes:
            raise BadMessage(413, f"the request body is larger than {self.conn.server.limits.max_body_bytes} bytes")
        up = self.up
        if up is not None:
            up.last_read = self.conn.server.loop.time()  # an upload in progress is activity, not a stalled upstream
            up.write(self._frame(piece))
        elif not self.dead:
            self.body.append(piece)
            if sum(map(len, self.body)) > self.conn.server.limits.buffer_bytes:
                self.conn.pause("buffer")

    def request_end(self) -> None:
        self.body_done = True
        if self.up is not None and self.req.chunked:
            self.up.write(b"0\r\n\r\n")

    def upstream_writable(self, writable: bool) -> None:
        if writable:
            self.conn.resume("upstream")
        else:
            self.conn.pause("upstream")

    # -- response from the upstream
    def resp_head(self, head: ResponseHead) -> None:
        fwd = self.fwd
        assert fwd is not None
        server = self.conn.server
        try:
            server.app.observe(fwd.tag, head.status, time.perf_counter() - self.t0)
        except Exception:
            log.exception("proxy: observe failed")
        req = self.req
        out = self.out
        out.append(status_line(head.status))
        for name, value in head.headers:
            out += (name, b": ", value, b"\r\n")
        out.append(date_header())
        out.append(fwd.headers)
        if head.framing == LENGTH or (head.framing == NO_BODY and head.length >= 0):
            out.append(b"content-length: %d\r\n" % head.length)
        elif head.framing != NO_BODY:
            if req.http11:
                out.append(b"transfer-encoding: chunked\r\n")
                self.resp_chunked = True
            else:
                self.resp_close = True  # an HTTP/1.0 client reads this body until the connection closes
        if self.resp_close:
            out.append(b"connection: close\r\n\r\n")
        elif not req.http11:
            out.append(b"connection: keep-alive\r\n\r\n")
        else:
            out.append(b"\r\n")
        self.resp_started = True

    def resp_body(self, data: bytes) -> None:
        if self.req.method == b"HEAD":
            return
        if self.resp_chunked:
            self.out.append(b"%x\r\n%b\r\n" % (len(data), data))
        else:
            self.out.append(data)

    def flush(self) -> None:
        if self.out:
            if not self.dead:
                self.conn.transport.write(b"".join(self.out))
            self.out = []

    def resp_end(self, reusable: bool) -> None:
        if self.resp_chunked:
            self.out.append(b"0\r\n\r\n")
        self.flush()
        up, self.up = self.up, None
        if up is not None:
            up.exchange = None
            if reusable and self.body_done and not self.dead:
                self.conn.server.pool.release(up)
            else:
                up.close()
        if self.up_paused:
            self.up_paused = False
        self.conn.resume("upstream")
        self.conn.finished(self, close=self.resp_close or not self.body_done)

    def client_writable(self, writable: bool) -> None:
        up = self.up
        if up is None:
            return
        if writable and self.up_paused:
            self.up_paused = False
            up.resume_reading()
        elif not writable and not self.up_paused:
            self.up_paused = True
            up.pause_reading()

    # -- failures
    def upstream_failed(self, up: UpstreamConnection, reason: str) -> None:
        if self.dead:
            return
        self.up = None
        if not self.resp_started:
            if self.reused and not up.got_bytes and not self.retried and not self.req.has_body:
                # a pooled connection the upstream had already closed: try once more on a fresh one
                self.retried = True
                self.conn.server.loop.create_task(self.connect())
                return
            self.give_up("upstream_error", 502, "Upstream failed", reason)
            return
        self.out = []  # the head is out: all the client can learn is a cut connection
        self.conn.abort()

    def check_timeout(self, now: float) -> None:
        """Called by the server's sweep (no timer per request): give up on an upstream silent too long."""
        up = self.up
        if self.dead or up is None:
            return
        limit = self.conn.server.limits.upstream_timeout
        if now - up.last_read < limit:  # a byte either way within the limit
            return
        self.up = None
        up.abort()
        if self.resp_started:
            self.out = []
            self.conn.abort()
        else:
            self.give_up("timeout", 504, "Upstream timeout", f"the upstream sent no response within {limit:g} s")

    def give_up(self, outcome: str, status: int, title: str, detail: str) -> None:
        fwd = self.fwd
        assert fwd is not None
        try:
            self.conn.server.app.failed(fwd.tag, outcome, time.perf_counter() - self.t0)
        except Exception:
            log.exception("proxy: failed() failed")
        self.reply(problem(status, title, detail, fwd.headers))

    def reply(self, reply: Reply) -> None:
        if self.dead:
            return
        close = self.resp_close or not self.body_done
        self.resp_started = True
        self.conn.transport.write(reply.encode(head_only=self.req.method == b"HEAD", close=close))
        self.conn.finished(self, close=close)

    def kill(self) -> None:
        """The client went away: stop everything this exchange started."""
        self.dead = True
        up, self.up = self.up, None
        if up is not None:
            up.abort()
        self.body = []
        self.out = []


class ClientConnection(asyncio.Protocol):
    """A client's keep-alive connection: parses requests strictly and runs their exchanges in order."""

    __slots__ = (
        "closed",
        "current",
        "header_bytes",
        "headers",
        "idle_since",
        "parser",
        "paused",
        "peer",
        "queue",
        "reading",
        "server",
        "transport",
        "url",
    )  # fmt: skip

    def __init__(self, server: ProxyServer) -> None:
        self.server = server
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: list[tuple[bytes, bytes, bytes]] = []
        self.header_bytes = 0
        self.current: Exchange | None = None  # the exchange being answered
        self.reading: Exchange | None = None  # the exchange whose request body is arriving
        self.queue: deque[Exchange] = deque()  # pipelined requests waiting their turn
        self.paused: set[str] = set()
        self.closed = False
        self.idle_since: float | None = None
        self.peer: Any = None

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.peer = transport.get_extra_info("peername")
        self.idle_since = self.server.loop.time()
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self.current is not None:
            self.current.kill()
        for ex in self.queue:
            ex.kill()
        self.queue.clear()
        self.current = self.reading = None

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # upgrade headers are hop-by-hop and never forwarded: answer the request, then close
            if self.reading is not None:
                self.reading.resp_close = True
            elif self.current is not None:
                self.current.resp_close = True
            else:
                self.close()
            self.pause("upgrade")
        except BadMessage as exc:
            self.reject(exc.status, exc.detail)
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if isinstance(cause, BadMessage):
                self.reject(cause.status, cause.detail)
            else:
                self.reject(400, f"malformed HTTP request: {exc}")

    def pause_writing(self) -> None:
        if self.current is not None:
            self.current.client_writable(False)

    def resume_writing(self) -> None:
        if self.current is not None:
            self.current.client_writable(True)

    # -- httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.header_bytes = 0

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > self.server.limits.max_url_bytes:
            raise BadMessage(414, f"the request target is longer than {self.server.limits.max_url_bytes} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        limits = self.server.limits
        if self.header_bytes > limits.max_header_bytes or len(self.headers) >= limits.max_headers:
            raise BadMessage(431, f"request header fields exceed {limits.max_headers} fields or {limits.max_header_bytes} bytes")
        self.headers.append((name.lower(), name, value))

    def on_headers_complete(self) -> None:
        length, chunked, hosts, expect = -1, False, 0, False
        for lname, _, value in self.headers:
            if lname == b"content-length":
                if length >= 0:
                    raise BadMessage(400, "more than one Content-Length")
                if not value.isdigit():
                    raise BadMessage(400, "invalid Content-Length")
                length = int(value)
            elif lname == b"transfer-encoding":
                if chunked or value.strip().lower() != b"chunked":
                    raise BadMessage(400, "Transfer-Encoding must be exactly 'chunked'")
                chunked = True
            elif lname == b"host":
                hosts += 1
            elif lname == b"expect":
                if value.strip().lower() != b"100-continue":
                    raise BadMessage(417, "only 'Expect: 100-continue' is supported")
                expect = True
        if chunked and length >= 0:
            raise BadMessage(400, "both Content-Length and Transfer-Encoding: a request must use one")
        parser = self.parser
        http11 = parser.get_http_version() == "1.1"
        if hosts > 1 or (http11 and hosts == 0):
            raise BadMessage(400, "an HTTP/1.1 request needs exactly one Host header")
        if not self.url.startswith(b"/"):
            raise BadMessage(400, "the request target must be a path (origin-form, starting with '/')")
        limits = self.server.limits
        if length > limits.max_body_bytes:
            raise BadMessage(413, f"the request body is larger than {limits.max_body_bytes} bytes")
        req = Request(
            parser.get_method(), self.url, self.headers, http11, parser.should_keep_alive(), length, chunked, expect,
            self.peer,
        )  # fmt: skip
        ex = self.server.exchange(self, req)
        self.reading = ex
        self.idle_since = None
        if self.current is None:
            self.current = ex
            ex.start()
        else:
            self.queue.append(ex)
            self.pause("pipeline")

    def on_body(self, body: bytes) -> None:
        if self.reading is not None:
            self.reading.request_body(body)

    def on_message_complete(self) -> None:
        ex, self.reading = self.reading, None
        if ex is not None:
            ex.request_end()

    # -- exchanges
    def finished(self, ex: Exchange, *, close: bool) -> None:
        if ex is not self.current:
            return
        self.current = None
        if close or self.closed or self.server.stopping:
            self.close()
            return
        if self.queue:
            nxt = self.queue.popleft()
            self.current = nxt
            if not self.queue:
                self.resume("pipeline")
            nxt.start()
        else:
            self.idle_since = self.server.loop.time()

    def reject(self, status: int, detail: str) -> None:
        """A request the proxy refuses to read further: answer if nothing is in flight, then close."""
        titles = {413: "Request body too large", 414: "Request target too long", 431: "Request headers too large"}
        if self.current is None or (not self.current.resp_started and self.current is self.reading):
            if self.current is not None:
                self.current.kill()
                self.current = None
            body = problem(status, titles.get(status, "Bad request"), detail)
            self.transport.write(body.encode(head_only=False, close=True))
        self.close()

    def pause(self, reason: str) -> None:
        if not self.paused and not self.closed:
            self.transport.pause_reading()
        self.paused.add(reason)

    def resume(self, reason: str) -> None:
        if reason in self.paused:
            self.paused.discard(reason)
            if not self.paused and not self.closed:
                self.transport.resume_reading()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.abort()


class ProxyServer:
    """Listens, owns the upstream pool and sweeps idle connections once a second."""

    def __init__(self, app: Any, limits: Limits | None = None, exchange: type[Exchange] | None = None) -> None:
        self.app = app  # what the exchange class talks to: an App for the default Exchange; the gateway for its own
        self.limits = limits or Limits()
        self.exchange = exchange or Exchange  # what carries one request (the gateway's buffers and re-plans)
        self.loop = asyncio.get_running_loop()
        self.pool = UpstreamPool(self.limits, self.loop)
        self.connections: set[ClientConnection] = set()
        self.server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self.stopping = False  # draining: connections close after their current response

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (0: a free port); returns the port."""
        self.server = await self.loop.create_server(lambda: ClientConnection(self), host, port, backlog=4096)
        self._sweeper = self.loop.create_task(self._sweep())
        return int(self.server.sockets[0].getsockname()[1])

    async def _sweep(self) -> None:
        """Timeouts without a timer per request: upstream silence (checked several times per timeout),
        idle or slow-to-send clients, stale pooled connections."""
        limits = self.limits
        every = min(1.0, limits.upstream_timeout / 5, limits.keepalive_timeout / 5)
        last_pool_sweep = 0.0
        while True:
            await asyncio.sleep(every)
            now = self.loop.time()
            if now - last_pool_sweep >= 1.0:
                self.pool.sweep()
                last_pool_sweep = now
            horizon = now - limits.keepalive_timeout
            for c in list(self.connections):
                ex = c.current
                if ex is not None:
                    try:
                        ex.check_timeout(now)
                    except Exception:  # one exchange's failure must not stop every other timeout
                        log.exception("proxy: timeout check failed")
                        c.abort()
                elif c.idle_since is not None and c.idle_since < horizon:
                    c.close()

    async def stop(self) -> None:
        """Stop listening, let in-flight responses finish (up to 5 s), then close everything."""
        self.stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.server is not None:
            self.server.close()
        for c in list(self.connections):
            if c.current is None:
                c.close()
        deadline = self.loop.time() + 5
        while self.connections and self.loop.time() < deadline:
            await asyncio.sleep(0.05)
        for c in list(self.connections):
            c.abort()
        self.pool.close()
