"""Policies (Rego, rego.v1), their revisions, the decision log, evaluation and simulation."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from sqlmodel import Session, col, select

from maestro.api.deps import Require, RuntimeDep, SessionDep
from maestro.api.pagination import ApiModel, Items, Page, PageParams, page_params, paginate
from maestro.api.problems import Problem
from maestro.api.schemas import CREATED_ID, INT32_MAX, InputModel, links
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.rbac import ScopePath
from maestro.domain.supply import Policy, PolicyDecision, PolicyRevision
from maestro.domain.types import utcnow
from maestro.pipelines import spec as specmod
from maestro.pipelines import store
from maestro.policy import engine
from maestro.policy import service as polsvc
from maestro.policy.inputs import admission_input

router = APIRouter(tags=["policies"])
Reader = Annotated[Principal, Require("policies:read")]
Writer = Annotated[Principal, Require("policies:write")]
Point = Literal["admission", "run_start", "promote"]
NAME = r"^[a-z0-9][a-z0-9-]{0,62}$"


class PolicySummary(ApiModel):
    id: str
    name: str
    description: str
    points: list[str]
    enabled: bool
    revision: int
    builtin: bool
    updated_at: datetime


class RevisionPublic(ApiModel):
    revision: int
    sha256: str
    package: str
    created_by: str
    created_at: datetime


class DecisionPublic(ApiModel):
    id: str
    batch_id: str = Field(description="Shared by the rows of one evaluation (one per policy)")
    point: str
    subject: str
    policy_id: str
    policy_name: str
    revision: int
    source_sha256: str
    input_sha256: str
    allowed: bool
    reasons: list[str]
    warnings: list[str]
    error: str
    duration_ms: float
    actor: str
    created_at: datetime


class PolicyDetail(PolicySummary):
    source: str
    sha256: str
    package: str
    revisions: list[RevisionPublic]
    recent_decisions: list[DecisionPublic]


class PolicyCreate(InputModel):
    name: str = Field(pattern=NAME, description="Lowercase letters, digits and dashes")
    description: str = Field("", max_length=2000)
    points: list[Point] = Field(min_length=1, description="Where it is evaluated")
    source: str = Field(min_length=1, max_length=100_000, description="Rego with `import rego.v1`; `deny` holds messages")
    enabled: bool = True


class PolicyUpdate(InputModel):
    description: str | None = Field(None, max_length=2000)
    points: list[Point] | None = Field(None, min_length=1)
    source: str | None = Field(None, min_length=1, max_length=100_000, description="A new revision when it differs")
    enabled: bool | None = None


def _invalid(exc: engine.PolicyInvalid) -> Problem:
    return Problem(
        422,
        "The policy does not compile: " + exc.problems[0].message,
        errors=[{"field": "source", "message": f"line {p.line}, column {p.column}: {p.message}"} for p in exc.problems],
        remediation="Fix the source at the line and column named; only rego.v1 syntax (`import rego.v1`) is accepted.",
    )


def _get(s: Session, principal: Principal, ref: str) -> Policy:
    p = s.exec(select(Policy).where(Policy.tenant_id == principal.tenant_id, (Policy.id == ref) | (Policy.name == ref))).first()
    if p is None:
        raise Problem(404, f"No policy {ref!r}.", remediation="List policies with GET /api/policies.")
    return p


def _detail(s: Session, p: Policy) -> PolicyDetail:
    revs = s.exec(
        select(PolicyRevision).where(PolicyRevision.policy_id == p.id).order_by(col(PolicyRevision.revision).desc())
    ).all()
    active = next(r for r in revs if r.revision == p.revision)
    recent = s.exec(
        select(PolicyDecision)
        .where(PolicyDecision.policy_id == p.id)
        .order_by(col(PolicyDecision.created_at).desc(), col(PolicyDecision.id).desc())
        .limit(20)
    ).all()
    return PolicyDetail(
        **PolicySummary.model_validate(p).model_dump(),
        source=active.source,
        sha256=active.sha256,
        package=active.package,
        revisions=[RevisionPublic.model_validate(r) for r in revs],
        recent_decisions=[DecisionPublic.model_validate(d) for d in recent],
    )


@router.get("/policies", operation_id="policies-list", response_model=Items[PolicySummary])
def list_policies(*, session: SessionDep, principal: Reader) -> Items[PolicySummary]:
    rows = session.exec(select(Policy).where(Policy.tenant_id == principal.tenant_id).order_by(col(Policy.name))).all()
    return Items(items=[PolicySummary.model_validate(p) for p in rows])


@router.post(
    "/policies",
    operation_id="policies-create",
    response_model=PolicyDetail,
    status_code=201,
    responses=links(201, "policy_id", CREATED_ID, "policies-get", "policies-update"),
)
def create_policy(*, body: PolicyCreate, session: SessionDep, principal: Writer) -> PolicyDetail:
    """Add a policy; its source is compiled first (422 with line and column when it does not)."""
    if session.exec(select(Policy).where(Policy.tenant_id == principal.tenant_id, Policy.name == body.name)).first():
        raise Problem(409, f"A policy named {body.name!r} exists.", remediation="Change it with PUT /api/policies/{id}.")
    p = Policy(
        tenant_id=principal.tenant_id,
        name=body.name,
        description=body.description,
        points=sorted(set(body.points)),
        enabled=body.enabled,
        created_by=principal.actor,
    )
    session.add(p)
    session.flush()
    try:
        rev = polsvc.add_revision(session, p, body.source, principal.actor)
    except engine.PolicyInvalid as exc:
        session.rollback()
        raise _invalid(exc) from exc
    append_audit(
        session,
        actor=principal.actor,
        action="policy.create",
        target_type="policy",
        target_id=p.id,
        change={"name": p.name, "points": p.points, "revision": rev.revision, "sha256": rev.sha256},
    )
    session.commit()
    return _detail(session, p)


@router.get("/policies/decisions", operation_id="policies-decisions", response_model=Page[DecisionPublic])
def list_decisions(
    *,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    point: Annotated[Point | None, Query()] = None,
    allowed: Annotated[bool | None, Query()] = None,
    policy: Annotated[str | None, Query(max_length=64, description="Policy id")] = None,
    batch: Annotated[str | None, Query(max_length=32, description="Decision (batch) id")] = None,
) -> Page[DecisionPublic]:
    """The decision log, newest first."""
    stmt = select(PolicyDecision).where(PolicyDecision.tenant_id == principal.tenant_id)
    if point:
        stmt = stmt.where(PolicyDecision.point == point)
    if allowed is not None:
        stmt = stmt.where(PolicyDecision.allowed == allowed)
    if policy:
        stmt = stmt.where(PolicyDecision.policy_id == policy)
    if batch:
        stmt = stmt.where(PolicyDecision.batch_id == batch)
    return paginate(
        session,
        stmt,
        order=[PolicyDecision.created_at, PolicyDecision.id],
        params=page,
        kind="decisions",
        to_public=DecisionPublic.model_validate,
    )


@router.get("/policies/{policy_id}", operation_id="policies-get", response_model=PolicyDetail)
def get_policy(*, policy_id: str, session: SessionDep, principal: Reader) -> PolicyDetail:
    return _detail(session, _get(session, principal, policy_id))


class RevisionSource(RevisionPublic):
    source: str


@router.get("/policies/{policy_id}/revisions/{revision}", operation_id="policies-revision", response_model=RevisionSource)
def get_revision(
    *, policy_id: str, revision: Annotated[int, Path(ge=1, le=INT32_MAX)], session: SessionDep, principal: Reader
) -> RevisionSource:
    p = _get(session, principal, policy_id)
    r = session.exec(select(PolicyRevision).where(PolicyRevision.policy_id == p.id, PolicyRevision.revision == revision)).first()
    if r is None:
        raise Problem(404, f"Policy {p.name} has no revision {revision}.")
    return RevisionSource.model_validate(r)


@router.put("/policies/{policy_id}", operation_id="policies-update", response_model=PolicyDetail)
def update_policy(*, policy_id: str, body: PolicyUpdate, session: SessionDep, principal: Writer) -> PolicyDetail:
    """Change a policy: a different source becomes a new active revision; enable or disable it."""
    p = _get(session, principal, policy_id)
    change: dict[str, Any] = {}
    if body.source is not None and polsvc.sha256_text(body.source) != polsvc.active_source(session, p).sha256:
        try:
            rev = polsvc.add_revision(session, p, body.source, principal.actor)
        except engine.PolicyInvalid as exc:
            session.rollback()
            raise _invalid(exc) from exc
        change |= {"revision": rev.revision, "sha256": rev.sha256}
    if body.description is not None:
        p.description = body.description
        change["description"] = body.description
    if body.points is not None:
        p.points = sorted(set(body.points))
        change["points"] = p.points
    if body.enabled is not None and body.enabled != p.enabled:
        p.enabled = body.enabled
        change["enabled"] = body.enabled
    if change:
        p.updated_at = utcnow()
        session.add(p)
        append_audit(session, actor=principal.actor, action="policy.update", target_type="policy", target_id=p.id, change=change)
        session.commit()
    return _detail(session, p)


class EvaluateInput(InputModel):
    point: Point
    input: dict[str, Any] = Field(description="The document the policies see as `input`")
    subject: str = Field("", max_length=300, description="What is being decided on (for the decision log)")
    dry_run: bool | None = Field(
        None,
        description="true: decide without recording. false: record in the decision log (needs policies:write). "
        "Unset: record when you hold policies:write, else a dry run.",
    )


class EvaluationPublic(ApiModel):
    decision_id: str
    allowed: bool
    reasons: list[str]
    decisions: list[DecisionPublic]
    recorded: bool = Field(description="Whether these decisions were written to the decision log (false: a dry run).")
    note: str = Field("", description="Why the evaluation was (not) recorded.")


@router.post("/policies/evaluate", operation_id="policies-evaluate", response_model=EvaluationPublic)
def evaluate(*, body: EvaluateInput, rt: RuntimeDep, principal: Reader) -> EvaluationPublic:
    """Evaluate the enabled policies of a point against an input, e.g. from CI before a deploy.

    With `policies:read` only this is a dry run: the decisions come back but nothing is logged
    (so reading cannot fill the decision log or trip PolicyDenialSpike). Holding `policies:write`
    it is recorded like any gate unless `dryRun` is true. Gates (run start, promote, rollouts)
    always record."""
    can_record = principal.can("policies:write", ScopePath(principal.tenant_id))
    if body.dry_run is False and not can_record:
        raise Problem(
            403,
            "Recording an evaluation in the decision log needs the permission 'policies:write'.",
            errors=[{"field": "dryRun", "message": "false needs policies:write"}],
            remediation="Leave dryRun unset (or true) for a dry run, or ask for a role that grants policies:write.",
        )
    record = can_record and body.dry_run is not True
    if record:
        note = "recorded in the decision log"
    elif body.dry_run:
        note = "dry run (dryRun: true): nothing recorded"
    else:
        note = "dry run: recording needs policies:write, nothing recorded"
    res = polsvc.gate(
        rt.engine,
        tenant_id=principal.tenant_id,
        point=body.point,
        input_doc=body.input,
        subject=body.subject or body.point,
        actor=principal.actor,
        timeout_s=rt.settings.policy_timeout_ms / 1000,
        redis=rt.redis_sync,
        stream_maxlen=rt.settings.stream_maxlen,
        record=record,
    )
    return EvaluationPublic(
        decision_id=res.batch_id,
        allowed=res.allowed,
        reasons=res.reasons,
        decisions=[DecisionPublic.model_validate(d) for d in res.decisions],
        recorded=record,
        note=note,
    )


class ProposedPolicy(InputModel):
    name: str = Field(pattern=NAME)
    source: str = Field(min_length=1, max_length=100_000)


class SimulateInput(InputModel):
    changes: str = Field(min_length=1, max_length=200_000, description="The changed pipeline spec (YAML or JSON text)")
    policies: list[ProposedPolicy] = Field(default_factory=list, description="Policies to try beside the active ones")


class Violation(ApiModel):
    policy: str
    source: str = Field(description="`revision N` for an active policy, `proposed` for one in the request")
    message: str


class SimulationPublic(ApiModel):
    diff: str = Field(description="Unified diff of the current spec and the changes")
    violations: list[Violation]


@router.post("/pipelines/{pipeline_id}/simulate", operation_id="pipelines-simulate", response_model=SimulationPublic)
def simulate(
    *, pipeline_id: str, body: SimulateInput, rt: RuntimeDep, session: SessionDep, principal: Reader
) -> SimulationPublic:
    """What admission would say about a changed spec, under the active policies plus proposed ones; nothing is saved."""
    p = store.find_pipeline(session, tenant_id=principal.tenant_id, ref=pipeline_id)
    if p is None:
        raise Problem(404, f"No pipeline {pipeline_id!r}.", remediation="List pipelines with GET /api/pipelines.")
    current = store.get_version(session, pipeline=p, version=p.latest_version)
    assert current is not None
    try:
        spec = specmod.validate(specmod.load(body.changes))
    except specmod.SpecError as exc:
        errors = [{"field": f"changes.{e['field']}", "message": e["message"]} for e in exc.errors]
        raise Problem(422, f"The changed spec is invalid: {exc}", errors=errors) from exc
    diff = "".join(
        difflib.unified_diff(
            current.source_text.splitlines(keepends=True),
            body.changes.splitlines(keepends=True),
            fromfile=f"{p.name} v{current.version}",
            tofile=f"{p.name} (changes)",
        )
    )
    try:
        violations = polsvc.simulate(
            session,
            tenant_id=principal.tenant_id,
            point="admission",
            input_doc=admission_input(p.name, spec, principal.actor),
            extra={x.name: x.source for x in body.policies},
            timeout_s=rt.settings.policy_timeout_ms / 1000,
        )
    except engine.PolicyInvalid as exc:
        raise _invalid(exc) from exc
    return SimulationPublic(diff=diff, violations=[Violation.model_validate(v) for v in violations])
