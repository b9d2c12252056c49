from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from redis.exceptions import RedisError

from maestro.api.deps import AUTHENTICATED, Require, RuntimeDep
from maestro.api.problems import Problem
from maestro.domain.identity import Principal
from maestro.domain.rbac import grants
from maestro.events.envelope import Envelope
from maestro.events.streams import TOPICS, id_before, newest_id, oldest_id, read_since

router = APIRouter(prefix="/streams", tags=["streams"])

_STREAM_ID = r"^(\$|\d+-\d+|\d+)$"


def _frame(sid: str, data: str) -> bytes:
    try:
        etype = json.loads(data).get("type", "message")
    except ValueError:
        etype = "message"
    return f"id: {sid}\nevent: {etype}\ndata: {data}\n\n".encode()


@router.get(
    "/{topic}",
    operation_id="streams-get",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "text/event-stream": {
                    "schema": Envelope.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
                }
            },
            "description": "Server-sent events; each `data:` is an Envelope",
        }
    },
)
async def stream(
    *,
    topic: str,
    request: Request,
    rt: RuntimeDep,
    principal: Annotated[Principal, Require(AUTHENTICATED)],
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", pattern=_STREAM_ID)] = None,
    since: Annotated[str | None, Query(pattern=_STREAM_ID, description="Resume after this event id (as Last-Event-ID).")] = None,
    run: Annotated[str | None, Query(max_length=64, description="For the logs topic: the run id.")] = None,
) -> StreamingResponse:
    """Server-sent events of one topic. Reconnect with Last-Event-ID to get what you missed."""
    t = TOPICS.get(topic)
    if t is None:
        raise Problem(404, f"Unknown stream topic {topic!r}.", remediation=f"Use one of: {', '.join(sorted(TOPICS))}.")
    if not grants(principal.all_permissions(), t.permission):
        raise Problem(403, f"Reading the {topic!r} stream needs the permission {t.permission!r}.")
    if topic == "logs":
        if not run:
            raise Problem(
                422, "The logs stream needs ?run=RUN_ID.", errors=[{"field": "query.run", "message": "required for logs"}]
            )
        topic = f"logs:{run}"
    resume = last_event_id or since
    redis = rt.redis
    heartbeat_ms = int(rt.settings.sse_heartbeat_seconds * 1000)

    # Where to start is fixed before the response begins: an event published once the client has
    # seen the headers is always after this position, so nothing slips between connect and read.
    try:
        start = resume or await newest_id(redis, topic) or "0"
        trimmed = False
        if resume and resume != "0":
            oldest = await oldest_id(redis, topic)
            trimmed = oldest is not None and id_before(resume, oldest)
    except RedisError as exc:
        raise Problem(503, "The event store (Redis) is unavailable.") from exc

    async def gen() -> AsyncIterator[bytes]:
        cursor = start
        yield b"retry: 2000\n\n"
        if trimmed:
            # the stream was trimmed past the client's position: tell it to refetch
            yield f"event: reset\ndata: {json.dumps({'reason': 'events were trimmed; reload state'})}\n\n".encode()
        last_sent = time.monotonic()
        while True:
            if await request.is_disconnected():
                return
            try:
                entries = await read_since(redis, topic, cursor, block_ms=min(heartbeat_ms, 5000))
            except asyncio.CancelledError:
                raise
            except Exception:
                yield b": redis unavailable, retrying\n\n"
                await asyncio.sleep(1)
                continue
            if not entries:
                if time.monotonic() - last_sent >= rt.settings.sse_heartbeat_seconds:
                    last_sent = time.monotonic()
                    yield b": heartbeat\n\n"
                continue
            last_sent = time.monotonic()
            for e in entries:
                cursor = e.id
                yield _frame(e.id, e.data)

    return StreamingResponse(
        gen(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
