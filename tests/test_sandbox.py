"""The trust boundary: every step runs in the step sandbox, on a real runner, in a real pipeline.

Each probe is a step of a real run. A probe of something the step must not reach checks first, on
the host, that the target exists (so a typo cannot make the test pass) and then that the step fails
to read it.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from maestro import stack
from maestro.config import Settings
from maestro.db import get_engine
from maestro.sandbox import SandboxUnavailable, StepSandbox, host_addresses
from maestro.supply.keys import instance_key, key_path
from tests.factories import Caller, login
from tests.services import live_api, update_via_temporal, wait_for
from tests.test_runs import logs, register, start, wait_run, wait_step

STEP_USER = "maestro-step"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The runner binds the `temporal` CLI's directory read-only, as a pool declaring it as a toolchain would:
    the self-approval probe then has the real CLI in hand."""
    return settings.model_copy(update={"runner_toolchains": [Path(stack.temporal_binary()).parent]})


@pytest.fixture
def caller(client: TestClient, workers) -> Caller:  # type: ignore[no-untyped-def]
    return login(client)


def stdout(caller: Caller, run_id: str, step: str) -> list[str]:
    return [ln["line"] for ln in logs(caller, run_id, step=step) if ln["stream"] == "stdout"]


def statuses(run: dict[str, Any]) -> dict[str, str]:
    return {s["key"]: s["status"] for s in run["steps"]}


def test_a_step_cannot_read_keys_databases_other_workspaces_or_root(caller: Caller, settings: Settings) -> None:
    key_file = key_path(settings)
    instance_key(settings, get_engine(settings.effective_database_url))  # the control plane's key, as in production
    db_file = Path(settings.effective_database_url.removeprefix("sqlite:///"))
    register(
        caller, "name: leaves-a-secret\nkeepWorkspace: true\nsteps:\n- {id: a, run: 'echo s3cr3t-of-another-run > secret.txt'}\n"
    )
    other = wait_run(caller, start(caller, "leaves-a-secret")["id"])
    other_ws = next((settings.effective_workspace_dir / other["id"]).glob("a.*/work/secret.txt"))
    for target in (key_file, db_file, other_ws, Path("/root")):
        assert target.exists(), f"{target} should exist on the host for this probe to mean anything"
    register(
        caller,
        "name: snoop\nsteps:\n"
        f"- {{id: key, run: 'cat {key_file}'}}\n"
        f"- {{id: db, run: 'head -c 100 {db_file} | od -c | head -3'}}\n"
        f"- {{id: workspace, run: 'cat {other_ws}'}}\n"
        "- {id: root, run: 'ls -la /root'}\n"
        "- {id: userns, run: 'unshare --user --map-root-user true'}\n"
        "- {id: own, run: 'echo mine > f && cat f && id -un && echo \"home=$HOME\"'}\n",
    )
    run = wait_run(caller, start(caller, "snoop")["id"])
    assert statuses(run) == {
        "key": "failed",
        "db": "failed",
        "workspace": "failed",
        "root": "failed",
        "userns": "failed",  # no nested user namespace to gain capabilities in
        "own": "succeeded",
    }
    everything = [ln["line"] for ln in logs(caller, run["id"])]
    assert not any("PRIVATE KEY" in ln or "s3cr3t" in ln or "SQLite" in ln for ln in everything)
    assert stdout(caller, run["id"], "own") == ["mine", "step", "home=/home/step"]


def test_no_host_process_is_visible_and_no_host_service_answers(caller: Caller, settings: Settings, app) -> None:  # type: ignore[no-untyped-def]
    import socket

    with live_api(app, host="0.0.0.0") as api_url:
        api_port = int(api_url.rsplit(":", 1)[1])
        ports = {
            api_port,
            int(settings.effective_temporal_address.rsplit(":", 1)[1]),
            int(settings.effective_redis_url.rsplit(":", 1)[1].split("/")[0]),
            5432,  # the machine's PostgreSQL
        }
        addrs = ["127.0.0.1", "10.0.2.2", *host_addresses()]
        # the probe can tell open from closed: from the host, each of these answers
        for p in ports:
            with socket.create_connection(("127.0.0.1", p), timeout=3):
                pass
        for a in host_addresses():
            with socket.create_connection((a, api_port), timeout=3):
                pass
        probes = " ".join(f"{a}:{p}" for a in addrs for p in sorted(ports))
        register(
            caller,
            "name: probe\nsteps:\n"
            "- id: procs\n  run: for p in /proc/[0-9]*; do echo \"$(tr '\\0' ' ' < $p/cmdline)\"; done\n"
            "- id: ports\n  run: |\n"
            f"    for t in {probes}; do\n"
            '      if timeout 3 bash -c "exec 3<>/dev/tcp/${t%:*}/${t#*:}" 2>/dev/null; then echo "OPEN $t"; else echo "closed $t"; fi\n'
            "    done\n",
        )
        run = wait_run(caller, start(caller, "probe")["id"], timeout=120)
    assert statuses(run) == {"procs": "succeeded", "ports": "succeeded"}
    cmdlines = stdout(caller, run["id"], "procs")
    assert 1 <= len(cmdlines) <= 4, cmdlines  # bwrap's init, bash, the loop: nothing of the host
    host = [c for c in cmdlines[1:] if any(w in c for w in ("temporal", "pytest", "valkey", "postgres", "python"))]
    assert cmdlines[0].split()[0].endswith("/bwrap") and host == [], cmdlines  # pid 1 is the sandbox's own init
    assert "MAESTRO_RUN_ID" not in cmdlines[0]  # the step's environment never travels on a command line
    answered = stdout(caller, run["id"], "ports")
    assert len(answered) == len(addrs) * len(ports)
    assert [ln for ln in answered if ln.startswith("OPEN")] == []


def test_a_step_reaches_the_package_registry_and_writes_as_the_step_user(caller: Caller, settings: Settings) -> None:
    register(
        caller,
        "name: fetch\nkeepWorkspace: true\nsteps:\n"
        "- id: pip\n  run: python3 -m pip download --no-deps --quiet --dest dl six && ls dl && cp /bin/sh sh && chmod 4755 sh\n",
    )
    run = wait_run(caller, start(caller, "fetch")["id"], timeout=180)
    assert statuses(run) == {"pip": "succeeded"}, logs(caller, run["id"])
    assert any(ln.startswith("six-") and ln.endswith(".whl") for ln in stdout(caller, run["id"], "pip"))
    work = next((settings.effective_workspace_dir / run["id"]).glob("pip.*/work"))
    step_uid = pwd.getpwnam(STEP_USER).pw_uid
    written = [work / "dl", *(work / "dl").iterdir(), work / "sh"]
    assert {p.stat().st_uid for p in written} == {step_uid}
    assert (work / "sh").stat().st_mode & 0o4000  # a setuid bit on a step-user file grants nothing
    assert run["isolation"] == "sandbox" and run["steps"][0]["isolation"] == "sandbox"


def test_network_none_leaves_only_loopback(caller: Caller) -> None:
    show = "python3 -c 'import socket; print(sorted(n for _, n in socket.if_nameindex()))'"
    register(
        caller,
        f'name: offline\nnetwork: none\nsteps:\n- {{id: offline, run: "{show}"}}\n'
        f'- {{id: online, run: "{show}", network: default}}\n',
    )
    run = wait_run(caller, start(caller, "offline")["id"])
    assert statuses(run) == {"offline": "succeeded", "online": "succeeded"}
    assert stdout(caller, run["id"], "offline") == ["['lo']"]
    assert stdout(caller, run["id"], "online") == ["['lo', 'tap0']"]


def test_a_step_cannot_approve_its_own_gate_through_temporal(caller: Caller, settings: Settings) -> None:
    temporal = stack.temporal_binary()
    assert os.access(temporal, os.X_OK)
    register(
        caller,
        "name: self-approve\nsteps:\n- {id: gate, uses: approval}\n- {id: ship, run: echo shipped, needs: [gate]}\n"
        "- id: sneak\n  run: |\n"
        f"    {temporal} workflow update execute --address {settings.effective_temporal_address} "
        f"--namespace {settings.temporal_namespace} --workflow-id run-self-approve-1 --name approve "
        '--input \'{"by": "sneak", "reason": "self"}\' --command-timeout 10s\n',
    )
    run = start(caller, "self-approve")
    sneak = wait_step(caller, run["id"], "sneak", "failed", timeout=120)
    assert sneak["status"] == "failed"
    gate = next(s for s in caller.get(f"/api/runs/{run['id']}").json()["steps"] if s["key"] == "gate")
    assert gate["status"] == "waiting" and gate["decidedBy"] is None
    assert run["workflowId"] == "run-self-approve-1"  # the probe aimed at the right workflow
    # the same command from the host reaches Temporal (the boundary, not a typo, stopped the step)
    sent = update_via_temporal(settings, run["workflowId"], "no-such-update", {})
    assert "no-such-update" in sent.stderr or sent.returncode != 0


def test_a_quote_breaking_input_is_printed_literally_and_executes_nothing(caller: Caller, settings: Settings) -> None:
    evil = 'x"; touch pwned; echo "'
    evil_single = "y'; touch pwned2; echo '"
    register(
        caller,
        "name: greet\nkeepWorkspace: true\nparams:\n  greeting: {default: hello}\n  other: {default: hi}\nsteps:\n"
        "- id: a\n  run: |\n"
        '    echo "hello ${{ params.greeting }}"\n'
        "    echo ${{ params.greeting }}\n"
        "    echo 'single ${{ params.other }}'\n",
    )
    run = wait_run(caller, start(caller, "greet", inputs={"greeting": evil, "other": evil_single})["id"])
    assert run["status"] == "succeeded"
    assert stdout(caller, run["id"], "a") == [f"hello {evil}", evil, f"single {evil_single}"]
    work = next((settings.effective_workspace_dir / run["id"]).glob("a.*/work"))
    assert list(work.iterdir()) == []
    step = run["steps"][0]
    assert '"${MAESTRO_EXPR_PARAMS_GREETING}"' in step["command"] and "${{" not in step["command"]


def test_two_million_lines_run_once_and_keep_exactly_the_first_hundred_thousand(caller: Caller) -> None:
    register(caller, "name: flood2m\nsteps:\n- {id: a, run: 'seq 1 2000000'}\n")
    run = wait_run(caller, start(caller, "flood2m")["id"], timeout=300)
    assert run["status"] == "succeeded"
    step = run["steps"][0]
    assert [a.get("execution", 1) for a in step["attempts"]] == [1]
    lines = logs(caller, run["id"])
    out = [ln["line"] for ln in lines if ln["stream"] == "stdout"]
    assert out == [str(i) for i in range(1, 100_001)]
    system = [ln["line"] for ln in lines if ln["stream"] == "system"]
    assert system[0].startswith("maestro: log limit of 100000 lines reached")
    assert system[-1] == "maestro: 1900000 further lines were discarded (log limit)"
    assert not any("running it again" in s for s in system)


def test_a_ten_megabyte_line_is_cut_once_with_the_marker(caller: Caller) -> None:
    register(caller, "name: wide\nsteps:\n- {id: a, run: \"head -c 10000000 /dev/zero | tr '\\\\0' a; echo; echo after\"}\n")
    run = wait_run(caller, start(caller, "wide")["id"], timeout=120)
    assert run["status"] == "succeeded"
    out = [ln["line"] for ln in logs(caller, run["id"]) if ln["stream"] == "stdout"]
    assert len(out) == 2 and out[1] == "after"
    assert out[0] == "a" * 16_384 + " …[line truncated]"


def test_an_artifact_glob_never_follows_a_symlink_out_of_the_workspace(caller: Caller) -> None:
    register(
        caller,
        "name: linky\nsteps:\n- id: a\n  run: mkdir -p out/deep && ln -s / out/root && ln -s /etc/passwd out/deep/x && echo x > out/x\n"
        '  artifacts: ["**/x", "out/root/etc/hostname"]\n',
    )
    run = wait_run(caller, start(caller, "linky")["id"])
    assert run["status"] == "succeeded"
    assert [a["path"] for a in run["artifacts"]] == ["out/x"]


def test_a_host_that_cannot_sandbox_steps_is_refused_with_the_way_out() -> None:
    with pytest.raises(SandboxUnavailable) as exc:
        StepSandbox(step_user="no-such-maestro-user").check()
    assert "no-such-maestro-user" in str(exc.value) and "MAESTRO_RUNNER_ISOLATION=none" in str(exc.value)
    StepSandbox(isolation="none", step_user="no-such-maestro-user").check()  # the admin's explicit opt-out


def test_leftover_namespaces_of_a_killed_runner_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from maestro import sandbox

    # A namespace named after a "runner" that is alive while the namespace is made (so no cleaner on
    # the machine, e.g. a second test run's runner, takes it early), then dies.
    runner = subprocess.Popen(["sleep", "600"])
    with monkeypatch.context() as m:
        m.setattr(sandbox.os, "getpid", lambda: runner.pid)
        lease = sandbox.new_netns([])
    assert lease.netns is not None and lease.slirp is not None and lease.slirp.poll() is None
    runner.kill()
    runner.wait()
    removed = sandbox.cleanup_stale()
    # Another runner on this machine (a second test run) may have cleaned it up first: either way it is gone.
    assert lease.netns in removed or not Path(f"/run/netns/{lease.netns}").exists()
    assert not Path(f"/run/netns/{lease.netns}").exists()
    wait_for(lambda: lease.slirp is not None and lease.slirp.poll() is not None, 10)


def test_an_unisolated_runner_is_marked_on_its_runs_and_in_provenance(caller: Caller, settings: Settings) -> None:
    """An admin's MAESTRO_RUNNER_ISOLATION=none runner: its steps run, and everything downstream says so."""
    import asyncio
    import threading

    from maestro.temporal import connect
    from maestro.workers.runner import build_runner, make_sandbox

    bare = settings.model_copy(update={"runner_pool": "bare", "runner_isolation": "none"})
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main() -> None:
        async with build_runner(await connect(bare), bare, make_sandbox(bare)):
            started.set()
            await stop.wait()

    t = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    t.start()
    try:
        assert started.wait(30)
        register(
            caller, "name: mixed\nsteps:\n- {id: boxed, run: id -un}\n- {id: bare, run: id -un, pool: bare, needs: [boxed]}\n"
        )
        run = wait_run(caller, start(caller, "mixed")["id"])
    finally:
        loop.call_soon_threadsafe(stop.set)
        t.join(30)
    assert run["status"] == "succeeded"
    assert {s["key"]: s["isolation"] for s in run["steps"]} == {"boxed": "sandbox", "bare": "none"}
    assert stdout(caller, run["id"], "boxed") == ["step"] and stdout(caller, run["id"], "bare") == ["root"]
    assert run["isolation"] == "none"
    listed = caller.get("/api/runs", params={"pipeline": "mixed"}).json()["items"][0]
    assert listed["isolation"] == "none"
    statement = wait_for(lambda: caller.get(f"/api/runs/{run['id']}/attestations").json()["provenance"], 30)["statement"]
    internal = statement["predicate"]["buildDefinition"]["internalParameters"]
    assert internal["isolation"] == "none"
    assert {s["key"]: s["isolation"] for s in internal["steps"]} == {"boxed": "sandbox", "bare": "none"}


def test_finished_runs_workspaces_are_removed_unless_kept(caller: Caller, settings: Settings) -> None:
    register(caller, "name: tidy\nsteps:\n- {id: a, run: 'head -c 100000 /dev/zero > blob'}\n")
    register(caller, "name: kept\nkeepWorkspace: true\nsteps:\n- {id: a, run: 'head -c 100000 /dev/zero > blob'}\n")
    tidy, kept = start(caller, "tidy"), start(caller, "kept")
    for r in (tidy, kept):
        assert wait_run(caller, r["id"])["status"] == "succeeded"
    root = settings.effective_workspace_dir
    assert (root / kept["id"]).is_dir()
    wait_for(lambda: not (root / tidy["id"]).exists(), 90, 0.5)  # the runner's janitor, within its interval
    assert next((root / kept["id"]).glob("a.*/work/blob")).stat().st_size == 100_000


def test_a_specs_env_never_chooses_what_the_runner_runs_as_root(caller: Caller, tmp_path: Path) -> None:
    """The tools that build the sandbox (started as root) get a fixed environment and absolute paths: a
    repository with its own `ip`, `sh`, `setpriv`… and `env: {PATH: .}` runs none of them outside the sandbox."""
    import subprocess

    marker = tmp_path / "rooted"
    repo = tmp_path / "repo"
    repo.mkdir()
    for tool in ("ip", "sh", "setpriv", "bwrap", "mount", "unshare", "env"):
        (repo / tool).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (repo / tool).chmod(0o755)
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "tools"], check=True)
    register(
        caller,
        f"name: hijack\nsource: {{url: 'file://{repo}', ref: main}}\n"
        "env: {PATH: '.:/usr/bin:/bin', LD_PRELOAD: ./nope.so, BASH_ENV: ./ip}\n"
        "steps:\n- {id: a, run: 'echo ok'}\n- {id: b, run: 'echo ok', network: none}\n",
    )
    run = wait_run(caller, start(caller, "hijack")["id"])
    assert not marker.exists()  # nothing of the repository ran on the host
    assert {s["key"]: s["status"] for s in run["steps"]} == {"a": "succeeded", "b": "succeeded"}


def test_a_step_cannot_exhaust_the_runner_with_huge_outputs_or_artifacts(caller: Caller) -> None:
    """Sparse files cost the step nothing: the runner reads 64 KiB of outputs and skips oversized artifacts."""
    register(
        caller,
        "name: sparse\nsteps:\n- id: a\n  run: |\n    echo v=1 > $MAESTRO_OUTPUT && truncate -s 50G $MAESTRO_OUTPUT\n"
        "    mkdir -p out && truncate -s 40G out/huge.bin && echo small > out/ok.txt\n"
        '  artifacts: ["out/*"]\n',
    )
    run = wait_run(caller, start(caller, "sparse")["id"], timeout=120)
    assert run["status"] == "succeeded" and run["steps"][0]["outputs"] == {"v": "1"}
    assert [a["path"] for a in run["artifacts"]] == ["out/ok.txt"]
    assert any("out/huge.bin is 42949672960 bytes" in ln["line"] for ln in logs(caller, run["id"]))


def test_another_runs_source_cache_is_not_a_source(caller: Caller, settings: Settings, tmp_path: Path) -> None:
    """The runner clones as root: a local path into its own workspaces (another run's source) is refused."""
    import subprocess

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "secret.txt").write_text("another team's code\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    register(caller, f"name: victim\nkeepWorkspace: true\nsource: {{url: 'file://{repo}'}}\nsteps:\n- {{id: a, run: 'true'}}\n")
    victim = wait_run(caller, start(caller, "victim")["id"])
    cache = settings.effective_workspace_dir / victim["id"] / "_source"
    assert (cache / ".git").is_dir()
    register(caller, f"name: thief\nsource: {{url: '{cache}'}}\nsteps:\n- {{id: a, run: 'cat secret.txt'}}\n")
    thief = wait_run(caller, start(caller, "thief")["id"])
    assert thief["status"] == "failed" and "private data" in thief["error"]
