"""Control-plane activities that use the instance signing key or the policies (runners hold neither)."""

from __future__ import annotations

from typing import Any

from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from maestro.artifacts import make_store
from maestro.config import Settings
from maestro.domain.runs import Artifact, Run
from maestro.domain.supply import Attestation
from maestro.pipelines.spec import SBOM_FILE
from maestro.policy import service as polsvc
from maestro.shared import AttestInput, GateInput, GateOutcome, SignedArtifact, SignInput
from maestro.supply import provenance, runsbom


def promote_input(s: Session, settings: Settings, run: Run, env: str) -> dict[str, Any]:
    """What the promote policies see: the run's artifacts with their signature state, and its SBOM."""
    arts = s.exec(select(Artifact).where(Artifact.run_id == run.id).order_by(col(Artifact.path))).all()
    signed = set(
        s.exec(select(Attestation.subject_sha256).where(Attestation.run_id == run.id, Attestation.kind == "signature")).all()
    )
    doc: dict[str, Any] = {
        "point": "promote",
        "env": env,
        "pipeline": run.pipeline_name,
        "run": {"id": run.id, "env": run.env, "commit": run.commit, "ref": run.ref},
        "artifacts": [
            {"path": a.path, "sha256": a.sha256, "size": a.size, "signed": a.sha256 in signed}
            for a in arts
            if not a.path.endswith(SBOM_FILE)
        ],
    }
    sbom = runsbom.sbom_artifact(s, run.id)
    if sbom is not None:
        components = len(runsbom.read_json(make_store(settings), sbom).get("components", []))
        doc["sbom"] = {"sha256": sbom.sha256, "components": components}
    return doc


class SupplyActivities:
    def __init__(self, *, engine: Engine, settings: Settings, redis: Redis | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.redis = redis

    @activity.defn(name="attest_run")
    def attest_run(self, inp: AttestInput) -> str:
        return provenance.attest_run(self.engine, self.settings, inp.run_id, finished_at=inp.finished_at)

    @activity.defn(name="sign_artifacts")
    def sign_artifacts(self, inp: SignInput) -> list[SignedArtifact]:
        signed = provenance.sign_artifacts(self.engine, self.settings, inp.run_id, inp.patterns)
        return [SignedArtifact(path=a["path"], sha256=a["sha256"], signature=a["signature"]) for a in signed]

    @activity.defn(name="policy_gate")
    def policy_gate(self, inp: GateInput) -> GateOutcome:
        with Session(self.engine) as s:
            run = s.get(Run, inp.run_id)
            if run is None:
                raise LookupError(f"run {inp.run_id} not found")
            doc = promote_input(s, self.settings, run, inp.env)
            tenant_id, owner = run.tenant_id, run.owner
        res = polsvc.gate(
            self.engine,
            tenant_id=tenant_id,
            point="promote",
            input_doc=doc,
            subject=f"run {inp.run_id} ({inp.key}) → {inp.env}",
            actor=owner,
            timeout_s=self.settings.policy_timeout_ms / 1000,
            redis=self.redis,
            stream_maxlen=self.settings.stream_maxlen,
        )
        return GateOutcome(allowed=res.allowed, decision_id=res.batch_id, reasons=res.reasons)
