"""Translation between OpenAI's Chat Completions and Anthropic's Messages wire formats (issue 15).

The gateway calls these on its hot path, whenever a client's format differs from its provider's:
pure functions over parsed JSON, no I/O. What has an exact equivalent is mapped; what would change
the answer without the client knowing is refused with `Untranslatable` (the gateway answers 400
naming the field); what only tunes delivery (caching hints, storage, tiers) is dropped and listed in
each request function's docstring with the reason. Responses and stream events are translated
leniently: a provider's answer is never refused for an unknown block or event, those are skipped.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

__all__ = [
    "AnthropicToOpenAIStream",
    "OpenAIToAnthropicStream",
    "SSEParser",
    "StreamUsage",
    "Untranslatable",
    "anthropic_error",
    "anthropic_response_to_openai",
    "anthropic_to_openai_chat",
    "openai_chat_to_anthropic",
    "openai_error",
    "openai_response_to_anthropic",
    "openai_stream_usage",
]

DEFAULT_MAX_TOKENS = 4096  # Anthropic requires max_tokens; OpenAI lets the model decide
_TO_ANTHROPIC = "cannot be translated to Anthropic's format"
_TO_OPENAI = "cannot be translated to OpenAI's format"


class Untranslatable(ValueError):
    """A field with no equivalent in the target format (or malformed): a 400 naming `field` for a request.

    Raised for a provider's output too (tool arguments that are not JSON, a stream event that is not
    JSON, no choice): there the fault is upstream, and the gateway answers 502.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _obj(value: Any, field: str) -> Json:
    if not isinstance(value, dict):
        raise Untranslatable(field, "must be a JSON object")
    return value


def _list(value: Any, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise Untranslatable(field, "must be an array")
    return value


# ---- requests: OpenAI → Anthropic ------------------------------------------------------------

# Dropped silently: none of these changes the text a model produces.
_OA_DROPPED = frozenset(
    {
        "stream_options",  # Anthropic streams always carry usage; AnthropicToOpenAIStream(include_usage=...) honours it
        "seed",  # best-effort determinism even at OpenAI (no guarantee), nothing to map it to
        "store",
        "metadata",  # OpenAI's stored-completion tags, not part of generation
        "service_tier",  # a latency/price tier, not content
        "prediction",  # predicted outputs only speed generation up; the answer is the same
        "prompt_cache_key",
        "prompt_cache_retention",
        "prompt_cache_options",  # caching hints; Anthropic caches by its own rules
    }
)
# Accepted only at their neutral value; anything else asks for a behaviour Anthropic lacks.
_OA_NEUTRAL: dict[str, tuple[Any, str]] = {
    "n": (1, "more than one choice per request"),
    "logprobs": (False, "log probabilities"),
    "top_logprobs": (0, "log probabilities"),
    "frequency_penalty": (0, "frequency penalty"),
    "presence_penalty": (0, "presence penalty"),
    "logit_bias": ({}, "logit bias"),
    "response_format": ({"type": "text"}, "a structured response format"),
    "modalities": (["text"], "non-text output"),
}
_OA_REFUSED = {
    "functions": "legacy functions (use tools)",
    "function_call": "legacy function_call (use tool_choice)",
    "audio": "audio output",
    "reasoning_effort": "reasoning effort",
    "verbosity": "verbosity",
    "web_search_options": "web search",
}
_OA_PART_KINDS = {"image_url": "image input", "input_audio": "audio input", "file": "file input"}


def openai_chat_to_anthropic(body: Json, model: str) -> Json:
    """A Chat Completions request as a Messages request for `model`.

    Mapped: system/developer messages → `system` (joined with blank lines, wherever they stand),
    user/assistant text, tool calls and results (consecutive same-role turns merged, as Anthropic
    requires alternation), tools, tool_choice, parallel_tool_calls=false →
    disable_parallel_tool_use, max_completion_tokens/max_tokens (default 4096), temperature (≤ 1),
    top_p, stop, stream, user (or safety_identifier) → metadata.user_id.
    Dropped: see `_OA_DROPPED` (delivery hints with no effect on the answer) and messages' `name`.
    Refused: n > 1, logprobs, penalties, logit_bias, non-text response_format or modalities, legacy
    functions, audio, reasoning_effort, verbosity, web search, non-text content parts, temperature
    above Anthropic's 1, and any field this module does not know.
    """
    system, messages = _oa_messages(_list(body.get("messages"), "messages"))
    out: Json = {"model": model, "messages": messages}
    if system:
        out["system"] = "\n\n".join(system)
    max_tokens = body.get("max_completion_tokens")
    max_tokens = body.get("max_tokens") if max_tokens is None else max_tokens
    out["max_tokens"] = DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens
    for key, value in body.items():
        if value is None or key in _OA_DROPPED or key in ("model", "messages", "max_tokens", "max_completion_tokens"):
            continue
        if key == "temperature":
            if isinstance(value, int | float) and value > 1:
                raise Untranslatable(key, f"{value} is above Anthropic's maximum of 1")
            out["temperature"] = value
        elif key == "top_p":
            out["top_p"] = value
        elif key == "stop":
            stops = [value] if isinstance(value, str) else _list(value, key)
            if stops:
                out["stop_sequences"] = stops
        elif key == "stream":
            if value:
                out["stream"] = True
        elif key == "user":
            out.setdefault("metadata", {})["user_id"] = value
        elif key == "safety_identifier":  # the same purpose as `user`, which wins when both are given
            out.setdefault("metadata", {}).setdefault("user_id", value)
        elif key == "tools":
            out["tools"] = [_oa_tool(t, f"tools[{k}]") for k, t in enumerate(_list(value, key))]
        elif key == "tool_choice":
            out["tool_choice"] = _oa_tool_choice(value)
        elif key == "parallel_tool_calls":
            continue  # below, once tool_choice is known
        elif key in _OA_NEUTRAL:
            neutral, what = _OA_NEUTRAL[key]
            if value != neutral:
                raise Untranslatable(key, f"{what} {_TO_ANTHROPIC}")
        elif key in _OA_REFUSED:
            raise Untranslatable(key, f"{_OA_REFUSED[key]} {_TO_ANTHROPIC}")
        else:
            raise Untranslatable(key, f"unknown field {_TO_ANTHROPIC}")
    if body.get("parallel_tool_calls") is False and out.get("tools"):
        choice = out.setdefault("tool_choice", {"type": "auto"})
        if choice["type"] != "none":
            choice["disable_parallel_tool_use"] = True
    return out


def _oa_text(content: Any, field: str, assistant: bool = False) -> list[str]:
    """The texts of an OpenAI content (a string or text parts); other parts are refused by kind."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content] if content else []
    texts = []
    for j, part in enumerate(_list(content, f"{field}.content")):
        kind = _obj(part, f"{field}.content[{j}]").get("type")
        if kind == "text" or (assistant and kind == "refusal"):
            text = part.get("text" if kind == "text" else "refusal")
            if text:
                texts.append(text)
        else:
            what = _OA_PART_KINDS.get(kind, f"content part type {kind!r}") if isinstance(kind, str) else "content part"
            raise Untranslatable(f"{field}.content[{j}].type", f"{what} {_TO_ANTHROPIC}")
    return texts


def _oa_messages(messages: list[Any]) -> tuple[list[str], list[Json]]:
    system: list[str] = []
    out: list[Json] = []
    for i, message in enumerate(messages):
        path = f"messages[{i}]"
        m = _obj(message, path)
        role = m.get("role")
        if role in ("system", "developer"):
            system.extend(_oa_text(m.get("content"), path))
            continue
        blocks: list[Json]
        if role == "user":
            blocks = [{"type": "text", "text": t} for t in _oa_text(m.get("content"), path)]
        elif role == "assistant":
            for key, what in (("function_call", "legacy function_call"), ("audio", "audio")):
                if m.get(key) is not None:
                    raise Untranslatable(f"{path}.{key}", f"{what} {_TO_ANTHROPIC}")
            texts = _oa_text(m.get("content"), path, assistant=True)
            if isinstance(m.get("refusal"), str) and m["refusal"]:
                texts.append(m["refusal"])
            blocks = [{"type": "text", "text": t} for t in texts]
            for k, call in enumerate(m.get("tool_calls") or []):
                blocks.append(_oa_tool_use(_obj(call, f"{path}.tool_calls[{k}]"), f"{path}.tool_calls[{k}]"))
        elif role == "tool":
            role = "user"
            call_id = m.get("tool_call_id")
            if not isinstance(call_id, str):
                raise Untranslatable(f"{path}.tool_call_id", "is required")
            result: Json = {"type": "tool_result", "tool_use_id": call_id}
            content = m.get("content")
            if isinstance(content, str):
                if content:
                    result["content"] = content
            elif content is not None:
                result["content"] = [{"type": "text", "text": t} for t in _oa_text(content, path)]
            blocks = [result]
        elif role == "function":
            raise Untranslatable(f"{path}.role", f"legacy function messages {_TO_ANTHROPIC}")
        else:
            raise Untranslatable(f"{path}.role", f"role {role!r} {_TO_ANTHROPIC}")
        if not blocks:
            continue  # Anthropic rejects empty text; an empty turn carries nothing
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    for m in out:  # the plain form when a turn is a single text
        if len(m["content"]) == 1 and m["content"][0]["type"] == "text":
            m["content"] = m["content"][0]["text"]
    return system, out


def _oa_tool_use(call: Json, path: str) -> Json:
    if call.get("type", "function") != "function":
        raise Untranslatable(f"{path}.type", f"tool call type {call.get('type')!r} {_TO_ANTHROPIC}")
    fn = _obj(call.get("function"), f"{path}.function")
    arguments = fn.get("arguments") or "{}"
    try:
        args = json.loads(arguments)
    except (TypeError, ValueError):
        raise Untranslatable(f"{path}.function.arguments", "is not valid JSON") from None
    if not isinstance(args, dict):
        raise Untranslatable(f"{path}.function.arguments", "must be a JSON object")
    return {"type": "tool_use", "id": call.get("id"), "name": fn.get("name"), "input": args}


def _oa_tool(tool: Any, path: str) -> Json:
    t = _obj(tool, path)
    if t.get("type") != "function":
        raise Untranslatable(f"{path}.type", f"tool type {t.get('type')!r} {_TO_ANTHROPIC}")
    fn = _obj(t.get("function"), f"{path}.function")
    out: Json = {"name": fn.get("name"), "input_schema": fn.get("parameters") or {"type": "object", "properties": {}}}
    if fn.get("description"):
        out["description"] = fn["description"]
    if fn.get("strict"):
        out["strict"] = True
    return out


def _oa_tool_choice(choice: Any) -> Json:
    simple = {"auto": "auto", "none": "none", "required": "any"}
    if isinstance(choice, str) and choice in simple:
        return {"type": simple[choice]}
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("function"), dict):
        return {"type": "tool", "name": choice["function"].get("name")}
    raise Untranslatable("tool_choice", f"{_dumps(choice)} {_TO_ANTHROPIC}")


# ---- requests: Anthropic → OpenAI ------------------------------------------------------------

_AN_DROPPED = frozenset({"service_tier", "cache_control"})  # a priority tier and a caching hint: same answer
_AN_PART_KINDS = {"image": "image input", "document": "document input", "thinking": "thinking", "redacted_thinking": "thinking"}


def anthropic_to_openai_chat(body: Json, model: str) -> Json:
    """A Messages request as a Chat Completions request for `model`.

    Mapped: system → a system message, text, tool_use → tool_calls (input as a JSON string),
    tool_result → tool messages (text joined with newlines), tools (custom), tool_choice,
    disable_parallel_tool_use → parallel_tool_calls=false, max_tokens (as `max_tokens`, the name every
    OpenAI-compatible server knows), temperature, top_p, stop_sequences → stop, metadata.user_id →
    user, stream → stream with usage requested (the gateway accounts tokens).
    Dropped: service_tier and cache_control (on the request and on blocks), tool_result's is_error
    (the result's text still says what went wrong).
    Refused: thinking, top_k, image/document/thinking blocks, server tools, and any unknown field
    (container, mcp_servers, output_config, inference_geo…).
    """
    messages: list[Json] = []
    system = body.get("system")
    if system:
        texts = [system] if isinstance(system, str) else _an_texts(_list(system, "system"), "system")
        messages.append({"role": "system", "content": "\n\n".join(texts)})
    for i, m in enumerate(_list(body.get("messages"), "messages")):
        messages.extend(_an_message(_obj(m, f"messages[{i}]"), f"messages[{i}]"))
    out: Json = {"model": model, "messages": messages}
    for key, value in body.items():
        if value is None or key in _AN_DROPPED or key in ("model", "messages", "system"):
            continue
        if key in ("max_tokens", "temperature", "top_p"):
            out[key] = value
        elif key == "stop_sequences":
            if value:
                out["stop"] = list(value)
        elif key == "stream":
            if value:
                out["stream"] = True
                out["stream_options"] = {"include_usage": True}
        elif key == "metadata":
            if _obj(value, key).get("user_id"):
                out["user"] = value["user_id"]
        elif key == "tools":
            out["tools"] = [_an_tool(t, f"tools[{k}]") for k, t in enumerate(_list(value, key))]
        elif key == "tool_choice":
            choice = _obj(value, key)
            kind = choice.get("type")
            if kind in ("auto", "none"):
                out["tool_choice"] = kind
            elif kind == "any":
                out["tool_choice"] = "required"
            elif kind == "tool":
                out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
            else:
                raise Untranslatable("tool_choice.type", f"{kind!r} {_TO_OPENAI}")
            if choice.get("disable_parallel_tool_use"):
                out["parallel_tool_calls"] = False
        elif key == "thinking":
            if _obj(value, key).get("type") != "disabled":
                raise Untranslatable(key, f"extended thinking {_TO_OPENAI}")
        elif key == "top_k":
            raise Untranslatable(key, f"top_k sampling {_TO_OPENAI}")
        else:
            raise Untranslatable(key, f"unknown field {_TO_OPENAI}")
    return out


def _an_texts(blocks: list[Any], field: str) -> list[str]:
    texts = []
    for j, block in enumerate(blocks):
        b = _obj(block, f"{field}[{j}]")
        if b.get("type") != "text":
            _an_refuse(b, f"{field}[{j}]")
        texts.append(b.get("text", ""))
    return texts


def _an_refuse(block: Json, path: str) -> None:
    kind = block.get("type")
    what = _AN_PART_KINDS.get(kind, f"block type {kind!r}") if isinstance(kind, str) else "block"
    raise Untranslatable(f"{path}.type", f"{what} {_TO_OPENAI}")


def _parts(texts: list[str]) -> str | list[Json] | None:
    if not texts:
        return None
    return texts[0] if len(texts) == 1 else [{"type": "text", "text": t} for t in texts]


def _an_message(m: Json, path: str) -> list[Json]:
    role, content = m.get("role"), m.get("content")
    if role not in ("user", "assistant"):
        raise Untranslatable(f"{path}.role", f"role {role!r} {_TO_OPENAI}")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    texts: list[str] = []
    extra: list[Json] = []  # tool messages (user) or tool calls (assistant)
    for j, block in enumerate(_list(content, f"{path}.content")):
        where = f"{path}.content[{j}]"
        b = _obj(block, where)
        kind = b.get("type")
        if kind == "text":
            if b.get("text"):
                texts.append(b["text"])
        elif kind == "tool_use" and role == "assistant":
            extra.append(_call(b))
        elif kind == "tool_result" and role == "user":
            result = b.get("content")
            if isinstance(result, list):
                result = "\n".join(_an_texts(result, f"{where}.content"))
            extra.append({"role": "tool", "tool_call_id": b.get("tool_use_id"), "content": result or ""})
        else:
            _an_refuse(b, where)
    if role == "assistant":
        message: Json = {"role": "assistant", "content": _parts(texts) if texts or extra else ""}
        if extra:
            message["tool_calls"] = extra
        return [message]
    # OpenAI wants tool results right after the assistant's calls, before any new user text
    return [*extra, {"role": "user", "content": _parts(texts) or ""}] if texts or not extra else extra


def _call(block: Json) -> Json:
    """A tool_use block as an OpenAI tool call (arguments are a JSON string there)."""
    fn = {"name": block.get("name"), "arguments": _dumps(block.get("input") or {})}
    return {"id": block.get("id"), "type": "function", "function": fn}


def _an_tool(tool: Any, path: str) -> Json:
    t = _obj(tool, path)
    if t.get("type", "custom") not in ("custom", None):
        raise Untranslatable(f"{path}.type", f"server tool {t.get('type')!r} {_TO_OPENAI}")
    fn: Json = {"name": t.get("name")}
    if t.get("description"):
        fn["description"] = t["description"]
    fn["parameters"] = t.get("input_schema") or {"type": "object", "properties": {}}
    if t.get("strict"):
        fn["strict"] = True
    return {"type": "function", "function": fn}


# ---- responses -------------------------------------------------------------------------------

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def _an_input_tokens(usage: Json) -> int:
    """Anthropic counts cache reads and writes apart from input_tokens; OpenAI's prompt_tokens includes them."""
    return int(
        (usage.get("input_tokens") or 0)
        + (usage.get("cache_creation_input_tokens") or 0)
        + (usage.get("cache_read_input_tokens") or 0)
    )


def _oa_usage(prompt: int, completion: int) -> Json:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def anthropic_response_to_openai(resp: Json, model: str, created: int | None = None) -> Json:
    """A Messages response as a `chat.completion`; blocks other than text and tool_use are skipped."""
    texts: list[str] = []
    calls: list[Json] = []
    for block in resp.get("content") or []:
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            calls.append(_call(block))
    message: Json = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        message["tool_calls"] = calls
    usage = resp.get("usage") or {}
    prompt = _an_input_tokens(usage)
    out_usage = _oa_usage(prompt, int(usage.get("output_tokens") or 0))
    if usage.get("cache_read_input_tokens"):
        out_usage["prompt_tokens_details"] = {"cached_tokens": usage["cache_read_input_tokens"]}
    return {
        "id": resp.get("id"),
        "object": "chat.completion",
        "created": int(time.time()) if created is None else created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _FINISH.get(resp.get("stop_reason") or "", "stop"),
            }
        ],
        "usage": out_usage,
    }


def openai_response_to_anthropic(resp: Json, model: str) -> Json:
    """A `chat.completion` (its first choice) as a Messages `message`; tool arguments must be a JSON object."""
    choices = resp.get("choices") or []
    if not choices:
        raise Untranslatable("choices", "the provider's response has no choice")
    message = choices[0].get("message") or {}
    content: list[Json] = []
    text = message.get("content") or message.get("refusal")
    if text:
        content.append({"type": "text", "text": text})
    for k, call in enumerate(message.get("tool_calls") or []):
        path = f"choices[0].message.tool_calls[{k}]"
        content.append(_oa_tool_use(_obj(call, path), path))
    usage = resp.get("usage") or {}
    prompt = int(usage.get("prompt_tokens") or 0)
    cached = int((usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0)
    out_usage: Json = {"input_tokens": prompt - cached, "output_tokens": int(usage.get("completion_tokens") or 0)}
    if cached:
        out_usage["cache_read_input_tokens"] = cached
    return {
        "id": resp.get("id"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _STOP.get(choices[0].get("finish_reason") or "", "end_turn"),
        "stop_sequence": None,
        "usage": out_usage,
    }


_OA_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}
_AN_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def openai_error(status: int, message: str, type_: str | None = None, code: str | None = None, param: str | None = None) -> Json:
    """OpenAI's error body; without `type_`, the type OpenAI uses for `status`."""
    kind = type_ or _OA_ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def anthropic_error(status: int, message: str) -> Json:
    """Anthropic's error body, its type chosen from `status` as Anthropic's API documents them."""
    kind = _AN_ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


# ---- streaming -------------------------------------------------------------------------------


class SSEParser:
    """Server-sent events from bytes cut anywhere: lines end in LF, CRLF or CR; `:` lines are comments."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._event: str | None = None
        self._data: list[str] = []
        self._after_cr = False

    def feed(self, data: bytes) -> list[tuple[str | None, str]]:
        buf = self._buf
        buf += data
        out: list[tuple[str | None, str]] = []
        start, n = 0, len(buf)
        if self._after_cr and n:  # the previous piece ended in CR: a leading LF completes that CRLF
            self._after_cr = False
            start = 1 if buf[0] == 10 else 0
        while start < n:
            nl = buf.find(b"\n", start)
            cr = buf.find(b"\r", start, nl if nl >= 0 else n)
            if cr >= 0:
                end = cr
                if cr + 1 == n:
                    self._after_cr = True
                    start_next = n
                else:
                    start_next = cr + 2 if buf[cr + 1] == 10 else cr + 1
            elif nl >= 0:
                end, start_next = nl, nl + 1
            else:
                break
            self._line(buf[start:end].decode("utf-8", "replace"), out)
            start = start_next
        del buf[:start]
        return out

    def _line(self, line: str, out: list[tuple[str | None, str]]) -> None:
        if not line:
            if self._data:
                out.append((self._event, "\n".join(self._data)))
            self._event, self._data = None, []
            return
        if line[0] == ":":
            return
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value or None


@dataclass
class StreamUsage:
    """Tokens a stream has reported so far (input includes Anthropic's cache reads and writes)."""

    input_tokens: int = 0
    output_tokens: int = 0


def _event_json(data: str) -> Json:
    try:
        value = json.loads(data)
    except ValueError:
        raise Untranslatable("stream", f"an event's data is not JSON: {data[:80]!r}") from None
    return _obj(value, "stream")


class AnthropicToOpenAIStream:
    """Anthropic stream events in, OpenAI `chat.completion.chunk` SSE bytes out.

    `usage` holds what the stream reported so far and `finished` says whether message_stop (or an
    error event) arrived, so the gateway can account for a stream that broke.
    """

    def __init__(self, model: str, include_usage: bool = False, created: int | None = None) -> None:
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time()) if created is None else created
        self.usage = StreamUsage()
        self.finished = False
        self._tools: dict[int, int] = {}  # Anthropic block index → OpenAI tool call index
        self._finish: str | None = None
        self._head(None)

    def _head(self, id_: str | None) -> None:
        head = f'{{"id":{_dumps(id_)},"object":"chat.completion.chunk","created":{self.created},"model":{_dumps(self.model)}'
        self._prefix = f'data: {head},"choices":'

    def _chunk(self, delta: Json, finish: str | None = None) -> bytes:
        return f'{self._prefix}[{{"index":0,"delta":{_dumps(delta)},"finish_reason":{_dumps(finish)}}}]}}\n\n'.encode()

    def feed(self, event: str | None, data: str) -> bytes:
        if self.finished:
            return b""
        ev = _event_json(data)
        kind = ev.get("type") or event
        if kind == "content_block_delta":
            delta = ev.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                return self._chunk({"content": delta["text"]})
            if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
                call = self._tools.get(ev.get("index", -1))
                if call is not None:
                    return self._chunk({"tool_calls": [{"index": call, "function": {"arguments": delta["partial_json"]}}]})
            return b""
        if kind == "message_start":
            message = ev.get("message") or {}
            self._head(message.get("id"))
            usage = message.get("usage") or {}
            self.usage.input_tokens = _an_input_tokens(usage)
            self.usage.output_tokens = int(usage.get("output_tokens") or 0)
            return self._chunk({"role": "assistant", "content": ""})
        if kind == "content_block_start":
            block = ev.get("content_block") or {}
            if block.get("type") == "tool_use":
                call = self._tools[ev.get("index", -1)] = len(self._tools)
                arguments = _dumps(block["input"]) if block.get("input") else ""
                fn = {"name": block.get("name"), "arguments": arguments}
                return self._chunk({"tool_calls": [{"index": call, "id": block.get("id"), "type": "function", "function": fn}]})
            if block.get("type") == "text" and block.get("text"):
                return self._chunk({"content": block["text"]})
            return b""
        if kind == "message_delta":
            self._finish = (ev.get("delta") or {}).get("stop_reason") or self._finish
            usage = ev.get("usage") or {}
            if usage.get("input_tokens") is not None:
                self.usage.input_tokens = _an_input_tokens(usage)
            if usage.get("output_tokens") is not None:
                self.usage.output_tokens = int(usage["output_tokens"])
            return b""
        if kind == "message_stop":
            self.finished = True
            out = self._chunk({}, _FINISH.get(self._finish or "", "stop"))
            if self.include_usage:
                usage = _dumps(_oa_usage(self.usage.input_tokens, self.usage.output_tokens))
                out += f'{self._prefix}[],"usage":{usage}}}\n\n'.encode()
            return out + b"data: [DONE]\n\n"
        if kind == "error":
            self.finished = True
            error = ev.get("error") or {}
            body = openai_error(500, error.get("message") or "upstream stream error", error.get("type") or "api_error")
            return f"data: {_dumps(body)}\n\n".encode()
        return b""  # ping, content_block_stop, and event types added after this was written


class OpenAIToAnthropicStream:
    """OpenAI `chat.completion.chunk` events in, Anthropic Messages SSE bytes out.

    OpenAI reports usage only in its last chunk (when include_usage was requested), so message_start
    carries zeros and message_delta the real counts; `usage` and `finished` as in the other direction.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.usage = StreamUsage()
        self.finished = False
        self._started = False
        self._blocks = 0  # blocks opened so far
        self._open: str | None = None  # kind of the open block
        self._tools: dict[int, int] = {}  # OpenAI tool call index → Anthropic block index
        self._stop: str | None = None

    @staticmethod
    def _event(kind: str, body: Json) -> bytes:
        return f"event: {kind}\ndata: {_dumps({'type': kind, **body})}\n\n".encode()

    def _start(self, id_: Any) -> bytes:
        self._started = True
        message = {
            "id": id_,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return self._event("message_start", {"message": message})

    def _close(self) -> bytes:
        if self._open is None:
            return b""
        self._open = None
        return self._event("content_block_stop", {"index": self._blocks - 1})

    def _open_block(self, kind: str, block: Json) -> bytes:
        out = self._close() + self._event("content_block_start", {"index": self._blocks, "content_block": block})
        self._open = kind
        self._blocks += 1
        return out

    def feed(self, event: str | None, data: str) -> bytes:
        if self.finished:
            return b""
        if data == "[DONE]":
            return self._end()
        chunk = _event_json(data)
        out = b"" if self._started else self._start(chunk.get("id"))
        if isinstance(chunk.get("error"), dict):
            self.finished = True
            error = chunk["error"]
            kind = error.get("type") if error.get("type") in _AN_ERROR_TYPES.values() else "api_error"
            return out + self._event(
                "error", {"error": {"type": kind, "message": error.get("message") or "upstream stream error"}}
            )
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") or delta.get("refusal")
            if text:
                if self._open != "text":
                    out += self._open_block("text", {"type": "text", "text": ""})
                out += self._event(
                    "content_block_delta", {"index": self._blocks - 1, "delta": {"type": "text_delta", "text": text}}
                )
            for call in delta.get("tool_calls") or []:
                number = call.get("index", 0)
                fn = call.get("function") or {}
                if number not in self._tools:  # keyed on index: some servers repeat the id in every fragment
                    call_id = call.get("id") or f"call_{number}"
                    out += self._open_block("tool_use", {"type": "tool_use", "id": call_id, "name": fn.get("name"), "input": {}})
                    self._tools[number] = self._blocks - 1
                if fn.get("arguments"):
                    delta_body = {"type": "input_json_delta", "partial_json": fn["arguments"]}
                    out += self._event("content_block_delta", {"index": self._tools[number], "delta": delta_body})
            if choice.get("finish_reason"):
                self._stop = _STOP.get(choice["finish_reason"], "end_turn")
                out += self._close()
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self.usage.input_tokens = int(usage.get("prompt_tokens") or 0)
            self.usage.output_tokens = int(usage.get("completion_tokens") or 0)
        return out

    def _end(self) -> bytes:
        self.finished = True
        out = (b"" if self._started else self._start(None)) + self._close()
        usage = {"input_tokens": self.usage.input_tokens, "output_tokens": self.usage.output_tokens}
        out += self._event(
            "message_delta", {"delta": {"stop_reason": self._stop or "end_turn", "stop_sequence": None}, "usage": usage}
        )
        return out + self._event("message_stop", {})


def openai_stream_usage(data: str) -> tuple[int, int] | None:
    """(prompt_tokens, completion_tokens) from an OpenAI chunk's data, when it carries usage (cheap otherwise)."""
    if '"usage"' not in data or '"usage":null' in data:  # with include_usage every chunk but the last has null
        return None
    try:
        usage = json.loads(data).get("usage")
    except (ValueError, AttributeError):
        return None
    if not isinstance(usage, dict):
        return None
    return int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
