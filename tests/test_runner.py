"""The runner's own guarantees, driven through Temporal's activity test environment against real SQL and Redis:
a finished step whose completion never reached Temporal is not run again, and lines a lost runner had read are
shipped by the next execution on the host."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlmodel import Session, delete, select
from temporalio.testing import ActivityEnvironment

from maestro.activities.steps import StepActivities
from maestro.artifacts import make_store
from maestro.config import Settings
from maestro.db import get_engine
from maestro.domain.runs import LogChunk, StepExecution
from maestro.shared import StepInput
from maestro.workers.runner import make_sandbox


def step(command: str) -> StepInput:
    return StepInput(
        run_id="r" * 32,
        key="build",
        attempt=1,
        command=command,
        env={},
        timeout_s=60,
        artifacts=[],
        source_url=None,
        commit=None,
        log_max_lines=1000,
        log_max_line_bytes=1000,
    )


def execution(n: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=n)
    return env


def lines(settings: Settings, execution: int) -> list[tuple[int, str]]:
    with Session(get_engine(settings.effective_database_url)) as s:
        chunks = s.exec(select(LogChunk).where(LogChunk.execution == execution).order_by(LogChunk.chunk)).all()
    return [(ln["n"], ln["line"]) for c in chunks for ln in c.lines]


@pytest.fixture
def runner(migrated: Settings, tmp_path: Path) -> StepActivities:
    return StepActivities(
        engine=get_engine(migrated.effective_database_url),
        redis=Redis.from_url(migrated.effective_redis_url),
        workspace_dir=tmp_path / "workspaces",
        store=make_store(migrated),
        sandbox=make_sandbox(migrated),
    )


async def test_a_finished_step_whose_completion_was_lost_is_not_run_again(runner: StepActivities, migrated: Settings) -> None:
    first = await execution(1).run(runner.run_step, step("echo built; echo v=1 >> $MAESTRO_OUTPUT"))
    assert first.exit_code == 0 and first.outputs == {"v": "1"} and first.execution == 1
    # Temporal never heard of it (say `maestro up` was killed): it schedules execution 2
    again = await execution(2).run(runner.run_step, step("echo built; echo v=1 >> $MAESTRO_OUTPUT"))
    assert again == first  # the recorded outcome, not a new run
    assert [t for _, t in lines(migrated, 2)] == [
        "maestro: execution 1 of this step finished (exit code 0) before its completion was recorded; it is not run again"
    ]
    assert [t for _, t in lines(migrated, 1)] == ["built"]


async def test_lines_a_lost_runner_had_read_are_shipped_by_the_next_execution(runner: StepActivities, migrated: Settings) -> None:
    await execution(1).run(runner.run_step, step("seq 1 30"))
    engine = get_engine(migrated.effective_database_url)
    with Session(engine) as s:  # as if the runner died after reading the lines, before shipping or finishing
        s.exec(delete(LogChunk))  # type: ignore[call-overload]
        row = s.exec(select(StepExecution)).one()
        row.outcome, row.finished_at = None, None
        s.add(row)
        s.commit()
    await execution(2).run(runner.run_step, step("echo second"))
    assert lines(migrated, 1) == [(i, str(i)) for i in range(1, 31)]  # every line once, from the spool
    second = [t for _, t in lines(migrated, 2)]
    assert "maestro: recovered 30 line(s) that execution 1 printed before its runner was lost" in second
    assert second[-1] == "second"
    with Session(engine) as s:
        runs = s.exec(select(StepExecution).order_by(StepExecution.execution)).all()
    assert [(r.execution, r.finished_at is not None) for r in runs] == [(1, False), (2, True)]
    assert runs[1].reason == "the runner of execution 1 was lost"
