"""The routing model, in memory: which class a request belongs to, which candidate serves it and why.

Everything here is computed off the request path: a snapshot (from Redis) is compiled when it changes,
and each candidate's score is recomputed once per refresh tick from what this replica measured (latency
EWMA of real traffic, error rate, consecutive failures) and what every replica shares through Redis
(cooldowns). A request only walks a precomputed ranking and skips what a kill switch or a cooldown
took out since the tick.

Score of a candidate in a class: the weighted mean of four dimensions in [0, 1]:
- latency: fastest known EWMA / this one's (no traffic yet: 1, so a new candidate gets tried);
- cost: cheapest blended price / this one's (price card: mean of input and output USD per Mtok);
- reliability: 1 - the EWMA of failures (each request counts 0 or 1);
- policy: 1 when the class's policy allows the provider, model and region; 0 takes it out of the running.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from maestro.gateway.spec import BudgetGate, CandidateSpec, ClassSpec, GatewayKeySpec, ProviderSpec, Snapshot
from maestro.proxy.upstream import Origin

LATENCY_ALPHA = 0.2
ERROR_ALPHA = 0.1
COST_EPSILON = 0.01  # USD/Mtok: keeps free models from dividing by zero


@dataclass(slots=True)
class Health:
    """What this replica saw of one candidate (provider/model)."""

    latency_ms: float | None = None
    error_rate: float = 0.0
    consecutive: int = 0
    cooldown_until: float = 0.0
    requests: int = 0
    failures: int = 0

    def success(self, ms: float) -> None:
        self.requests += 1
        self.consecutive = 0
        self.error_rate *= 1 - ERROR_ALPHA
        self.latency_ms = ms if self.latency_ms is None else self.latency_ms + LATENCY_ALPHA * (ms - self.latency_ms)

    def failure(self) -> None:
        self.requests += 1
        self.failures += 1
        self.consecutive += 1
        self.error_rate += ERROR_ALPHA * (1 - self.error_rate)


@dataclass(slots=True)
class Candidate:
    key: str  # provider/model
    provider: ProviderSpec
    model: str
    spec: CandidateSpec
    origin: Origin
    api_key: str | None
    blended_price: float
    health: Health


@dataclass(slots=True)
class Scored:
    candidate: Candidate
    total: float
    latency: float
    cost: float
    reliability: float
    policy: float

    def describe(self) -> str:
        return (
            f"{self.candidate.key}={self.total:.3f} (latency {self.latency:.2f}, cost {self.cost:.2f}, "
            f"reliability {self.reliability:.2f}, policy {self.policy:.0f})"
        )


@dataclass(slots=True)
class Plan:
    """The candidates one request will try, in order, and why the first one was chosen."""

    cls: RouteClass
    attempts: list[Candidate]
    reason: str
    canary: Canary | None = None  # a model canary of this class is under way: its versions are counted
    canary_missed: bool = False  # the split chose the canary but it is cooling down or switched off


@dataclass(frozen=True, slots=True)
class Canary:
    """A RolloutWorkflow moving a class's requests between two of its candidates (provider gateway)."""

    service: str
    stable: str  # provider/model
    canary: str | None
    weight: int

    def version(self, key: str) -> str | None:
        return "canary" if key == self.canary else "stable" if key == self.stable else None


@dataclass(slots=True)
class RouteClass:
    spec: ClassSpec
    candidates: list[Candidate]
    ranking: list[Scored] = field(default_factory=list)  # allowed by policy, best first
    score_header: bytes = b""
    pin: tuple[str, float | None, str] | None = None  # (candidate key, expires_at, reason)
    downgraded: bool = False
    redact: re.Pattern[str] | None = None  # the capture's redaction patterns, as one alternation

    def matches(self, path: str, model: str, tenant: str, headers: dict[bytes, bytes], metadata: object) -> bool:
        m = self.spec.match
        if m.paths and path not in m.paths:
            return False
        if m.models and not any(fnmatchcase(model, pat) for pat in m.models):
            return False
        if m.tenants and tenant not in m.tenants:
            return False
        for name, value in m.headers.items():
            if headers.get(name.lower().encode()) != value.encode():
                return False
        if m.metadata:
            if not isinstance(metadata, dict):
                return False
            for k, v in m.metadata.items():
                if metadata.get(k) != v:
                    return False
        return True


class NoCandidate(Exception):
    """Every candidate of the class is killed, cooling down or outside its policy."""

    def __init__(self, detail: str, retry_after: float | None) -> None:
        super().__init__(detail)
        self.detail, self.retry_after = detail, retry_after


def _allowed(cls: ClassSpec, c: Candidate) -> bool:
    p = cls.policy
    if p.providers and c.provider.name not in p.providers:
        return False
    if p.models and not any(fnmatchcase(c.model, pat) for pat in p.models):
        return False
    return not (p.regions and c.provider.region not in p.regions)


class Router:
    """The compiled snapshot plus what this replica measured. Rebuilt on load, rescored on tick."""

    def __init__(self) -> None:
        self.version = -1
        self.classes: list[RouteClass] = []
        self.by_name: dict[str, RouteClass] = {}
        self.providers: dict[str, ProviderSpec] = {}
        self.keys: dict[str, GatewayKeySpec] = {}  # sha256 hex of the secret → key
        self.aliases: dict[str, dict[str, str]] = {}
        self.killed_providers: dict[str, str] = {}
        self.killed_models: dict[str, str] = {}
        self.killed_tenants: dict[str, str] = {}
        self.limits: dict[str, int] = {}
        self.budgets: list[BudgetGate] = []
        self.health: dict[str, Health] = {}  # survives reloads: measured traffic is not config
        self.shared_cooldowns: dict[str, float] = {}  # key → until (unix time), from every replica
        self.models_list: list[str] = []
        self.load_errors: list[str] = []
        self.canaries: dict[str, Canary] = {}  # class → the model canary under way (from the rollout's route)
        self.denied: dict[str, dict[str, dict[str, str]]] = {}  # class → candidate → scope → the policy's reason

    def load(self, snap: Snapshot, api_keys: dict[str, str]) -> None:
        """Compile a snapshot. `api_keys` are the opened provider keys (provider name → key)."""
        self.providers = {p.name: p for p in snap.providers}
        self.load_errors = []
        classes: list[RouteClass] = []
        for spec in sorted(snap.classes, key=lambda c: (c.priority, c.name)):
            cands: list[Candidate] = []
            for cs in spec.candidates:
                prov = self.providers.get(cs.provider)
                if prov is None:
                    continue  # the API refuses this; a snapshot edited by hand must not crash the gateway
                key = cs.key
                try:
                    origin = Origin.parse(prov.base_url)
                except ValueError as exc:  # the API refuses this; a bad one must not stop the rest from loading
                    self.load_errors.append(f"provider {prov.name}: {exc}")
                    continue
                cands.append(
                    Candidate(
                        key=key,
                        provider=prov,
                        model=cs.model,
                        spec=cs,
                        origin=origin,
                        api_key=api_keys.get(prov.name),
                        blended_price=(cs.price.input + cs.price.output) / 2,
                        health=self.health.setdefault(key, Health()),
                    )
                )
            if cands:
                redact = re.compile("|".join(f"(?:{p})" for p in spec.capture.redact)) if spec.capture.redact else None
                classes.append(RouteClass(spec, cands, downgraded=spec.name in snap.downgraded, redact=redact))
        self.classes = classes
        self.by_name = {c.spec.name: c for c in classes}
        for pin in snap.pins:
            rc = self.by_name.get(pin.class_name)
            if rc is not None:
                rc.pin = (f"{pin.provider}/{pin.model}", pin.expires_at, pin.reason)
        self.keys = {k.hash: k for k in snap.keys}
        self.aliases = snap.aliases
        self.killed_providers = {k.value: k.reason for k in snap.kills if k.scope == "provider"}
        self.killed_models = {k.value: k.reason for k in snap.kills if k.scope == "model"}
        self.killed_tenants = {k.value: k.reason for k in snap.kills if k.scope == "tenant"}
        self.limits = snap.limits
        self.budgets = snap.budgets
        self.denied = snap.denied
        self.models_list = sorted({m for c in classes for m in c.spec.match.models if "*" not in m})
        self.version = snap.version
        self.rescore(time.time())

    # -- off the request path
    def rescore(self, now: float) -> None:
        for rc in self.classes:
            if rc.pin is not None and rc.pin[1] is not None and rc.pin[1] <= now:
                rc.pin = None  # expired: the class routes by score again
            allowed = [c for c in rc.candidates if _allowed(rc.spec, c)]
            lat = [c.health.latency_ms for c in allowed if c.health.latency_ms]
            fastest = min(lat) if lat else None
            cheapest = min((c.blended_price for c in allowed), default=0.0)
            w = rc.spec.weights
            wsum = (w.latency + w.cost + w.reliability + w.policy) or 1.0
            scored: list[Scored] = []
            for c in allowed:
                ls = 1.0 if fastest is None or not c.health.latency_ms else fastest / c.health.latency_ms
                cs = (cheapest + COST_EPSILON) / (c.blended_price + COST_EPSILON)
                rs = 1.0 - c.health.error_rate
                total = (w.latency * ls + w.cost * cs + w.reliability * rs + w.policy * 1.0) / wsum
                scored.append(Scored(c, total, ls, cs, rs, 1.0))
            order = {c.key: i for i, c in enumerate(rc.candidates)}
            scored.sort(key=lambda s: (-round(s.total, 6), order[s.candidate.key]))
            rc.ranking = scored
            rc.score_header = (
                "; ".join(s.describe() for s in scored).encode("ascii", "replace").replace(b"\r", b" ").replace(b"\n", b" ")
            )

    def cooling(self, c: Candidate, now: float) -> float:
        """Seconds left of this candidate's cooldown (0: not cooling)."""
        until = max(c.health.cooldown_until, self.shared_cooldowns.get(c.key, 0.0))
        return until - now if until > now else 0.0

    def killed(self, c: Candidate) -> str | None:
        if c.provider.name in self.killed_providers:
            return f"provider {c.provider.name} is switched off ({self.killed_providers[c.provider.name] or 'no reason given'})"
        for k in (c.key, c.model):
            if k in self.killed_models:
                return f"model {k} is switched off ({self.killed_models[k] or 'no reason given'})"
        return None

    # -- on the request path
    def resolve_alias(self, tenant: str, model: str) -> str:
        a = self.aliases.get(tenant)
        if a is not None and model in a:
            return a[model]
        a = self.aliases.get("*")
        return a[model] if a is not None and model in a else model

    def match(self, path: str, model: str, tenant: str, headers: dict[bytes, bytes], metadata: object) -> RouteClass | None:
        for rc in self.classes:
            if rc.matches(path, model, tenant, headers, metadata):
                return rc
        return None

    def plan(self, rc: RouteClass, sticky: bytes | None, now: float, scope: str = "") -> Plan:
        """`scope` is the caller's 'tenant|env|project' (where the class's Rego policy was evaluated)."""
        live: list[Candidate] = []
        out: list[str] = []
        soonest: float | None = None
        denied = self.denied.get(rc.spec.name)
        for s in rc.ranking:
            c = s.candidate
            why = self.killed(c)
            if why is None and denied is not None:
                reason = denied.get(c.key, {}).get(scope)
                if reason is not None:
                    why = f"{c.key} is denied by the class's policy here ({reason})"
            if why is None:
                left = self.cooling(c, now)
                if left:
                    why = f"{c.key} is cooling down for {left:.0f} s after repeated failures"
                    soonest = left if soonest is None else min(soonest, left)
            if why is None:
                live.append(c)
            else:
                out.append(why)
        if not live:
            excluded = len(rc.candidates) - len(rc.ranking)
            extra = f"; {excluded} outside the class's policy" if excluded else ""
            raise NoCandidate(
                f"class {rc.spec.name}: no candidate can serve now: {'; '.join(out) or 'none allowed'}{extra}", soonest
            )
        first: Candidate | None = None
        reason = "best score"
        # a downgrade (a budget's breach) outranks a pin: spending stops even on a pinned class
        if rc.downgraded and rc.spec.downgrade_to:
            first = next((c for c in live if c.key == rc.spec.downgrade_to), None)
            if first is not None:
                reason = "downgraded"
        if first is None and rc.pin is not None:
            first = next((c for c in live if c.key == rc.pin[0]), None)
            if first is not None:
                reason = f"pinned ({rc.pin[2]})" if rc.pin[2] else "pinned"
        canary = self.canaries.get(rc.spec.name)
        missed = False
        if first is None and canary is not None:
            first, reason = _canary_pick(canary, live, sticky)
            # a canary out of the running (cooling down after failures, switched off) fails its share of
            # requests as far as its analysis is concerned: the rollout sees it, the client gets stable
            missed = (
                canary.canary is not None and canary.weight > 0 and all(c.key != canary.canary for c in live)
                and random.randrange(100) < canary.weight
            )  # fmt: skip
        if first is None and any(c.spec.weight for c in live):
            first, reason = _split(live, sticky)
        if first is None:
            first = live[0]
        attempts = [first, *[c for c in live if c is not first]][: rc.spec.failover.max_attempts]
        return Plan(rc, attempts, reason, canary, missed)


def _canary_pick(canary: Canary, live: list[Candidate], sticky: bytes | None) -> tuple[Candidate | None, str]:
    stable = next((c for c in live if c.key == canary.stable), None)
    new = next((c for c in live if c.key == canary.canary), None) if canary.canary else None
    if new is not None and canary.weight > 0:
        point = int.from_bytes(hashlib.blake2b(sticky, digest_size=8).digest()) % 100 if sticky else random.randrange(100)
        if point < canary.weight or stable is None:
            return new, f"canary {canary.weight}% ({canary.service})"
    if stable is not None:
        return stable, f"stable {100 - canary.weight if new is not None else 100}% ({canary.service})"
    return None, ""


def _split(live: list[Candidate], sticky: bytes | None) -> tuple[Candidate, str]:
    """A/B: pick by weight; with a sticky value the same user always lands on the same side."""
    total = sum(c.spec.weight for c in live)
    point = int.from_bytes(hashlib.blake2b(sticky, digest_size=8).digest()) % total if sticky else random.randrange(total)
    for c in live:
        point -= c.spec.weight
        if point < 0:
            return c, f"a/b split {c.spec.weight}%" + (" (sticky)" if sticky else "")
    return live[0], "a/b split"
