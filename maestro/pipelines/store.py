"""Data access for pipelines, versions and runs (keyword-only functions, no HTTP)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from maestro.domain.auditlog import append_audit
from maestro.domain.runs import Pipeline, PipelineVersion, Run, StepRun
from maestro.domain.types import utcnow
from maestro.pipelines import spec as specmod


class Conflict(Exception):
    pass


def find_pipeline(s: Session, *, tenant_id: str, ref: str) -> Pipeline | None:
    return s.exec(select(Pipeline).where(Pipeline.tenant_id == tenant_id, (Pipeline.id == ref) | (Pipeline.name == ref))).first()


def create_pipeline(
    s: Session, *, tenant_id: str, actor: str, spec: specmod.PipelineSpec, text: str
) -> tuple[Pipeline, PipelineVersion]:
    if find_pipeline(s, tenant_id=tenant_id, ref=spec.name):
        raise Conflict(f"a pipeline named {spec.name!r} already exists")
    p = Pipeline(tenant_id=tenant_id, name=spec.name, description=spec.description, created_by=actor)
    s.add(p)
    s.flush()
    v = PipelineVersion(
        pipeline_id=p.id,
        version=1,
        spec=spec.model_dump(mode="json", by_alias=True, exclude_defaults=True),
        source_text=text,
        content_hash=specmod.content_hash(spec),
        created_by=actor,
    )
    s.add(v)
    append_audit(
        s,
        actor=actor,
        action="pipeline.create",
        target_type="pipeline",
        target_id=p.id,
        change={"name": p.name, "hash": v.content_hash},
    )
    try:
        s.commit()
    except IntegrityError as exc:
        s.rollback()
        raise Conflict(f"a pipeline named {spec.name!r} already exists") from exc
    return p, v


def add_version(
    s: Session, *, pipeline: Pipeline, actor: str, spec: specmod.PipelineSpec, text: str
) -> tuple[PipelineVersion, bool]:
    """A new immutable version, unless the content is unchanged (then the latest, created=False)."""
    if spec.name != pipeline.name:
        raise ValueError(f"the spec's name {spec.name!r} differs from the pipeline's {pipeline.name!r}; names cannot change")
    latest = get_version(s, pipeline=pipeline, version=pipeline.latest_version)
    h = specmod.content_hash(spec)
    if latest is not None and latest.content_hash == h:
        return latest, False
    v = PipelineVersion(
        pipeline_id=pipeline.id,
        version=pipeline.latest_version + 1,
        spec=spec.model_dump(mode="json", by_alias=True, exclude_defaults=True),
        source_text=text,
        content_hash=h,
        created_by=actor,
    )
    pipeline.latest_version = v.version
    pipeline.description = spec.description
    pipeline.updated_at = utcnow()
    s.add(v)
    s.add(pipeline)
    append_audit(
        s,
        actor=actor,
        action="pipeline.version",
        target_type="pipeline",
        target_id=pipeline.id,
        change={"version": v.version, "hash": h},
    )
    s.commit()
    return v, True


def get_version(s: Session, *, pipeline: Pipeline, version: int) -> PipelineVersion | None:
    return s.exec(
        select(PipelineVersion).where(PipelineVersion.pipeline_id == pipeline.id, PipelineVersion.version == version)
    ).first()


def spec_of(v: PipelineVersion) -> specmod.PipelineSpec:
    return specmod.PipelineSpec.model_validate(v.spec)


def diff_specs(a: specmod.PipelineSpec, b: specmod.PipelineSpec) -> dict[str, Any]:
    """Steps added/removed/changed (field by field), params and artifacts changes."""

    def dump(x: Any) -> Any:
        return x.model_dump(mode="json", by_alias=True, exclude_defaults=True) if hasattr(x, "model_dump") else x

    sa = {s.id: dump(s) for s in a.steps}
    sb = {s.id: dump(s) for s in b.steps}
    changed = []
    for sid in sorted(set(sa) & set(sb)):
        fields = []
        for f in sorted(set(sa[sid]) | set(sb[sid])):
            if sa[sid].get(f) != sb[sid].get(f):
                fields.append({"field": f, "from": sa[sid].get(f), "to": sb[sid].get(f)})
        if fields:
            changed.append({"id": sid, "changes": fields})
    pa = {k: dump(v) for k, v in a.params.items()}
    pb = {k: dump(v) for k, v in b.params.items()}
    return {
        "stepsAdded": [sid for sid in sb if sid not in sa],
        "stepsRemoved": [sid for sid in sa if sid not in sb],
        "stepsChanged": changed,
        "paramsAdded": [k for k in pb if k not in pa],
        "paramsRemoved": [k for k in pa if k not in pb],
        "paramsChanged": [{"name": k, "from": pa[k], "to": pb[k]} for k in pa if k in pb and pa[k] != pb[k]],
        "artifactsChanged": [
            {"id": sid, "from": sa[sid].get("artifacts", []), "to": sb[sid].get("artifacts", [])}
            for sid in sorted(set(sa) & set(sb))
            if sa[sid].get("artifacts") != sb[sid].get("artifacts")
        ],
        "envChanged": dict(a.env) != dict(b.env),
        "sourceChanged": dump(a.source) != dump(b.source),
    }


def next_run_number(s: Session, *, pipeline: Pipeline) -> int:
    """Reserve the pipeline's next run number: one UPDATE … RETURNING that reads and increments the counter
    in the database, so runs started at once (several API processes) get distinct numbers. (Reading the
    row first and writing it back gave SQLite, which ignores FOR UPDATE, two runs with one number.) The
    row stays locked by the caller's transaction until the run is committed."""
    stmt = (
        update(Pipeline)
        .where(col(Pipeline.id) == pipeline.id)
        .values(run_counter=col(Pipeline.run_counter) + 1)
        .returning(col(Pipeline.run_counter))
        .execution_options(synchronize_session=False)
    )
    number: int = s.execute(stmt).scalar_one()
    set_committed_value(pipeline, "run_counter", number)
    return number


def steps_of(s: Session, *, run_id: str) -> list[StepRun]:
    return list(s.exec(select(StepRun).where(StepRun.run_id == run_id).order_by(col(StepRun.position))).all())


def find_run(s: Session, *, tenant_id: str, ref: str) -> Run | None:
    return s.exec(select(Run).where(Run.tenant_id == tenant_id, (Run.id == ref) | (Run.workflow_id == ref))).first()
