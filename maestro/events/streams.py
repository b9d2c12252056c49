"""Redis Streams: one bounded stream per topic, read back by id for SSE resume."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.client import Pipeline

from maestro.events.envelope import make_envelope
from maestro.events.payloads import AuditEventPublic, Envelope
from maestro.wire import ApiModel

if TYPE_CHECKING:
    from maestro.domain.models import AuditEvent


@dataclass(frozen=True)
class Topic:
    name: str
    permission: str
    description: str
    # Who may read an event: the rule of the REST list of the same data.
    #   "installation": the permission tenant-wide; every event (the audit chain, system health)
    #   "tenant":       the permission tenant-wide; events of the caller's tenant (alerts, policies)
    #   "env":          events of the caller's tenant in environments where it holds the permission
    #   "run":          one run's events (?run=), readable when the run is (else 404)
    scope: Literal["installation", "tenant", "env", "run"]


# Topics grow with each capability; the SSE route only serves topics listed here.
TOPICS: dict[str, Topic] = {
    t.name: t
    for t in [
        Topic("system", "system:read", "health_changed: readiness of temporal, redis and db", "installation"),
        Topic("audit", "audit:read", "audit_appended: every mutation, as it is recorded", "installation"),
        Topic(
            "runs",
            "runs:read",
            "run_started, step_started, step_updated, step_completed, run_progress, approval_requested, run_completed",
            "env",
        ),
        Topic("logs", "runs:read", "log_line of one run (pass ?run=ID)", "run"),
        Topic("alerts", "system:read", "alert_fired, alert_resolved, alert_acked, alert_assigned", "tenant"),
        Topic(
            "rollouts",
            "rollouts:read",
            "rollout_started, rollout_step, analysis_completed, rollout_paused, rollout_resumed, rollout_promoted, "
            "rollout_rolled_back, rollout_aborted",
            "env",
        ),
        Topic(
            "routing",
            "routing:read",
            "routing_decision (sampled: one per class per refresh), routing_failover, routing_cooldown, "
            "routing_stream_broken, routing_pinned, routing_unpinned, routing_killed, routing_revived, "
            "routing_downgraded, routing_restored",
            "tenant",
        ),
        Topic(
            "budgets",
            "budgets:read",
            "budget_warning, budget_breached, budget_frozen, budget_unfrozen, budget_slowed, budget_slowdown_lifted, "
            "budget_downgraded, budget_restored, budget_cap_raised, budget_refused, budget_period_closed",
            "tenant",
        ),
        Topic("policies", "policies:read", "policy_denied: a gate refused something (decision id, point, reasons)", "tenant"),
    ]
}


def stream_key(topic: str) -> str:
    return f"maestro:stream:{topic}"


# A run's live log stream is only for watching it happen: once the run has finished, every line is
# durable in SQL (GET /api/runs/{id}/logs), so the stream expires this long after the run ends.
LOG_STREAM_TTL_SECONDS = 600


def logs_key(run_id: str) -> str:
    return stream_key(f"logs:{run_id}")


async def publish(redis: Redis, topic: str, env: Envelope, *, maxlen: int = 10_000) -> str:
    data = env.model_dump_json(by_alias=True)
    sid = await redis.xadd(stream_key(topic), {"e": data}, maxlen=maxlen, approximate=True)
    return sid.decode() if isinstance(sid, bytes) else str(sid)


def add(redis: SyncRedis | Pipeline, topic: str, env: Envelope, *, maxlen: int = 10_000) -> None:
    """Append one envelope from synchronous code (a client or a pipeline)."""
    redis.xadd(stream_key(topic), {"e": env.model_dump_json(by_alias=True)}, maxlen=maxlen, approximate=True)


def emit(
    redis: SyncRedis,
    topic: str,
    kind: str,
    *,
    entity: str,
    id: str,
    payload: ApiModel,
    tenant: str,
    env: str = "",
    maxlen: int = 10_000,
) -> None:
    """Publish one event from synchronous code (activities, request handlers)."""
    add(redis, topic, make_envelope(type=kind, entity=entity, id=id, payload=payload, tenant=tenant, env=env), maxlen=maxlen)


def audit_publisher(redis: SyncRedis, maxlen: int = 10_000) -> Callable[[AuditEvent], None]:
    """``audit_appended`` on the audit topic for each audit event a session commits (see publish_audit_with)."""

    def publish(ev: AuditEvent) -> None:
        env = make_envelope(
            type="audit_appended",
            entity="audit_event",
            id=ev.id,
            payload=AuditEventPublic.model_validate(ev),
            trace_id=ev.trace_id,
            tenant="",  # the audit chain is installation-wide, as GET /api/audit lists it
        )
        add(redis, "audit", env, maxlen=maxlen)

    return publish


@dataclass
class StreamEntry:
    id: str
    data: str


def _decode(entries: list[Any]) -> list[StreamEntry]:
    out = []
    for sid, fields in entries:
        sid = sid.decode() if isinstance(sid, bytes) else sid
        raw = fields.get(b"e") or fields.get("e") or b"{}"
        out.append(StreamEntry(sid, raw.decode() if isinstance(raw, bytes) else raw))
    return out


async def read_since(redis: Redis, topic: str, last_id: str, *, block_ms: int, count: int = 500) -> list[StreamEntry]:
    """Entries after ``last_id`` (``$`` = only new ones), waiting up to ``block_ms``."""
    res = await redis.xread({stream_key(topic): last_id}, block=block_ms, count=count)
    if not res:
        return []
    entries: Any = res[0][1]  # type: ignore[index]
    return _decode(entries)


async def oldest_id(redis: Redis, topic: str) -> str | None:
    first = await redis.xrange(stream_key(topic), count=1)
    return _decode(first)[0].id if first else None


async def newest_id(redis: Redis, topic: str) -> str | None:
    last = await redis.xrevrange(stream_key(topic), count=1)
    return _decode(last)[0].id if last else None


def id_before(a: str, b: str) -> bool:
    """Stream id order (``ms-seq``)."""
    am, _, asq = a.partition("-")
    bm, _, bsq = b.partition("-")
    return (int(am), int(asq or 0)) < (int(bm), int(bsq or 0))
