"""Runner activities: check out the source, run a step as a real subprocess, keep its logs and artifacts."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import glob
import mimetypes
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from opentelemetry import trace
from redis.asyncio import Redis
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from maestro.artifacts import Store
from maestro.domain.runs import Artifact, LogChunk
from maestro.events.streams import stream_key
from maestro.pipelines.spec import SBOM_FILE
from maestro.shared import ArtifactRef, SourceInput, StepInput, StepOutcome

SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
FLUSH_SECONDS = 0.2
FLUSH_LINES = 500
LOG_STREAM_MAXLEN = 20_000


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _child_setup() -> None:
    # die with the runner (a killed runner must not leave its step running unsupervised)
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def sbom_command(with_: dict[str, Any]) -> str:
    """`uses: sbom` runs this runner's own SBOM generator (the step's PATH does not need to have it)."""
    args = [sys.executable, "-I", "-m", "maestro.supply.sbom", "--out", SBOM_FILE, *map(str, with_.get("files", ["."]))]
    if with_.get("python"):
        args += ["--python", str(with_["python"])]
    return shlex.join(args)


def safe_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key)[:120]


def logs_key(run_id: str) -> str:
    return stream_key(f"logs:{run_id}")


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

    def add(self, stream: str, text: str) -> None:
        if self.capped:
            self.dropped += 1
            return
        if len(text.encode()) > self.max_line_bytes:
            text = text.encode()[: self.max_line_bytes].decode(errors="ignore") + " …[line truncated]"
        self.n += 1
        self.buf.append({"ts": _now(), "step": self.key, "stream": stream, "line": text, "n": self.n, "attempt": self.attempt})
        if self.n >= self.max_lines:
            self.capped = True
            self.n += 1
            self.buf.append(
                {
                    "ts": _now(),
                    "step": self.key,
                    "stream": "system",
                    "line": f"maestro: log limit of {self.max_lines} lines reached; further output is discarded",
                    "n": self.n,
                    "attempt": self.attempt,
                }
            )

    def system(self, text: str) -> None:
        self.n += 1
        self.buf.append({"ts": _now(), "step": self.key, "stream": "system", "line": text, "n": self.n, "attempt": self.attempt})

    def _write_db(self, lines: list[dict[str, Any]], chunk: int) -> None:
        with Session(self.engine) as s:
            s.add(
                LogChunk(
                    run_id=self.run_id,
                    step_key=self.key,
                    attempt=self.attempt,
                    execution=self.execution,
                    chunk=chunk,
                    first_line=lines[0]["n"],
                    line_count=len(lines),
                    lines=lines,
                )
            )
            try:
                s.commit()
            except IntegrityError:  # already written by this execution: never twice
                s.rollback()

    async def flush(self) -> None:
        if not self.buf:
            return
        lines, self.buf = self.buf, []
        chunk = self.chunk
        self.chunk += 1
        await asyncio.to_thread(self._write_db, lines, chunk)
        try:
            pipe = self.redis.pipeline(transaction=False)
            for ln in lines:
                pipe.xadd(logs_key(self.run_id), {"e": _line_event(ln)}, maxlen=LOG_STREAM_MAXLEN, approximate=True)
            await pipe.execute()
        except Exception:  # live view only; the durable log is in SQL
            activity.logger.warning("live log publish failed", exc_info=True)


def _line_event(ln: dict[str, Any]) -> str:
    import json

    return json.dumps(
        {
            "ts": ln["ts"],
            "type": "log_line",
            "id": f"{ln['step']}:{ln['attempt']}:{ln['n']}",
            "entity": "run",
            "payload": ln,
            "traceId": "",
        }
    )


def kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


class StepActivities:
    def __init__(self, *, engine: Engine, redis: Redis, workspace_dir: Path, store: Store) -> None:
        self.engine = engine
        self.redis = redis
        self.workspace_dir = workspace_dir
        self.store = store

    # -- source ------------------------------------------------------------------------------
    def _cache_dir(self, run_id: str) -> Path:
        return self.workspace_dir / run_id / "_source"

    @activity.defn(name="resolve_source")
    async def resolve_source(self, inp: SourceInput) -> str:
        """Clone the run's source once on this runner and return the commit the ref points to."""
        cache = self._cache_dir(inp.run_id)
        url = inp.url[len("file://") :] if inp.url.startswith("file://") else inp.url

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
            ["git", "clone", "--quiet", "--shared", "--no-checkout", src, str(dest)], capture_output=True, text=True
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
        base = self.workspace_dir / inp.run_id / f"{safe_name(inp.key)}.{inp.attempt}.{info.attempt}"
        shutil.rmtree(base, ignore_errors=True)
        work = base / "work"
        work.mkdir(parents=True)
        out_file = base / "outputs.env"
        out_file.touch()
        sink = _LogSink(
            self.engine, self.redis, inp.run_id, inp.key, inp.attempt, info.attempt, inp.log_max_lines, inp.log_max_line_bytes
        )
        if info.attempt > 1:
            sink.system(f"maestro: the previous runner of this step was lost; running it again (execution {info.attempt})")
        started = _now()
        t0 = time.monotonic()
        if inp.source_url and inp.commit:
            await asyncio.to_thread(self._checkout, inp.run_id, inp.source_url, inp.commit, work)
            sink.system(f"maestro: checked out {inp.commit[:12]}")
        env = {
            "PATH": SAFE_PATH,
            "HOME": str(base),
            "LANG": "C.UTF-8",
            "CI": "true",
            "MAESTRO_RUN_ID": inp.run_id,
            "MAESTRO_STEP": inp.key,
            "MAESTRO_ATTEMPT": str(inp.attempt),
            "MAESTRO_WORKSPACE": str(work),
            "MAESTRO_OUTPUT": str(out_file),
            **inp.env,
        }
        proc = await asyncio.create_subprocess_exec(
            "bash",
            "-eo",
            "pipefail",
            "-c",
            sbom_command(inp.with_) if inp.builtin == "sbom" else inp.command,
            cwd=work,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            preexec_fn=_child_setup,
            limit=1 << 20,
        )

        async def pump(stream: asyncio.StreamReader, name: str) -> None:
            while True:
                try:
                    raw = await stream.readline()
                except ValueError:  # a line longer than the reader's limit
                    raw = await stream.read(1 << 20)
                if not raw:
                    return
                sink.add(name, raw.decode(errors="replace").rstrip("\n"))

        assert proc.stdout is not None and proc.stderr is not None
        pumps = asyncio.gather(pump(proc.stdout, "stdout"), pump(proc.stderr, "stderr"))
        timed_out = False
        deadline = t0 + inp.timeout_s
        try:
            while True:
                try:
                    await asyncio.wait_for(asyncio.shield(proc.wait()), FLUSH_SECONDS)
                    break
                except TimeoutError:
                    pass
                activity.heartbeat(sink.n)
                if len(sink.buf) >= 1:
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
        # reap anything the step left behind in its group
        kill_group(proc)
        code = proc.returncode
        message = ""
        if timed_out:
            message = f"timed out after {inp.timeout_s}s; process group killed"
            sink.system(f"maestro: step {message}")
        elif sink.dropped:
            sink.system(f"maestro: {sink.dropped} further lines were discarded (log limit)")
        outputs = _read_outputs(out_file)
        artifacts: list[ArtifactRef] = []
        if not timed_out and inp.artifacts:  # failed steps keep theirs too: test reports matter most then
            artifacts = await asyncio.to_thread(self._collect, inp, work)
            for a in artifacts:
                sink.system(f"maestro: artifact {a.path} sha256:{a.sha256} ({a.size} bytes)")
            if not artifacts:
                sink.system(f"maestro: no file matched the artifact globs {inp.artifacts}")
        await sink.flush()
        span.set_attribute("maestro.exit_code", -1 if code is None or timed_out else code)
        span.set_attribute("maestro.log_lines", sink.n)
        finished = _now()
        return StepOutcome(
            exit_code=None if timed_out else code,
            timed_out=timed_out,
            outputs=outputs,
            artifacts=artifacts,
            log_lines=sink.n,
            started_at=started,
            finished_at=finished,
            duration_ms=int((time.monotonic() - t0) * 1000),
            message=message,
        )

    def _collect(self, inp: StepInput, work: Path) -> list[ArtifactRef]:
        out: list[ArtifactRef] = []
        seen: set[str] = set()
        root = work.resolve()
        for pattern in inp.artifacts:
            for match in sorted(glob.glob(pattern, root_dir=work, recursive=True)):
                p = (work / match).resolve()
                if not p.is_file() or root not in p.parents or match in seen:
                    continue
                seen.add(match)
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


_OUT_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]{0,63})=(.*)$")


def _read_outputs(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = path.read_text(errors="replace")[:65536]
    except OSError:
        return out
    for line in text.splitlines():
        m = _OUT_LINE.match(line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out
