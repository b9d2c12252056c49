"""The state module: statuses are defined once, and a finished run never moves again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis
from sqlmodel import Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from maestro.activities.projection import ProjectionActivities
from maestro.config import Settings
from maestro.domain.runs import Run
from maestro.domain.types import utcnow
from maestro.shared import ProjectionBatch, ProjectionItem, RunUpdate
from maestro.states import RunStatus, rollout_transition, run_transition
from tests.factories import make_runs


def _project(acts: ProjectionActivities, run_id: str, status: str, error: str | None = None) -> None:
    upd = RunUpdate(run_id=run_id, status=status, at=utcnow().isoformat(), error=error)
    ActivityEnvironment().run(acts.project_batch, ProjectionBatch(run_id=run_id, items=[ProjectionItem(run=upd)]))


def test_a_late_update_never_moves_a_finished_run(engine, migrated: Settings) -> None:  # type: ignore[no-untyped-def]
    acts = ProjectionActivities(engine=engine, redis=redis.Redis.from_url(migrated.redis_url))
    [run_id] = make_runs(engine, ["dev"])
    _project(acts, run_id, "running")
    _project(acts, run_id, "cancelled", error="cancelled by ada: wrong branch")
    _project(acts, run_id, "running")  # late, out of order
    _project(acts, run_id, "succeeded")
    with Session(engine) as s:
        run = s.get(Run, run_id)
        assert run is not None and run.status == "cancelled" and run.error == "cancelled by ada: wrong branch"


def test_a_batch_for_a_missing_run_fails_for_good_instead_of_retrying_forever(engine, migrated: Settings) -> None:  # type: ignore[no-untyped-def]
    acts = ProjectionActivities(engine=engine, redis=redis.Redis.from_url(migrated.redis_url))
    with pytest.raises(ApplicationError) as err:
        _project(acts, "no-such-run", "running")
    assert err.value.non_retryable and err.value.type == "RunMissing"


def test_transitions() -> None:
    assert run_transition("queued", "running") and run_transition("running", "failed")
    assert run_transition("failed", "failed") and not run_transition("failed", "running")
    assert not run_transition(RunStatus.error, RunStatus.succeeded)
    assert rollout_transition("paused", "running") and not rollout_transition("rolled_back", "running")


def test_statuses_are_defined_only_in_the_state_module() -> None:
    """No other module spells out a set of statuses (they drift apart: a run 'error' was once not terminal here)."""
    pattern = re.compile(r"""[({]\s*["'](succeeded|failed|running|paused|rolled_back|queued)["']\s*,\s*["'][a-z_]+["']""")
    root = Path(__file__).resolve().parents[1] / "maestro"
    offenders = [
        f"{p.relative_to(root)}:{n}"
        for p in root.rglob("*.py")
        if p.name != "states.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
