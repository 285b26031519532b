"""Server fuzzing: random and malformed request bodies, paths, methods and content types.

Hypothesis builds the inputs; a scripted backend answers the valid ones quickly. Every answer
must be below 500, every error must be in the OpenAI shape, and the server must still answer
/health afterwards.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.recorder import Figures
from tests.reliability.servertools import CHAT_BODY, assert_error, health, serve_fakes

FAST, SLOW = 100, 1000  # examples per strategy: the CI subset and the reliability session

scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=50)
)
anything = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=20,
)
numbers = st.sampled_from(
    [math.nan, math.inf, -math.inf, -1, -0.5, 0, 1e308, -1e308, 2**63, 2**64, 10**30, -(10**30)]
) | st.floats() | st.integers()
roles = st.sampled_from(["system", "user", "assistant", "developer", "tool", "", "USER", "\x00"])
texts = st.text(max_size=200) | st.sampled_from(["x" * 100_000, "\u202e\u0000", "🦀" * 1000])
content = texts | st.none() | st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", ""]), "text": texts}),
    max_size=3,
) | anything
messages = st.lists(st.fixed_dictionaries({"role": roles, "content": content}), max_size=4)
stops = st.none() | texts | st.lists(texts, max_size=10) | st.lists(
    st.text(min_size=1, max_size=5), min_size=1000, max_size=3000
) | anything
fields = {
    "model": st.sampled_from(["fake/chat", "", "nope", "../x", "fake/chat/../chat"]) | anything,
    "messages": messages | anything,
    "prompt": texts | st.lists(texts, max_size=3) | anything,
    "max_tokens": numbers | anything,
    "max_completion_tokens": numbers | anything,
    "temperature": numbers | anything,
    "top_p": numbers | anything,
    "seed": numbers | anything,
    "n": numbers | anything,
    "stop": stops,
    "stream": st.booleans() | anything,
    "stream_options": st.fixed_dictionaries({"include_usage": st.booleans() | anything})
    | anything,
}


@st.composite
def bodies(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """A valid body with some fields replaced, dropped or added."""
    body = dict(base)
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=4, unique=True)):
        if draw(st.booleans()) and name in body:
            del body[name]
        else:
            body[name] = draw(fields[name])
    return body


def nested(depth: int) -> str:
    """A JSON document nested ``depth`` levels deep inside a message's content."""
    inner = "[" * depth + "]" * depth
    return '{"model":"fake/chat","messages":[{"role":"user","content":' + inner + "}]}"


RAW = [
    b"", b"null", b"[]", b"{}", b"{", b"\xff\xfe\x00", b'{"model": "fake/chat"', b"1e999999",
    b'{"model":"fake/chat","messages":[{"role":"user","content":"\xff\xfe"}]}',
    b'{"model":"fake/chat","messages":[{"role":"user","content":"\\ud800"}]}',
    b'{"model":"fake/chat","messages":[{"role":"\\udfff","content":"x"}]}',
    b'{"model":"\\ud800","messages":[{"role":"user","content":"x"}]}',
    b'{"model":"fake/chat","messages":[{"role":"user","content":"x"}],"stop":["\\ud800"]}',
    b'{"model":"fake/chat","messages":[{"role":"user","content":"x"}],"temperature":NaN}',
    b'{"model":"fake/chat","messages":[{"role":"user","content":"x"}],"temperature":-Infinity}',
    b'{"model":"fake/chat","messages":[{"role":"user","content":"x"}],"max_tokens":Infinity}',
    b'{"model":"fake/chat","prompt":"x","top_p":NaN}',
    b'{"model":"fake/chat","messages":[{"role":"user","content":"x"}],"seed":1' + b"0" * 400 + b"}",
    nested(100).encode(), nested(5_000).encode(), nested(100_000).encode(),
    b"model=fake/chat&messages=hi", b"<xml/>", b"\x00" * 1000,
]
CONTENT_TYPES = [
    "application/json", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/json; charset=latin-1", "", "\x7f",
]


def check(r: httpx.Response) -> None:
    """No 5xx; an error is in the OpenAI shape; a success is a JSON document or an SSE stream."""
    assert r.status_code < 500, (r.status_code, r.text[:500])
    if r.request.method == "HEAD":  # no body to judge
        return
    if r.status_code >= 400:
        assert_error(r)
    elif r.headers["content-type"].startswith("text/event-stream"):
        assert r.text.rstrip().endswith("data: [DONE]"), r.text[-300:]
    else:
        assert isinstance(r.json(), dict)


def post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    """POST ``body`` as JSON, NaN and Infinity literals allowed (as some clients send them)."""
    data = json.dumps(body, allow_nan=True)
    return client.post(path, content=data, headers={"content-type": "application/json"})


def _examples(n: int) -> settings:
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def run_fuzz(cache: Path, figures: Figures, n: int) -> None:
    """Every strategy against one server; afterwards it still serves."""

    def judge(r: httpx.Response) -> None:
        check(r)
        figures.http(r, whole=r.request.method != "HEAD")

    with serve_fakes(cache) as url, httpx.Client(base_url=url, timeout=30) as client:

        @_examples(n)
        @given(bodies(CHAT_BODY))
        def chat(body: dict[str, Any]) -> None:
            judge(post(client, "/v1/chat/completions", body))

        @_examples(n)
        @given(bodies({"model": "fake/chat", "prompt": "Once"}))
        def text(body: dict[str, Any]) -> None:
            judge(post(client, "/v1/completions", body))

        @_examples(n)
        @given(anything)
        def any_json(body: Any) -> None:
            judge(post(client, "/v1/chat/completions", body))
            judge(post(client, "/v1/completions", body))

        @_examples(n)
        @given(st.text(max_size=300), st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD"]))
        def paths(name: str, method: str) -> None:
            judge(client.get("/v1/models/" + quote(name, safe="/")))
            judge(client.request(method, "/" + quote(name, safe="/%")))
            judge(client.request(method, "/health?" + quote(name)))

        @_examples(n)
        @given(st.binary(max_size=2000) | st.sampled_from(RAW), st.sampled_from(CONTENT_TYPES))
        def raw(data: bytes, content_type: str) -> None:
            headers = {"content-type": content_type}
            judge(client.post("/v1/chat/completions", content=data, headers=headers))
            judge(client.post("/v1/completions", content=data, headers=headers))

        for strategy in (chat, text, any_json, paths, raw):
            strategy()
        for data in RAW:  # each fixed hostile body at least once, whatever hypothesis drew
            for path in ("/v1/chat/completions", "/v1/completions"):
                judge(client.post(path, content=data, headers={"content-type": "application/json"}))
        assert health(url)["status"] == "ok"
        ok = client.post("/v1/chat/completions", json=CHAT_BODY)
        assert ok.json()["choices"][0]["message"]["content"] == "Hello, world!"
        figures.answer()


def test_fuzz_every_endpoint_quick(hf_cache: Path, figures: Figures) -> None:
    """Random and malformed bodies, paths and content types (a quick sample): no 5xx, OpenAI
    error shapes, the server still serves."""
    run_fuzz(hf_cache, figures, FAST)


@pytest.mark.reliability
def test_fuzz_every_endpoint(hf_cache: Path, figures: Figures) -> None:
    """Random and malformed bodies, paths and content types (a long run): no 5xx, OpenAI
    error shapes, the server still serves."""
    run_fuzz(hf_cache, figures, SLOW)


def test_wrong_methods_and_unknown_paths_are_openai_errors(
    hf_cache: Path, figures: Figures
) -> None:
    """Unknown paths are 404 and wrong methods 405, both in the OpenAI error shape."""
    with serve_fakes(hf_cache) as url:
        for method, path, status in [
            ("GET", "/v1/nothing", 404), ("POST", "/", 404), ("GET", "/v1/chat/completions", 405),
            ("POST", "/health", 405), ("DELETE", "/v1/models/fake/chat", 405),
            ("PUT", "/v1/completions", 405), ("GET", "/health/", 404),
        ]:
            r = httpx.request(method, url + path)
            assert_error(r, status)
            figures.http(r)
        assert health(url)["status"] == "ok"
