"""Runner activities: check out the source, run a step as a real subprocess, keep its logs and artifacts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import mimetypes
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from opentelemetry import trace
from redis.asyncio import Redis
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar
from temporalio import activity
from temporalio.exceptions import ApplicationError

from maestro.artifacts import Store
from maestro.domain.runs import Artifact, LogChunk, Run, StepExecution
from maestro.domain.types import utcnow
from maestro.events.streams import logs_key
from maestro.pipelines.spec import SBOM_FILE
from maestro.sandbox import ROOT_ENV, SAFE_PATH, StepMounts, StepSandbox, set_pdeathsig
from maestro.shared import ArtifactRef, SourceInput, StepInput, StepOutcome
from maestro.states import TERMINAL_RUN

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.2
FLUSH_LINES = 2000
HEARTBEAT_SECONDS = 1.0
READ_CHUNK = 1 << 16
COLLECT_SECONDS = 300.0
LOG_STREAM_MAXLEN = 20_000
SPOOL_FILE = "log.spool"  # beside (not in) the workspace: every line the runner read, before it is batched
SEEN_EVERY = 10  # heartbeats between updates of an execution's seen_at
OUTPUTS_MAX_BYTES = 65536
KEEP_MARKER = ".keep"  # in a run's workspace directory: the janitor leaves it (the pipeline's keepWorkspace)
JANITOR_SECONDS = 20.0


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _child_setup() -> None:
    os.umask(0o022)  # the runner's own files are private; a build's files get the usual modes
    set_pdeathsig()  # die with the runner (a killed runner must not leave its step running unsupervised)


def sbom_argv(with_: dict[str, Any]) -> list[str]:
    """`uses: sbom` runs Maestro's own SBOM generator with Maestro's interpreter (bound read-only into
    the sandbox); an interpreter the spec names (`python:`) is only ever queried inside the sandbox."""
    args = [sys.executable, "-I", "-m", "maestro.supply.sbom", "--out", SBOM_FILE, *map(str, with_.get("files", ["."]))]
    if with_.get("python"):
        args += ["--python", str(with_["python"])]
    return args


def maestro_runtime_paths() -> list[Path]:
    """What Maestro's own interpreter needs to run inside a step sandbox: its installation, the venv and
    the `maestro` package — nothing else of the host (never the data dir)."""
    import maestro

    paths = {Path(sys.base_prefix), Path(sys.prefix), Path(maestro.__file__).resolve().parent}
    exe = Path(sys.executable)
    if exe.is_symlink():
        paths.add(exe.resolve().parent.parent)
    return sorted(paths)


def safe_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:120]


@dataclass
class _LogSink:
    """Batches lines to SQL (durable, unique per chunk) and Redis (live)."""

    engine: Engine
    redis: Redis
    run_id: str
    key: str
    attempt: int
    execution: int
    max_lines: int
    max_line_bytes: int
    n: int = 0
    chunk: int = 0
    dropped: int = 0
    buf: list[dict[str, Any]] = field(default_factory=list)
    capped: bool = False
    spool_fd: int | None = None  # every line goes to disk first: a killed runner's lines survive it
    spooled: int = 0  # how many of `buf` are encoded (and on disk) already
    encoded: list[str] = field(default_factory=list)  # the JSON of buf[:spooled]
    flushing: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _line(self, stream: str, text: str) -> dict[str, Any]:
        return {
            "ts": _now(),
            "step": self.key,
            "stream": stream,
            "line": text,
            "n": self.n,
            "attempt": self.attempt,
            "execution": self.execution,
        }

    def add(self, stream: str, text: str) -> None:
        if self.capped:
            self.dropped += 1
            return
        if len(text.encode()) > self.max_line_bytes:
            text = text.encode()[: self.max_line_bytes].decode(errors="ignore") + " …[line truncated]"
        self.n += 1
        self.buf.append(self._line(stream, text))
        if self.n >= self.max_lines:
            self.capped = True
            self.system(f"maestro: log limit of {self.max_lines} lines reached; further output is discarded")

    def system(self, text: str) -> None:
        self.n += 1
        self.buf.append(self._line("system", text))

    def spool(self) -> None:
        """Encode the lines not yet encoded and append them to the spool file (one write: in the page cache
        at once); the live stream reuses the same JSON."""
        if self.spooled >= len(self.buf):
            return
        fresh = [json.dumps(ln) for ln in self.buf[self.spooled :]]
        self.encoded += fresh
        self.spooled = len(self.buf)
        if self.spool_fd is not None:
            with contextlib.suppress(OSError):
                os.write(self.spool_fd, "".join(t + "\n" for t in fresh).encode())

    async def flush(self) -> None:
        async with self.flushing:  # one batch at a time: chunks reach SQL (and readers) in line order
            if not self.buf:
                return
            self.spool()
            lines, encoded, self.buf, self.encoded, self.spooled = self.buf, self.encoded, [], [], 0
            chunk = self.chunk
            self.chunk += 1
            await asyncio.to_thread(write_chunk, self.engine, self.run_id, self.key, self.attempt, self.execution, chunk, lines)
            await publish_lines(self.redis, self.run_id, lines, encoded)


def write_chunk(
    engine: Engine, run_id: str, key: str, attempt: int, execution: int, chunk: int, lines: list[dict[str, Any]]
) -> bool:
    """Store one batch of an execution's lines; False when that chunk was already stored (never twice)."""
    with Session(engine) as s:
        s.add(
            LogChunk(
                run_id=run_id,
                step_key=key,
                attempt=attempt,
                execution=execution,
                chunk=chunk,
                first_line=lines[0]["n"],
                line_count=len(lines),
                lines=lines,
            )
        )
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            return False
    return True


async def publish_lines(redis: Redis, run_id: str, lines: list[dict[str, Any]], encoded: list[str] | None = None) -> None:
    """Lines to the run's live log stream (best effort: the durable log is in SQL)."""
    texts = encoded if encoded is not None else [json.dumps(ln) for ln in lines]
    try:
        pipe = redis.pipeline(transaction=False)
        for ln, text in zip(lines, texts, strict=True):
            pipe.xadd(logs_key(run_id), {"e": _line_event(ln, text)}, maxlen=LOG_STREAM_MAXLEN, approximate=True)
        await pipe.execute()
    except Exception:
        log.warning("live log publish failed", exc_info=True)


def _line_event(ln: dict[str, Any], payload: str) -> str:
    """The stream envelope of a line around its already-encoded JSON (`payload`)."""
    ident = json.dumps(f"{ln['step']}:{ln['attempt']}:{ln.get('execution', 1)}:{ln['n']}")
    head = f'{{"ts": {json.dumps(ln["ts"])}, "type": "log_line", "id": {ident}, "entity": "run"'
    return f'{head}, "payload": {payload}, "traceId": ""}}'


def kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class StepActivities:
    def __init__(
        self,
        *,
        engine: Engine,
        redis: Redis,
        workspace_dir: Path,
        store: Store,
        sandbox: StepSandbox | None = None,
        retention_minutes: int = 0,
        artifact_max_bytes: int = 2 << 30,
        protected: Iterable[Path] = (),
    ) -> None:
        self.engine = engine
        self.redis = redis
        self.workspace_dir = workspace_dir
        self.store = store
        self.sandbox = sandbox or StepSandbox(isolation="none")
        self.retention = timedelta(minutes=retention_minutes)
        self.artifact_max_bytes = artifact_max_bytes
        self.protected = [Path(p) for p in protected]  # never a source: the data dir, the artifact store
        janitor = threading.Thread(target=_janitor, args=(weakref.ref(self),), name="maestro-workspace-janitor", daemon=True)
        janitor.start()

    def sweep(self, now: datetime | None = None) -> list[str]:
        """Remove the workspaces of runs that ended more than the retention ago (never a kept run's)."""
        if not self.workspace_dir.is_dir():
            return []
        now = now or datetime.now(UTC)
        candidates = [p for p in self.workspace_dir.iterdir() if p.is_dir() and not (p / KEEP_MARKER).exists()]
        if not candidates:
            return []
        with Session(self.engine) as s:
            rows = s.exec(select(Run.id, Run.status, Run.finished_at).where(col(Run.id).in_([p.name for p in candidates]))).all()
        removed: list[str] = []
        for run_id, status, finished_at in rows:
            if status not in TERMINAL_RUN or finished_at is None:
                continue
            if finished_at.tzinfo is None:
                finished_at = finished_at.replace(tzinfo=UTC)
            if now - finished_at >= self.retention:
                shutil.rmtree(self.workspace_dir / run_id, ignore_errors=True)
                removed.append(run_id)
        return removed

    # -- source ------------------------------------------------------------------------------
    def _cache_dir(self, run_id: str) -> Path:
        return self.workspace_dir / run_id / "_source"

    @activity.defn(name="resolve_source")
    async def resolve_source(self, inp: SourceInput) -> str:
        """Clone the run's source once on this runner and return the commit the ref points to."""
        cache = self._cache_dir(inp.run_id)
        url = inp.url[len("file://") :] if inp.url.startswith("file://") else inp.url
        if "://" not in url and ":" not in url.split("/", 1)[0]:  # a path on this runner, read as root
            local = Path(url).resolve()
            for private in [self.workspace_dir, *self.protected]:
                if local == private.resolve() or private.resolve() in local.parents:
                    raise ApplicationError(
                        f"source {inp.url} is inside the runner's private data ({private}); use a repository URL",
                        type="SourceError",
                        non_retryable=True,
                    )

        def work() -> str:
            if not (cache / ".git").is_dir():
                shutil.rmtree(cache, ignore_errors=True)
                cache.parent.mkdir(parents=True, exist_ok=True)
                r = subprocess.run(
                    ["git", "clone", "--quiet", "--no-checkout", url, str(cache)], capture_output=True, text=True, timeout=600
                )
                if r.returncode != 0:
                    raise ApplicationError(
                        f"git clone {inp.url} failed: {r.stderr.strip()[-500:]}", type="SourceError", non_retryable=True
                    )
            r = subprocess.run(
                ["git", "-C", str(cache), "rev-parse", "--verify", f"{inp.ref}^{{commit}}"],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if r.returncode != 0:
                r2 = subprocess.run(
                    ["git", "-C", str(cache), "rev-parse", "--verify", f"origin/{inp.ref}^{{commit}}"],
                    capture_output=True,
                    text=True,
                )
                if r2.returncode != 0:
                    raise ApplicationError(f"ref {inp.ref!r} not found in {inp.url}", type="SourceError", non_retryable=True)
                r = r2
            return r.stdout.strip()

        return await asyncio.to_thread(work)

    def _checkout(self, run_id: str, url: str, commit: str, dest: Path) -> None:
        cache = self._cache_dir(run_id)
        src = str(cache) if (cache / ".git").is_dir() else (url[7:] if url.startswith("file://") else url)
        r = subprocess.run(
            # a full copy: the sandbox cannot see the runner's cache (so no alternates into it), and the step
            # user must not own the cache's objects (so no hard links)
            ["git", "clone", "--quiet", "--no-hardlinks", "--no-checkout", src, str(dest)],
            capture_output=True,
            text=True,
        )
        if r.returncode == 0:
            r = subprocess.run(
                ["git", "-C", str(dest), "checkout", "--quiet", "--detach", commit], capture_output=True, text=True
            )
        if r.returncode != 0:
            raise ApplicationError(
                f"checkout of {commit[:12]} failed: {r.stderr.strip()[-500:]}", type="SourceError", non_retryable=True
            )

    # -- step ----------------------------------------------------------------------------------
    @activity.defn(name="run_step")
    async def run_step(self, inp: StepInput) -> StepOutcome:
        info = activity.info()
        span = trace.get_current_span()  # the Temporal tracing interceptor's RunActivity span
        span.set_attribute("maestro.run_id", inp.run_id)
        span.set_attribute("maestro.step", inp.key)
        span.set_attribute("maestro.attempt", inp.attempt)
        sink = _LogSink(
            self.engine, self.redis, inp.run_id, inp.key, inp.attempt, info.attempt, inp.log_max_lines, inp.log_max_line_bytes
        )
        execution = info.attempt
        # only a re-execution can find its attempt already finished: the first one skips the lookup
        finished = await asyncio.to_thread(self._finished_outcome, inp) if execution > 1 else None
        if finished is not None:  # it ran to its end, but the completion never reached Temporal
            sink.system(
                f"maestro: execution {finished.execution} of this step finished (exit code {finished.exit_code}) before "
                "its completion was recorded; it is not run again"
            )
            await sink.flush()
            return finished
        await asyncio.to_thread(self._begin, inp, execution)
        # heartbeats come from their own task for the whole activity (checkout, execution, artifact
        # upload): log volume cannot starve them, so a live execution is never given up and re-run
        beat = asyncio.create_task(_heartbeat(sink, lambda: self._seen(inp, execution)))
        try:
            outcome = await self._execute(inp, execution, sink, span)
            # durable before Temporal hears of it: a completion lost on the way is found by the next execution
            await asyncio.to_thread(self._finish, inp, outcome)
            return outcome
        finally:
            beat.cancel()
            with contextlib.suppress(BaseException):
                await beat
            if sink.spool_fd is not None:
                os.close(sink.spool_fd)

    # -- executions ------------------------------------------------------------------------------
    def _finished_outcome(self, inp: StepInput) -> StepOutcome | None:
        with Session(self.engine) as s:
            row = s.exec(_executions_of(inp).where(col(StepExecution.outcome).is_not(None))).first()
        if row is None or not row.outcome:
            return None
        data = dict(row.outcome)
        data["artifacts"] = [ArtifactRef(**a) for a in data.get("artifacts", [])]
        return StepOutcome(**data)

    def _begin(self, inp: StepInput, execution: int) -> None:
        reason = "first execution" if execution == 1 else f"the runner of execution {execution - 1} was lost"
        with Session(self.engine) as s:
            s.add(
                StepExecution(
                    run_id=inp.run_id,
                    step_key=inp.key,
                    attempt=inp.attempt,
                    execution=execution,
                    host=socket.gethostname(),
                    isolation=self.sandbox.isolation,
                    reason=reason,
                )
            )
            try:
                s.commit()
            except IntegrityError:
                s.rollback()

    def _execution_row(self, s: Session, inp: StepInput, execution: int) -> StepExecution | None:
        return s.exec(_executions_of(inp).where(StepExecution.execution == execution)).first()

    def _seen(self, inp: StepInput, execution: int) -> None:
        with Session(self.engine) as s:
            s.exec(  # type: ignore[call-overload]
                update(StepExecution)
                .where(
                    col(StepExecution.run_id) == inp.run_id,
                    col(StepExecution.step_key) == inp.key,
                    col(StepExecution.attempt) == inp.attempt,
                    col(StepExecution.execution) == execution,
                )
                .values(seen_at=utcnow())
            )
            s.commit()

    def _finish(self, inp: StepInput, outcome: StepOutcome) -> None:
        with Session(self.engine) as s:
            row = self._execution_row(s, inp, outcome.execution)
            if row is None:
                return
            row.finished_at = row.seen_at = utcnow()
            row.exit_code = outcome.exit_code
            row.duration_ms = outcome.duration_ms
            row.log_lines = outcome.log_lines
            row.outcome = asdict(outcome)
            s.add(row)
            s.commit()

    async def _recover_lost_lines(self, inp: StepInput, execution: int, sink: _LogSink) -> None:
        """Ship what earlier executions of this attempt spooled on this host but never got into SQL."""
        for k in range(1, execution):
            spool = self.workspace_dir / inp.run_id / f"{safe_name(inp.key)}.{inp.attempt}.{k}" / SPOOL_FILE
            shipped = await asyncio.to_thread(_ship_spool, self.engine, inp, k, spool)
            if shipped:
                sink.system(f"maestro: recovered {len(shipped)} line(s) that execution {k} printed before its runner was lost")
                await publish_lines(self.redis, inp.run_id, shipped)

    async def _execute(self, inp: StepInput, execution: int, sink: _LogSink, span: Any) -> StepOutcome:
        base = self.workspace_dir / inp.run_id / f"{safe_name(inp.key)}.{inp.attempt}.{execution}"
        await asyncio.to_thread(shutil.rmtree, base, True)
        work = base / "work"
        work.mkdir(parents=True, mode=0o700)
        if inp.keep_workspace:
            (self.workspace_dir / inp.run_id / KEEP_MARKER).touch()
        out_file = base / "outputs.env"
        out_file.touch(mode=0o600)
        sink.spool_fd = os.open(base / SPOOL_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if execution > 1:
            sink.system(f"maestro: the previous runner of this step was lost; running it again (execution {execution})")
            await self._recover_lost_lines(inp, execution, sink)
        started = _now()
        t0 = time.monotonic()
        if inp.source_url and inp.commit:
            await asyncio.to_thread(self._checkout, inp.run_id, inp.source_url, inp.commit, work)
            sink.system(f"maestro: checked out {inp.commit[:12]}")
        sandbox = self.sandbox
        await asyncio.to_thread(sandbox.prepare, base)
        env = {
            "PATH": SAFE_PATH,
            "LANG": "C.UTF-8",
            "CI": "true",
            "MAESTRO_RUN_ID": inp.run_id,
            "MAESTRO_STEP": inp.key,
            "MAESTRO_ATTEMPT": str(inp.attempt),
            "MAESTRO_EXECUTION": str(execution),
            **inp.env,
        }
        mounts = StepMounts(work=work, outputs=out_file, network=inp.network)
        if inp.builtin == "sbom":
            argv = sbom_argv(inp.with_)
            mounts.extra_ro = maestro_runtime_paths()
        else:
            argv = ["bash", "-eo", "pipefail", "-c", inp.command]
        lease = await sandbox.acquire(inp.network)
        env_fd = sandbox.env_fd(sandbox.step_env(env, mounts)) if sandbox.enabled else None
        try:
            proc = await asyncio.create_subprocess_exec(
                *sandbox.argv(lease, mounts, argv, env_fd),
                # sandboxed, what runs as root gets a fixed environment and starts from `/`: the spec's env
                # (PATH, LD_PRELOAD…) and workspace never choose the tools that build the sandbox
                cwd="/" if sandbox.enabled else work,
                env=ROOT_ENV if sandbox.enabled else sandbox.step_env(env, mounts),
                pass_fds=(env_fd,) if env_fd is not None else (),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_child_setup,
            )
        finally:
            if env_fd is not None:
                os.close(env_fd)
        try:
            code, timed_out = await self._supervise(proc, sink, t0 + inp.timeout_s)
        finally:
            sandbox.release(lease)
        message = ""
        if timed_out:
            message = f"timed out after {inp.timeout_s}s; process group killed"
            sink.system(f"maestro: step {message}")
        elif sink.dropped:
            sink.system(f"maestro: {sink.dropped} further lines were discarded (log limit)")
        outputs = _read_outputs(out_file)
        artifacts: list[ArtifactRef] = []
        if not timed_out and inp.artifacts:  # failed steps keep theirs too: test reports matter most then
            artifacts = await asyncio.to_thread(self._collect, inp, work, time.monotonic() + COLLECT_SECONDS, sink)
            for a in artifacts:
                sink.system(f"maestro: artifact {a.path} sha256:{a.sha256} ({a.size} bytes)")
            if not artifacts:
                sink.system(f"maestro: no file matched the artifact globs {inp.artifacts}")
        await sink.flush()
        span.set_attribute("maestro.exit_code", -1 if code is None or timed_out else code)
        span.set_attribute("maestro.log_lines", sink.n)
        return StepOutcome(
            exit_code=None if timed_out else code,
            timed_out=timed_out,
            outputs=outputs,
            artifacts=artifacts,
            log_lines=sink.n,
            started_at=started,
            finished_at=_now(),
            duration_ms=int((time.monotonic() - t0) * 1000),
            message=message,
            isolation=sandbox.isolation,
            execution=execution,
        )

    async def _supervise(self, proc: asyncio.subprocess.Process, sink: _LogSink, deadline: float) -> tuple[int | None, bool]:
        """Pump the step's output into the log sink until it exits, times out or is cancelled."""
        assert proc.stdout is not None and proc.stderr is not None
        pumps = asyncio.gather(_pump(proc.stdout, "stdout", sink), _pump(proc.stderr, "stderr", sink))
        timed_out = False
        try:
            while True:
                try:
                    await asyncio.wait_for(asyncio.shield(proc.wait()), FLUSH_SECONDS)
                    break
                except TimeoutError:
                    pass
                if sink.buf:
                    await sink.flush()
                if time.monotonic() > deadline:
                    timed_out = True
                    kill_group(proc)
                    await proc.wait()
                    break
            await pumps
        except asyncio.CancelledError:
            kill_group(proc)
            await proc.wait()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pumps, 5)
            sink.system("maestro: step cancelled; its process group was killed")
            await sink.flush()
            raise
        if not self.sandbox.enabled:  # unsandboxed, background children may outlive the step: end its group
            kill_group(proc)
        # sandboxed, the pid namespace ended with the step: nothing to reap
        return proc.returncode, timed_out

    def _collect(self, inp: StepInput, work: Path, deadline: float, sink: _LogSink) -> list[ArtifactRef]:
        out: list[ArtifactRef] = []
        for match in match_artifacts(work, inp.artifacts, deadline):
            p = work / match
            size = os.lstat(p).st_size
            if size > self.artifact_max_bytes:
                limit = self.artifact_max_bytes
                sink.system(f"maestro: artifact {match} is {size} bytes, over MAESTRO_ARTIFACT_MAX_BYTES ({limit}); not kept")
                continue
            digest, size = self.store.put_file(p)
            media = mimetypes.guess_type(match)[0] or "application/octet-stream"
            with Session(self.engine, expire_on_commit=False) as s:
                a = Artifact(
                    run_id=inp.run_id,
                    step_key=inp.key,
                    path=match,
                    sha256=digest,
                    size=size,
                    media_type=media,
                    uri=self.store.uri_of(digest),
                )
                s.add(a)
                try:
                    s.commit()
                except IntegrityError:  # a lost runner already stored it: keep the first row
                    s.rollback()
                    a = s.exec(
                        select(Artifact).where(
                            Artifact.run_id == inp.run_id, Artifact.step_key == inp.key, Artifact.path == match
                        )
                    ).one()
            out.append(ArtifactRef(id=a.id, path=match, sha256=digest, size=size))
        return out


def _janitor(ref: weakref.ref[StepActivities]) -> None:
    """Every JANITOR_SECONDS, as long as the runner's activities exist: remove finished runs' workspaces."""
    while (me := ref()) is not None:
        try:
            removed = me.sweep()
            if removed:
                log.info("removed the workspaces of %d finished run(s)", len(removed))
        except Exception:
            log.warning("workspace janitor failed", exc_info=True)
        del me
        time.sleep(JANITOR_SECONDS)


def disk_usage(path: Path) -> int:
    """Bytes under `path` (files as stored, symlinks not followed)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
    return total


async def _heartbeat(sink: _LogSink, seen: Callable[[], None]) -> None:
    """Temporal's heartbeat every second; the execution's `seen_at` every SEEN_EVERY beats."""
    beats = 0
    while True:
        activity.heartbeat(sink.n)
        if beats % SEEN_EVERY == 0:
            try:
                await asyncio.to_thread(seen)
            except Exception:
                log.warning("could not record the execution as alive", exc_info=True)
        beats += 1
        await asyncio.sleep(HEARTBEAT_SECONDS)


def _executions_of(inp: StepInput) -> SelectOfScalar[StepExecution]:
    return select(StepExecution).where(
        StepExecution.run_id == inp.run_id, StepExecution.step_key == inp.key, StepExecution.attempt == inp.attempt
    )


def _ship_spool(engine: Engine, inp: StepInput, execution: int, spool: Path) -> list[dict[str, Any]]:
    try:
        raw = spool.read_bytes()
    except OSError:
        return []
    lines: list[dict[str, Any]] = []
    for text in raw.decode(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(text))
    with Session(engine) as s:
        chunks = s.exec(
            select(LogChunk).where(
                LogChunk.run_id == inp.run_id,
                LogChunk.step_key == inp.key,
                LogChunk.attempt == inp.attempt,
                LogChunk.execution == execution,
            )
        ).all()
        last_n = max((c.first_line + c.line_count - 1 for c in chunks), default=0)
        next_chunk = max((c.chunk for c in chunks), default=-1) + 1
    missing = [ln for ln in lines if isinstance(ln, dict) and int(ln.get("n", 0)) > last_n]
    if not missing or not write_chunk(engine, inp.run_id, inp.key, inp.attempt, execution, next_chunk, missing):
        return []  # nothing lost, or another execution shipped them first
    return missing


async def _pump(stream: asyncio.StreamReader, name: str, sink: _LogSink) -> None:
    """Read in chunks (never a whole line at once: a 10 MB line is cut once, with its marker) and yield
    to the event loop after each chunk, so a flood of output cannot starve flushing or heartbeats."""
    partial = bytearray()
    overflow = False  # the current line is already past the per-line limit: skip to its end
    limit = sink.max_line_bytes
    while True:
        chunk = await stream.read(READ_CHUNK)
        if not chunk:
            break
        if sink.capped:  # past the cap: only count (a pending partial line ends at the next newline)
            sink.dropped += chunk.count(b"\n")
            partial.clear()
            await asyncio.sleep(0)
            continue
        start = 0
        while start < len(chunk):
            nl = chunk.find(b"\n", start)
            piece = chunk[start : nl if nl >= 0 else len(chunk)]
            if not overflow:
                partial += piece
                if len(partial) > limit:  # the sink cuts it, once, with its marker; the rest of the line is skipped
                    sink.add(name, bytes(partial).decode(errors="ignore"))
                    partial.clear()
                    overflow = True
            if nl < 0:
                break
            if not overflow:
                sink.add(name, partial.decode(errors="replace").rstrip("\r"))
            partial.clear()
            overflow = False
            start = nl + 1
        sink.spool()
        if len(sink.buf) >= FLUSH_LINES:  # a flood is shipped as it comes, not held in memory until the next tick
            await sink.flush()
        await asyncio.sleep(0)
    if partial and not overflow:
        sink.add(name, partial.decode(errors="replace"))


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over workspace-relative paths: `**` spans directories, `*`/`?` stay in one."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                out.append(re.escape(c))
                i += 1
                continue
            body = pattern[i + 1 : j]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z", re.S)


def match_artifacts(work: Path, patterns: list[str], deadline: float) -> list[str]:
    """Regular files under the workspace matching the globs. The walk never follows a symlink (a link
    to `/` is not a way out of the workspace), links are never collected, and it stops at `deadline`."""
    regexes = [_glob_regex(p) for p in patterns]
    files_seen: list[str] = []
    for root, dirs, files in os.walk(work, followlinks=False):
        if time.monotonic() > deadline:
            activity.logger.warning("artifact walk stopped at its deadline in %s", root)
            break
        rel_root = os.path.relpath(root, work)
        dirs.sort()
        for name in sorted(files):
            rel = name if rel_root == "." else f"{rel_root}/{name}"
            if any(r.match(rel) for r in regexes) and stat.S_ISREG(os.lstat(os.path.join(root, name)).st_mode):
                files_seen.append(rel)
    files_seen.sort()
    found: dict[str, None] = {}  # in the order of the globs, each glob's matches sorted, each file once
    for rx in regexes:
        found.update((rel, None) for rel in files_seen if rx.match(rel))
    return list(found)


_OUT_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]{0,63})=(.*)$")


def _read_outputs(path: Path) -> dict[str, str]:
    """The step's outputs file: at most OUTPUTS_MAX_BYTES are read (a step may make it sparse and huge)."""
    out: dict[str, str] = {}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            text = os.read(fd, OUTPUTS_MAX_BYTES).decode(errors="replace")
        finally:
            os.close(fd)
    except OSError:
        return out
    for line in text.splitlines():
        m = _OUT_LINE.match(line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out
