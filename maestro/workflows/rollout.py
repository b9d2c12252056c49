"""RolloutWorkflow: a canary walks its steps (weights, pauses, analyses); controls are Temporal updates.

Weights are set by activities, so a worker restart replays the history without setting any weight
twice. Update names (for `temporal workflow update execute --name …`): pause, resume, promote,
rollback, abort; each takes {"by": …, "reason": …, "full": bool}. Queries: `get_state` (a typed
RolloutState) and `state` (the same as a camelCase object, kept for scripts written against it).
Cancelling the workflow (Temporal UI or `temporal workflow cancel`) aborts the rollout.

Outages never strand traffic on the canary:
- a measurement that cannot be taken (Prometheus or the provider down, a query error) is
  inconclusive: counted against the analysis's inconclusive limit, beyond which the rollout pauses
  for a person — a metrics outage neither rolls back nor promotes by itself;
- updates of the SQL projection (and the alerts and events it sends) go through an outbox that a
  separate coroutine drains in order, retrying until the database answers: traffic decisions never
  wait for SQL, and an outage only delays what the UI shows;
- a weight that cannot be applied, or any other unrecoverable error, rolls the rollout back: weight
  0 is retried until the provider answers, with the rollout `rolling_back` and a RolloutStuck alert
  firing meanwhile, and the reason is recorded.
Long rollouts continue as new (before `continue_after_events` events or when Temporal suggests it),
carrying the state the UI shows; the full history and every analysis stay in SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError, TemporalError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from maestro.rollouts.activities import RolloutActivities
    from maestro.rollouts.types import (
        ApplyInput,
        ControlInput,
        ControlResult,
        GateRolloutInput,
        GateRolloutResult,
        MeasureInput,
        Measurement,
        ProjectInput,
        RolledBackInput,
        RolloutCarry,
        RolloutInput,
        RolloutState,
        Step,
        StuckInput,
        holds,
    )
    from maestro.shared import direct_actor
    from maestro.states import TERMINAL_ROLLOUT
    from maestro.workflows.controls import redeem, require_ticket
    from maestro.workflows.run import NATIVE_CANCEL_ACTOR

QUICK = RetryPolicy(maximum_attempts=10, initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5))
# one try of weight 0 while rolling back: about 6 s of attempts, then RolloutStuck and a longer wait
TRY = RetryPolicy(maximum_attempts=5, initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5))
# setting a weight: about two and a half minutes of tries before the rollout gives up and rolls back
SETTLE = RetryPolicy(maximum_attempts=20, initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))
# the outbox: retried until the database answers (a record the projection refuses is not retried)
PATIENT = RetryPolicy(
    maximum_attempts=0,
    initial_interval=timedelta(milliseconds=500),
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["ValidationError"],
)
V2_PATCH = "rollout-outage-proof-v2"
ANSWER_WITHIN = timedelta(seconds=10)  # a rollback or abort answers by then, finished or `rolling_back`
HISTORY_KEPT = 50  # history entries carried across continue-as-new (the UI reads the rest from SQL)
STUCK_BACKOFF_MAX_S = 60.0


class Stop(Exception):
    """Leave the walk: something could not be done and the rollout must roll back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _cancelled(exc: ActivityError) -> bool:
    """The activity ended because the workflow was cancelled (Temporal UI or CLI), not because it failed."""
    return isinstance(exc.cause, CancelledError)


def _cause(exc: BaseException) -> str:
    """What an activity failure says (its cause's message, not Temporal's wrapper)."""
    while isinstance(exc, ActivityError) and exc.cause is not None:
        exc = exc.cause
    return exc.message if isinstance(exc, TemporalError) and hasattr(exc, "message") else str(exc)


@workflow.defn(name="RolloutWorkflow")
class RolloutWorkflow:
    def __init__(self) -> None:
        self.inp: RolloutInput | None = None
        self.v2 = False  # the outage-proof walk (V2_PATCH); older histories replay the v1 walk
        self.status = "running"
        self.index = 0
        self.weight = 0
        self.paused = False
        self.skip = False  # promote: leave the current step now
        self.full = False  # promote --full: straight to 100
        self.stop: tuple[str, ControlInput] | None = None  # ("rollback"|"abort", who)
        self.failing: str | None = None  # the failing measurement, while an analysis fails
        self.history: list[dict[str, Any]] = []
        self.runs = 1
        # the current analysis step's progress (carried across continue-as-new)
        self.measured = self.failures = self.inconclusive = 0
        self.outbox: list[tuple[str, Any]] = []  # ("project"|"stuck"|"rolled_back", input), drained in order
        self.draining = False
        self.queued = self.sent = 0  # outbox items ever queued / sent (an update waits for its own)
        self.stuck = False  # weight 0 is being retried: the provider does not take it
        self.stuck_tries = 0
        self.passes = 0  # passed measurements of the current analysis step
        self.sequence = 0  # numbers outbox items and weight applications, across continue-as-new

    # ---- main --------------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: RolloutInput) -> str:
        self.inp = inp
        if not workflow.patched(V2_PATCH):
            return await self._run_v1(inp)
        self.v2 = True
        if inp.carry is not None:
            self._restore(inp.carry)
        drain = asyncio.create_task(self._drain())
        try:
            if self.stop is None:  # (a run carrying a rollback under way goes straight to it)
                try:
                    await self._walk()
                except asyncio.CancelledError:  # cancelled from the Temporal UI or CLI: an abort
                    if self.stop is None:
                        who = ControlInput(by=NATIVE_CANCEL_ACTOR, reason="workflow cancelled in Temporal", via="temporal")
                        self._note("abort", who)
                        self.stop = ("abort", who)
                except Stop as exc:
                    if self.stop is None:
                        who = ControlInput(by="maestro", reason=exc.reason, via="analysis")
                        self._note("rollback", who)
                        self.stop = ("rollback", who)
            # Ending (weight 0 for a rollback or abort, every projection written, every update answered)
            # is shielded: a cancel arriving now must not leave traffic on the canary.
            ending = asyncio.create_task(self._end())
            while not ending.done():
                try:
                    await asyncio.shield(ending)
                except asyncio.CancelledError:
                    if not ending.done():
                        workflow.logger.info("rollout %s: cancel while ending, carried on", inp.rollout_id)
            ending.result()
        finally:
            drain.cancel()
        return self.status

    async def _end(self) -> None:
        if self.stop is not None:
            await self._stopped()
        await workflow.wait_condition(lambda: not self.outbox and not self.draining and workflow.all_handlers_finished())

    async def _walk(self) -> None:
        """The steps, then promotion. Raises Stop for anything that must roll back."""
        inp = self.inp
        assert inp is not None
        if inp.carry is None:
            await self._set_weight(0, "the starting weight")
            self._project("rollout_started", f"canary {inp.canary_url} of {inp.service} starts at 0%")
        while self.index < len(inp.steps) and self.stop is None:
            await self._maybe_continue_as_new()
            await workflow.wait_condition(lambda: not self.paused or self.stop is not None or self.skip)
            if self.stop is not None or self.full:
                break
            step = inp.steps[self.index]
            self.skip = False
            if step.set_weight is not None:
                await self._set_weight(step.set_weight, f"step {self.index + 1}")
                self._project("rollout_step", f"step {self.index + 1}: weight {step.set_weight}%", weight_changed=True)
            elif step.pause_s is not None:
                length = f" {step.pause_s:g}s" if step.pause_s else ""
                self._project("rollout_step", f"step {self.index + 1}: pause{length}")
                if step.pause_s:
                    await self._wait(step.pause_s)
                else:
                    self.paused, self.status = True, "paused"
                    self._project("rollout_paused", "paused until resumed or promoted")
                    await workflow.wait_condition(lambda: not self.paused or self._interrupted())
            elif step.analysis is not None:
                await self._analyse(step)
            if self.stop is None and not self.full:
                self.index += 1
                self.measured = self.failures = self.inconclusive = self.passes = 0
        if self.stop is not None:
            return
        # promoted to 100%: the canary becomes the stable version
        if self.weight != 100:
            await self._set_weight(100, "promotion")
            self._project("rollout_step", "weight 100%", weight_changed=True)
        await self._set_weight(0, "promotion (the canary becomes stable)", canary=False, promote=True)
        self.status = "succeeded"
        self._project(
            "rollout_promoted",
            f"{inp.canary_url} is now the stable version of {inp.service}",
            finished=True,
            snapshot=True,
        )

    async def _stopped(self) -> None:
        """Rollback or abort: all traffic to stable (retried until the provider answers), then the record."""
        assert self.inp is not None and self.stop is not None
        kind, who = self.stop
        noted = self.history[-1] if self.history and self.history[-1]["action"] == kind else None
        await self._weight_zero(kind, who)
        self.status = "rolled_back" if kind == "rollback" else "aborted"
        event = "rollout_rolled_back" if kind == "rollback" else "rollout_aborted"
        message = f"{kind} by {who.by}: {who.reason}".strip(": ")
        audit = self._audit(kind, who, weight=0)
        self._project(event, message, history=noted, weight_changed=True, finished=True, snapshot=True, audit=audit)
        if kind == "rollback":
            self._enqueue("rolled_back", RolledBackInput(rollout_id=self.inp.rollout_id, reason=who.reason or "rolled back"))

    async def _weight_zero(self, kind: str, who: ControlInput) -> None:
        """Weight 0 on the stable version, retried until the provider takes it: meanwhile the rollout is
        rolling_back and RolloutStuck fires (resolved once the weight is applied)."""
        assert self.inp is not None
        if self.stuck_tries == 0:  # (not again in a run that continued as new while stuck)
            self.status = "rolling_back"
            self._project("rollout_step", f"{kind} by {who.by}: moving all traffic to stable")
        while True:
            try:
                await self._apply(0, canary=False, retry=TRY)
                break
            except ActivityError as exc:
                if _cancelled(exc):  # a cancel while rolling back changes nothing: try again
                    continue
                self.stuck_tries += 1
                self.stuck = True
                reason = f"weight 0 could not be applied ({self.stuck_tries} tries): {_cause(exc)}"
                workflow.logger.warning("rollout %s: %s", self.inp.rollout_id, reason)
                if self.stuck_tries == 1:
                    self._enqueue("stuck", StuckInput(rollout_id=self.inp.rollout_id, reason=reason))
                    self._project("rollout_step", f"stuck rolling back: {reason}")
                await self._sleep_through_cancel(min(STUCK_BACKOFF_MAX_S, 5.0 * self.stuck_tries))
                await self._maybe_continue_as_new(stopping=True)
        self.stuck = False
        if self.stuck_tries:
            reason = f"weight 0 applied after {self.stuck_tries + 1} tries"
            self._enqueue("stuck", StuckInput(rollout_id=self.inp.rollout_id, reason=reason, stuck=False))

    async def _sleep_through_cancel(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await workflow.sleep(seconds)

    async def _set_weight(self, weight: int, what: str, *, canary: bool = True, promote: bool = False) -> None:
        """Apply a weight of the walk; a rollback or abort asked for meanwhile stops the retries (the
        provider may be down for minutes: the stop must not wait for them)."""
        task = asyncio.create_task(self._apply(weight, canary=canary, promote=promote))
        try:
            await workflow.wait_condition(lambda: task.done() or self.stop is not None)
        except asyncio.CancelledError:  # the workflow is cancelled: the application ends before the abort's
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ActivityError):
                await task
            raise
        if not task.done():
            task.cancel()  # waits for a running attempt to end (a late weight never lands after weight 0)
        try:
            await task
        except asyncio.CancelledError:
            if self.stop is None:  # the workflow itself was cancelled
                raise
        except ActivityError as exc:
            if _cancelled(exc):
                if self.stop is not None:
                    return
                raise asyncio.CancelledError from exc
            if self.stop is not None:
                return
            raise Stop(f"{what}: weight {weight}% could not be applied: {_cause(exc)}") from exc

    async def _analyse(self, step: Step) -> None:
        assert self.inp is not None and step.analysis is not None
        a = step.analysis
        if self.measured == 0:
            self._project("rollout_step", f"step {self.index + 1}: analysis of {a.metric} ({a.success_condition})")
        while self.measured < a.count:
            await self._maybe_continue_as_new()
            await self._wait(a.interval_s)
            await workflow.wait_condition(lambda: not self.paused or self._interrupted())
            if self._interrupted():
                self.failing = None
                return
            m = await self._measure(a)
            if self.stop is not None:
                self.failing = None
                return
            self.measured += 1
            if m.value is None:
                outcome = "inconclusive"
                self.inconclusive += 1
            else:
                outcome = "passed" if holds(a.success_condition, m.value) else "failed"
                self.failures += outcome == "failed"
                self.passes += outcome == "passed"
            record = self._measured(a, m, outcome, self.measured)
            self._project("analysis_completed", f"{a.metric} {outcome}: {m.detail}", analysis=record)
            if self.failures > a.failure_limit:
                who = ControlInput(by="analysis", reason=f"analysis failed: {self.failing}", via="analysis")
                self._note("rollback", who)
                self.stop = ("rollback", who)
                return
            if self.inconclusive > a.inconclusive_limit:
                self.paused, self.status = True, "paused"
                self._project(
                    "rollout_paused",
                    f"analysis inconclusive {self.inconclusive} times ({m.detail}): paused until resumed or promoted",
                )
                self.inconclusive = 0
            if self.measured == a.count and self.passes == 0:
                # no measurement passed (metrics were out the whole time): a person decides, never the outage
                self.measured = self.failures = self.inconclusive = 0
                self.paused, self.status = True, "paused"
                self._project(
                    "rollout_paused",
                    f"analysis of {a.metric} ended without a passing measurement ({m.detail}): paused; "
                    "resume measures again, promote skips it",
                )
        self.failing = None

    def _measured(self, a: Any, m: Measurement, outcome: str, number: int) -> dict[str, Any]:
        """The analysis record of a measurement; keeps `failing` (what promote is refused for) up to date."""
        self.failing = (
            f"{a.metric} = {m.value:.4g} (needs {a.success_condition.strip()})"
            if outcome == "failed" and m.value is not None
            else None
        )
        return {
            "at": workflow.now().isoformat(),
            "step": self.index,
            "measurement": number,
            "metric": a.metric,
            "provider": a.provider,
            "value": m.value,
            "requests": m.requests,
            "condition": a.success_condition,
            "outcome": outcome,
            "detail": m.detail,
        }

    async def _measure(self, a: Any) -> Measurement:
        """A measurement; one the activity could not take at all (timeouts, the worker gone) is inconclusive."""
        assert self.inp is not None
        task = asyncio.create_task(self._measure_once(a))
        await workflow.wait_condition(lambda: task.done() or self.stop is not None)
        if not task.done():  # a rollback or abort does not wait for a slow measurement
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ActivityError):
                await task
            return Measurement(None, 0, "measurement abandoned: the rollout is stopping")
        return await task

    def _measure_input(self, a: Any) -> MeasureInput:
        assert self.inp is not None
        return MeasureInput(
            service=self.inp.service,
            analysis=a,
            window_s=a.interval_s,
            provider=self.inp.provider,
            provider_config=self.inp.provider_config,
        )

    async def _measure_once(self, a: Any) -> Measurement:
        assert self.inp is not None
        try:
            m: Measurement = await workflow.execute_activity_method(
                RolloutActivities.measure,
                self._measure_input(a),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1)),
            )
            return m
        except ActivityError as exc:
            if _cancelled(exc):
                raise asyncio.CancelledError from exc
            return Measurement(None, 0, f"measurement failed: {_cause(exc)}"[:500])

    # ---- continue-as-new ---------------------------------------------------------------------
    async def _maybe_continue_as_new(self, *, stopping: bool = False) -> None:
        """Continue as new at a safe point once the history is long: in the walk (nothing being stopped
        or skipped), or while a rollback is stuck retrying weight 0 (`stopping`)."""
        assert self.inp is not None
        info = workflow.info()

        def moved() -> bool:  # something happened that the walk must act on first
            return not stopping and (self.stop is not None or self._interrupted())

        if moved():
            return
        if info.get_current_history_length() < self.inp.continue_after_events and not info.is_continue_as_new_suggested():
            return
        # every update answered and every projection written: the next run starts clean
        await workflow.wait_condition(
            lambda: moved() or (not self.outbox and not self.draining and workflow.all_handlers_finished())
        )
        if moved():
            return
        kind, who = self.stop if self.stop is not None else (None, ControlInput())
        carry = RolloutCarry(
            index=self.index,
            weight=self.weight,
            status=self.status,
            paused=self.paused,
            full=self.full,
            failing=self.failing,
            history=self.history[-HISTORY_KEPT:],
            measured=self.measured,
            failures=self.failures,
            inconclusive=self.inconclusive,
            passes=self.passes,
            runs=self.runs + 1,
            sequence=self.sequence,
            stop_kind=kind,
            stop_by=who.by,
            stop_reason=who.reason,
            stop_via=who.via,
            stuck_tries=self.stuck_tries,
        )
        workflow.continue_as_new(dataclasses.replace(self.inp, carry=carry))

    def _restore(self, c: RolloutCarry) -> None:
        self.index, self.weight, self.status, self.paused, self.full = c.index, c.weight, c.status, c.paused, c.full
        self.failing, self.history, self.runs = c.failing, list(c.history), c.runs
        self.measured, self.failures, self.inconclusive, self.passes = c.measured, c.failures, c.inconclusive, c.passes
        self.sequence, self.stuck_tries = c.sequence, c.stuck_tries
        self.stuck = c.stuck_tries > 0
        if c.stop_kind is not None:
            self.stop = (c.stop_kind, ControlInput(by=c.stop_by, reason=c.stop_reason, via=c.stop_via))

    # ---- the outbox: SQL projection, alerts ---------------------------------------------------
    async def _drain(self) -> None:
        """Send what the outbox holds, in order, each retried until it is taken."""
        while True:
            await workflow.wait_condition(lambda: bool(self.outbox))
            kind, arg = self.outbox[0]
            self.draining = True
            try:
                if kind == "project":
                    await workflow.execute_activity_method(
                        RolloutActivities.project, arg, start_to_close_timeout=timedelta(seconds=30), retry_policy=PATIENT
                    )
                elif kind == "stuck":
                    await workflow.execute_activity_method(
                        RolloutActivities.stuck, arg, start_to_close_timeout=timedelta(seconds=30), retry_policy=PATIENT
                    )
                else:
                    await workflow.execute_activity_method(
                        RolloutActivities.rolled_back, arg, start_to_close_timeout=timedelta(seconds=30), retry_policy=PATIENT
                    )
            except ActivityError as exc:  # refused for good (a record the projection cannot take): said, not retried
                workflow.logger.error("rollout %s: %s was not recorded: %s", self.inp and self.inp.rollout_id, kind, _cause(exc))
            finally:
                self.outbox.pop(0)
                self.sent += 1
                self.draining = False

    def _enqueue(self, kind: str, arg: Any) -> int:
        if isinstance(arg, ProjectInput):
            arg = dataclasses.replace(arg, seq=self._next())
        self.outbox.append((kind, arg))
        self.queued += 1
        return self.queued

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence

    # ---- v1: histories from before V2_PATCH (kept so they replay) -----------------------------
    async def _run_v1(self, inp: RolloutInput) -> str:
        await self._apply_v1(0, canary=True)
        await self._project_v1("rollout_started", f"canary {inp.canary_url} of {inp.service} starts at 0%")
        while self.index < len(inp.steps) and self.stop is None:
            await workflow.wait_condition(lambda: not self.paused or self.stop is not None or self.skip)
            if self.stop is not None:
                break
            if self.full:
                break
            step = inp.steps[self.index]
            self.skip = False
            if step.set_weight is not None:
                await self._apply_v1(step.set_weight, canary=True)
                await self._project_v1("rollout_step", f"step {self.index + 1}: weight {step.set_weight}%", weight_changed=True)
            elif step.pause_s is not None:
                length = f" {step.pause_s:g}s" if step.pause_s else ""
                await self._project_v1("rollout_step", f"step {self.index + 1}: pause{length}")
                if step.pause_s:
                    await self._wait(step.pause_s)
                else:
                    self.paused = True
                    self.status = "paused"
                    await self._project_v1("rollout_paused", "paused until resumed or promoted")
                    await workflow.wait_condition(lambda: not self.paused or self._interrupted())
            elif step.analysis is not None:
                await self._analyse_v1(step)
            if self.stop is None and not self.full:
                self.index += 1
        if self.stop is not None:
            kind, who = self.stop
            await self._apply_v1(0, canary=False)
            self.status = "rolled_back" if kind == "rollback" else "aborted"
            event = "rollout_rolled_back" if kind == "rollback" else "rollout_aborted"
            noted = self.history[-1] if self.history and self.history[-1]["action"] == kind else None  # a person's, not analysis
            message = f"{kind} by {who.by}: {who.reason}".strip(": ")
            audit = self._audit(kind, who, weight=0)
            await self._project_v1(event, message, history=noted, weight_changed=True, finished=True, snapshot=True, audit=audit)
            if kind == "rollback":
                await workflow.execute_activity_method(
                    RolloutActivities.rolled_back,
                    RolledBackInput(rollout_id=inp.rollout_id, reason=who.reason or "rolled back"),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=QUICK,
                )
            return self.status
        # promoted to 100%: the canary becomes the stable version
        if self.weight != 100:
            await self._apply_v1(100, canary=True)
            await self._project_v1("rollout_step", "weight 100%", weight_changed=True)
        await self._apply_v1(0, canary=False, promote=True)
        self.status = "succeeded"
        await self._project_v1("rollout_promoted", f"{inp.canary_url} is now the stable version of {inp.service}", finished=True)
        return self.status

    async def _analyse_v1(self, step: Step) -> None:
        assert self.inp is not None and step.analysis is not None
        a = step.analysis
        failures = inconclusive = 0
        await self._project_v1("rollout_step", f"step {self.index + 1}: analysis of {a.metric} ({a.success_condition})")
        for n in range(a.count):
            await self._wait(a.interval_s)
            await workflow.wait_condition(lambda: not self.paused or self._interrupted())
            if self._interrupted():
                self.failing = None
                return
            m: Measurement = await workflow.execute_activity_method(
                RolloutActivities.measure,
                self._measure_input(a),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=QUICK,
            )
            if m.value is None:
                outcome = "inconclusive"
                inconclusive += 1
            else:
                outcome = "passed" if holds(a.success_condition, m.value) else "failed"
                failures += outcome == "failed"
            record = self._measured(a, m, outcome, n + 1)
            await self._project_v1("analysis_completed", f"{a.metric} {outcome}: {m.detail}", analysis=record)
            if failures > a.failure_limit:
                self.stop = ("rollback", ControlInput(by="analysis", reason=f"analysis failed: {self.failing}", via="analysis"))
                return
            if inconclusive > a.inconclusive_limit:
                self.paused, self.status = True, "paused"
                await self._project_v1(
                    "rollout_paused", f"analysis inconclusive {inconclusive} times (too little traffic): paused"
                )
                inconclusive = 0
        self.failing = None

    def _interrupted(self) -> bool:
        return self.skip or self.stop is not None or self.full

    async def _wait(self, seconds: float) -> None:
        """Sleep on the workflow clock, cut short by promote, rollback or abort."""
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(self._interrupted, timeout=timedelta(seconds=seconds))

    # ---- controls (updates with validators) --------------------------------------------------
    def _refuse_if_finished(self, what: str) -> None:
        if self.status in TERMINAL_ROLLOUT:
            raise ApplicationError(f"the rollout is {self.status}; {what} applies to running rollouts", type="RolloutFinished")
        if self.v2 and self.stop is not None:  # weight 0 under way: nothing may move it any more
            doing = "rolling back" if self.stop[0] == "rollback" else "being aborted"
            raise ApplicationError(f"the rollout is {doing}; {what} applies to running rollouts", type="RolloutStopping")

    def _result(self) -> ControlResult:
        return ControlResult(status=self.status, weight=self.weight, step_index=self.index)

    def _note(self, action: str, who: ControlInput) -> dict[str, Any]:
        entry = {
            "at": workflow.now().isoformat(),
            "action": action,
            "by": who.by,
            "reason": who.reason,
            "weight": self.weight,
            "step": self.index,
            "via": who.via,
        }
        self.history.append(entry)
        return entry

    def _audit(self, action: str, who: ControlInput, *, weight: int | None = None) -> dict[str, Any] | None:
        """The audit record for a control the API did not audit itself: straight through Temporal, or analysis."""
        if who.via == "api":
            return None
        change = {"reason": who.reason, "full": who.full, "weight": self.weight if weight is None else weight, "via": who.via}
        return {"actor": direct_actor(who.by, who.via), "action": f"rollout.{action}", "change": change}

    async def _authorize(self, action: str, who: ControlInput) -> ControlInput:
        """The ticket, not the caller, says who sent a control and how it came (api or temporal); the
        rollout's state is checked again after the ticket is redeemed."""
        claims = await redeem(who.ticket, action)
        if claims is None:  # a control accepted before tickets existed, replayed
            return who
        self._refuse_if_finished(action)
        return ControlInput(by=claims.actor, reason=who.reason, full=who.full, via=claims.via)

    @workflow.update
    async def pause(self, who: ControlInput) -> ControlResult:
        who = await self._authorize("pause", who)
        self.paused, self.status = True, "paused"
        entry = self._note("pause", who)
        await self._record("rollout_paused", f"paused by {who.by}", history=entry, audit=self._audit("pause", who))
        return self._result()

    @pause.validator
    def validate_pause(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("pause")
        if self.paused:
            raise ApplicationError("the rollout is already paused", type="AlreadyPaused")

    @workflow.update
    async def resume(self, who: ControlInput) -> ControlResult:
        who = await self._authorize("resume", who)
        self.paused, self.status = False, "running"
        entry = self._note("resume", who)
        await self._record("rollout_resumed", f"resumed by {who.by}", history=entry, audit=self._audit("resume", who))
        return self._result()

    @resume.validator
    def validate_resume(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("resume")
        if not self.paused:
            raise ApplicationError("the rollout is not paused", type="NotPaused")

    @workflow.update
    async def promote(self, who: ControlInput) -> ControlResult:
        who = await self._authorize("promote", who)
        assert self.inp is not None
        gate: GateRolloutResult = await workflow.execute_activity_method(
            RolloutActivities.gate,
            GateRolloutInput(rollout_id=self.inp.rollout_id, by=who.by),
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=QUICK,
        )
        if not gate.allowed:
            raise ApplicationError(
                "denied by policy: " + "; ".join(gate.reasons) + f" (decision {gate.decision_id})", type="PolicyDenied"
            )
        if self.v2:  # the gate took a while: the rollout may have ended or started rolling back meanwhile
            self._refuse_if_finished("promote")
        entry = self._note("promote-full" if who.full else "promote", who)
        ended = self.index  # the answer names the step the promote ended (the walk may be past it already)
        if who.full:
            self.full = True
        self.skip = True
        self.paused, self.status = False, "running"
        message = f"promoted by {who.by}" + (" to 100%" if who.full else "")
        await self._record("rollout_step", message, history=entry, audit=self._audit("promote", who))
        result = self._result()
        return dataclasses.replace(result, step_index=ended) if self.v2 else result

    @promote.validator
    def validate_promote(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("promote")
        if self.failing:
            raise ApplicationError(f"analysis is failing: {self.failing}", type="AnalysisFailing")

    @workflow.update
    async def rollback(self, who: ControlInput) -> ControlResult:
        who = await self._authorize("rollback", who)
        self._note("rollback", who)
        self.stop = ("rollback", who)
        await self._finished()
        return self._result()

    @rollback.validator
    def validate_rollback(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("rollback")

    @workflow.update
    async def abort(self, who: ControlInput) -> ControlResult:
        who = await self._authorize("abort", who)
        self._note("abort", who)
        self.stop = ("abort", who)
        await self._finished()
        return self._result()

    @abort.validator
    def validate_abort(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("abort")

    async def _finished(self) -> None:
        """Until the rollout ended (v2: and its end is in SQL, the caller reads what it caused), or is
        stuck rolling back (the caller then reads `rolling_back`: Maestro keeps trying)."""
        if not self.v2:
            await workflow.wait_condition(lambda: self.status in TERMINAL_ROLLOUT)
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: (self.status in TERMINAL_ROLLOUT or self.stuck) and not self.outbox, timeout=ANSWER_WITHIN
            )
            return
        # still moving traffic back (the provider is slow to answer): answer with `rolling_back` once SQL says so
        await workflow.wait_condition(lambda: self.status in {"rolling_back", *TERMINAL_ROLLOUT} and not self.outbox)

    @workflow.query
    def get_state(self) -> RolloutState:
        return RolloutState(
            status=self.status,
            step_index=self.index,
            weight=self.weight,
            paused=self.paused,
            failing=self.failing,
            history=self.history,
            runs=self.runs,
            pending_projections=len(self.outbox),
        )

    @workflow.query
    def state(self) -> dict[str, Any]:
        """`get_state` as the camelCase object scripts read before it existed (kept as an alias)."""
        return {
            "status": self.status,
            "stepIndex": self.index,
            "weight": self.weight,
            "paused": self.paused,
            "failing": self.failing,
            "history": self.history,
        }

    # ---- effects -----------------------------------------------------------------------------
    def _apply_input(self, weight: int, *, canary: bool, promote: bool) -> ApplyInput:
        assert self.inp is not None
        inp = self.inp
        return ApplyInput(
            rollout_id=inp.rollout_id,
            service=inp.service,
            stable_url=inp.canary_url if promote else inp.stable_url,
            canary_url=inp.canary_url if canary else None,
            sticky=inp.sticky,
            weight=weight,
            provider=inp.provider,
            provider_config=inp.provider_config,
        )

    async def _apply(self, weight: int, *, canary: bool, promote: bool = False, retry: RetryPolicy = SETTLE) -> None:
        await workflow.execute_activity_method(
            RolloutActivities.apply,
            dataclasses.replace(self._apply_input(weight, canary=canary, promote=promote), seq=self._next()),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=retry,
            # a cancel waits for the application to end: a late one never lands after what follows
            cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        )
        self.weight = weight

    async def _apply_v1(self, weight: int, *, canary: bool, promote: bool = False) -> None:
        await workflow.execute_activity_method(
            RolloutActivities.apply,
            self._apply_input(weight, canary=canary, promote=promote),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=QUICK,
        )
        self.weight = weight

    def _projection(
        self,
        event: str,
        message: str,
        *,
        history: dict[str, Any] | None = None,
        analysis: dict[str, Any] | None = None,
        weight_changed: bool = False,
        finished: bool = False,
        snapshot: bool = False,
        audit: dict[str, Any] | None = None,
    ) -> ProjectInput:
        assert self.inp is not None
        return ProjectInput(
            rollout_id=self.inp.rollout_id,
            status=self.status,
            step_index=self.index,
            weight=self.weight,
            event=event,
            message=message,
            history=history,
            analysis=analysis,
            weight_changed=weight_changed,
            finished=finished,
            snapshot=snapshot,
            audit=audit,
        )

    def _project(self, event: str, message: str, **kw: Any) -> int:
        """Queue a projection (v2): the outbox sends it when the database answers, in order."""
        return self._enqueue("project", self._projection(event, message, **kw))

    async def _project_v1(self, event: str, message: str, **kw: Any) -> None:
        await workflow.execute_activity_method(
            RolloutActivities.project,
            self._projection(event, message, **kw),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=QUICK,
        )

    async def _record(self, event: str, message: str, **kw: Any) -> None:
        """A projection from an update handler: queued (v2), or awaited as older histories did (v1)."""
        if self.v2:  # answered once it is in SQL: the caller then reads the state it caused
            seq = self._project(event, message, **kw)
            await workflow.wait_condition(lambda: self.sent >= seq)
        else:
            await self._project_v1(event, message, **kw)
