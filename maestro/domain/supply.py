"""Supply chain records: signing keys (public halves), attestations and signatures of runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from maestro.domain import runs as _runs  # noqa: F401  (tables these rows reference by foreign key)
from maestro.domain.types import UTCDateTime, new_id, utcnow


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
