"""The model gateway's cost: `maestro gateway` against calling the provider directly and against LiteLLM's
proxy, same mock provider, same request, same machine, one run.

    .venv/bin/python bench/gateway.py [--duration 5] [--ttft-requests 200]

Processes sharing the machine: a minimal OpenAI-compatible provider (its own process, below:
`--serve-provider`; uvloop + httptools, a fixed chat.completion with usage, or an SSE stream of a few
chunks, a usage chunk and [DONE], answered at once), an embedded Valkey (the gateway's configuration and
accounting), `maestro gateway` (its own process; the routing snapshot published the way the API publishes
it: one openai-kind provider on the mock, one class for "bench-model" with one candidate, one gateway key),
LiteLLM's proxy from its own venv (`.bench/litellm-venv`, installed by scripts/bench-deps.sh; 2 workers,
no database, a master key, offline cost map) and wrk. The gateway key and LiteLLM's master key are the
same secret, so wrk sends byte-identical requests to all three targets.

- one keep-alive client (wrk -c1 -t1 --latency): p50/p99, added = through - direct (wrk's percentiles
  include its coordinated-omission correction, so a stall of the event loop counts for the requests an
  open-loop client would have sent meanwhile); and one raw-socket client sending requests one at a
  time, its p50/p99/max as measured;
- 16 and 64 connections: requests/s, timeouts, errors; maestro's req/s over LiteLLM's;
- streaming: a sequential raw-socket client timing request → first `data:` event, 3 targets interleaved;
- the gateway's CPU per request (utime+stime from /proc/<pid>/stat over its runs / requests) and its
  memory after the saturation runs (VmRSS, peak VmHWM from /proc/<pid>/status);
- all of it twice for the gateway: the candidate's model equal to the client's (the body is forwarded
  as received) and different (the body is re-serialized with the candidate's model).

Prints a table and PASS/MISS per goal. Without LiteLLM (not installed, or it did not start) the other
targets are still measured and the reason is printed; no LiteLLM figure is made up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.edge import Wrk, _ms, cpu_seconds  # noqa: E402

LITELLM_VENV = ROOT / ".bench" / "litellm-venv"
MODEL = "bench-model"  # what the client asks for (and the class matches)
OTHER_MODEL = "bench-model-upstream"  # the candidate's model in the rewrite runs
PATH = "/v1/chat/completions"
BODY = {"model": MODEL, "messages": [{"role": "user", "content": "Say hello in one word."}], "max_tokens": 16}
STREAM_BODY = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
CONTENT = "Hello."

# -- the mock provider ---------------------------------------------------------------------------------

_COMPLETION = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": CONTENT}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14},
    },
    separators=(",", ":"),
).encode()
COMPLETION_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%b" % (
    len(_COMPLETION),
    _COMPLETION,
)


def _chunk(delta: dict[str, Any], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    obj: dict[str, Any] = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": MODEL}
    obj["choices"] = [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}]
    if usage:
        obj["usage"] = usage
    event = b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%b\r\n" % (len(event), event)


_EVENTS = [
    _chunk({"role": "assistant", "content": ""}),
    _chunk({"content": "Hello"}),
    _chunk({"content": "."}),
    _chunk({}, "stop"),
]
_USAGE_EVENT = _chunk({}, usage={"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14})
_DONE = b"data: [DONE]\n\n"
_TAIL = b"%x\r\n%b\r\n0\r\n\r\n" % (len(_DONE), _DONE)
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
)
STREAM_RESPONSE = STREAM_HEAD + b"".join(_EVENTS) + _TAIL
STREAM_RESPONSE_USAGE = STREAM_HEAD + b"".join(_EVENTS) + _USAGE_EVENT + _TAIL
NOT_FOUND = (
    b'HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 33\r\n\r\n{"error":{"message":"not found"}}'
)
_STREAM_RE = re.compile(rb'"stream"\s*:\s*true')
_USAGE_RE = re.compile(rb'"include_usage"\s*:\s*true')


def serve_provider(port: int) -> None:
    """An OpenAI-compatible chat endpoint at its cheapest: httptools parses, the answers are prebuilt bytes
    (the usage chunk only when the request asks for it, as OpenAI does). Not the bottleneck of any run."""
    import httptools
    import uvloop

    class Provider(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport: asyncio.Transport = transport  # type: ignore[assignment]
            self.parser = httptools.HttpRequestParser(self)
            self.url = b""
            self.body: list[bytes] = []

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_message_begin(self) -> None:
            self.url, self.body = b"", []

        def on_url(self, url: bytes) -> None:
            self.url += url

        def on_body(self, body: bytes) -> None:
            self.body.append(body)

        def on_message_complete(self) -> None:
            body = b"".join(self.body)
            if not self.url.split(b"?", 1)[0].endswith(b"/chat/completions"):
                self.transport.write(NOT_FOUND)
            elif _STREAM_RE.search(body):
                self.transport.write(STREAM_RESPONSE_USAGE if _USAGE_RE.search(body) else STREAM_RESPONSE)
            else:
                self.transport.write(COMPLETION_RESPONSE)
            if not self.parser.should_keep_alive():
                self.transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Provider, "127.0.0.1", port, backlog=4096)
        await server.serve_forever()

    uvloop.run(main())


# -- load ------------------------------------------------------------------------------------------------


def lua_script(path: Path, body: dict[str, Any], secret: str) -> Path:
    text = json.dumps(body, separators=(",", ":"))
    assert "]]" not in text
    path.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = [[{text}]]\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {secret}"\n'
    )
    return path


def wrk(url: str, script: Path, connections: int, duration: float, *, latency: bool = False) -> Wrk:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "5s", "-s", str(script)]
    out = subprocess.run([*cmd, *(["--latency"] if latency else []), url], capture_output=True, text=True, check=True).stdout
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


class SeqClient:
    """One keep-alive connection sending the same request again and again, one at a time, timing each:
    to the first `data:` event (streaming) and to the end of the response. A raw socket, so the client
    adds nothing of its own; unlike wrk's percentiles these are the times as measured, uncorrected."""

    def __init__(self, port: int, secret: str, *, stream: bool) -> None:
        self.port = port
        self.stream = stream
        body = json.dumps(STREAM_BODY if stream else BODY, separators=(",", ":")).encode()
        accept = b"text/event-stream" if stream else b"application/json"
        self.request = (
            b"POST %b HTTP/1.1\r\nhost: 127.0.0.1:%d\r\ncontent-type: application/json\r\naccept: %b\r\n"
            b"authorization: Bearer %b\r\ncontent-length: %d\r\n\r\n%b"
        ) % (PATH.encode(), port, accept, secret.encode(), len(body), body)
        self.sock: socket.socket | None = None

    def once(self) -> tuple[float, float]:
        """(ms to the first event, or to the whole answer when not streaming; ms to the whole answer)."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s = self.sock
        t0 = time.perf_counter()
        s.sendall(self.request)
        buf = b""
        first: float | None = None
        head_end, length, chunked, closed = -1, -1, False, False
        while True:
            data = s.recv(65536)
            if not data:
                closed = True
                break
            buf += data
            if head_end < 0 and (head_end := buf.find(b"\r\n\r\n")) >= 0:
                head = buf[:head_end].lower()
                chunked = b"\r\ntransfer-encoding: chunked" in head
                if m := re.search(rb"\r\ncontent-length: *(\d+)", head):
                    length = int(m[1])
            if head_end < 0:
                continue
            if self.stream and first is None and b"data:" in buf[head_end:]:
                first = time.perf_counter()
            if (chunked and buf.endswith(b"\r\n0\r\n\r\n")) or (length >= 0 and len(buf) >= head_end + 4 + length):
                break
        end = time.perf_counter()
        if closed or b"\r\nconnection: close" in buf[: max(head_end, 0)].lower():
            s.close()
            self.sock = None
        if not buf.startswith(b"HTTP/1.1 200") or b"Hello" not in buf or (self.stream and first is None):
            raise RuntimeError(f"port {self.port}: not the provider's answer: {buf[:300]!r}")
        return ((first or end) - t0) * 1000, (end - t0) * 1000


# -- processes ---------------------------------------------------------------------------------------------


def proc_pids(root: int) -> list[int]:
    """root and its descendants (LiteLLM's workers are children of its supervisor)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def tree_cpu(root: int) -> float:
    total = 0.0
    for p in proc_pids(root):
        with contextlib.suppress(OSError):  # a process that ended meanwhile
            total += cpu_seconds(p)
    return total


def status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def tree_kb(root: int, field_name: str) -> int:
    total = 0
    for p in proc_pids(root):
        with contextlib.suppress(OSError):
            total += status_kb(p, field_name)
    return total


def wait_until(check: Callable[[], bool], what: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> str | None:
    """None once check() holds; else why not (the process died, or the time ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return f"{what} exited with code {proc.returncode}"
        try:
            if check():
                return None
        except Exception:
            pass
        time.sleep(0.2)
    return f"{what} did not come up within {timeout:g} s"


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), 1):
        return True


def http_ok(url: str) -> bool:
    import httpx

    return httpx.get(url, timeout=2).status_code == 200


def check_answer(base: str, secret: str) -> None:
    """One real request before any load: the target answers the provider's completion, not an error."""
    import httpx

    r = httpx.post(base + PATH, json=BODY, headers={"authorization": f"Bearer {secret}"}, timeout=30)
    if r.status_code != 200 or r.json()["choices"][0]["message"]["content"] != CONTENT:
        raise RuntimeError(f"{base}: unexpected answer {r.status_code}: {r.text[:300]}")


@dataclass
class Target:
    name: str
    port: int
    pid: int | None = None  # the process whose CPU is counted (with its children)
    res: dict[str, Wrk] = field(default_factory=dict)
    cpu: float = 0.0
    requests: int = 0
    seq: list[float] = field(default_factory=list)  # one sequential client, non-streaming: ms per request
    ttft: list[float] = field(default_factory=list)  # one sequential client, streaming: ms to the first event
    rss_kb: int = 0
    hwm_kb: int = 0
    base: Target | None = None  # the direct run measured alongside (added = this - base)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"


def start_litellm(venv: Path, tmp: Path, mock_port: int, secret: str) -> tuple[subprocess.Popen[bytes] | None, int, str]:
    """LiteLLM's proxy on the mock; returns (process, port, why it is missing or "")."""
    from tests.services import free_port

    exe = venv / "bin" / "litellm"
    if not exe.exists():
        return None, 0, f"{exe} is missing: run scripts/bench-deps.sh (or `make bench`) to install litellm[proxy] there"
    port = free_port()
    cfg = tmp / "litellm.yaml"
    cfg.write_text(
        "model_list:\n"
        f"  - model_name: {MODEL}\n"
        "    litellm_params:\n"
        f"      model: openai/{MODEL}\n"
        f"      api_base: http://127.0.0.1:{mock_port}/v1\n"
        "      api_key: sk-mock-provider\n"
        "general_settings:\n"
        f"  master_key: {secret}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAESTRO_", "LITELLM_")) and k != "DATABASE_URL"}
    env |= {"LITELLM_LOCAL_MODEL_COST_MAP": "true", "LITELLM_LOG": "ERROR"}
    log = tmp / "litellm.log"
    cmd = [str(exe), "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port), "--num_workers", "2"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    why = wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health/liveliness"), "LiteLLM's proxy", 240, proc)
    if why is None:
        try:
            check_answer(f"http://127.0.0.1:{port}", secret)
        except Exception as exc:
            why = f"LiteLLM's proxy answered wrong: {exc}"
    if why is not None:
        tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
        proc.terminate()
        proc.wait(30)
        return None, 0, f"{why}; its log ends with:\n{tail}"
    return proc, port, ""


def snapshot_doc(mock_port: int, candidate_model: str, secret: str, sealed: str) -> dict[str, Any]:
    return {
        "providers": [{"name": "mock", "kind": "openai", "baseUrl": f"http://127.0.0.1:{mock_port}/v1"}],
        "providerKeys": [{"provider": "mock", "sealed": sealed}],
        "classes": [
            {"name": "bench", "match": {"models": [MODEL]}, "candidates": [{"provider": "mock", "model": candidate_model}]}
        ],
        "keys": [{"id": "bench", "prefix": secret[:8], "hash": hashlib.sha256(secret.encode()).hexdigest(), "tenant": "bench"}],
    }


def measure(d: float, n_ttft: int, gateway_command: str | None, litellm_venv: Path) -> tuple[list[Target], str]:
    import httpx
    import redis

    from maestro.gateway.publish import publish
    from maestro.gateway.secrets import load_key_ring
    from maestro.gateway.spec import Snapshot
    from tests.services import free_port, valkey_server

    secret = "sk-bench-" + secrets.token_hex(16)  # the gateway key's secret and LiteLLM's master key
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp_s, valkey_server() as redis_url:
        tmp = Path(tmp_s)
        try:
            mock_port, gw_port = free_port(), free_port()
            procs.append(subprocess.Popen([sys.executable, __file__, "--serve-provider", str(mock_port)]))
            r = redis.Redis.from_url(redis_url)
            sealed = load_key_ring(None, tmp).seal("sk-mock-provider", bound_to="mock")  # the ring the gateway opens

            def configure(candidate_model: str) -> None:
                doc = snapshot_doc(mock_port, candidate_model, secret, sealed)
                version = publish(r, lambda v: Snapshot.model_validate({**doc, "version": v}))
                health = f"http://127.0.0.1:{gw_port}/_gateway/health"
                why = wait_until(lambda: httpx.get(health, timeout=2).json()["configVersion"] >= version, "the gateway", 30, gw)
                if why:
                    raise SystemExit(why)

            env = {k: v for k, v in os.environ.items() if not k.startswith("MAESTRO_")}
            env |= {
                "MAESTRO_DATA_DIR": str(tmp),
                "MAESTRO_REDIS_URL": redis_url,
                "MAESTRO_GATEWAY_PORT": str(gw_port),
                "MAESTRO_LOG_LEVEL": "WARNING",
            }
            exe = Path(sys.executable).parent / "maestro"
            cmd = (
                shlex.split(gateway_command)
                if gateway_command
                else [str(exe), "gateway"]
                if exe.exists()
                else [sys.executable, "-m", "maestro.cli", "gateway"]
            )
            gw = subprocess.Popen(cmd, env=env, cwd=ROOT)
            procs.append(gw)
            if why := wait_until(lambda: port_open(mock_port), "the mock", 10):
                raise SystemExit(why)
            configure(MODEL)

            lite, lite_port, lite_missing = start_litellm(litellm_venv, tmp, mock_port, secret)
            if lite is not None:
                procs.append(lite)

            direct = Target("direct", mock_port)
            maestro = Target("maestro", gw_port, gw.pid, base=direct)
            litellm = Target("litellm", lite_port, lite.pid, base=direct) if lite else None
            direct2 = Target("direct (2nd phase)", mock_port)
            rewrite = Target("maestro, model rewritten", gw_port, gw.pid, base=direct2)
            first = [t for t in (direct, maestro, litellm) if t]
            check_answer(f"http://127.0.0.1:{mock_port}", secret)
            check_answer(f"http://127.0.0.1:{gw_port}", secret)
            script = lua_script(tmp / "chat.lua", BODY, secret)

            def run(targets: list[Target]) -> None:
                for t in targets:  # warm-up: connections, pools, caches, lazy imports
                    wrk(t.url, script, 16, 2)
                for name, c, lat in [("1 client", 1, True), ("16 connections", 16, False), ("64 connections", 64, False)]:
                    for t in targets:
                        before = tree_cpu(t.pid) if t.pid else 0.0
                        t.res[name] = w = wrk(t.url, script, c, d, latency=lat)
                        if t.pid:
                            t.cpu += tree_cpu(t.pid) - before
                            t.requests += w.requests
                for t in targets:
                    if t.pid:
                        t.rss_kb, t.hwm_kb = tree_kb(t.pid, "VmRSS"), tree_kb(t.pid, "VmHWM")

            def sequential(targets: list[Target]) -> None:
                """Non-streaming, d seconds per target in 10 interleaved slices (a busy spell hits all alike)."""
                clients = [(t, SeqClient(t.port, secret, stream=False)) for t in targets]
                for _, cl in clients:
                    for _ in range(20):
                        cl.once()
                for _ in range(10):
                    for t, cl in clients:
                        until = time.perf_counter() + d / 10
                        while time.perf_counter() < until:
                            t.seq.append(cl.once()[1])

            def ttft(targets: list[Target]) -> None:
                clients = [(t, SeqClient(t.port, secret, stream=True)) for t in targets]
                for _, cl in clients:
                    for _ in range(20):
                        cl.once()
                rounds = 10
                for i in range(rounds):  # interleaved, as above
                    for t, cl in clients:
                        t.ttft += [cl.once()[0] for _ in range(n_ttft // rounds + (i < n_ttft % rounds))]

            run(first)
            sequential(first)
            ttft(first)
            configure(OTHER_MODEL)  # now the candidate's model differs from the client's: the body is rebuilt
            check_answer(f"http://127.0.0.1:{gw_port}", secret)
            run([direct2, rewrite])
            sequential([direct2, rewrite])
            ttft([direct2, rewrite])
            gw.terminate()  # SIGTERM: drains and flushes its last accounting
            try:
                gw.wait(30)
            except subprocess.TimeoutExpired:
                print("\nthe gateway did not exit within 30 s of SIGTERM")
            print(f"\naccounting records the gateway wrote to Redis: {r.xlen('maestro:gateway:usage')}")
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
    targets = [*first, direct2, rewrite]
    return targets, lite_missing


def pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else xs[0]


def report(targets: list[Target], lite_missing: str, d: float, n_ttft: int) -> None:
    by = {t.name: t for t in targets}
    maestro, rewrite = by["maestro"], by["maestro, model rewritten"]
    litellm = by.get("litellm")
    print(f"\nwrk, 1 thread, {d:g} s per run, one request body for all; provider, gateway, LiteLLM and wrk share")
    print(f"this machine's {os.cpu_count()} cores. wrk's percentiles include its coordinated-omission correction;")
    print(f"'seq' is one raw-socket client for {d:g} s per target, times as measured; TTFT: {n_ttft} streaming requests\n")
    print(
        "| target | wrk p50 | wrk p99 | seq p50 | seq p99 | seq max | req/s c16 | req/s c64 | t/o+err c64 | TTFT p50 | TTFT p99 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for t in targets:
        one, c16, c64 = t.res["1 client"], t.res["16 connections"], t.res["64 connections"]
        print(
            f"| {t.name} | {one.p50_ms:.3f} | {one.p99_ms:.3f} | {pct(t.seq, 50):.3f} | {pct(t.seq, 99):.3f} | "
            f"{max(t.seq):.1f} | {c16.rps:.0f} | {c64.rps:.0f} | {c64.timeouts} + {c64.errors} | "
            f"{pct(t.ttft, 50):.3f} | {pct(t.ttft, 99):.3f} |"
        )
    print("\n(times in ms)\n")
    for t in targets:
        if t.pid and t.requests:
            print(
                f"{t.name}: CPU {t.cpu / t.requests * 1000:.3f} ms per request ({t.requests} wrk requests through it);"
                f" RSS {t.rss_kb / 1024:.0f} MB, peak {t.hwm_kb / 1024:.0f} MB (all its processes) after the saturation runs"
            )
    if not litellm:
        print(f"\nLiteLLM was not measured: {lite_missing}")

    def added(t: Target, q: str) -> float:
        assert t.base is not None
        got: float = getattr(t.res["1 client"], q) - getattr(t.base.res["1 client"], q)
        return got

    def sat(t: Target) -> float:
        return max(t.res["16 connections"].rps, t.res["64 connections"].rps)

    print()
    for t in (maestro, rewrite):
        assert t.base is not None
        print(
            f"{t.name}: added, one sequential client: p50 {pct(t.seq, 50) - pct(t.base.seq, 50):+.3f} ms,"
            f" p99 {pct(t.seq, 99) - pct(t.base.seq, 99):+.3f} ms; TTFT p99 {pct(t.ttft, 99) - pct(t.base.ttft, 99):+.3f} ms"
        )
    print()
    checks: list[tuple[str, str, str, bool | None]] = []
    for t in (maestro, rewrite):
        tag = "" if t is maestro else " (rewritten)"
        checks += [
            (f"added p50, one client (wrk){tag}", f"{added(t, 'p50_ms'):+.3f} ms", "≤ 1 ms", added(t, "p50_ms") <= 1.0),
            (f"added p99, one client (wrk){tag}", f"{added(t, 'p99_ms'):+.3f} ms", "≤ 5 ms", added(t, "p99_ms") <= 5.0),
        ]
    if litellm:
        ratio = sat(maestro) / sat(litellm)
        checks.append(("req/s at saturation vs LiteLLM", f"{ratio:.1f}×", "≥ 10×", ratio >= 10))
    else:
        checks.append(("req/s at saturation vs LiteLLM", "n/a", "≥ 10×", None))
    for t in (maestro, rewrite):
        tag = "" if t is maestro else " (rewritten)"
        assert t.base is not None
        a = pct(t.ttft, 50) - pct(t.base.ttft, 50)
        checks.append((f"TTFT added p50{tag}", f"{a:+.3f} ms", "≤ 1 ms", a <= 1.0))
    hwm = max(maestro.hwm_kb, rewrite.hwm_kb) / 1024
    checks.append(("gateway memory (peak RSS)", f"{hwm:.0f} MB", "≤ 150 MB", hwm <= 150))
    for what, got, goal, ok in checks:
        mark = "SKIP" if ok is None else "PASS" if ok else "MISS"
        print(f"{mark}  {what:<42} {got:>10}   goal {goal}")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5, help="seconds per wrk run")
    ap.add_argument("--ttft-requests", type=int, default=200, help="streaming requests per target")
    ap.add_argument("--gateway-command", help="run this instead of `maestro gateway` (same MAESTRO_* environment)")
    ap.add_argument("--litellm-venv", type=Path, default=LITELLM_VENV, help="the venv with litellm[proxy] installed")
    ap.add_argument("--serve-provider", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_provider:
        return serve_provider(args.serve_provider)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: run scripts/bench-deps.sh (or `make bench`)")
    head = subprocess.run(["git", "log", "-1", "--format=%h %cs"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "maestro"], cwd=ROOT, capture_output=True, text=True).stdout
    print(f"maestro at {head}{' with uncommitted changes under maestro/' if dirty else ''}; load average before:", _load())
    targets, lite_missing = measure(args.duration, args.ttft_requests, args.gateway_command, args.litellm_venv)
    print("load average after:", _load())
    report(targets, lite_missing, args.duration, args.ttft_requests)


if __name__ == "__main__":
    main()
