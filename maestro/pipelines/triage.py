"""Failure triage: what a failed run's header shows — the failing step, its exit code and the last
lines it wrote to stderr (read from the durable log in SQL)."""

from __future__ import annotations

from pydantic import Field
from sqlmodel import Session, col, func, select

from maestro.domain.runs import LogChunk, Run, StepRun
from maestro.states import RunStatus, StepStatus
from maestro.wire import ApiModel

STDERR_TAIL_LINES = 10
# How far back from the end of the failing attempt's log the stderr tail is looked for: a step that
# flooded stdout after its last stderr line is not read whole (its log may hold 100k lines).
TAIL_SCAN_LINES = 20_000


class FailureLine(ApiModel):
    n: int = Field(description="Line number within the step attempt's log (permalink #L<step>-<n>).")
    line: str


class RunFailure(ApiModel):
    """Why a failed run failed: its first failed step (in pipeline order) and that step's last stderr lines."""

    step: str = Field(description="Key of the first failed step.")
    step_name: str
    attempt: int = Field(description="The failed attempt (the step's last).")
    execution: int = Field(1, description="The runner execution of that attempt whose log the tail is from.")
    exit_code: int | None = Field(description="Its exit code; null when it never exited (timeout, lost, rejected).")
    message: str = Field(description="What the runner or workflow said about it.")
    stderr_tail: list[FailureLine] = Field(
        description=f"The attempt's last (up to {STDERR_TAIL_LINES}) stderr lines, oldest first, "
        f"found within its last {TAIL_SCAN_LINES} log lines."
    )
    also_failed: list[str] = Field(default_factory=list, description="Keys of the other failed steps, in pipeline order.")


def stderr_tail(
    s: Session, *, run_id: str, step_key: str, attempt: int, lines: int = STDERR_TAIL_LINES, scan: int = TAIL_SCAN_LINES
) -> tuple[int, list[FailureLine]]:
    """The last ``lines`` stderr lines of a step attempt's latest runner execution, oldest first, read
    chunk by chunk from the end (at most ``scan`` lines); returns (execution, lines)."""
    execution = s.exec(
        select(func.max(LogChunk.execution)).where(
            LogChunk.run_id == run_id, LogChunk.step_key == step_key, LogChunk.attempt == attempt
        )
    ).one()
    if execution is None:
        return 1, []
    stmt = (
        select(LogChunk)
        .where(LogChunk.run_id == run_id, LogChunk.step_key == step_key)
        .where(LogChunk.attempt == attempt, LogChunk.execution == execution)
        .order_by(col(LogChunk.chunk).desc())
    )
    found: list[FailureLine] = []
    scanned = 0
    for chunk in s.exec(stmt.execution_options(yield_per=20)):
        for ln in reversed(chunk.lines):
            if ln.get("stream") == "stderr":
                found.append(FailureLine(n=int(ln["n"]), line=str(ln["line"])))
                if len(found) >= lines:
                    return execution, found[::-1]
        scanned += chunk.line_count
        if scanned >= scan:
            break
    return execution, found[::-1]


def run_failure(s: Session, *, run: Run, steps: list[StepRun]) -> RunFailure | None:
    """The failure summary of a failed run; None for any other run, or a failed run none of whose
    steps failed (refused at admission, source checkout failed: its ``error`` says why)."""
    if run.status != RunStatus.failed:
        return None
    failed = sorted((x for x in steps if x.status == StepStatus.failed), key=lambda x: (x.position, x.key))
    if not failed:
        return None
    first = failed[0]
    execution, tail = stderr_tail(s, run_id=run.id, step_key=first.key, attempt=max(first.attempt, 1))
    return RunFailure(
        step=first.key,
        step_name=first.name,
        attempt=max(first.attempt, 1),
        execution=execution,
        exit_code=first.exit_code,
        message=first.message,
        stderr_tail=tail,
        also_failed=[x.key for x in failed[1:]],
    )
