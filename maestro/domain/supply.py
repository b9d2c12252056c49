"""Supply chain records: signing keys (public halves), attestations and signatures of runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ColumnElement, Index, Text, UniqueConstraint, and_
from sqlmodel import Field, SQLModel, col

from maestro.domain import runs as _runs  # noqa: F401  (tables these rows reference by foreign key)
from maestro.domain.types import UTCDateTime, new_id, utcnow
from maestro.states import EvidenceStatus


class SigningKey(SQLModel, table=True):
    """A public key Maestro signs with (or signed with: retired keys still verify old evidence)."""

    __tablename__ = "signing_key"
    id: str = Field(primary_key=True, max_length=64)  # keyid: sha256 of the DER public key, hex
    algorithm: str = Field(default="ecdsa-sha2-nistp256", max_length=32)
    public_pem: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Attestation(SQLModel, table=True):
    """A signed statement about a run: SLSA provenance (DSSE) or an artifact's blob signature."""

    __table_args__ = (Index("ix_attestation_run_kind", "run_id", "kind"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    run_id: str = Field(foreign_key="run.id")
    kind: str = Field(max_length=32)  # provenance | signature | sbom
    predicate_type: str = Field(default="", max_length=200)
    subject_name: str = Field(default="", max_length=1000)
    subject_sha256: str = Field(default="", max_length=64, index=True)
    keyid: str = Field(max_length=64)
    envelope: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # DSSE (provenance)
    signature: str = Field(default="", sa_column=Column(Text, nullable=False))  # base64 DER (blob signatures)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Policy(SQLModel, table=True):
    """A Rego policy evaluated at one or more points; its source lives in numbered revisions."""

    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id", index=True)
    name: str = Field(max_length=63)
    description: str = Field(default="", max_length=2000)
    points: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # admission|run_start|promote
    enabled: bool = True
    revision: int = 1  # the active revision
    builtin: bool = False  # seeded starter policy
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PolicyRevision(SQLModel, table=True):
    __tablename__ = "policy_revision"
    __table_args__ = (UniqueConstraint("policy_id", "revision"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    policy_id: str = Field(foreign_key="policy.id", index=True)
    revision: int
    source: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str = Field(max_length=64)
    package: str = Field(max_length=200)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PolicyDecision(SQLModel, table=True):
    """The decision log: one row per policy evaluated at a point (rows of one evaluation share batch_id)."""

    __tablename__ = "policy_decision"
    __table_args__ = (
        Index("ix_policy_decision_tenant_created", "tenant_id", "created_at"),
        Index("ix_policy_decision_policy_created", "policy_id", "created_at"),
    )
    id: str = Field(default_factory=new_id, primary_key=True)
    batch_id: str = Field(max_length=32, index=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    point: str = Field(max_length=32)
    subject: str = Field(default="", max_length=300)  # pipeline name, run id, artifact …
    policy_id: str = Field(foreign_key="policy.id")
    policy_name: str = Field(max_length=63)
    revision: int
    source_sha256: str = Field(max_length=64)
    input_sha256: str = Field(max_length=64)
    allowed: bool
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    warnings: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    error: str = Field(default="", max_length=2000)
    duration_ms: float = 0.0
    actor: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


DENY_TEST_ACTOR = "evidence"  # the witness bundle's deny test: a denial by design, logged but not a real refusal


def counted_denial() -> ColumnElement[bool]:
    """Denials that count (metrics, the denial-spike alert, the Control Hub): not the bundles' deny tests."""
    return and_(col(PolicyDecision.allowed).is_(False), col(PolicyDecision.actor) != DENY_TEST_ACTOR)


class EvidenceBundle(SQLModel, table=True):
    """A witness bundle of a run: built by EvidenceWorkflow, stored content-addressed, signed manifest inside."""

    __tablename__ = "evidence_bundle"
    __table_args__ = (Index("ix_evidence_run_created", "run_id", "created_at"),)
    id: str = Field(default_factory=new_id, primary_key=True)
    tenant_id: str = Field(foreign_key="tenant.id")
    run_id: str = Field(foreign_key="run.id")
    workflow_id: str = Field(max_length=200)
    status: str = Field(default=EvidenceStatus.pending, max_length=16)
    stage: str = Field(default="", max_length=64)
    done: int = 0
    total: int = 0
    sha256: str = Field(default="", max_length=64)
    size: int = 0
    keyid: str = Field(default="", max_length=64)
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str = Field(default="", max_length=2000)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
