"""Keys, run attestations (provenance, signatures), SBOMs and SBOM diffs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import Field
from sqlmodel import Session, col, select

from maestro.api.deps import Public, Require, RuntimeDep, SessionDep, run_or_404
from maestro.api.pagination import ApiModel, Items
from maestro.api.problems import Problem
from maestro.artifacts import DigestMismatch, make_store
from maestro.domain.identity import Principal
from maestro.domain.runs import Artifact
from maestro.domain.supply import Attestation, SigningKey
from maestro.supply import keys as keymod
from maestro.supply import provenance, runsbom

router = APIRouter(tags=["supply chain"])
Reader = Annotated[Principal, Require("runs:read", scope="any")]


class KeyPublic(ApiModel):
    keyid: str = Field(description="sha256 of the DER-encoded public key, hex")
    algorithm: str
    public_pem: str
    created_at: datetime
    retired_at: datetime | None
    active: bool


def _key(k: SigningKey) -> KeyPublic:
    return KeyPublic(
        keyid=k.id,
        algorithm=k.algorithm,
        public_pem=k.public_pem,
        created_at=k.created_at,
        retired_at=k.retired_at,
        active=k.retired_at is None,
    )


@router.get("/keys", operation_id="keys-list", response_model=Items[KeyPublic], dependencies=[Public])
def list_keys(*, rt: RuntimeDep, session: SessionDep) -> Items[KeyPublic]:
    """The instance's public signing keys: the active one first, then retired ones (they still verify old evidence)."""
    keymod.instance_key(rt.settings, rt.engine)  # created on first use
    rows = session.exec(select(SigningKey).order_by(col(SigningKey.retired_at).is_not(None), col(SigningKey.created_at).desc()))
    return Items(items=[_key(k) for k in rows])


@router.get(
    "/keys/{keyid}.pem",
    operation_id="keys-export",
    response_class=PlainTextResponse,
    dependencies=[Public],
    responses={200: {"content": {"application/x-pem-file": {}}, "description": "The public key, PEM"}},
)
def export_key(*, keyid: str, session: SessionDep) -> PlainTextResponse:
    """One public key as PEM, e.g. for `cosign verify-blob --key` or `maestro evidence verify --key`."""
    k = session.get(SigningKey, keyid)
    if k is None:
        raise Problem(404, f"No key {keyid!r}.", remediation="List keys with GET /api/keys.")
    return PlainTextResponse(k.public_pem, media_type="application/x-pem-file")


class ProvenanceCheck(ApiModel):
    id: str
    keyid: str
    verified: bool
    subjects: int
    error: str | None = None
    statement: dict[str, Any] | None = None


class SignatureCheck(ApiModel):
    path: str
    sha256: str
    keyid: str
    signature: str = Field(description="base64 DER ECDSA P-256/SHA-256, as `cosign sign-blob --key` writes it")
    verified: bool


class SbomSummary(ApiModel):
    artifact_id: str
    sha256: str
    components: int


class Attestations(ApiModel):
    run_id: str
    slsa_level: int = Field(description="SLSA Build level reached: 2 = provenance signed by the control plane verifies")
    provenance: ProvenanceCheck | None
    signatures: list[SignatureCheck]
    sbom: SbomSummary | None
    problems: list[str]


def _sbom_artifact(s: Session, run_id: str) -> Artifact | None:
    return runsbom.sbom_artifact(s, run_id)


def _load_sbom(rt: RuntimeDep, a: Artifact) -> dict[str, Any]:
    try:
        return runsbom.read_json(make_store(rt.settings), a)
    except (FileNotFoundError, DigestMismatch) as exc:
        raise Problem(409, f"The SBOM {a.path} cannot be read from the store: {exc}") from exc
    except ValueError as exc:
        raise Problem(409, f"The SBOM {a.path} is not JSON: {exc}") from exc


@router.get("/runs/{run_id}/attestations", operation_id="runs-attestations", response_model=Attestations)
def run_attestations(*, run_id: str, rt: RuntimeDep, session: SessionDep, principal: Reader) -> Attestations:
    """Provenance and artifact signatures of a run, verified now against the stored keys and artifact bytes."""
    run = run_or_404(session, principal, run_id)
    v = provenance.verify_run(session, run.id, make_store(rt.settings))
    sb = _sbom_artifact(session, run.id)
    summary = None
    if sb is not None:
        doc = _load_sbom(rt, sb)
        summary = SbomSummary(artifact_id=sb.id, sha256=sb.sha256, components=len(doc.get("components", [])))
    return Attestations(
        run_id=run.id,
        slsa_level=v.slsa_level,
        provenance=ProvenanceCheck.model_validate(v.provenance) if v.provenance else None,
        signatures=[SignatureCheck.model_validate(x) for x in v.signatures],
        sbom=summary,
        problems=v.problems,
    )


@router.get("/runs/{run_id}/sbom", operation_id="runs-sbom", response_model=dict[str, Any])
def run_sbom(*, run_id: str, rt: RuntimeDep, session: SessionDep, principal: Reader) -> dict[str, Any]:
    """The run's CycloneDX SBOM (from a `uses: sbom` step)."""
    run = run_or_404(session, principal, run_id)
    a = _sbom_artifact(session, run.id)
    if a is None:
        raise Problem(404, f"Run {run.id} has no SBOM.", remediation="Add a step with `uses: sbom` to the pipeline.")
    return _load_sbom(rt, a)


class SbomChange(ApiModel):
    name: str
    purl: str
    version: str | None = None
    from_: Any = Field(None, alias="from")
    to: Any = None


class SbomDiff(ApiModel):
    run_id: str
    base_run_id: str | None = Field(description="The previous successful run of the same pipeline with an SBOM")
    added: list[SbomChange]
    removed: list[SbomChange]
    upgraded: list[SbomChange]
    downgraded: list[SbomChange]
    hash_changed: list[SbomChange]
    license_changed: list[SbomChange]


@router.get("/runs/{run_id}/sbom/diff", operation_id="runs-sbom-diff", response_model=SbomDiff)
def run_sbom_diff(*, run_id: str, rt: RuntimeDep, session: SessionDep, principal: Reader) -> SbomDiff:
    """What changed in the SBOM since the previous successful run of the same pipeline."""
    run = run_or_404(session, principal, run_id)
    a = _sbom_artifact(session, run.id)
    if a is None:
        raise Problem(404, f"Run {run.id} has no SBOM.", remediation="Add a step with `uses: sbom` to the pipeline.")
    new = _load_sbom(rt, a)
    try:
        base_id, d = runsbom.diff_for(session, make_store(rt.settings), run, new)
    except (FileNotFoundError, DigestMismatch, ValueError) as exc:
        raise Problem(409, f"The previous run's SBOM cannot be read: {exc}") from exc
    return SbomDiff.model_validate({"runId": run.id, "baseRunId": base_id, **d})


@router.get("/runs/{run_id}/provenance", operation_id="runs-provenance", response_model=dict[str, Any])
def run_provenance(*, run_id: str, session: SessionDep, principal: Reader) -> dict[str, Any]:
    """The run's SLSA provenance as a DSSE envelope (verify it with the key from GET /api/keys)."""
    run = run_or_404(session, principal, run_id)
    att = session.exec(select(Attestation).where(Attestation.run_id == run.id, Attestation.kind == "provenance")).first()
    if att is None:
        detail = "it did not succeed" if run.status != "succeeded" else "it is being recorded; try again in a moment"
        raise Problem(404, f"Run {run.id} has no provenance: {detail}.")
    return att.envelope
