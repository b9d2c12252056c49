"""SLSA Provenance v1 for runs, signed as DSSE by the instance key; verification of a run's attestations."""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from maestro import __version__
from maestro.artifacts import Store, make_store, read_verified
from maestro.config import Settings
from maestro.domain.runs import Artifact, PipelineVersion, Run, StepRun
from maestro.domain.supply import Attestation, SigningKey
from maestro.supply import keys as keymod
from maestro.supply.signing import sign_blob, sign_statement, statement, verify_blob, verify_envelope

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://maestro.build/buildtypes/pipeline-run/v1"


def builder_id(settings: Settings) -> str:
    return f"{settings.effective_public_url.rstrip('/')}/builders/{settings.control_task_queue}"


def _subjects(s: Session, run_id: str) -> list[tuple[str, str]]:
    arts = s.exec(select(Artifact).where(Artifact.run_id == run_id).order_by(col(Artifact.path), col(Artifact.step_key))).all()
    seen: dict[str, str] = {}
    for a in arts:  # a matrix leg may upload the same path: name it by step to keep names unique
        name = a.path if a.path not in seen else f"{a.step_key}/{a.path}"
        seen[name] = a.sha256
    return sorted(seen.items())


def provenance_statement(s: Session, run: Run, settings: Settings, finished_at: str | None = None) -> dict[str, Any]:
    version = s.get(PipelineVersion, run.version_id)
    spec = version.spec if version else {}
    steps = s.exec(select(StepRun).where(StepRun.run_id == run.id).order_by(col(StepRun.position), col(StepRun.key))).all()
    deps: list[dict[str, Any]] = []
    if version is not None:
        deps.append(
            {
                "uri": f"{settings.effective_public_url.rstrip('/')}/pipelines/{run.pipeline_id}/versions/{version.version}",
                "digest": {"sha256": hashlib.sha256(version.source_text.encode()).hexdigest()},
                "name": f"pipeline spec {run.pipeline_name} v{version.version}",
            }
        )
    source = spec.get("source") or {}
    if run.commit:
        deps.append({"uri": f"git+{source.get('url', '')}@{run.ref or 'HEAD'}", "digest": {"gitCommit": run.commit}})
    predicate = {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "pipeline": run.pipeline_name,
                "version": run.version,
                "inputs": run.inputs,
                "env": run.env,
                "ref": run.ref,
            },
            "internalParameters": {
                "specContentHash": version.content_hash if version else "",
                "steps": [
                    {"key": st.key, "pool": st.pool, "attempts": st.attempt, "status": st.status, "isolation": st.isolation}
                    for st in steps
                ],
                # "sandbox": every step ran in the step sandbox; "none": at least one ran on a runner an
                # administrator set to MAESTRO_RUNNER_ISOLATION=none (build code could see that host)
                "isolation": run.isolation or "unknown",
            },
            "resolvedDependencies": deps,
        },
        "runDetails": {
            "builder": {"id": builder_id(settings), "version": {"maestro": __version__}},
            "metadata": {
                "invocationId": run.workflow_id,
                "startedOn": run.started_at.isoformat() if run.started_at else None,
                "finishedOn": finished_at or (run.finished_at.isoformat() if run.finished_at else None),
            },
        },
    }
    return statement(_subjects(s, run.id), SLSA_PROVENANCE_V1, predicate)


def attest_run(engine: Engine, settings: Settings, run_id: str, *, finished_at: str | None = None) -> str:
    """Sign and store the run's provenance (once: a retry finds the stored one)."""
    key = keymod.instance_key(settings, engine)
    with Session(engine) as s:
        existing = s.exec(select(Attestation).where(Attestation.run_id == run_id, Attestation.kind == "provenance")).first()
        if existing is not None:
            return existing.id
        run = s.get(Run, run_id)
        if run is None:
            raise LookupError(f"run {run_id} not found")
        stmt = provenance_statement(s, run, settings, finished_at)
        att = Attestation(
            run_id=run_id,
            kind="provenance",
            predicate_type=SLSA_PROVENANCE_V1,
            keyid=key.keyid,
            envelope=sign_statement(key, stmt),
        )
        s.add(att)
        s.commit()
        return att.id


def sign_artifacts(engine: Engine, settings: Settings, run_id: str, patterns: list[str]) -> list[dict[str, str]]:
    """`uses: sign`: a cosign-compatible signature for each of the run's artifacts matching a pattern."""
    key = keymod.instance_key(settings, engine)
    store = make_store(settings)
    out = []
    with Session(engine) as s:
        for a in s.exec(select(Artifact).where(Artifact.run_id == run_id).order_by(col(Artifact.path))).all():
            if not any(fnmatch.fnmatch(a.path, p) for p in patterns):
                continue
            sig = sign_blob(key, read_verified(store, a.sha256))  # re-hashed: never sign what the store does not hold
            prior = s.exec(
                select(Attestation).where(
                    Attestation.run_id == run_id, Attestation.kind == "signature", Attestation.subject_sha256 == a.sha256
                )
            ).first()
            if prior is None:
                s.add(
                    Attestation(
                        run_id=run_id,
                        kind="signature",
                        subject_name=a.path,
                        subject_sha256=a.sha256,
                        keyid=key.keyid,
                        signature=sig,
                    )
                )
            out.append({"path": a.path, "sha256": a.sha256, "signature": prior.signature if prior else sig})
        s.commit()
    return out


@dataclass
class Verification:
    provenance: dict[str, Any] | None = None
    signatures: list[dict[str, Any]] = field(default_factory=list)
    slsa_level: int = 0
    problems: list[str] = field(default_factory=list)


def public_keys(s: Session) -> dict[str, Any]:
    return {k.id: keymod.load_public(k.public_pem) for k in s.exec(select(SigningKey)).all()}


def verify_run(s: Session, run_id: str, store: Store) -> Verification:
    """Check the run's provenance and blob signatures against the stored keys and artifacts."""
    out = Verification()
    keys = public_keys(s)
    arts = {a.sha256: a for a in s.exec(select(Artifact).where(Artifact.run_id == run_id)).all()}
    for att in s.exec(select(Attestation).where(Attestation.run_id == run_id).order_by(col(Attestation.created_at))).all():
        pub = keys.get(att.keyid)
        if att.kind == "provenance":
            result: dict[str, Any] = {"id": att.id, "keyid": att.keyid, "verified": False, "subjects": 0}
            try:
                if pub is None:
                    raise ValueError(f"unknown key {att.keyid[:16]}")
                stmt = verify_envelope(att.envelope, [pub])
                subjects = {d["digest"]["sha256"] for d in stmt["subject"]}
                missing = subjects - set(arts)
                if missing:
                    raise ValueError(f"{len(missing)} subject digest(s) are not artifacts of this run")
                result |= {"verified": True, "subjects": len(subjects), "statement": stmt}
            except (ValueError, KeyError, TypeError) as exc:
                result["error"] = str(exc)
                out.problems.append(f"provenance: {exc}")
            out.provenance = result
        elif att.kind == "signature":
            ok = pub is not None and att.subject_sha256 in arts
            out.signatures.append(
                {
                    "path": att.subject_name,
                    "sha256": att.subject_sha256,
                    "keyid": att.keyid,
                    "signature": att.signature,
                    "verified": ok and _blob_ok(store, att, pub),
                }
            )
    if out.provenance is not None:
        out.slsa_level = 2 if out.provenance["verified"] else 1
    for sig in out.signatures:
        if not sig["verified"]:
            out.problems.append(f"signature of {sig['path']} does not verify")
    return out


def _blob_ok(store: Store, att: Attestation, pub: Any) -> bool:
    """The signature verifies over the artifact's bytes as the store holds them now (re-hashed on read)."""
    try:
        data = read_verified(store, att.subject_sha256)
    except Exception:  # missing or corrupted in the store: nothing signed can be shown
        return False
    return verify_blob(pub, data, att.signature)
