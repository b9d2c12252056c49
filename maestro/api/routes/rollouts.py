"""Services behind the edge router, and canary rollouts driven by RolloutWorkflow."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field, ValidationError, field_validator
from sqlmodel import Session, col, select

from maestro.api import tickets
from maestro.api.controls import execute_control
from maestro.api.deps import Require, RuntimeDep, SessionDep, TemporalDep, authorize, readable_envs
from maestro.api.pagination import ApiModel, Items
from maestro.api.problems import Problem
from maestro.api.schemas import FIRST_ITEM_ID, InputModel, TicketCreate, TicketPublic, links
from maestro.config import Settings
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.rollouts import Rollout, Service
from maestro.edge import routes as edge
from maestro.events.payloads import AnalysisRecord, RolloutHistoryEntry, WeightPoint
from maestro.rollouts import providers
from maestro.rollouts.service import (
    UPSTREAM_URL,
    RolloutCreate,
    RolloutStepPublic,
    start_rollout,
    upstream_url,
)
from maestro.rollouts.types import ControlInput, ControlResult
from maestro.states import TERMINAL_ROLLOUT, RolloutStatus

router = APIRouter(tags=["rollouts"])
Reader = Annotated[Principal, Require("rollouts:read", scope="any")]
Promoter = Annotated[Principal, Require("rollouts:promote", scope="any")]
NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"


class ServiceCreate(InputModel):
    name: str = Field(pattern=NAME, description="Routed at the edge as /<name>/…")
    env: str = Field(min_length=1, max_length=63)
    stable_url: str = Field(
        max_length=2000,
        pattern=UPSTREAM_URL,
        description="Upstream of the stable version (http or https; model://<provider>/<model> for a model canary)",
    )
    sticky: str | None = Field(
        None, pattern=r"^(header|cookie):[A-Za-z0-9_-]{1,100}$", description="header:<name> or cookie:<name>"
    )
    provider: str = Field(
        "edge",
        max_length=32,
        description="Traffic provider that moves its traffic: a name from GET /api/services/providers",
    )
    provider_config: dict[str, Any] = Field(
        default_factory=dict, description="The provider's settings: its `configSchema` in GET /api/services/providers"
    )

    _check_url = field_validator("stable_url")(classmethod(lambda cls, v: upstream_url(v)))


class ServicePublic(ApiModel):
    id: str
    name: str
    env: str
    stable_url: str
    sticky: str | None
    provider: str
    provider_config: dict[str, Any]
    canary_url: str | None = None
    weight: int = 0
    rollout_id: str | None = None
    created_at: datetime


class ProviderPublic(ApiModel):
    name: str
    title: str
    description: str
    measures_traffic: bool = Field(
        description="Built-in error_rate/latency analyses work; otherwise analyses must ask Prometheus"
    )
    config_schema: dict[str, Any] = Field(description="JSON Schema of the provider's settings (`providerConfig`)")
    docs: str


class RolloutPublic(ApiModel):
    id: str
    service: str
    env: str
    run_id: str | None
    workflow_id: str
    status: RolloutStatus
    step_index: int
    weight: int
    stable_url: str
    canary_url: str
    steps: list[RolloutStepPublic]
    history: list[RolloutHistoryEntry]
    analyses: list[AnalysisRecord]
    weights: list[WeightPoint]
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
    status: RolloutStatus = Field(description="The rollout's status once the action took effect")
    weight: int
    step_index: int = Field(description="The step the action applied to (promote: the step it ended)")
    rollout: RolloutPublic = Field(description="The rollout as recorded when the action answered")


@router.post("/services", operation_id="services-create", response_model=ServicePublic, status_code=201)
def create_service(*, body: ServiceCreate, rt: RuntimeDep, session: SessionDep, principal: Promoter) -> ServicePublic:
    """Route /<name>/… at the edge router to the stable upstream (rollouts add a canary)."""
    authorize(session, principal, "rollouts:promote", body.env)
    # edge routes and providers' routing state are keyed by name alone: a name is taken in every tenant
    if session.exec(select(Service.id).where(Service.name == body.name)).first() is not None:
        raise Problem(
            409,
            f"A service named {body.name!r} exists.",
            errors=[{"field": "name", "message": "already taken"}],
            remediation="Pick another name, or change the existing service's routing with a rollout.",
        )
    provider_config = _provider_config(body, rt.settings)
    _claim_targets(session, body.provider, provider_config)
    svc = Service(
        tenant_id=principal.tenant_id,
        name=body.name,
        env=body.env,
        stable_url=body.stable_url,
        sticky=body.sticky,
        provider=body.provider,
        provider_config=provider_config,
        created_by=principal.actor,
    )
    session.add(svc)
    append_audit(
        session,
        actor=principal.actor,
        action="service.create",
        target_type="service",
        target_id=svc.id,
        change={"name": svc.name, "env": svc.env, "stableUrl": svc.stable_url, "provider": svc.provider},
    )
    session.commit()
    edge.put(
        rt.redis_sync,
        edge.Route(
            service=svc.name,
            stable=svc.stable_url,
            sticky=svc.sticky,
            provider=svc.provider,
            provider_config=svc.provider_config,
        ),
    )
    return _service_public(rt, svc)


def _provider_config(body: ServiceCreate, settings: Settings) -> dict[str, Any]:
    """The provider's settings as stored, or a 422 naming the provider or the setting that is wrong."""
    if body.provider not in providers.PROVIDERS:
        known = ", ".join(sorted(providers.PROVIDERS))
        raise Problem(
            422,
            f"Unknown traffic provider {body.provider!r}.",
            errors=[{"field": "provider", "message": f"one of {known}"}],
            remediation="Name a provider listed by GET /api/services/providers.",
        )
    try:
        config = providers.check_config(body.provider, body.provider_config, settings)
        providers.check_upstream(body.provider, config, body.stable_url)
    except ValidationError as exc:
        raise Problem(
            422,
            f"The {body.provider} settings are not valid.",
            errors=[
                {"field": ".".join(["providerConfig", *(str(x) for x in e["loc"])]), "message": e["msg"]} for e in exc.errors()
            ],
            remediation=f"Give the settings GET /api/services/providers describes for {body.provider}.",
        ) from exc
    except providers.ResourceNotAllowed as exc:
        raise Problem(
            422,
            f"This Maestro does not let traffic providers drive {exc.target}.",
            errors=[
                {
                    "field": f"providerConfig.{exc.field}",
                    "message": f"{exc.target} is not allowed here: ask your Maestro operator to add it to "
                    "MAESTRO_PROVIDER_RESOURCES",
                }
            ],
            remediation=f"Ask your Maestro operator to allow {exc.target} in MAESTRO_PROVIDER_RESOURCES "
            "(on the API and the control worker).",
        ) from exc
    except ValueError as exc:  # ProviderConfigError, or an upstream the provider cannot route to
        field = "providerConfig" if isinstance(exc, providers.ProviderConfigError) else "stableUrl"
        raise Problem(
            422,
            f"The {body.provider} settings are not valid: {exc}",
            errors=[{"field": field, "message": str(exc)}],
            remediation=f"Give the settings GET /api/services/providers describes for {body.provider}.",
        ) from exc
    return config


def _claim_targets(session: SessionDep, provider: str, config: dict[str, Any]) -> None:
    """No two services drive the same HAProxy backend or HTTPRoute (they would fight over its weights)."""
    wanted = providers.targets(provider, config)
    if not wanted:
        return
    for other in session.exec(select(Service).where(Service.provider == provider)).all():
        taken = set(providers.targets(other.provider, other.provider_config).values())
        for field, target in wanted.items():
            if target in taken:
                raise Problem(
                    409,
                    f"{target} is already driven by another service.",
                    errors=[{"field": f"providerConfig.{field}", "message": "already used by another service"}],
                    remediation="Give this service its own backend or route: two services would fight over its weights.",
                )


@router.get("/services/providers", operation_id="services-providers", response_model=Items[ProviderPublic])
def list_providers(*, principal: Reader) -> Items[ProviderPublic]:
    """The traffic providers a service can name, with the settings each needs."""
    return Items(
        items=[
            ProviderPublic(
                name=p.name,
                title=p.title,
                description=p.description,
                measures_traffic=p.measures_traffic,
                config_schema=p.config_model.model_json_schema(by_alias=True),
                docs=p.docs,
            )
            for p in providers.PROVIDERS.values()
        ]
    )


def _service_public(rt: RuntimeDep, svc: Service) -> ServicePublic:
    route = edge.get(rt.redis_sync, svc.name)
    return ServicePublic(
        id=svc.id,
        name=svc.name,
        env=svc.env,
        stable_url=route.stable if route else svc.stable_url,
        sticky=svc.sticky,
        provider=svc.provider,
        provider_config=svc.provider_config,
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
    status: RolloutStatus | None = None,
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
    res = await execute_control(
        rt,
        temporal,
        principal,
        target="rollout",
        workflow_id=r.workflow_id,
        action=body.action,
        arg=lambda ticket: ControlInput(by=principal.actor, reason=body.reason, full=body.full, ticket=ticket),
        result_type=ControlResult,
    )
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
