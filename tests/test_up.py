"""`maestro up` end to end: the embedded stack starts, serves, stops cleanly and keeps its data."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from maestro.stack import port_in_use
from tests.services import Up, session, up_env, wait_for

pytestmark = pytest.mark.slow


def test_up_serves_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    env = up_env(tmp_path / "data")
    base = f"http://127.0.0.1:{env['MAESTRO_API_PORT']}"
    ports = [int(env[k]) for k in ("MAESTRO_API_PORT", "MAESTRO_TEMPORAL_PORT", "MAESTRO_TEMPORAL_UI_PORT", "MAESTRO_REDIS_PORT")]

    first = Up(env, tmp_path / "up1.log")
    try:
        out = first.wait_ready()
        password = re.search(r"password: (\S+)", out).group(1)  # type: ignore[union-attr]
        assert f"http://localhost:{env['MAESTRO_API_PORT']}" in out
        assert f"http://127.0.0.1:{env['MAESTRO_TEMPORAL_UI_PORT']}" in out
        ready = httpx.get(f"{base}/api/ready").json()
        assert ready["status"] == "ok"
        assert httpx.get(f"http://127.0.0.1:{env['MAESTRO_TEMPORAL_UI_PORT']}/", follow_redirects=True).status_code == 200
        c = session(base, "admin", password)
        assert c.post("/api/users", json={"username": "alice", "password": "alice-password-123"}).status_code == 201
        wid = c.post("/api/system/diagnostics", json={"steps": 1, "stepSeconds": 0}).json()["workflowId"]
        wait_for(lambda: c.get(f"/api/system/diagnostics/{wid}").json()["status"] == "COMPLETED", 60, 0.2)
        # the worker and the runner report liveness; /metrics counts them
        metrics = live_metrics(c)
        assert re.search(r'^maestro_workers_up\{kind="worker",pool="[^"]+"\} 1\.0$', metrics, re.M), metrics
        # the model gateway runs, with the (empty) routing snapshot the API published, and wants a key
        gateway = f"http://127.0.0.1:{env['MAESTRO_GATEWAY_PORT']}"
        assert gateway + "/v1" in out
        wait_for(lambda: httpx.get(f"{gateway}/_gateway/health").status_code == 200, 30, 0.2)
        refused = httpx.get(f"{gateway}/v1/models")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    finally:
        code = first.stop()
    assert code == 0, first.output()
    assert "stopped" in first.output()
    wait_for(lambda: not any(port_in_use("127.0.0.1", p) for p in ports), 10)

    second = Up(env, tmp_path / "up2.log")
    try:
        out = second.wait_ready()
        assert "password:" not in out  # credentials are printed on first start only
        c = session(base, "admin", password)
        users = [u["username"] for u in c.get("/api/users").json()["items"]]
        assert "alice" in users
        assert c.get("/api/audit/verify").json()["ok"] is True
        actions = [e["action"] for e in c.get("/api/audit?limit=100").json()["items"]]
        assert "user.create" in actions and "system.diagnostics.start" in actions
        assert c.get(f"/api/system/diagnostics/{wid}").json()["status"] == "COMPLETED"  # Temporal history kept
        live_metrics(c)  # one runner again: the first stack's processes removed their liveness keys on stop
    finally:
        assert second.stop() == 0


def live_metrics(c: httpx.Client) -> str:
    def runner_up() -> str | None:
        text = c.get("/metrics").text
        return text if 'maestro_workers_up{kind="runner",pool="default"} 1.0' in text else None

    return wait_for(runner_up, 30, 0.5)  # type: ignore[no-any-return]


def test_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    env = up_env(tmp_path / "data")
    with socket.socket() as s:
        s.bind(("127.0.0.1", int(env["MAESTRO_API_PORT"])))
        s.listen()
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, "-m", "maestro.cli", "up"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "MAESTRO_API_PORT" in lines[0] and env["MAESTRO_API_PORT"] in lines[0]
    assert time.monotonic() - t0 < 30


def test_up_uses_external_services_when_configured(
    tmp_path: Path, redis_url: str, temporal_address: str, postgres_url: str
) -> None:
    """Production path: external Redis, Temporal and PostgreSQL; `up` starts only the worker and API."""
    from sqlalchemy import text

    from maestro.db import get_engine

    with get_engine(postgres_url).begin() as c:
        c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    env = up_env(tmp_path / "data")
    env.update(
        {
            "MAESTRO_REDIS_URL": redis_url,
            "MAESTRO_TEMPORAL_ADDRESS": temporal_address,
            "MAESTRO_DATABASE_URL": postgres_url,
            "MAESTRO_CONTROL_TASK_QUEUE": f"ext-{os.getpid()}",
        }
    )
    up = Up(env, tmp_path / "up.log")
    try:
        out = up.wait_ready()
        assert "postgresql+psycopg://" in out and redis_url in out and temporal_address in out
        assert not (tmp_path / "data" / "logs" / "valkey.log").exists()
        assert not (tmp_path / "data" / "logs" / "temporal.log").exists()
        assert not (tmp_path / "data" / "maestro.db").exists()
        base = f"http://127.0.0.1:{env['MAESTRO_API_PORT']}"
        password = re.search(r"password: (\S+)", out).group(1)  # type: ignore[union-attr]
        c = session(base, "admin", password)
        wid = c.post("/api/system/diagnostics", json={"steps": 1, "stepSeconds": 0}).json()["workflowId"]
        wait_for(lambda: c.get(f"/api/system/diagnostics/{wid}").json()["status"] == "COMPLETED", 60, 0.2)
        with get_engine(postgres_url).connect() as conn:
            actions = conn.execute(text("SELECT action FROM audit_event ORDER BY seq")).scalars().all()
        assert actions[0] == "system.bootstrap" and "system.diagnostics.start" in actions
    finally:
        assert up.stop() == 0


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(x.split("=", 1) for x in raw.decode(errors="replace").split("\0") if "=" in x)


def test_up_keeps_its_secrets_private(tmp_path: Path) -> None:
    """Data-dir files 0600 / dirs 0700, a password on the embedded Valkey (never on argv), and no child that
    does not need it inherits MAESTRO_ADMIN_PASSWORD."""
    import redis

    data = tmp_path / "data"
    env = up_env(data)
    env["MAESTRO_ADMIN_PASSWORD"] = "a-long-admin-password-42"
    up = Up(env, tmp_path / "up.log")
    try:
        out = up.wait_ready()
        assert "a-long-admin-password-42" not in out
        port = int(env["MAESTRO_REDIS_PORT"])

        def ours(pid: int) -> bool:  # Valkey retitles itself to "valkey-server 127.0.0.1:PORT"
            seen = _read_cmdline(pid) + str(_environ(pid))
            return str(data) in seen or f"127.0.0.1:{port}" in seen

        children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and int(p.name) != up.proc.pid]
        children = [pid for pid in children if ours(pid)]
        names = " ".join(_read_cmdline(pid) for pid in children)
        for what in (
            "temporal",
            "valkey",
            "maestro.cli worker",
            "maestro.cli runner",
            "maestro.cli api",
            "maestro.cli edge",
            "maestro.cli gateway",
        ):
            assert what in names, names
        assert all("MAESTRO_ADMIN_PASSWORD" not in _environ(pid) for pid in children)
        password = (data / "valkey" / "password").read_text().strip()
        assert len(password) >= 32 and password not in names  # not on any command line
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, socket_connect_timeout=2).ping()
        assert redis.Redis(port=port, password=password, socket_connect_timeout=2).ping()
        assert f":{password}@" not in out
        for p in [data, *data.rglob("*")]:
            if "workspaces" in p.parts or p.is_symlink():
                continue
            mode = p.stat().st_mode & 0o777
            assert mode & 0o077 == 0, f"{p} is {oct(mode)}"
    finally:
        assert up.stop() == 0


def _read_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
