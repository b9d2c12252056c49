"""Starting runs: the projection rows, the audit event and the RunWorkflow, without half-written state."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, select
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from maestro.config import Settings
from maestro.domain.auditlog import append_audit
from maestro.domain.runs import Artifact, Pipeline, PipelineVersion, Run, StepRun
from maestro.finops import service as budgets
from maestro.pipelines import spec as specmod
from maestro.pipelines import store
from maestro.pipelines.shellsafe import make_safe
from maestro.shared import ENV_ATTR, PIPELINE_ATTR, STATUS_ATTR, TENANT_ATTR, ReusedStep, RunInput, StepPlan
from maestro.states import RunStatus


class StartFailed(Exception):
    pass


def _plans(spec: specmod.PipelineSpec) -> list[StepPlan]:
    return [
        StepPlan(
            key=p.key,
            step_id=p.step_id,
            name=p.name,
            kind=p.kind,
            run=p.run,
            env=p.env,
            needs=p.needs,
            if_=p.if_,
            timeout_s=p.timeout_s,
            retries=p.retries,
            artifacts=p.artifacts,
            matrix={k: str(v) for k, v in p.matrix.items()},
            pool=p.pool,
            message=p.message,
            with_=p.with_,
            network=p.network,
            keep_workspace=p.keep_workspace,
        )
        for p in specmod.plan(spec)
    ]


async def start_run(
    *,
    session: Session,
    temporal: Client,
    settings: Settings,
    pipeline: Pipeline,
    version: PipelineVersion,
    inputs: dict[str, Any],
    env: str,
    ref: str | None,
    labels: dict[str, str],
    actor: str,
    owner: str,
    trace_id: str,
    rerun_of: Run | None = None,
    reuse_succeeded: bool = False,
) -> Run:
    admission = budgets.admit(
        session,
        tenant_id=pipeline.tenant_id,
        dims=budgets.dims_of_run(session, tenant_id=pipeline.tenant_id, env=env, pipeline=pipeline.name),
        what=f"a run of {pipeline.name} in {env}",
    )  # a frozen budget raises BudgetFrozen before anything is written
    spec = store.spec_of(version)
    resolved = specmod.resolve_inputs(spec, inputs)
    plans = _plans(spec)
    source_ref = ref or (spec.source.ref if spec.source else "")
    number = store.next_run_number(session, pipeline=pipeline)
    run = Run(
        tenant_id=pipeline.tenant_id,
        pipeline_id=pipeline.id,
        pipeline_name=pipeline.name,
        version_id=version.id,
        version=version.version,
        number=number,
        workflow_id=f"run-{pipeline.name}-{number}",
        env=env,
        ref=source_ref,
        branch=source_ref if source_ref and len(source_ref) != 40 else "",
        inputs=resolved,
        labels=labels,
        owner=owner,
        trace_id=trace_id,
        rerun_of=rerun_of.id if rerun_of else None,
        steps_total=len(plans),
    )
    session.add(run)
    session.flush()
    reuse: dict[str, ReusedStep] = {}
    old_steps = {s.key: s for s in store.steps_of(session, run_id=rerun_of.id)} if rerun_of and reuse_succeeded else {}
    for i, p in enumerate(plans):
        session.add(
            StepRun(
                run_id=run.id,
                key=p.key,
                step_id=p.step_id,
                name=p.name,
                kind=p.kind,
                position=i,
                needs=p.needs,
                pool=p.pool,
                command=make_safe(p.run).command if p.run else "",
            )
        )
        old = old_steps.get(p.key)
        if old is not None and old.status == "succeeded":
            reuse[p.key] = ReusedStep(outputs=dict(old.outputs), source_run_id=rerun_of.id)  # type: ignore[union-attr]
    if reuse and rerun_of is not None:
        for a in session.exec(select(Artifact).where(Artifact.run_id == rerun_of.id)).all():
            if a.step_key in reuse:
                session.add(
                    Artifact(
                        run_id=run.id,
                        step_key=a.step_key,
                        path=a.path,
                        sha256=a.sha256,
                        size=a.size,
                        media_type=a.media_type,
                        uri=a.uri,
                    )
                )
    append_audit(
        session,
        actor=actor,
        action="run.rerun" if rerun_of else "run.start",
        target_type="run",
        target_id=run.id,
        change={
            "workflow_id": run.workflow_id,
            "version": version.version,
            "inputs": resolved,
            "env": env,
            "ref": source_ref,
            "rerun_of": run.rerun_of,
            "reused": sorted(reuse),
            **({"slowedBy": admission.slowed} if admission.slowed else {}),
        },
    )
    session.commit()
    inp = RunInput(
        run_id=run.id,
        pipeline=pipeline.name,
        env_name=env,
        steps=plans,
        inputs=resolved,
        source_url=spec.source.url if spec.source else None,
        source_ref=(rerun_of.commit if rerun_of and rerun_of.commit else source_ref) or "HEAD",
        rate_card=dict(settings.rate_card),
        reuse=reuse,
        log_max_lines=settings.step_log_max_lines,
        log_max_line_bytes=settings.step_log_max_line_bytes,
        runner_queue_prefix=settings.runner_queue_prefix,
        permit_from=admission.permit_from,
    )
    try:
        await temporal.start_workflow(
            "RunWorkflow",
            inp,
            id=run.workflow_id,
            task_queue=settings.control_task_queue,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(PIPELINE_ATTR, pipeline.name),
                    SearchAttributePair(ENV_ATTR, env),
                    SearchAttributePair(TENANT_ATTR, pipeline.tenant_id),
                    SearchAttributePair(STATUS_ATTR, "running"),
                ]
            ),
            memo={
                "runId": run.id,
                "pipeline": pipeline.name,
                "version": version.version,
                "owner": owner,
                "inputs": json.dumps(resolved),
            },
        )
    except Exception as exc:
        run.status = RunStatus.error
        run.error = f"could not start the workflow: {exc}"[:2000]
        session.add(run)
        session.commit()
        raise StartFailed(str(exc)) from exc
    return run
