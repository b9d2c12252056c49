"""The edge router's cost: `maestro edge` against hitting the upstream directly, measured with wrk.

    .venv/bin/python bench/edge.py [--duration 10]

Three processes share the machine: a minimal HTTP/1.1 keep-alive upstream (its own process, below:
`--serve-upstream`), the edge router (`maestro edge`, its own process, with an embedded Valkey for
routes and counters) and wrk. Each load runs once straight at the upstream and once through the
edge, back to back in the same run:

- one keep-alive client (wrk -c1 -t1 --latency): p50/p99, added = edge - direct;
- 16 connections: throughput, the edge as % of direct (and a 50% canary split through the edge);
- 64 connections: throughput, timeouts and errors (must be 0);
- CPU per request of the edge process: utime+stime ticks from /proc/<pid>/stat over the edge runs,
  divided by the requests wrk completed through it.

Prints a table and PASS/MISS per goal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HAPROXY_CFG = """global
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    http-reuse always
    server s1 127.0.0.1:{upstream}
"""
RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok"


async def _ok_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def serve_upstream(port: int, kind: str) -> None:
    """The upstream: `http` is a minimal real HTTP server (uvicorn with httptools and uvloop, one process,
    a two-byte answer): what an application server costs at the least. `blind` answers every request
    head with a fixed 200 without parsing it: the fastest a peer can be, the floor for any proxy."""
    import uvloop

    if kind == "http":
        import uvicorn

        uvicorn.run(_ok_app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning", access_log=False)
        return

    class Upstream(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            buf = self.buf + data
            n = buf.count(b"\r\n\r\n")  # GETs only: one head, one answer
            if n:
                self.transport.write(RESPONSE * n)
                buf = buf[buf.rindex(b"\r\n\r\n") + 4 :]
            self.buf = buf

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Upstream, "127.0.0.1", port, backlog=4096)
        await server.serve_forever()

    uvloop.run(main())


@dataclass
class Wrk:
    requests: int
    rps: float
    p50_ms: float | None
    p99_ms: float | None
    timeouts: int
    errors: int  # connect/read/write socket errors + non-2xx/3xx responses


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    assert m, value
    return float(m[1]) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[m[2]]


def wrk(url: str, connections: int, duration: float, *, latency: bool = False) -> Wrk:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "2s", *(["--latency"] if latency else []), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    requests = int(re.search(r"(\d+) requests in", out)[1])  # type: ignore[index]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = p99 = None
    if latency:
        p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
        p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    timeouts = errors = 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += int(m[1]) + int(m[2]) + int(m[3])
        timeouts = int(m[4])
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m[1])
    return Wrk(requests, rps, p50, p99, timeouts, errors)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def wait_http(url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout:g} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    ap.add_argument(
        "--edge-command",
        help="run this instead of `maestro edge` (same MAESTRO_* environment), e.g. a previous implementation",
    )
    ap.add_argument(
        "--upstream",
        choices=["http", "blind", "both"],
        default="both",
        help="http: a minimal real HTTP server (the goals' baseline); blind: a non-parsing responder (the floor)",
    )
    ap.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--upstream-kind", default="http", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_upstream:
        return serve_upstream(args.serve_upstream, args.upstream_kind)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run scripts/bench-deps.sh (or `make bench`)")
    kinds = ["http", "blind"] if args.upstream == "both" else [args.upstream]
    shares: dict[str, tuple[float, float | None]] = {}
    for kind in kinds:
        res, counted, split_done, edge_cpu, edge_requests = measure(kind, args.duration, args.edge_command)
        report(kind, args.duration, res, counted, split_done, edge_cpu, edge_requests, goals=kind == "http")
        hap = res.get("haproxy 16 connections (reference)")
        shares[kind] = (
            res["edge 16 connections"].rps / res["direct 16 connections"].rps,
            hap.rps / res["direct 16 connections"].rps if hap else None,
        )
    if "blind" in shares:
        edge_share, hap_share = shares["blind"]
        hap_text = f", HAProxy {hap_share:.0%}" if hap_share is not None else ""
        print(f"\nagainst the blind upstream (the floor) at 16 connections: the edge {edge_share:.0%} of direct{hap_text}")


def measure(kind: str, d: float, edge_command: str | None) -> tuple[dict[str, Wrk], int, int, float, int]:
    import redis

    from maestro.edge import routes as rt
    from tests.services import free_port, valkey_server

    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp, valkey_server() as redis_url:
        try:
            ports = free_port(), free_port(), free_port()
            for p in ports[:2]:
                procs.append(subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(p), "--upstream-kind", kind]))
            stable, canary = (f"http://127.0.0.1:{p}" for p in ports[:2])
            r = redis.Redis.from_url(redis_url)
            rt.put(r, rt.Route(service="bench", stable=stable))
            rt.put(r, rt.Route(service="split", stable=stable, canary=canary, weight=50))
            env = {k: v for k, v in os.environ.items() if not k.startswith("MAESTRO_")}
            env |= {"MAESTRO_DATA_DIR": tmp, "MAESTRO_REDIS_URL": redis_url, "MAESTRO_EDGE_PORT": str(ports[2])}
            cmd = shlex.split(edge_command) if edge_command else [sys.executable, "-m", "maestro.cli", "edge"]
            edge_proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
            procs.append(edge_proc)
            direct, edge = f"{stable}/", f"http://127.0.0.1:{ports[2]}/bench/"
            wait_http(direct)
            wait_http(edge)
            wait_http(f"http://127.0.0.1:{ports[2]}/split/")
            wrk(direct, 16, 2)  # warm-up: connections, pools, caches
            wrk(edge, 16, 2)
            res: dict[str, Wrk] = {}
            edge_cpu = 0.0
            edge_requests = 0
            for name, c, lat in [("1 client", 1, True), ("16 connections", 16, False), ("64 connections", 64, False)]:
                res[f"direct {name}"] = wrk(direct, c, d, latency=lat)
                before = cpu_seconds(edge_proc.pid)
                res[f"edge {name}"] = w = wrk(edge, c, d, latency=lat)
                edge_cpu += cpu_seconds(edge_proc.pid) - before
                edge_requests += w.requests
            before = cpu_seconds(edge_proc.pid)
            res["edge 16 connections, 50% canary"] = w = wrk(f"http://127.0.0.1:{ports[2]}/split/", 16, d)
            edge_cpu += cpu_seconds(edge_proc.pid) - before
            edge_requests += w.requests
            split_done = w.requests
            if shutil.which("haproxy"):  # reference: a C proxy's hop, same upstream, same load, one thread
                hap_port = free_port()
                cfg = Path(tmp) / "haproxy.cfg"
                cfg.write_text(HAPROXY_CFG.format(port=hap_port, upstream=ports[0]))
                procs.append(subprocess.Popen(["haproxy", "-f", str(cfg)]))
                hap = f"http://127.0.0.1:{hap_port}/"
                wait_http(hap)
                wrk(hap, 16, 2)
                res["haproxy 1 client (reference)"] = wrk(hap, 1, d, latency=True)
                res["haproxy 16 connections (reference)"] = wrk(hap, 16, d)
            edge_proc.terminate()  # SIGTERM: drains and flushes its last counters
            edge_proc.wait(10)
            counted = sum(rt.window(r, "split", v, 3600).requests for v in ("stable", "canary"))
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(10)

    return res, counted, split_done, edge_cpu, edge_requests


def report(
    kind: str,
    d: float,
    res: dict[str, Wrk],
    counted: int,
    split_done: int,
    edge_cpu: float,
    edge_requests: int,
    *,
    goals: bool,
) -> None:
    print(f"\n## {kind} upstream\n")
    print(f"wrk, 1 thread, {d:g} s per run; upstream, edge and wrk share this machine's {os.cpu_count()} cores\n")
    print(f"| load | {'p50':>8} | {'p99':>8} | {'req/s':>9} | {'timeouts':>8} | {'errors':>6} |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, w in res.items():
        p50 = f"{w.p50_ms:.3f} ms" if w.p50_ms is not None else "-"
        p99 = f"{w.p99_ms:.3f} ms" if w.p99_ms is not None else "-"
        print(f"| {name} | {p50:>8} | {p99:>8} | {w.rps:9.0f} | {w.timeouts:8d} | {w.errors:6d} |")
    one_d, one_e = res["direct 1 client"], res["edge 1 client"]
    added50 = one_e.p50_ms - one_d.p50_ms  # type: ignore[operator]
    added99 = one_e.p99_ms - one_d.p99_ms  # type: ignore[operator]
    share16 = res["edge 16 connections"].rps / res["direct 16 connections"].rps
    e64 = res["edge 64 connections"]
    cpu_ms = edge_cpu / edge_requests * 1000
    print(f"\n50% canary route: {counted} requests in the Redis 1 s buckets; wrk counted {split_done} answered\n")
    if not goals:
        return
    checks = [
        ("added p50, one keep-alive client", f"{added50:+.3f} ms", "≤ 0.3 ms", added50 <= 0.3),
        ("added p99, one keep-alive client", f"{added99:+.3f} ms", "≤ 2 ms", added99 <= 2.0),
        ("throughput at 16 connections vs direct", f"{share16:.0%}", "≥ 50%", share16 >= 0.5),
        ("timeouts + errors at 64 connections", f"{e64.timeouts} + {e64.errors}", "0", e64.timeouts + e64.errors == 0),
        ("edge CPU per request", f"{cpu_ms:.3f} ms", "≤ 0.2 ms", cpu_ms <= 0.2),
    ]
    for what, got, goal, ok in checks:
        print(f"{'PASS' if ok else 'MISS'}  {what:<40} {got:>10}   goal {goal}")


if __name__ == "__main__":
    main()
