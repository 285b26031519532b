"""Cross-site requests: bodies not declared JSON are 415 before any work; /health under a key
shows only liveness; every refusal takes the error shape of the path's protocol."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.version import __version__
from mlxk_server.errors import ApiError, error_body_for
from mlxk_server.security import HostCheck

CHAT = {"model": "fake/chat", "messages": [{"role": "user", "content": "hi"}]}
BODY_PATHS = [
    "/v1/chat/completions", "/v1/completions", "/v1/messages", "/v1/messages/count_tokens",
    "/v1/responses", "/v1/embeddings", "/api/chat", "/api/generate", "/api/embed", "/nowhere",
]
# what a page may send cross-site without a CORS preflight, and other near misses
NOT_JSON = [
    None, "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "text/json", "application/jsonx",
    "application/json-patch+json", "application/ld+json", "json", "",
]
JSON = ["application/json", "Application/JSON", "application/json; charset=utf-8",
        "application/json;charset=UTF-8"]


def assert_shape(path: str, r: httpx.Response, status: int, anthropic_type: str) -> str:
    """``r`` is an error with ``status`` in the shape of ``path``'s protocol; its message."""
    assert r.status_code == status, (path, r.status_code, r.text)
    doc = r.json()
    if path.startswith("/v1/messages"):
        assert doc == {"type": "error", "error": {"type": anthropic_type,
                                                  "message": doc["error"]["message"]}}, doc
        return str(doc["error"]["message"])
    if path.startswith("/api/"):
        assert list(doc) == ["error"] and isinstance(doc["error"], str), doc
        return str(doc["error"])
    assert set(doc["error"]) == {"message", "type", "param", "code"}, doc
    return str(doc["error"]["message"])


def _counting() -> tuple[list[FakeBackend], Callable[[], FakeBackend]]:
    made: list[FakeBackend] = []

    def make() -> FakeBackend:
        made.append(FakeBackend())
        return made[-1]

    return made, make


def test_bodies_not_declared_json_are_415_in_the_paths_shape_before_any_work(serve_fake):
    made, make = _counting()
    with serve_fake(backend=make) as url, httpx.Client(base_url=url) as client:
        for path in BODY_PATHS:
            for kind in NOT_JSON:
                headers = {} if kind is None else {"Content-Type": kind}
                r = client.post(path, content=json.dumps(CHAT), headers=headers)
                assert r.request.headers.get("content-type") == kind
                message = assert_shape(path, r, 415, "invalid_request_error")
                assert "application/json" in message
                if not path.startswith(("/v1/messages", "/api/")):
                    assert r.json()["error"]["code"] == "unsupported_media_type"
        chunked = client.post("/v1/chat/completions", content=iter([b'{"model":', b'"x"}']))
        assert_shape("/v1/chat/completions", chunked, 415, "")
        assert made == []  # no model was loaded for any of them
        for kind in JSON:
            r = client.post("/v1/chat/completions", json=CHAT, headers={"Content-Type": kind})
            assert r.json()["choices"][0]["message"]["content"] == "Hello, world!", (kind, r.text)
        assert len(made) == 1


def test_requests_without_a_body_are_not_asked_for_a_content_type(serve_fake):
    with serve_fake() as url:
        assert httpx.get(url + "/v1/models").status_code == 200
        empty = httpx.post(url + "/v1/chat/completions")
        assert empty.status_code == 400 and empty.json()["error"]["code"] == "invalid_json"
        assert httpx.post(url + "/health").status_code == 405


def test_health_without_the_key_shows_only_liveness(serve_fake):
    broken = {"fake/broken": lambda: FakeBackend(fail_on_load=True)}
    models: dict[str, Any] = {"fake/chat": None, "fake/broken": None}
    key = "s3cret-key"
    with serve_fake(api_key=key, backend_for=broken, models=models) as url:
        authed = {"Authorization": f"Bearer {key}"}
        failed = httpx.post(url + "/v1/chat/completions", headers=authed,
                            json={**CHAT, "model": "fake/broken"})
        assert failed.status_code == 500
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Api-Key": key[:-1]}):
            r = httpx.get(url + "/health", headers=headers)
            assert r.status_code == 200 and r.json() == {"status": "ok", "version": __version__}
        for headers in (authed, {"X-Api-Key": key}):
            doc = httpx.get(url + "/health", headers=headers).json()
            assert doc["status"] == "ok" and doc["version"] == __version__
            assert {"loaded", "waiting", "active"} <= set(doc), doc
            assert [p["model"] for p in doc["problems"]] == ["fake/broken"], doc
    with serve_fake() as url:  # no key: everything, to everyone
        assert {"loaded", "waiting", "active", "problems"} <= set(httpx.get(url + "/health").json())


def test_a_missing_key_is_401_in_the_paths_shape(serve_fake):
    with serve_fake(api_key="s3cret-key") as url:
        for method, path in [("GET", "/v1/models"), ("POST", "/v1/messages"),
                             ("POST", "/v1/messages/count_tokens"), ("GET", "/api/tags"),
                             ("POST", "/api/chat")]:
            r = httpx.request(method, url + path, json=CHAT)
            assert "API key" in assert_shape(path, r, 401, "authentication_error")


@pytest.mark.parametrize(("path", "shape"), [
    ("/v1/messages", "anthropic"), ("/v1/messages/count_tokens", "anthropic"),
    ("/v1/messagesx", "openai"), ("/v1/message", "openai"), ("/api", "ollama"),
    ("/api/chat", "ollama"), ("/apix", "openai"), ("/v1/api/chat", "openai"),
    ("/v1/chat/completions", "openai"), ("/", "openai"),
])
def test_error_body_for_picks_the_shape_by_path(path: str, shape: str) -> None:
    err = ApiError(404, "gone", code="x")
    expected = {
        "anthropic": {"type": "error", "error": {"type": "not_found_error", "message": "gone"}},
        "ollama": {"error": "gone"},
        "openai": {"error": {"message": "gone", "type": "invalid_request_error", "param": None,
                             "code": "x"}},
    }[shape]
    assert error_body_for(path, err) == expected


@pytest.mark.parametrize(("status", "kind"), [
    (400, "invalid_request_error"), (401, "authentication_error"), (403, "permission_error"),
    (413, "request_too_large"), (415, "invalid_request_error"), (429, "rate_limit_error"),
    (500, "api_error"), (503, "overloaded_error"),
])
def test_anthropic_error_types_follow_the_status(status: int, kind: str) -> None:
    body = error_body_for("/v1/messages", ApiError(status, "m"))
    assert body == {"type": "error", "error": {"type": kind, "message": "m"}}


def test_a_websocket_with_a_foreign_host_is_closed_before_the_app_sees_it() -> None:
    seen: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    check = HostCheck(app, bind="127.0.0.1")
    scope = {"type": "websocket", "path": "/ws", "headers": [(b"host", b"evil.example")]}
    asyncio.run(check(scope, receive, send))
    assert seen == [] and sent == [{"type": "websocket.close", "code": 1008}]
    asyncio.run(check({**scope, "headers": [(b"host", b"localhost:1")]}, receive, send))
    asyncio.run(check({"type": "lifespan"}, receive, send))
    assert [s["type"] for s in seen] == ["websocket", "lifespan"]
