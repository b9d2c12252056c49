"""Control-queue activities: keep the SQL projection in step with the workflow and publish run events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio import activity

from maestro.domain.runs import Run, StepRun
from maestro.events import make_envelope
from maestro.events.streams import stream_key
from maestro.shared import RunUpdate, StepUpdate


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


class ProjectionActivities:
    def __init__(self, *, engine: Engine, redis: Redis, stream_maxlen: int = 10_000) -> None:
        self.engine = engine
        self.redis = redis
        self.maxlen = stream_maxlen

    def _publish(self, type_: str, run: Run, payload: dict[str, Any]) -> None:
        env = make_envelope(type=type_, entity="run", id=run.id, payload=payload, trace_id=run.trace_id)
        try:
            self.redis.xadd(stream_key("runs"), {"e": env.model_dump_json(by_alias=True)}, maxlen=self.maxlen, approximate=True)
        except Exception:
            activity.logger.warning("run event publish failed", exc_info=True)

    @staticmethod
    def _run_payload(run: Run, steps: list[StepRun]) -> dict[str, Any]:
        done = sum(1 for s in steps if s.status in {"succeeded", "failed", "skipped", "cancelled"})
        return {
            "runId": run.id,
            "workflowId": run.workflow_id,
            "pipeline": run.pipeline_name,
            "number": run.number,
            "env": run.env,
            "status": run.status,
            "paused": run.paused,
            "stepsDone": done,
            "stepsTotal": len(steps),
            "costUsd": round(run.cost_usd, 6),
            "durationMs": run.duration_ms,
        }

    @activity.defn(name="project_run")
    def project_run(self, upd: RunUpdate) -> None:
        with Session(self.engine, expire_on_commit=False) as s:
            run = s.get(Run, upd.run_id)
            if run is None:
                raise ValueError(f"run {upd.run_id} missing from the projection")
            at = _dt(upd.at)
            previous = run.status
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
            if upd.status in {"succeeded", "failed", "cancelled", "error"}:
                run.finished_at = run.finished_at or at
                if run.started_at and run.finished_at:
                    run.duration_ms = int((run.finished_at - run.started_at).total_seconds() * 1000)
            steps = list(s.exec(select(StepRun).where(StepRun.run_id == run.id)).all())
            run.cost_usd = sum(st.cost_usd for st in steps)
            s.add(run)
            s.commit()
        payload = self._run_payload(run, steps)
        if upd.status == "running" and previous == "queued":
            self._publish("run_started", run, payload)
        elif upd.status in {"succeeded", "failed", "cancelled", "error"}:
            self._publish("run_completed", run, payload)
        else:
            self._publish("run_progress", run, payload)

    @activity.defn(name="project_step")
    def project_step(self, upd: StepUpdate) -> None:
        with Session(self.engine, expire_on_commit=False) as s:
            st = s.exec(select(StepRun).where(StepRun.run_id == upd.run_id, StepRun.key == upd.key)).first()
            run = s.get(Run, upd.run_id)
            if st is None or run is None:
                raise ValueError(f"step {upd.key} of run {upd.run_id} missing from the projection")
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
            if upd.status == "running":
                st.finished_at, st.exit_code = None, None
            s.add(st)
            steps = list(s.exec(select(StepRun).where(StepRun.run_id == run.id)).all())
            run.cost_usd = sum(x.cost_usd for x in steps)
            s.add(run)
            s.commit()
        step_payload = {
            "runId": upd.run_id,
            "key": st.key,
            "name": st.name,
            "status": st.status,
            "attempt": st.attempt,
            "exitCode": st.exit_code,
            "durationMs": st.duration_ms,
            "message": st.message,
        }
        if upd.status == "running":
            self._publish("step_started", run, step_payload)
        elif upd.status == "waiting":
            self._publish("approval_requested", run, {**step_payload, "message": st.message})
        else:
            self._publish(
                "step_completed" if upd.status in {"succeeded", "failed", "skipped", "cancelled"} else "step_updated",
                run,
                step_payload,
            )
        self._publish("run_progress", run, self._run_payload(run, steps))
