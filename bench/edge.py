"""The edge router's cost: latency and throughput through `maestro edge` against hitting the upstream directly.

    .venv/bin/python bench/edge.py [--requests 3000] [--concurrency 16]

A real `maestro up` stack (its edge router is a separate process, as in production) routes a
service to a small upstream served by uvicorn in this process; the same client load goes once
directly to the upstream (baseline) and once through the edge, then at a 50% canary split.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ui_load import pct
from tests.services import free_port, running_stack, wait_for


async def upstream_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def serve_upstream() -> str:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(upstream_app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for(lambda: server.started, 20)
    return f"http://127.0.0.1:{port}"


async def load(url: str, n: int, concurrency: int) -> tuple[list[float], float]:
    lat: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker(c: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            t0 = time.perf_counter()
            r = await c.get(url)
            lat.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.text

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as c:
        for _ in range(50):  # warm up connections
            await c.get(url)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for _ in range(concurrency)))
        return lat, n / (time.perf_counter() - t0)


def report(name: str, lat: list[float], rps: float) -> None:
    print(f"{name:<28} p50 {pct(lat, 0.5):6.2f} ms   p99 {pct(lat, 0.99):6.2f} ms   {rps:7.0f} req/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    a, b = serve_upstream(), serve_upstream()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp), token_name="bench-edge") as st:
        api = st.api()
        assert api.post("/api/services", json={"name": "bench", "env": "dev", "stableUrl": a}).status_code == 201
        edge = f"http://127.0.0.1:{st.env['MAESTRO_EDGE_PORT']}/bench/"
        wait_for(lambda: httpx.get(edge).status_code == 200, 30, 0.2)
        direct, direct_rps = asyncio.run(load(a + "/", args.requests, args.concurrency))
        routed, routed_rps = asyncio.run(load(edge, args.requests, args.concurrency))
        ro = api.post("/api/rollouts", json={"service": "bench", "canaryUrl": b, "steps": [{"setWeight": 50}, {"pause": 0}]})
        assert ro.status_code == 201, ro.text
        wait_for(lambda: api.get(f"/api/rollouts/{ro.json()['id']}").json()["weight"] == 50, 30, 0.2)
        time.sleep(1)  # the edge re-reads routes every MAESTRO_EDGE_REFRESH_SECONDS
        split, split_rps = asyncio.run(load(edge, args.requests, args.concurrency))
        api.post(f"/api/rollouts/{ro.json()['id']}/actions", json={"action": "abort", "reason": "bench over"})
    print(f"{args.requests} GETs, {args.concurrency} concurrent clients, same process, this machine")
    report("direct to upstream (baseline)", direct, direct_rps)
    report("through the edge router", routed, routed_rps)
    report("through the edge, 50% canary", split, split_rps)
    print(
        f"added latency p50 {pct(routed, 0.5) - pct(direct, 0.5):+.2f} ms, p99 {pct(routed, 0.99) - pct(direct, 0.99):+.2f} ms; "
        f"throughput {routed_rps / direct_rps:.2f}× the direct rate"
    )


if __name__ == "__main__":
    main()
