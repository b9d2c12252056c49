"""HAProxy through its runtime API (the admin socket): two servers of one backend, `stable` and `canary`.

`apply` points the servers at the route's upstreams and sets their weights (stable 100−w, canary w);
`sync` (the control worker's loop, every MAESTRO_PROVIDER_SYNC_SECONDS) re-applies what a reload made
HAProxy forget and turns HAProxy's cumulative per-server counters (`show stat`) into the same Redis
per-version 1 s buckets the built-in edge writes, so rollout analysis reads them unchanged.

Latency: HAProxy 2.6 keeps no latency histogram (neither `show stat` nor its Prometheus exporter), only
`rtime`, the average response time of the server's last 1024 responses, and `rtime_max`. Each sample
counts its responses at that average, except one at the new maximum when the maximum rose. So
`latency_p95_ms` with HAProxy is a percentile of a moving average, not of single requests: it lags and
understates tails. docs/providers/haproxy.md says so to users.
"""

from __future__ import annotations

import csv
import fnmatch
import ipaddress
import logging
import math
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from redis import Redis

from maestro.config import Settings
from maestro.edge import routes as edge
from maestro.rollouts.providers import (
    ProviderConfig,
    ProviderContext,
    ProviderSpec,
    ProviderUnavailable,
    TrafficProvider,
)

log = logging.getLogger("maestro.rollouts.haproxy")

IDENT = re.compile(r"[A-Za-z0-9_.:-]{1,100}")
HOST = re.compile(r"[A-Za-z0-9.-]{1,253}")
SUN_PATH_MAX = 107  # a unix socket path longer than sun_path cannot be connected to

# srv_admin_state bits (HAProxy's SRV_ADMF_*); CMAINT (0x04) only remembers that the configuration said
# `disabled` and stays set after `set server … state ready`, so it is not part of either test
FMAINT, IMAINT, FDRAIN, IDRAIN, RMAINT, HMAINT = 0x01, 0x02, 0x08, 0x10, 0x20, 0x40
NOT_READY = FMAINT | IMAINT | FDRAIN | IDRAIN | RMAINT | HMAINT
IN_MAINT = FMAINT | IMAINT | RMAINT | HMAINT


def _sample_key(service: str) -> str:
    return f"maestro:haproxy:sampled:{service}"


MAX_ANSWER_BYTES = 4 * 1024 * 1024


class HAProxyConfig(ProviderConfig):
    """Where HAProxy's runtime API answers and which backend and servers carry the service."""

    admin_socket: str = Field(
        description="HAProxy's admin socket (`stats socket … level admin`): a unix socket path such as "
        "/run/haproxy/admin.sock, or host:port for `stats socket ipv4@127.0.0.1:9999 level admin`",
        examples=["/run/haproxy/admin.sock"],
    )
    backend: str = Field(description="The backend whose two servers carry the service", examples=["shop"])
    stable_server: str = Field("stable", description="The backend's server that carries the stable version")
    canary_server: str = Field("canary", description="The backend's server that carries the canary")
    timeout_seconds: float = Field(2.0, gt=0, le=30, description="How long one admin socket command may take")

    def targets(self) -> dict[str, str]:
        return {"backend": f"haproxy:{self.admin_socket}/{self.backend}"}

    def refused_field(self, field: str, patterns: list[str]) -> str:
        # no pattern allows any backend on this socket: the socket is what is wrong
        socket_part = f"haproxy:{self.admin_socket}/"
        allowed = any(fnmatch.fnmatchcase(socket_part, p.rsplit("/", 1)[0] + "/") for p in patterns if "/" in p)
        return field if allowed else "adminSocket"

    @field_validator("admin_socket")
    @classmethod
    def _socket(cls, v: str) -> str:
        if v.startswith("/"):
            if len(v.encode()) > SUN_PATH_MAX or any(c in v for c in "\0\n\r"):
                raise ValueError(f"a unix socket path of at most {SUN_PATH_MAX} bytes, without control characters")
            return v
        host, port = _split_host_port(v)
        if host is None or port is None:
            raise ValueError("an absolute unix socket path (/run/haproxy/admin.sock) or host:port (127.0.0.1:9999)")
        return v

    @field_validator("backend", "stable_server", "canary_server")
    @classmethod
    def _ident(cls, v: str) -> str:
        if not IDENT.fullmatch(v):
            raise ValueError("an HAProxy name: 1-100 letters, digits, '-', '_', '.' or ':' as in haproxy.cfg")
        return v

    @field_validator("canary_server")
    @classmethod
    def _distinct(cls, v: str, info: Any) -> str:
        if v == info.data.get("stable_server"):
            raise ValueError("must differ from stableServer: the two versions need a server each")
        return v


def _split_host_port(v: str) -> tuple[str | None, int | None]:
    """host:port or [v6]:port → (host, port); (None, None) when it is neither."""
    m = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\[\]]+):(\d{1,5})", v)
    if not m:
        return None, None
    host, port = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    if not (0 < int(port) < 65536):
        return None, None
    if m.group(1):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None, None
    elif not HOST.fullmatch(host):
        return None, None
    return host, int(port)


def check_upstream(url: str, _config: Any) -> None:
    """HAProxy sends the client's path to a server address: an upstream is http(s)://host[:port], no path."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{url!r}: HAProxy needs http://<host>:<port> (or https://, see docs/providers/haproxy.md)")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"{url!r}: an HAProxy server is an address, it cannot add a path, query or credentials: give "
            f"{parts.scheme}://{parts.netloc.rpartition('@')[2]} and route paths in haproxy.cfg"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ValueError(f"{url!r}: {exc}") from None


# ---- the runtime API ---------------------------------------------------------------------------


class AdminSocket:
    """One command per connection (HAProxy's non-interactive mode): send it, read until HAProxy closes."""

    def __init__(self, address: str, timeout: float) -> None:
        self.address, self.timeout = address, timeout

    def command(self, cmd: str) -> str:
        try:
            if self.address.startswith("/"):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(self.timeout)
                s.connect(self.address)
            else:
                host, port = _split_host_port(self.address)
                s = socket.create_connection((host, port), timeout=self.timeout)
            with s:
                s.settimeout(self.timeout)
                s.sendall(cmd.encode() + b"\n")
                chunks = []
                size = 0
                deadline = time.monotonic() + self.timeout * 4
                while chunk := s.recv(65536):
                    chunks.append(chunk)
                    size += len(chunk)
                    if time.monotonic() > deadline:
                        raise TimeoutError("the answer did not end")
                    if size > MAX_ANSWER_BYTES:  # not an HAProxy answering `show stat` for two servers
                        raise OSError(f"the answer exceeds {MAX_ANSWER_BYTES} bytes")
        except OSError as exc:
            raise ProviderUnavailable(f"HAProxy admin socket {self.address} does not answer ({cmd.split()[0]}): {exc}") from exc
        return b"".join(chunks).decode(errors="replace")


@dataclass(frozen=True)
class ServerState:
    name: str
    addr: str
    port: int
    admin: int  # srv_admin_state bits
    weight: int  # srv_uweight: the weight `set weight` set
    ssl: bool

    @property
    def ready(self) -> bool:
        return not self.admin & NOT_READY

    @property
    def in_maintenance(self) -> bool:
        return bool(self.admin & IN_MAINT)


@dataclass(frozen=True)
class Want:
    """What one server should look like: `addrs` are the upstream host's addresses (any one will do)."""

    server: str
    addrs: tuple[str, ...]
    port: int
    ssl: bool
    weight: int
    on: bool  # ready; else weight 0 and in maintenance


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def resolve(url: str) -> tuple[tuple[str, ...], int, bool]:
    """An upstream URL → (its host's addresses, port, TLS): HAProxy's runtime API takes addresses only."""
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ProviderUnavailable(f"cannot resolve {host!r} (upstream {url}) for HAProxy: {exc}") from exc
    addrs = tuple(dict.fromkeys(str(i[4][0]) for i in infos))
    if not addrs:
        raise ProviderUnavailable(f"{host!r} (upstream {url}) has no address")
    return addrs, port, tls


@dataclass
class Sample:
    at: float
    pid: str
    servers: dict[str, dict[str, int]]  # server → counters


# The last counter sample per (service, socket, backend): kept by the process whose sync loop holds the
# route's lease (maestro.rollouts.sync), so two workers never count the same requests.
_samples: dict[tuple[str, str, str], Sample] = {}
_samples_lock = threading.Lock()
COUNTERS = ("req_tot", "econ", "eresp", "hrsp_5xx", "rtime", "rtime_max")


def _stale_after(settings: Settings) -> float:
    from maestro.rollouts.sync import lease_seconds  # (sync imports the provider package)

    return lease_seconds(settings)


class HAProxyProvider:
    def __init__(self, ctx: ProviderContext) -> None:
        assert isinstance(ctx.config, HAProxyConfig)
        self.service = ctx.service
        self.config: HAProxyConfig = ctx.config
        self.redis: Redis = ctx.redis
        self.settings = ctx.settings
        self.admin = AdminSocket(self.config.admin_socket, self.config.timeout_seconds)

    # ---- reading ------------------------------------------------------------------------------
    def _ask(self, cmd: str) -> str:
        return self.admin.command(cmd).strip()

    def _refused(self, cmd: str, answer: str) -> ProviderUnavailable:
        said = " ".join(answer.split())[:300]
        return ProviderUnavailable(f"HAProxy at {self.config.admin_socket} refused `{cmd}`: {said}")

    def state(self) -> dict[str, ServerState]:
        """`show servers state <backend>`: address, port, admin state, weight and TLS of each server."""
        b = self.config.backend
        cmd = f"show servers state {b}"
        out = self._ask(cmd)
        lines = out.splitlines()
        at = next((i for i, ln in enumerate(lines) if ln.startswith("# be_id")), None)
        if at is None:  # the first line is the format version, the second the column names
            raise self._refused(cmd, out)
        header = lines[at][2:].split()
        found: dict[str, ServerState] = {}
        for ln in lines[at + 1 :]:
            if not ln.strip():
                continue
            row = dict(zip(header, ln.split(), strict=False))
            if row.get("be_name") != b or "srv_name" not in row:
                continue
            found[row["srv_name"]] = ServerState(
                name=row["srv_name"],
                addr=row.get("srv_addr", ""),
                port=int(row.get("srv_port", "0") or 0),
                admin=int(row.get("srv_admin_state", "0")),
                weight=int(row.get("srv_uweight", "0")),
                ssl=row.get("srv_use_ssl", "0") == "1",
            )
        for s in (self.config.stable_server, self.config.canary_server):
            if s not in found:
                have = ", ".join(sorted(found)) or "none"
                raise ProviderUnavailable(
                    f"HAProxy backend {b!r} has no server {s!r} (its servers: {have}): add "
                    f"`server {s} 127.0.0.1:1 weight 0 disabled` to the backend in haproxy.cfg"
                )
        return found

    def wanted(self, route: edge.Route) -> list[Want]:
        c = self.config
        s_addrs, s_port, s_tls = resolve(route.stable)
        if not route.canary:
            return [
                Want(c.stable_server, s_addrs, s_port, s_tls, 100, True),
                Want(c.canary_server, (), 0, False, 0, False),
            ]
        c_addrs, c_port, c_tls = resolve(route.canary)
        w = max(0, min(100, route.weight))
        return [
            Want(c.stable_server, s_addrs, s_port, s_tls, 100 - w, True),
            Want(c.canary_server, c_addrs, c_port, c_tls, w, True),
        ]

    @staticmethod
    def differences(wants: list[Want], state: dict[str, ServerState]) -> list[str]:
        """What HAProxy reports that the route does not say, in words (empty: it matches)."""
        out = []
        for w in wants:
            s = state[w.server]
            if not w.on:
                if s.weight != 0 or not s.in_maintenance:
                    state_word = "in maintenance" if s.in_maintenance else "ready"
                    out.append(f"{w.server}: weight {s.weight} {state_word}, wanted weight 0 in maintenance")
                continue
            if not any(_same_ip(s.addr, a) for a in w.addrs) or s.port != w.port:
                out.append(f"{w.server}: {s.addr}:{s.port}, wanted {w.addrs[0]}:{w.port}")
            if s.ssl != w.ssl:
                out.append(f"{w.server}: ssl {'on' if s.ssl else 'off'}, wanted {'on' if w.ssl else 'off'}")
            if s.weight != w.weight:
                out.append(f"{w.server}: weight {s.weight}, wanted {w.weight}")
            if not s.ready:
                out.append(f"{w.server}: admin state {s.admin:#x}, wanted ready")
        return out

    # ---- the contract -------------------------------------------------------------------------
    def apply(self, route: edge.Route) -> None:
        wants = self.wanted(route)
        self._apply(wants, self.state())
        left = self.differences(wants, self.state())
        if left:
            raise ProviderUnavailable(f"HAProxy at {self.config.admin_socket} did not take the route: {'; '.join(left)}")

    def _set(self, cmd: str, ok: tuple[str, ...] = ()) -> None:
        """A `set …` command: HAProxy answers nothing on success (`set server … addr` says what changed)."""
        out = self._ask(cmd)
        if out and not any(o in out for o in ok):
            raise self._refused(cmd, out)

    def _apply(self, wants: list[Want], state: dict[str, ServerState]) -> None:
        """Only what differs, in an order that never leaves both servers without weight: addresses first
        (a server changes address only while it has none of the traffic), then readiness, then weights
        that rise, then weights that fall, then maintenance."""
        b = self.config.backend
        for w in wants:
            s = state[w.server]
            if not w.on:
                continue
            if not any(_same_ip(s.addr, a) for a in w.addrs) or s.port != w.port:
                self._set(f"set server {b}/{w.server} addr {w.addrs[0]} port {w.port}", ok=("changed", "no need to change"))
            if s.ssl != w.ssl:
                self._set(f"set server {b}/{w.server} ssl {'on' if w.ssl else 'off'}")
            if not s.ready:
                self._set(f"set server {b}/{w.server} state ready")
        for w in sorted(wants, key=lambda w: w.weight - state[w.server].weight, reverse=True):
            if state[w.server].weight != w.weight:
                self._set(f"set weight {b}/{w.server} {w.weight}")
        for w in wants:
            if not w.on and not state[w.server].in_maintenance:
                self._set(f"set server {b}/{w.server} state maint")

    def window(self, version: str, seconds: float) -> edge.Window:
        try:
            raw = self.redis.get(_sample_key(self.service))
            w = edge.window(self.redis, self.service, version, seconds)
        except Exception as exc:
            raise ProviderUnavailable(f"Redis (HAProxy's traffic counters): {exc}") from exc
        stale = _stale_after(self.settings)
        at = float(raw) if raw else None
        if at is None or time.time() - at > stale:
            since = f"since {time.strftime('%H:%M:%S', time.gmtime(at))} UTC" if at else "yet"
            raise ProviderUnavailable(
                f"no traffic counters from HAProxy ({self.config.admin_socket}, backend {self.config.backend}) {since}: "
                "the control worker samples them every MAESTRO_PROVIDER_SYNC_SECONDS (is a worker running, "
                "does the admin socket answer?)"
            )
        return w

    def sync(self, route: edge.Route) -> None:
        """Re-apply the route when HAProxy reports something else (a reload forgets runtime changes), then
        sample the per-server counters into the per-version 1 s buckets."""
        wants = self.wanted(route)
        state = self.state()
        diffs = self.differences(wants, state)
        if diffs:
            current = edge.get(self.redis, self.service)
            if current is None or (current.revision, current.updated_at) != (route.revision, route.updated_at):
                return  # the route changed meanwhile: its apply sets HAProxy, the next sync checks it
            log.info(
                "HAProxy %s backend %s differs from the route of %s (%s): re-applying",
                self.config.admin_socket,
                self.config.backend,
                self.service,
                "; ".join(diffs),
            )
            self._apply(wants, state)
        self.sample()

    # ---- counters -----------------------------------------------------------------------------
    def read_counters(self) -> tuple[str, dict[str, dict[str, int]]]:
        """(HAProxy's process id, counters of the two servers) from `show info` and `show stat`."""
        info = self._ask("show info")
        pid = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("Pid:")), None)
        if pid is None:
            raise self._refused("show info", info)
        cmd = f"show stat {self.config.backend} 4 -1"
        out = self._ask(cmd)
        if not out.startswith("# pxname,"):
            raise self._refused(cmd, out)
        rows = list(csv.reader(out[2:].splitlines()))
        header = rows[0]
        servers: dict[str, dict[str, int]] = {}
        for r in rows[1:]:
            row = dict(zip(header, r, strict=False))
            if row.get("pxname") == self.config.backend and row.get("svname") in (
                self.config.stable_server,
                self.config.canary_server,
            ):
                servers[row["svname"]] = {k: int(row.get(k) or 0) for k in COUNTERS}
        return pid, servers

    def sample(self, now: float | None = None) -> None:
        pid, servers = self.read_counters()
        now = now or time.time()
        key = (self.service, self.config.admin_socket, self.config.backend)
        with _samples_lock:
            last = _samples.get(key)
            _samples[key] = Sample(now, pid, servers)
        if last is None or now - last.at > _stale_after(self.settings):
            # no baseline (first sample in this process, or another worker held the route meanwhile)
            self.redis.set(_sample_key(self.service), now, ex=edge.STATS_TTL_S)
            return
        version = {self.config.stable_server: "stable", self.config.canary_server: "canary"}
        pipe = self.redis.pipeline()
        for server, cur in servers.items():
            fields = counter_delta(last.servers.get(server) if last.pid == pid else None, cur)
            if fields:
                write_buckets(pipe, self.service, version[server], fields, last.at, now)
        pipe.set(_sample_key(self.service), now, ex=edge.STATS_TTL_S)
        pipe.execute()


def counter_delta(prev: dict[str, int] | None, cur: dict[str, int]) -> dict[str, float]:
    """Bucket fields (req, err, lat, le<ms>) for the traffic between two samples of one server.

    `prev` None, or any counter lower than before, means HAProxy restarted (a reload starts a new
    process at zero): everything it counted so far is new."""
    if prev is None or any(cur[k] < prev[k] for k in ("req_tot", "econ", "eresp", "hrsp_5xx")):
        prev = {k: 0 for k in COUNTERS}
    responses = cur["req_tot"] - prev["req_tot"]
    failed_connects = cur["econ"] - prev["econ"]
    requests = responses + failed_connects
    if requests <= 0:
        return {}
    errors = min(requests, (cur["hrsp_5xx"] - prev["hrsp_5xx"]) + failed_connects + (cur["eresp"] - prev["eresp"]))
    fields: dict[str, float] = {"req": requests, "err": errors, "lat": 0.0}
    # HAProxy has no histogram: the responses are counted at its moving average response time, except one
    # at the new maximum when the maximum rose; failed connects have no response time and fall in no bucket
    timed: list[tuple[float, int]] = []
    if responses > 0:
        if cur["rtime_max"] > prev["rtime_max"]:
            timed.append((float(cur["rtime_max"]), 1))
            responses -= 1
        if responses:
            timed.append((float(cur["rtime"]), responses))
    for ms, n in timed:
        fields["lat"] += ms * n
        for le in edge.LATENCY_BUCKETS_MS:
            if ms <= le:
                fields[f"le{le}"] = fields.get(f"le{le}", 0) + n
    return fields


def spread(total: float, buckets: int) -> list[float]:
    """`total` split over `buckets` (whole numbers stay whole; the remainder goes to the latest buckets)."""
    if buckets <= 1:
        return [total]
    if total != int(total):
        return [total / buckets] * buckets
    base, rest = divmod(int(total), buckets)
    return [float(base + (1 if i >= buckets - rest else 0)) for i in range(buckets)]


def write_buckets(pipe: Any, service: str, version: str, fields: dict[str, float], since: float, now: float) -> None:
    """Add one sample's traffic to the 1 s buckets it happened in: all in the current one after a usual
    1 s interval, spread evenly over the seconds of a longer gap (a slow admin socket)."""
    first, last = int(since // edge.BUCKET_S) + 1, int(now // edge.BUCKET_S)
    seconds = list(range(min(first, last), last + 1))
    parts = {f: spread(v, len(seconds)) for f, v in fields.items()}
    for i, b in enumerate(seconds):
        key = edge.stats_key(service, version, b)
        for f, vs in parts.items():
            if vs[i] == 0:
                continue
            if f == "lat" or not math.isclose(vs[i], int(vs[i])):
                pipe.hincrbyfloat(key, f, vs[i])
            else:
                pipe.hincrby(key, f, int(vs[i]))
        pipe.expire(key, edge.STATS_TTL_S)


def _factory(ctx: ProviderContext) -> TrafficProvider:
    return HAProxyProvider(ctx)


PROVIDER = ProviderSpec(
    name="haproxy",
    title="HAProxy",
    description="A backend's stable and canary servers, weighted through HAProxy's runtime API (the admin socket).",
    config_model=HAProxyConfig,
    factory=_factory,
    docs="docs/providers/haproxy.md",
    check_upstream=check_upstream,
)
