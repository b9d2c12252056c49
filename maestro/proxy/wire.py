"""HTTP/1.1 wire helpers shared by the proxy's client and upstream sides: limits, hop-by-hop rules,
status lines, the Date header, problem+json replies and the upstream response head parser."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus

# RFC 9110 §7.6.1 hop-by-hop fields, plus the legacy ones proxies still see. Fields a Connection header
# names are hop-by-hop too; the proxy adds its own framing (content-length/transfer-encoding).
HOP_BY_HOP = frozenset(
    {
        *(b"connection", b"keep-alive", b"proxy-connection", b"proxy-authenticate", b"proxy-authorization"),
        *(b"te", b"trailer", b"trailers", b"transfer-encoding", b"upgrade"),
    }
)
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
MAX_RESPONSE_HEAD = 64 * 1024
MAX_CHUNK_LINE = 4096


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one client may send and how long the proxy waits; every field has a safe default."""

    max_url_bytes: int = 8192  # request target → 414
    max_header_bytes: int = 32 * 1024  # all request header fields together → 431
    max_headers: int = 100  # → 431
    max_body_bytes: int = 100 * 1024 * 1024  # request body → 413
    connect_timeout: float = 5.0  # upstream TCP (and TLS) connect → 504
    upstream_timeout: float = 30.0  # waiting for the response head, and idle between body reads → 504 / cut
    keepalive_timeout: float = 20.0  # an idle client connection, or one sending its request head too slowly
    max_idle_upstream: int = 64  # pooled idle connections per (host, port)
    upstream_idle_seconds: float = 4.0  # a pooled connection unused this long is closed (servers drop idle ones)
    buffer_bytes: int = 256 * 1024  # request body buffered before an upstream is attached: reading pauses above this


class BadMessage(Exception):
    """A message the proxy refuses: status and a human-readable detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


_STATUS_LINES: dict[int, bytes] = {s.value: f"HTTP/1.1 {s.value} {s.phrase}\r\n".encode() for s in HTTPStatus}


def status_line(code: int) -> bytes:
    line = _STATUS_LINES.get(code)
    if line is None:
        line = _STATUS_LINES[code] = f"HTTP/1.1 {code} \r\n".encode()
    return line


_date = [0, b""]


def date_header() -> bytes:
    """`date: …\\r\\n`, formatted once per second."""
    now = int(time.time())
    if now != _date[0]:
        _date[0], _date[1] = now, b"date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
    return _date[1]  # type: ignore[return-value]


@dataclass(slots=True)
class Reply:
    """A response the proxy writes itself (errors, health, metrics)."""

    status: int
    body: bytes = b""
    content_type: bytes = b"application/json"
    headers: bytes = b""  # extra raw header lines, each ending in CRLF

    def encode(self, *, head_only: bool, close: bool, extra: bytes = b"") -> bytes:
        out = [
            status_line(self.status),
            b"content-type: " + self.content_type + b"\r\n",
            b"content-length: %d\r\n" % len(self.body),
            date_header(),
            self.headers,
            extra,
            b"connection: close\r\n\r\n" if close else b"\r\n",
        ]
        if not head_only:
            out.append(self.body)
        return b"".join(out)


def problem(status: int, title: str, detail: str, headers: bytes = b"") -> Reply:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return Reply(status, body, b"application/problem+json", headers)


def connection_tokens(value: bytes) -> set[bytes]:
    return {t.strip().lower() for t in value.split(b",") if t.strip()}


# upstream response body framing
NO_BODY, LENGTH, CHUNKED, UNTIL_CLOSE = 0, 1, 2, 3


@dataclass(slots=True)
class ResponseHead:
    status: int
    headers: list[tuple[bytes, bytes]]  # end-to-end fields only, in order, original case
    framing: int
    length: int  # for LENGTH; for a HEAD/304 answer the upstream's content-length, else -1
    keep_alive: bool


def parse_response_head(head: bytes, *, head_request: bool) -> ResponseHead:
    """An upstream's status line and fields (without the final CRLFCRLF). Raises ValueError on anything
    that could split or smuggle a response: obs-fold, bare CR/LF, bad names, conflicting lengths."""
    lines = head.split(b"\r\n")
    first = lines[0]
    if not first.startswith(b"HTTP/1.") or len(first) < 12 or first[8:9] != b" ":
        raise ValueError("malformed status line")
    minor = first[7:8]
    code = first[9:12]
    if not code.isdigit() or (len(first) > 12 and first[12:13] != b" "):
        raise ValueError("malformed status code")
    status = int(code)
    if status < 100:
        raise ValueError("malformed status code")
    headers: list[tuple[bytes, bytes]] = []
    drop: set[bytes] = set()
    length = -1
    chunked = False
    te = False
    keep_alive = minor == b"1"
    for line in lines[1:]:
        i = line.find(b":")
        name = line[:i]
        if i <= 0 or not TOKEN.fullmatch(name):
            raise ValueError("malformed header field")
        value = line[i + 1 :].strip(b" \t")
        if b"\r" in value or b"\n" in value or b"\0" in value:
            raise ValueError("control character in a header value")
        lname = name.lower()
        if lname in HOP_BY_HOP:
            if lname == b"connection":
                tokens = connection_tokens(value)
                drop |= tokens
                if b"close" in tokens:
                    keep_alive = False
                elif b"keep-alive" in tokens and minor == b"0":
                    keep_alive = True
            elif lname == b"transfer-encoding":
                te = True
                chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
            continue
        if lname == b"content-length":
            if not value.isdigit() or (length >= 0 and int(value) != length):
                raise ValueError("invalid or conflicting content-length")
            length = int(value)
            continue
        if lname == b"date":
            continue  # the proxy sends its own
        headers.append((name, value))
    if drop:
        headers = [(n, v) for n, v in headers if n.lower() not in drop]
    if head_request or status < 200 or status in (204, 304):
        return ResponseHead(status, headers, NO_BODY, length if status != 204 else -1, keep_alive)
    if te:
        if chunked:
            return ResponseHead(status, headers, CHUNKED, -1, keep_alive)
        return ResponseHead(status, headers, UNTIL_CLOSE, -1, False)
    if length >= 0:
        return ResponseHead(status, headers, LENGTH, length, keep_alive)
    return ResponseHead(status, headers, UNTIL_CLOSE, -1, False)
