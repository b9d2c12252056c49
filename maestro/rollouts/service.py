"""Starting a rollout: the request a route or a run's promote action makes, checked and turned into
a Rollout record and a RolloutWorkflow (shared by POST /api/rollouts and POST /api/runs/{id}/actions)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from sqlmodel import Session, col, select
from temporalio.client import Client

from maestro.api.deps import Runtime, authorize
from maestro.api.problems import Problem
from maestro.api.schemas import InputModel, Omittable
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.rollouts import Rollout, Service
from maestro.domain.runs import Run
from maestro.domain.types import new_id, utcnow
from maestro.edge import routes as edge
from maestro.pipelines.spec import duration_schema, parse_duration
from maestro.rollouts import providers
from maestro.rollouts.types import Analysis, RolloutInput, Step, parse_condition
from maestro.states import ACTIVE_ROLLOUT
from maestro.wire import ApiModel

UPSTREAM_URL = r"^(https?|model)://[^/?#\s]+"  # the schema's word; upstream_url checks the rest


def upstream_url(v: str) -> str:
    if v.startswith("model://"):
        return v  # a model canary's version (provider gateway checks it)
    parts = urlsplit(v)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an http(s) URL, e.g. http://10.0.0.5:8080")
    return v.rstrip("/")


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


def _stored_seconds(v: Any) -> Any:
    """A stored duration in seconds; older versions stored what was written ("10s", "2m", "0")."""
    if isinstance(v, str):
        return 0 if v.strip() in {"0", "0s"} else parse_duration(v)
    return v


class AnalysisPublic(ApiModel):
    """An analysis step as stored: the request's fields with its defaults and the interval in seconds."""

    metric: Literal["error_rate", "latency_p95_ms", "promql"] = "error_rate"
    provider: Literal["edge", "prometheus"] = "edge"
    query: str = ""
    success_condition: str = "< 0.05"
    interval: int = Field(10, description="Seconds between measurements (each measurement's window)")

    _seconds = field_validator("interval", mode="before")(classmethod(lambda cls, v: _stored_seconds(v)))
    count: int = 3
    failure_limit: int = 0
    inconclusive_limit: int = 1
    min_requests: int = 10


class RolloutStepPublic(ApiModel):
    """A step as stored: exactly one of setWeight, pause (seconds; 0 waits for resume or promote), analysis."""

    # `{"setWeight": 20}`, as it was written: the two other kinds are left out, not null
    set_weight: int | None = Field(None, exclude_if=lambda v: v is None)
    pause: int | None = Field(None, exclude_if=lambda v: v is None)
    analysis: AnalysisPublic | None = Field(None, exclude_if=lambda v: v is None)

    _pause = field_validator("pause", mode="before")(classmethod(lambda cls, v: _stored_seconds(v)))


class RolloutCreate(InputModel):
    service: str = Field(min_length=1, max_length=63)
    canary_url: str = Field(
        max_length=2000,
        pattern=UPSTREAM_URL,
        description="Upstream of the new version (http or https; model://<provider>/<model> for a model canary)",
    )
    steps: list[StepSpec] = Field(
        default_factory=lambda: [StepSpec.model_validate(x) for x in DEFAULT_STEPS], min_length=1, max_length=50
    )
    reason: str = Field("", max_length=2000)

    @field_validator("canary_url")
    @classmethod
    def _canary(cls, v: str) -> str:
        return upstream_url(v)


def find_service(s: Session, principal: Principal, name: str) -> Service | None:
    return s.exec(select(Service).where(Service.tenant_id == principal.tenant_id, Service.name == name)).first()


async def start_rollout(
    *, rt: Runtime, temporal: Client, session: Session, principal: Principal, body: RolloutCreate, run: Run | None
) -> Rollout:
    svc = find_service(session, principal, body.service)
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
    _check_analyses(svc, body)
    try:
        providers.check_upstream(svc.provider, svc.provider_config, body.canary_url)
    except ValueError as exc:
        raise Problem(
            422,
            f"{svc.provider} cannot route to {body.canary_url}: {exc}",
            errors=[{"field": "canaryUrl", "message": str(exc)}],
            remediation=f"Give a canary URL {svc.provider} can route to (see {providers.spec_for(svc.provider).docs}).",
        ) from exc
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


def _check_analyses(svc: Service, body: RolloutCreate) -> None:
    """A provider without traffic counters of its own (Gateway API) runs Prometheus analyses only."""
    spec = providers.PROVIDERS.get(svc.provider)
    if spec is None or spec.measures_traffic:
        return
    wrong = [
        {"field": f"steps.{i}.analysis.provider", "message": f"{svc.provider} has no traffic counters of its own"}
        for i, step in enumerate(body.steps)
        if step.analysis is not None and step.analysis.provider == "edge"
    ]
    if wrong:
        raise Problem(
            422,
            f"{svc.name} is routed by {svc.provider}, which Maestro cannot count requests through.",
            errors=wrong,
            remediation='Measure with Prometheus: {"analysis": {"provider": "prometheus", "metric": "promql", "query": "…"}}.',
        )


async def _start(rt: Runtime, temporal: Client, svc: Service, r: Rollout, body: RolloutCreate, principal: Principal) -> None:
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
            provider=svc.provider,
            provider_config=svc.provider_config,
            continue_after_events=rt.settings.rollout_continue_after_events,
        ),
        id=r.workflow_id,
        task_queue=rt.settings.control_task_queue,
    )
