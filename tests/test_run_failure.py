"""Failure triage: a failed run's detail names its failing step, the exit code and the last stderr lines."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from maestro.domain.runs import LogChunk
from maestro.pipelines.triage import stderr_tail
from tests.factories import login, make_runs
from tests.test_runs import logs, register, start, wait_run


def test_a_failed_run_names_its_step_exit_code_and_last_stderr_lines(client: TestClient, workers) -> None:  # type: ignore[no-untyped-def]
    caller = login(client)
    name = f"triage-{uuid.uuid4().hex[:6]}"
    spec = f"""
name: {name}
steps:
  - id: fine
    run: echo fine
  - id: build
    retries: 1
    run: |
      for i in $(seq 1 15); do echo "err $i of attempt $MAESTRO_ATTEMPT" >&2; echo "out $i"; done
      exit 3
  - id: lint
    run: echo "lint broke" >&2; exit 1
"""
    register(caller, spec)
    run = wait_run(caller, start(caller, name)["id"])
    assert run["status"] == "failed", run
    failure = run["failure"]
    assert failure is not None
    assert (failure["step"], failure["stepName"], failure["attempt"], failure["exitCode"]) == ("build", "build", 2, 3)
    assert failure["alsoFailed"] == ["lint"]
    # the last 10 stderr lines of the failed (second) attempt, oldest first, numbered as in the log
    expected = [
        (ln["n"], ln["line"]) for ln in logs(caller, run["id"], step="build") if ln["stream"] == "stderr" and ln["attempt"] == 2
    ][-10:]
    assert [ln for _, ln in expected] == [f"err {i} of attempt 2" for i in range(6, 16)]
    assert [(x["n"], x["line"]) for x in failure["stderrTail"]] == expected

    ok = f"fine-{uuid.uuid4().hex[:6]}"
    register(caller, f"name: {ok}\nsteps:\n- {{id: a, run: echo hi >&2}}\n")
    done = wait_run(caller, start(caller, ok)["id"])
    assert done["status"] == "succeeded" and done["failure"] is None


def _chunk(run_id: str, chunk: int, first: int, lines: list[tuple[str, str]], *, execution: int = 1) -> LogChunk:
    rows: list[dict[str, Any]] = [
        {"ts": "", "step": "build", "stream": stream, "line": text, "n": first + i, "attempt": 1, "execution": execution}
        for i, (stream, text) in enumerate(lines)
    ]
    return LogChunk(
        run_id=run_id,
        step_key="build",
        attempt=1,
        execution=execution,
        chunk=chunk,
        first_line=first,
        line_count=len(rows),
        lines=rows,
    )


def test_the_stderr_tail_comes_from_the_latest_execution_and_a_bounded_scan(engine) -> None:  # type: ignore[no-untyped-def]
    (run_id,) = make_runs(engine, ["dev"])
    with Session(engine) as s:
        assert stderr_tail(s, run_id=run_id, step_key="build", attempt=1) == (1, [])
        s.add(_chunk(run_id, 0, 1, [("stderr", "lost runner said this")]))
        s.add(_chunk(run_id, 0, 1, [("stderr", "early"), ("stdout", "x"), ("system", "maestro: note")], execution=2))
        s.add(_chunk(run_id, 1, 4, [("stdout", f"o{i}") for i in range(50)], execution=2))
        s.add(_chunk(run_id, 2, 54, [("stderr", "late 1"), ("stdout", "y"), ("stderr", "late 2")], execution=2))
        s.commit()
        execution, tail = stderr_tail(s, run_id=run_id, step_key="build", attempt=1)
        assert execution == 2
        assert [(x.n, x.line) for x in tail] == [(1, "early"), (54, "late 1"), (56, "late 2")]
        _, tail = stderr_tail(s, run_id=run_id, step_key="build", attempt=1, lines=2)
        assert [x.line for x in tail] == ["late 1", "late 2"]
        # a flood of stdout after the early line: the scan stops before reading the whole log
        _, tail = stderr_tail(s, run_id=run_id, step_key="build", attempt=1, scan=40)
        assert [x.line for x in tail] == ["late 1", "late 2"]
