"""From SQL to the snapshot every gateway replica routes by (see maestro.gateway.publish)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis import Redis
from sqlalchemy import Engine
from sqlmodel import Session, col, or_, select

from maestro.domain.routing import (
    GatewayKey,
    KillSwitch,
    ModelAlias,
    ModelProvider,
    RoutingClass,
    RoutingLimit,
    RoutingPin,
)
from maestro.domain.types import utcnow
from maestro.gateway.publish import publish
from maestro.gateway.server import VERSION_KEY
from maestro.gateway.spec import (
    BudgetGate,
    ClassSpec,
    GatewayKeySpec,
    KillSwitchSpec,
    PinSpec,
    ProviderSpec,
    SealedKey,
    Snapshot,
)
from maestro.policy import engine


def build_snapshot(s: Session, version: int, policy_timeout_s: float = 1.0) -> Snapshot:
    now = utcnow()
    providers = s.exec(select(ModelProvider).order_by(ModelProvider.name)).all()
    classes = s.exec(select(RoutingClass).order_by(RoutingClass.name)).all()
    keys = [
        k
        for k in s.exec(select(GatewayKey).where(GatewayKey.revoked_at.is_(None))).all()  # type: ignore[union-attr]
        if k.expires_at is None or k.expires_at > now
    ]
    denied = _policy_denials(providers, classes, keys, policy_timeout_s)
    aliases: dict[str, dict[str, str]] = {}
    for a in s.exec(select(ModelAlias)).all():
        aliases.setdefault(a.tenant, {})[a.alias] = a.target
    return Snapshot(
        version=version,
        providers=[ProviderSpec.model_validate({**p.spec, "name": p.name}) for p in providers],
        provider_keys=[SealedKey(provider=p.name, sealed=p.key_sealed) for p in providers if p.key_sealed],
        classes=[ClassSpec.model_validate({**c.spec, "name": c.name}) for c in classes],
        pins=[
            PinSpec.model_validate(
                {
                    "class": p.class_name,
                    "provider": p.provider,
                    "model": p.model,
                    "expiresAt": p.expires_at.timestamp() if p.expires_at else None,
                    "reason": p.reason,
                    "by": p.created_by,
                }
            )
            for p in s.exec(select(RoutingPin)).all()
            if p.expires_at is None or p.expires_at > now
        ],
        kills=[
            KillSwitchSpec.model_validate(
                {"scope": k.scope, "value": k.value, "reason": k.reason, "by": k.created_by, "at": k.created_at.timestamp()}
            )
            for k in s.exec(select(KillSwitch)).all()
        ],
        keys=[
            GatewayKeySpec(
                id=k.id,
                prefix=k.prefix,
                hash=k.secret_hash,
                tenant=k.tenant_id,
                project=k.project,
                env=k.env,
                rpm=k.rpm,
                tpm=k.tpm,
                classes=k.classes,
                expires_at=k.expires_at.timestamp() if k.expires_at else None,
            )
            for k in keys
        ],
        aliases=aliases,
        downgraded=[c.name for c in classes if c.downgraded],
        limits={lim.name: lim.value for lim in s.exec(select(RoutingLimit)).all()},
        denied=denied,
        budgets=_budget_gates(s),
    )


def _budget_gates(s: Session) -> list[BudgetGate]:
    """Frozen and slowed-down budgets that can cover gateway traffic (a pipeline-scoped budget covers runs only)."""
    from maestro.domain.finops import Budget

    out = []
    for b in s.exec(select(Budget).where(or_(col(Budget.frozen).is_(True), col(Budget.slowed).is_(True)))).all():
        sc = b.scope
        if sc.get("pipeline"):
            continue
        out.append(
            BudgetGate(
                id=b.id, name=b.name, tenant=b.tenant_id, project=sc.get("project", ""), env=sc.get("env", ""),
                provider=sc.get("provider", ""), model=sc.get("model", ""), frozen=b.frozen, reason=b.frozen_reason,
                rpm=_slowdown_rpm(b) if b.slowed else None,
            )
        )  # fmt: skip
    return out


def _slowdown_rpm(b: Any) -> int:
    rpms = [int(a.get("gatewayRpm", 60)) for a in b.actions if a.get("kind") == "slowdown"]
    return min(rpms) if rpms else 60


def _policy_denials(
    providers: Sequence[ModelProvider], classes: Sequence[RoutingClass], keys: list[GatewayKey], timeout_s: float
) -> dict[str, dict[str, dict[str, str]]]:
    """Each class's Rego policy, evaluated for each candidate in each scope a gateway key can send from
    (errors and timeouts deny: fail closed). Runs when the configuration changes, never per request."""
    by_name = {p.name: p for p in providers}
    scopes = sorted({(k.tenant_id, k.env or "", k.project or "") for k in keys})
    out: dict[str, dict[str, dict[str, str]]] = {}
    for c in classes:
        source = c.spec.get("rego")
        if not source:
            continue
        for cand in c.spec.get("candidates", []):
            prov = by_name.get(cand["provider"])
            candidate = {
                "provider": cand["provider"], "model": cand["model"],
                "region": prov.spec.get("region", "") if prov else "", "kind": prov.spec.get("kind", "") if prov else "",
            }  # fmt: skip
            for tenant, env, project in scopes:
                doc = {"class": c.name, "candidate": candidate, "tenant": tenant, "env": env, "project": project}
                outcome = engine.evaluate(f"routing-{c.name}", source, doc, timeout_s)
                if not outcome.allowed:
                    key = f"{cand['provider']}/{cand['model']}"
                    out.setdefault(c.name, {}).setdefault(key, {})[f"{tenant}|{env}|{project}"] = "; ".join(outcome.reasons)[:300]
    return out


def publish_from_sql(engine: Engine, redis: Redis) -> int:
    """Publish the current configuration (after a change is committed, or when Redis lost it)."""

    def build(version: int) -> Snapshot:
        with Session(engine) as s:
            return build_snapshot(s, version)

    return publish(redis, build)


def republish_if_missing(engine: Engine, redis: Redis) -> bool:
    """A Redis that lost its data (a restart without persistence) gets the snapshot back."""
    if redis.exists(VERSION_KEY):
        return False
    publish_from_sql(engine, redis)
    return True
