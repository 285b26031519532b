"""SSE framing over raw HTTP, and the openai client on streams and whole responses (fakes)."""

from __future__ import annotations

import json
import time

import httpx
import openai

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.cache.records import ModelFacts
from tests.server.conftest import paced

CHAT = {"model": "fake/chat", "messages": [{"role": "user", "content": "hi"}]}


def _events(url: str, path: str, body: dict) -> tuple[httpx.Response, list[str]]:
    with httpx.stream("POST", url + path, json=body) as r:
        raw = r.read().decode()
    assert raw.endswith("\n\n")
    return r, raw[:-2].split("\n\n")


def test_chat_stream_framing_role_first_finish_last_usage_then_done(serve_fake):
    with serve_fake() as url:
        body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
        r, events = _events(url, "/v1/chat/completions", body)
    assert r.headers["content-type"].startswith("text/event-stream")
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    docs = [json.loads(e[6:]) for e in events[:-1]]
    assert docs[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(d["object"] == "chat.completion.chunk" for d in docs)
    assert [d["choices"][0]["finish_reason"] for d in docs[:-1]] == [None] * (len(docs) - 1)
    assert docs[-1]["choices"][0]["finish_reason"] == "stop"
    assert docs[-1]["usage"]["completion_tokens"] == 5  # four pieces and EOS
    text = "".join(d["choices"][0]["delta"].get("content") or "" for d in docs)
    assert text == "Hello, world!"


def test_completion_stream_without_usage(serve_fake):
    with serve_fake() as url:
        body = {"model": "fake/chat", "prompt": "Say hi", "stream": True}
        _, events = _events(url, "/v1/completions", body)
    docs = [json.loads(e[6:]) for e in events[:-1]]
    assert "".join(d["choices"][0]["text"] for d in docs) == "Hello, world!"
    assert all("usage" not in d for d in docs)
    assert docs[-1]["choices"][0]["finish_reason"] == "stop"


def test_tokens_are_flushed_as_produced(serve_fake):
    slow = lambda: paced(0.05, script=["a"] * 40)  # noqa: E731
    body = {**CHAT, "stream": True}
    with serve_fake(backend=slow) as url, httpx.stream(
        "POST", url + "/v1/chat/completions", json=body
    ) as r:
        start = time.monotonic()
        first = next(line for line in r.iter_lines() if '"content":"a"' in line)
        assert first and time.monotonic() - start < 1.0  # the whole answer takes ~2 s


def test_openai_client_stream_equals_whole_and_usage(serve_fake):
    with serve_fake() as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="x")
        whole = client.chat.completions.create(**CHAT)
        chunks = list(client.chat.completions.create(
            **CHAT, stream=True, stream_options={"include_usage": True}
        ))
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == whole.choices[0].message.content == "Hello, world!"
        assert whole.usage.total_tokens == whole.usage.prompt_tokens + 5
        assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
        text = client.completions.create(model="fake/chat", prompt=["Say hi"])
        assert text.choices[0].text == "Hello, world!"
        assert text.object == "text_completion"


def test_stop_strings_never_appear(serve_fake):
    with serve_fake() as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="x")
        whole = client.chat.completions.create(**CHAT, stop=["wor"])
        assert whole.choices[0].message.content == "Hello, "
        assert whole.choices[0].finish_reason == "stop"
        chunks = client.chat.completions.create(**CHAT, stop="lo,", stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Hel"


def test_max_tokens_gives_finish_reason_length(serve_fake):
    with serve_fake() as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="x")
        reply = client.chat.completions.create(**CHAT, max_completion_tokens=2)
        assert reply.choices[0].message.content == "Hello,"
        assert reply.choices[0].finish_reason == "length"


def test_reasoning_goes_to_reasoning_content(serve_fake):
    script = ["<think>", "Think", "ing.", "</think>", "Answer."]
    models = {"fake/thinker": ModelFacts(framework="mlx", model_type="chat", reasoning=True)}
    with serve_fake(backend=lambda: FakeBackend(script=script), models=models) as url:
        body = {"model": "fake/thinker", "messages": CHAT["messages"]}
        reply = httpx.post(url + "/v1/chat/completions", json=body).json()
        message = reply["choices"][0]["message"]
        assert message["content"] == "Answer."
        assert message["reasoning_content"] == "Thinking."
        _, events = _events(url, "/v1/chat/completions", {**body, "stream": True})
        deltas = [json.loads(e[6:])["choices"][0]["delta"] for e in events[:-1]]
        assert "".join(d.get("content") or "" for d in deltas) == "Answer."
        assert "".join(d.get("reasoning_content") or "" for d in deltas) == "Thinking."


def test_disconnect_mid_stream_frees_the_slot(serve_fake):
    with serve_fake(backend=lambda: paced(0.01, eos=False)) as url:
        body = {**CHAT, "stream": True, "max_tokens": 10_000_000}
        with httpx.stream("POST", url + "/v1/chat/completions", json=body) as r:
            lines = r.iter_lines()  # keep the iterator: dropping it closes the connection
            for _ in range(5):
                next(lines)
            assert httpx.get(url + "/health").json()["active"] == 1
        deadline = time.monotonic() + 5
        while httpx.get(url + "/health").json()["active"]:
            assert time.monotonic() < deadline, "the slot was never freed"
            time.sleep(0.05)
        reply = httpx.post(url + "/v1/chat/completions", json={**CHAT, "max_tokens": 3})
        assert reply.json()["choices"][0]["finish_reason"] == "length"
