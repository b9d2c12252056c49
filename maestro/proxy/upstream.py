"""Upstream side of the proxy: origins, pooled HTTP/1.1 keep-alive connections per (host, port) and a
streaming response parser that hands the head and each body piece to the exchange as it arrives."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol as TypingProtocol
from urllib.parse import urlsplit

from maestro.proxy.wire import (
    CHUNKED,
    LENGTH,
    MAX_CHUNK_LINE,
    MAX_RESPONSE_HEAD,
    NO_BODY,
    Limits,
    ResponseHead,
    parse_response_head,
)

_HEX = frozenset(b"0123456789abcdefABCDEF")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where requests go: scheme, host, port and a base path prefixed to every forwarded path."""

    host: str
    port: int
    tls: bool
    base_path: bytes  # "" or "/prefix" (no trailing slash)
    host_header: bytes  # `host: …\r\n` sent upstream
    key: tuple[str, int, bool] = field(compare=False)

    @staticmethod
    @lru_cache(maxsize=4096)
    def parse(url: str) -> Origin:
        """An http(s) URL → Origin; ValueError names what is wrong."""
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"upstream URL {url!r} must be http:// or https:// with a host")
        if u.query or u.fragment or u.username or u.password:
            raise ValueError(f"upstream URL {url!r} must not carry a query, fragment or credentials")
        tls = u.scheme == "https"
        port = u.port or (443 if tls else 80)
        default = port == (443 if tls else 80)
        host = u.hostname
        shown = f"[{host}]" if ":" in host else host
        netloc = shown if default else f"{shown}:{port}"
        base = u.path.rstrip("/").encode()
        return Origin(host, port, tls, base, b"host: " + netloc.encode() + b"\r\n", (host, port, tls))


class Exchange(TypingProtocol):
    """What an upstream connection reports to while it carries one request."""

    def resp_head(self, head: ResponseHead) -> None: ...
    def resp_body(self, data: bytes) -> None: ...
    def resp_end(self, reusable: bool) -> None: ...
    def flush(self) -> None: ...
    def upstream_failed(self, conn: UpstreamConnection, reason: str) -> None: ...
    def upstream_writable(self, writable: bool) -> None: ...


# parser states
HEAD, BODY_LENGTH, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILERS, BODY_CLOSE, IDLE = range(8)


class UpstreamConnection(asyncio.Protocol):
    """One pooled connection. Carries one exchange at a time; reusable only after a fully read response."""

    def __init__(self, pool: UpstreamPool, key: tuple[str, int, bool]) -> None:
        self.pool, self.key = pool, key
        self.transport: asyncio.Transport | None = None
        self.exchange: Exchange | None = None
        self.closed = False
        self.state = IDLE
        self.buf = b""
        self.remaining = 0
        self.keep_alive = False
        self.head_request = False
        self.got_bytes = False  # any response byte seen for the current exchange
        self.last_read = 0.0
        self.idle_since = 0.0
        self.uses = 0

    # -- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        ex, self.exchange = self.exchange, None
        if ex is None:
            return
        if self.state == BODY_CLOSE:  # the response's end is the connection's end
            self.state = IDLE
            ex.resp_end(False)
            ex.flush()
        elif self.state != IDLE:
            ex.upstream_failed(self, "the upstream closed the connection" + (f" ({exc})" if exc else ""))

    def pause_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.upstream_writable(False)

    def resume_writing(self) -> None:
        if self.exchange is not None:
            self.exchange.upstream_writable(True)

    # -- used by the exchange
    def begin(self, exchange: Exchange, data: bytes, *, head_request: bool, now: float) -> None:
        self.exchange = exchange
        self.state = HEAD
        self.buf = b""
        self.head_request = head_request
        self.got_bytes = False
        self.last_read = now
        self.uses += 1
        self.transport.write(data)  # type: ignore[union-attr]

    def write(self, data: bytes) -> None:
        if not self.closed:
            self.transport.write(data)  # type: ignore[union-attr]

    def close(self) -> None:
        """Drop the connection (never pooled again); the exchange is not told."""
        self.exchange = None
        self.state = IDLE
        if not self.closed:
            self.closed = True
            self.transport.close()  # type: ignore[union-attr]

    def abort(self) -> None:
        self.exchange = None
        self.state = IDLE
        if not self.closed:
            self.closed = True
            self.transport.abort()  # type: ignore[union-attr]

    def pause_reading(self) -> None:
        if not self.closed:
            self.transport.pause_reading()  # type: ignore[union-attr]

    def resume_reading(self) -> None:
        if not self.closed:
            self.transport.resume_reading()  # type: ignore[union-attr]

    # -- response parsing
    def data_received(self, data: bytes) -> None:
        ex = self.exchange
        if ex is None or self.state == IDLE:
            self.abort()  # bytes nobody asked for: this connection cannot be trusted for reuse
            return
        self.got_bytes = True
        self.last_read = self.pool.loop.time()
        if self.buf:
            data, self.buf = self.buf + data, b""
        while data:
            state = self.state
            if state == BODY_LENGTH:
                n = len(data)
                if n < self.remaining:
                    self.remaining -= n
                    ex.resp_body(data)
                    break
                piece, data = data[: self.remaining], data[self.remaining :]
                if piece:
                    ex.resp_body(piece)
                self._done(ex, extra=bool(data))
                break
            if state == HEAD:
                end = data.find(b"\r\n\r\n")
                if end < 0:
                    if len(data) > MAX_RESPONSE_HEAD:
                        return self._fail(ex, "the upstream's response head is too large")
                    self.buf = data
                    break
                if end > MAX_RESPONSE_HEAD:
                    return self._fail(ex, "the upstream's response head is too large")
                try:
                    head = parse_response_head(data[:end], head_request=self.head_request)
                except ValueError as exc:
                    return self._fail(ex, f"invalid response from the upstream: {exc}")
                data = data[end + 4 :]
                if head.status < 200:
                    if head.status == 101:
                        return self._fail(ex, "the upstream switched protocols, which this proxy does not carry")
                    continue  # interim responses (100 Continue, 103 Early Hints) are not relayed
                self.keep_alive = head.keep_alive
                ex.resp_head(head)
                if self.exchange is not ex:  # the exchange gave up on this connection while handling the head
                    return
                if head.framing == NO_BODY:
                    self._done(ex, extra=bool(data))
                    break
                if head.framing == LENGTH:
                    if head.length == 0:
                        self._done(ex, extra=bool(data))
                        break
                    self.remaining = head.length
                    self.state = BODY_LENGTH
                elif head.framing == CHUNKED:
                    self.state = CHUNK_SIZE
                else:
                    self.state = BODY_CLOSE
                continue
            if state == CHUNK_DATA:
                n = len(data)
                if n <= self.remaining:
                    self.remaining -= n
                    ex.resp_body(data)
                    if self.remaining == 0:
                        self.state = CHUNK_CRLF
                    break
                ex.resp_body(data[: self.remaining])
                data = data[self.remaining :]
                self.state = CHUNK_CRLF
                continue
            if state == CHUNK_SIZE:
                end = data.find(b"\r\n")
                if end < 0:
                    if len(data) > MAX_CHUNK_LINE:
                        return self._fail(ex, "invalid chunked response from the upstream")
                    self.buf = data
                    break
                size = data[:end].split(b";", 1)[0].strip(b" \t")
                if not size or len(size) > 16 or not _HEX.issuperset(size):
                    return self._fail(ex, "invalid chunk size from the upstream")
                data = data[end + 2 :]
                self.remaining = int(size, 16)
                self.state = CHUNK_DATA if self.remaining else TRAILERS
                continue
            if state == CHUNK_CRLF:
                if len(data) < 2:
                    self.buf = data
                    break
                if data[:2] != b"\r\n":
                    return self._fail(ex, "invalid chunked response from the upstream")
                data = data[2:]
                self.state = CHUNK_SIZE
                continue
            if state == TRAILERS:  # trailer fields are dropped; an empty line ends the message
                end = data.find(b"\r\n")
                if end < 0:
                    if len(data) > MAX_RESPONSE_HEAD:
                        return self._fail(ex, "the upstream's trailers are too large")
                    self.buf = data
                    break
                line, data = data[:end], data[end + 2 :]
                if not line:
                    self._done(ex, extra=bool(data))
                    break
                continue
            if state == BODY_CLOSE:
                ex.resp_body(data)
                break
            break
        ex.flush()

    def _done(self, ex: Exchange, *, extra: bool) -> None:
        self.state = IDLE
        self.exchange = None
        ex.resp_end(self.keep_alive and not extra)

    def _fail(self, ex: Exchange, reason: str) -> None:
        self.abort()
        ex.upstream_failed(self, reason)
        ex.flush()


class UpstreamPool:
    """Idle keep-alive connections per (host, port, tls), most recently used first."""

    def __init__(self, limits: Limits, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.limits = limits
        self.loop = loop or asyncio.get_running_loop()
        self.idle: dict[tuple[str, int, bool], list[UpstreamConnection]] = {}
        self._tls: ssl.SSLContext | None = None
        self.opened = 0  # connections ever opened (the keep-alive reuse test reads it)

    def acquire(self, origin: Origin) -> UpstreamConnection | None:
        conns = self.idle.get(origin.key)
        if not conns:
            return None
        horizon = self.loop.time() - self.limits.upstream_idle_seconds
        while conns:
            c = conns.pop()
            if not c.closed and c.idle_since > horizon:
                return c
            c.close()
        return None

    async def connect(self, origin: Origin) -> UpstreamConnection:
        if origin.tls and self._tls is None:
            self._tls = ssl.create_default_context()
        _, proto = await asyncio.wait_for(
            self.loop.create_connection(
                lambda: UpstreamConnection(self, origin.key),
                origin.host,
                origin.port,
                ssl=self._tls if origin.tls else None,
                server_hostname=origin.host if origin.tls else None,
            ),
            self.limits.connect_timeout,
        )
        self.opened += 1
        return proto

    def release(self, conn: UpstreamConnection) -> None:
        conn.exchange = None
        if conn.closed:
            return
        conns = self.idle.setdefault(conn.key, [])
        if len(conns) >= self.limits.max_idle_upstream:
            conn.close()
            return
        conn.idle_since = self.loop.time()
        conns.append(conn)

    def sweep(self) -> None:
        horizon = self.loop.time() - self.limits.upstream_idle_seconds
        for key, conns in list(self.idle.items()):
            keep = [c for c in conns if not c.closed and c.idle_since > horizon]
            for c in conns:
                if c not in keep:
                    c.close()
            if keep:
                self.idle[key] = keep
            else:
                del self.idle[key]

    def close(self) -> None:
        for conns in self.idle.values():
            for c in conns:
                c.close()
        self.idle.clear()
