"""Services behind the edge router, and canary rollouts driven by RolloutWorkflow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Query
from pydantic import Field, field_validator, model_validator
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from maestro.api import tickets
from maestro.api.deps import Require, RuntimeDep, SessionDep, TemporalDep, authorize, readable_envs
from maestro.api.pagination import ApiModel, Items
from maestro.api.problems import Problem
from maestro.api.schemas import FIRST_ITEM_ID, InputModel, Omittable, TicketCreate, TicketPublic, links
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.rollouts import Rollout, Service
from maestro.domain.runs import Run
from maestro.domain.types import new_id, utcnow
from maestro.edge import routes as edge
from maestro.pipelines.spec import duration_schema, parse_duration
from maestro.rollouts.types import Analysis, ControlInput, ControlResult, RolloutInput, Step, parse_condition
from maestro.states import ACTIVE_ROLLOUT, TERMINAL_ROLLOUT

router = APIRouter(tags=["rollouts"])
Reader = Annotated[Principal, Require("rollouts:read", scope="any")]
Promoter = Annotated[Principal, Require("rollouts:promote", scope="any")]
NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"


UPSTREAM_URL = r"^https?://[^/?#\s]+"  # the schema's word; _url checks the rest


def _url(v: str) -> str:
    parts = urlsplit(v)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an http(s) URL, e.g. http://10.0.0.5:8080")
    return v.rstrip("/")


class ServiceCreate(InputModel):
    name: str = Field(pattern=NAME, description="Routed at the edge as /<name>/…")
    env: str = Field(min_length=1, max_length=63)
    stable_url: str = Field(max_length=2000, pattern=UPSTREAM_URL, description="Upstream of the stable version (http or https)")
    sticky: str | None = Field(
        None, pattern=r"^(header|cookie):[A-Za-z0-9_-]{1,100}$", description="header:<name> or cookie:<name>"
    )

    _check_url = field_validator("stable_url")(classmethod(lambda cls, v: _url(v)))


class ServicePublic(ApiModel):
    id: str
    name: str
    env: str
    stable_url: str
    sticky: str | None
    canary_url: str | None = None
    weight: int = 0
    rollout_id: str | None = None
    created_at: datetime


class AnalysisSpec(InputModel):
    metric: Literal["error_rate", "latency_p95_ms", "promql"] = "error_rate"
    provider: Literal["edge", "prometheus"] = "edge"
    query: str = Field("", max_length=2000, description="PromQL (provider prometheus)")
    success_condition: str = Field("< 0.05", description="operator and number: < 0.05, <= 250, > 0.99")
    interval: int | str = Field(
        "10s",
        validate_default=True,
        description="Between measurements; also each measurement's window",
        json_schema_extra=duration_schema(),
    )
    count: int = Field(3, ge=1, le=100)
    failure_limit: int = Field(0, ge=0, le=100)
    inconclusive_limit: int = Field(1, ge=0, le=100)
    min_requests: int = Field(10, ge=1, le=1_000_000)

    @field_validator("success_condition")
    @classmethod
    def _cond(cls, v: str) -> str:
        parse_condition(v)
        return v

    @field_validator("interval", mode="before")
    @classmethod
    def _interval(cls, v: Any) -> int:
        return parse_duration(v)

    @model_validator(mode="after")
    def _provider(self) -> AnalysisSpec:
        if self.provider == "prometheus" and not self.query:
            raise ValueError("provider prometheus needs a PromQL `query`")
        if self.metric == "promql" and self.provider != "prometheus":
            raise ValueError("metric promql needs provider prometheus")
        return self


class StepSpec(InputModel):
    """Exactly one of setWeight, pause, analysis."""

    model_config = InputModel.model_config | {
        "json_schema_extra": {"oneOf": [{"required": ["setWeight"]}, {"required": ["pause"]}, {"required": ["analysis"]}]}
    }
    set_weight: int = Omittable(ge=0, le=100, description="Canary weight in %")
    pause: int | str = Omittable(
        description="Seconds or 2m (at most 24h); 0 waits for resume or promote", json_schema_extra=duration_schema(minimum=0)
    )
    analysis: AnalysisSpec = Omittable()

    @field_validator("pause", mode="before")
    @classmethod
    def _pause(cls, v: Any) -> int | None:
        if v is None or v in (0, "0"):
            return None if v is None else 0
        return parse_duration(v)

    @model_validator(mode="after")
    def _one(self) -> StepSpec:
        if sum(x is not None for x in (self.set_weight, self.pause, self.analysis)) != 1:
            raise ValueError("a step is exactly one of setWeight, pause, analysis")
        return self

    def to_step(self) -> Step:
        if self.set_weight is not None:
            return Step(set_weight=self.set_weight)
        if self.pause is not None:
            return Step(pause_s=float(self.pause))
        a = self.analysis
        assert a is not None
        return Step(
            analysis=Analysis(
                metric=a.metric,
                provider=a.provider,
                query=a.query,
                success_condition=a.success_condition,
                interval_s=float(parse_duration(a.interval)),
                count=a.count,
                failure_limit=a.failure_limit,
                inconclusive_limit=a.inconclusive_limit,
                min_requests=a.min_requests,
            )
        )


DEFAULT_STEPS = [
    {"setWeight": 10},
    {"analysis": {}},
    {"setWeight": 25},
    {"analysis": {}},
    {"setWeight": 50},
    {"analysis": {}},
    {"setWeight": 100},
]


class RolloutCreate(InputModel):
    service: str = Field(min_length=1, max_length=63)
    canary_url: str = Field(max_length=2000, pattern=UPSTREAM_URL, description="Upstream of the new version (http or https)")
    steps: list[StepSpec] = Field(
        default_factory=lambda: [StepSpec.model_validate(x) for x in DEFAULT_STEPS], min_length=1, max_length=50
    )
    reason: str = Field("", max_length=2000)

    @field_validator("canary_url")
    @classmethod
    def _canary(cls, v: str) -> str:
        return _url(v)


class RolloutPublic(ApiModel):
    id: str
    service: str
    env: str
    run_id: str | None
    workflow_id: str
    status: str
    step_index: int
    weight: int
    stable_url: str
    canary_url: str
    steps: list[dict[str, Any]]
    history: list[dict[str, Any]]
    analyses: list[dict[str, Any]]
    weights: list[dict[str, Any]]
    message: str
    snapshot_sha256: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class RolloutAction(InputModel):
    action: Literal["pause", "resume", "promote", "rollback", "abort"]
    reason: str = Field("", max_length=2000)
    full: bool = Field(False, description="promote: straight to 100%")


class RolloutActionResult(ApiModel):
    action: str
    status: str
    weight: int
    step_index: int
    rollout: RolloutPublic


def _service(s: Session, principal: Principal, name: str) -> Service | None:
    return s.exec(select(Service).where(Service.tenant_id == principal.tenant_id, Service.name == name)).first()


@router.post("/services", operation_id="services-create", response_model=ServicePublic, status_code=201)
def create_service(*, body: ServiceCreate, rt: RuntimeDep, session: SessionDep, principal: Promoter) -> ServicePublic:
    """Route /<name>/… at the edge router to the stable upstream (rollouts add a canary)."""
    authorize(session, principal, "rollouts:promote", body.env)
    if _service(session, principal, body.name) is not None:
        raise Problem(
            409,
            f"A service named {body.name!r} exists.",
            errors=[{"field": "name", "message": "already taken"}],
            remediation="Pick another name, or change the existing service's routing with a rollout.",
        )
    svc = Service(
        tenant_id=principal.tenant_id,
        name=body.name,
        env=body.env,
        stable_url=body.stable_url,
        sticky=body.sticky,
        created_by=principal.actor,
    )
    session.add(svc)
    append_audit(
        session,
        actor=principal.actor,
        action="service.create",
        target_type="service",
        target_id=svc.id,
        change={"name": svc.name, "env": svc.env, "stableUrl": svc.stable_url},
    )
    session.commit()
    edge.put(rt.redis_sync, edge.Route(service=svc.name, stable=svc.stable_url, sticky=svc.sticky))
    return _service_public(rt, svc)


def _service_public(rt: RuntimeDep, svc: Service) -> ServicePublic:
    route = edge.get(rt.redis_sync, svc.name)
    return ServicePublic(
        id=svc.id,
        name=svc.name,
        env=svc.env,
        stable_url=route.stable if route else svc.stable_url,
        sticky=svc.sticky,
        canary_url=route.canary if route else None,
        weight=route.weight if route else 0,
        rollout_id=route.rollout_id if route else None,
        created_at=svc.created_at,
    )


@router.get("/services", operation_id="services-list", response_model=Items[ServicePublic])
def list_services(*, rt: RuntimeDep, session: SessionDep, principal: Reader) -> Items[ServicePublic]:
    """Services with their live routing (stable, canary, weight) as the edge routers see it, in the
    environments where you may read rollouts."""
    stmt = select(Service).where(Service.tenant_id == principal.tenant_id)
    envs = readable_envs(session, principal, "rollouts:read")
    if envs is not None:
        stmt = stmt.where(col(Service.env).in_(envs))
    rows = session.exec(stmt.order_by(col(Service.name))).all()
    return Items(items=[_service_public(rt, r) for r in rows])


async def start_rollout(
    *, rt: RuntimeDep, temporal: Client, session: Session, principal: Principal, body: RolloutCreate, run: Run | None
) -> Rollout:
    svc = _service(session, principal, body.service)
    if svc is None:
        raise Problem(
            422,
            f"No service {body.service!r}.",
            errors=[{"field": "service", "message": "unknown service"}],
            remediation="Register it with POST /api/services.",
        )
    authorize(session, principal, "rollouts:promote", svc.env)
    active = session.exec(select(Rollout).where(Rollout.service_id == svc.id, col(Rollout.status).in_(ACTIVE_ROLLOUT))).first()
    if active is not None:
        raise Problem(
            409, f"Rollout {active.id} of {svc.name} is still {active.status}.", remediation="Finish or abort it first."
        )
    route = edge.get(rt.redis_sync, svc.name)
    if body.canary_url.rstrip("/") == (route.stable if route else svc.stable_url).rstrip("/"):
        raise Problem(
            422,
            "The canary URL is the stable version's URL: traffic would not move anywhere.",
            errors=[{"field": "canaryUrl", "message": "same as the service's stable URL"}],
            remediation="Give the URL of the new version you want to canary.",
        )
    rid = new_id()
    r = Rollout(
        id=rid,
        tenant_id=principal.tenant_id,
        service_id=svc.id,
        service=svc.name,
        env=svc.env,
        run_id=run.id if run else None,
        workflow_id=f"rollout-{svc.name}-{rid[:12]}",
        stable_url=route.stable if route else svc.stable_url,
        canary_url=body.canary_url,
        steps=[s.model_dump(by_alias=True, exclude_none=True) for s in body.steps],
        created_by=principal.actor,
    )
    session.add(r)
    append_audit(
        session,
        actor=principal.actor,
        action="rollout.start",
        target_type="rollout",
        target_id=rid,
        change={"service": svc.name, "canaryUrl": body.canary_url, "runId": r.run_id, "reason": body.reason},
    )
    session.commit()
    try:
        await _start(rt, temporal, svc, r, body, principal)
    except Exception as exc:  # no workflow: the record must not hold the service as "running"
        r.status, r.message, r.finished_at = "aborted", f"the workflow could not start: {exc}"[:2000], utcnow()
        session.add(r)
        session.commit()
        raise Problem(503, f"The rollout could not start: {exc}", remediation="Check GET /api/ready and retry.") from exc
    return r


async def _start(rt: RuntimeDep, temporal: Client, svc: Service, r: Rollout, body: RolloutCreate, principal: Principal) -> None:
    await temporal.start_workflow(
        "RolloutWorkflow",
        RolloutInput(
            rollout_id=r.id,
            tenant_id=principal.tenant_id,
            service=svc.name,
            stable_url=r.stable_url,
            canary_url=body.canary_url,
            sticky=svc.sticky,
            env=svc.env,
            run_id=r.run_id,
            steps=[s.to_step() for s in body.steps],
        ),
        id=r.workflow_id,
        task_queue=rt.settings.control_task_queue,
    )


@router.post("/rollouts", operation_id="rollouts-create", response_model=RolloutPublic, status_code=201)
async def create_rollout(
    *, body: RolloutCreate, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Promoter
) -> RolloutPublic:
    """Start a canary of a service (without a run; `POST /api/runs/{id}/actions {action: promote}` ties it to a run)."""
    r = await start_rollout(rt=rt, temporal=temporal, session=session, principal=principal, body=body, run=None)
    return RolloutPublic.model_validate(r)


@router.get(
    "/rollouts",
    operation_id="rollouts-list",
    response_model=Items[RolloutPublic],
    responses=links(200, "rollout_id", FIRST_ITEM_ID, "rollouts-get", "rollouts-tickets-create"),
)
def list_rollouts(
    *,
    session: SessionDep,
    principal: Reader,
    status: Annotated[str | None, Query(pattern="^(running|paused|succeeded|rolled_back|aborted)$")] = None,
    service: Annotated[str | None, Query(max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Items[RolloutPublic]:
    stmt = select(Rollout).where(Rollout.tenant_id == principal.tenant_id)
    envs = readable_envs(session, principal, "rollouts:read")
    if envs is not None:
        stmt = stmt.where(col(Rollout.env).in_(envs))
    if status:
        stmt = stmt.where(Rollout.status == status)
    if service:
        stmt = stmt.where(Rollout.service == service)
    rows = session.exec(stmt.order_by(col(Rollout.created_at).desc()).limit(limit)).all()
    return Items(items=[RolloutPublic.model_validate(r) for r in rows])


def _get(s: Session, principal: Principal, rollout_id: str) -> Rollout:
    r = s.get(Rollout, rollout_id)
    envs = readable_envs(s, principal, "rollouts:read") if r else None
    if r is None or r.tenant_id != principal.tenant_id or (envs is not None and r.env not in envs):
        raise Problem(404, f"No rollout {rollout_id!r}.", remediation="List rollouts with GET /api/rollouts.")
    return r


@router.get("/rollouts/{rollout_id}", operation_id="rollouts-get", response_model=RolloutPublic)
def get_rollout(*, rollout_id: str, session: SessionDep, principal: Reader) -> RolloutPublic:
    return RolloutPublic.model_validate(_get(session, principal, rollout_id))


class RolloutTicketCreate(TicketCreate):
    action: Literal["pause", "resume", "promote", "rollback", "abort"]


@router.post(
    "/rollouts/{rollout_id}/tickets", operation_id="rollouts-tickets-create", response_model=TicketPublic, status_code=201
)
def create_rollout_ticket(
    *, rollout_id: str, body: RolloutTicketCreate, rt: RuntimeDep, session: SessionDep, principal: Promoter
) -> TicketPublic:
    """A control ticket for sending one action straight through Temporal (`temporal workflow update`): single use,
    bound to this rollout's workflow, the action and you; the workflow refuses the update without it."""
    r = _get(session, principal, rollout_id)
    authorize(session, principal, "rollouts:promote", r.env)
    done = r.status if r.status in TERMINAL_ROLLOUT else None
    return tickets.for_user(
        rt,
        session,
        principal,
        target_type="rollout",
        target_id=r.id,
        workflow_id=r.workflow_id,
        finished=done,
        **body.model_dump(),
    )


@router.post("/rollouts/{rollout_id}/actions", operation_id="rollouts-action", response_model=RolloutActionResult)
async def rollout_action(
    *, rollout_id: str, body: RolloutAction, rt: RuntimeDep, temporal: TemporalDep, session: SessionDep, principal: Promoter
) -> RolloutActionResult:
    """pause, resume, promote (full: to 100%), rollback, abort — Temporal updates: a refusal is 409 with the reason."""
    r = _get(session, principal, rollout_id)
    authorize(session, principal, "rollouts:promote", r.env)
    if r.status in TERMINAL_ROLLOUT:
        raise Problem(
            409,
            f"The rollout is {r.status}; {body.action} applies to running rollouts.",
            remediation="Start a new rollout of the service (POST /api/rollouts) to change its traffic again.",
        )
    try:
        ticket, jti = tickets.for_api(rt, principal, r.workflow_id, body.action)
        who = ControlInput(by=principal.actor, reason=body.reason, full=body.full, ticket=ticket)
        handle = temporal.get_workflow_handle(r.workflow_id)
        res = await tickets.send_control(rt, handle, body.action, who, result_type=ControlResult, jti=jti)
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        msg = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise Problem(409, f"Refused: {msg}.", remediation="Reload the rollout to see its current state.") from exc
    except RPCError as exc:
        raise Problem(409, f"The rollout's workflow does not accept {body.action}: {exc.message}") from exc
    append_audit(
        session,
        actor=principal.actor,
        action=f"rollout.{body.action}",
        target_type="rollout",
        target_id=r.id,
        change={"reason": body.reason, "full": body.full, "weight": res.weight, "status": res.status},
    )
    session.commit()
    session.refresh(r)
    return RolloutActionResult(
        action=body.action,
        status=res.status,
        weight=res.weight,
        step_index=res.step_index,
        rollout=RolloutPublic.model_validate(r),
    )
