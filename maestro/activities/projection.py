"""Control-queue activities: keep the SQL projection in step with the workflow and publish run events."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from maestro.domain import tickets
from maestro.domain.auditlog import append_audit, publish_audit_with
from maestro.domain.runs import Run, StepRun
from maestro.events import make_envelope
from maestro.events.payloads import RunEventPayload, StepEventPayload
from maestro.events.streams import LOG_STREAM_TTL_SECONDS, add, audit_publisher, logs_key
from maestro.finops import ledger
from maestro.shared import DirectAction, ProjectionBatch, Redeemed, RedeemInput, RunUpdate, StepUpdate, direct_actor
from maestro.states import TERMINAL_RUN, TERMINAL_STEP, RunStatus, StepStatus, run_transition


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def run_payload(run: Run, steps: list[StepRun]) -> RunEventPayload:
    return RunEventPayload(
        run_id=run.id,
        workflow_id=run.workflow_id,
        pipeline=run.pipeline_name,
        number=run.number,
        env=run.env,
        status=RunStatus(run.status),
        paused=run.paused,
        steps_done=sum(1 for s in steps if s.status in TERMINAL_STEP),
        steps_total=len(steps),
        cost_usd=round(run.cost_usd, 6),
        duration_ms=run.duration_ms,
        error=run.error,
    )


def step_payload(st: StepRun) -> StepEventPayload:
    return StepEventPayload(
        run_id=st.run_id,
        key=st.key,
        name=st.name,
        status=StepStatus(st.status),
        attempt=st.attempt,
        exit_code=st.exit_code,
        duration_ms=st.duration_ms,
        message=st.message,
        started_at=st.started_at,
        finished_at=st.finished_at,
    )


def _merge_attempt(attempts: list[dict[str, Any]], upd: StepUpdate) -> list[dict[str, Any]]:
    """One record per attempt: the timeline draws each attempt's bar."""
    out = [dict(a) for a in attempts]
    rec = next((a for a in out if a.get("attempt") == upd.attempt), None)
    if rec is None:
        rec = {
            "attempt": upd.attempt,
            "status": upd.status,
            "startedAt": None,
            "finishedAt": None,
            "exitCode": None,
            "durationMs": None,
            "message": "",
        }
        out.append(rec)
    finished = upd.finished_at is not None or upd.exit_code is not None
    rec["status"] = ("succeeded" if upd.exit_code == 0 else "failed") if finished and upd.status == "running" else upd.status
    if upd.started_at:
        rec["startedAt"] = upd.started_at
    if upd.finished_at:
        rec["finishedAt"] = upd.finished_at
    if upd.exit_code is not None:
        rec["exitCode"] = upd.exit_code
    if upd.duration_ms is not None:
        rec["durationMs"] = upd.duration_ms
    if upd.message:
        rec["message"] = upd.message
    if upd.execution is not None:
        rec["execution"] = upd.execution
    if upd.isolation:
        rec["isolation"] = upd.isolation
    out.sort(key=lambda a: int(a.get("attempt") or 0))
    return out


def failure_summary(steps: list[StepRun]) -> str:
    """``step build failed: exit code 3; …`` for the failed steps, in pipeline order."""
    failed = sorted((x for x in steps if x.status == "failed"), key=lambda x: (x.position, x.key))
    parts = [
        f"step {x.key} failed: {x.message or (f'exit code {x.exit_code}' if x.exit_code is not None else 'no detail')}"
        for x in failed
    ]
    return "; ".join(parts)[:2000]


def step_spend(run: Run, st: StepRun, project: str) -> dict[str, Any]:
    """The ledger row of a finished step: its runner time at the rate card (every attempt counted)."""
    return {
        "tenant_id": run.tenant_id,
        "source": "run-step",
        # a long matrix key is hashed: the source id stays within its column and is still one per step
        "source_id": f"{run.id}:{st.key}" if len(st.key) <= 160 else f"{run.id}:{hashlib.sha256(st.key.encode()).hexdigest()}",
        "ts": st.finished_at or datetime.now(UTC),
        "project": project,
        "env": run.env,
        "pipeline": run.pipeline_name,
        "run_id": run.id,
        "step": st.key[:200],
        "labels": dict(run.labels),
        "usd": st.cost_usd,
        "runner_seconds": round((st.duration_ms or 0) / 1000, 3),
        "description": f"{run.pipeline_name} #{run.number} {st.key} on pool {st.pool}"[:500],
    }


class ProjectionActivities:
    def __init__(self, *, engine: Engine, redis: Redis, stream_maxlen: int = 10_000) -> None:
        self.engine = engine
        self.redis = redis
        self.maxlen = stream_maxlen

    def _apply_run(self, run: Run, upd: RunUpdate) -> str | None:
        """Apply a run update; returns the event type to publish, None when the update came after
        the run ended with another status (it never moves a finished run)."""
        previous = run.status
        if not run_transition(previous, upd.status):
            activity.logger.warning("run %s is %s: a late %s update was ignored", run.id, previous, upd.status)
            return None
        at = _dt(upd.at)
        run.status = upd.status
        if upd.commit is not None:
            run.commit = upd.commit
        if upd.error is not None:
            run.error = upd.error[:2000]
        if upd.paused is not None:
            run.paused = upd.paused
        if upd.outputs is not None:
            run.outputs = upd.outputs
        if upd.status == "running" and run.started_at is None:
            run.started_at = at
        if upd.status in TERMINAL_RUN:
            run.finished_at = run.finished_at or at
            if run.started_at and run.finished_at:
                run.duration_ms = int((run.finished_at - run.started_at).total_seconds() * 1000)
            return "run_completed"
        if upd.status == "running" and previous == "queued":
            return "run_started"
        return "run_progress"

    @staticmethod
    def _apply_step(st: StepRun, upd: StepUpdate) -> str:
        st.status = upd.status
        for f in (
            "exit_code",
            "outputs",
            "duration_ms",
            "cost_usd",
            "log_lines",
            "message",
            "decided_by",
            "decision_reason",
            "reused_from",
            "isolation",
        ):
            v = getattr(upd, f)
            if v is not None:
                setattr(st, f, v)
        if upd.attempt:
            st.attempt = upd.attempt
        if upd.started_at:
            st.started_at = _dt(upd.started_at)
        if upd.finished_at:
            st.finished_at = _dt(upd.finished_at)
        if upd.status == "running" and not upd.finished_at:
            st.finished_at, st.exit_code = None, None
        if upd.attempt:
            st.attempts = _merge_attempt(st.attempts, upd)
        if upd.status == "running":
            return "step_started"
        if upd.status == "waiting":
            return "approval_requested"
        return "step_completed" if upd.status in TERMINAL_STEP else "step_updated"

    @activity.defn(name="redeem_control_ticket")
    def redeem_control_ticket(self, inp: RedeemInput) -> Redeemed:
        """Verify and use up a control ticket before a workflow acts on a control (see maestro.domain.tickets)."""
        try:
            claims = tickets.redeem(self.engine, inp.ticket, workflow_id=inp.workflow_id, action=inp.action)
        except tickets.TicketError as exc:
            raise ApplicationError(str(exc), type="InvalidTicket", non_retryable=True) from None
        return Redeemed(actor=claims.actor, via=claims.via)

    @activity.defn(name="audit_direct_action")
    def audit_direct_action(self, act: DirectAction) -> None:
        """Audit a control sent straight through Temporal: the actor is the user its ticket named (or the
        workflow's own, e.g. a native cancel)."""
        with Session(self.engine) as s:
            publish_audit_with(s, audit_publisher(self.redis, self.maxlen))
            append_audit(
                s,
                actor=direct_actor(act.by, act.via),
                action=f"run.{act.action}",
                target_type="run",
                target_id=act.run_id,
                change={"reason": act.reason, "step": act.step, "via": act.via},
            )
            s.commit()

    @activity.defn(name="project_batch")
    def project_batch(self, batch: ProjectionBatch) -> None:
        """Apply updates in order in one transaction, then publish their events."""
        events: list[tuple[str, RunEventPayload | StepEventPayload]] = []
        with Session(self.engine, expire_on_commit=False) as s:
            run = s.get(Run, batch.run_id)
            if run is None:  # retrying cannot bring it back: fail the batch for good rather than stall the run
                raise ApplicationError(f"run {batch.run_id} missing from the projection", type="RunMissing", non_retryable=True)
            steps = {st.key: st for st in s.exec(select(StepRun).where(StepRun.run_id == run.id)).all()}
            spend: list[dict[str, Any]] = []
            for item in batch.items:
                if item.step is not None:
                    st = steps.get(item.step.key)
                    if st is None:
                        raise ValueError(f"step {item.step.key} of run {run.id} missing from the projection")
                    kind = self._apply_step(st, item.step)
                    s.add(st)
                    if item.step.status in TERMINAL_STEP and st.cost_usd > 0:
                        spend.append(step_spend(run, st, ledger.project_of(s, tenant_id=run.tenant_id, env=run.env)))
                    events.append((kind, step_payload(st)))
                if item.run is not None:
                    run.cost_usd = sum(x.cost_usd for x in steps.values())
                    run_kind = self._apply_run(run, item.run)
                    if run_kind is None:
                        continue
                    if run.status == "failed" and not run.error:  # a failed run says why: its failed steps
                        run.error = failure_summary(list(steps.values()))
                    events.append((run_kind, run_payload(run, list(steps.values()))))
            run.cost_usd = sum(x.cost_usd for x in steps.values())
            isolations = {x.isolation for x in steps.values() if x.isolation}
            if isolations:
                run.isolation = "none" if "none" in isolations else "sandbox"
            run.steps_total = len(steps)
            run.steps_done = sum(1 for x in steps.values() if x.status in TERMINAL_STEP)
            s.add(run)
            if spend:  # the ledger row commits with the step it prices, once (a retried batch adds nothing)
                ledger.record(s, spend)
            s.commit()
        if any(item.step is not None for item in batch.items):
            events.append(("run_progress", run_payload(run, list(steps.values()))))
        try:
            pipe = self.redis.pipeline(transaction=False)
            for kind, payload in events:
                env = make_envelope(
                    type=kind, entity="run", id=run.id, payload=payload, trace_id=run.trace_id, tenant=run.tenant_id, env=run.env
                )
                add(pipe, "runs", env, maxlen=self.maxlen)
            if run.status in TERMINAL_RUN:  # every line is durable in SQL now: the live stream goes
                pipe.expire(logs_key(run.id), LOG_STREAM_TTL_SECONDS)
            pipe.execute()
        except Exception:
            activity.logger.warning("run event publish failed", exc_info=True)
