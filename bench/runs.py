"""Run execution overheads against a real `maestro up` stack, each with a baseline in the same process.

    .venv/bin/python bench/runs.py [--triggers 30]

1. trigger → first step running (POST /api/runs until the step's process has started);
2. per-step overhead: a 20-step sequential pipeline of `true` against bare `bash -c true` subprocesses;
3. a 50-step DAG (5 layers × 10 parallel `sleep 0.2`) against its critical path (1.0 s).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ui_load import pct
from tests.services import running_stack


def wait_done(api: httpx.Client, rid: str, timeout: float = 300) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        d = api.get(f"/api/runs/{rid}").json()
        if d["status"] in {"succeeded", "failed", "cancelled", "error"}:
            return d  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise TimeoutError(rid)


def ts(v: str) -> float:
    return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()


def temporal_floor(env: dict[str, str], n: int) -> list[float]:
    """Per-hop time of a chain of no-op activities: what any Temporal-based executor pays here."""
    import asyncio
    import uuid

    from temporalio.client import Client
    from temporalio.worker import Worker

    from bench.floor_workflow import BenchActivityChain, bench_noop

    async def go() -> list[float]:
        c = await Client.connect(f"127.0.0.1:{env['MAESTRO_TEMPORAL_PORT']}")
        wq, aq = f"bench-wf-{uuid.uuid4().hex[:6]}", f"bench-act-{uuid.uuid4().hex[:6]}"
        out = []
        async with Worker(c, task_queue=wq, workflows=[BenchActivityChain]), Worker(c, task_queue=aq, activities=[bench_noop]):
            for _ in range(5):
                t0 = time.perf_counter()
                await c.execute_workflow("BenchActivityChain", [str(n), aq], id=f"bench-{uuid.uuid4().hex}", task_queue=wq)
                out.append((time.perf_counter() - t0) * 1000 / n)
        return out

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--triggers", type=int, default=30)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="maestro-bench-runs-"))
    with running_stack(tmp, token_name="bench") as stack:
        env = stack.env
        api = stack.api(timeout=60)
        marker = tmp / "started"

        # 1. trigger → first step running (the step records when its process started)
        api.post("/api/pipelines", json={"spec": f"name: trigger\nsteps:\n- {{id: a, run: 'date +%s.%N > {marker}'}}\n"})
        latency = []
        for i in range(args.triggers + 3):
            marker.unlink(missing_ok=True)
            t0 = time.time()
            rid = api.post("/api/runs", json={"pipeline": "trigger"}).json()["id"]
            wait_done(api, rid)
            if i >= 3:
                latency.append((float(marker.read_text()) - t0) * 1000)
        base_spawn = []
        for _ in range(args.triggers):
            t0 = time.time()
            subprocess.run(["bash", "-c", f"date +%s.%N > {marker}"], check=True)
            base_spawn.append((float(marker.read_text()) - t0) * 1000)
        print(
            f"trigger → first step process started   p50 {pct(latency, 0.5):6.1f} ms  p95 {pct(latency, 0.95):6.1f} ms  (n={len(latency)})"
        )
        print(f"  baseline bare subprocess start       p50 {pct(base_spawn, 0.5):6.1f} ms  p95 {pct(base_spawn, 0.95):6.1f} ms")
        print(f"  goal p95 <= 150 ms: {'OK' if pct(latency, 0.95) <= 150 else 'OVER'}")

        # 2. per-step overhead: 20 sequential `true` steps vs 20 bare subprocesses
        n = 20
        steps = "\n".join(f"- {{id: s{i}, run: 'true'{', needs: [s' + str(i - 1) + ']' if i else ''}}}" for i in range(n))
        api.post("/api/pipelines", json={"spec": f"name: seq\nsteps:\n{steps}\n"})
        per_step = []
        for _ in range(5):
            d = wait_done(api, api.post("/api/runs", json={"pipeline": "seq"}).json()["id"])
            st = d["steps"]
            per_step.append((ts(st[-1]["finishedAt"]) - ts(st[0]["startedAt"])) * 1000 / n)
        t0 = time.perf_counter()
        for _ in range(n):
            subprocess.run(["bash", "-eo", "pipefail", "-c", "true"], check=True)
        bare = (time.perf_counter() - t0) * 1000 / n
        overhead = [p - bare for p in per_step]
        floor = temporal_floor(env, n)
        print(f"per-step wall (sequential, `true`)     p50 {pct(per_step, 0.5):6.1f} ms  p95 {pct(per_step, 0.95):6.1f} ms")
        print(
            f"  baseline Temporal no-op activity hop (same server, separate queues) p50 {pct(floor, 0.5):6.1f} ms; "
            f"Maestro's step over that floor: {pct(per_step, 0.5) - pct(floor, 0.5):+.1f} ms"
        )
        print(
            f"  baseline bare `bash -c true`         {bare:6.1f} ms;  overhead p50 {pct(overhead, 0.5):6.1f} ms "
            f"(goal <= 30 ms: {'OK' if pct(overhead, 0.5) <= 30 else 'OVER'})"
        )

        # 3. 50-step DAG vs its critical path
        layers, width, secs = 5, 10, 0.2
        lines = []
        for layer in range(layers):
            for j in range(width):
                needs = f", needs: [{', '.join(f'l{layer - 1}s{k}' for k in range(width))}]" if layer else ""
                lines.append(f"- {{id: l{layer}s{j}, run: 'sleep {secs}'{needs}}}")
        api.post("/api/pipelines", json={"spec": "name: dag50\nsteps:\n" + "\n".join(lines) + "\n"})
        walls = []
        for _ in range(3):
            d = wait_done(api, api.post("/api/runs", json={"pipeline": "dag50"}).json()["id"])
            st = d["steps"]
            walls.append(max(ts(s["finishedAt"]) for s in st) - min(ts(s["startedAt"]) for s in st))
        critical = layers * secs
        print(
            f"50-step DAG wall                        p50 {pct(walls, 0.5) * 1000:6.0f} ms  (critical path {critical * 1000:.0f} ms, "
            f"ratio {pct(walls, 0.5) / critical:.2f}x)"
        )


if __name__ == "__main__":
    main()
