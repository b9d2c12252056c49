"""Policies as stored records: seeding, revisions, gates with a decision log, simulation."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from maestro.domain.supply import Policy, PolicyDecision, PolicyRevision
from maestro.domain.types import new_id, utcnow
from maestro.events.payloads import PolicyDeniedPayload
from maestro.events.streams import emit
from maestro.policy import engine
from maestro.policy.starters import STARTERS

log = logging.getLogger("maestro.policy")
POINTS = {
    "admission": "a pipeline version is registered (input: pipeline, spec)",
    "run_start": "a run is started (input: pipeline, version, env, inputs, ref)",
    "promote": "artifacts are promoted or deployed to an environment (input: env, artifacts[path, sha256, signed], sbom)",
}


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def input_digest(doc: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def add_revision(s: Session, policy: Policy, source: str, actor: str, *, checked: bool = False) -> PolicyRevision:
    """A new active revision; the source is checked first (PolicyInvalid names line and column)."""
    pkg = engine.package_of(source) if checked else engine.check(policy.name, source)
    assert pkg is not None
    last = s.exec(
        select(PolicyRevision).where(PolicyRevision.policy_id == policy.id).order_by(col(PolicyRevision.revision).desc())
    ).first()
    rev = PolicyRevision(
        policy_id=policy.id,
        revision=(last.revision + 1) if last else 1,
        source=source,
        sha256=sha256_text(source),
        package=pkg,
        created_by=actor,
    )
    s.add(rev)
    policy.revision, policy.updated_at = rev.revision, utcnow()
    s.add(policy)
    return rev


def seed_starters(s: Session, tenant_id: str) -> int:
    """Create the starter policies a tenant does not have yet (by name)."""
    have = set(s.exec(select(Policy.name).where(Policy.tenant_id == tenant_id)).all())
    n = 0
    for st in STARTERS:
        if st.name in have:
            continue
        p = Policy(
            tenant_id=tenant_id,
            name=st.name,
            description=st.description,
            points=list(st.points),
            builtin=True,
            created_by="system",
        )
        s.add(p)
        s.flush()
        add_revision(s, p, st.source, "system", checked=True)  # tests check every starter with the engine
        n += 1
    return n


def active_source(s: Session, p: Policy) -> PolicyRevision:
    rev = s.exec(select(PolicyRevision).where(PolicyRevision.policy_id == p.id, PolicyRevision.revision == p.revision)).one()
    return rev


@dataclass
class GateResult:
    allowed: bool
    batch_id: str
    reasons: list[str] = field(default_factory=list)
    decisions: list[PolicyDecision] = field(default_factory=list)


def gate(
    engine_: Engine,
    *,
    tenant_id: str,
    point: str,
    input_doc: dict[str, Any],
    subject: str,
    actor: str,
    timeout_s: float,
    redis: Redis | None = None,
    stream_maxlen: int = 10_000,
    record: bool = True,
) -> GateResult:
    """Evaluate every enabled policy of the point; the decision log is committed whatever the outcome.

    A denial is also a `policy_denied` event on the policies stream when `redis` is given.
    ``record=False`` is a dry run: the same decisions, neither logged nor streamed.
    """
    batch = new_id()
    digest = input_digest(input_doc)
    out = GateResult(True, batch)
    with Session(engine_, expire_on_commit=False) as s:
        policies = s.exec(
            select(Policy).where(Policy.tenant_id == tenant_id, col(Policy.enabled).is_(True)).order_by(col(Policy.name))
        ).all()
        for p in policies:
            if point not in p.points:
                continue
            rev = active_source(s, p)
            o = engine.evaluate(p.name, rev.source, input_doc, timeout_s)
            d = PolicyDecision(
                batch_id=batch,
                tenant_id=tenant_id,
                point=point,
                subject=subject[:300],
                policy_id=p.id,
                policy_name=p.name,
                revision=rev.revision,
                source_sha256=rev.sha256,
                input_sha256=digest,
                allowed=o.allowed,
                reasons=o.reasons,
                warnings=o.warnings,
                error=(o.error or "")[:2000],
                duration_ms=round(o.duration_ms, 3),
                actor=actor,
            )
            if record:
                s.add(d)
            out.decisions.append(d)
            if not o.allowed:
                out.allowed = False
                out.reasons += [f"{p.name}: {r}" if not r.startswith(f"{p.name}:") else r for r in o.reasons]
        if record:
            s.commit()
    if record and not out.allowed and redis is not None:
        try:
            emit(
                redis,
                "policies",
                "policy_denied",
                entity="policy_decision",
                id=batch,
                tenant=tenant_id,
                maxlen=stream_maxlen,
                payload=PolicyDeniedPayload(
                    decision_id=batch,
                    point=point,
                    subject=subject,
                    reasons=out.reasons,
                    policies=[d.policy_name for d in out.decisions if not d.allowed],
                ),
            )
        except Exception:
            log.warning("policy_denied event not published", exc_info=True)
    return out


def simulate(
    s: Session, *, tenant_id: str, point: str, input_doc: dict[str, Any], extra: dict[str, str], timeout_s: float
) -> list[dict[str, Any]]:
    """Violations from the active policies of the point plus `extra` (name → source), nothing logged."""
    sources: dict[str, tuple[str, str]] = {}
    for p in s.exec(select(Policy).where(Policy.tenant_id == tenant_id, col(Policy.enabled).is_(True))).all():
        if point in p.points:
            sources[p.name] = (active_source(s, p).source, f"revision {p.revision}")
    for name, src in extra.items():
        engine.check(name, src)
        sources[name] = (src, "proposed")
    out = []
    for name, (src, which) in sorted(sources.items()):
        o = engine.evaluate(name, src, input_doc, timeout_s)
        out += [{"policy": name, "source": which, "message": r} for r in o.reasons]
    return out
