"""``Idempotency-Key`` for mutating requests, stored in Redis.

The first response (status < 500) is kept for the TTL; a replay with the same key and body gets it
back unchanged (plus ``Idempotent-Replayed: true``); the same key with another body is refused with
422; a replay while the first is still running gets 409.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro.api.middleware import send_problem

log = logging.getLogger("maestro.api")

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
EXCLUDED_PREFIXES = ("/api/auth/",)  # session cookies must never be replayed to another client
SKIP_HEADERS = {b"content-length", b"set-cookie", b"x-request-id", b"x-trace-id", b"content-security-policy"}


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, redis: Callable[[], Redis], ttl_seconds: int) -> None:
        self.app = app
        self.redis = redis
        self.ttl = ttl_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING or scope["path"].startswith(EXCLUDED_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = dict((k.lower(), v) for k, v in scope["headers"])
        key = headers.get(b"idempotency-key")
        if key is None:
            await self.app(scope, receive, send)
            return
        if not (1 <= len(key) <= 255):
            await send_problem(send, 400, "Idempotency-Key must be 1 to 255 characters.")
            return
        # Read the whole body (the body limit middleware runs before this one).
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        body_hash = hashlib.sha256(body).hexdigest()
        who = headers.get(b"authorization") or headers.get(b"cookie") or b"anonymous"
        # the credential part only: another cookie changing must not change the namespace
        ns = hashlib.sha256(who).hexdigest()[:32]
        rkey = f"maestro:idem:{ns}:{scope['method']}:{scope['path']}:{hashlib.sha256(key).hexdigest()}"
        redis = self.redis()
        try:
            fresh = await redis.set(rkey, json.dumps({"state": "pending", "body_hash": body_hash}), nx=True, ex=self.ttl)
            existing = None if fresh else await redis.get(rkey)
        except RedisError:
            log.exception("idempotency store unavailable")
            await send_problem(send, 503, "The idempotency store (Redis) is unavailable; the request was not run.")
            return
        if existing is not None:
            record = json.loads(existing)
            if record["body_hash"] != body_hash:
                await send_problem(
                    send,
                    422,
                    "This Idempotency-Key was already used with a different request body.",
                    title="Idempotency key reused",
                    remediation="Use a new Idempotency-Key for a different request.",
                )
                return
            if record["state"] == "pending":
                await send_problem(
                    send,
                    409,
                    "A request with this Idempotency-Key is still being processed.",
                    remediation="Retry after the first request has finished.",
                )
                return
            await send(
                {
                    "type": "http.response.start",
                    "status": record["status"],
                    "headers": [(bytes.fromhex(k), bytes.fromhex(v)) for k, v in record["headers"]]
                    + [(b"idempotent-replayed", b"true")],
                }
            )
            await send({"type": "http.response.body", "body": base64.b64decode(record["body"])})
            return

        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        resp_headers: list[tuple[bytes, bytes]] = []
        resp_body: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, resp_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                resp_headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in SKIP_HEADERS]
            elif message["type"] == "http.response.body":
                resp_body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            try:
                if status < 500:
                    record = {
                        "state": "done",
                        "body_hash": body_hash,
                        "status": status,
                        "headers": [(k.hex(), v.hex()) for k, v in resp_headers],
                        "body": base64.b64encode(b"".join(resp_body)).decode(),
                    }
                    await redis.set(rkey, json.dumps(record), ex=self.ttl)
                else:
                    await redis.delete(rkey)
            except RedisError:
                log.exception("could not store idempotent response")
