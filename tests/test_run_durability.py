"""Killing the runner, the worker or the API mid-run loses nothing; the CI CLI follows a run to its end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.services import RunningStack, host_processes, running_stack, wait_for

pytestmark = pytest.mark.slow


class Stack:
    def __init__(self, running: RunningStack) -> None:
        self.up, self.base, self.token = running.up, running.api_url, running.token
        self.api = running.api()

    def child_pid(self, name: str) -> int:
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                cmd = (d / "cmdline").read_bytes().split(b"\0")
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.up.proc.pid and b"maestro.cli" in cmd and name.encode() in cmd:
                return int(d.name)
        raise AssertionError(f"no {name} child of maestro up")

    def kill(self, name: str) -> int:
        pid = self.child_pid(name)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: self._restarted(name, pid), 30, 0.2)
        return pid

    def _restarted(self, name: str, old: int) -> bool:
        try:
            return self.child_pid(name) != old
        except AssertionError:
            return False

    def get(self, path: str, **kw):  # type: ignore[no-untyped-def]
        """GET that rides out an API restart."""

        def attempt():  # type: ignore[no-untyped-def]
            try:
                r = self.api.get(path, **kw)
                return r if r.status_code == 200 else None
            except httpx.TransportError:
                return None

        return wait_for(attempt, 30, 0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # budgets re-read the ledger twice a second (the budget test below waits on them)
    with running_stack(tmp_path_factory.mktemp("durability"), extra_env={"MAESTRO_BUDGET_TICK_SECONDS": "0.5"}) as running:
        yield Stack(running)


def test_kills_mid_run_lose_no_run_and_no_log_line(stack: Stack) -> None:
    base = 60000 + (os.getpid() % 997) * 10  # a sleep no other process on the machine runs (another test run)
    spec = f"""
name: durable
steps:
  - id: a
    run: 'echo "a starts"; (sleep $(({base} + MAESTRO_EXECUTION)) &); for i in $(seq 1 40); do echo "a line $i"; sleep 0.1; done'
  - id: b
    needs: [a]
    run: 'echo "b starts"; for i in $(seq 1 30); do echo "b line $i"; sleep 0.1; done'
  - id: c
    needs: [b]
    run: 'echo "c starts"; echo done'
"""
    assert stack.api.post("/api/pipelines", json={"spec": spec}).status_code == 201
    run = stack.api.post("/api/runs", json={"pipeline": "durable"}).json()
    rid = run["id"]

    def step(key: str) -> dict:  # type: ignore[type-arg]
        return {s["key"]: s for s in stack.get(f"/api/runs/{rid}").json()["steps"]}[key]

    # the runner dies while step a is printing
    wait_for(lambda: len(stack.get(f"/api/runs/{rid}/logs", params={"step": "a"}).text.splitlines()) >= 5, 30, 0.1)
    wait_for(lambda: host_processes(f"sleep {base + 1}"), 10)  # a detached grandchild of the first execution …
    stack.kill("runner")
    wait_for(lambda: not host_processes(f"sleep {base + 1}"), 10)  # … ends with its runner: nothing runs beside execution 2
    # the worker dies while step b runs
    wait_for(lambda: step("b")["status"] == "running", 60, 0.1)
    stack.kill("worker")
    # the API dies too
    stack.kill("api")
    final = wait_for(lambda: (d := stack.get(f"/api/runs/{rid}").json())["status"] in {"succeeded", "failed"} and d, 90, 0.2)
    assert final["status"] == "succeeded", final
    lines = [json.loads(x) for x in stack.get(f"/api/runs/{rid}/logs").text.splitlines()]
    # a was in flight when its runner died: it ran again, as execution 2; b and c, never twice
    starts = [(ln["line"], ln.get("execution", 1)) for ln in lines if ln["line"].endswith(" starts")]
    assert starts == [("a starts", 1), ("a starts", 2), ("b starts", 1), ("c starts", 1)]
    by_execution: dict[tuple[str, int], list[int]] = {}
    for ln in lines:
        by_execution.setdefault((ln["step"], ln.get("execution", 1)), []).append(ln["n"])
    for key, ns in by_execution.items():
        assert len(ns) == len(set(ns)), f"duplicate lines in {key}"
    b_lines = [ln["line"] for ln in lines if ln["step"] == "b" and ln["stream"] == "stdout"]
    assert b_lines == ["b starts", *[f"b line {i}" for i in range(1, 31)]]  # nothing lost, nothing twice
    a_last = [ln["line"] for ln in lines if ln["step"] == "a" and ln["stream"] == "stdout"][-40:]
    assert a_last == [f"a line {i}" for i in range(1, 41)]  # the re-execution's log is complete
    assert any("previous runner of this step was lost" in ln["line"] for ln in lines if ln["step"] == "a")
    # every execution is its own record, and the lost one's lines are all there (spooled, then shipped)
    a = next(x for x in final["steps"] if x["key"] == "a")
    assert [(e["execution"], e["status"]) for e in a["executions"]] == [(1, "lost"), (2, "finished")]
    assert a["executions"][1]["reason"] == "the runner of execution 1 was lost"
    assert all(e["durationMs"] >= 0 and e["costUsd"] >= 0 for e in a["executions"])
    first = sorted(ln["n"] for ln in lines if ln["step"] == "a" and ln.get("execution", 1) == 1)
    assert first == list(range(1, len(first) + 1))  # nothing the first execution printed is missing


def test_cli_follows_a_run_and_exits_with_its_result(stack: Stack, tmp_path: Path) -> None:
    ok = tmp_path / "ok.yaml"
    ok.write_text("name: cli-ok\nparams: {who: {default: world}}\nsteps:\n- {id: hello, run: 'echo hello ${{ params.who }}'}\n")
    env = {**os.environ, "MAESTRO_URL": stack.base, "MAESTRO_TOKEN": stack.token}
    out = subprocess.run(
        [sys.executable, "-m", "maestro.cli", "run", str(ok), "--input", "who=ci", "--follow"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "[hello] hello ci" in out.stdout and "succeeded" in out.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: cli-bad\nsteps:\n- {id: boom, run: 'echo failing >&2; exit 3'}\n")
    out = subprocess.run(
        [sys.executable, "-m", "maestro.cli", "run", str(bad), "--follow"], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1 and "[boom] failing" in out.stderr and "failed" in out.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "maestro.cli", "runs", "list", "--pipeline", "cli-bad"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "run-cli-bad-1" in listed.stdout and "failed" in listed.stdout
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("name: cli-invalid\nsteps:\n- {id: a, run: x, needs: [nope]}\n")
    out = subprocess.run(
        [sys.executable, "-m", "maestro.cli", "run", str(invalid)], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1 and "steps[0](a).needs: unknown step 'nope'" in out.stderr


def test_a_worker_kill_mid_rollout_changes_nothing_visible(stack: Stack) -> None:
    from tests.test_rollouts import Traffic, Upstream

    stable, canary = Upstream("stable"), Upstream("canary")
    edge = f"http://127.0.0.1:{stack.up.env['MAESTRO_EDGE_PORT']}"
    traffic = Traffic(f"{edge}/durable/x", rps=30)
    try:
        r = stack.api.post("/api/services", json={"name": "durable", "env": "dev", "stableUrl": stable.url})
        assert r.status_code == 201, r.text
        steps = [{"setWeight": 20}, {"pause": 8}, {"setWeight": 40}, {"pause": 0}]
        ro = stack.api.post("/api/rollouts", json={"service": "durable", "canaryUrl": canary.url, "steps": steps}).json()
        wait_for(lambda: stack.get(f"/api/rollouts/{ro['id']}").json()["weight"] == 20, 30, 0.2)
        stack.kill("worker")  # in the middle of the timed pause
        after = wait_for(
            lambda: (x := stack.get(f"/api/rollouts/{ro['id']}").json())["status"] == "paused" and x["weight"] == 40 and x,
            60,
            0.3,
        )
        assert [w["weight"] for w in after["weights"]] == [0, 20, 40]  # every weight set once, in order
        assert after["history"] == [] and after["stepIndex"] == 3
        seen = traffic.since(0)
        assert seen["canary"] > 0 and seen["stable"] > 0 and seen["unreachable"] == 0  # the edge kept serving
        done = stack.api.post(f"/api/rollouts/{ro['id']}/actions", json={"action": "rollback", "reason": "test over"})
        assert done.status_code == 200 and done.json()["status"] == "rolled_back"
    finally:
        traffic.close()
        stable.close()
        canary.close()


def test_a_worker_kill_during_a_freeze_loses_nothing(stack: Stack) -> None:
    """The freeze holds while the worker is dead and after it restarts; no ledger row is counted twice or lost
    when the worker dies while a run in the budget's scope finishes its steps."""
    spec = "name: budgeted\nsteps:\n  - id: work\n    run: 'sleep 2'\n"
    assert stack.api.post("/api/pipelines", json={"spec": spec}).status_code == 201
    b = stack.api.post(
        "/api/budgets",
        json={"name": "budgeted-cap", "scope": {"pipeline": "budgeted"}, "capUsd": 1e-6, "thresholds": [100],
              "actions": [{"kind": "freeze"}]},
    ).json()  # fmt: skip

    def finished(rid: str) -> dict:  # type: ignore[type-arg]
        return wait_for(lambda: (d := stack.get(f"/api/runs/{rid}").json())["status"] in {"succeeded", "failed"} and d, 90, 0.2)  # type: ignore[no-any-return]

    first = finished(stack.api.post("/api/runs", json={"pipeline": "budgeted"}).json()["id"])
    wait_for(lambda: stack.get(f"/api/budgets/{b['id']}").json()["frozen"], 60, 0.2)
    stack.kill("worker")
    refused = stack.api.post("/api/runs", json={"pipeline": "budgeted"})
    assert refused.status_code == 409 and "budgeted-cap" in refused.json()["detail"]  # holds while the worker is down
    cli = subprocess.run(  # the CLI (CI's path) is refused the same way, naming the budget and the remedy
        [sys.executable, "-m", "maestro.cli", "run", "budgeted"],
        env={**os.environ, "MAESTRO_URL": stack.base, "MAESTRO_TOKEN": stack.token},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1 and "409" in cli.stderr and "budgeted-cap" in cli.stderr and "unfreeze" in cli.stderr
    r = wait_for(
        lambda: (x := stack.api.post(f"/api/budgets/{b['id']}/unfreeze", json={"reason": "approved"})).status_code != 503 and x,
        90,
        0.5,
    )  # the restarted worker's BudgetWorkflow answers: it was frozen all along
    assert r.status_code == 200 and r.json()["frozen"] is False, r.text
    # a run in scope, its worker killed while the step runs: its cost reaches the ledger exactly once
    second = stack.api.post("/api/runs", json={"pipeline": "budgeted"}).json()
    wait_for(lambda: stack.get(f"/api/runs/{second['id']}").json()["steps"][0]["status"] == "running", 60, 0.1)
    stack.kill("worker")
    done = finished(second["id"])
    assert done["status"] == "succeeded"
    total = first["costUsd"] + done["costUsd"]
    got = wait_for(lambda: (x := stack.get(f"/api/budgets/{b['id']}").json())["spentUsd"] >= total - 1e-12 and x, 60, 0.2)
    assert got["spentUsd"] == pytest.approx(total, rel=1e-9, abs=1e-12)  # once each: not lost, not doubled
    assert got["frozen"] is False  # unfrozen for the period: the automatic freeze did not come back
