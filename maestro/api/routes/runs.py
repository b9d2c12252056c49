from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import Field
from sqlmodel import Session, col, or_, select
from starlette.background import BackgroundTask
from temporalio.client import Client

from maestro.api import tickets
from maestro.api.budget_gate import frozen_problem
from maestro.api.controls import execute_control
from maestro.api.deps import Require, RuntimeDep, SessionDep, TemporalDep, authorize, readable_envs, run_or_404
from maestro.api.gates import enforce
from maestro.api.pagination import ApiModel, Items, Page, PageParams, page_params, paginate
from maestro.api.problems import Problem
from maestro.api.schemas import FIRST_ITEM_ID, INT32_MAX, InputModel, TicketCreate, TicketPublic, links
from maestro.api.search import contains
from maestro.artifacts import DigestMismatch, make_store
from maestro.context import current_trace_id
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.runs import Artifact, LogChunk, Run, StepExecution, StepRun, TraceSpan
from maestro.finops import service as budgets
from maestro.finops.service import BudgetFrozen
from maestro.pipelines import launch, store
from maestro.pipelines.spec import SpecError
from maestro.pipelines.triage import RunFailure, run_failure
from maestro.shared import ActionInput, ActionResult, rate_for
from maestro.states import RERUNNABLE_RUN, TERMINAL_RUN, RunStatus, StepStatus

router = APIRouter(tags=["runs"])

Reader = Annotated[Principal, Require("runs:read", scope="any")]
Writer = Annotated[Principal, Require("runs:write", scope="any")]


class RunCreate(InputModel):
    pipeline: str = Field(description="Pipeline name or id.")
    version: int | None = Field(None, ge=1, le=INT32_MAX, description="Default: the latest version.")
    inputs: dict[str, str | float | bool] = Field(default_factory=dict)
    ref: str | None = Field(None, max_length=200, description="Git ref/commit of the pipeline's source.")
    env: str = Field("dev", max_length=63)
    labels: dict[str, str] = Field(default_factory=dict)


class StepAttempt(ApiModel):
    attempt: int
    status: StepStatus
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    duration_ms: int | None = None
    message: str = ""
    execution: int = Field(1, description="Execution of this attempt: > 1 when a lost runner's step ran again.")
    isolation: str = Field("", description="How the runner isolated this execution: sandbox or none.")


class StepExecutionPublic(ApiModel):
    """One runner execution of an attempt: a second one means the first one's runner was lost."""

    attempt: int
    execution: int
    status: Literal["running", "finished", "lost"]
    reason: str = Field(description="Why it started: the first execution, or the previous runner was lost.")
    host: str
    isolation: str
    started_at: datetime
    last_seen_at: datetime
    finished_at: datetime | None
    exit_code: int | None
    duration_ms: int = Field(description="Until it finished, or until it was last seen alive (lost).")
    log_lines: int
    cost_usd: float = Field(description="Its runner-seconds × the pool's rate.")


class StepPublic(ApiModel):
    id: str
    key: str
    step_id: str
    name: str
    kind: str
    position: int
    needs: list[str]
    pool: str
    status: StepStatus
    attempt: int
    exit_code: int | None
    outputs: dict[str, str]
    attempts: list[StepAttempt] = Field(default_factory=list, description="Every attempt, oldest first (retries).")
    reused_from: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    cost_usd: float
    log_lines: int
    message: str
    decided_by: str | None
    decision_reason: str | None
    isolation: str = Field(
        "", description="sandbox: ran in the step sandbox; none: on a runner an admin set to MAESTRO_RUNNER_ISOLATION=none"
    )
    command: str = Field(
        "", description="What the shell executes: `run` with every ${{ }} replaced by a quoted env variable reference."
    )
    executions: list[StepExecutionPublic] = Field(
        default_factory=list, description="Every runner execution of every attempt, oldest first."
    )


class ArtifactPublic(ApiModel):
    id: str
    run_id: str
    step_key: str
    path: str
    sha256: str
    size: int
    media_type: str
    created_at: datetime


class RunPublic(ApiModel):
    id: str
    pipeline_id: str
    pipeline_name: str
    version: int
    number: int
    workflow_id: str
    status: RunStatus
    env: str
    ref: str
    branch: str
    commit: str
    inputs: dict[str, Any]
    labels: dict[str, str]
    owner: str
    trace_id: str
    cost_usd: float
    steps_total: int
    steps_done: int
    rerun_of: str | None
    error: str
    paused: bool
    isolation: str = Field("", description="none: at least one step ran without the step sandbox")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class RunDetail(RunPublic):
    outputs: dict[str, Any]
    steps: list[StepPublic]
    artifacts: list[ArtifactPublic]
    attestations: list[dict[str, Any]] = Field(
        default_factory=list, description="Signed attestations (none until signing is configured)."
    )
    temporal_ui_url: str | None
    failure: RunFailure | None = Field(
        None, description="A failed run's first failed step, its exit code and last stderr lines (null otherwise)."
    )


class RunAction(InputModel):
    action: Literal["cancel", "pause", "resume", "approve", "reject", "rerun", "rerun-failed", "promote"]
    reason: str = Field("", max_length=2000)
    step: str | None = Field(None, max_length=200, description="Approval step key (when several wait).")
    service: str | None = Field(None, max_length=63, description="promote: the service whose canary this run's artifact is")
    canary_url: str | None = Field(None, max_length=2000, description="promote: where the new version answers")
    steps: list[dict[str, Any]] | None = Field(None, description="promote: rollout steps (default 10→25→50→100 with analyses)")


class RunActionResult(ApiModel):
    action: str
    status: str
    detail: str = ""
    run: RunPublic


def _ui_link(rt: RuntimeDep, run: Run) -> str | None:
    base = rt.settings.effective_temporal_ui_url
    return f"{base}/namespaces/{rt.settings.temporal_namespace}/workflows/{run.workflow_id}" if base else None


def _executions(rt: RuntimeDep, s: Session, run: Run, steps: list[StepRun]) -> dict[str, list[StepExecutionPublic]]:
    rows = s.exec(select(StepExecution).where(StepExecution.run_id == run.id).order_by(col(StepExecution.id))).all()
    current = {st.key: (st.attempt, st.status) for st in steps}
    pool_of = {st.key: st.pool for st in steps}
    out: dict[str, list[StepExecutionPublic]] = {}
    latest: dict[tuple[str, int], int] = {}
    for r in rows:
        latest[(r.step_key, r.attempt)] = max(latest.get((r.step_key, r.attempt), 0), r.execution)
    for r in rows:
        if r.finished_at is not None:
            status = "finished"
        else:
            attempt, st_status = current.get(r.step_key, (0, ""))
            live = r.attempt == attempt and r.execution == latest[(r.step_key, r.attempt)] and st_status == "running"
            status = "running" if live else "lost"
        ms = r.duration_ms if r.duration_ms is not None else int((r.seen_at - r.started_at).total_seconds() * 1000)
        rate = rate_for(rt.settings.rate_card, pool_of.get(r.step_key, "default"))
        out.setdefault(r.step_key, []).append(
            StepExecutionPublic(
                attempt=r.attempt,
                execution=r.execution,
                status=status,  # type: ignore[arg-type]
                reason=r.reason,
                host=r.host,
                isolation=r.isolation,
                started_at=r.started_at,
                last_seen_at=r.seen_at,
                finished_at=r.finished_at,
                exit_code=r.exit_code,
                duration_ms=max(ms, 0),
                log_lines=r.log_lines,
                cost_usd=round(max(ms, 0) / 1000 * rate, 8),
            )
        )
    return out


def _detail(rt: RuntimeDep, s: Session, run: Run) -> RunDetail:
    rows = list(store.steps_of(s, run_id=run.id))
    executions = _executions(rt, s, run, rows)
    steps = [StepPublic.model_validate(x).model_copy(update={"executions": executions.get(x.key, [])}) for x in rows]
    arts = [
        ArtifactPublic.model_validate(a)
        for a in s.exec(select(Artifact).where(Artifact.run_id == run.id).order_by(col(Artifact.created_at))).all()
    ]
    failure = run_failure(s, run=run, steps=rows)
    return RunDetail.model_validate(
        {**run.model_dump(), "steps": steps, "artifacts": arts, "temporal_ui_url": _ui_link(rt, run), "failure": failure}
    )


@router.post("/runs", operation_id="runs-create", response_model=RunDetail, status_code=201)
async def create_run(
    *, body: RunCreate, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Writer
) -> RunDetail:
    """Start a run of a pipeline version in an environment."""
    authorize(session, principal, "runs:write", body.env)
    pipeline = store.find_pipeline(session, tenant_id=principal.tenant_id, ref=body.pipeline)
    if pipeline is None:
        raise Problem(404, f"No pipeline {body.pipeline!r}.", errors=[{"field": "pipeline", "message": "unknown pipeline"}])
    version = store.get_version(session, pipeline=pipeline, version=body.version or pipeline.latest_version)
    if version is None:
        raise Problem(
            404,
            f"Pipeline {pipeline.name} has no version {body.version}.",
            errors=[{"field": "version", "message": "unknown version"}],
        )
    enforce(
        rt,
        principal,
        point="run_start",
        input_doc={
            "point": "run_start",
            "pipeline": pipeline.name,
            "version": version.version,
            "env": body.env,
            "inputs": dict(body.inputs),
            "ref": body.ref,
            "labels": body.labels,
            "actor": principal.actor,
        },
        subject=f"run of {pipeline.name} v{version.version} in {body.env}",
        field="body",
        status=403,
    )
    try:
        run = await launch.start_run(
            session=session,
            temporal=temporal,
            settings=rt.settings,
            pipeline=pipeline,
            version=version,
            inputs=dict(body.inputs),
            env=body.env,
            ref=body.ref,
            labels=body.labels,
            actor=principal.actor,
            owner=principal.user.username,
            trace_id=current_trace_id(),
        )
    except SpecError as exc:
        raise Problem(422, f"Invalid inputs: {exc}", errors=exc.errors) from exc
    except BudgetFrozen as exc:
        session.rollback()
        raise frozen_problem(rt, principal, exc, path="runs-create") from None
    except launch.StartFailed as exc:
        raise Problem(503, f"The run was recorded but its workflow could not start: {exc}") from exc
    return _detail(rt, session, run)


@router.get(
    "/runs",
    operation_id="runs-list",
    response_model=Page[RunPublic],
    responses=links(
        200,
        "run_id",
        FIRST_ITEM_ID,
        *("runs-get", "runs-logs", "runs-artifacts-list", "runs-trace", "runs-provenance", "runs-sbom"),
        *("runs-sbom-diff", "runs-attestations", "runs-evidence", "runs-tickets-create"),
    ),
)
def list_runs(
    *,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    status: Annotated[list[str] | None, Query(description="One or more statuses.")] = None,
    pipeline: Annotated[str | None, Query(max_length=63)] = None,
    owner: Annotated[str | None, Query(max_length=200)] = None,
    env: Annotated[str | None, Query(max_length=63)] = None,
    branch: Annotated[str | None, Query(max_length=200)] = None,
    label: Annotated[list[str] | None, Query(description="key=value; repeat for several.")] = None,
    cost_min: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    cost_max: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Free text: pipeline, workflow id, owner, commit, branch.")
    ] = None,
) -> Page[RunPublic]:
    """Runs, newest first, with filters. Only environments you may read are listed."""
    stmt = select(Run).where(Run.tenant_id == principal.tenant_id)
    envs = readable_envs(session, principal, "runs:read")
    if envs is not None:
        stmt = stmt.where(col(Run.env).in_(sorted(envs)))
    if status:
        stmt = stmt.where(col(Run.status).in_(status))
    if pipeline:
        stmt = stmt.where(Run.pipeline_name == pipeline)
    if owner:
        stmt = stmt.where(Run.owner == owner)
    if env:
        stmt = stmt.where(Run.env == env)
    if branch:
        stmt = stmt.where(Run.branch == branch)
    if cost_min is not None:
        stmt = stmt.where(Run.cost_usd >= cost_min)
    if cost_max is not None:
        stmt = stmt.where(Run.cost_usd <= cost_max)
    for lab in label or []:
        k, sep, v = lab.partition("=")
        if not sep:
            raise Problem(
                422, f"label filter {lab!r} must be key=value", errors=[{"field": "query.label", "message": "use key=value"}]
            )
        stmt = stmt.where(col(Run.labels)[k].as_string() == v)
    if q:
        stmt = stmt.where(or_(*(contains(c, q) for c in (Run.pipeline_name, Run.workflow_id, Run.owner, Run.commit, Run.branch))))
    return paginate(session, stmt, order=[Run.created_at, Run.id], params=page, kind="runs", to_public=RunPublic.model_validate)


@router.get("/runs/{run_id}", operation_id="runs-get", response_model=RunDetail)
def get_run(*, run_id: str, rt: RuntimeDep, session: SessionDep, principal: Reader) -> RunDetail:
    """A run with its steps (status, attempt, timings, exit code), artifacts and attestations."""
    return _detail(rt, session, run_or_404(session, principal, run_id))


async def _promote(
    rt: RuntimeDep, temporal: Client, session: Session, principal: Principal, run: Run, body: RunAction
) -> RunActionResult:
    """Start a rollout whose canary is this run's artifact (the promote policies judge it first)."""
    from pydantic import ValidationError

    from maestro.activities.supply import promote_input
    from maestro.rollouts.service import RolloutCreate, start_rollout

    if run.status != "succeeded":
        raise Problem(409, f"Only a succeeded run can be promoted; this one is {run.status}.")
    try:
        spec = RolloutCreate.model_validate(
            {
                "service": body.service or "",
                "canaryUrl": body.canary_url or "",
                "reason": body.reason,
                **({"steps": body.steps} if body.steps is not None else {}),
            }
        )
    except ValidationError as exc:
        errors = [{"field": ".".join(str(x) for x in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        raise Problem(422, "promote needs a service, a canaryUrl and valid steps.", errors=errors) from exc
    from maestro.domain.rollouts import Service

    svc = session.exec(select(Service).where(Service.tenant_id == principal.tenant_id, Service.name == spec.service)).first()
    try:  # a promotion spends in the service's environment: a frozen budget there refuses it
        budgets.admit(
            session,
            tenant_id=principal.tenant_id,
            dims=budgets.dims_of_run(session, tenant_id=principal.tenant_id, env=svc.env if svc else run.env,
                                     pipeline=run.pipeline_name),
            what=f"promoting run {run.id} of {run.pipeline_name}",
        )  # fmt: skip
    except BudgetFrozen as exc:
        raise frozen_problem(rt, principal, exc, path="runs-action:promote") from None
    if svc is not None:
        enforce(
            rt,
            principal,
            point="promote",
            input_doc=promote_input(session, rt.settings, run, svc.env) | {"service": svc.name},
            subject=f"run {run.id} → {svc.name} ({svc.env})",
            field="body",
            status=403,
        )
    r = await start_rollout(rt=rt, temporal=temporal, session=session, principal=principal, body=spec, run=run)
    return RunActionResult(action="promote", status="started", detail=r.id, run=RunPublic.model_validate(run))


@router.post("/runs/{run_id}/actions", operation_id="runs-action", response_model=RunActionResult)
async def run_action(
    *, run_id: str, body: RunAction, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Writer
) -> RunActionResult:
    """cancel, pause, resume, approve, reject (Temporal updates: refusals are 409 with the reason), rerun, rerun-failed."""
    run = run_or_404(session, principal, run_id)
    authorize(session, principal, "runs:write", run.env)
    if body.action == "promote":
        return await _promote(rt, temporal, session, principal, run, body)
    if body.action in {"rerun", "rerun-failed"}:
        if body.action == "rerun-failed" and run.status not in RERUNNABLE_RUN:
            raise Problem(409, f"rerun-failed needs a failed or cancelled run; this one is {run.status}.")
        pipeline = store.find_pipeline(session, tenant_id=principal.tenant_id, ref=run.pipeline_id)
        version = store.get_version(session, pipeline=pipeline, version=run.version) if pipeline else None
        if pipeline is None or version is None:
            raise Problem(404, "The run's pipeline version no longer exists.")
        try:
            new = await launch.start_run(
                session=session,
                temporal=temporal,
                settings=rt.settings,
                pipeline=pipeline,
                version=version,
                inputs=dict(run.inputs),
                env=run.env,
                ref=run.commit or run.ref or None,
                labels=dict(run.labels),
                actor=principal.actor,
                owner=principal.user.username,
                trace_id=current_trace_id(),
                rerun_of=run,
                reuse_succeeded=body.action == "rerun-failed",
            )
        except BudgetFrozen as exc:
            session.rollback()
            raise frozen_problem(rt, principal, exc, path=f"runs-action:{body.action}") from None
        except launch.StartFailed as exc:
            raise Problem(503, f"The rerun was recorded but its workflow could not start: {exc}") from exc
        return RunActionResult(action=body.action, status="started", detail=new.id, run=RunPublic.model_validate(new))
    if run.status in TERMINAL_RUN:
        raise Problem(
            409, f"The run is {run.status}; {body.action} applies to running runs only.", remediation="Use rerun to run it again."
        )
    update = body.action
    res = await execute_control(
        rt,
        temporal,
        principal,
        target="run",
        workflow_id=run.workflow_id,
        action=update,
        arg=lambda ticket: ActionInput(by=principal.actor, reason=body.reason, step=body.step, ticket=ticket),
        result_type=ActionResult,
    )
    append_audit(
        session,
        actor=principal.actor,
        action=f"run.{update}",
        target_type="run",
        target_id=run.id,
        change={"reason": body.reason, "step": body.step or res.detail},
    )
    session.commit()
    session.refresh(run)
    return RunActionResult(action=update, status=res.status, detail=res.detail, run=RunPublic.model_validate(run))


class RunTicketCreate(TicketCreate):
    action: Literal["cancel", "pause", "resume", "approve", "reject"]


@router.post("/runs/{run_id}/tickets", operation_id="runs-tickets-create", response_model=TicketPublic, status_code=201)
def create_run_ticket(
    *, run_id: str, body: RunTicketCreate, rt: RuntimeDep, session: SessionDep, principal: Writer
) -> TicketPublic:
    """A control ticket for sending one action straight through Temporal (`temporal workflow update`): single use,
    bound to this run's workflow, the action and you; the workflow refuses the update without it."""
    run = run_or_404(session, principal, run_id)
    authorize(session, principal, "runs:write", run.env)
    done = run.status if run.status in TERMINAL_RUN else None
    return tickets.for_user(
        rt,
        session,
        principal,
        target_type="run",
        target_id=run.id,
        workflow_id=run.workflow_id,
        finished=done,
        **body.model_dump(),
    )


@router.get("/runs/{run_id}/artifacts", operation_id="runs-artifacts-list", response_model=Items[ArtifactPublic])
def list_artifacts(*, run_id: str, session: SessionDep, principal: Reader) -> Items[ArtifactPublic]:
    run = run_or_404(session, principal, run_id)
    rows = session.exec(select(Artifact).where(Artifact.run_id == run.id).order_by(col(Artifact.created_at))).all()
    return Items[ArtifactPublic](items=[ArtifactPublic.model_validate(a) for a in rows])


@router.get(
    "/artifacts/{artifact_id}",
    operation_id="artifacts-download",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The artifact's bytes (digest verified), as an attachment with the media type recorded for it "
            "(`mediaType` in the run's artifact list; application/octet-stream when unknown)",
        }
    },
)
def download_artifact(*, artifact_id: str, rt: RuntimeDep, session: SessionDep, principal: Reader) -> FileResponse:
    """Download an artifact; its bytes are re-hashed first and refused if they do not match the digest."""
    a = session.get(Artifact, artifact_id)
    if a is None:
        raise Problem(404, f"No artifact {artifact_id!r}.")
    run_or_404(session, principal, a.run_id)
    store = make_store(rt.settings)
    try:
        path = store.verified_path(a.sha256)
    except FileNotFoundError as exc:
        raise Problem(404, f"The bytes of artifact {a.path} are missing from the store.") from exc
    except DigestMismatch as exc:
        raise Problem(
            409,
            f"Artifact {a.path} is corrupted in the store: {exc}",
            title="Digest mismatch",
            remediation="Do not use this artifact; rerun the step that produced it.",
        ) from exc
    cleanup = BackgroundTask(os.unlink, path) if store.temporary_downloads else None
    return FileResponse(
        path,
        media_type=a.media_type,
        filename=a.path.rsplit("/", 1)[-1],
        headers={"Digest": f"sha-256={a.sha256}", "X-Maestro-Sha256": a.sha256},
        background=cleanup,
    )


def _line_filter(step: str | None, q: str | None, since_n: int | None, since_ts: str | None):  # type: ignore[no-untyped-def]
    ql = q.lower() if q else None

    def keep(ln: dict[str, Any]) -> bool:
        if step and ln["step"] != step:
            return False
        if since_n is not None and ln["n"] <= since_n:
            return False
        if since_ts is not None and ln["ts"] <= since_ts:
            return False
        return not (ql and ql not in ln["line"].lower())

    return keep


LOG_PAGE_MAX = 10_000  # lines one page of GET /runs/{id}/logs?limit= may hold
LOG_POSITION = r"^[0-9]{1,18}\.[0-9]{1,9}$"  # <stored chunk id>.<lines of that chunk already read>


@router.get(
    "/runs/{run_id}/logs",
    operation_id="runs-logs",
    response_class=StreamingResponse,
    responses={
        200: {
            # each line is a LogLine (the schema is a component through the logs stream's LogLineEvent)
            "content": {"application/x-ndjson": {"schema": {"$ref": "#/components/schemas/LogLine"}}},
            "description": "NDJSON: one LogLine {ts, step, stream, line, n, attempt, execution} per line. "
            "With `limit`, while more lines exist, a "
            '`Link: <…?after=POS&limit=N>; rel="next"` header (RFC 8288) names the next page.',
            "headers": {
                "Link": {
                    "description": 'With `limit`: the next page (rel="next"), absent on the last one.',
                    "schema": {"type": "string"},
                }
            },
        }
    },
)
async def run_logs(
    *,
    run_id: str,
    request: Request,
    rt: RuntimeDep,
    session: SessionDep,
    principal: Reader,
    step: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[str | None, Query(max_length=64, description="A line number n (with step) or an ISO timestamp.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Only lines containing this text (case-insensitive).")] = None,
    follow: Annotated[bool, Query(description="Keep streaming until the run finishes.")] = False,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=LOG_PAGE_MAX,
            description=f"At most this many lines (1-{LOG_PAGE_MAX}); while more exist, the Link header (rel=next) names "
            "the next page. Without it, every line is streamed.",
        ),
    ] = None,
    after: Annotated[
        str | None,
        Query(
            max_length=29,
            pattern=LOG_POSITION,
            description="Start after this position: take it from the previous page's Link header.",
        ),
    ] = None,
) -> Response:
    """A run's log lines as NDJSON from durable storage; with follow=true, new lines as they arrive; with limit, one
    page of them and a Link to the next."""
    run = run_or_404(session, principal, run_id)
    if limit is not None and follow:
        raise Problem(
            422,
            "limit pages through the stored lines; follow streams them live: use one or the other.",
            errors=[{"field": "query.limit", "message": "not with follow=true"}],
        )
    since_n: int | None = None
    since_ts: str | None = None
    if since:
        if since.isdigit():
            since_n = int(since)
        else:
            try:
                since_ts = datetime.fromisoformat(since.replace("Z", "+00:00")).isoformat(timespec="microseconds")
            except ValueError as exc:
                raise Problem(
                    422,
                    "since must be a line number or an ISO timestamp",
                    errors=[{"field": "query.since", "message": "invalid"}],
                ) from exc
    keep = _line_filter(step, q, since_n, since_ts)
    engine = rt.engine
    first_chunk, skip = (int(x) for x in after.split(".")) if after else (0, 0)

    def fetch(s: Session, from_id: int) -> list[LogChunk]:
        stmt = select(LogChunk).where(LogChunk.run_id == run.id, col(LogChunk.id) >= from_id)
        if step:
            stmt = stmt.where(LogChunk.step_key == step)
        return list(s.exec(stmt.order_by(col(LogChunk.id)).limit(200)).all())

    def lines_of(c: LogChunk) -> list[dict[str, Any]]:
        return c.lines[skip:] if c.id == first_chunk else c.lines

    if limit is not None:

        def page() -> tuple[list[dict[str, Any]], str | None]:
            """Up to `limit` kept lines from the position on, and the position of the next kept line if any."""
            out: list[dict[str, Any]] = []
            with Session(engine) as s:
                from_id = first_chunk
                while rows := fetch(s, from_id):
                    for c in rows:
                        assert c.id is not None
                        start = skip if c.id == first_chunk else 0
                        for i, ln in enumerate(c.lines[start:], start):
                            if not keep(ln):
                                continue
                            if len(out) == limit:
                                return out, f"{c.id}.{i}"
                            out.append(ln)
                        from_id = c.id + 1
            return out, None

        lines, nxt = await asyncio.to_thread(page)
        headers = {"Cache-Control": "no-cache"}
        if nxt is not None:
            target = request.url.include_query_params(after=nxt, limit=limit)
            headers["Link"] = f'<{target.path}?{target.query}>; rel="next"'
        body = "".join(json.dumps(ln) + "\n" for ln in lines)
        return Response(body, media_type="application/x-ndjson", headers=headers)

    def fetch_status(from_id: int) -> tuple[list[LogChunk], str]:
        with Session(engine) as s:
            rows = fetch(s, from_id)
            status = s.exec(select(Run.status).where(Run.id == run.id)).one()
            return rows, status

    async def gen() -> AsyncIterator[bytes]:
        from_id = first_chunk
        while True:
            rows, status = await asyncio.to_thread(fetch_status, from_id)
            for c in rows:
                from_id = (c.id or from_id) + 1
                out = [json.dumps(ln) + "\n" for ln in lines_of(c) if keep(ln)]
                if out:
                    yield "".join(out).encode()
            if rows:
                continue
            if not follow or status in TERMINAL_RUN or await request.is_disconnected():
                return
            await asyncio.sleep(0.25)

    return StreamingResponse(gen(), media_type="application/x-ndjson", headers={"Cache-Control": "no-cache"})


class SpanPublic(ApiModel):
    span_id: str
    parent_id: str | None
    name: str
    service: str
    kind: str
    start_time: datetime
    end_time: datetime
    duration_ms: float
    status: str
    attributes: dict[str, str | int | float | bool]


class RunTrace(ApiModel):
    trace_id: str
    spans: list[SpanPublic]


@router.get("/runs/{run_id}/trace", operation_id="runs-trace", response_model=RunTrace)
def run_trace(*, run_id: str, session: SessionDep, principal: Reader) -> RunTrace:
    """The run's trace as a waterfall: API request → workflow → activities, with timings and attributes.

    Spans are kept locally for MAESTRO_TRACE_RETENTION_HOURS (exported over OTLP too when configured).
    """
    run = run_or_404(session, principal, run_id)
    if not run.trace_id:
        return RunTrace(trace_id="", spans=[])
    rows = session.exec(
        select(TraceSpan).where(TraceSpan.trace_id == run.trace_id).order_by(col(TraceSpan.start_time)).limit(5000)
    ).all()
    return RunTrace(
        trace_id=run.trace_id,
        spans=[
            SpanPublic.model_validate(
                {**r.model_dump(), "duration_ms": round((r.end_time - r.start_time).total_seconds() * 1000, 3)}
            )
            for r in rows
        ],
    )
