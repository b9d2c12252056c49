"""Every status in Maestro and how it may change — the only place statuses are defined.

Pure (no I/O, no SQL): workflows import it inside their sandbox, projections and routes use the
same sets. A status in a terminal set never changes again: ``run_transition`` and
``rollout_transition`` say whether an update may apply, so a late or out-of-order projection can
never move a finished run or rollout.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    waiting = "waiting"  # an approval gate is open
    paused = "paused"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    error = "error"  # could not start


class StepStatus(StrEnum):
    pending = "pending"
    running = "running"
    waiting = "waiting"
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"
    cancelled = "cancelled"


class RolloutStatus(StrEnum):
    running = "running"
    paused = "paused"
    rolling_back = "rolling_back"  # weight 0 being applied: retried until the traffic provider answers
    succeeded = "succeeded"
    rolled_back = "rolled_back"
    aborted = "aborted"


class EvidenceStatus(StrEnum):
    """A witness bundle being collected (EvidenceWorkflow)."""

    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class AlertState(StrEnum):
    firing = "firing"
    resolved = "resolved"  # may fire again (same fingerprint)


TERMINAL_RUN: frozenset[str] = frozenset({RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled, RunStatus.error})
ACTIVE_RUN: tuple[str, ...] = (RunStatus.queued, RunStatus.running, RunStatus.waiting, RunStatus.paused)
# Runs that reached an outcome of their own (not stopped by someone): what success rates, SLIs and
# failure spikes count.
DECIDED_RUN: tuple[str, ...] = (RunStatus.succeeded, RunStatus.failed)
# A run that ended with these keeps its step outputs (a cancelled one may have some).
OUTPUTS_RUN: frozenset[str] = frozenset({RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled})
# A run whose failed or cancelled steps can be run again (rerun-failed).
RERUNNABLE_RUN: frozenset[str] = frozenset({RunStatus.failed, RunStatus.cancelled})
# What a witness bundle can be made of: an ended run that ran.
EVIDENCE_RUN: frozenset[str] = frozenset({RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled})

TERMINAL_STEP: frozenset[str] = frozenset({StepStatus.succeeded, StepStatus.failed, StepStatus.skipped, StepStatus.cancelled})

TERMINAL_ROLLOUT: frozenset[str] = frozenset({RolloutStatus.succeeded, RolloutStatus.rolled_back, RolloutStatus.aborted})
ACTIVE_ROLLOUT: tuple[str, ...] = (RolloutStatus.running, RolloutStatus.paused, RolloutStatus.rolling_back)
# Ended without reaching 100%: the release did not happen.
STOPPED_ROLLOUT: frozenset[str] = frozenset({RolloutStatus.rolled_back, RolloutStatus.aborted})


def run_transition(current: str, new: str) -> bool:
    """Whether a run in ``current`` may move to ``new``: anything until it ends, nothing after."""
    return current == new or current not in TERMINAL_RUN


def rollout_transition(current: str, new: str) -> bool:
    """Whether a rollout in ``current`` may move to ``new``: anything until it ends, nothing after."""
    return current == new or current not in TERMINAL_ROLLOUT
