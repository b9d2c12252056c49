"""RolloutWorkflow: a canary walks its steps (weights, pauses, analyses); controls are Temporal updates.

Weights are set by activities, so a worker restart replays the history without setting any weight
twice. Update names (for `temporal workflow update execute --name …`): pause, resume, promote,
rollback, abort; each takes {"by": …, "reason": …, "full": bool}. Query: state.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

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
        RolloutInput,
        Step,
        holds,
    )
    from maestro.shared import direct_actor
    from maestro.states import TERMINAL_ROLLOUT
    from maestro.workflows.controls import redeem, require_ticket

QUICK = RetryPolicy(maximum_attempts=10, initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=5))


@workflow.defn(name="RolloutWorkflow")
class RolloutWorkflow:
    def __init__(self) -> None:
        self.inp: RolloutInput | None = None
        self.status = "running"
        self.index = 0
        self.weight = 0
        self.paused = False
        self.skip = False  # promote: leave the current step now
        self.full = False  # promote --full: straight to 100
        self.stop: tuple[str, ControlInput] | None = None  # ("rollback"|"abort", who)
        self.failing: str | None = None  # the failing measurement, while an analysis fails
        self.history: list[dict[str, Any]] = []

    # ---- main --------------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: RolloutInput) -> str:
        self.inp = inp
        await self._apply(0, canary=True)
        await self._project("rollout_started", f"canary {inp.canary_url} of {inp.service} starts at 0%")
        while self.index < len(inp.steps) and self.stop is None:
            await workflow.wait_condition(lambda: not self.paused or self.stop is not None or self.skip)
            if self.stop is not None:
                break
            if self.full:
                break
            step = inp.steps[self.index]
            self.skip = False
            if step.set_weight is not None:
                await self._apply(step.set_weight, canary=True)
                await self._project("rollout_step", f"step {self.index + 1}: weight {step.set_weight}%", weight_changed=True)
            elif step.pause_s is not None:
                length = f" {step.pause_s:g}s" if step.pause_s else ""
                await self._project("rollout_step", f"step {self.index + 1}: pause{length}")
                if step.pause_s:
                    await self._wait(step.pause_s)
                else:
                    self.paused = True
                    self.status = "paused"
                    await self._project("rollout_paused", "paused until resumed or promoted")
                    await workflow.wait_condition(lambda: not self.paused or self._interrupted())
            elif step.analysis is not None:
                await self._analyse(step)
            if self.stop is None and not self.full:
                self.index += 1
        if self.stop is not None:
            kind, who = self.stop
            await self._apply(0, canary=False)
            self.status = "rolled_back" if kind == "rollback" else "aborted"
            event = "rollout_rolled_back" if kind == "rollback" else "rollout_aborted"
            noted = self.history[-1] if self.history and self.history[-1]["action"] == kind else None  # a person's, not analysis
            message = f"{kind} by {who.by}: {who.reason}".strip(": ")
            audit = self._audit(kind, who, weight=0)
            await self._project(event, message, history=noted, weight_changed=True, finished=True, snapshot=True, audit=audit)
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
            await self._apply(100, canary=True)
            await self._project("rollout_step", "weight 100%", weight_changed=True)
        await self._apply(0, canary=False, promote=True)
        self.status = "succeeded"
        await self._project("rollout_promoted", f"{inp.canary_url} is now the stable version of {inp.service}", finished=True)
        return self.status

    async def _analyse(self, step: Step) -> None:
        assert self.inp is not None and step.analysis is not None
        a = step.analysis
        failures = inconclusive = 0
        await self._project("rollout_step", f"step {self.index + 1}: analysis of {a.metric} ({a.success_condition})")
        for n in range(a.count):
            await self._wait(a.interval_s)
            await workflow.wait_condition(lambda: not self.paused or self._interrupted())
            if self._interrupted():
                self.failing = None
                return
            m: Measurement = await workflow.execute_activity_method(
                RolloutActivities.measure,
                MeasureInput(
                    service=self.inp.service,
                    analysis=a,
                    window_s=a.interval_s,
                    provider=self.inp.provider,
                    provider_config=self.inp.provider_config,
                ),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=QUICK,
            )
            if m.value is None:
                outcome = "inconclusive"
                inconclusive += 1
            else:
                outcome = "passed" if holds(a.success_condition, m.value) else "failed"
                failures += outcome == "failed"
            record = {
                "at": workflow.now().isoformat(),
                "step": self.index,
                "measurement": n + 1,
                "metric": a.metric,
                "provider": a.provider,
                "value": m.value,
                "requests": m.requests,
                "condition": a.success_condition,
                "outcome": outcome,
                "detail": m.detail,
            }
            self.failing = (
                f"{a.metric} = {m.value:.4g} (needs {a.success_condition.strip()})"
                if outcome == "failed" and m.value is not None
                else None
            )
            await self._project("analysis_completed", f"{a.metric} {outcome}: {m.detail}", analysis=record)
            if failures > a.failure_limit:
                self.stop = ("rollback", ControlInput(by="analysis", reason=f"analysis failed: {self.failing}", via="analysis"))
                return
            if inconclusive > a.inconclusive_limit:
                self.paused, self.status = True, "paused"
                await self._project("rollout_paused", f"analysis inconclusive {inconclusive} times (too little traffic): paused")
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
            raise ApplicationError(f"the rollout is {self.status}; {what} applies to running rollouts")

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
        await self._project("rollout_paused", f"paused by {who.by}", history=entry, audit=self._audit("pause", who))
        return self._result()

    @pause.validator
    def _v_pause(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("pause")
        if self.paused:
            raise ApplicationError("the rollout is already paused")

    @workflow.update
    async def resume(self, who: ControlInput) -> ControlResult:
        who = await self._authorize("resume", who)
        self.paused, self.status = False, "running"
        entry = self._note("resume", who)
        await self._project("rollout_resumed", f"resumed by {who.by}", history=entry, audit=self._audit("resume", who))
        return self._result()

    @resume.validator
    def _v_resume(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("resume")
        if not self.paused:
            raise ApplicationError("the rollout is not paused")

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
            raise ApplicationError("denied by policy: " + "; ".join(gate.reasons) + f" (decision {gate.decision_id})")
        entry = self._note("promote-full" if who.full else "promote", who)
        if who.full:
            self.full = True
        self.skip = True
        self.paused, self.status = False, "running"
        message = f"promoted by {who.by}" + (" to 100%" if who.full else "")
        await self._project("rollout_step", message, history=entry, audit=self._audit("promote", who))
        return self._result()

    @promote.validator
    def _v_promote(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("promote")
        if self.failing:
            raise ApplicationError(f"analysis is failing: {self.failing}")

    @workflow.update
    async def rollback(self, who: ControlInput) -> ControlResult:
        who = await self._authorize("rollback", who)
        self._note("rollback", who)
        self.stop = ("rollback", who)
        await workflow.wait_condition(lambda: self.status in TERMINAL_ROLLOUT)
        return self._result()

    @rollback.validator
    def _v_rollback(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("rollback")

    @workflow.update
    async def abort(self, who: ControlInput) -> ControlResult:
        who = await self._authorize("abort", who)
        self._note("abort", who)
        self.stop = ("abort", who)
        await workflow.wait_condition(lambda: self.status in TERMINAL_ROLLOUT)
        return self._result()

    @abort.validator
    def _v_abort(self, who: ControlInput) -> None:
        require_ticket(who.ticket)
        self._refuse_if_finished("abort")

    @workflow.query
    def state(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "stepIndex": self.index,
            "weight": self.weight,
            "paused": self.paused,
            "failing": self.failing,
            "history": self.history,
        }

    # ---- effects -----------------------------------------------------------------------------
    async def _apply(self, weight: int, *, canary: bool, promote: bool = False) -> None:
        assert self.inp is not None
        inp = self.inp
        await workflow.execute_activity_method(
            RolloutActivities.apply,
            ApplyInput(
                rollout_id=inp.rollout_id,
                service=inp.service,
                stable_url=inp.canary_url if promote else inp.stable_url,
                canary_url=inp.canary_url if canary else None,
                sticky=inp.sticky,
                weight=weight,
                provider=inp.provider,
                provider_config=inp.provider_config,
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=QUICK,
        )
        self.weight = weight

    async def _project(
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
    ) -> None:
        assert self.inp is not None
        await workflow.execute_activity_method(
            RolloutActivities.project,
            ProjectInput(
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
            ),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=QUICK,
        )
