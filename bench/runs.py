"""Run execution overheads against a real `maestro up` stack, each with a baseline in the same process.

    .venv/bin/python bench/runs.py [--triggers 30]

1. trigger → first step running (POST /api/runs until the step's process has started);
2. per-step overhead: a 20-step sequential pipeline of `true` against bare `bash -c true` subprocesses,
   on the sandboxed default pool and on a second runner with MAESTRO_RUNNER_ISOLATION=none (same run);
3. a 50-step DAG (5 layers × 10 parallel `sleep 0.2`) against its critical path (1.0 s);
4. the step sandbox alone: a warm network namespace + setpriv + bwrap around `true`, against `bash -c true`.
"""

from __future__ import annotations

import argparse
import json
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
        bare_runner = start_bare_runner(env, tmp)

        # 1. trigger → first step running (the step prints when its process started; it cannot write to the host)
        api.post("/api/pipelines", json={"spec": "name: trigger\nsteps:\n- {id: a, run: 'date +%s.%N'}\n"})
        latency = []
        for i in range(args.triggers + 3):
            t0 = time.time()
            rid = api.post("/api/runs", json={"pipeline": "trigger"}).json()["id"]
            wait_done(api, rid)
            started = next(json.loads(x)["line"] for x in api.get(f"/api/runs/{rid}/logs").text.splitlines() if '"stdout"' in x)
            if i >= 3:
                latency.append((float(started) - t0) * 1000)
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

        # 2. per-step overhead: 20 sequential `true` steps vs 20 bare subprocesses, sandboxed and not
        n = 20

        def seq(name: str, pool: str) -> list[float]:
            steps = "\n".join(
                f"- {{id: s{i}, run: 'true', pool: {pool}{', needs: [s' + str(i - 1) + ']' if i else ''}}}" for i in range(n)
            )
            api.post("/api/pipelines", json={"spec": f"name: {name}\nsteps:\n{steps}\n"})
            out = []
            for _ in range(5):
                d = wait_done(api, api.post("/api/runs", json={"pipeline": name}).json()["id"])
                st = d["steps"]
                assert {x["isolation"] for x in st} == {"sandbox" if pool == "default" else "none"}, st[0]
                out.append((ts(st[-1]["finishedAt"]) - ts(st[0]["startedAt"])) * 1000 / n)
            return out

        per_step, per_step_bare = seq("seq", "default"), seq("seq-bare", "bare")
        t0 = time.perf_counter()
        for _ in range(n):
            subprocess.run(["bash", "-eo", "pipefail", "-c", "true"], check=True)
        bare = (time.perf_counter() - t0) * 1000 / n
        overhead = [p - bare for p in per_step]
        floor = temporal_floor(env, n)
        print(
            f"per-step wall (sequential, `true`)     p50 {pct(per_step, 0.5):6.1f} ms  p95 {pct(per_step, 0.95):6.1f} ms  (sandboxed)"
        )
        print(
            f"  same on an isolation: none runner     p50 {pct(per_step_bare, 0.5):6.1f} ms  p95 {pct(per_step_bare, 0.95):6.1f} ms"
            f"  → sandbox adds {pct(per_step, 0.5) - pct(per_step_bare, 0.5):+.1f} ms per step"
        )
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
        bare_runner.terminate()
        bare_runner.wait(30)

    # 4. the sandbox alone, no Temporal: what one sandboxed step costs the runner on its path
    boxed, plain, setup, teardown = sandbox_cost(60)
    print(f"sandboxed `true` (warm netns, setpriv, bwrap)  p50 {pct(boxed, 0.5):6.1f} ms  p95 {pct(boxed, 0.95):6.1f} ms")
    print(f"  baseline bare `bash -c true`               p50 {pct(plain, 0.5):6.1f} ms  p95 {pct(plain, 0.95):6.1f} ms")
    print(
        f"  off the step's path: netns + slirp4netns up p50 {pct(setup, 0.5):6.1f} ms, teardown p50 {pct(teardown, 0.5):6.1f} ms"
    )


def start_bare_runner(env: dict[str, str], tmp: Path) -> subprocess.Popen[bytes]:
    """A second runner on the same stack, pool `bare`, set to MAESTRO_RUNNER_ISOLATION=none (admin opt-out)."""
    runner_env = env | {
        "MAESTRO_RUNNER_ISOLATION": "none",
        "MAESTRO_TEMPORAL_ADDRESS": f"127.0.0.1:{env['MAESTRO_TEMPORAL_PORT']}",
        "MAESTRO_WORKSPACE_DIR": str(tmp / "bare-workspaces"),
    }
    log = (tmp / "bare-runner.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "maestro.cli", "runner", "--pool", "bare"], env=runner_env, stdout=log, stderr=subprocess.STDOUT
    )
    time.sleep(3)
    assert proc.poll() is None, (tmp / "bare-runner.log").read_text()
    return proc


def sandbox_cost(n: int) -> tuple[list[float], list[float], list[float], list[float]]:
    import asyncio

    from maestro.sandbox import StepMounts, StepSandbox, new_netns, prohibited_routes, teardown

    sb = StepSandbox(pool_size=2)
    sb.start()
    base = Path(tempfile.mkdtemp(prefix="maestro-bench-sandbox-"))
    (base / "work").mkdir()
    (base / "outputs.env").touch()
    sb.prepare(base)
    mounts = StepMounts(work=base / "work", outputs=base / "outputs.env")
    env = sb.step_env({"PATH": "/usr/bin:/bin"}, mounts)
    boxed: list[float] = []
    plain: list[float] = []
    setup: list[float] = []
    down: list[float] = []

    async def one() -> float:
        t0 = time.perf_counter()
        lease = await sb.acquire(True)
        subprocess.run(sb.argv(lease, mounts, ["bash", "-eo", "pipefail", "-c", "true"]), env=env, check=True)
        sb.release(lease)
        return (time.perf_counter() - t0) * 1000

    sb.prime()
    time.sleep(1)
    for _ in range(n):
        boxed.append(asyncio.run(one()))
        time.sleep(0.05)  # the pool refills off the path, as between steps of a runner
        t0 = time.perf_counter()
        subprocess.run(["bash", "-eo", "pipefail", "-c", "true"], check=True)
        plain.append((time.perf_counter() - t0) * 1000)
    routes = prohibited_routes()
    for _ in range(20):
        t0 = time.perf_counter()
        lease = new_netns(routes)
        setup.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        teardown(lease)
        down.append((time.perf_counter() - t0) * 1000)
    return boxed, plain, setup, down


if __name__ == "__main__":
    main()
