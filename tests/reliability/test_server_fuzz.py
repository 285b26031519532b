"""Server fuzzing: random and malformed request bodies, paths, methods, hosts and content types.

Hypothesis builds the inputs; a scripted backend answers the valid ones quickly. Every answer
must be below 500, every error must be in the OpenAI shape (or the shape of the path's
protocol), a request refused for its Host or Content-Type must not resolve a model, and the
server must still answer /health afterwards.
"""

from __future__ import annotations

import http.client
import json
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.settings import Settings
from mlxk_server.app import create_app
from mlxk_server.config import ServerSettings
from tests.reliability.recorder import Figures
from tests.reliability.servertools import (
    CHAT_BODY,
    assert_error,
    assert_error_for,
    health,
    serve_fakes,
)
from tests.server.conftest import CHAT, FakeCatalog, running

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
def bodies(
    draw: st.DrawFn, base: dict[str, Any], pool: dict[str, st.SearchStrategy[Any]] = fields
) -> dict[str, Any]:
    """A valid body with some fields (drawn from ``pool``) replaced, dropped or added."""
    body = dict(base)
    for name in draw(st.lists(st.sampled_from(sorted(pool)), max_size=4, unique=True)):
        if draw(st.booleans()) and name in body:
            del body[name]
        else:
            body[name] = draw(pool[name])
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
    """No 5xx; an error is in the shape of its path's protocol; a success is a JSON document or
    a whole stream (SSE to ``[DONE]``, Anthropic's to ``message_stop``, the Responses API's to
    its last lifecycle event, Ollama's NDJSON to its ``done`` line)."""
    assert r.status_code < 500, (r.status_code, r.text[:500])
    if r.request.method == "HEAD":  # no body to judge
        return
    path = r.request.url.path
    kind = r.headers.get("content-type", "")
    if r.status_code >= 400:
        assert_error_for(path, r.json())
    elif kind.startswith("text/event-stream"):
        last = r.text.rstrip().rsplit("\n\n", 1)[-1]
        if path == "/v1/messages":
            assert last.startswith(("event: message_stop", "event: error")), r.text[-300:]
        elif path == "/v1/responses":
            assert last.startswith(("event: response.completed", "event: response.incomplete",
                                    "event: response.failed")), r.text[-300:]
        else:
            assert last == "data: [DONE]", r.text[-300:]
    elif kind.startswith("application/x-ndjson"):
        lines = [json.loads(line) for line in r.text.splitlines()]
        assert lines and (lines[-1].get("done") is True or "error" in lines[-1]), r.text[-300:]
    else:
        assert isinstance(r.json(), dict)


def post(client: httpx.Client, path: str, body: Any) -> httpx.Response:
    """POST ``body`` as JSON, NaN and Infinity literals allowed (as some clients send them)."""
    data = json.dumps(body, allow_nan=True)
    return client.post(path, content=data, headers={"content-type": "application/json"})


def post_raw(client: httpx.Client, path: str, data: bytes) -> httpx.Response:
    """POST raw bytes declared as JSON."""
    return client.post(path, content=data, headers={"content-type": "application/json"})


def _examples(n: int) -> settings:
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def judge(r: httpx.Response, figures: Figures) -> None:
    """Check a fuzzed request's response and count it (an answer, or a refusal by kind)."""
    check(r)
    figures.http(r, whole=r.request.method != "HEAD")


def run_fuzz(cache: Path, figures: Figures, n: int) -> None:
    """Every strategy against one server; afterwards it still serves."""

    with serve_fakes(cache) as url, httpx.Client(base_url=url, timeout=30) as client:

        @_examples(n)
        @given(bodies(CHAT_BODY))
        def chat(body: dict[str, Any]) -> None:
            judge(post(client, "/v1/chat/completions", body), figures)

        @_examples(n)
        @given(bodies({"model": "fake/chat", "prompt": "Once"}))
        def text(body: dict[str, Any]) -> None:
            judge(post(client, "/v1/completions", body), figures)

        @_examples(n)
        @given(anything)
        def any_json(body: Any) -> None:
            judge(post(client, "/v1/chat/completions", body), figures)
            judge(post(client, "/v1/completions", body), figures)

        @_examples(n)
        @given(st.text(max_size=300), st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD"]))
        def paths(name: str, method: str) -> None:
            judge(client.get("/v1/models/" + quote(name, safe="/")), figures)
            judge(client.request(method, "/" + quote(name, safe="/%")), figures)
            judge(client.request(method, "/health?" + quote(name)), figures)

        @_examples(n)
        @given(st.binary(max_size=2000) | st.sampled_from(RAW), st.sampled_from(CONTENT_TYPES))
        def raw(data: bytes, content_type: str) -> None:
            headers = {"content-type": content_type}
            judge(client.post("/v1/chat/completions", content=data, headers=headers), figures)
            judge(client.post("/v1/completions", content=data, headers=headers), figures)

        for strategy in (chat, text, any_json, paths, raw):
            strategy()
        for data in RAW:  # each fixed hostile body at least once, whatever hypothesis drew
            for path in ("/v1/chat/completions", "/v1/completions"):
                judge(post_raw(client, path, data), figures)
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


class CountingCatalog(FakeCatalog):
    """Counts model resolutions: the first piece of work a generation request causes."""

    resolved = 0

    def resolve(self, name: str) -> ResolvedModel:
        """Count, then resolve."""
        self.resolved += 1
        return super().resolve(name)


LOOPBACK_HOSTS = ["localhost", "LOCALHOST:80", "localhost.", "127.0.0.1:1", "[::1]", "[::1]:8"]
FOREIGN_HOSTS = [
    "evil.example", "evil.example:80", "EVIL.example.", "[2001:db8::1]:80", "0.0.0.0",
    "localhost.evil.example", "localhost..", "::1", "127.0.0.1.evil", "",
]
JSON_TYPES = ["application/json", "APPLICATION/JSON", "application/json; charset=latin-1"]
OTHER_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
               "text/json", ""]
# an independent description of the loopback names: anything else must never be served
LOOPBACK = re.compile(r"(localhost|127(\.\d{1,3}){3}|\[(0{0,4}:){2,7}0{0,3}1\])\.?(:\d*)?", re.I)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                    blacklist_characters="\x7f"), max_size=60)
routes = st.sampled_from([
    ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"), ("POST", "/v1/messages"),
    ("POST", "/api/chat"), ("GET", "/v1/models"), ("GET", "/health"), ("GET", "/v1/loaded"),
])
BOTH = {**CHAT_BODY, "prompt": "Once"}  # a chat and a text completion body at once


def _send(port: int, method: str, path: str, host: str, content_type: str | None
          ) -> tuple[int, bytes]:
    """One request with exactly these Host and Content-Type headers (httpx would rewrite Host)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host} | ({} if content_type is None else {"Content-Type": content_type})
    try:
        conn.request(method, path, body=json.dumps(BOTH) if method == "POST" else None,
                     headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        conn.close()


def run_header_fuzz(cache: Path, figures: Figures, n: int) -> None:
    """Random Host and Content-Type headers against a loopback server."""
    catalog = CountingCatalog(cache, {"fake/chat": CHAT})
    app = create_app(ServerSettings(core=Settings(cache_dir=cache)), catalog=catalog,
                     backend=lambda model: FakeBackend())
    with running(app) as url:
        port = int(url.rsplit(":", 1)[1])

        @_examples(n)
        @given(
            st.sampled_from(LOOPBACK_HOSTS) | st.sampled_from(FOREIGN_HOSTS) | header_text,
            st.none() | st.sampled_from(JSON_TYPES + OTHER_TYPES) | header_text,
            routes,
        )
        def headers(host: str, content_type: str | None, route: tuple[str, str]) -> None:
            method, path = route
            before = catalog.resolved
            status, raw = _send(port, method, path, host, content_type)
            assert status < 500, (status, raw[:300])
            if status >= 400:
                assert_error_for(path, json.loads(raw))
                figures.refusal(f"HTTP {status}")
            if status in (403, 415):
                assert catalog.resolved == before, (host, content_type, route)
            if status != 403:
                assert LOOPBACK.fullmatch(host.strip(" ")), (host, status)
            if host in FOREIGN_HOSTS:
                assert status == 403, (host, status)
            elif host in LOOPBACK_HOSTS and method == "POST":
                if content_type in JSON_TYPES and path.startswith(("/v1/c", "/api/chat")):
                    assert status == 200 and catalog.resolved == before + 1, (status, raw)
                elif content_type in JSON_TYPES and path == "/v1/messages":  # no max_tokens
                    assert status == 400 and catalog.resolved == before, (status, raw)
                elif content_type not in JSON_TYPES:
                    assert status == 415, (content_type, status)

        headers()
        assert health(url)["status"] == "ok"


def test_fuzz_hosts_and_content_types_quick(hf_cache: Path, figures: Figures) -> None:
    """Random Host and Content-Type headers (a quick sample): no 5xx, foreign names are 403,
    bodies not declared JSON are 415, and neither resolves a model."""
    run_header_fuzz(hf_cache, figures, FAST)


@pytest.mark.reliability
def test_fuzz_hosts_and_content_types(hf_cache: Path, figures: Figures) -> None:
    """Random Host and Content-Type headers (a long run): no 5xx, foreign names are 403,
    bodies not declared JSON are 415, and neither resolves a model."""
    run_header_fuzz(hf_cache, figures, SLOW)
