"""`maestro sim-provider` speaks the wire formats the official `openai` and `anthropic` SDKs expect,
streaming included, and does what it is told at run time: fail, slow down, rate-limit, refuse a key."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from maestro.gateway.sim import SimConfig, create_sim
from tests.services import free_port, live_api, wait_for


@pytest.fixture
def sim() -> Iterator[str]:
    with live_api(create_sim(SimConfig(latency_ms=1, chunk_ms=1, api_key="sk-sim", name="sim-a"))) as url:
        yield url


def test_openai_chat_completions_streaming_and_not(sim: str) -> None:
    client = openai.OpenAI(base_url=f"{sim}/v1", api_key="sk-sim", max_retries=0)
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "ship the release today"}]
    r = client.chat.completions.create(model="sim-small", messages=messages)  # type: ignore[arg-type]
    text = r.choices[0].message.content or ""
    assert text.startswith("Simulated reply from sim-a to: be brief ship the release today"), text
    assert r.usage is not None and r.usage.prompt_tokens == 6 and r.usage.completion_tokens == len(text.split())
    stream = client.chat.completions.create(
        model="sim-small",
        messages=messages,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    parts, usage = [], None
    for chunk in stream:
        if chunk.choices:
            parts.append(chunk.choices[0].delta.content or "")
        if chunk.usage:
            usage = chunk.usage
    assert "".join(parts) == text and usage is not None and usage.total_tokens == r.usage.total_tokens
    assert [m.id for m in client.models.list()] == ["sim-small", "sim-large", "sim-embed"]
    emb = client.embeddings.create(model="sim-embed", input=["a b", "c"])
    assert (
        len(emb.data) == 2 and emb.data[0].embedding == client.embeddings.create(model="sim-embed", input="a b").data[0].embedding
    )
    done = client.completions.create(model="sim-small", prompt="say hi")
    assert done.choices[0].text.endswith("say hi")


def test_anthropic_messages_streaming_and_not(sim: str) -> None:
    client = anthropic.Anthropic(base_url=sim, api_key="sk-sim", max_retries=0)
    msg = client.messages.create(
        model="sim-large", max_tokens=64, system="terse", messages=[{"role": "user", "content": "roll back?"}]
    )
    text = msg.content[0].text  # type: ignore[union-attr]
    assert text == "Simulated reply from sim-a to: terse roll back?" and msg.stop_reason == "end_turn"
    assert msg.usage.input_tokens == 3
    with client.messages.stream(model="sim-large", max_tokens=64, messages=[{"role": "user", "content": "roll back?"}]) as s:
        streamed = "".join(s.text_stream)
        final = s.get_final_message()
    assert streamed == "Simulated reply from sim-a to: roll back?" and final.usage.output_tokens == len(streamed.split())


def test_failures_rate_limits_keys_and_models_in_each_format(sim: str) -> None:
    oai = openai.OpenAI(base_url=f"{sim}/v1", api_key="sk-sim", max_retries=0)
    ant = anthropic.Anthropic(base_url=sim, api_key="sk-sim", max_retries=0)
    chat = {"model": "sim-small", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{sim}/v1", api_key="wrong", max_retries=0).chat.completions.create(**chat)  # type: ignore[call-overload]
    with pytest.raises(openai.NotFoundError) as nf:
        oai.chat.completions.create(model="gpt-9", messages=chat["messages"])  # type: ignore[arg-type]
    assert "gpt-9" in str(nf.value)
    with pytest.raises(anthropic.BadRequestError) as bad:
        ant.messages.create(model="sim-large", max_tokens=8, messages=[])
    assert "messages" in str(bad.value)
    # told at run time: fail every request, then rate-limit
    assert httpx.post(f"{sim}/_sim/config", json={"error_rate": 1.0, "error_status": 503}).status_code == 200
    with pytest.raises(openai.InternalServerError) as failed:
        oai.chat.completions.create(**chat)  # type: ignore[call-overload]
    assert failed.value.status_code == 503 and "simulated failure of sim-a" in str(failed.value)
    with pytest.raises(anthropic.InternalServerError):
        ant.messages.create(model="sim-large", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert httpx.post(f"{sim}/_sim/config", json={"error_rate": 0.0, "rpm": 2}).status_code == 200
    oai.chat.completions.create(**chat)  # type: ignore[call-overload]
    oai.chat.completions.create(**chat)  # type: ignore[call-overload]
    with pytest.raises(openai.RateLimitError) as limited:
        oai.chat.completions.create(**chat)  # type: ignore[call-overload]
    assert limited.value.response.headers["retry-after"] == "1"
    with pytest.raises(anthropic.RateLimitError):
        ant.messages.create(model="sim-large", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    stats = httpx.get(f"{sim}/_sim/stats").json()
    assert stats["rate_limited"] == 2 and stats["errors"] == 2
    refused = httpx.post(f"{sim}/_sim/config", json={"latency": 5})
    assert refused.status_code == 400 and "unknown settings ['latency']" in refused.json()["error"]


def test_slow_down_is_felt_by_the_client(sim: str) -> None:
    client = openai.OpenAI(base_url=f"{sim}/v1", api_key="sk-sim", max_retries=0)
    httpx.post(f"{sim}/_sim/config", json={"latency_ms": 400})
    t0 = time.monotonic()
    client.chat.completions.create(model="sim-small", messages=[{"role": "user", "content": "hi"}])
    assert time.monotonic() - t0 >= 0.4  # a lower bound only: a busy machine is slower, never faster


def test_the_cli_serves_it() -> None:
    port = free_port()
    cmd = [sys.executable, "-m", "maestro.cli", "sim-provider", "--port", str(port), "--name", "sim-b", "--model", "m1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{url}/v1/models", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, 60, 0.2)
        models = httpx.get(f"{url}/v1/models").json()["data"]
        assert [m["id"] for m in models] == ["m1"] and models[0]["owned_by"] == "sim-b"
    finally:
        proc.terminate()
        proc.wait(10)
