"""Format translation between OpenAI's Chat Completions and Anthropic's Messages (issue 15).

Expected values are literal wire payloads; streams are fed whole, one byte at a time and with CRLF
line endings and must give the same bytes. The SDK checks parse what we produce with the official
`openai` and `anthropic` models, the way a client of the gateway would.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.types import Message, RawMessageStreamEvent
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import TypeAdapter
from starlette.testclient import TestClient

from maestro.gateway.sim import SimConfig, create_sim
from maestro.gateway.translate import (
    AnthropicToOpenAIStream,
    OpenAIToAnthropicStream,
    SSEParser,
    Untranslatable,
    anthropic_error,
    anthropic_response_to_openai,
    anthropic_to_openai_chat,
    openai_chat_to_anthropic,
    openai_error,
    openai_response_to_anthropic,
    openai_stream_usage,
)

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def refused(call: Any, *args: Any) -> Untranslatable:
    with pytest.raises(Untranslatable) as info:
        call(*args)
    return info.value


# ---- requests: OpenAI → Anthropic ------------------------------------------------------------


def test_text_and_system_messages_become_a_system_string_and_alternating_turns() -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Hello"},
            {"role": "user", "content": [{"type": "text", "text": "Are you there?"}]},
            {"role": "assistant", "content": "Oui."},
            {"role": "user", "content": "Merci", "name": "ana"},
        ],
        "temperature": 0.2,
        "top_p": 0.9,
        "stop": "END",
        "user": "u-42",
        "seed": 7,
        "n": 1,
        "logprobs": False,
        "response_format": {"type": "text"},
        "stream_options": {"include_usage": True},
        "store": False,
    }
    assert openai_chat_to_anthropic(body, "claude-x") == {
        "model": "claude-x",
        "system": "You are terse.\n\nAnswer in French.",
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hello"}, {"type": "text", "text": "Are you there?"}]},
            {"role": "assistant", "content": "Oui."},
            {"role": "user", "content": "Merci"},
        ],
        "max_tokens": 4096,
        "temperature": 0.2,
        "top_p": 0.9,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u-42"},
    }


def test_max_tokens_stop_list_and_stream() -> None:
    body = {"messages": [{"role": "user", "content": "x"}], "max_tokens": 50, "max_completion_tokens": 300, "stop": ["a", "b"]}
    assert openai_chat_to_anthropic({**body, "stream": True}, "c") == {
        "model": "c",
        "messages": [{"role": "user", "content": "x"}],
        "max_tokens": 300,
        "stop_sequences": ["a", "b"],
        "stream": True,
    }
    assert openai_chat_to_anthropic({"messages": [{"role": "user", "content": "x"}], "max_tokens": 50}, "c")["max_tokens"] == 50


def test_tool_calls_and_results_become_tool_use_and_merged_tool_result_turn() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Weather in Paris and Oslo?"},
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
                    {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}},
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "9C"}]},
            {"role": "user", "content": "Which is warmer?"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Current weather",
                    "parameters": WEATHER_SCHEMA,
                    "strict": True,
                },
            },
            {"type": "function", "function": {"name": "now"}},
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
    }
    assert openai_chat_to_anthropic(body, "claude-x") == {
        "model": "claude-x",
        "max_tokens": 4096,
        "messages": [
            {"role": "user", "content": "Weather in Paris and Oslo?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_2", "name": "get_weather", "input": {"city": "Oslo"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                    {"type": "tool_result", "tool_use_id": "call_2", "content": [{"type": "text", "text": "9C"}]},
                    {"type": "text", "text": "Which is warmer?"},
                ],
            },
        ],
        "tools": [
            {"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA, "strict": True},
            {"name": "now", "input_schema": {"type": "object", "properties": {}}},
        ],
        "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True},
    }


@pytest.mark.parametrize(
    ("choice", "expected"),
    [("auto", {"type": "auto"}), ("none", {"type": "none"}), ("required", {"type": "any"})],
)
def test_tool_choice_words(choice: str, expected: dict[str, Any]) -> None:
    tools = [{"type": "function", "function": {"name": "f"}}]
    out = openai_chat_to_anthropic({"messages": [{"role": "user", "content": "x"}], "tools": tools, "tool_choice": choice}, "c")
    assert out["tool_choice"] == expected


def test_parallel_tool_calls_false_without_tool_choice_disables_parallel_use() -> None:
    body = {
        "messages": [{"role": "user", "content": "x"}],
        "parallel_tool_calls": False,
        "tools": [{"type": "function", "function": {"name": "f"}}],
    }
    assert openai_chat_to_anthropic(body, "c")["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_untranslatable_names_the_field_in_its_message() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": "b"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x/cat.png"}}]},
        ]
    }
    error = refused(openai_chat_to_anthropic, body, "c")
    assert isinstance(error, ValueError)
    assert error.field == "messages[2].content[0].type"
    assert error.reason == "image input cannot be translated to Anthropic's format"
    assert str(error) == "messages[2].content[0].type: image input cannot be translated to Anthropic's format"


USER_X = [{"role": "user", "content": "x"}]


@pytest.mark.parametrize(
    ("extra", "field", "reason"),
    [
        ({"n": 2}, "n", "more than one choice per request cannot be translated to Anthropic's format"),
        ({"logprobs": True}, "logprobs", "log probabilities cannot be translated to Anthropic's format"),
        ({"top_logprobs": 3}, "top_logprobs", "log probabilities cannot be translated to Anthropic's format"),
        (
            {"response_format": {"type": "json_object"}},
            "response_format",
            "a structured response format cannot be translated to Anthropic's format",
        ),
        ({"frequency_penalty": 0.5}, "frequency_penalty", "frequency penalty cannot be translated to Anthropic's format"),
        ({"presence_penalty": 1}, "presence_penalty", "presence penalty cannot be translated to Anthropic's format"),
        ({"logit_bias": {"50256": -100}}, "logit_bias", "logit bias cannot be translated to Anthropic's format"),
        ({"modalities": ["text", "audio"]}, "modalities", "non-text output cannot be translated to Anthropic's format"),
        ({"functions": [{"name": "f"}]}, "functions", "legacy functions (use tools) cannot be translated to Anthropic's format"),
        (
            {"function_call": "auto"},
            "function_call",
            "legacy function_call (use tool_choice) cannot be translated to Anthropic's format",
        ),
        ({"audio": {"voice": "alloy", "format": "mp3"}}, "audio", "audio output cannot be translated to Anthropic's format"),
        ({"reasoning_effort": "high"}, "reasoning_effort", "reasoning effort cannot be translated to Anthropic's format"),
        ({"temperature": 1.5}, "temperature", "1.5 is above Anthropic's maximum of 1"),
        (
            {"tool_choice": {"type": "allowed_tools", "allowed_tools": {}}},
            "tool_choice",
            '{"type":"allowed_tools","allowed_tools":{}} cannot be translated to Anthropic\'s format',
        ),
        (
            {"tools": [{"type": "custom", "custom": {"name": "g"}}]},
            "tools[0].type",
            "tool type 'custom' cannot be translated to Anthropic's format",
        ),
        ({"frobnicate": True}, "frobnicate", "unknown field cannot be translated to Anthropic's format"),
    ],
)
def test_refused_top_level_fields(extra: dict[str, Any], field: str, reason: str) -> None:
    error = refused(openai_chat_to_anthropic, {"messages": USER_X, **extra}, "c")
    assert (error.field, error.reason) == (field, reason)


@pytest.mark.parametrize(
    ("message", "field", "reason"),
    [
        (
            {"role": "user", "content": [{"type": "text", "text": "hear"}, {"type": "input_audio", "input_audio": {}}]},
            "messages[1].content[1].type",
            "audio input cannot be translated to Anthropic's format",
        ),
        (
            {"role": "user", "content": [{"type": "file", "file": {"file_id": "f"}}]},
            "messages[1].content[0].type",
            "file input cannot be translated to Anthropic's format",
        ),
        (
            {"role": "system", "content": [{"type": "image_url", "image_url": {"url": "u"}}]},
            "messages[1].content[0].type",
            "image input cannot be translated to Anthropic's format",
        ),
        (
            {
                "role": "assistant",
                "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}],
            },
            "messages[1].tool_calls[0].function.arguments",
            "is not valid JSON",
        ),
        (
            {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]},
            "messages[1].tool_calls[0].function.arguments",
            "must be a JSON object",
        ),
        (
            {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}},
            "messages[1].function_call",
            "legacy function_call cannot be translated to Anthropic's format",
        ),
        (
            {"role": "function", "name": "f", "content": "1"},
            "messages[1].role",
            "legacy function messages cannot be translated to Anthropic's format",
        ),
        ({"role": "tool", "content": "1"}, "messages[1].tool_call_id", "is required"),
    ],
)
def test_refused_message_content(message: dict[str, Any], field: str, reason: str) -> None:
    error = refused(openai_chat_to_anthropic, {"messages": [*USER_X, message]}, "c")
    assert (error.field, error.reason) == (field, reason)


# ---- requests: Anthropic → OpenAI ------------------------------------------------------------


def test_anthropic_request_to_openai_with_tools() -> None:
    body = {
        "model": "claude-x",
        "max_tokens": 512,
        "system": [
            {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Use tools."},
        ],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "18C"}, {"type": "text", "text": "sunny"}],
                        "is_error": False,
                    },
                    {"type": "text", "text": "Thanks."},
                    {"type": "text", "text": "And tomorrow?"},
                ],
            },
        ],
        "tools": [{"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
        "stop_sequences": ["END"],
        "temperature": 0.5,
        "top_p": 0.8,
        "metadata": {"user_id": "u-42"},
        "stream": True,
        "service_tier": "auto",
        "thinking": {"type": "disabled"},
    }
    assert anthropic_to_openai_chat(body, "gpt-4o") == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse.\n\nUse tools."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
                ],
            },
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C\nsunny"},
            {"role": "user", "content": [{"type": "text", "text": "Thanks."}, {"type": "text", "text": "And tomorrow?"}]},
        ],
        "max_tokens": 512,
        "tools": [
            {
                "type": "function",
                "function": {"name": "get_weather", "description": "Current weather", "parameters": WEATHER_SCHEMA},
            }
        ],
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "stop": ["END"],
        "temperature": 0.5,
        "top_p": 0.8,
        "user": "u-42",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_anthropic_tool_only_turns() -> None:
    body = {
        "max_tokens": 10,
        "system": "Be brief.",
        "messages": [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "now", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "noon"}]},
        ],
        "tool_choice": {"type": "tool", "name": "now"},
    }
    assert anthropic_to_openai_chat(body, "g") == {
        "model": "g",
        "max_tokens": 10,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "now", "arguments": "{}"}}],
            },
            {"role": "tool", "tool_call_id": "t1", "content": "noon"},
        ],
        "tool_choice": {"type": "function", "function": {"name": "now"}},
    }


IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}


@pytest.mark.parametrize(
    ("extra", "field", "reason"),
    [
        (
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "what is this"}, IMAGE]}]},
            "messages[0].content[1].type",
            "image input cannot be translated to OpenAI's format",
        ),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}],
                    }
                ]
            },
            "messages[0].content[0].type",
            "document input cannot be translated to OpenAI's format",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "thinking", "thinking": "hm", "signature": "s"}]}]},
            "messages[0].content[0].type",
            "thinking cannot be translated to OpenAI's format",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": [IMAGE]}]}]},
            "messages[0].content[0].content[0].type",
            "image input cannot be translated to OpenAI's format",
        ),
        ({"system": [{"type": "image"}]}, "system[0].type", "image input cannot be translated to OpenAI's format"),
        (
            {"thinking": {"type": "enabled", "budget_tokens": 2048}},
            "thinking",
            "extended thinking cannot be translated to OpenAI's format",
        ),
        ({"top_k": 40}, "top_k", "top_k sampling cannot be translated to OpenAI's format"),
        (
            {"tools": [{"type": "web_search_20250305", "name": "web_search"}]},
            "tools[0].type",
            "server tool 'web_search_20250305' cannot be translated to OpenAI's format",
        ),
        ({"container": "c-1"}, "container", "unknown field cannot be translated to OpenAI's format"),
    ],
)
def test_refused_anthropic_fields(extra: dict[str, Any], field: str, reason: str) -> None:
    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "x"}], **extra}
    error = refused(anthropic_to_openai_chat, body, "g")
    assert (error.field, error.reason) == (field, reason)


def test_round_trip_openai_anthropic_openai() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "w", "arguments": '{"c": 1}'}}],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "max_tokens": 100,
        "tools": [{"type": "function", "function": {"name": "w", "parameters": WEATHER_SCHEMA}}],
        "tool_choice": "required",
        "stop": ["x"],
    }
    assert anthropic_to_openai_chat(openai_chat_to_anthropic(body, "claude-x"), "gpt-4o") == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "w", "arguments": '{"c":1}'}}],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
        "max_tokens": 100,
        "tools": [{"type": "function", "function": {"name": "w", "parameters": WEATHER_SCHEMA}}],
        "tool_choice": "required",
        "stop": ["x"],
    }


# ---- responses -------------------------------------------------------------------------------


def test_anthropic_response_to_openai_completion() -> None:
    resp = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 7, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0},
    }
    out = anthropic_response_to_openai(resp, "gpt-4o", created=1700000000)
    assert out == {
        "id": "msg_1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {
                            "id": "toolu_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                "logprobs": None,
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 120,
            "completion_tokens": 7,
            "total_tokens": 127,
            "prompt_tokens_details": {"cached_tokens": 100},
        },
    }
    assert ChatCompletion.model_validate(out).choices[0].message.tool_calls is not None


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
    ],
)
def test_stop_reason_to_finish_reason(stop_reason: str, finish: str) -> None:
    resp = {
        "id": "m",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": stop_reason,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    assert anthropic_response_to_openai(resp, "g", created=1)["choices"][0]["finish_reason"] == finish


def test_openai_response_to_anthropic_message() -> None:
    resp = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Checking.",
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": 50,
            "completion_tokens": 12,
            "total_tokens": 62,
            "prompt_tokens_details": {"cached_tokens": 32},
        },
    }
    out = openai_response_to_anthropic(resp, "claude-x")
    assert out == {
        "id": "chatcmpl-1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 18, "output_tokens": 12, "cache_read_input_tokens": 32},
    }
    assert Message.model_validate(out).usage.output_tokens == 12


def test_openai_length_finish_becomes_max_tokens() -> None:
    resp = {
        "id": "c",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "cut"}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 5},
    }
    assert openai_response_to_anthropic(resp, "m") == {
        "id": "c",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [{"type": "text", "text": "cut"}],
        "stop_reason": "max_tokens",
        "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 5},
    }


def test_error_bodies() -> None:
    assert openai_error(
        400,
        "messages[2].content[0].type: image input cannot be translated",
        "invalid_request_error",
        param="messages[2].content[0].type",
    ) == {
        "error": {
            "message": "messages[2].content[0].type: image input cannot be translated",
            "type": "invalid_request_error",
            "param": "messages[2].content[0].type",
            "code": None,
        }
    }
    assert openai_error(429, "slow down", code="rate_limit_exceeded") == {
        "error": {"message": "slow down", "type": "rate_limit_error", "param": None, "code": "rate_limit_exceeded"}
    }
    assert openai_error(502, "upstream failed") == {
        "error": {"message": "upstream failed", "type": "server_error", "param": None, "code": None}
    }
    kinds = {
        status: anthropic_error(status, "m")["error"]["type"] for status in (400, 401, 403, 404, 409, 413, 429, 500, 502, 529)
    }
    assert kinds == {
        400: "invalid_request_error",
        401: "authentication_error",
        403: "permission_error",
        404: "not_found_error",
        409: "invalid_request_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        502: "api_error",
        529: "overloaded_error",
    }
    assert anthropic_error(401, "bad key") == {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}


# ---- SSE parsing ------------------------------------------------------------------------------


def test_sse_parser_line_endings_comments_and_multiline_data() -> None:
    raw = b': keep-alive\n\nevent: message_start\ndata: {"a":\ndata:1}\n\ndata: [DONE]\n\n'
    expected = [("message_start", '{"a":\n1}'), (None, "[DONE]")]
    assert SSEParser().feed(raw) == expected
    assert SSEParser().feed(raw.replace(b"\n", b"\r\n")) == expected
    assert SSEParser().feed(raw.replace(b"\n", b"\r")) == expected
    for ending in (b"\n", b"\r\n", b"\r"):
        parser = SSEParser()
        pieces = [parser.feed(raw.replace(b"\n", ending)[i : i + 1]) for i in range(len(raw.replace(b"\n", ending)))]
        assert [event for piece in pieces for event in piece] == expected


def test_sse_parser_keeps_partial_input_and_split_utf8() -> None:
    parser = SSEParser()
    data = 'data: {"text":"café"}\n\n'.encode()
    cut = data.index("é".encode()) + 1  # inside the two bytes of é
    assert parser.feed(data[:cut]) == []
    assert parser.feed(data[cut:-1]) == []
    assert parser.feed(data[-1:]) == [(None, '{"text":"café"}')]


# ---- streams: Anthropic → OpenAI --------------------------------------------------------------

ANTHROPIC_STREAM = b"".join(
    f"event: {json.loads(line)['type']}\ndata: {line}\n\n".encode()
    for line in [
        '{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":1}}}',
        '{"type":"ping"}',
        '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}',
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking café"}}',
        '{"type":"content_block_stop","index":0}',
        '{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}',
        '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}',
        '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": "}}',
        '{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\"Paris\\"}"}}',
        '{"type":"content_block_stop","index":1}',
        '{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":25}}',
        '{"type":"message_stop"}',
    ]
)
CHUNK = 'data: {"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":'
OPENAI_FROM_ANTHROPIC = (
    CHUNK
    + '[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
    + CHUNK
    + '[{"index":0,"delta":{"content":"Checking café"},"finish_reason":null}]}\n\n'
    + CHUNK
    + '[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}\n\n'
    + CHUNK
    + '[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\": "}}]},"finish_reason":null}]}\n\n'
    + CHUNK
    + '[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"Paris\\"}"}}]},"finish_reason":null}]}\n\n'
    + CHUNK
    + '[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n'
    + CHUNK
    + '[],"usage":{"prompt_tokens":12,"completion_tokens":25,"total_tokens":37}}\n\n'
    + "data: [DONE]\n\n"
).encode()


def translate_stream(translator: AnthropicToOpenAIStream | OpenAIToAnthropicStream, raw: bytes, piece: int) -> bytes:
    parser, out = SSEParser(), b""
    for i in range(0, len(raw), piece):
        for event, data in parser.feed(raw[i : i + piece]):
            out += translator.feed(event, data)
    return out


@pytest.mark.parametrize("piece", [1, 7, 1 << 20])
def test_anthropic_stream_to_openai_chunks(piece: int) -> None:
    translator = AnthropicToOpenAIStream("gpt-4o", include_usage=True, created=1700000000)
    assert translate_stream(translator, ANTHROPIC_STREAM, piece) == OPENAI_FROM_ANTHROPIC
    assert (translator.usage.input_tokens, translator.usage.output_tokens, translator.finished) == (12, 25, True)
    crlf = AnthropicToOpenAIStream("gpt-4o", include_usage=True, created=1700000000)
    assert translate_stream(crlf, ANTHROPIC_STREAM.replace(b"\n", b"\r\n"), piece) == OPENAI_FROM_ANTHROPIC


def test_anthropic_stream_without_include_usage_ends_with_finish_then_done() -> None:
    out = translate_stream(AnthropicToOpenAIStream("gpt-4o", created=1700000000), ANTHROPIC_STREAM, 1 << 20)
    assert out.endswith((CHUNK + '[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n').encode())
    assert b'"usage"' not in out


def test_translated_anthropic_stream_reads_with_the_openai_sdk() -> None:
    state = ChatCompletionStreamState()
    for _event, data in SSEParser().feed(OPENAI_FROM_ANTHROPIC):
        if data != "[DONE]":
            state.handle_chunk(ChatCompletionChunk.model_validate_json(data))
    done = state.get_final_completion()
    assert done.choices[0].message.content == "Checking café"
    call = done.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert (call.id, call.function.name, call.function.arguments) == ("toolu_1", "get_weather", '{"city": "Paris"}')  # type: ignore[union-attr]
    assert done.usage is not None and done.usage.total_tokens == 37


def test_anthropic_stream_cut_midway_keeps_usage_seen() -> None:
    translator = AnthropicToOpenAIStream("gpt-4o", include_usage=True, created=1700000000)
    cut = ANTHROPIC_STREAM.index(b"event: message_delta")
    out = translate_stream(translator, ANTHROPIC_STREAM[: cut - 30], 5)
    assert (translator.usage.input_tokens, translator.usage.output_tokens, translator.finished) == (12, 1, False)
    assert b"[DONE]" not in out and b'finish_reason":"' not in out


def test_anthropic_error_event_becomes_openai_error_chunk() -> None:
    translator = AnthropicToOpenAIStream("gpt-4o", created=1)
    data = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    assert (
        translator.feed("error", data)
        == b'data: {"error":{"message":"Overloaded","type":"overloaded_error","param":null,"code":null}}\n\n'
    )
    assert translator.finished and translator.feed(None, '{"type":"message_stop"}') == b""


def test_sim_provider_anthropic_stream_translates_for_an_openai_client() -> None:
    sim = create_sim(SimConfig(latency_ms=0, chunk_ms=0, name="simA"))
    body = {"model": "sim-small", "max_tokens": 50, "stream": True, "messages": [{"role": "user", "content": "hello there"}]}
    with TestClient(sim) as client:
        raw = client.post("/v1/messages", json=body).content
    translator = AnthropicToOpenAIStream("gpt-4o", include_usage=True)
    state = ChatCompletionStreamState()
    for event, data in SSEParser().feed(raw):
        for _, chunk in SSEParser().feed(translator.feed(event, data)):
            if chunk != "[DONE]":
                state.handle_chunk(ChatCompletionChunk.model_validate_json(chunk))
    done = state.get_final_completion()
    assert done.choices[0].message.content == "Simulated reply from simA to: hello there"
    assert done.choices[0].finish_reason == "stop"
    assert (translator.usage.input_tokens, translator.usage.output_tokens, translator.finished) == (2, 7, True)


# ---- streams: OpenAI → Anthropic --------------------------------------------------------------

HEAD = '"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o"'
OPENAI_STREAM = "".join(
    f"data: {line}\n\n"
    for line in [
        "{"
        + HEAD
        + ',"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}],"usage":null}',
        "{" + HEAD + ',"choices":[{"index":0,"delta":{"content":"Let me look."},"finish_reason":null}],"usage":null}',
        "{"
        + HEAD
        + ',"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}],"usage":null}',
        "{"
        + HEAD
        + ',"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\":"}}]},"finish_reason":null}],"usage":null}',
        "{"
        + HEAD
        + ',"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"Oslo\\"}"}}]},"finish_reason":null}],"usage":null}',
        "{" + HEAD + ',"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null}',
        "{" + HEAD + ',"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":9,"total_tokens":39}}',
        "[DONE]",
    ]
).encode()
ANTHROPIC_FROM_OPENAI = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"chatcmpl-1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":0,"output_tokens":0}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me look."}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"call_a","name":"get_weather","input":{}}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\":"}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\\"Oslo\\"}"}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":30,"output_tokens":9}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


@pytest.mark.parametrize("piece", [1, 13, 1 << 20])
def test_openai_stream_to_anthropic_events(piece: int) -> None:
    translator = OpenAIToAnthropicStream("claude-x")
    assert translate_stream(translator, OPENAI_STREAM, piece) == ANTHROPIC_FROM_OPENAI
    assert (translator.usage.input_tokens, translator.usage.output_tokens, translator.finished) == (30, 9, True)
    crlf = OpenAIToAnthropicStream("claude-x")
    assert translate_stream(crlf, OPENAI_STREAM.replace(b"\n", b"\r\n"), piece) == ANTHROPIC_FROM_OPENAI


def test_translated_openai_stream_parses_as_anthropic_events() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(RawMessageStreamEvent)
    events = [adapter.validate_json(data) for _, data in SSEParser().feed(ANTHROPIC_FROM_OPENAI)]
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert json.loads("".join(e.delta.partial_json for e in events[5:7])) == {"city": "Oslo"}
    assert events[8].usage.output_tokens == 9


def test_openai_stream_cut_before_done_keeps_usage_seen() -> None:
    translator = OpenAIToAnthropicStream("claude-x")
    out = translate_stream(translator, OPENAI_STREAM[: OPENAI_STREAM.index(b"data: [DONE]")], 3)
    assert (translator.usage.input_tokens, translator.usage.output_tokens, translator.finished) == (30, 9, False)
    assert b"message_stop" not in out
    early = OpenAIToAnthropicStream("claude-x")
    translate_stream(early, OPENAI_STREAM[: OPENAI_STREAM.index(b"Oslo")], 3)
    assert (early.usage.input_tokens, early.usage.output_tokens, early.finished) == (0, 0, False)


def test_openai_error_chunk_becomes_anthropic_error_event() -> None:
    translator = OpenAIToAnthropicStream("claude-x")
    translator.feed(None, "{" + HEAD + ',"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}')
    assert translator.feed(None, '{"error":{"message":"boom","type":"server_error","param":null,"code":null}}') == (
        b'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"boom"}}\n\n'
    )
    assert translator.finished and translator.feed(None, "[DONE]") == b""


def test_openai_stream_usage() -> None:
    assert openai_stream_usage(
        "{" + HEAD + ',"choices":[],"usage":{"prompt_tokens":30,"completion_tokens":9,"total_tokens":39}}'
    ) == (30, 9)
    assert (
        openai_stream_usage("{" + HEAD + ',"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":null}')
        is None
    )
    assert openai_stream_usage("{" + HEAD + ',"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}') is None
    assert openai_stream_usage("[DONE]") is None


def test_malformed_event_data_is_untranslatable() -> None:
    error = refused(OpenAIToAnthropicStream("c").feed, None, "{not json")
    assert error.field == "stream"
