"""Pipelines and runs end to end on real Temporal + Valkey + SQL: DAGs, logs, artifacts, controls."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from maestro.config import Settings
from maestro.events.streams import stream_key
from tests.factories import PASSWORD, Caller, login, make_user
from tests.services import host_processes, sse_frames, temporal_cli, update_via_temporal, wait_for

TERMINAL = {"succeeded", "failed", "cancelled", "error"}

BUILD = """
name: build
params:
  greeting: {default: hello}
env:
  GLOBAL: g
steps:
  - id: lint
    run: echo "lint ${{ params.greeting }}"; echo "warn" >&2
  - id: test
    run: echo "python $PY"; echo "ok=yes" >> "$MAESTRO_OUTPUT"
    env: {PY: "${{ matrix.py }}"}
    matrix: {py: ["3.11", "3.12"]}
  - id: package
    needs: [lint, test]
    run: |
      mkdir -p dist
      echo "wheel-${{ params.greeting }}" > dist/app.whl
      echo "version=1.2.3" >> "$MAESTRO_OUTPUT"
    artifacts: ["dist/*.whl"]
  - id: report
    needs: [package]
    run: echo "version ${{ steps.package.outputs.version }} $GLOBAL"
"""


def register(caller: Caller, text: str) -> dict[str, Any]:
    r = caller.post("/api/pipelines", json={"spec": text})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def start(caller: Caller, pipeline: str, **kw: Any) -> dict[str, Any]:
    r = caller.post("/api/runs", json={"pipeline": pipeline, **kw})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def wait_run(caller: Caller, run_id: str, statuses: set[str] = TERMINAL, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        body = caller.get(f"/api/runs/{run_id}").json()
        return body if body["status"] in statuses else None

    return wait_for(done, timeout, 0.1)  # type: ignore[no-any-return]


def wait_step(caller: Caller, run_id: str, key: str, status: str, timeout: float = 60) -> dict[str, Any]:
    def ok() -> dict[str, Any] | None:
        steps = {s["key"]: s for s in caller.get(f"/api/runs/{run_id}").json()["steps"]}
        return steps[key] if steps[key]["status"] == status else None

    return wait_for(ok, timeout, 0.1)  # type: ignore[no-any-return]


def logs(caller: Caller, run_id: str, **params: Any) -> list[dict[str, Any]]:
    r = caller.get(f"/api/runs/{run_id}/logs", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(x) for x in r.text.splitlines() if x]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Steps see nothing of the host but their workspace: a directory the pool binds read-only is how a test
    hands them a file (as a pool declares a toolchain)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    return settings.model_copy(update={"runner_toolchains": [shared]})


@pytest.fixture
def caller(client: TestClient, workers) -> Caller:  # type: ignore[no-untyped-def]
    return login(client)


def test_dag_runs_with_parallel_matrix_outputs_logs_and_artifacts(caller: Caller, workers) -> None:  # type: ignore[no-untyped-def]
    register(caller, BUILD)
    run = start(caller, "build", inputs={"greeting": "hi"}, labels={"team": "core"})
    assert run["workflowId"] == "run-build-1" and run["status"] in {"queued", "running"}
    done = wait_run(caller, run["id"])
    assert done["status"] == "succeeded", done
    steps = {s["key"]: s for s in done["steps"]}
    assert set(steps) == {"lint", "test[py=3.11]", "test[py=3.12]", "package", "report"}
    assert all(s["status"] == "succeeded" and s["exitCode"] == 0 and s["attempt"] == 1 for s in steps.values())
    assert steps["package"]["outputs"] == {"version": "1.2.3"}
    # parallel: the matrix legs overlapped with lint, and package started after all of them
    assert steps["package"]["startedAt"] >= max(steps[k]["finishedAt"] for k in ("lint", "test[py=3.11]", "test[py=3.12]"))
    lines = logs(caller, run["id"])
    text = {(ln["step"], ln["stream"], ln["line"]) for ln in lines}
    assert ("lint", "stdout", "lint hi") in text and ("lint", "stderr", "warn") in text
    assert ("test[py=3.12]", "stdout", "python 3.12") in text
    assert ("report", "stdout", "version 1.2.3 g") in text
    assert set(lines[0]) >= {"ts", "step", "stream", "line", "n"}
    # artifact with a digest that matches its bytes
    [art] = done["artifacts"]
    assert art["path"] == "dist/app.whl" and art["size"] == len(b"wheel-hi\n")
    body = caller.get(f"/api/artifacts/{art['id']}")
    assert body.status_code == 200 and body.content == b"wheel-hi\n"
    assert hashlib.sha256(body.content).hexdigest() == art["sha256"] == body.headers["x-maestro-sha256"]
    assert done["costUsd"] > 0 and done["durationMs"] > 0
    assert done["temporalUiUrl"] is None or done["workflowId"] in done["temporalUiUrl"]
    # lists agree with detail; filters
    listed = caller.get("/api/runs", params={"pipeline": "build", "status": "succeeded", "label": "team=core"}).json()["items"]
    assert [r["id"] for r in listed] == [run["id"]]
    assert caller.get("/api/runs", params={"label": "team=other"}).json()["items"] == []
    assert [ln["line"] for ln in logs(caller, run["id"], step="report")] == ["version 1.2.3 g"]
    assert [ln["step"] for ln in logs(caller, run["id"], q="PYTHON 3.11")] == ["test[py=3.11]"]


def test_failing_command_fails_the_run_cleanly(caller: Caller) -> None:
    register(
        caller, "name: broken\nsteps:\n- {id: a, run: definitely-not-a-command --x}\n- {id: b, run: echo never, needs: [a]}\n"
    )
    done = wait_run(caller, start(caller, "broken")["id"])
    steps = {s["key"]: s for s in done["steps"]}
    assert done["status"] == "failed"
    assert steps["a"]["status"] == "failed" and steps["a"]["exitCode"] == 127
    assert steps["b"]["status"] == "skipped"
    assert any("command not found" in ln["line"] for ln in logs(caller, done["id"], step="a"))


def test_retries_record_attempts(caller: Caller) -> None:
    register(
        caller,
        'name: flaky\nsteps:\n- id: a\n  retries: 2\n  run: test "$MAESTRO_ATTEMPT" = 3 || { echo try $MAESTRO_ATTEMPT; exit 1; }\n',
    )
    done = wait_run(caller, start(caller, "flaky")["id"])
    assert done["status"] == "succeeded"
    assert done["steps"][0]["attempt"] == 3
    attempts = done["steps"][0]["attempts"]
    assert [(a["attempt"], a["status"], a["exitCode"]) for a in attempts] == [
        (1, "failed", 1),
        (2, "failed", 1),
        (3, "succeeded", 0),
    ]
    assert all(a["startedAt"] and a["finishedAt"] and a["startedAt"] <= a["finishedAt"] for a in attempts)
    assert attempts[0]["finishedAt"] <= attempts[1]["startedAt"]
    assert [(ln["attempt"], ln["line"]) for ln in logs(caller, done["id"]) if ln["stream"] == "stdout"] == [
        (1, "try 1"),
        (2, "try 2"),
    ]


def test_timeout_kills_the_process_group(caller: Caller) -> None:
    sleeper = f"sleep {3000 + os.getpid() % 997}"  # a command line no other process has
    register(caller, f"name: slow\nsteps:\n- id: a\n  timeout: 2s\n  run: ({sleeper} & wait)\n")
    run = start(caller, "slow")
    wait_for(lambda: host_processes(sleeper), 30)  # the step's grandchild is running on the host
    done = wait_run(caller, run["id"])
    assert done["status"] == "failed" and "timed out" in done["steps"][0]["message"]
    wait_for(lambda: not host_processes(sleeper), 10)


def test_if_conditions_and_skips(caller: Caller) -> None:
    register(
        caller,
        "name: cond\nparams: {deploy: {type: boolean, default: false}}\nsteps:\n"
        "- {id: a, run: 'exit 1'}\n"
        "- {id: on-failure, run: echo cleanup, needs: [a], if: 'failure()'}\n"
        "- {id: deploy, run: echo deploy, if: params.deploy}\n",
    )
    done = wait_run(caller, start(caller, "cond")["id"])
    st = {s["key"]: s["status"] for s in done["steps"]}
    assert st == {"a": "failed", "on-failure": "succeeded", "deploy": "skipped"}


def test_step_environment_is_scrubbed(caller: Caller, monkeypatch: pytest.MonkeyPatch) -> None:
    register(caller, "name: envcheck\nsteps:\n- {id: a, run: env | sort}\n")
    done = wait_run(caller, start(caller, "envcheck")["id"])
    names = {ln["line"].split("=", 1)[0] for ln in logs(caller, done["id"]) if ln["stream"] == "stdout"}
    leaked = {
        n
        for n in names
        if n.startswith("MAESTRO_")
        and n
        not in {"MAESTRO_RUN_ID", "MAESTRO_STEP", "MAESTRO_ATTEMPT", "MAESTRO_EXECUTION", "MAESTRO_WORKSPACE", "MAESTRO_OUTPUT"}
    }
    assert leaked == set()
    assert not names & {"PYTEST_CURRENT_TEST", "VIRTUAL_ENV", "POSTGRES_URL"}


def test_log_cap_ends_with_a_marker(client: TestClient, migrated, workers) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    register(caller, "name: flood\nsteps:\n- {id: a, run: 'seq 1 200000'}\n")
    workers.step_log_max_lines = 0  # not used by the running workers: the cap travels in the run input
    done = wait_run(caller, start(caller, "flood")["id"], timeout=120)
    assert done["status"] == "succeeded"
    lines = logs(caller, done["id"])
    assert len(lines) <= 100_002 and lines[-1]["stream"] == "system"


def test_approval_gate_approve_and_reject(caller: Caller) -> None:
    register(
        caller,
        "name: gated\nsteps:\n- {id: build, run: 'echo version=1.4.2 >> $MAESTRO_OUTPUT'}\n"
        "- {id: gate, uses: approval, needs: [build], with: {message: 'Ship ${{ steps.build.outputs.version }}?'}}\n"
        "- {id: ship, run: echo shipped, needs: [gate]}\n",
    )
    run = start(caller, "gated")
    gate = wait_step(caller, run["id"], "gate", "waiting")
    assert gate["message"] == "Ship 1.4.2?"  # the approver sees what they approve
    assert wait_run(caller, run["id"], {"waiting"})["status"] == "waiting"
    r = caller.post(f"/api/runs/{run['id']}/actions", json={"action": "approve", "reason": "looks good"})
    assert r.status_code == 200, r.text
    done = wait_run(caller, run["id"])
    steps = {s["key"]: s for s in done["steps"]}
    assert done["status"] == "succeeded"
    assert steps["gate"]["decidedBy"] == "admin" and steps["gate"]["decisionReason"] == "looks good"
    # refusals are 409 naming the state
    again = caller.post(f"/api/runs/{run['id']}/actions", json={"action": "approve"})
    assert again.status_code == 409 and "succeeded" in again.json()["detail"]
    run2 = start(caller, "gated")
    wait_step(caller, run2["id"], "gate", "waiting")
    assert caller.post(f"/api/runs/{run2['id']}/actions", json={"action": "approve", "step": "build"}).status_code == 409
    assert caller.post(f"/api/runs/{run2['id']}/actions", json={"action": "reject", "reason": "not today"}).status_code == 200
    done2 = wait_run(caller, run2["id"])
    st = {s["key"]: s["status"] for s in done2["steps"]}
    assert done2["status"] == "failed" and st == {"build": "succeeded", "gate": "failed", "ship": "skipped"}
    audit = [(e["action"], e["actor"]) for e in caller.get("/api/audit?action=run.*").json()["items"]]
    assert sorted(a for a in audit if a[0] != "run.start") == [
        ("run.approve", "admin"),
        ("run.reject", "admin"),
    ]  # once each: the workflow adds none


def test_controls_sent_straight_through_temporal_are_audited(settings: Settings, caller: Caller) -> None:
    """A release manager pauses, resumes and approves a run with `temporal workflow update`, as docs/pipelines.md shows."""
    register(
        caller,
        "name: gated-direct\nsteps:\n- {id: gate, uses: approval}\n- {id: ship, run: echo shipped, needs: [gate]}\n",
    )
    run = start(caller, "gated-direct")
    wait_step(caller, run["id"], "gate", "waiting")
    wf = run["workflowId"]
    for name, reason in (("pause", "change freeze"), ("resume", "freeze over"), ("approve", "CAB-1234 approved")):
        ticket = caller.post(f"/api/runs/{run['id']}/tickets", json={"action": name}).json()["ticket"]
        sent = update_via_temporal(settings, wf, name, {"ticket": ticket, "reason": reason, "via": "api"})
        assert sent.returncode == 0, f"{name}: {sent.stderr}"
    done = wait_run(caller, run["id"])
    state = temporal_cli(settings, "workflow", "query", "--workflow-id", wf, "--name", "get_state", "--output", "json")
    assert state.returncode == 0 and '"finished"' in state.stdout, state.stdout + state.stderr
    gate = next(s for s in done["steps"] if s["key"] == "gate")
    assert done["status"] == "succeeded" and gate["decidedBy"] == "admin" and gate["decisionReason"] == "CAB-1234 approved"
    items = caller.get("/api/audit", params={"action": "run.*"}).json()["items"]
    seen = [(e["action"], e["actor"]) for e in items if e["action"] != "run.start"]
    assert seen[::-1] == [  # the audit log lists the newest first; a caller-set "via": "api" does not skip the audit
        ("run.ticket", "admin"),
        ("run.pause", "admin"),
        ("run.ticket", "admin"),
        ("run.resume", "admin"),
        ("run.ticket", "admin"),
        ("run.approve", "admin"),
    ]
    assert caller.get("/api/audit/verify").json()["ok"] is True
    # and they reach /api/streams/audit like every other audit record
    streamed = [json.loads(f[b"e"]) for _, f in redis.Redis.from_url(settings.effective_redis_url).xrange(stream_key("audit"))]
    assert ("run.approve", "admin") in [(e["payload"]["action"], e["payload"]["actor"]) for e in streamed]


def test_a_temporal_control_needs_a_valid_ticket_for_its_workflow_and_action(settings: Settings, caller: Caller) -> None:
    """No ticket, an expired one, one for another workflow or action, or a used one: refused, and nothing changes."""
    from maestro.db import get_engine
    from maestro.domain.tickets import issue

    register(caller, "name: gated-t\nsteps:\n- {id: gate, uses: approval}\n- {id: ship, run: echo shipped, needs: [gate]}\n")
    run, other = start(caller, "gated-t"), start(caller, "gated-t")
    for r in (run, other):
        wait_step(caller, r["id"], "gate", "waiting")
    wf = run["workflowId"]

    def ticket(r: dict[str, Any], action: str = "approve") -> str:
        t = caller.post(f"/api/runs/{r['id']}/tickets", json={"action": action})
        assert t.status_code == 201, t.text
        return t.json()["ticket"]  # type: ignore[no-any-return]

    def approve(body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return update_via_temporal(settings, wf, "approve", {"reason": "ok", **body})

    assert "control ticket is required" in approve({"by": "cab"}).stderr
    assert "for workflow" in approve({"ticket": ticket(other)}).stderr
    assert "is for reject, not approve" in approve({"ticket": ticket(run, "reject")}).stderr
    engine = get_engine(settings.effective_database_url)
    expired, _ = issue(settings, engine, workflow_id=wf, action="approve", actor="admin", via="temporal", ttl_seconds=-1)
    assert "expired" in approve({"ticket": expired}).stderr
    # a build can have the instance key sign any bytes (`uses: sign`): such a signature is never a ticket's
    import base64
    import json as _json

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    from maestro.supply.keys import instance_key

    mine = ticket(other)  # a real, unused jti of a run the attacker may control
    claims = _json.loads(base64.urlsafe_b64decode(mine.split(".")[0] + "=="))
    claims.update(workflow_id=wf, actor="admin", via="api")
    body = base64.urlsafe_b64encode(_json.dumps(claims).encode()).rstrip(b"=").decode()
    blob_sig = instance_key(settings, engine).private.sign(body.encode(), ec.ECDSA(hashes.SHA256()))  # as sign_blob does
    as_artifact = f"{body}.{base64.urlsafe_b64encode(blob_sig).rstrip(b'=').decode()}"
    assert "signature does not verify" in approve({"ticket": as_artifact}).stderr
    forged = expired[:-4] + ("AAAA" if not expired.endswith("AAAA") else "BBBB")
    assert "signature" in approve({"ticket": forged}).stderr or "malformed" in approve({"ticket": forged}).stderr
    gate = next(s for s in caller.get(f"/api/runs/{run['id']}").json()["steps"] if s["key"] == "gate")
    assert gate["status"] == "waiting" and gate["decidedBy"] is None  # nothing above approved it
    good = ticket(run)
    assert approve({"ticket": good}).returncode == 0
    assert wait_run(caller, run["id"])["status"] == "succeeded"
    reused = update_via_temporal(settings, other["workflowId"], "approve", {"ticket": good})
    assert reused.returncode != 0  # bound to the first workflow, and used up
    assert caller.post(f"/api/runs/{other['id']}/actions", json={"action": "approve"}).status_code == 200
    assert wait_run(caller, other["id"])["status"] == "succeeded"


def test_cancel_kills_the_running_step(caller: Caller) -> None:
    sleeper = f"sleep {4000 + os.getpid() % 997}"
    register(caller, f"name: long\nsteps:\n- {{id: a, run: '{sleeper}'}}\n- {{id: b, run: echo never, needs: [a]}}\n")
    run = start(caller, "long")
    wait_for(lambda: host_processes(sleeper), 30)
    r = caller.post(f"/api/runs/{run['id']}/actions", json={"action": "cancel", "reason": "wrong branch"})
    assert r.status_code == 200, r.text
    done = wait_run(caller, run["id"])
    st = {s["key"]: s["status"] for s in done["steps"]}
    assert done["status"] == "cancelled" and st == {"a": "cancelled", "b": "cancelled"}
    wait_for(lambda: not host_processes(sleeper), 10)
    assert caller.post(f"/api/runs/{run['id']}/actions", json={"action": "cancel"}).status_code == 409


def test_pause_holds_new_steps_until_resume(caller: Caller, settings: Settings) -> None:
    register(
        caller,
        "name: pausable\nsteps:\n- {id: a, run: 'while [ ! -f go ]; do sleep 0.05; done'}\n- {id: b, run: echo b, needs: [a]}\n",
    )
    run = start(caller, "pausable")
    wait_step(caller, run["id"], "a", "running")
    assert caller.post(f"/api/runs/{run['id']}/actions", json={"action": "pause"}).status_code == 200
    assert caller.post(f"/api/runs/{run['id']}/actions", json={"action": "pause"}).status_code == 409
    work = wait_for(lambda: next((settings.effective_workspace_dir / run["id"]).glob("a.*/work"), None), 10)
    (work / "go").touch()  # into the step's workspace: the only place it shares with the host
    wait_step(caller, run["id"], "a", "succeeded")
    time.sleep(1.0)
    detail = caller.get(f"/api/runs/{run['id']}").json()
    assert detail["status"] == "paused" and {s["key"]: s["status"] for s in detail["steps"]}["b"] == "pending"
    assert caller.post(f"/api/runs/{run['id']}/actions", json={"action": "resume"}).status_code == 200
    assert wait_run(caller, run["id"])["status"] == "succeeded"


def test_rerun_failed_executes_only_the_failed_step(caller: Caller, settings: Settings) -> None:
    # the test step reads a flag from a directory the pool declares as a (read-only) toolchain
    shared = settings.runner_toolchains[0]
    register(
        caller,
        "name: partial\nsteps:\n- id: build\n  run: 'echo building; mkdir -p out; echo bin > out/app; echo v=7 >> $MAESTRO_OUTPUT'\n"
        f"  artifacts: [out/app]\n- {{id: test, run: 'test -f {shared}/fixed', needs: [build]}}\n"
        "- {id: use, run: 'echo got ${{ steps.build.outputs.v }}', needs: [build, test]}\n",
    )
    first = wait_run(caller, start(caller, "partial")["id"])
    assert first["status"] == "failed"
    (shared / "fixed").touch()
    r = caller.post(f"/api/runs/{first['id']}/actions", json={"action": "rerun-failed"})
    assert r.status_code == 200, r.text
    second = wait_run(caller, r.json()["detail"])
    steps = {s["key"]: s for s in second["steps"]}
    assert second["status"] == "succeeded" and second["rerunOf"] == first["id"]
    assert steps["build"]["reusedFrom"] == first["id"] and steps["test"]["reusedFrom"] is None
    assert logs(caller, second["id"], step="build") == []  # build did not execute again
    assert [a["sha256"] for a in second["artifacts"]] == [a["sha256"] for a in first["artifacts"]]
    assert "got 7" in [ln["line"] for ln in logs(caller, second["id"], step="use")]
    assert caller.post(f"/api/runs/{second['id']}/actions", json={"action": "rerun-failed"}).status_code == 409
    rerun = caller.post(f"/api/runs/{second['id']}/actions", json={"action": "rerun"}).json()
    third = wait_run(caller, rerun["detail"])
    assert third["status"] == "succeeded" and "building" in [ln["line"] for ln in logs(caller, third["id"], step="build")]


def test_source_checkout_records_the_commit(caller: Caller, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "hello.txt").write_text("from git\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    register(
        caller,
        f"name: checkout\nsource: {{url: 'file://{repo}', ref: main}}\nsteps:\n- {{id: a, run: 'cat hello.txt; git log -1 --format=%H'}}\n",
    )
    done = wait_run(caller, start(caller, "checkout")["id"])
    assert done["status"] == "succeeded" and done["commit"] == sha and done["branch"] == "main"
    assert ["from git", sha] == [ln["line"] for ln in logs(caller, done["id"]) if ln["stream"] == "stdout"]
    bad = wait_run(caller, start(caller, "checkout", ref="no-such-branch")["id"])
    assert bad["status"] == "failed" and "no-such-branch" in bad["error"]


def test_bad_input(caller: Caller, client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    r = caller.post("/api/pipelines", json={"spec": "name: x\nsteps:\n- {id: a, run: x, needs: [b]}\n"})
    assert r.status_code == 422 and r.json()["errors"] == [{"field": "spec.steps[0](a).needs", "message": "unknown step 'b'"}]
    register(caller, "name: typed\nparams: {n: {type: number}}\nsteps: [{id: a, run: x}]\n")
    assert caller.post("/api/pipelines", json={"spec": "name: typed\nsteps: [{id: a, run: y}]\n"}).status_code == 409
    r = caller.post("/api/runs", json={"pipeline": "typed", "inputs": {"n": "lots"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "inputs.n"
    assert caller.post("/api/runs", json={"pipeline": "ghost"}).status_code == 404
    assert caller.get("/api/runs/nope").status_code == 404
    assert caller.post("/api/runs", json={"pipeline": "typed", "env": "moon"}).status_code == 404
    viewer = make_user(engine, roles=["viewer"])
    v = login(client, viewer.username, PASSWORD)
    assert v.post("/api/runs", json={"pipeline": "typed"}).status_code == 403


def test_versions_and_diff(caller: Caller) -> None:
    p = register(caller, "name: evolve\nparams: {a: {default: x}}\nsteps:\n- {id: a, run: echo 1}\n- {id: b, run: echo 2}\n")
    assert p["latestVersion"] == 1 and p["latest"]["contentHash"].startswith("sha256:")
    same = caller.put(
        f"/api/pipelines/{p['id']}",
        json={"spec": "name: evolve\nparams: {a: {default: x}}\nsteps:\n- {id: a, run: echo 1}\n- {id: b, run: echo 2}\n"},
    )
    assert same.json()["latestVersion"] == 1  # unchanged content: no new version
    v2 = caller.put(
        f"/api/pipelines/{p['id']}",
        json={
            "spec": "name: evolve\nparams: {b: {default: y}}\nsteps:\n- {id: a, run: echo one, timeout: 60}\n- {id: c, run: echo 3, artifacts: [x.txt]}\n"
        },
    )
    assert v2.status_code == 200 and v2.json()["latestVersion"] == 2
    d = caller.get(f"/api/pipelines/{p['id']}/diff", params={"from": 1, "to": 2}).json()
    assert d["stepsAdded"] == ["c"] and d["stepsRemoved"] == ["b"]
    assert d["stepsChanged"] == [
        {
            "id": "a",
            "changes": [{"field": "run", "from": "echo 1", "to": "echo one"}, {"field": "timeout", "from": None, "to": 60}],
        }
    ]
    assert d["paramsAdded"] == ["b"] and d["paramsRemoved"] == ["a"]
    versions = caller.get(f"/api/pipelines/{p['id']}/versions").json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    assert caller.get(f"/api/pipelines/{p['id']}/diff", params={"from": 1, "to": 9}).status_code == 404
    schema = caller.get("/api/schemas/pipeline.json").json()
    assert "steps" in schema["properties"]


async def test_runs_are_findable_in_temporal_by_search_attributes(client: TestClient, workers, settings) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from temporalio.client import Client

    caller = login(client)
    register(caller, "name: findme\nsteps:\n- {id: a, run: 'true'}\n")
    run = start(caller, "findme", env="staging")
    await asyncio.to_thread(wait_run, caller, run["id"])
    tc = await Client.connect(settings.effective_temporal_address)

    async def found() -> list:  # type: ignore[type-arg]
        return [
            w
            async for w in tc.list_workflows(
                'MaestroPipeline = "findme" AND MaestroEnv = "staging" AND MaestroStatus = "succeeded"'
            )
        ]

    for _ in range(50):  # visibility is eventually consistent
        hits = await found()
        if hits:
            break
        await asyncio.sleep(0.2)
    assert [w.id for w in hits] == ["run-findme-1"]
    desc = await tc.get_workflow_handle("run-findme-1").describe()
    assert (await desc.memo_value("runId")) == run["id"]


def test_run_events_stream_live(app, workers) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from tests.services import live_api
    from tests.test_streams import _login

    with live_api(app) as url:
        c = _login(url)
        c.post(
            "/api/pipelines",
            json={"spec": "name: evented\nsteps:\n- {id: a, run: echo hi}\n- {id: gate, uses: approval, needs: [a]}\n"},
        )
        started: list[str] = []
        events: list[dict] = []  # type: ignore[type-arg]
        with c.stream("GET", "/api/streams/runs", timeout=httpx.Timeout(20)) as r:
            started.append(c.post("/api/runs", json={"pipeline": "evented"}).json()["id"])
            deadline = time.monotonic() + 30
            for frame in sse_frames(r):
                assert time.monotonic() < deadline, f"no approval_requested among {[e['event'] for e in events]}"
                events.append(frame)
                if frame["event"] == "approval_requested" or len(events) > 50:
                    break
        kinds = [e["event"] for e in events]
        assert kinds[0] == "run_started"
        assert {"step_started", "step_completed", "approval_requested", "run_progress"} <= set(kinds)
        assert all(e["data"]["payload"]["runId"] == started[0] for e in events)
        r = c.post(f"/api/runs/{started[0]}/actions", json={"action": "approve"})
        assert r.status_code == 200
        with c.stream("GET", "/api/streams/logs", params={"run": started[0], "since": "0"}, timeout=httpx.Timeout(10)) as s:
            for line in s.iter_lines():
                if line.startswith("data: "):
                    assert '"line": "hi"' in line or '"line":"hi"' in line
                    break


def test_a_finished_runs_live_log_stream_expires(caller: Caller, settings: Settings) -> None:
    """The live stream is for watching; once the run ends every line is in SQL and the stream goes."""
    from maestro.events.streams import LOG_STREAM_TTL_SECONDS, logs_key

    register(caller, "name: chatty\nsteps:\n- {id: a, run: 'seq 1 500'}\n")
    done = wait_run(caller, start(caller, "chatty")["id"])
    r = redis.Redis.from_url(settings.effective_redis_url)
    assert r.xlen(logs_key(done["id"])) == 500  # the live lines were there …
    assert 0 < r.ttl(logs_key(done["id"])) <= LOG_STREAM_TTL_SECONDS  # … and go away on their own
    assert len(logs(caller, done["id"])) == 500  # the durable log is whole


def test_a_native_temporal_cancel_is_carried_out_and_audited(settings: Settings, caller: Caller) -> None:
    """Cancelling from the Temporal UI (or `temporal workflow cancel`) stays possible for operators: the run ends
    cancelled with its step's processes killed, and the audit log says it came from Temporal."""
    sleeper = f"sleep {5000 + os.getpid() % 997}"
    register(caller, f"name: native\nsteps:\n- {{id: a, run: '{sleeper}'}}\n- {{id: b, run: echo never, needs: [a]}}\n")
    run = start(caller, "native")
    wait_for(lambda: host_processes(sleeper), 30)
    sent = temporal_cli(settings, "workflow", "cancel", "--workflow-id", run["workflowId"])
    assert sent.returncode == 0, sent.stderr
    done = wait_run(caller, run["id"])
    assert done["status"] == "cancelled" and {s["key"]: s["status"] for s in done["steps"]} == {
        "a": "cancelled",
        "b": "cancelled",
    }
    wait_for(lambda: not host_processes(sleeper), 10)
    audit = caller.get("/api/audit", params={"action": "run.cancel"}).json()["items"]
    assert [(e["actor"], e["targetId"]) for e in audit] == [("temporal:native-cancel", run["id"])]


def test_a_native_cancel_while_the_source_is_resolved_cancels_the_run(settings: Settings, caller: Caller, tmp_path: Path) -> None:
    """Before native-cancel-source-v1 this run ended "failed" with "source: activity cancelled", unaudited."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    register(  # no runner serves the pool, so the source stays unresolved until the cancel
        caller, f"name: unserved\nsource: {{url: 'file://{repo}', ref: main}}\nsteps:\n- {{id: a, run: echo never, pool: idle}}\n"
    )
    run = start(caller, "unserved")

    def resolving() -> bool:
        shown = temporal_cli(settings, "workflow", "describe", "--workflow-id", run["workflowId"], "--output", "json")
        return "resolve_source" in shown.stdout

    wait_for(resolving, 30)
    sent = temporal_cli(settings, "workflow", "cancel", "--workflow-id", run["workflowId"])
    assert sent.returncode == 0, sent.stderr
    done = wait_run(caller, run["id"])
    assert (
        done["status"] == "cancelled" and done["error"] == "cancelled by temporal:native-cancel: cancelled natively in Temporal"
    )
    assert {s["key"]: s["status"] for s in done["steps"]} == {"a": "cancelled"}
    audit = caller.get("/api/audit", params={"action": "run.cancel"}).json()["items"]
    assert [(e["actor"], e["targetId"]) for e in audit] == [("temporal:native-cancel", run["id"])]


def test_param_values_reach_steps_as_written_and_a_failed_run_says_why(caller: Caller) -> None:
    register(
        caller,
        "name: typed-params\nparams:\n  flag: {type: boolean}\n  n: {type: number}\n  ratio: {type: number}\n"
        "steps:\n- {id: show, run: 'echo flag=${{ params.flag }} n=${{ params.n }} ratio=${{ params.ratio }}'}\n"
        "- {id: boom, needs: [show], run: 'echo about to fail; exit 3'}\n",
    )
    run = wait_run(caller, start(caller, "typed-params", inputs={"flag": True, "n": 3, "ratio": 0.5})["id"])
    texts = [x["line"] for x in logs(caller, run["id"], step="show")]
    assert "flag=true n=3 ratio=0.5" in texts, texts
    assert run["status"] == "failed"
    assert run["error"] == "step boom failed: exit code 3", run["error"]
