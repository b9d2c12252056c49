"""The step sandbox: build code runs inside a boundary it cannot cross.

Every step runs as a dedicated unprivileged host user (``MAESTRO_STEP_USER``), inside bubblewrap
with new user, pid, ipc, uts and mount namespaces: a read-only ``/usr`` (plus the toolchains the
pool declares), a curated ``/etc``, a fresh ``HOME`` and ``/tmp``, and the step's workspace as the
only writable bind. Nothing of the host's data dir, keys, databases, other workspaces or processes is
in the sandbox. Outbound network goes through slirp4netns in a network namespace of its own, with
the host's loopback disabled and every other address of the host (and link-local metadata)
prohibited by routes inside the namespace, so no Maestro service is reachable from a step.

Network namespaces are prepared ahead (a small warm pool) and torn down after the step, off the
step's path. Namespaces a killed runner left behind are removed when a runner starts.

The step user's workspace is bound through a private mount namespace made by root (the runner):
the step user never needs to traverse the runner's 0700 directories.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import ipaddress
import itertools
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

STATE_DIR = Path("/run/maestro-sandbox")
NETNS_DIR = Path("/run/netns")
NETNS_PREFIX = "maestro-"
STEP_UID_INSIDE = 1000
STEP_HOME = "/home/step"
WORK_INSIDE = "/workspace"
OUTPUTS_INSIDE = "/maestro/outputs"
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
TOOLS = ("bwrap", "slirp4netns", "ip", "setpriv", "unshare", "mount", "sh")
# the whole environment of what the runner starts as root to build a sandbox (never the step's)
ROOT_ENV = {"PATH": SAFE_PATH, "LANG": "C.UTF-8"}
IP = shutil.which("ip", path=SAFE_PATH) or "/usr/sbin/ip"
SLIRP = shutil.which("slirp4netns", path=SAFE_PATH) or "/usr/bin/slirp4netns"
# /etc entries a build needs (TLS roots, pip/git config, name resolution); never shadow, ssh keys, sudoers
ETC_ENTRIES = (
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "pip.conf",
    "xdg/pip",
    "alternatives",
    "nsswitch.conf",
    "gitconfig",
    "localtime",
    "timezone",
    "mime.types",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "python3",
    "python3.11",
    "bash.bashrc",
    "profile",
    "protocols",
    "services",
)
# Root mounts each host path (workspace, outputs file, read-only toolchains) on a staging path inside
# the step's own mount namespace, then drops to the step user, whose bwrap binds the staging paths:
# the step user never has to traverse the runner's private directories. Arguments: SRC STAGE … -- CMD
_STAGE = 'while [ "$1" != "--" ]; do mount --bind -- "$1" "$2" || exit 125; shift 2; done; shift; exec "$@"'
_SEQ = itertools.count(1)
_TOKEN = secrets.token_hex(3)  # a runner restarted with the same pid (a container's pid 1) never meets old names

Isolation = Literal["sandbox", "none"]


class SandboxUnavailable(RuntimeError):
    """The runner cannot sandbox steps on this host (the message says how to fix it)."""


_LIBC = ctypes.CDLL("libc.so.6", use_errno=True)  # loaded now: a child must not dlopen between fork and exec


def set_pdeathsig(sig: int = signal.SIGKILL) -> None:
    """In a forked child: die with the thread that started it (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError):
        _LIBC.prctl(1, sig)


def host_addresses() -> list[str]:
    """Every address of this host other than loopback (steps must not reach services bound on them)."""
    try:
        out = subprocess.run(
            [IP, "-j", "addr", "show"], capture_output=True, text=True, timeout=10, check=True, env=ROOT_ENV
        ).stdout
        rows = json.loads(out or "[]")
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    addrs: list[str] = []
    for iface in rows:
        for a in iface.get("addr_info", []):
            ip = a.get("local")
            if not ip:
                continue
            with contextlib.suppress(ValueError):
                parsed = ipaddress.ip_address(ip)
                if parsed.version == 4 and not parsed.is_loopback:
                    addrs.append(ip)
    return addrs


def prohibited_routes(blocked: Iterable[str] = ()) -> list[str]:
    """Destinations a step can never connect to: the host's own addresses, link-local (cloud metadata),
    slirp4netns' way to the host, and the networks the runner is told to keep steps out of."""
    nets = [ipaddress.ip_network(b, strict=False) for b in blocked]
    return [f"{a}/32" for a in host_addresses()] + ["169.254.0.0/16", "10.0.2.2/32", *(str(n) for n in nets if n.version == 4)]


@dataclass
class Lease:
    """A network namespace (with its slirp4netns) one step uses, or none for `network: none`."""

    netns: str | None = None
    slirp: subprocess.Popen[bytes] | None = None
    exit_w: int | None = None


def new_netns(routes: list[str]) -> Lease:
    """A network namespace with outbound access through slirp4netns and `routes` prohibited."""
    name = f"{NETNS_PREFIX}{os.getpid()}-{_TOKEN}{next(_SEQ)}"
    _run(IP, "netns", "add", name)
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    lease = Lease(netns=name, exit_w=exit_w)
    try:
        lease.slirp = subprocess.Popen(
            [
                SLIRP,
                "--configure",
                "--mtu=65520",
                "--disable-host-loopback",
                # it parses the step's packets: a syscall filter (its --enable-sandbox mount namespace would
                # unmount the shared /run/netns bind of the namespace it serves)
                "--enable-seccomp",
                "--ready-fd",
                str(ready_w),
                "--exit-fd",  # slirp4netns exits when the runner closes (or loses) the other end
                str(exit_r),
                "--netns-type=path",
                str(NETNS_DIR / name),
                "tap0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(ready_w, exit_r),
            preexec_fn=set_pdeathsig,
            env={"PATH": SAFE_PATH},
        )
        os.close(ready_w)
        os.close(exit_r)
        ready_w = exit_r = -1
        if os.read(ready_r, 1) != b"1":
            raise SandboxUnavailable("slirp4netns did not come up")
        if routes:
            _run(IP, "-n", name, "-batch", "-", stdin="".join(f"route add prohibit {r}\n" for r in routes))
    except BaseException:
        teardown(lease)
        raise
    finally:
        for fd in (ready_r, ready_w, exit_r):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
    return lease


def teardown(lease: Lease) -> None:
    if lease.exit_w is not None:
        with contextlib.suppress(OSError):
            os.close(lease.exit_w)
        lease.exit_w = None
    if lease.slirp is not None:
        try:
            lease.slirp.wait(5)
        except subprocess.TimeoutExpired:
            lease.slirp.kill()
            lease.slirp.wait()
    if lease.netns:
        subprocess.run([IP, "netns", "del", lease.netns], capture_output=True, timeout=30, env=ROOT_ENV)
        lease.netns = None


class _NetnsPool:
    """Warm network namespaces shared by every sandbox of this process; set-up and teardown run on
    their own threads, off the steps' path and independent of any event loop."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[Lease] = []
        self.filling = 0
        self.executor = ThreadPoolExecutor(2, thread_name_prefix="maestro-netns")
        atexit.register(self.drain)

    def take(self) -> Lease | None:
        with self.lock:
            return self.idle.pop() if self.idle else None

    def fill(self, size: int, routes: list[str]) -> None:
        with self.lock:
            wanted = size - len(self.idle) - self.filling
            self.filling += max(wanted, 0)
        for _ in range(max(wanted, 0)):
            self.executor.submit(self._add, routes)

    def _add(self, routes: list[str]) -> None:
        try:
            lease = new_netns(routes)
        except Exception:
            log.warning("could not prepare a step network namespace", exc_info=True)
            lease = None
        with self.lock:
            self.filling -= 1
            if lease is not None:
                self.idle.append(lease)

    def discard(self, lease: Lease) -> None:
        self.executor.submit(teardown, lease)

    def drain(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for lease in idle:
            with contextlib.suppress(Exception):
                teardown(lease)


POOL = _NetnsPool()


@dataclass
class StepMounts:
    work: Path
    outputs: Path
    network: bool = True
    extra_ro: list[Path] = field(default_factory=list)


def _run(*argv: str, stdin: str | None = None) -> None:
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, env=ROOT_ENV)
    if r.returncode != 0:
        raise SandboxUnavailable(f"{' '.join(argv[:4])} failed: {r.stderr.strip()[-300:]}")


class StepSandbox:
    """Builds the command line of a sandboxed step and owns the runner's network namespaces."""

    def __init__(
        self,
        *,
        isolation: Isolation = "sandbox",
        step_user: str = "maestro-step",
        toolchains: Iterable[Path] = (),
        blocked_networks: Iterable[str] = (),
        pool_size: int = 2,
        state_dir: Path = STATE_DIR,
    ) -> None:
        self.isolation: Isolation = isolation
        self.step_user = step_user
        self.toolchains = [Path(p) for p in toolchains]
        self.blocked_networks = list(blocked_networks)
        self.pool_size = pool_size
        self.state_dir = state_dir
        self.uid = -1
        self.gid = -1
        self.tools: dict[str, str] = {}
        self._routes: list[str] = []
        self._root: list[str] = []  # the bwrap binds every step shares (/usr, /lib*, /etc), laid out by start()

    @property
    def enabled(self) -> bool:
        return self.isolation == "sandbox"

    # -- start-up ------------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse to run steps unsandboxed by accident: say exactly what is missing and how to fix it."""
        if not self.enabled:
            return
        how = (
            "install Debian's bubblewrap and slirp4netns and create the step user (scripts/setup.sh does both), "
            "or — as an administrator, accepting that build code then sees this host — set MAESTRO_RUNNER_ISOLATION=none"
        )
        found = {t: shutil.which(t, path=SAFE_PATH) for t in TOOLS}
        missing = [t for t, where in found.items() if where is None]
        if missing:
            raise SandboxUnavailable(f"the step sandbox needs {', '.join(missing)}: {how}")
        if os.geteuid() != 0:
            raise SandboxUnavailable(
                "the step sandbox needs the runner to start as root (it creates network namespaces and drops each step "
                f"to the {self.step_user!r} user): run the runner as root (in Kubernetes: see docs/security.md), {how}"
            )
        try:
            pw = pwd.getpwnam(self.step_user)
        except KeyError as exc:
            raise SandboxUnavailable(f"the step user {self.step_user!r} does not exist: {how}") from exc
        if pw.pw_uid == 0:
            raise SandboxUnavailable(f"the step user {self.step_user!r} is root: use an unprivileged system user")
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        self.tools = {t: str(where) for t, where in found.items()}

    def start(self) -> None:
        """Check the host, remove what a killed runner left behind and lay out the staging files."""
        self.check()
        if not self.enabled:
            return
        cleanup_stale()
        self.state_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        os.chmod(self.state_dir, 0o755)  # noqa: S103 - the step user's bwrap must reach the staging binds
        (self.state_dir / "work").mkdir(mode=0o755, exist_ok=True)
        (self.state_dir / "outputs").touch(mode=0o644)
        files = {
            "passwd": f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nstep:x:{STEP_UID_INSIDE}:{STEP_UID_INSIDE}:Maestro step:"
            f"{STEP_HOME}:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            "group": f"root:x:0:\nstep:x:{STEP_UID_INSIDE}:\nnogroup:x:65534:\n",
            "hosts": "127.0.0.1 localhost step\n::1 localhost ip6-localhost ip6-loopback\n",
            # slirp4netns' resolver forwards to the host's (also when that one listens on the host's loopback)
            "resolv.conf": "nameserver 10.0.2.3\n",
        }
        for name, text in files.items():
            p = self.state_dir / name
            tmp = p.with_suffix(".new")
            tmp.write_text(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, p)
        self._routes = prohibited_routes(self.blocked_networks)
        self._root = self._root_binds()

    def _root_binds(self) -> list[str]:
        """The read-only system every step sees: /usr and its /bin, /lib* links, the curated /etc."""
        binds = ["--ro-bind", "/usr", "/usr"]
        for link in ("bin", "lib", "lib32", "lib64", "sbin"):
            target = Path("/") / link
            if target.is_symlink():
                binds += ["--symlink", os.readlink(target), f"/{link}"]
            elif target.is_dir():
                binds += ["--ro-bind", str(target), f"/{link}"]
        for entry in ETC_ENTRIES:
            src = Path("/etc") / entry
            if src.exists():
                binds += ["--ro-bind", str(src), str(src)]
        for name in ("passwd", "group", "hosts", "resolv.conf"):
            binds += ["--ro-bind", str(self.state_dir / name), f"/etc/{name}"]
        return binds

    def prime(self) -> None:
        """Prepare the warm pool of network namespaces in the background."""
        if self.enabled:
            POOL.fill(self.pool_size, self._routes)

    async def acquire(self, network: bool) -> Lease:
        if not self.enabled or not network:
            return Lease()
        lease = POOL.take()
        if lease is None:
            making = asyncio.ensure_future(asyncio.to_thread(new_netns, self._routes))
            try:
                lease = await asyncio.shield(making)
            except asyncio.CancelledError:  # the step was cancelled meanwhile: the namespace goes, not leaks
                making.add_done_callback(lambda f: None if f.cancelled() or f.exception() else POOL.discard(f.result()))
                raise
        self.prime()  # keep the pool warm, off this step's path
        return lease

    def release(self, lease: Lease) -> None:
        if lease.netns:
            POOL.discard(lease)

    # -- the step -------------------------------------------------------------------------------
    def prepare(self, path: Path) -> None:
        """Hand a workspace tree (checked out by the runner) to the step user; symlinks are not followed."""
        if not self.enabled:
            return
        os.lchown(path, self.uid, self.gid)
        for root, dirs, files in os.walk(path):
            for n in itertools.chain(dirs, files):
                with contextlib.suppress(FileNotFoundError):
                    os.lchown(os.path.join(root, n), self.uid, self.gid)

    def env_fd(self, env: dict[str, str]) -> int:
        """The step's environment as bwrap arguments (`--clearenv --setenv K V …`) in a memfd, read by bwrap
        through `--args FD`: never on a command line (which any local user can read), and never in the
        environment of the tools the runner starts as root (a spec's PATH or LD_PRELOAD must not choose them)."""
        fd = os.memfd_create("maestro-step-env")
        parts = ["--clearenv"]
        for k, v in env.items():
            if k and "=" not in k and "\0" not in k + v:
                parts += ["--setenv", k, v]
        os.write(fd, b"".join(p.encode() + b"\0" for p in parts))
        os.lseek(fd, 0, os.SEEK_SET)
        return fd

    def step_env(self, env: dict[str, str], mounts: StepMounts) -> dict[str, str]:
        """The step's whole environment (sandboxed: handed to bwrap through `env_fd`)."""
        if not self.enabled:
            return {
                "HOME": str(mounts.work.parent),
                "MAESTRO_WORKSPACE": str(mounts.work),
                "MAESTRO_OUTPUT": str(mounts.outputs),
                **env,
            }
        return {
            **env,
            "HOME": STEP_HOME,
            "TMPDIR": "/tmp",  # noqa: S108 - the sandbox's own tmpfs
            "USER": "step",
            "MAESTRO_WORKSPACE": WORK_INSIDE,
            "MAESTRO_OUTPUT": OUTPUTS_INSIDE,
        }

    def argv(self, lease: Lease, mounts: StepMounts, command: list[str], env_fd: int | None = None) -> list[str]:
        """The command line the runner starts (as root, with ROOT_ENV, from `/`); `env_fd` from `env_fd()`."""
        if not self.enabled:
            return command
        tool = self.tools
        stage_work, stage_out = self.state_dir / "work", self.state_dir / "outputs"
        staged: list[str] = [str(mounts.work), str(stage_work), str(mounts.outputs), str(stage_out)]
        bwrap = [
            tool["bwrap"],
            *(["--args", str(env_fd)] if env_fd is not None else ["--clearenv"]),
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--disable-userns",  # no nested user namespaces: less kernel surface for build code
            "--uid",
            str(STEP_UID_INSIDE),
            "--gid",
            str(STEP_UID_INSIDE),
            "--hostname",
            "step",
            *self._root,
        ]
        if not mounts.network:
            bwrap.append("--unshare-net")
        bwrap += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",  # noqa: S108 - a fresh tmpfs, not the host's /tmp
            "--dir",
            STEP_HOME,
        ]
        # after /tmp and HOME, so a toolchain that lives under them stays visible
        for i, p in enumerate(q for q in [*self.toolchains, *mounts.extra_ro] if q.exists()):
            ro = self.state_dir / f"ro-{i}{'' if p.is_dir() else '.file'}"
            if p.is_dir():
                ro.mkdir(mode=0o755, exist_ok=True)
            else:
                ro.touch(mode=0o644, exist_ok=True)
            staged += [str(p), str(ro)]
            bwrap += ["--ro-bind", str(ro), str(p)]
        bwrap += [
            "--bind",
            str(stage_work),
            WORK_INSIDE,
            "--bind",
            str(stage_out),
            OUTPUTS_INSIDE,
            "--chdir",
            WORK_INSIDE,
            "--",
            *command,
        ]
        drop = [
            tool["setpriv"],
            f"--reuid={self.uid}",
            f"--regid={self.gid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
            "--pdeathsig=KILL",  # the uid change cleared the runner's: bubblewrap dies with the runner
        ]
        stage = [tool["sh"], "-c", _STAGE.replace("mount ", f"{tool['mount']} "), "stage", *staged, "--"]
        if lease.netns:
            return [tool["ip"], "netns", "exec", lease.netns, *stage, *drop, *bwrap]
        return [tool["unshare"], "--mount", "--propagation", "private", *stage, *drop, *bwrap]


_NAME = re.compile(rf"^{re.escape(NETNS_PREFIX)}(\d+)-([0-9a-f]{{6}})?(\d+)$")


def cleanup_stale() -> list[str]:
    """Delete the network namespaces (and their slirp4netns) of runners that no longer exist."""
    removed: list[str] = []
    if not NETNS_DIR.is_dir():
        return removed
    for entry in NETNS_DIR.iterdir():
        m = _NAME.match(entry.name)
        if not m:
            continue
        pid = int(m.group(1))
        mine = pid == os.getpid() and m.group(2) == _TOKEN
        if mine or (pid != os.getpid() and Path(f"/proc/{pid}").exists()):
            continue  # this process's own, or a live runner's
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"slirp4netns") and str(entry).encode() in cmd:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(proc.name), signal.SIGKILL)
        subprocess.run([IP, "netns", "del", entry.name], capture_output=True, timeout=30, env=ROOT_ENV)
        removed.append(entry.name)
    if removed:
        log.warning("removed %d step network namespace(s) left by a killed runner: %s", len(removed), ", ".join(removed))
    return removed
