"""Real services for the test session: Temporal dev server, Valkey, PostgreSQL."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from httpx_sse import EventSource

from maestro import stack
from maestro.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def valkey_server() -> Iterator[str]:
    d = Path(tempfile.mkdtemp(prefix="maestro-valkey-"))
    port = free_port()
    child = stack.Child("valkey", stack.valkey_command(port, d), d / "valkey.log")
    child.start()
    url = f"redis://127.0.0.1:{port}/0"
    try:
        stack.wait_until(lambda: stack.redis_healthy(url), "valkey", child, 30)
        yield url
    finally:
        child.stop()
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def temporal_server(*, ui: bool = False) -> Iterator[tuple[str, int | None]]:
    d = Path(tempfile.mkdtemp(prefix="maestro-temporal-"))
    s = Settings(temporal_port=free_port(), temporal_ui_port=free_port())
    child = stack.Child("temporal", stack.temporal_command(s, d / "temporal.db", headless=not ui), d / "temporal.log")
    child.start()
    address = f"127.0.0.1:{s.temporal_port}"
    try:
        stack.wait_until(lambda: stack.temporal_healthy(address), "temporal", child, 90)
        yield address, (s.temporal_ui_port if ui else None)
    finally:
        child.stop()
        shutil.rmtree(d, ignore_errors=True)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """MAESTRO_TEST_POSTGRES_URL when given, else a throwaway cluster from Debian's binaries.

    Yields a URL to a fresh, empty database that is dropped afterwards.
    """
    base = os.environ.get("MAESTRO_TEST_POSTGRES_URL")
    cluster: tuple[Path, Path, list[str]] | None = None
    if not base:
        bindir = _pg_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL binaries not found: run `make test-deps` (installs Debian's postgresql)")
        d = Path(tempfile.mkdtemp(prefix="maestro-pg-"))
        os.chmod(d, 0o755)
        port = free_port()
        run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
            user = "postgres"
            pw = pwd.getpwnam(user)
            os.chown(d, pw.pw_uid, pw.pw_gid)
            run_as = ["runuser", "-u", user, "--"]
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(d / "data"), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *run_as,
                str(bindir / "pg_ctl"),
                "-D",
                str(d / "data"),
                "-l",
                str(d / "pg.log"),
                "-w",
                "-o",
                f"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        cluster = (bindir, d, run_as)
        base = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    dbname = f"maestro_test_{uuid.uuid4().hex[:10]}"
    admin_url = base
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    url = base.rsplit("/", 1)[0] + f"/{dbname}"
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        if cluster:
            bindir, d, run_as = cluster
            subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(d / "data"), "-m", "fast", "stop"], capture_output=True)
            shutil.rmtree(d, ignore_errors=True)


def wait_for(pred, timeout: float = 10.0, interval: float = 0.05):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def temporal_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """The `temporal` CLI that release managers use, pointed at the test server."""
    cmd = [
        stack.temporal_binary(),
        *args,
        "--address",
        str(settings.temporal_address),
        "--namespace",
        settings.temporal_namespace,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def update_via_temporal(
    settings: Settings, workflow_id: str, name: str, body: dict[str, object]
) -> subprocess.CompletedProcess[str]:
    """`temporal workflow update execute` as documented for runs and rollouts."""
    args = ["workflow", "update", "execute", "--workflow-id", workflow_id, "--name", name, "--input", json.dumps(body)]
    return temporal_cli(settings, *args)


@contextlib.contextmanager
def live_api(app, host: str = "127.0.0.1") -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve ``app`` with uvicorn in a thread on a free port (for streaming clients)."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="on"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    wait_for(lambda: server.started, 20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(10)


@contextlib.contextmanager
def serving_in_thread(start: Callable[[], Awaitable[int]], stop: Callable[[], Awaitable[None]]) -> Iterator[str]:
    """A uvloop server (the edge, the gateway) in a thread with its own event loop: `start()` binds and
    returns its port; `stop()` drains it on exit."""
    import asyncio
    import threading

    import uvloop

    loop = uvloop.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            started["port"] = loop.run_until_complete(start())
        except BaseException as exc:  # surfaced to the test below
            started["error"] = exc
        ready.set()
        if "port" in started:
            loop.run_forever()
        loop.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ready.wait(20)
    if "error" in started:
        raise started["error"]
    try:
        yield f"http://127.0.0.1:{started['port']}"
    finally:
        try:
            asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
        except TimeoutError:
            import faulthandler

            faulthandler.dump_traceback(all_threads=True)  # where the server is stuck, for the failure report
            raise
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)


def up_env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAESTRO_")}
    env.update(
        {
            "MAESTRO_DATA_DIR": str(data),
            "MAESTRO_API_PORT": str(free_port()),
            "MAESTRO_TEMPORAL_PORT": str(free_port()),
            "MAESTRO_TEMPORAL_UI_PORT": str(free_port()),
            "MAESTRO_REDIS_PORT": str(free_port()),
            "MAESTRO_EDGE_PORT": str(free_port()),
            "MAESTRO_GATEWAY_PORT": str(free_port()),
            "MAESTRO_UI_BUILD": "never",
        }
    )
    return env


class Up:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "maestro.cli", "up"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait_ready(self) -> str:
        def ready() -> bool:
            assert self.proc.poll() is None, self.output()
            return "Ready." in self.output()

        wait_for(ready, 120, 0.2)
        return self.output()

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)


def session(base: str, username: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=15)
    r = c.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrfToken"]
    # Secure cookie over plain-http loopback: carry it by hand
    c.headers["Cookie"] = f"maestro_session={r.cookies['maestro_session']}"
    return c


@dataclass
class RunningStack:
    """A `maestro up` stack on free ports, with its admin password and an admin API token."""

    up: Up
    env: dict[str, str]
    base_url: str  # http://localhost:PORT (browsers treat localhost as a secure context)
    admin_password: str
    token: str

    @property
    def api_url(self) -> str:
        return self.base_url.replace("localhost", "127.0.0.1")

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.env['MAESTRO_TEMPORAL_UI_PORT']}"

    def api(self, timeout: float = 30) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, headers={"Authorization": f"Bearer {self.token}"}, timeout=timeout)


@contextlib.contextmanager
def running_stack(tmp: Path, *, token_name: str = "tests", extra_env: dict[str, str] | None = None) -> Iterator[RunningStack]:
    import re

    env = up_env(tmp / "data") | (extra_env or {})
    up = Up(env, tmp / "up.log")
    try:
        out = up.wait_ready()
        password = re.search(r"password: (\S+)", out).group(1)  # type: ignore[union-attr]
        base = f"http://localhost:{env['MAESTRO_API_PORT']}"
        admin = session(base.replace("localhost", "127.0.0.1"), "admin", password)
        tok = admin.post("/api/tokens", json={"name": token_name, "scopes": ["admin:*"], "expiresInDays": 1}).json()["secret"]
        yield RunningStack(up, env, base, password, tok)
    finally:
        up.stop()


def host_processes(cmdline: str) -> list[int]:
    """Host pids whose command line is exactly `cmdline` (a step's processes as the host sees them)."""
    out = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip() == cmdline:
                    out.append(int(p.name))
            except OSError:
                continue
    return out


def sse_frames(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The events of an SSE response (parsed by httpx-sse) as {event, data, id?} with data parsed as
    JSON, skipping comments (heartbeats) and events without data (``retry:``)."""
    for sse in EventSource(response).iter_sse():
        if not sse.data:
            continue
        frame: dict[str, Any] = {"event": sse.event, "data": json.loads(sse.data)}
        if sse.id:
            frame["id"] = sse.id
        yield frame
