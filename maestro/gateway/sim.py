"""`maestro sim-provider`: a model provider that speaks OpenAI's and Anthropic's wire formats, offline.

It lets a user try model routing without a provider account and serves the gateway's tests: chat
completions, completions, embeddings and models in OpenAI's format, Messages in Anthropic's, each
streaming (server-sent events, first chunk as soon as it is ready) or not, with configurable latency,
time to first token, errors and rate limits. The behaviour can be changed while it runs
(`POST /_sim/config`), so a test can make a provider fail, slow down or rate-limit mid-traffic;
`GET /_sim/stats` counts what it answered. Replies are deterministic text about the prompt, and usage
counts words (an estimate: real tokenizers are a download, unavailable offline).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

DEFAULT_MODELS = ("sim-small", "sim-large", "sim-embed")


@dataclass
class SimConfig:
    """How the simulator behaves (every field can be changed at run time with POST /_sim/config)."""

    latency_ms: float = 20.0  # before a non-streaming answer (and before the first streamed chunk)
    jitter_ms: float = 0.0  # uniform extra latency, 0..jitter
    chunk_ms: float = 5.0  # between streamed chunks
    error_rate: float = 0.0  # share of requests answered with error_status
    error_status: int = 500
    rpm: int = 0  # requests per minute before 429 (0: unlimited)
    api_key: str | None = None  # required when set (Authorization: Bearer … or x-api-key)
    models: list[str] = field(default_factory=lambda: list(DEFAULT_MODELS))
    name: str = "sim"  # says which simulator answered (x-sim-provider header, and in replies)

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown settings {unknown}; known: {sorted(known)}")
        for k, v in changes.items():
            setattr(self, k, v)


@dataclass
class Stats:
    requests: int = 0
    errors: int = 0
    rate_limited: int = 0
    streamed: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


class _Problem(Exception):
    def __init__(self, status: int, message: str, kind: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param = status, message, kind, param


def _words(text: str) -> int:
    return len(text.split())


def _text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts (both formats)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _openai_usage(prompt: str, text: str) -> dict[str, int]:
    return {"prompt_tokens": _words(prompt), "completion_tokens": _words(text), "total_tokens": _words(prompt) + _words(text)}


def _reply(prompt: str, name: str) -> str:
    words = prompt.split()
    about = " ".join(words[:12]) + (" …" if len(words) > 12 else "")
    return f"Simulated reply from {name} to: {about}" if about else f"Simulated reply from {name}."


def create_sim(config: SimConfig | None = None) -> Starlette:
    cfg = config or SimConfig()
    stats = Stats()
    window: deque[float] = deque()  # request times in the last minute (rate limit)

    async def admit(request: Request, anthropic: bool) -> dict[str, Any]:
        stats.requests += 1
        stats.by_path[request.url.path] = stats.by_path.get(request.url.path, 0) + 1
        if cfg.api_key:
            given = request.headers.get("x-api-key") if anthropic else request.headers.get("api-key")  # Azure's header
            auth = request.headers.get("authorization", "")
            given = given or (auth[7:] if auth.lower().startswith("bearer ") else None)
            if given != cfg.api_key:
                raise _Problem(401, "invalid API key", "authentication_error")
        now = time.monotonic()
        while window and window[0] < now - 60:
            window.popleft()
        if cfg.rpm and len(window) >= cfg.rpm:
            stats.rate_limited += 1
            raise _Problem(429, f"rate limit of {cfg.rpm} requests per minute reached", "rate_limit_error")
        window.append(now)
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Problem(400, "the body is not JSON", "invalid_request_error") from None
        if not isinstance(body, dict):
            raise _Problem(400, "the body must be a JSON object", "invalid_request_error")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _Problem(400, "`model` is required", "invalid_request_error", "model")
        if model not in cfg.models:
            raise _Problem(404, f"The model `{model}` does not exist", "not_found_error", "model")
        if cfg.error_rate and random.random() < cfg.error_rate:
            stats.errors += 1
            raise _Problem(cfg.error_status, f"simulated failure of {cfg.name}", "api_error")
        return body

    async def delay(first: bool = True) -> None:
        ms = (cfg.latency_ms if first else cfg.chunk_ms) + (random.uniform(0, cfg.jitter_ms) if first and cfg.jitter_ms else 0)
        if ms > 0:
            await asyncio.sleep(ms / 1000)

    def openai_error(p: _Problem) -> JSONResponse:
        headers = {"retry-after": "1"} if p.status == 429 else {}
        kind = {"not_found_error": "invalid_request_error", "api_error": "server_error"}.get(p.kind, p.kind)
        body = {"error": {"message": p.message, "type": kind, "param": p.param, "code": p.kind}}
        return JSONResponse(body, status_code=p.status, headers={**headers, "x-sim-provider": cfg.name})

    def anthropic_error(p: _Problem) -> JSONResponse:
        headers = {"retry-after": "1"} if p.status == 429 else {}
        body = {"type": "error", "error": {"type": p.kind, "message": p.message}}
        return JSONResponse(body, status_code=p.status, headers={**headers, "x-sim-provider": cfg.name})

    def sse(events: AsyncIterator[bytes]) -> StreamingResponse:
        stats.streamed += 1
        return StreamingResponse(
            events, media_type="text/event-stream", headers={"cache-control": "no-cache", "x-sim-provider": cfg.name}
        )

    # ---- OpenAI format -------------------------------------------------------------------------
    async def azure_chat(request: Request) -> Response:
        """Azure OpenAI's shape: /openai/deployments/<deployment>/chat/completions?api-version=…"""
        if not request.query_params.get("api-version"):
            return openai_error(_Problem(400, "Missing required query parameter 'api-version'", "invalid_request_error"))
        return await chat(request)

    async def chat(request: Request) -> Response:
        try:
            body = await admit(request, anthropic=False)
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages:
                raise _Problem(400, "`messages` must be a non-empty array", "invalid_request_error", "messages")
        except _Problem as p:
            return openai_error(p)
        prompt = " ".join(_text_of(m.get("content")) for m in messages if isinstance(m, dict))
        text = _reply(prompt, cfg.name)
        cid, created, model = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), body["model"]
        usage = {
            "prompt_tokens": _words(prompt),
            "completion_tokens": _words(text),
            "total_tokens": _words(prompt) + _words(text),
        }
        if not body.get("stream"):
            await delay()
            return JSONResponse(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": usage,
                },
                headers={"x-sim-provider": cfg.name},
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        async def events() -> AsyncIterator[bytes]:
            def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
                c = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
                c["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if delta is not None else []
                return f"data: {json.dumps({**c, **extra})}\n\n".encode()

            await delay()
            yield chunk({"role": "assistant", "content": ""})
            for i, word in enumerate(text.split(" ")):
                yield chunk({"content": ("" if i == 0 else " ") + word})
                await delay(first=False)
            yield chunk({}, "stop")
            if include_usage:
                final = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": []}
                yield f"data: {json.dumps({**final, 'usage': usage})}\n\n".encode()
            yield b"data: [DONE]\n\n"

        return sse(events())

    async def completions(request: Request) -> Response:
        try:
            body = await admit(request, anthropic=False)
            prompt = body.get("prompt")
            if not isinstance(prompt, str):
                raise _Problem(400, "`prompt` must be a string", "invalid_request_error", "prompt")
        except _Problem as p:
            return openai_error(p)
        await delay()
        text = _reply(prompt, cfg.name)
        usage = {
            "prompt_tokens": _words(prompt),
            "completion_tokens": _words(text),
            "total_tokens": _words(prompt) + _words(text),
        }
        return JSONResponse(
            {
                "id": f"cmpl-{uuid.uuid4().hex[:24]}",
                "object": "text_completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
                "usage": usage,
            },
            headers={"x-sim-provider": cfg.name},
        )

    async def embeddings(request: Request) -> Response:
        try:
            body = await admit(request, anthropic=False)
            given = body.get("input")
            inputs = [given] if isinstance(given, str) else given
            if not isinstance(inputs, list) or not inputs or not all(isinstance(x, str) for x in inputs):
                raise _Problem(400, "`input` must be a string or an array of strings", "invalid_request_error", "input")
        except _Problem as p:
            return openai_error(p)
        await delay()

        def vector(text: str) -> list[float]:  # deterministic: the same text, the same vector
            rnd = random.Random(text)
            return [round(rnd.uniform(-1, 1), 6) for _ in range(8)]

        n = sum(_words(x) for x in inputs)
        return JSONResponse(
            {
                "object": "list",
                "data": [{"object": "embedding", "index": i, "embedding": vector(x)} for i, x in enumerate(inputs)],
                "model": body["model"],
                "usage": {"prompt_tokens": n, "total_tokens": n},
            },
            headers={"x-sim-provider": cfg.name},
        )

    async def models(request: Request) -> Response:
        return JSONResponse(
            {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": cfg.name} for m in cfg.models]},
            headers={"x-sim-provider": cfg.name},
        )

    # ---- Anthropic format ----------------------------------------------------------------------
    async def messages(request: Request) -> Response:
        try:
            body = await admit(request, anthropic=True)
            msgs = body.get("messages")
            if not isinstance(msgs, list) or not msgs:
                raise _Problem(400, "messages: must be a non-empty array", "invalid_request_error", "messages")
            if not isinstance(body.get("max_tokens"), int):
                raise _Problem(400, "max_tokens: Field required", "invalid_request_error", "max_tokens")
        except _Problem as p:
            return anthropic_error(p)
        system = _text_of(body.get("system")) if body.get("system") else ""
        prompt = " ".join([system, *(_text_of(m.get("content")) for m in msgs if isinstance(m, dict))]).strip()
        text = _reply(prompt, cfg.name)
        mid, model = f"msg_{uuid.uuid4().hex[:24]}", body["model"]
        usage = {"input_tokens": _words(prompt), "output_tokens": _words(text)}
        if not body.get("stream"):
            await delay()
            return JSONResponse(
                {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": usage,
                },
                headers={"x-sim-provider": cfg.name},
            )

        async def events() -> AsyncIterator[bytes]:
            def event(kind: str, data: dict[str, Any]) -> bytes:
                return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n".encode()

            await delay()
            start = {
                "id": mid,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 0},
            }
            yield event("message_start", {"message": start})
            yield event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            for i, word in enumerate(text.split(" ")):
                delta = {"type": "text_delta", "text": ("" if i == 0 else " ") + word}
                yield event("content_block_delta", {"index": 0, "delta": delta})
                await delay(first=False)
            yield event("content_block_stop", {"index": 0})
            yield event(
                "message_delta",
                {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": usage["output_tokens"]}},
            )
            yield event("message_stop", {})

        return sse(events())

    # ---- control -------------------------------------------------------------------------------
    async def get_config(request: Request) -> Response:
        return JSONResponse({k: v for k, v in asdict(cfg).items() if k != "api_key"})

    async def set_config(request: Request) -> Response:
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("send a JSON object of settings")
            cfg.update(changes)
        except (ValueError, json.JSONDecodeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        window.clear()
        return await get_config(request)

    async def get_stats(request: Request) -> Response:
        return JSONResponse(asdict(stats))

    return Starlette(
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/openai/deployments/{deployment}/chat/completions", azure_chat, methods=["POST"]),
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/messages", messages, methods=["POST"]),
            Route("/_sim/config", get_config, methods=["GET"]),
            Route("/_sim/config", set_config, methods=["POST"]),
            Route("/_sim/stats", get_stats, methods=["GET"]),
        ]
    )
