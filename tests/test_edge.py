"""The edge router on real sockets: a real upstream HTTP server (threads, HTTP/1.1 keep-alive), the edge
(`maestro.edge.server`, on `maestro.proxy`) on a free port in its own event loop, routes and counters
in the test Valkey. Hostile clients speak raw bytes over a socket."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from maestro.config import Settings
from maestro.edge import routes as rt
from maestro.edge.server import create_edge
from tests.services import free_port, serving_in_thread, wait_for


def running_edge(settings: Settings) -> contextlib.AbstractContextManager[str]:
    """`maestro edge` in a thread with its own uvloop event loop, on a free port; stopped (drained,
    counters flushed) on exit."""
    edge = create_edge(settings)
    return serving_in_thread(lambda: edge.start(host="127.0.0.1", port=0), edge.stop)


class Upstream:
    """A real HTTP/1.1 keep-alive server (one thread per connection). Paths pick its behaviour; it counts
    the connections it accepted and remembers what it received."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.connections = 0
        self.seen: list[dict[str, Any]] = []
        self.release = threading.Event()  # /stream and /upload wait for it
        self.first_piece = threading.Event()  # /upload: the first body piece arrived
        self.hold_closed = threading.Event()  # /hold: the proxy closed the connection
        self.stream_closed = threading.Event()  # /stream: the proxy closed the connection mid-response
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # head and body: no Nagle wait
                with lock:
                    outer.connections += 1

            def log_message(self, *args: object) -> None:
                pass

            def body(self) -> bytes:
                if self.headers.get("transfer-encoding", "").lower() == "chunked":
                    out = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            return out
                        out += self.rfile.read(size)
                        self.rfile.read(2)
                return self.rfile.read(int(self.headers.get("content-length", 0)))

            def send(self, status: int, body: bytes, ctype: str = "text/plain", **headers: str) -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                if status not in (204, 304):
                    self.send_header("content-length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k.replace("_", "-"), v)
                self.end_headers()
                if self.command != "HEAD" and status not in (204, 304):
                    self.wfile.write(body)

            def handle_one(self) -> None:
                path = self.path.removeprefix("/base")  # routes may carry a base path
                if path.startswith("/upload"):
                    first = self.rfile.read(int(self.headers["x-first"]))
                    outer.first_piece.set()
                    rest = self.rfile.read(int(self.headers["content-length"]) - len(first))
                    return self.send(200, str(len(first) + len(rest)).encode())
                body = self.body()
                outer.seen.append({"method": self.command, "path": self.path, "headers": self.headers.items(), "body": body})
                if path.startswith("/echo"):
                    info = {
                        "upstream": outer.name,
                        "method": self.command,
                        "path": self.path,
                        "headers": [[k.lower(), v] for k, v in self.headers.items()],
                        "bodyLength": len(body),
                        "bodySha256": hashlib.sha256(body).hexdigest(),
                    }
                    return self.send(200, json.dumps(info).encode(), "application/json")
                if path == "/cookies":  # two Set-Cookie fields, its own Date and Server
                    self.send_response(200)
                    self.send_header("Set-Cookie", "seen=1; Path=/")
                    self.send_header("Set-Cookie", "theme=dark; Path=/")
                    self.send_header("content-length", str(len(outer.name)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(outer.name.encode())
                    return None
                if path.startswith("/status/"):
                    return self.send(int(path.split("/")[2]), b"status body")
                if path == "/hop":  # hop-by-hop fields a proxy must not pass on
                    return self.send(200, b"hop", connection="x-secret", x_secret="1", keep_alive="timeout=5")
                if path == "/big":
                    n = 8 * 1024 * 1024
                    self.send_response(200)
                    self.send_header("content-length", str(n))
                    self.end_headers()
                    for _ in range(n // 65536):
                        self.wfile.write(b"x" * 65536)
                    return None
                if path == "/close":  # HTTP/1.0 style: the body ends when the connection does
                    self.send_response(200)
                    self.send_header("connection", "close")
                    self.end_headers()
                    self.wfile.write(b"until the end")
                    self.close_connection = True
                    return None
                if path == "/stream":  # server-sent events: the first event leaves before the rest exists
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream")
                    self.send_header("transfer-encoding", "chunked")
                    self.end_headers()
                    self.wfile.write(b"d\r\ndata: first\n\n\r\n")
                    while not outer.release.wait(0.02):  # until the test releases it, or the proxy hangs up
                        readable, _, _ = select.select([self.connection], [], [], 0)
                        if readable and self.connection.recv(1, socket.MSG_PEEK) == b"":
                            outer.stream_closed.set()
                            self.close_connection = True
                            return None
                    self.wfile.write(b"e\r\ndata: second\n\n\r\n0\r\n\r\n")
                    return None
                if path == "/slow":
                    time.sleep(2)
                    return self.send(200, b"late")
                if path == "/hold":  # never answers; notices when the proxy hangs up
                    self.connection.settimeout(10)
                    with contextlib.suppress(OSError):
                        if self.connection.recv(1) == b"":
                            outer.hold_closed.set()
                    self.close_connection = True
                    return None
                return self.send(404, b"no such path")

            def do_GET(self) -> None:
                self.handle_one()

            do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def r(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def edge_settings(tmp: Path, redis_url: str, **kw: Any) -> Settings:
    return Settings(data_dir=tmp, redis_url=redis_url, edge_refresh_seconds=0.1, edge_upstream_timeout_seconds=5, **kw)


@pytest.fixture(scope="module")
def edge(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_edge(edge_settings(tmp_path_factory.mktemp("edge"), redis_url)) as url:
        yield url


@pytest.fixture
def up() -> Iterator[Upstream]:
    u = Upstream("stable")
    yield u
    u.close()


@pytest.fixture
def up2() -> Iterator[Upstream]:
    u = Upstream("canary")
    yield u
    u.close()


def route(r: redis.Redis, edge: str, stable: str, **kw: Any) -> str:
    """A fresh service routed to `stable`; returns its name once the edge serves it."""
    name = f"svc-{uuid.uuid4().hex[:8]}"
    rt.put(r, rt.Route(service=name, stable=stable, **kw))
    if kw.get("provider", "edge") == "edge":
        wait_for(lambda: name in httpx.get(f"{edge}/_edge/health").json()["services"], 10, 0.05)
    return name


def reroute(r: redis.Redis, edge: str, name: str, probe: Any, **kw: Any) -> None:
    route_now = rt.get(r, name)
    assert route_now is not None
    for k, v in kw.items():
        setattr(route_now, k, v)
    rt.put(r, route_now)
    wait_for(probe, 10, 0.05)


def connect(edge: str) -> socket.socket:
    host, port = edge.removeprefix("http://").split(":")
    s = socket.create_connection((host, int(port)), timeout=10)
    return s


class Reader:
    """Reads HTTP/1.1 responses off one raw socket (content-length, chunked, no body)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buf = sock, b""

    def _more(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def head(self) -> tuple[int, list[tuple[str, str]]]:
        while b"\r\n\r\n" not in self.buf:
            assert self._more(), f"connection closed before a response head: {self.buf!r}"
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        fields = [(k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:])]
        return int(lines[0].split()[1]), fields

    def response(self, *, head_request: bool = False) -> tuple[int, dict[str, str], bytes]:
        status, fields = self.head()
        h = dict(fields)
        if head_request or status in (204, 304):
            return status, h, b""
        if "content-length" in h:
            n = int(h["content-length"])
            while len(self.buf) < n:
                assert self._more()
            body, self.buf = self.buf[:n], self.buf[n:]
            return status, h, body
        assert h.get("transfer-encoding") == "chunked", h
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                assert self._more()
            line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(line, 16)
            while len(self.buf) < size + 2:
                assert self._more()
            body += self.buf[:size]
            self.buf = self.buf[size + 2 :]
            if size == 0:
                return status, h, body

    def closed(self) -> bool:
        """True once the peer has closed (after any buffered bytes)."""
        try:
            return not self._more()
        except ConnectionResetError:
            return True


def exchange(edge: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with connect(edge) as s:
        s.sendall(raw)
        return Reader(s).response()


def is_problem(resp: httpx.Response, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = resp.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# -- routing


def test_requests_go_to_the_service_with_path_and_query_kept(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url + "/base/")
    got = httpx.get(f"{edge}/{svc}/echo/a%20b/c?x=1&y=two&x=3")
    assert got.status_code == 200 and got.headers["x-maestro-version"] == "stable"
    info = got.json()
    assert info["path"] == "/base/echo/a%20b/c?x=1&y=two&x=3"  # raw path and every repeated parameter
    assert dict(info["headers"])["host"] == up.url.removeprefix("http://")
    assert httpx.get(f"{edge}/{svc}").status_code == 404  # "/base/" on the upstream, which has no such page
    assert up.seen[-1]["path"] == "/base/"
    missing = is_problem(httpx.get(f"{edge}/no-such-service/x"), 404)
    assert "no-such-service" in missing["detail"]


def test_a_service_carried_by_another_provider_is_a_404_naming_it(r: redis.Redis, edge: str, up: Upstream) -> None:
    there = route(r, edge, up.url, provider="haproxy")
    # `there` is written first: the table that serves `here` was read after it (one read of the whole hash)
    here = route(r, edge, up.url)
    assert httpx.get(f"{edge}/{here}/echo").status_code == 200
    body = is_problem(httpx.get(f"{edge}/{there}/echo"), 404)
    assert "haproxy" in body["detail"] and there in body["detail"]
    assert there not in httpx.get(f"{edge}/_edge/health").json()["services"]
    assert not [s for s in up.seen if s["path"] == "/echo" and s is not up.seen[0]]  # nothing reached the upstream


def test_weights_split_traffic_and_follow_route_changes(r: redis.Redis, edge: str, up: Upstream, up2: Upstream) -> None:
    svc = route(r, edge, up.url, canary=up2.url, weight=30)
    with httpx.Client() as c:
        seen = Counter(c.get(f"{edge}/{svc}/echo").json()["upstream"] for _ in range(400))
        assert 0.2 < seen["canary"] / 400 < 0.4, seen
        headers = {c.get(f"{edge}/{svc}/echo").headers["x-maestro-version"] for _ in range(50)}
        assert headers == {"stable", "canary"}

        def all_canary() -> bool:
            return {c.get(f"{edge}/{svc}/echo").json()["upstream"] for _ in range(20)} == {"canary"}

        reroute(r, edge, svc, all_canary, weight=100)
        reroute(r, edge, svc, lambda: {c.get(f"{edge}/{svc}/echo").json()["upstream"] for _ in range(20)} == {"stable"}, weight=0)


def test_sticky_users_stay_on_one_version(r: redis.Redis, edge: str, up: Upstream, up2: Upstream) -> None:
    by_header = route(r, edge, up.url, canary=up2.url, weight=50, sticky="header:X-User")
    by_cookie = route(r, edge, up.url, canary=up2.url, weight=50, sticky="cookie:uid")
    with httpx.Client() as c:
        users = [f"user-{i}" for i in range(60)]
        for u in users:
            versions = {c.get(f"{edge}/{by_header}/echo", headers={"x-user": u}).json()["upstream"] for _ in range(5)}
            assert len(versions) == 1, (u, versions)
        split = Counter(c.get(f"{edge}/{by_header}/echo", headers={"x-user": u}).json()["upstream"] for u in users)
        assert split["stable"] and split["canary"]  # users are spread, each one stays put
        for u in users[:20]:
            cookie = {"cookie": f"theme=x; uid={u}"}
            versions = {c.get(f"{edge}/{by_cookie}/echo", headers=cookie).json()["upstream"] for _ in range(5)}
            assert len(versions) == 1, (u, versions)


# -- responses as the upstream sent them


def test_every_upstream_header_once_and_the_edges_own_date(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    got = httpx.get(f"{edge}/{svc}/cookies")
    assert got.headers.get_list("set-cookie") == ["seen=1; Path=/", "theme=dark; Path=/"]
    assert len(got.headers.get_list("date")) == 1 and len(got.headers.get_list("server")) == 1
    assert got.headers["x-maestro-version"] == "stable" and got.text == "stable"


def test_hop_by_hop_fields_stop_at_the_edge_both_ways(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    got = httpx.get(
        f"{edge}/{svc}/echo",
        headers={"connection": "keep-alive, x-private", "x-private": "1", "te": "trailers", "x-kept": "yes",
                 "proxy-authorization": "Basic eDp5", "upgrade": "websocket", "keep-alive": "timeout=9"},
    )  # fmt: skip
    sent = dict(got.json()["headers"])
    assert sent["x-kept"] == "yes"
    assert not {"x-private", "te", "proxy-authorization", "upgrade", "keep-alive"} & set(sent)
    hop = httpx.get(f"{edge}/{svc}/hop")
    assert hop.text == "hop" and "x-secret" not in hop.headers and "keep-alive" not in hop.headers


def test_head_204_and_304_have_no_body_and_keep_the_connection(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    with connect(edge) as s:
        rd = Reader(s)
        s.sendall(f"HEAD /{svc}/cookies HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        status, h, _ = rd.response(head_request=True)
        assert status == 200 and h["content-length"] == "6"  # the GET's length, no body
        for code in (204, 304):
            s.sendall(f"GET /{svc}/status/{code} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
            status, h, body = rd.response()
            assert status == code and "transfer-encoding" not in h, body
            assert code == 304 or "content-length" not in h
        s.sendall(f"GET /{svc}/status/201 HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        status, _, body = rd.response()
        assert status == 201 and body == b"status body"  # nothing stray before it: no body went out for HEAD/204/304


def test_a_body_ending_with_the_upstream_connection_reaches_the_client_chunked(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    with connect(edge) as s:
        rd = Reader(s)
        for _ in range(2):  # the client's connection stays usable
            s.sendall(f"GET /{svc}/close HTTP/1.1\r\nhost: x\r\n\r\n".encode())
            status, h, body = rd.response()
            assert status == 200 and body == b"until the end" and h["transfer-encoding"] == "chunked"


# -- streaming


def test_server_sent_events_pass_through_as_they_happen(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    with httpx.Client(timeout=10) as c, c.stream("GET", f"{edge}/{svc}/stream") as resp:
        assert resp.headers["content-type"] == "text/event-stream"
        chunks = resp.iter_raw()
        assert next(chunks) == b"data: first\n\n"  # while the upstream has not produced the rest
        assert not up.release.is_set()
        up.release.set()
        assert b"".join(chunks) == b"data: second\n\n"


def test_request_bodies_stream_to_the_upstream(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    first, rest = b"a" * 1000, b"b" * 3000
    with connect(edge) as s:
        s.sendall(
            f"POST /{svc}/upload HTTP/1.1\r\nhost: x\r\ncontent-length: {len(first) + len(rest)}\r\n"
            f"x-first: {len(first)}\r\n\r\n".encode()
            + first
        )
        assert up.first_piece.wait(10)  # the upstream has the first part while the client holds the rest
        s.sendall(rest)
        status, _, body = Reader(s).response()
        assert status == 200 and body == b"4000"


def test_large_bodies_both_ways_content_length_and_chunked(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    payload = bytes(range(256)) * 40_000  # ~10 MB

    def pieces() -> Iterator[bytes]:
        for i in range(0, len(payload), 100_000):
            yield payload[i : i + 100_000]

    with httpx.Client(timeout=30) as c:
        for content in (payload, pieces()):  # content-length, then chunked
            got = c.post(f"{edge}/{svc}/echo", content=content).json()
            assert got["bodyLength"] == len(payload) and got["bodySha256"] == hashlib.sha256(payload).hexdigest()
        big = c.get(f"{edge}/{svc}/big")
        assert big.status_code == 200 and len(big.content) == 8 * 1024 * 1024 and set(big.content) == {ord("x")}


# -- connections


def test_keep_alive_on_both_sides(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    with connect(edge) as s:
        rd = Reader(s)
        for i in range(30):
            s.sendall(f"GET /{svc}/echo/{i} HTTP/1.1\r\nhost: x\r\n\r\n".encode())
            status, _, body = rd.response()
            assert status == 200 and json.loads(body)["path"] == f"/echo/{i}"
    assert up.connections == 1  # 30 requests, one client connection, one pooled upstream connection


def test_pipelined_requests_are_answered_in_order(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    with connect(edge) as s:
        s.sendall(b"".join(f"GET /{svc}/echo/{i} HTTP/1.1\r\nhost: x\r\n\r\n".encode() for i in range(5)))
        rd = Reader(s)
        assert [json.loads(rd.response()[2])["path"] for _ in range(5)] == [f"/echo/{i}" for i in range(5)]


def test_a_client_that_hangs_up_cancels_the_upstream_request(
    r: redis.Redis, redis_url: str, tmp_path: Path, up: Upstream
) -> None:
    # an upstream timeout far beyond the waits below: a closed upstream connection is the hang-up's doing,
    # however slowly a loaded machine gets there
    settings = edge_settings(tmp_path, redis_url).model_copy(update={"edge_upstream_timeout_seconds": 120})
    with running_edge(settings) as edge:
        svc = route(r, edge, up.url)
        with connect(edge) as s:
            s.sendall(f"GET /{svc}/hold HTTP/1.1\r\nhost: x\r\n\r\n".encode())
            wait_for(lambda: up.connections == 1, 30, 0.02)
        assert up.hold_closed.wait(60)  # the edge closed its upstream connection
        with connect(edge) as s:  # hanging up mid-response closes the upstream connection too
            s.sendall(f"GET /{svc}/stream HTTP/1.1\r\nhost: x\r\n\r\n".encode())
            assert Reader(s).head()[0] == 200
        opened = up.connections
        assert up.stream_closed.wait(60)
        up.release.set()  # and that half-read connection is never reused:
        assert httpx.get(f"{edge}/{svc}/echo").status_code == 200
        assert up.connections == opened + 1


def test_unreachable_and_slow_upstreams(r: redis.Redis, redis_url: str, tmp_path: Path, up: Upstream) -> None:
    settings = edge_settings(tmp_path, redis_url).model_copy(update={"edge_upstream_timeout_seconds": 0.5})
    with running_edge(settings) as edge:
        dead = route(r, edge, f"http://127.0.0.1:{free_port()}")
        body = is_problem(got := httpx.get(f"{edge}/{dead}/x"), 502)
        assert got.headers["x-maestro-version"] == "stable" and "upstream" in body["detail"]
        slow = route(r, edge, up.url)
        t0 = time.monotonic()
        body = is_problem(got := httpx.get(f"{edge}/{slow}/slow", timeout=10), 504)
        assert time.monotonic() - t0 < 1.9 and got.headers["x-maestro-version"] == "stable"
        assert httpx.get(f"{edge}/{slow}/echo").status_code == 200  # the timed-out connection was not reused
        wait_for(lambda: rt.window(r, dead, "stable", 30).errors == 1, 5, 0.05)
        wait_for(lambda: rt.window(r, slow, "stable", 30).errors == 1, 5, 0.05)


# -- hostile input


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET /s/" + b"a" * 9000 + b" HTTP/1.1\r\nhost: x\r\n\r\n", 414),
        (b"GET /s/ HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 40_000 + b"\r\n\r\n", 431),
        (b"GET /s/ HTTP/1.1\r\nhost: x\r\n" + b"".join(b"x-%d: 1\r\n" % i for i in range(150)) + b"\r\n", 431),
        (b"POST /s/ HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST /s/ HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n", 400),
        (b"POST /s/ HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\nhello", 400),
        (b"POST /s/ HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!", 400),
        (b"POST /s/ HTTP/1.1\r\nhost: x\r\ncontent-length: +5\r\n\r\nhello", 400),
        (b"POST /s/ HTTP/1.1\r\nhost: x\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 400),
        (b"POST /s/ HTTP/1.1\r\nhost: x\r\ntransfer-encoding: identity\r\n\r\n", 400),
        (b"GET /s/ HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET /s/ HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n", 400),
        (b"GET /s/ HTTP/1.1\r\nhost: x\r\nx-folded: a\r\n b\r\n\r\n", 400),  # obs-fold
        (b"GET /s/ HTTP/1.1\r\nhost: x\nx-bare-lf: 1\r\n\r\n", 400),
        (b"GET http://elsewhere/s/ HTTP/1.1\r\nhost: x\r\n\r\n", 400),
        (b"NOT-HTTP\r\n\r\n", 400),
    ],
)
def test_hostile_requests_are_refused_and_the_connection_closed(edge: str, raw: bytes, status: int) -> None:
    smuggled = b"GET /_edge/health HTTP/1.1\r\nhost: x\r\n\r\n"  # must never be answered
    with connect(edge) as s:
        s.sendall(raw + smuggled)
        rd = Reader(s)
        got, h, body = rd.response()
        assert got == status and h["content-type"] == "application/problem+json", body
        assert json.loads(body)["status"] == status and h["connection"] == "close"
        assert rd.closed() and rd.buf == b""


def test_bodies_over_the_limit_are_413(r: redis.Redis, redis_url: str, tmp_path: Path, up: Upstream) -> None:
    with running_edge(edge_settings(tmp_path, redis_url, edge_max_body_bytes=1000)) as edge:
        svc = route(r, edge, up.url)
        status, h, _ = exchange(edge, f"POST /{svc}/echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1001\r\n\r\n".encode())
        assert status == 413 and h["connection"] == "close"
        chunked = f"POST /{svc}/echo HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n".encode()
        status, _, _ = exchange(edge, chunked + b"3e8\r\n" + b"a" * 1000 + b"\r\n10\r\n" + b"b" * 16 + b"\r\n0\r\n\r\n")
        assert status == 413
        assert httpx.post(f"{edge}/{svc}/echo", content=b"a" * 1000).json()["bodyLength"] == 1000


def test_methods_the_edge_does_not_forward(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    status, h, _ = exchange(edge, f"TRACE /{svc}/echo HTTP/1.1\r\nhost: x\r\n\r\n".encode())
    assert status == 405 and "GET" in h["allow"]


# -- counters


def test_counters_reach_the_redis_buckets_rollout_analysis_reads(r: redis.Redis, edge: str, up: Upstream) -> None:
    svc = route(r, edge, up.url)
    with httpx.Client() as c:
        for i in range(40):
            assert c.get(f"{edge}/{svc}/status/{500 if i % 4 == 0 else 200}").status_code in (200, 500)

    def flushed() -> rt.Window | None:
        w = rt.window(r, svc, "stable", 60)
        return w if w.requests == 40 else None

    w = wait_for(flushed, 5, 0.05)
    assert w.errors == 10 and w.error_rate == 0.25
    assert w.buckets[10000] == 40 and 0 < w.latency_sum_ms < 40 * 10000
    assert rt.window(r, svc, "canary", 60).requests == 0
    metrics = httpx.get(f"{edge}/_edge/metrics").text
    assert f'maestro_edge_requests_total{{outcome="2xx",service="{svc}",version="stable"}} 30.0' in metrics
    assert f'maestro_edge_requests_total{{outcome="5xx",service="{svc}",version="stable"}} 10.0' in metrics
    assert f'maestro_edge_request_duration_seconds_count{{service="{svc}",version="stable"}} 40.0' in metrics


def test_maestro_edge_serves_and_flushes_its_counters_on_sigterm(
    r: redis.Redis, redis_url: str, tmp_path: Path, up: Upstream
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAESTRO_")}
    env |= {"MAESTRO_DATA_DIR": str(tmp_path), "MAESTRO_REDIS_URL": redis_url, "MAESTRO_EDGE_PORT": str(port),
            "MAESTRO_EDGE_REFRESH_SECONDS": "30"}  # fmt: skip
    name = f"svc-{uuid.uuid4().hex[:8]}"
    rt.put(r, rt.Route(service=name, stable=up.url))
    proc = subprocess.Popen([sys.executable, "-m", "maestro.cli", "edge"], env=env)
    try:
        edge = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{edge}/{name}/echo"), 30, 0.1)
        with httpx.Client() as c:
            for _ in range(7):
                assert c.get(f"{edge}/{name}/echo").headers["x-maestro-version"] == "stable"
        assert rt.window(r, name, "stable", 120).requests == 0  # nothing flushed yet: the tick is 30 s
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rt.window(r, name, "stable", 120).requests == 8  # the last counters flushed on the way out


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
