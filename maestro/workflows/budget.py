"""BudgetWorkflow: one per budget and period, the authority on the budget's state.

Every tick (and when poked) it reads the scope's consumption from the ledger's rollups — a sum over
idempotent rows, so a retried writer or a lost poke never double-counts or loses spend — fires the
thresholds that were crossed (budget_warning alerts through the alert pipeline) and applies due actions
durably: freeze (run admission and the gateway refuse), slowdown (runs wait for a permit this workflow
grants at a reduced rate; the gateway lowers the scope's RPM), downgrade (routing classes switch to their
cheaper path, also pre-emptively when the forecast hits the cap before the period ends), notify.
Freeze, unfreeze and raise-cap are updates with validators; the state is projected to SQL (and the
gateway's snapshot) before an update answers. At the period's end it closes the period (summary, finance
webhook), lifts what the period's spend had triggered and continues as new for the next period.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from maestro.finops.budgets import due, rearm, utilisation
    from maestro.finops.shared import (
        BudgetControl,
        BudgetInput,
        BudgetNote,
        BudgetProjection,
        BudgetState,
        BudgetUsage,
        ClosePeriodInput,
        DowngradeInput,
        NextPeriod,
        PermitGrant,
        PermitRequest,
        UsageInput,
    )

ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=300), maximum_interval=timedelta(seconds=15))
TIMEOUT = timedelta(seconds=60)
TICKS_PER_RUN = 400  # continue as new well before the history grows large (about 6 events per tick)
AUTO_ACTOR = "budget:{name}"


@workflow.defn(name="BudgetWorkflow")
class BudgetWorkflow:
    def __init__(self) -> None:
        self.s = BudgetState()
        self.inp: BudgetInput | None = None
        self.poked = False
        self.usage: BudgetUsage | None = None
        self.lock = asyncio.Lock()
        self.seq = 0
        self.retired = False
        self.closing = False

    # -- signals, queries, updates
    @workflow.signal
    def poke(self) -> None:
        """The ledger changed in this budget's scope: evaluate now rather than at the next tick."""
        self.poked = True

    @workflow.signal
    def request_permit(self, req: PermitRequest) -> None:
        if req.workflow_id not in self.s.waiting:
            self.s.waiting.append(req.workflow_id)

    @workflow.query
    def get_state(self) -> BudgetState:
        return self.s

    @workflow.update
    async def freeze(self, c: BudgetControl) -> BudgetState:
        async with self.lock:
            self.s.frozen, self.s.frozen_by, self.s.frozen_reason = True, c.by, c.reason
            self.s.frozen_at = workflow.now().isoformat()
            await self._project([BudgetNote(kind="frozen", actor=c.by, reason=c.reason)])
        return self.s

    @freeze.validator
    def validate_freeze(self, c: BudgetControl) -> None:
        _need_reason(c)
        if self.s.frozen and not self.closing:
            raise ApplicationError(f"The budget is already frozen ({self.s.frozen_reason}).", type="AlreadyFrozen")

    @workflow.update
    async def unfreeze(self, c: BudgetControl) -> BudgetState:
        async with self.lock:
            if not self.s.frozen:  # accepted while the period closed, and the close lifted the freeze already
                return self.s
            self.s.frozen, self.s.frozen_by, self.s.frozen_reason, self.s.frozen_at = False, "", "", ""
            # an automatic freeze stays applied for the period: it does not come back at the next tick
            await self._project([BudgetNote(kind="unfrozen", actor=c.by, reason=c.reason)])
        return self.s

    @unfreeze.validator
    def validate_unfreeze(self, c: BudgetControl) -> None:
        _need_reason(c)
        if not self.s.frozen and not self.closing:
            raise ApplicationError("The budget is not frozen.", type="NotFrozen")

    @workflow.update
    async def raise_cap(self, c: BudgetControl) -> BudgetState:
        async with self.lock:
            usage = await self._usage(c)
            pct = utilisation(cap_usd=usage.cap_usd, cap_tokens=usage.cap_tokens, usd=usage.usd, tokens=usage.tokens)
            back = rearm(pct=pct, thresholds=usage.thresholds, actions=usage.actions, fired=self.s.fired, applied=self.s.applied)
            notes = [
                BudgetNote(
                    kind="cap-raised",
                    actor=c.by,
                    reason=c.reason,
                    detail={"capUsd": usage.cap_usd, "capTokens": usage.cap_tokens, "percent": round(pct, 2)},
                )
            ]
            self.s.fired = [t for t in self.s.fired if t not in back.thresholds]
            self.s.applied = [i for i in self.s.applied if i not in back.actions]
            lifted = {usage.actions[i]["kind"] for i in back.actions}
            if "freeze" in lifted and self.s.frozen and self.s.frozen_by.startswith("budget:"):
                self.s.frozen, self.s.frozen_by, self.s.frozen_reason, self.s.frozen_at = False, "", "", ""
                notes.append(BudgetNote(kind="unfrozen", actor=c.by, reason="the raised cap is no longer reached"))
            if "slowdown" in lifted and self.s.slowed:
                self.s.slowed = False
                notes.append(BudgetNote(kind="slowdown-lifted", actor=c.by, reason="the raised cap is no longer reached"))
            if "downgrade" in lifted and self.s.downgraded:
                await self._downgrade(usage, on=False, reason="the raised cap is no longer reached", actor=c.by)
                notes.append(BudgetNote(kind="restored", actor=c.by, reason="the raised cap is no longer reached"))
            self.usage = usage
            await self._project(notes, resolve_alerts_below=pct)
        return self.s

    @raise_cap.validator
    def validate_raise_cap(self, c: BudgetControl) -> None:
        _need_reason(c)
        if c.cap_usd is None and c.cap_tokens is None:
            raise ApplicationError("Give the new capUsd, capTokens or both.", type="NoCap")
        u = self.usage
        if u is not None:
            if c.cap_usd is not None and u.cap_usd is not None and c.cap_usd <= u.cap_usd:
                raise ApplicationError(f"The new USD cap must be above the current {u.cap_usd:g}.", type="NotARaise")
            if c.cap_tokens is not None and u.cap_tokens is not None and c.cap_tokens <= u.cap_tokens:
                raise ApplicationError(f"The new token cap must be above the current {u.cap_tokens}.", type="NotARaise")

    @workflow.update
    async def retire(self, c: BudgetControl) -> BudgetState:
        """The budget is deleted: lift what it applies (freeze, slowdown, downgrade), let waiting runs go, end."""
        async with self.lock:
            if self.s.downgraded and self.usage is not None:
                await self._downgrade(self.usage, on=False, reason=f"budget deleted: {c.reason}", actor=c.by)
            self.s.frozen, self.s.frozen_by, self.s.frozen_reason, self.s.frozen_at = False, "", "", ""
            self.s.slowed = False
            for wf in list(self.s.waiting):
                await self._grant(wf)
            self.s.waiting = []
            await self._project([BudgetNote(kind="retired", actor=c.by, reason=c.reason)], resolve_alerts_below=-1.0)
            self.retired = True
        return self.s

    @retire.validator
    def validate_retire(self, c: BudgetControl) -> None:
        _need_reason(c)
        if self.retired:
            raise ApplicationError("The budget is already being deleted.", type="Retired")

    # -- the period
    @workflow.run
    async def run(self, inp: BudgetInput) -> str:
        self.inp = inp
        self.s = inp.state
        self.seq = inp.seq
        self.usage = inp.last_usage
        end = datetime.fromisoformat(inp.period_end)
        permits = asyncio.ensure_future(self._grant_permits())
        ticks = 0
        while workflow.now() < end and not self.retired:
            async with self.lock:
                await self._evaluate()
            ticks += 1
            if ticks >= TICKS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                break
            left = (end - workflow.now()).total_seconds()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self.poked or self.retired, timeout=min(inp.tick_seconds, left))
            self.poked = False
        permits.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.retired:
            for wf in self.s.waiting:  # asked after the retire: let them go too
                await self._grant(wf)
            return "retired"
        if workflow.now() < end:
            workflow.continue_as_new(self._carry(inp.period_start, inp.period_end))
        async with self.lock:
            self.closing = True  # controls arriving now are judged after the close, on the new period's state
            nxt = await self._close_period()
            # the new period: what the last one's spend triggered is lifted (close_period recorded it)
            fresh = BudgetState(waiting=list(self.s.waiting))
            if self._manual_freeze():  # a person's freeze is theirs to lift
                fresh.frozen, fresh.frozen_by = True, self.s.frozen_by
                fresh.frozen_reason, fresh.frozen_at = self.s.frozen_reason, self.s.frozen_at
            self.s = fresh
            self.inp = dataclasses.replace(self.inp, period_start=nxt.period_start, period_end=nxt.period_end)
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(self._carry(nxt.period_start, nxt.period_end))

    def _carry(self, start: str, end: str) -> BudgetInput:
        assert self.inp is not None
        s = self.s
        return BudgetInput(
            budget_id=self.inp.budget_id,
            period_start=start,
            period_end=end,
            tick_seconds=self.inp.tick_seconds,
            state=s,
            seq=self.seq,
            last_usage=self.usage,
        )

    async def _usage(self, c: BudgetControl | None = None) -> BudgetUsage:
        assert self.inp is not None
        u: BudgetUsage = await workflow.execute_activity(
            "budget_usage",
            UsageInput(
                budget_id=self.inp.budget_id,
                period_start=self.inp.period_start,
                period_end=self.inp.period_end,
                set_cap_usd=c.cap_usd if c else None,
                set_cap_tokens=c.cap_tokens if c else None,
            ),
            result_type=BudgetUsage,
            start_to_close_timeout=TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return u

    async def _evaluate(self) -> None:
        u = await self._usage()
        previous = self.usage
        self.usage = u
        pct = utilisation(cap_usd=u.cap_usd, cap_tokens=u.cap_tokens, usd=u.usd, tokens=u.tokens)
        d = due(pct=pct, thresholds=u.thresholds, actions=u.actions, fired=self.s.fired, applied=self.s.applied)
        notes: list[BudgetNote] = []
        alerts: list[int] = []
        actor = AUTO_ACTOR.format(name=u.name)
        for t in d.thresholds:
            self.s.fired.append(t)
            alerts.append(t)
            notes.append(
                BudgetNote(
                    kind="breached" if t >= 100 else "threshold",
                    actor=actor,
                    reason=f"{pct:.1f}% of the cap used (threshold {t}%)",
                    detail={"threshold": t, "percent": round(pct, 2), "usd": round(u.usd, 6), "tokens": u.tokens},
                    dedupe=f"{self.inp.period_start if self.inp else ''}:threshold:{t}",
                )
            )
        for i in d.actions:
            self.s.applied.append(i)
            notes.extend(await self._apply(u, i, pct, actor))
        if (
            u.forecast_downgrade
            and not self.s.downgraded
            and u.cap_eta
            and self.inp is not None
            and u.cap_eta < self.inp.period_end
        ):
            for i, a in enumerate(u.actions):
                if a["kind"] == "downgrade" and i not in self.s.applied:
                    self.s.applied.append(i)
                    reason = f"forecast: at this burn the cap is hit on {u.cap_eta[:16].replace('T', ' ')} UTC"
                    await self._downgrade(u, on=True, reason=reason, actor=actor, index=i)
                    notes.append(BudgetNote(kind="downgraded", actor=actor, reason=reason, detail={"classes": a["classes"]}))
                    break
        changed = previous is None or (previous.usd, previous.tokens, previous.cap_eta) != (u.usd, u.tokens, u.cap_eta)
        if notes or changed:
            await self._project(notes, alerts=alerts, percent=pct)
        if alerts:
            try:  # deliver now rather than at the evaluator's next tick; a dead Alertmanager never blocks
                await workflow.execute_activity(
                    "push_alerts", start_to_close_timeout=timedelta(seconds=15), retry_policy=RetryPolicy(maximum_attempts=2)
                )
            except ActivityError:
                workflow.logger.warning("budget alert delivery failed; the evaluator retries at its next tick")

    async def _apply(self, u: BudgetUsage, i: int, pct: float, actor: str) -> list[BudgetNote]:
        a = u.actions[i]
        kind = a["kind"]
        why = f"{pct:.1f}% of the cap used (action at {a.get('atPercent', 100)}%)"
        if kind == "freeze":
            if self.s.frozen:  # a person's freeze already holds: the automatic one stays due (an unfreeze won't skip it)
                self.s.applied.remove(i)
                return []
            self.s.frozen, self.s.frozen_by, self.s.frozen_reason = True, actor, why
            self.s.frozen_at = workflow.now().isoformat()
            return [BudgetNote(kind="frozen", actor=actor, reason=why)]
        if kind == "slowdown":
            self.s.slowed = True
            self.s.permits_per_minute = int(a.get("permitsPerMinute", 6))
            self.s.gateway_rpm = int(a.get("gatewayRpm", 60))
            return [
                BudgetNote(
                    kind="slowed",
                    actor=actor,
                    reason=why,
                    detail={"permitsPerMinute": self.s.permits_per_minute, "gatewayRpm": self.s.gateway_rpm},
                )
            ]
        if kind == "downgrade":
            await self._downgrade(u, on=True, reason=why, actor=actor, index=i)
            return [BudgetNote(kind="downgraded", actor=actor, reason=why, detail={"classes": a.get("classes", [])})]
        return [BudgetNote(kind="notified", actor=actor, reason=why, detail={"percent": round(pct, 2)})]

    async def _downgrade(self, u: BudgetUsage, *, on: bool, reason: str, actor: str, index: int | None = None) -> None:
        classes = sorted(
            {
                c
                for j, a in enumerate(u.actions)
                if a["kind"] == "downgrade" and (index is None or j == index)
                for c in a["classes"]
            }
        )
        await workflow.execute_activity(
            "budget_downgrade",
            DowngradeInput(budget_id=u.budget_id, classes=classes, on=on, reason=reason, actor=actor),
            start_to_close_timeout=TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        self.s.downgraded = on

    async def _project(
        self,
        notes: list[BudgetNote],
        *,
        alerts: list[int] | None = None,
        percent: float | None = None,
        resolve_alerts_below: float | None = None,
    ) -> None:
        assert self.inp is not None
        self.seq += 1
        u = self.usage
        await workflow.execute_activity(
            "budget_project",
            BudgetProjection(
                budget_id=self.inp.budget_id,
                seq=self.seq,
                period_start=self.inp.period_start,
                period_end=self.inp.period_end,
                state=self.s,
                usage=u,
                notes=notes,
                alerts=alerts or [],
                percent=percent,
                resolve_alerts_below=resolve_alerts_below,
            ),
            start_to_close_timeout=TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    async def _close_period(self) -> NextPeriod:
        assert self.inp is not None
        if self.s.downgraded and self.usage is not None:
            await self._downgrade(self.usage, on=False, reason="a new budget period starts", actor="budget:period")
        self.seq += 1
        nxt: NextPeriod = await workflow.execute_activity(
            "budget_close_period",
            ClosePeriodInput(
                budget_id=self.inp.budget_id,
                period_start=self.inp.period_start,
                period_end=self.inp.period_end,
                seq=self.seq,
                waiting=len(self.s.waiting),
                gated=self.s.frozen or self.s.slowed,
                keep_freeze=self._manual_freeze(),
            ),
            result_type=NextPeriod,
            start_to_close_timeout=TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )
        return nxt

    async def _grant_permits(self) -> None:
        """Runs in a slowed-down scope wait for a permit; this grants them in order, at the slowdown's rate
        (at once when the budget is not slowed down: a run that asked just before a lift goes straight on)."""
        while True:
            await workflow.wait_condition(lambda: bool(self.s.waiting) and not self.s.frozen)
            wf = self.s.waiting[0]
            await self._grant(wf)
            if self.s.waiting and self.s.waiting[0] == wf:
                self.s.waiting.pop(0)
            if self.s.slowed:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: not self.s.slowed, timeout=60 / max(self.s.permits_per_minute, 1))

    async def _grant(self, wf: str) -> None:
        try:
            await workflow.get_external_workflow_handle(wf).signal("budget_permit", PermitGrant(budget_id=self._id()))
        except Exception as exc:  # the run is gone (cancelled, finished): nothing to grant
            workflow.logger.info("permit for %s not delivered: %s", wf, exc)

    def _manual_freeze(self) -> bool:
        return self.s.frozen and not self.s.frozen_by.startswith("budget:")

    def _id(self) -> str:
        return self.inp.budget_id if self.inp else ""


def _need_reason(c: BudgetControl) -> None:
    if not c.reason.strip():
        raise ApplicationError("A reason is required: say why (it is recorded in the audit log).", type="ReasonRequired")
    if not c.by:
        raise ApplicationError("The actor is required.", type="ActorRequired")
