"""RunWorkflow: executes a pipeline's DAG, ready steps in parallel on runner queues.

Controls are updates with validators (refusals reach the caller as errors with the reason):
cancel, pause, resume, approve, reject. The SQL projection follows through control activities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

with workflow.unsafe.imports_passed_through():
    from maestro.activities.projection import ProjectionActivities
    from maestro.activities.supply import SupplyActivities
    from maestro.finops.shared import PermitGrant, PermitRequest
    from maestro.pipelines.expr import ExprError, evaluate, evaluate_condition, interpolate
    from maestro.pipelines.shellsafe import make_safe
    from maestro.shared import (
        STATUS_ATTR,
        ActionInput,
        ActionResult,
        AttestInput,
        DirectAction,
        GateInput,
        GateOutcome,
        ProjectionBatch,
        ProjectionItem,
        RunInput,
        RunState,
        RunUpdate,
        SignedArtifact,
        SignInput,
        SourceInput,
        StepInput,
        StepOutcome,
        StepPlan,
        StepUpdate,
        rate_for,
        runner_queue,
    )
    from maestro.states import OUTPUTS_RUN, TERMINAL_STEP
    from maestro.workflows.controls import redeem, require_ticket

NATIVE_CANCEL_PATCH = "native-cancel-v1"
NATIVE_CANCEL_SOURCE_PATCH = "native-cancel-source-v1"  # the same, while the source is resolved
NATIVE_CANCEL_ACTOR = "temporal:native-cancel"  # Temporal does not tell the workflow who cancelled it
PROJECTION_TIMEOUT = timedelta(seconds=30)
PROJECTION_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10))


@workflow.defn(name="RunWorkflow")
class RunWorkflow:
    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.outputs: dict[str, dict[str, str]] = {}
        self.paused = False
        self.cancel_requested: ActionInput | None = None
        self.decisions: dict[str, tuple[bool, ActionInput]] = {}
        self.finished = False
        self.inp: RunInput | None = None
        self.commit: str | None = None
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.cancelled_unprojected: set[str] = set()
        self._pending: list[ProjectionItem] = []
        self.permits: set[str] = set()
        self._flusher: asyncio.Task[None] | None = None

    # ---- main ----------------------------------------------------------------------------
    @workflow.run
    async def run(self, inp: RunInput) -> str:
        self.inp = inp
        plan = {s.key: s for s in inp.steps}
        order = [s.key for s in inp.steps]
        for key in order:
            self.status[key] = "pending"
        if inp.permit_from:  # a slowed-down budget covers the run: it stays queued until each grants a permit
            await self._wait_for_permits(inp)
        await self._project_run("running")
        for key, reused in inp.reuse.items():
            if key in plan:
                self.status[key] = "succeeded"
                self.outputs[key] = reused.outputs
                await self._project_step(
                    StepUpdate(
                        run_id=inp.run_id,
                        key=key,
                        status="succeeded",
                        outputs=reused.outputs,
                        reused_from=reused.source_run_id,
                        message="reused from the earlier run",
                    )
                )
        if inp.source_url:
            pool = inp.steps[0].pool
            try:
                self.commit = await workflow.execute_activity(
                    "resolve_source",
                    SourceInput(run_id=inp.run_id, url=inp.source_url, ref=inp.source_ref),
                    result_type=str,
                    task_queue=runner_queue(pool, inp.runner_queue_prefix),
                    start_to_close_timeout=timedelta(minutes=10),
                    retry_policy=RetryPolicy(maximum_attempts=3, non_retryable_error_types=["SourceError"]),
                )
            except ActivityError as exc:
                if isinstance(exc.cause, CancelledError) and workflow.patched(NATIVE_CANCEL_SOURCE_PATCH):
                    # cancelled natively while the source was resolved (before: the run failed with
                    # "source: activity cancelled", unaudited): carried out like any native cancel
                    self.cancel_requested = self._natively_cancelled()
                    await self._audit_direct("cancel", self.cancel_requested)
                else:
                    cause = exc.cause.message if isinstance(exc.cause, ApplicationError) else str(exc)
                    for key in order:
                        if self.status[key] == "pending":
                            self.status[key] = "skipped"
                            await self._project_step(
                                StepUpdate(run_id=inp.run_id, key=key, status="skipped", message="source unavailable")
                            )
                    await self._project_run("failed", error=f"source: {cause}")
                    await self._projections_done()
                    self.finished = True
                    return "failed"
            else:
                await self._project_run("running", commit=self.commit)

        try:
            await self._drive(plan, order)  # returns at once when the run was cancelled before any step
        except asyncio.CancelledError:
            if not workflow.patched(NATIVE_CANCEL_PATCH):
                raise
            # cancelled natively (Temporal UI or `temporal workflow cancel`): an operator's power, audited,
            # and carried out like a cancel control
            self.cancel_requested = self._natively_cancelled()
            for t in self.tasks.values():
                if not t.done():
                    t.cancel()
            await self._audit_direct("cancel", self.cancel_requested)
            await workflow.wait_condition(lambda: all(t.done() for t in self.tasks.values()))

        if self.cancel_requested is not None:
            for key in order:
                if self.status[key] in {"pending", "waiting", "running"} or key in self.cancelled_unprojected:
                    self.status[key] = "cancelled"
                    await self._project_step(
                        StepUpdate(
                            run_id=inp.run_id,
                            key=key,
                            status="cancelled",
                            finished_at=workflow.now().isoformat(),
                            message=f"run cancelled by {self.cancel_requested.by}",
                        )
                    )
            final = "cancelled"
        elif any(s == "failed" for s in self.status.values()):
            final = "failed"
        else:
            final = "succeeded"
        if final == "succeeded" and workflow.patched("provenance-v1"):
            # provenance first, so a run shown as succeeded already has it; steps and artifacts are projected by then
            await self._projections_done()
            await self._attest(AttestInput(run_id=inp.run_id, finished_at=workflow.now().isoformat()))
        await self._project_run(
            final,
            error=(f"cancelled by {self.cancel_requested.by}: {self.cancel_requested.reason}" if self.cancel_requested else None),
        )
        await self._projections_done()
        self.finished = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        return final

    @staticmethod
    def _natively_cancelled() -> ActionInput:
        """Temporal does not tell the workflow who cancelled it: the actor says how it came."""
        return ActionInput(by=NATIVE_CANCEL_ACTOR, reason="cancelled natively in Temporal", via="temporal")

    async def _drive(self, plan: dict[str, StepPlan], order: list[str]) -> None:
        """Start every step whose needs are done, until nothing more can start and nothing runs."""
        inp = self.inp
        assert inp is not None
        while True:
            if self.cancel_requested is None:
                for key in order:
                    if self.status[key] != "pending" or key in self.tasks:
                        continue
                    step = plan[key]
                    needs = [self.status[n] for n in step.needs]
                    if any(s not in TERMINAL_STEP for s in needs):
                        continue
                    if not self._should_run(step, needs):
                        self.status[key] = "skipped"
                        await self._project_step(StepUpdate(run_id=inp.run_id, key=key, status="skipped"))
                        continue
                    if self.paused:
                        continue
                    self.status[key] = "running" if step.kind == "run" else "waiting"
                    self.tasks[key] = asyncio.create_task(self._execute(step))
            running = [k for k, t in self.tasks.items() if not t.done()]
            if not running and (self.cancel_requested is not None or not self._startable(plan, order)):
                return
            await workflow.wait_condition(lambda: self._changed)
            self._changed = False

    async def _attest(self, inp: AttestInput) -> None:
        """Signed SLSA provenance for the finished run (the control plane signs; retried; never fails the run)."""
        try:
            await workflow.execute_activity_method(
                SupplyActivities.attest_run,
                inp,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(maximum_attempts=10, maximum_interval=timedelta(seconds=30)),
            )
        except ActivityError as exc:
            workflow.logger.error("provenance for run %s could not be recorded: %s", inp.run_id, exc)

    _changed = False

    def _poke(self) -> None:
        self._changed = True

    def _startable(self, plan: dict[str, StepPlan], order: list[str]) -> bool:
        """True while some pending step can still start (now or after a resume)."""
        return any(self.status[k] == "pending" for k in order)

    def _ctx(self, step: StepPlan) -> dict[str, object]:
        assert self.inp is not None
        return {
            "params": dict(self.inp.inputs),
            "steps": {k.split("[")[0]: {"outputs": v} for k, v in self.outputs.items()}
            | {k: {"outputs": v} for k, v in self.outputs.items()},
            "matrix": step.matrix,
            "env": step.env,
            "run": {"env": self.inp.env_name, "id": self.inp.run_id, "pipeline": self.inp.pipeline, "commit": self.commit or ""},
        }

    def _should_run(self, step: StepPlan, needs: list[str]) -> bool:
        if not step.if_:
            return all(s == "succeeded" for s in needs)
        try:
            return evaluate_condition(step.if_, self._ctx(step), needs_status=needs)
        except ExprError:
            return False

    # ---- a step ---------------------------------------------------------------------------
    async def _execute(self, step: StepPlan) -> None:
        assert self.inp is not None
        try:
            if step.kind == "approval":
                await self._approval(step)
            elif step.kind == "sign":
                await self._sign(step)
            elif step.kind == "policy":
                await self._gate(step)
            else:
                await self._run_step(step)
        except asyncio.CancelledError:
            # the run was cancelled: the activity was cancelled with it (process group killed);
            # the main loop projects the step as cancelled
            self.status[step.key] = "cancelled"
            self.cancelled_unprojected.add(step.key)
        finally:
            self._poke()

    async def _approval(self, step: StepPlan) -> None:
        assert self.inp is not None
        message = step.message or "approval required"
        try:  # the approver sees what they approve: `Ship ${{ steps.build.outputs.version }}?` filled in
            message = interpolate(message, self._ctx(step))
        except ExprError as exc:
            message = f"{message} (expression error: {exc})"
        await self._project_step(
            StepUpdate(
                run_id=self.inp.run_id,
                key=step.key,
                status="waiting",
                message=message,
                started_at=workflow.now().isoformat(),
            )
        )
        await self._project_run("waiting")
        await workflow.wait_condition(lambda: step.key in self.decisions or self.cancel_requested is not None)
        if step.key not in self.decisions:
            return
        approved, who = self.decisions[step.key]
        self.status[step.key] = "succeeded" if approved else "failed"
        await self._project_step(
            StepUpdate(
                run_id=self.inp.run_id,
                key=step.key,
                status=self.status[step.key],
                finished_at=workflow.now().isoformat(),
                decided_by=who.by,
                decision_reason=who.reason,
                message="approved" if approved else "rejected",
            )
        )
        if self.cancel_requested is None:
            await self._project_run("paused" if self.paused else "running")

    async def _control_step(
        self,
        step: StepPlan,
        work: Callable[[], Awaitable[tuple[bool, str, dict[str, str]]]],
        *,
        failed: str,
        failed_outputs: dict[str, str],
    ) -> None:
        """A built-in step done by a control-plane activity: projected running, then with its outcome."""
        assert self.inp is not None
        rid = self.inp.run_id
        started = workflow.now()
        await self._project_step(
            StepUpdate(run_id=rid, key=step.key, status="running", attempt=1, started_at=started.isoformat())
        )
        try:
            ok, message, outputs = await work()
        except ActivityError as exc:
            root = exc.cause
            ok, outputs = False, failed_outputs
            message = f"{failed}: {root.message if isinstance(root, ApplicationError) else exc}"
        self.status[step.key] = "succeeded" if ok else "failed"
        if ok:
            self.outputs[step.key] = outputs
        now = workflow.now()
        await self._project_step(
            StepUpdate(
                run_id=rid,
                key=step.key,
                status=self.status[step.key],
                attempt=1,
                outputs=outputs,
                started_at=started.isoformat(),
                finished_at=now.isoformat(),
                duration_ms=int((now - started).total_seconds() * 1000),
                message=message[:2000],
            )
        )

    async def _gate(self, step: StepPlan) -> None:
        """`uses: policy`: the promote policies judge this run's artifacts, signatures and SBOM so far."""
        assert self.inp is not None
        rid, env = self.inp.run_id, str(step.with_.get("env") or self.inp.env_name)

        async def work() -> tuple[bool, str, dict[str, str]]:
            res: GateOutcome = await workflow.execute_activity_method(
                SupplyActivities.policy_gate,
                GateInput(run_id=rid, key=step.key, env=env),
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            message = (
                f"allowed by the promote policies for {env} (decision {res.decision_id})"
                if res.allowed
                else f"denied for {env}: " + "; ".join(res.reasons) + f" (decision {res.decision_id})"
            )
            return res.allowed, message, {"decision": res.decision_id, "allowed": str(res.allowed).lower()}

        await self._control_step(step, work, failed="policy evaluation failed (denied)", failed_outputs={})

    async def _sign(self, step: StepPlan) -> None:
        """`uses: sign`: the control plane (which holds the key; runners do not) signs the chosen artifacts."""
        assert self.inp is not None
        rid, patterns = self.inp.run_id, [str(p) for p in step.with_.get("artifacts", [])]

        async def work() -> tuple[bool, str, dict[str, str]]:
            signed: list[SignedArtifact] = await workflow.execute_activity_method(
                SupplyActivities.sign_artifacts,
                SignInput(run_id=rid, key=step.key, patterns=patterns),
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
            message = (
                f"signed {len(signed)} artifact(s): " + ", ".join(a.path for a in signed)
                if signed
                else f"no artifact of this run matches {patterns}; sign after the steps that upload them (needs:)"
            )
            return bool(signed), message, {"signed": str(len(signed))}

        await self._control_step(step, work, failed="signing failed", failed_outputs={"signed": "0"})

    async def _run_step(self, step: StepPlan) -> None:
        assert self.inp is not None
        inp = self.inp
        ctx = self._ctx(step)
        safe = make_safe(step.run or "")  # inputs never become shell text: the command refers to env vars
        command = safe.command
        if safe.errors and workflow.patched("shellsafe-refusals-v1"):  # a version saved before these were refused
            self.status[step.key] = "failed"
            await self._project_step(
                StepUpdate(
                    run_id=inp.run_id, key=step.key, status="failed", message=("refused: " + "; ".join(safe.errors))[:2000]
                )
            )
            return
        try:
            env = {k: interpolate(v, ctx) for k, v in step.env.items()}
            env.update({name: evaluate(expr, ctx) for name, expr in safe.refs.items()})
        except ExprError as exc:
            self.status[step.key] = "failed"
            await self._project_step(
                StepUpdate(run_id=inp.run_id, key=step.key, status="failed", message=f"expression error: {exc}")
            )
            return
        rate = rate_for(inp.rate_card, step.pool)
        total_cost = 0.0
        for attempt in range(1, step.retries + 2):
            await self._project_step(
                StepUpdate(
                    run_id=inp.run_id,
                    key=step.key,
                    status="running",
                    attempt=attempt,
                    started_at=workflow.now().isoformat(),
                    message="",
                )
            )
            try:
                outcome: StepOutcome = await workflow.execute_activity(
                    "run_step",
                    StepInput(
                        run_id=inp.run_id,
                        key=step.key,
                        attempt=attempt,
                        command=command,
                        env=env,
                        timeout_s=step.timeout_s,
                        artifacts=step.artifacts,
                        source_url=inp.source_url,
                        commit=self.commit,
                        log_max_lines=inp.log_max_lines,
                        log_max_line_bytes=inp.log_max_line_bytes,
                        builtin="sbom" if step.kind == "sbom" else "",
                        with_=step.with_ if step.kind == "sbom" else {},
                        network=step.network,
                        keep_workspace=step.keep_workspace,
                    ),
                    result_type=StepOutcome,
                    task_queue=runner_queue(step.pool, inp.runner_queue_prefix),
                    start_to_close_timeout=timedelta(seconds=step.timeout_s + 120),
                    heartbeat_timeout=timedelta(seconds=10),
                    retry_policy=RetryPolicy(
                        maximum_attempts=3, initial_interval=timedelta(seconds=1), non_retryable_error_types=["SourceError"]
                    ),
                    cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
                )
            except (ActivityError, CancelledError) as exc:
                if (
                    self.cancel_requested is not None
                    or isinstance(exc, CancelledError)
                    or isinstance(getattr(exc, "cause", None), CancelledError)
                ):
                    self.status[step.key] = "cancelled"
                    await self._project_step(
                        StepUpdate(
                            run_id=inp.run_id,
                            key=step.key,
                            status="cancelled",
                            finished_at=workflow.now().isoformat(),
                            message="cancelled; process group killed",
                        )
                    )
                    return
                root = getattr(exc, "cause", None)
                cause = root.message if isinstance(root, ApplicationError) else str(exc)
                self.status[step.key] = "failed"
                await self._project_step(
                    StepUpdate(
                        run_id=inp.run_id,
                        key=step.key,
                        status="failed",
                        finished_at=workflow.now().isoformat(),
                        message=cause[:2000],
                    )
                )
                return
            total_cost += round(outcome.duration_ms / 1000 * rate, 8)
            ok = outcome.exit_code == 0 and not outcome.timed_out
            last = attempt == step.retries + 1
            # a failed attempt with retries left stays "running": the next attempt starts right away
            status = "succeeded" if ok else "failed" if last or self.cancel_requested is not None else "running"
            if ok:
                self.outputs[step.key] = outcome.outputs
            msg = outcome.message or (
                "" if ok else f"exit code {outcome.exit_code}" + ("" if last else f"; retrying ({attempt}/{step.retries})")
            )
            await self._project_step(
                StepUpdate(
                    run_id=inp.run_id,
                    key=step.key,
                    status=status,
                    attempt=attempt,
                    exit_code=outcome.exit_code,
                    outputs=outcome.outputs,
                    started_at=outcome.started_at,
                    finished_at=outcome.finished_at,
                    duration_ms=outcome.duration_ms,
                    cost_usd=round(total_cost, 8),
                    log_lines=outcome.log_lines,
                    message=msg,
                    isolation=outcome.isolation or None,
                    execution=outcome.execution,
                )
            )
            if ok or last or self.cancel_requested is not None:
                self.status[step.key] = "succeeded" if ok else "failed"
                return

    # ---- projection helpers ---------------------------------------------------------------
    # Updates queue up and a single flusher applies them in order, as batches, with local
    # activities (no task-queue round trip). The DAG never awaits them; a burst of parallel steps
    # costs one SQL transaction, not one per update.
    def _enqueue(self, item: ProjectionItem) -> None:
        self._pending.append(item)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        assert self.inp is not None
        while self._pending:
            batch, self._pending = self._pending, []
            await workflow.execute_local_activity_method(
                ProjectionActivities.project_batch,
                ProjectionBatch(run_id=self.inp.run_id, items=batch),
                start_to_close_timeout=PROJECTION_TIMEOUT,
                retry_policy=PROJECTION_RETRY,
            )

    @workflow.signal
    def budget_permit(self, grant: PermitGrant) -> None:
        self.permits.add(grant.budget_id)

    async def _wait_for_permits(self, inp: RunInput) -> None:
        me = workflow.info().workflow_id
        asked = 0
        for wf in inp.permit_from:
            try:
                await workflow.get_external_workflow_handle(wf).signal("request_permit", PermitRequest(workflow_id=me))
                asked += 1
            except Exception as exc:  # the budget is gone: nothing to wait for
                workflow.logger.info("budget %s did not take the permit request: %s", wf, exc)
        await workflow.wait_condition(lambda: len(self.permits) >= asked or self.cancel_requested is not None)

    async def _projections_done(self) -> None:
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        if self._pending:
            self._flusher = asyncio.create_task(self._flush())
            await self._flusher

    async def _project_step(self, upd: StepUpdate) -> None:
        self._enqueue(ProjectionItem(step=upd))

    async def _project_run(self, status: str, *, commit: str | None = None, error: str | None = None) -> None:
        assert self.inp is not None
        workflow.upsert_search_attributes([STATUS_ATTR.value_set(status)])
        outputs = dict(self.outputs) if status in OUTPUTS_RUN else None
        self._enqueue(
            ProjectionItem(
                run=RunUpdate(
                    run_id=self.inp.run_id,
                    status=status,
                    at=workflow.now().isoformat(),
                    commit=commit,
                    error=error,
                    paused=self.paused,
                    outputs=outputs,
                )
            ),
        )

    # ---- controls -------------------------------------------------------------------------
    def _refuse_if_finished(self) -> None:
        if self.finished or self.cancel_requested is not None:
            raise ApplicationError("the run has already finished or is being cancelled", type="InvalidState")

    async def _audit_direct(self, action: str, req: ActionInput, step: str | None = None) -> None:
        """A control that came straight through Temporal, not through the API (which audits its own), is audited here."""
        if req.via == "api" or not workflow.patched("audit-direct-actions-v1"):
            return
        assert self.inp is not None
        await workflow.execute_local_activity_method(
            ProjectionActivities.audit_direct_action,
            DirectAction(run_id=self.inp.run_id, action=action, by=req.by, reason=req.reason, step=step, via=req.via),
            start_to_close_timeout=PROJECTION_TIMEOUT,
            retry_policy=PROJECTION_RETRY,
        )

    async def _authorize(self, action: str, req: ActionInput) -> ActionInput:
        """The ticket, not the caller, says who sent a control and how it came (api or temporal)."""
        claims = await redeem(req.ticket, action)
        if claims is None:  # a control accepted before tickets existed, replayed
            return req
        return ActionInput(by=claims.actor, reason=req.reason, step=req.step, via=claims.via)

    @workflow.update
    async def cancel(self, req: ActionInput) -> ActionResult:
        req = await self._authorize("cancel", req)
        self._refuse_if_finished()
        self.cancel_requested = req
        for t in self.tasks.values():
            if not t.done():
                t.cancel()
        self._poke()
        await self._audit_direct("cancel", req)
        return ActionResult(status="cancelling")

    @cancel.validator
    def validate_cancel(self, req: ActionInput) -> None:
        require_ticket(req.ticket)
        self._refuse_if_finished()

    @workflow.update
    async def pause(self, req: ActionInput) -> ActionResult:
        req = await self._authorize("pause", req)
        self._check_pause()
        self.paused = True
        await self._project_run("paused")
        await self._audit_direct("pause", req)
        return ActionResult(status="paused", detail="running steps finish; no new step starts until resume")

    @pause.validator
    def validate_pause(self, req: ActionInput) -> None:
        require_ticket(req.ticket)
        self._check_pause()

    def _check_pause(self) -> None:
        self._refuse_if_finished()
        if self.paused:
            raise ApplicationError("the run is already paused", type="InvalidState")

    @workflow.update
    async def resume(self, req: ActionInput) -> ActionResult:
        req = await self._authorize("resume", req)
        self._check_resume()
        self.paused = False
        waiting = any(s == "waiting" for s in self.status.values())
        await self._project_run("waiting" if waiting else "running")
        self._poke()
        await self._audit_direct("resume", req)
        return ActionResult(status="running")

    @resume.validator
    def validate_resume(self, req: ActionInput) -> None:
        require_ticket(req.ticket)
        self._check_resume()

    def _check_resume(self) -> None:
        self._refuse_if_finished()
        if not self.paused:
            raise ApplicationError("the run is not paused", type="InvalidState")

    def _waiting_step(self, req: ActionInput) -> str:
        waiting = [k for k, s in self.status.items() if s == "waiting" and k not in self.decisions]
        if req.step:
            if req.step not in waiting:
                raise ApplicationError(
                    f"step {req.step!r} is not waiting for approval (waiting: {waiting or 'none'})", type="InvalidState"
                )
            return req.step
        if len(waiting) != 1:
            raise ApplicationError(
                "no step is waiting for approval" if not waiting else f"several steps wait for approval ({waiting}); name one",
                type="InvalidState",
            )
        return waiting[0]

    @workflow.update
    async def approve(self, req: ActionInput) -> ActionResult:
        req = await self._authorize("approve", req)
        self._refuse_if_finished()
        key = self._waiting_step(req)
        self.decisions[key] = (True, req)
        self._poke()
        await self._audit_direct("approve", req, key)
        return ActionResult(status="approved", detail=key)

    @approve.validator
    def validate_approve(self, req: ActionInput) -> None:
        require_ticket(req.ticket)
        self._refuse_if_finished()
        self._waiting_step(req)

    @workflow.update
    async def reject(self, req: ActionInput) -> ActionResult:
        req = await self._authorize("reject", req)
        self._refuse_if_finished()
        key = self._waiting_step(req)
        self.decisions[key] = (False, req)
        self._poke()
        await self._audit_direct("reject", req, key)
        return ActionResult(status="rejected", detail=key)

    @reject.validator
    def validate_reject(self, req: ActionInput) -> None:
        require_ticket(req.ticket)
        self._refuse_if_finished()
        self._waiting_step(req)

    @workflow.query
    def get_state(self) -> RunState:
        status = "finished" if self.finished else "paused" if self.paused else "running"
        return RunState(
            status=status,
            paused=self.paused,
            steps=dict(self.status),
            waiting=[k for k, s in self.status.items() if s == "waiting"],
        )
