"""Errors in the OpenAI shape, over real HTTP; the server keeps serving after each one."""

from __future__ import annotations

import json
import socket

import httpx
import openai
import pytest

from mlxk_core.backends.fake import FakeBackend

CHAT = {"model": "fake/chat", "messages": [{"role": "user", "content": "hi"}]}


def _error(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    return err


def _still_serving(url: str) -> None:
    assert httpx.get(url + "/health").json()["status"] == "ok"
    r = httpx.post(url + "/v1/chat/completions", json=CHAT)
    assert r.json()["choices"][0]["message"]["content"] == "Hello, world!"


def test_malformed_json_and_invalid_fields_are_400_naming_the_field(serve_fake):
    with serve_fake() as url:
        post = lambda body, **kw: httpx.post(url + "/v1/chat/completions", **kw)  # noqa: E731
        json_type = {"Content-Type": "application/json"}
        assert _error(post(None, content=b"{not json", headers=json_type), 400)["code"] == (
            "invalid_json"
        )
        assert _error(post(None, content=b"\xff\xfe", headers=json_type), 400)["code"] == (
            "invalid_json"
        )
        assert _error(post(None, json=[1, 2]), 400)["message"]
        bad = {**CHAT, "temperature": "hot"}
        assert _error(post(None, json=bad), 400)["param"] == "temperature"
        assert _error(post(None, json={**CHAT, "n": 2}), 400)["param"] == "n"
        assert _error(post(None, json={**CHAT, "temperature": -1}), 400)["param"] == "temperature"
        no_msgs = {"model": "fake/chat", "messages": []}
        assert _error(post(None, json=no_msgs), 400)["param"] == "messages"
        role = {**CHAT, "messages": [{"role": "wizard", "content": "x"}]}
        assert _error(post(None, json=role), 400)["param"] == "messages[0].role"
        _still_serving(url)


@pytest.mark.parametrize(
    "name", ["nope/missing", "../../etc/passwd", "/etc/passwd", "~/model", "a/../b", "..%2f..%2fx"]
)
def test_unknown_model_or_path_is_404(serve_fake, name):
    with serve_fake() as url:
        err = _error(httpx.post(url + "/v1/chat/completions", json={**CHAT, "model": name}), 404)
        assert err["param"] == "model"
        _still_serving(url)


def test_openai_client_sees_not_found(serve_fake):
    with serve_fake() as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="nope/missing", messages=CHAT["messages"])


def test_body_too_large_is_413(serve_fake):
    with serve_fake(max_body_bytes=1000) as url:
        big = {**CHAT, "messages": [{"role": "user", "content": "x" * 5000}]}
        assert _error(httpx.post(url + "/v1/chat/completions", json=big), 413)["code"] == (
            "body_too_large"
        )
        # chunked, with no Content-Length to refuse early: the limit holds as the body arrives
        raw = json.dumps(big).encode()
        chunks = (raw[i:i + 500] for i in range(0, len(raw), 500))
        chunked = httpx.post(url + "/v1/chat/completions", content=chunks,
                             headers={"Content-Type": "application/json"})
        assert "content-length" not in chunked.request.headers
        assert _error(chunked, 413)["code"] == "body_too_large"
        # a declared size over the limit is refused at once, before the body is sent
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{")
            assert sock.recv(64).startswith(b"HTTP/1.1 413 ")
        _still_serving(url)


def test_api_key_required_everywhere_but_health(serve_fake):
    with serve_fake(api_key="s3cret") as url:
        assert httpx.get(url + "/health").status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            err = _error(httpx.get(url + "/v1/models", headers=headers), 401)
            assert "s3cret" not in str(err)
            _error(httpx.post(url + "/v1/chat/completions", json=CHAT, headers=headers), 401)
        client = openai.OpenAI(base_url=url + "/v1", api_key="s3cret")
        reply = client.chat.completions.create(model="fake/chat", messages=CHAT["messages"])
        assert reply.choices[0].message.content == "Hello, world!"


def test_queue_full_is_429_with_retry_after(serve_fake):
    with serve_fake(max_queue=0) as url:
        r = httpx.post(url + "/v1/chat/completions", json=CHAT)
        assert _error(r, 429)["code"] == "queue_full"
        assert int(r.headers["Retry-After"]) >= 1
        assert httpx.get(url + "/health").status_code == 200


def test_model_that_fails_to_load_is_500_and_others_still_work(serve_fake):
    broken = FakeBackend(fail_on_load=True)
    models = {"fake/chat": None, "fake/broken": None}
    with serve_fake(backend_for={"fake/broken": lambda: broken}, models=models) as url:
        body = {**CHAT, "model": "fake/broken"}
        err = _error(httpx.post(url + "/v1/chat/completions", json=body), 500)
        assert err["code"] == "model_load_failed"
        _still_serving(url)
