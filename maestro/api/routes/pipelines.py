from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field
from sqlmodel import Session, col, select

from maestro.api.deps import AUTHENTICATED, Require, RuntimeDep, SessionDep
from maestro.api.pagination import ApiModel, Items, Page, PageParams, page_params, paginate
from maestro.api.problems import FieldError, Problem
from maestro.api.schemas import CREATED_ID, FIRST_ITEM_ID, INT32_MAX, InputModel, links
from maestro.domain.identity import Principal
from maestro.domain.runs import Pipeline, PipelineVersion, Run
from maestro.pipelines import spec as specmod
from maestro.pipelines import store
from maestro.policy.inputs import admission_input

router = APIRouter(tags=["pipelines"])

Reader = Annotated[Principal, Require("runs:read", scope="any")]
Writer = Annotated[Principal, Require("pipelines:write")]


class SpecInput(InputModel):
    spec: str | dict[str, Any] = Field(description="The pipeline spec: YAML/JSON text, or a JSON object.")


class PipelinePublic(ApiModel):
    id: str
    name: str
    description: str
    latest_version: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    recent_statuses: list[str] = Field(default_factory=list, description="Statuses of the last runs, newest first.")


class PipelineVersionPublic(ApiModel):
    id: str
    pipeline_id: str
    version: int
    content_hash: str
    created_by: str
    created_at: datetime
    spec: dict[str, Any]
    source_text: str


class PipelineVersionSummary(ApiModel):
    version: int
    content_hash: str
    created_by: str
    created_at: datetime


class PlanStep(ApiModel):
    """One executable step after matrix expansion."""

    key: str
    step_id: str
    name: str
    kind: str
    needs: list[str]
    pool: str
    matrix: dict[str, str]
    network: bool = Field(True, description="false: the step's sandbox has no network (`network: none`)")
    command: str = Field(
        "", description="What the shell executes: `run` with every ${{ }} replaced by a quoted env variable reference."
    )


class PipelineDetail(PipelinePublic):
    latest: PipelineVersionPublic
    plan: list[PlanStep]
    warnings: list[FieldError] = Field(default_factory=list, description="Advice that does not stop the spec.")


class ValidationResult(ApiModel):
    valid: bool
    errors: list[FieldError]
    warnings: list[FieldError] = Field(
        default_factory=list, description="Advice that does not stop the spec (e.g. ${{ }} inside single quotes)."
    )
    plan: list[PlanStep] = Field(default_factory=list)
    content_hash: str | None = None


class FieldChange(ApiModel):
    field: str
    from_: Any = Field(alias="from")
    to: Any


class StepChange(ApiModel):
    id: str
    changes: list[FieldChange]


class ParamChange(ApiModel):
    name: str
    from_: Any = Field(alias="from")
    to: Any


class ArtifactsChange(ApiModel):
    id: str
    from_: list[str] = Field(alias="from")
    to: list[str]


class PipelineDiff(ApiModel):
    from_version: int
    to_version: int
    steps_added: list[str]
    steps_removed: list[str]
    steps_changed: list[StepChange]
    params_added: list[str]
    params_removed: list[str]
    params_changed: list[ParamChange]
    artifacts_changed: list[ArtifactsChange]
    env_changed: bool
    source_changed: bool


def parse_input(body: SpecInput) -> tuple[specmod.PipelineSpec, str]:
    try:
        if isinstance(body.spec, dict):
            data, text = body.spec, yaml.safe_dump(body.spec, sort_keys=False)
        else:
            data, text = specmod.load(body.spec), body.spec
        return specmod.validate(data), text
    except specmod.SpecError as exc:
        raise Problem(
            422,
            f"The pipeline spec is invalid: {exc}",
            title="Invalid pipeline spec",
            errors=[
                {"field": e["field"] if e["field"] == "spec" else f"spec.{e['field']}", "message": e["message"]}
                for e in exc.errors
            ],
            remediation="Fix the named fields; GET /api/schemas/pipeline.json has the schema.",
        ) from exc


def plan_public(spec: specmod.PipelineSpec) -> list[PlanStep]:
    return [
        PlanStep(
            key=p.key,
            step_id=p.step_id,
            name=p.name,
            kind=p.kind,
            needs=p.needs,
            pool=p.pool,
            matrix={k: str(v) for k, v in p.matrix.items()},
            network=p.network,
            command=p.command,
        )
        for p in specmod.plan(spec)
    ]


def spec_warnings(spec: specmod.PipelineSpec) -> list[FieldError]:
    return [FieldError(field=f"spec.{w['field']}", message=w["message"]) for w in specmod.warnings(spec)]


def _recent(s: Session, pipeline_id: str, n: int = 10) -> list[str]:
    return list(
        s.exec(select(Run.status).where(Run.pipeline_id == pipeline_id).order_by(col(Run.created_at).desc()).limit(n)).all()
    )


def _public(s: Session, p: Pipeline) -> PipelinePublic:
    return PipelinePublic.model_validate({**p.model_dump(), "recent_statuses": _recent(s, p.id)})


def _get(s: Session, principal: Principal, ref: str) -> Pipeline:
    p = store.find_pipeline(s, tenant_id=principal.tenant_id, ref=ref)
    if p is None:
        raise Problem(404, f"No pipeline {ref!r}.", remediation="List pipelines with GET /api/pipelines.")
    return p


@router.get("/schemas/pipeline.json", operation_id="schemas-pipeline", response_model=dict[str, Any])
def pipeline_schema(*, principal: Annotated[Principal, Require(AUTHENTICATED)]) -> dict[str, Any]:
    """The JSON Schema of pipeline specs."""
    return specmod.json_schema()


@router.post("/pipelines/validate", operation_id="pipelines-validate", response_model=ValidationResult)
def validate_pipeline(*, body: SpecInput, principal: Reader) -> ValidationResult:
    """Check a spec without saving it: every problem with its field, and the expanded plan."""
    try:
        spec, _ = parse_input(body)
    except Problem as exc:
        return ValidationResult(
            valid=False, errors=[FieldError(**e) for e in exc.errors or [{"field": "spec", "message": exc.detail}]]
        )
    return ValidationResult(
        valid=True,
        errors=[],
        warnings=spec_warnings(spec),
        plan=plan_public(spec),
        content_hash=specmod.content_hash(spec),
    )


@router.get(
    "/pipelines",
    operation_id="pipelines-list",
    response_model=Page[PipelinePublic],
    responses=links(200, "pipeline_id", FIRST_ITEM_ID, "pipelines-get", "pipelines-versions-list", "pipelines-simulate"),
)
def list_pipelines(
    *,
    session: SessionDep,
    principal: Reader,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[PipelinePublic]:
    stmt = select(Pipeline).where(Pipeline.tenant_id == principal.tenant_id)
    if q:
        stmt = stmt.where(col(Pipeline.name).ilike(f"%{q.lower()}%"))
    # most recently changed first (a new version moves a pipeline up), as the list shows "Updated"
    return paginate(
        session,
        stmt,
        order=[Pipeline.updated_at, Pipeline.id],
        params=page,
        kind="pipelines.updated",
        to_public=lambda p: _public(session, p),
    )


@router.post(
    "/pipelines",
    operation_id="pipelines-create",
    response_model=PipelineDetail,
    status_code=201,
    responses=links(201, "pipeline_id", CREATED_ID, "pipelines-get", "pipelines-update", "pipelines-versions-list"),
)
def create_pipeline(*, body: SpecInput, rt: RuntimeDep, session: SessionDep, principal: Writer) -> PipelineDetail:
    """Register a pipeline (version 1). The name comes from the spec; admission policies may refuse it (422)."""
    spec, text = parse_input(body)
    _admit(rt, principal, spec)
    try:
        p, v = store.create_pipeline(session, tenant_id=principal.tenant_id, actor=principal.actor, spec=spec, text=text)
    except store.Conflict as exc:
        raise Problem(409, str(exc), remediation="PUT /api/pipelines/{id} adds a new version instead.") from exc
    return _detail(session, p, v)


def _admit(rt: RuntimeDep, principal: Principal, spec: specmod.PipelineSpec) -> None:
    from maestro.api.gates import enforce

    enforce(
        rt,
        principal,
        point="admission",
        input_doc=admission_input(spec.name, spec, principal.actor),
        subject=f"pipeline {spec.name}",
        field="spec",
        status=422,
    )


def _detail(s: Session, p: Pipeline, v: PipelineVersion) -> PipelineDetail:
    spec = store.spec_of(v)
    return PipelineDetail.model_validate(
        {
            **_public(s, p).model_dump(),
            "latest": PipelineVersionPublic.model_validate(v),
            "plan": plan_public(spec),
            "warnings": spec_warnings(spec),
        }
    )


@router.get("/pipelines/{pipeline_id}", operation_id="pipelines-get", response_model=PipelineDetail)
def get_pipeline(*, pipeline_id: str, session: SessionDep, principal: Reader) -> PipelineDetail:
    p = _get(session, principal, pipeline_id)
    v = store.get_version(session, pipeline=p, version=p.latest_version)
    assert v is not None
    return _detail(session, p, v)


@router.put("/pipelines/{pipeline_id}", operation_id="pipelines-update", response_model=PipelineDetail)
def update_pipeline(
    *, pipeline_id: str, body: SpecInput, rt: RuntimeDep, session: SessionDep, principal: Writer
) -> PipelineDetail:
    """Save a new immutable version (unchanged content keeps the latest version); admission policies may refuse it."""
    p = _get(session, principal, pipeline_id)
    spec, text = parse_input(body)
    _admit(rt, principal, spec)
    try:
        v, _created = store.add_version(session, pipeline=p, actor=principal.actor, spec=spec, text=text)
    except ValueError as exc:
        raise Problem(422, str(exc), errors=[{"field": "spec.name", "message": "cannot change"}]) from exc
    return _detail(session, p, v)


@router.get(
    "/pipelines/{pipeline_id}/versions", operation_id="pipelines-versions-list", response_model=Items[PipelineVersionSummary]
)
def list_versions(*, pipeline_id: str, session: SessionDep, principal: Reader) -> Items[PipelineVersionSummary]:
    p = _get(session, principal, pipeline_id)
    rows = session.exec(
        select(PipelineVersion).where(PipelineVersion.pipeline_id == p.id).order_by(col(PipelineVersion.version).desc())
    ).all()
    return Items[PipelineVersionSummary](items=[PipelineVersionSummary.model_validate(v) for v in rows])


@router.get(
    "/pipelines/{pipeline_id}/versions/{version}", operation_id="pipelines-versions-get", response_model=PipelineVersionPublic
)
def get_version(
    *, pipeline_id: str, version: Annotated[int, Path(ge=1, le=INT32_MAX)], session: SessionDep, principal: Reader
) -> PipelineVersionPublic:
    p = _get(session, principal, pipeline_id)
    v = store.get_version(session, pipeline=p, version=version)
    if v is None:
        raise Problem(404, f"Pipeline {p.name} has no version {version} (latest is {p.latest_version}).")
    return PipelineVersionPublic.model_validate(v)


@router.get("/pipelines/{pipeline_id}/diff", operation_id="pipelines-diff", response_model=PipelineDiff)
def diff(
    *,
    pipeline_id: str,
    session: SessionDep,
    principal: Reader,
    from_: Annotated[int, Query(alias="from", ge=1, le=INT32_MAX)],
    to: Annotated[int, Query(ge=1, le=INT32_MAX)],
) -> PipelineDiff:
    """What changed between two versions: steps (field by field), params, artifacts."""
    p = _get(session, principal, pipeline_id)
    va, vb = store.get_version(session, pipeline=p, version=from_), store.get_version(session, pipeline=p, version=to)
    for n, v in ((from_, va), (to, vb)):
        if v is None:
            raise Problem(
                404,
                f"Pipeline {p.name} has no version {n}.",
                errors=[{"field": "query.from" if n == from_ else "query.to", "message": "unknown version"}],
            )
    assert va is not None and vb is not None
    d = store.diff_specs(store.spec_of(va), store.spec_of(vb))
    return PipelineDiff.model_validate({"fromVersion": from_, "toVersion": to, **d})
