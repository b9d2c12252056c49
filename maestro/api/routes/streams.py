from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from redis.exceptions import RedisError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from maestro.api.deps import AUTHENTICATED, Require, RuntimeDep, SessionDep, readable_envs, resolve_principal, run_or_404
from maestro.api.problems import Problem
from maestro.domain.identity import Principal
from maestro.domain.rbac import PERMISSIONS, ScopePath
from maestro.events.payloads import StreamControl, StreamEvent
from maestro.events.streams import TOPICS, Topic, id_before, newest_id, oldest_id, read_since

router = APIRouter(prefix="/streams", tags=["streams"])
log = logging.getLogger("maestro.api")

_STREAM_ID = r"^(\$|\d+-\d+|\d+)$"


@dataclass(frozen=True)
class Reader:
    """What one caller may see on one topic: the rule of the topic's REST list (see ``Topic.scope``)."""

    topic: Topic
    tenant_id: str
    envs: frozenset[str] | None  # "env" topics: readable environments (None: all of them)
    run_id: str | None = None  # "run" topics: the run's id (``?run=`` may name it another way)

    def allows(self, event: dict[str, Any]) -> bool:
        if self.topic.scope in ("installation", "run"):  # the topic itself is the boundary (checked on connect)
            return True
        if event.get("tenant") != self.tenant_id:
            return False
        return self.topic.scope != "env" or self.envs is None or event.get("env") in self.envs


def authorize_topic(s: Session, principal: Principal, topic: Topic, run: str | None) -> Reader:
    """Raise the problem the topic's REST list would answer (403, or 404 for a run it cannot see)."""
    perm = topic.permission
    if topic.scope in ("installation", "tenant"):
        if not principal.can(perm, ScopePath(principal.tenant_id)):
            raise Problem(
                403,
                f"Reading the {topic.name!r} stream needs the permission {perm!r} tenant-wide ({PERMISSIONS[perm]}).",
                remediation=f"Ask an admin to bind you a role that grants {perm} on the tenant.",
            )
        return Reader(topic, principal.tenant_id, None)
    if topic.scope == "run":
        if not run:
            raise Problem(
                422, "The logs stream needs ?run=RUN_ID.", errors=[{"field": "query.run", "message": "required for logs"}]
            )
        found = run_or_404(s, principal, run)
        return Reader(topic, principal.tenant_id, None, found.id)
    envs = readable_envs(s, principal, perm)
    if envs is not None and not envs:
        raise Problem(
            403,
            f"Reading the {topic.name!r} stream needs the permission {perm!r} in some environment ({PERMISSIONS[perm]}).",
            remediation=f"Ask an admin to bind you a role that grants {perm}.",
        )
    return Reader(topic, principal.tenant_id, None if envs is None else frozenset(envs))


def _frame(sid: str, data: str, event: dict[str, Any]) -> bytes:
    return f"id: {sid}\nevent: {event.get('type', 'message')}\ndata: {data}\n\n".encode()


def _control(event: str, reason: str) -> bytes:
    return f"event: {event}\ndata: {StreamControl(reason=reason).model_dump_json()}\n\n".encode()


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"  # the OpenAPI document files the 200 schema under it


@router.get(
    "/{topic}",
    operation_id="streams-get",
    response_class=EventStreamResponse,
    responses={
        200: {
            "model": StreamEvent,
            "description": "Server-sent events: each event's name is its envelope's `type` and its `data:` the "
            "envelope (a StreamEvent). Two more events carry `{reason}`: `reset` (events were trimmed past your "
            "position; reload state) and `end` (the caller lost access: session expired, token revoked, role removed; "
            "the stream closes).",
        }
    },
)
async def stream(
    *,
    topic: str,
    request: Request,
    rt: RuntimeDep,
    session: SessionDep,
    principal: Annotated[Principal, Require(AUTHENTICATED)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", pattern=_STREAM_ID)] = None,
    since: Annotated[str | None, Query(pattern=_STREAM_ID, description="Resume after this event id (as Last-Event-ID).")] = None,
    run: Annotated[str | None, Query(max_length=64, description="For the logs topic: the run id.")] = None,
) -> EventStreamResponse:
    """Server-sent events of one topic, each delivered only to a caller its REST list would show it
    to. Reconnect with Last-Event-ID to get what you missed."""
    t = TOPICS.get(topic)
    if t is None:
        raise Problem(404, f"Unknown stream topic {topic!r}.", remediation=f"Use one of: {', '.join(sorted(TOPICS))}.")
    reader = authorize_topic(session, principal, t, run)
    session.close()  # the stream may stay open for hours: do not hold a connection
    key = f"logs:{reader.run_id}" if t.scope == "run" else topic
    resume = last_event_id or since
    redis = rt.redis
    heartbeat_ms = int(rt.settings.sse_heartbeat_seconds * 1000)
    recheck_s = rt.settings.sse_recheck_seconds

    def recheck() -> Reader | str | None:
        """The caller as the database sees it now: its reader, why it lost the stream, or None when
        the database cannot say (the stream goes on as it was and asks again next time)."""
        try:
            with Session(rt.engine) as s:
                p = resolve_principal(request, s, rt.settings)
                if p is None:
                    return "signed out"
                return authorize_topic(s, p, t, run)
        except Problem as exc:
            return exc.detail
        except Exception:
            log.warning("stream re-check failed; keeping the stream open", exc_info=True)
            return None

    # Where to start is fixed before the response begins: an event published once the client has
    # seen the headers is always after this position, so nothing slips between connect and read.
    try:
        start = resume or await newest_id(redis, key) or "0"
        trimmed = False
        if resume and resume != "0":
            oldest = await oldest_id(redis, key)
            trimmed = oldest is not None and id_before(resume, oldest)
    except RedisError as exc:
        raise Problem(503, "The event store (Redis) is unavailable.") from exc

    async def gen() -> AsyncIterator[bytes]:
        nonlocal reader
        cursor = start
        yield b"retry: 2000\n\n"
        if trimmed:
            # the stream was trimmed past the client's position: tell it to refetch
            yield _control("reset", "events were trimmed; reload state")
        last_sent = checked = time.monotonic()
        while True:
            if await request.is_disconnected():
                return
            if time.monotonic() - checked >= recheck_s:
                checked = time.monotonic()
                now = await run_in_threadpool(recheck)
                if isinstance(now, str):
                    yield _control("end", now)
                    return
                if now is not None:
                    reader = now
            try:
                entries = await read_since(redis, key, cursor, block_ms=max(1, min(heartbeat_ms, int(recheck_s * 1000), 5000)))
            except asyncio.CancelledError:
                raise
            except Exception:
                yield b": redis unavailable, retrying\n\n"
                await asyncio.sleep(1)
                continue
            sent = False
            for e in entries:
                cursor = e.id
                try:
                    event = json.loads(e.data)
                except ValueError:
                    continue
                if isinstance(event, dict) and reader.allows(event):
                    sent = True
                    yield _frame(e.id, e.data, event)
            if sent:
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent >= rt.settings.sse_heartbeat_seconds:
                last_sent = time.monotonic()
                yield b": heartbeat\n\n"

    return EventStreamResponse(
        gen(),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
