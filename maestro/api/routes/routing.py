"""Routing Studio's API: the model gateway's providers (write-only keys), classes, live candidate
scores, pins, the downgrade switch, kill switches, aliases, limits, gateway keys and the request log.

Every change is committed to SQL with its audit entry, then published to Redis as one snapshot that
every gateway replica applies within one refresh interval (MAESTRO_GATEWAY_REFRESH_SECONDS)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import Field, SecretStr
from sqlmodel import Session, select

from maestro.api.deps import Require, RuntimeDep, SessionDep
from maestro.api.pagination import ApiModel, Items
from maestro.api.problems import Problem
from maestro.api.schemas import InputModel
from maestro.domain.auditlog import append_audit
from maestro.domain.identity import Principal
from maestro.domain.routing import GatewayKey, KillSwitch, ModelAlias, ModelProvider, RoutingClass, RoutingLimit, RoutingPin
from maestro.domain.security import sha256_hex
from maestro.domain.types import utcnow
from maestro.events.envelope import make_envelope
from maestro.events.payloads import RoutingEventPayload
from maestro.events.streams import add as add_event
from maestro.gateway.secrets import KeyRing, KeyRingError, load_key_ring
from maestro.gateway.server import CAPTURES_STREAM, EVENTS_STREAM, SCORES_KEY, USAGE_STREAM
from maestro.gateway.spec import NAME, ClassBody, ClassSpec, KillScope, ProviderBody, ProviderSpec, key_binding
from maestro.gateway.store import publish_from_sql
from maestro.policy import engine

log = logging.getLogger("maestro.api.routing")
router = APIRouter(prefix="/routing", tags=["routing"])
Reader = Annotated[Principal, Require("routing:read")]
Writer = Annotated[Principal, Require("routing:write")]
KeyAdmin = Annotated[Principal, Require("routing:keys")]
CaptureReader = Annotated[Principal, Require("routing:read-captures")]


def _ring(rt: RuntimeDep) -> KeyRing:
    s = rt.settings
    try:
        return load_key_ring(s.gateway_data_keys.get_secret_value() if s.gateway_data_keys else None, s.data_dir)
    except KeyRingError as exc:
        raise Problem(503, f"The data key ring that seals provider keys is unusable: {exc}") from None


def _publish(rt: RuntimeDep) -> int:
    try:
        version = publish_from_sql(rt.engine, rt.redis_sync)
        rt.extras.pop("routing_unpublished", None)
        return version
    except Exception as exc:
        rt.extras["routing_unpublished"] = True  # the API's loop publishes again once Redis answers
        raise Problem(
            503,
            f"The change is saved, but Redis did not take the new routing snapshot: {exc}.",
            remediation="Gateways keep routing on the previous snapshot; the API publishes again once Redis answers.",
        ) from None


def _event(rt: RuntimeDep, principal: Principal, kind: str, **payload: Any) -> None:
    env = make_envelope(
        type=kind,
        entity="routing_class",
        payload=RoutingEventPayload.model_validate({"actor": principal.actor, **payload}),
        tenant=principal.tenant_id,
    )
    try:
        add_event(rt.redis_sync, "routing", env, maxlen=10_000)
    except Exception:  # the change is committed and audited; the live stream is best effort
        log.warning("routing event %s not published", kind, exc_info=True)


def _audit(session: Session, principal: Principal, action: str, target_type: str, target_id: str, change: dict[str, Any]) -> None:
    append_audit(session, actor=principal.actor, action=action, target_type=target_type, target_id=target_id, change=change)


def _commit(
    rt: RuntimeDep, session: Session, principal: Principal, action: str, target_type: str, target_id: str, change: dict[str, Any]
) -> None:
    """Audit the change, commit both, and publish the new snapshot to every gateway replica."""
    _audit(session, principal, action, target_type, target_id, change)
    session.commit()
    _publish(rt)


# ---- providers ---------------------------------------------------------------------------------


class ModelProviderInput(ProviderBody):
    api_key: SecretStr | None = Field(
        None, description="Write-only: sealed (AES-256-GCM) before it is stored; never returned. Omit to keep the current key."
    )


class ModelProviderPublic(ProviderSpec):
    key_set: bool = Field(description="A key is stored (sealed); the key itself is never returned.")
    key_sealed_with: str | None = Field(None, description="The data key id that sealed it (rotation status).")
    key_set_at: datetime | None = None
    created_by: str
    updated_at: datetime


def _provider_public(p: ModelProvider) -> ModelProviderPublic:
    return ModelProviderPublic.model_validate(
        {
            **p.spec,
            "name": p.name,
            "keySet": p.key_sealed is not None,
            "keySealedWith": KeyRing.sealed_with(p.key_sealed) if p.key_sealed else None,
            "keySetAt": p.key_set_at,
            "createdBy": p.created_by,
            "updatedAt": p.updated_at,
        }
    )


@router.get("/providers", operation_id="routing-providers-list", response_model=Items[ModelProviderPublic])
def list_providers(*, session: SessionDep, principal: Reader) -> Items[ModelProviderPublic]:
    """Model providers the gateway can call (keys are shown as set or not, never returned)."""
    return Items(items=[_provider_public(p) for p in session.exec(select(ModelProvider).order_by(ModelProvider.name)).all()])


@router.put("/providers/{name}", operation_id="routing-providers-put", response_model=ModelProviderPublic)
def put_provider(
    *, name: Annotated[str, Field(pattern=NAME)], body: ModelProviderInput, rt: RuntimeDep, session: SessionDep, principal: Writer
) -> ModelProviderPublic:
    """Create or change a provider. `apiKey` is sealed with the data key ring and never returned."""
    spec = body.model_dump(by_alias=True, exclude={"api_key"})
    p = session.get(ModelProvider, name)
    created = p is None
    if p is None:
        p = ModelProvider(name=name, spec=spec, created_by=principal.actor)
    moved = p.key_sealed is not None and key_binding(name, p.spec["baseUrl"]) != key_binding(name, body.base_url)
    if moved and body.api_key is None:
        # the key is sealed to the old host: it is never sent anywhere else (enter it again for the new one)
        p.key_sealed, p.key_set_at = None, None
    p.spec, p.updated_at = spec, utcnow()
    if body.api_key is not None:
        secret = body.api_key.get_secret_value()
        if not secret.strip():
            raise Problem(
                422, "apiKey is empty.", errors=[{"field": "apiKey", "message": "empty"}], remediation="Omit it to keep the key."
            )
        p.key_sealed, p.key_set_at = _ring(rt).seal(secret, bound_to=key_binding(name, body.base_url)), utcnow()
    session.add(p)
    _audit(
        session, principal, "routing.provider." + ("create" if created else "update"), "model_provider", name,
        {**spec, "apiKey": "(changed)" if body.api_key is not None else "(unchanged)"},
    )  # fmt: skip
    session.commit()
    _publish(rt)
    return _provider_public(p)


@router.delete("/providers/{name}", operation_id="routing-providers-delete", status_code=204)
def delete_provider(*, name: str, rt: RuntimeDep, session: SessionDep, principal: Writer) -> Response:
    p = session.get(ModelProvider, name)
    if p is None:
        raise Problem(404, f"No provider named {name!r}.")
    users = [
        c.name
        for c in session.exec(select(RoutingClass)).all()
        if any(x.get("provider") == name for x in c.spec.get("candidates", []))
    ]
    if users:
        raise Problem(
            409, f"Provider {name!r} is a candidate of classes {users}.", remediation="Remove it from those classes first."
        )
    session.delete(p)
    _commit(rt, session, principal, "routing.provider.delete", "model_provider", name, {})
    return Response(status_code=204)


class KeyRotationResult(ApiModel):
    resealed: int
    data_key: str = Field(description="The id of the data key that seals them now")


@router.post("/providers/rotate-keys", operation_id="routing-providers-rotate-keys", response_model=KeyRotationResult)
def rotate_keys(*, rt: RuntimeDep, session: SessionDep, principal: Writer) -> KeyRotationResult:
    """Re-seal every stored provider key with the first data key of the ring (after adding a new one)."""
    ring = _ring(rt)
    n = 0
    for p in session.exec(select(ModelProvider)).all():
        if p.key_sealed and KeyRing.sealed_with(p.key_sealed) != ring.primary:
            try:
                bound = key_binding(p.name, p.spec["baseUrl"])
                p.key_sealed = ring.seal(ring.open(p.key_sealed, bound_to=bound), bound_to=bound)
            except KeyRingError as exc:
                raise Problem(409, f"Provider {p.name}'s key does not open: {exc}", remediation="Set its apiKey again.") from None
            session.add(p)
            n += 1
    _commit(rt, session, principal, "routing.keys.rotate", "model_provider", "*", {"resealed": n, "dataKey": ring.primary})
    return KeyRotationResult(resealed=n, data_key=ring.primary)


# ---- classes -----------------------------------------------------------------------------------


class RoutingPinPublic(ApiModel):
    route_class: str
    provider: str
    model: str
    expires_at: datetime | None
    reason: str
    created_by: str
    created_at: datetime


class RoutingClassPublic(ClassSpec):
    downgraded: bool
    downgrade_reason: str | None
    pin: RoutingPinPublic | None
    created_by: str
    updated_at: datetime


def _pin_public(p: RoutingPin) -> RoutingPinPublic:
    return RoutingPinPublic(
        route_class=p.class_name, provider=p.provider, model=p.model, expires_at=p.expires_at, reason=p.reason,
        created_by=p.created_by, created_at=p.created_at,
    )  # fmt: skip


def _class_public(session: Session, c: RoutingClass) -> RoutingClassPublic:
    pin = session.get(RoutingPin, c.name)
    live = pin if pin is not None and (pin.expires_at is None or pin.expires_at > utcnow()) else None
    return RoutingClassPublic.model_validate(
        {
            **c.spec, "name": c.name, "downgraded": c.downgraded, "downgradeReason": c.downgrade_reason,
            "pin": _pin_public(live) if live else None, "createdBy": c.created_by, "updatedAt": c.updated_at,
        }
    )  # fmt: skip


@router.get("/classes", operation_id="routing-classes-list", response_model=Items[RoutingClassPublic])
def list_classes(*, session: SessionDep, principal: Reader) -> Items[RoutingClassPublic]:
    """Request classes in match order (priority, then name)."""
    rows = sorted(session.exec(select(RoutingClass)).all(), key=lambda c: (c.spec.get("priority", 100), c.name))
    return Items(items=[_class_public(session, c) for c in rows])


@router.get("/classes/{name}", operation_id="routing-classes-get", response_model=RoutingClassPublic)
def get_class(*, name: str, session: SessionDep, principal: Reader) -> RoutingClassPublic:
    return _class_public(session, _class(session, name))


def _class(session: Session, name: str) -> RoutingClass:
    c = session.get(RoutingClass, name)
    if c is None:
        raise Problem(404, f"No routing class named {name!r}.", remediation="GET /api/routing/classes lists them.")
    return c


@router.put("/classes/{name}", operation_id="routing-classes-put", response_model=RoutingClassPublic)
def put_class(
    *, name: Annotated[str, Field(pattern=NAME)], body: ClassBody, rt: RuntimeDep, session: SessionDep, principal: Writer
) -> RoutingClassPublic:
    """Create or replace a class: what it matches, its candidates (with price cards and A/B weights),
    score weights, failover, policy and downgrade path."""
    known = {p.name: p for p in session.exec(select(ModelProvider)).all()}
    for i, cand in enumerate(body.candidates):
        if cand.provider not in known:
            raise Problem(
                422, f"candidates.{i}.provider: no provider named {cand.provider!r}.",
                errors=[{"field": f"candidates.{i}.provider", "message": "unknown provider"}],
                remediation=f"Create it first (PUT /api/routing/providers/{cand.provider}); known: {sorted(known) or 'none'}.",
            )  # fmt: skip
    if body.rego:
        try:
            engine.check(f"routing-{name}", body.rego)
        except engine.PolicyInvalid as exc:
            raise Problem(
                422, "rego: the policy does not compile: " + exc.problems[0].message,
                errors=[{"field": "rego", "message": f"line {p.line}, column {p.column}: {p.message}"} for p in exc.problems],
                remediation="Fix the source at the line and column named (rego.v1: `deny contains msg if { … }`).",
            ) from None  # fmt: skip
    spec = body.model_dump(by_alias=True)
    c = session.get(RoutingClass, name)
    created = c is None
    if c is None:
        c = RoutingClass(name=name, spec=spec, created_by=principal.actor)
    c.spec, c.updated_at = spec, utcnow()
    if c.downgraded and not body.downgrade_to:
        c.downgraded, c.downgrade_reason = False, None
    pin = session.get(RoutingPin, name)
    if pin is not None and f"{pin.provider}/{pin.model}" not in {x.key for x in body.candidates}:
        session.delete(pin)  # a pin on a candidate the class no longer has would be ignored: drop it visibly
    session.add(c)
    _commit(rt, session, principal, "routing.class." + ("create" if created else "update"), "routing_class", name, spec)
    return _class_public(session, c)


@router.delete("/classes/{name}", operation_id="routing-classes-delete", status_code=204)
def delete_class(*, name: str, rt: RuntimeDep, session: SessionDep, principal: Writer) -> Response:
    c = _class(session, name)
    pin = session.get(RoutingPin, name)
    if pin is not None:
        session.delete(pin)
    session.delete(c)
    _commit(rt, session, principal, "routing.class.delete", "routing_class", name, {})
    rt.redis_sync.delete(CAPTURES_STREAM.format(cls=name))  # its captured prompts go with it
    return Response(status_code=204)


class CandidateScore(ApiModel):
    provider: str
    model: str
    allowed: bool = Field(description="Within the class's policy (policy grade 1)")
    total: float
    latency: float
    cost: float
    reliability: float
    policy: float
    latency_ms: float | None
    error_rate: float
    requests: int
    failures: int
    cooling_seconds: float
    killed: str | None


class CandidatesPublic(ApiModel):
    route_class: str
    replicas: int = Field(description="Gateway replicas that reported in the last minute")
    reported_at: datetime | None
    ranking: list[str] = Field(description="provider/model, best first (what requests try, in order)")
    winner: str | None
    why: str
    candidates: list[CandidateScore]


@router.get("/candidates", operation_id="routing-candidates", response_model=CandidatesPublic)
def candidates(
    *, route_class: Annotated[str, Query(alias="class")], rt: RuntimeDep, session: SessionDep, principal: Reader
) -> CandidatesPublic:
    """Live scores of a class's candidates with their breakdown, as the newest gateway replica computed them."""
    c = _class(session, route_class)
    raw = rt.redis_sync.hgetall(SCORES_KEY)
    reports = [json.loads(v) for v in raw.values()]  # type: ignore[union-attr]
    fresh = [r for r in reports if r.get("ts", 0) > utcnow().timestamp() - 60 and route_class in r.get("classes", {})]
    if not fresh:
        return CandidatesPublic(
            route_class=route_class, replicas=0, reported_at=None, ranking=[], winner=None,
            why="No gateway replica has reported this class yet: is `maestro gateway` running?",
            candidates=[],
        )  # fmt: skip
    newest = max(fresh, key=lambda r: r["ts"])
    view = newest["classes"][route_class]
    rows = [CandidateScore.model_validate(x) for x in view["candidates"]]
    ranking: list[str] = view["ranking"]
    by_key = {f"{x.provider}/{x.model}": x for x in rows}
    live = [k for k in ranking if not by_key[k].killed and not by_key[k].cooling_seconds] if ranking else []
    pin = view.get("pin")
    winner, why = None, "no candidate can serve now (killed, cooling down or outside the policy)"
    if view.get("downgraded") and c.spec.get("downgradeTo") in live:  # the gateway's order: downgrade, pin, split, score
        winner, why = c.spec["downgradeTo"], "downgraded (the class's cheaper path)"
    elif pin and pin in live:
        winner, why = pin, "pinned"
    elif live and any(x.get("weight") for x in c.spec.get("candidates", [])):
        winner, why = (
            None,
            "A/B split: " + ", ".join(f"{x['provider']}/{x['model']} {x['weight']}%" for x in c.spec["candidates"]),
        )
    elif live:
        best = by_key[live[0]]
        winner = live[0]
        why = f"best score {best.total:.3f}"
        if len(live) > 1:
            second = by_key[live[1]]
            dims = {d: getattr(best, d) - getattr(second, d) for d in ("latency", "cost", "reliability")}
            lead = max(dims, key=lambda d: dims[d])
            why += f", ahead of {live[1]} ({second.total:.3f}) mostly on {lead}"
    return CandidatesPublic(
        route_class=route_class, replicas=len(fresh), reported_at=datetime.fromtimestamp(newest["ts"]).astimezone(),
        ranking=ranking, winner=winner, why=why, candidates=rows,
    )  # fmt: skip


class RoutingDowngradeInput(InputModel):
    downgraded: bool
    reason: str = Field(min_length=1, max_length=500)


@router.post("/classes/{name}/downgrade", operation_id="routing-classes-downgrade", response_model=RoutingClassPublic)
def downgrade(
    *, name: str, body: RoutingDowngradeInput, rt: RuntimeDep, session: SessionDep, principal: Writer
) -> RoutingClassPublic:
    """Switch the class to its downgrade path (`downgradeTo`) or back. Budgets use the same switch."""
    c = _class(session, name)
    if body.downgraded and not c.spec.get("downgradeTo"):
        raise Problem(
            422, f"Class {name!r} has no downgrade path.", errors=[{"field": "downgraded", "message": "no downgradeTo"}],
            remediation="Set downgradeTo (a cheaper candidate's provider/model) on the class first.",
        )  # fmt: skip
    c.downgraded, c.downgrade_reason = body.downgraded, body.reason if body.downgraded else None
    session.add(c)
    _audit(
        session,
        principal,
        "routing.class.downgrade",
        "routing_class",
        name,
        {"downgraded": body.downgraded, "reason": body.reason},
    )
    session.commit()
    _publish(rt)
    target = c.spec.get("downgradeTo") or ""
    _event(
        rt, principal, "routing_downgraded" if body.downgraded else "routing_restored", route_class=name,
        provider=target.split("/", 1)[0], model=target.split("/", 1)[-1], message=body.reason,
    )  # fmt: skip
    return _class_public(session, c)


# ---- pins --------------------------------------------------------------------------------------


class RoutingPinInput(InputModel):
    route_class: str = Field(alias="class", pattern=NAME)
    provider: str = Field(pattern=NAME)
    model: str = Field(min_length=1, max_length=200)
    ttl: int | None = Field(None, ge=1, le=90 * 86400, description="Seconds; omit to pin until unpinned.")
    reason: str = Field(min_length=1, max_length=500)


@router.get("/pins", operation_id="routing-pins-list", response_model=Items[RoutingPinPublic])
def list_pins(*, session: SessionDep, principal: Reader) -> Items[RoutingPinPublic]:
    now = utcnow()
    pins = [p for p in session.exec(select(RoutingPin)).all() if p.expires_at is None or p.expires_at > now]
    return Items(items=[_pin_public(p) for p in pins])


@router.post("/pin", operation_id="routing-pin", response_model=RoutingPinPublic, status_code=201)
def pin(*, body: RoutingPinInput, rt: RuntimeDep, session: SessionDep, principal: Writer) -> RoutingPinPublic:
    """Send a class's traffic to one of its candidates (failover still applies when it fails)."""
    c = _class(session, body.route_class)
    keys = [f"{x['provider']}/{x['model']}" for x in c.spec.get("candidates", [])]
    if f"{body.provider}/{body.model}" not in keys:
        raise Problem(
            422, f"{body.provider}/{body.model} is not a candidate of class {body.route_class!r}.",
            errors=[{"field": "model", "message": "not a candidate"}], remediation=f"Pin one of: {', '.join(keys)}.",
        )  # fmt: skip
    old = session.get(RoutingPin, body.route_class)
    if old is not None:
        session.delete(old)
        session.flush()
    expires = utcnow() + timedelta(seconds=body.ttl) if body.ttl else None
    p = RoutingPin(
        class_name=body.route_class, provider=body.provider, model=body.model, expires_at=expires, reason=body.reason,
        created_by=principal.actor,
    )  # fmt: skip
    session.add(p)
    _commit(rt, session, principal, "routing.pin", "routing_class", body.route_class, body.model_dump(by_alias=True))
    _event(
        rt, principal, "routing_pinned", route_class=body.route_class, provider=body.provider, model=body.model,
        message=body.reason, until=expires.timestamp() if expires else None,
    )  # fmt: skip
    return _pin_public(p)


@router.delete("/pin/{route_class}", operation_id="routing-unpin", status_code=204)
def unpin(
    *, route_class: str, rt: RuntimeDep, session: SessionDep, principal: Writer,
    reason: Annotated[str, Query(max_length=500, description="Why (recorded in the audit log)")] = "",
) -> Response:  # fmt: skip
    p = session.get(RoutingPin, route_class)
    if p is None:
        raise Problem(404, f"Class {route_class!r} is not pinned.")
    session.delete(p)
    _audit(
        session, principal, "routing.unpin", "routing_class", route_class, {"was": f"{p.provider}/{p.model}", "reason": reason}
    )
    session.commit()
    _publish(rt)
    _event(rt, principal, "routing_unpinned", route_class=route_class, provider=p.provider, model=p.model, message=reason)
    return Response(status_code=204)


# ---- kill switches -----------------------------------------------------------------------------


class KillSwitchInput(InputModel):
    scope: KillScope
    value: str = Field(min_length=1, max_length=200, description="provider name, provider/model or model, or tenant id")
    reason: str = Field(min_length=1, max_length=500)


class KillSwitchPublic(ApiModel):
    id: str
    scope: str
    value: str
    reason: str
    created_by: str
    created_at: datetime


@router.get("/kill-switches", operation_id="routing-kills-list", response_model=Items[KillSwitchPublic])
def list_kills(*, session: SessionDep, principal: Reader) -> Items[KillSwitchPublic]:
    return Items(items=[KillSwitchPublic.model_validate(k, from_attributes=True) for k in session.exec(select(KillSwitch)).all()])


@router.post("/kill-switches", operation_id="routing-kills-create", response_model=KillSwitchPublic, status_code=201)
def kill(*, body: KillSwitchInput, rt: RuntimeDep, session: SessionDep, principal: Writer) -> KillSwitchPublic:
    """Switch off a provider, a model or a tenant on every gateway replica within one refresh interval."""
    if body.scope == "provider" and session.get(ModelProvider, body.value) is None:
        raise Problem(422, f"No provider named {body.value!r}.", errors=[{"field": "value", "message": "unknown provider"}])
    exists = session.exec(select(KillSwitch).where(KillSwitch.scope == body.scope, KillSwitch.value == body.value)).first()
    if exists is not None:
        raise Problem(409, f"{body.scope} {body.value!r} is already switched off ({exists.reason}).")
    k = KillSwitch(scope=body.scope, value=body.value, reason=body.reason, created_by=principal.actor)
    session.add(k)
    _commit(rt, session, principal, "routing.kill", "kill_switch", k.id, body.model_dump(by_alias=True))
    _event(rt, principal, "routing_killed", route_class="", provider=body.value if body.scope == "provider" else "",
           model=body.value if body.scope == "model" else "", message=f"{body.scope} {body.value}: {body.reason}")  # fmt: skip
    return KillSwitchPublic.model_validate(k, from_attributes=True)


@router.delete("/kill-switches/{kill_id}", operation_id="routing-kills-delete", status_code=204)
def revive(
    *, kill_id: str, rt: RuntimeDep, session: SessionDep, principal: Writer,
    reason: Annotated[str, Query(max_length=500, description="Why (recorded in the audit log)")] = "",
) -> Response:  # fmt: skip
    k = session.get(KillSwitch, kill_id)
    if k is None:
        raise Problem(404, f"No kill switch {kill_id!r}.")
    session.delete(k)
    _commit(
        rt, session, principal, "routing.revive", "kill_switch", kill_id, {"scope": k.scope, "value": k.value, "reason": reason}
    )
    _event(
        rt, principal, "routing_revived", route_class="", message=f"{k.scope} {k.value} switched on again: {reason}".rstrip(": ")
    )
    return Response(status_code=204)


# ---- aliases and limits ------------------------------------------------------------------------


class ModelAliasInput(InputModel):
    target: str = Field(min_length=1, max_length=200, description="The model name classes match")
    all_tenants: bool = Field(False, description="For every tenant (needs routing:write); else for yours")


class ModelAliasPublic(ApiModel):
    tenant: str
    alias: str
    target: str
    created_by: str


@router.get("/aliases", operation_id="routing-aliases-list", response_model=Items[ModelAliasPublic])
def list_aliases(*, session: SessionDep, principal: Reader) -> Items[ModelAliasPublic]:
    rows = session.exec(select(ModelAlias).where(ModelAlias.tenant.in_(["*", principal.tenant_id]))).all()  # type: ignore[attr-defined]
    return Items(items=[ModelAliasPublic.model_validate(a, from_attributes=True) for a in rows])


@router.put("/aliases/{alias}", operation_id="routing-aliases-put", response_model=ModelAliasPublic)
def put_alias(*, alias: Annotated[str, Field(min_length=1, max_length=200)], body: ModelAliasInput, rt: RuntimeDep,
              session: SessionDep, principal: Writer) -> ModelAliasPublic:  # fmt: skip
    tenant = "*" if body.all_tenants else principal.tenant_id
    a = session.get(ModelAlias, (tenant, alias)) or ModelAlias(
        tenant=tenant, alias=alias, target=body.target, created_by=principal.actor
    )
    a.target = body.target
    session.add(a)
    _commit(rt, session, principal, "routing.alias", "model_alias", f"{tenant}/{alias}", {"target": body.target})
    return ModelAliasPublic.model_validate(a, from_attributes=True)


@router.delete("/aliases/{alias}", operation_id="routing-aliases-delete", status_code=204)
def delete_alias(*, alias: str, rt: RuntimeDep, session: SessionDep, principal: Writer,
                 all_tenants: bool = False) -> Response:  # fmt: skip
    tenant = "*" if all_tenants else principal.tenant_id
    a = session.get(ModelAlias, (tenant, alias))
    if a is None:
        raise Problem(404, f"No alias {alias!r} for {'every tenant' if all_tenants else 'your tenant'}.")
    session.delete(a)
    _commit(rt, session, principal, "routing.alias.delete", "model_alias", f"{tenant}/{alias}", {})
    return Response(status_code=204)


LIMIT_NAME = r"^(tenant|model):[A-Za-z0-9._/*-]{1,200}:(rpm|tpm)$"


class RoutingLimitInput(InputModel):
    value: int = Field(ge=1, le=1_000_000_000)


class RoutingLimitPublic(ApiModel):
    name: str
    value: int
    created_by: str


@router.get("/limits", operation_id="routing-limits-list", response_model=Items[RoutingLimitPublic])
def list_limits(*, session: SessionDep, principal: Reader) -> Items[RoutingLimitPublic]:
    rows = session.exec(select(RoutingLimit)).all()
    return Items(items=[RoutingLimitPublic.model_validate(x, from_attributes=True) for x in rows])


@router.put("/limits/{name}", operation_id="routing-limits-put", response_model=RoutingLimitPublic)
def put_limit(*, name: Annotated[str, Field(pattern=LIMIT_NAME)], body: RoutingLimitInput, rt: RuntimeDep, session: SessionDep,
              principal: Writer) -> RoutingLimitPublic:  # fmt: skip
    """Per-minute request (rpm) or token (tpm) limits shared by every replica: `tenant:<id>:rpm`, `model:<name>:tpm`."""
    x = session.get(RoutingLimit, name) or RoutingLimit(name=name, value=body.value, created_by=principal.actor)
    x.value = body.value
    session.add(x)
    _commit(rt, session, principal, "routing.limit", "routing_limit", name, {"value": body.value})
    return RoutingLimitPublic.model_validate(x, from_attributes=True)


@router.delete("/limits/{name}", operation_id="routing-limits-delete", status_code=204)
def delete_limit(*, name: str, rt: RuntimeDep, session: SessionDep, principal: Writer) -> Response:
    x = session.get(RoutingLimit, name)
    if x is None:
        raise Problem(404, f"No limit {name!r}.")
    session.delete(x)
    _commit(rt, session, principal, "routing.limit.delete", "routing_limit", name, {})
    return Response(status_code=204)


# ---- gateway keys ------------------------------------------------------------------------------


class GatewayKeyInput(InputModel):
    name: str = Field(min_length=1, max_length=200)
    project: str | None = Field(None, max_length=63)
    env: str | None = Field(None, max_length=63)
    rpm: int | None = Field(None, ge=1, le=10_000_000, description="Requests per minute (every replica together)")
    tpm: int | None = Field(None, ge=1, le=1_000_000_000, description="Tokens per minute")
    classes: list[str] = Field(default_factory=list, max_length=100, description="Classes it may use (empty: all)")
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class GatewayKeyPublic(ApiModel):
    id: str
    name: str
    prefix: str
    tenant_id: str
    project: str | None
    env: str | None
    rpm: int | None
    tpm: int | None
    classes: list[str]
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str | None


class GatewayKeyCreated(GatewayKeyPublic):
    secret: str = Field(description="Shown once: send as `Authorization: Bearer <secret>` (or x-api-key)")


@router.get("/keys", operation_id="routing-keys-list", response_model=Items[GatewayKeyPublic])
def list_keys(*, session: SessionDep, principal: KeyAdmin) -> Items[GatewayKeyPublic]:
    """Your tenant's gateway keys, newest first (secrets are never shown again)."""
    rows = session.exec(
        select(GatewayKey).where(GatewayKey.tenant_id == principal.tenant_id).order_by(GatewayKey.created_at.desc())  # type: ignore[attr-defined]
    ).all()
    return Items(items=[GatewayKeyPublic.model_validate(k, from_attributes=True) for k in rows])


@router.post("/keys", operation_id="routing-keys-create", response_model=GatewayKeyCreated, status_code=201)
def create_key(*, body: GatewayKeyInput, rt: RuntimeDep, session: SessionDep, principal: KeyAdmin) -> GatewayKeyCreated:
    """A key for clients of the gateway, scoped to your tenant (and a project/env), with its own quota."""
    import secrets as _secrets

    known = set(session.exec(select(RoutingClass.name)).all())
    unknown = [c for c in body.classes if c not in known]
    if unknown:
        raise Problem(422, f"Unknown classes {unknown}.", errors=[{"field": "classes", "message": "unknown class"}])
    prefix = "mgw_" + _secrets.token_hex(4)
    secret = f"{prefix}_{_secrets.token_urlsafe(32)}"
    k = GatewayKey(
        name=body.name, prefix=prefix, secret_hash=sha256_hex(secret), tenant_id=principal.tenant_id, project=body.project,
        env=body.env, rpm=body.rpm, tpm=body.tpm, classes=body.classes, created_by=principal.actor,
        expires_at=utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None,
    )  # fmt: skip
    session.add(k)
    _commit(
        rt, session, principal, "routing.key.create", "gateway_key", k.id, {**body.model_dump(by_alias=True), "prefix": prefix}
    )
    return GatewayKeyCreated.model_validate(
        {**GatewayKeyPublic.model_validate(k, from_attributes=True).model_dump(), "secret": secret}
    )


class GatewayKeyRevoke(InputModel):
    reason: str = Field(min_length=1, max_length=500)


@router.post("/keys/{key_id}/revoke", operation_id="routing-keys-revoke", response_model=GatewayKeyPublic)
def revoke_key(
    *, key_id: str, body: GatewayKeyRevoke, rt: RuntimeDep, session: SessionDep, principal: KeyAdmin
) -> GatewayKeyPublic:
    """Revoke a gateway key: every replica refuses it (401) within one refresh interval."""
    k = session.get(GatewayKey, key_id)
    if k is None or k.tenant_id != principal.tenant_id:
        raise Problem(404, f"No gateway key {key_id!r} in your tenant.")
    if k.revoked_at is None:
        k.revoked_at, k.revoked_reason = utcnow(), body.reason
        session.add(k)
        _commit(rt, session, principal, "routing.key.revoke", "gateway_key", k.id, {"reason": body.reason})
    return GatewayKeyPublic.model_validate(k, from_attributes=True)


# ---- the request log ---------------------------------------------------------------------------


class GatewayRequestRecord(ApiModel):
    id: str = Field(description="The accounting record's stream id")
    ts: datetime
    key: str
    project: str
    env: str
    route_class: str
    provider: str
    model: str
    requested: str = Field(description="The model name or alias the client sent")
    status: int
    prompt_tokens: int
    completion_tokens: int
    estimated: bool = Field(description="Tokens estimated (no usage reported, or the stream broke)")
    usd: float
    upstream_ms: float
    added_ms: float
    attempts: int
    reason: str
    broken: bool
    trace_id: str
    failovers: list[str] = Field(
        default_factory=list, description="Attempts abandoned before this answer: provider/model: status"
    )


@router.get("/requests", operation_id="routing-requests", response_model=Items[GatewayRequestRecord])
def requests_log(
    *,
    rt: RuntimeDep,
    principal: Reader,
    route_class: Annotated[str | None, Query(alias="class")] = None,
    provider: str | None = None,
    model: str | None = None,
    status: Annotated[Literal["ok", "error"] | None, Query(description="ok: 2xx; error: anything else")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[str | None, Query(pattern=r"^\d+-\d+$", description="Only records newer than this id (polling)")] = None,
) -> Items[GatewayRequestRecord]:
    """Your tenant's recent gateway requests with the decision for each, newest first (scans the last 20,000)."""
    out: list[GatewayRequestRecord] = []
    raw: Any = rt.redis_sync.xrevrange(USAGE_STREAM, min=f"({after}" if after else "-", count=20_000)
    for sid, fields in raw:
        u = json.loads(fields[b"u"])
        if u["tenant"] != principal.tenant_id:
            continue
        if (
            (route_class and u["class"] != route_class)
            or (provider and u["provider"] != provider)
            or (model and u["model"] != model)
        ):
            continue
        ok = 200 <= u["status"] < 300
        if (status == "ok" and not ok) or (status == "error" and ok):
            continue
        out.append(
            GatewayRequestRecord(
                id=sid.decode(), ts=datetime.fromtimestamp(u["ts"]).astimezone(), key=u["key"], project=u["project"],
                env=u["env"],
                route_class=u["class"], provider=u["provider"], model=u["model"], requested=u["requested"], status=u["status"],
                prompt_tokens=u["prompt"], completion_tokens=u["completion"], estimated=u["estimated"], usd=u["usd"],
                upstream_ms=u["upstreamMs"], added_ms=u["addedMs"], attempts=u["attempts"], reason=u["reason"],
                broken=u["broken"], trace_id=u["trace"], failovers=u.get("failovers", []),
            )
        )  # fmt: skip
        if len(out) >= limit:
            break
    return Items(items=out)


# ---- captures ----------------------------------------------------------------------------------


class CaptureRecord(ApiModel):
    id: str
    ts: datetime
    key: str
    env: str
    route_class: str
    provider: str
    model: str
    status: int
    endpoint: str
    reason: str
    scores: str
    request: str = Field(description="The request body as the client sent it, redacted by the class's patterns")
    response: str = Field(description="What the client received (the SSE events of a stream), redacted")
    stream: bool
    trace_id: str


@router.get("/captures", operation_id="routing-captures", response_model=Items[CaptureRecord])
def captures(
    *,
    route_class: Annotated[str, Query(alias="class")],
    rt: RuntimeDep,
    session: SessionDep,
    principal: CaptureReader,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Items[CaptureRecord]:
    """Sampled requests of a class that opted in to capture (`capture.enabled`), newest first, your tenant's
    only. They hold prompts: reading them needs routing:read-captures and is audited."""
    _class(session, route_class)
    retention = int(_class(session, route_class).spec.get("capture", {}).get("retentionDays", 7))
    horizon = int((utcnow().timestamp() - retention * 86400) * 1000)  # never older than the retention says
    raw: Any = rt.redis_sync.xrevrange(CAPTURES_STREAM.format(cls=route_class), min=horizon, count=5000)
    out: list[CaptureRecord] = []
    for sid, fields in raw:
        c = json.loads(fields[b"c"])
        if c["tenant"] != principal.tenant_id:
            continue
        out.append(
            CaptureRecord(
                id=sid.decode(), ts=datetime.fromtimestamp(c["ts"]).astimezone(), key=c["key"], env=c["env"],
                route_class=c["class"], provider=c["provider"], model=c["model"], status=c["status"], endpoint=c["endpoint"],
                reason=c["reason"], scores=c["scores"], request=c["request"], response=c["response"], stream=c["stream"],
                trace_id=c["trace"],
            )
        )  # fmt: skip
        if len(out) >= limit:
            break
    _audit(session, principal, "routing.captures.read", "routing_class", route_class, {"returned": len(out)})
    session.commit()
    return Items(items=out)


# ---- recent events and the gateway's address -----------------------------------------------------


@router.get("/events", operation_id="routing-events", response_model=Items[dict[str, Any]])
def recent_events(
    *, rt: RuntimeDep, principal: Reader, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> Items[dict[str, Any]]:
    """Your tenant's latest routing events (as /api/streams/routing delivers them), newest first: what a
    page shows before its live stream has anything."""
    raw: Any = rt.redis_sync.xrevrange(EVENTS_STREAM, count=5000)
    out: list[dict[str, Any]] = []
    for sid, fields in raw:
        e = json.loads(fields[b"e"])
        if e.get("tenant") in (principal.tenant_id, ""):
            out.append({"streamId": sid.decode(), **e})
            if len(out) >= limit:
                break
    return Items(items=out)


class GatewayInfo(ApiModel):
    url: str = Field(description="Where clients send requests: OpenAI base_url is <url>/v1; Anthropic base_url is <url>")
    refresh_seconds: float = Field(description="Changes reach every gateway replica within this")


@router.get("/gateway", operation_id="routing-gateway-info", response_model=GatewayInfo)
def gateway_info(*, rt: RuntimeDep, principal: Reader) -> GatewayInfo:
    s = rt.settings
    return GatewayInfo(
        url=s.gateway_public_url or f"http://{s.gateway_host}:{s.gateway_port}", refresh_seconds=s.gateway_refresh_seconds
    )
