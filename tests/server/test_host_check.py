"""DNS rebinding: ``mlxk-serve`` on loopback serves only loopback Host names (and allowed ones).

A page that makes its own name resolve to 127.0.0.1 becomes same-origin with the server, but
its requests still carry that name in ``Host``. The requests here are sent with http.client,
which sends the Host header as given (httpx would write its own).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.factory import QA, build_model
from tests.programs import console_script
from tests.server.test_lifecycle import Served, mlxk_serve

FOREIGN = [
    "attacker.example.com", "attacker.example.com:8000", "Attacker.Example.COM",
    "attacker.example.com.", "ATTACKER.example.com.:80", "[2001:db8::1]", "[2001:db8::1]:8000",
    "0.0.0.0", "0.0.0.0:8000", "192.168.1.20:8000", "localhost.attacker.example.com",
    "127.0.0.1.nip.io", "LOCALHOST.attacker.example.", "localhost..", "localhost:80:80",
    "[::1]evil", "localhost@attacker.example.com", "",
]
LOOPBACK = [
    "localhost", "LocalHost", "localhost.", "127.0.0.1", "[::1]", "[0:0:0:0:0:0:0:1]",
    "localhost:{port}", "LOCALHOST.:{port}", "127.0.0.1:{port}", "[::1]:{port}", "127.0.0.1.",
]


def ask(served: Served, method: str, path: str, host: str, body: Any = None,
        content_type: str = "application/json") -> tuple[int, Any]:
    """Send one request with ``Host: host``; the status and the JSON body (None if empty)."""
    port = int(served.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Host": host.format(port=port)}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = content_type
    try:
        conn.request(method, path, body=data, headers=headers)
        reply = conn.getresponse()
        raw = reply.read()
    finally:
        conn.close()
    return reply.status, json.loads(raw) if raw else None


def assert_refused(path: str, status: int, doc: Any) -> None:
    """A 403 in the error shape of the path's protocol (Anthropic, Ollama or OpenAI)."""
    assert status == 403, (path, status, doc)
    if path.startswith("/v1/messages"):
        assert doc["type"] == "error" and doc["error"]["type"] == "permission_error", doc
        assert set(doc["error"]) == {"type", "message"}
    elif path.startswith("/api/"):
        assert set(doc) == {"error"} and "not allowed" in doc["error"], doc
    else:
        assert set(doc["error"]) == {"message", "type", "param", "code"}, doc
        assert doc["error"]["code"] == "host_not_allowed", doc
        assert doc["error"]["type"] == "permission_error", doc


def _routes(repo: str) -> list[tuple[str, str, Any]]:
    """Every route of the server and of the protocols being added, with a body that would work."""
    chat = {"model": repo, "messages": QA.FRANCE.messages, "max_tokens": 2}
    return [
        ("GET", "/health", None), ("GET", "/v1/loaded", None), ("GET", "/v1/models", None),
        ("GET", f"/v1/models/{repo}", None), ("POST", "/v1/chat/completions", chat),
        ("POST", "/v1/completions", {"model": repo, "prompt": "Once", "max_tokens": 2}),
        ("POST", "/v1/chat/completions", {**chat, "model": "nope/missing"}),
        ("POST", "/v1/messages", chat), ("POST", "/v1/messages/count_tokens", chat),
        ("POST", "/v1/responses", {"model": repo, "input": "hi"}),
        ("POST", "/v1/embeddings", {"model": repo, "input": "hi"}),
        ("POST", "/api/chat", chat), ("POST", "/api/generate", {"model": repo, "prompt": "x"}),
        ("GET", "/api/tags", None), ("GET", "/nowhere", None),
        ("OPTIONS", "/v1/chat/completions", None), ("DELETE", f"/v1/models/{repo}", None),
    ]


def _full_health(served: Served) -> dict[str, Any]:
    status, doc = ask(served, "GET", "/health", "localhost")
    assert status == 200, doc
    return doc  # type: ignore[no-any-return]


def test_foreign_hosts_are_refused_on_every_route_before_any_work(hf_cache: Path) -> None:
    """Forged names (plain, with a port, IPv6, mixed case, trailing dot, look-alikes, empty)
    get a 403 on every route in the path's error shape; no model is resolved or loaded."""
    repo = build_model("chat", hf_cache)
    with mlxk_serve(hf_cache, "--log-level", "info") as served:
        for host in FOREIGN:
            for method, path, body in _routes(repo):
                status, doc = ask(served, method, path, host, body)
                assert_refused(path, status, doc)
        # HTTP/1.0 may leave Host out: refused as well
        port = int(served.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /v1/models HTTP/1.0\r\n\r\n")
            assert sock.recv(64).startswith(b"HTTP/1.1 403 ")
        doc = _full_health(served)
        assert doc["loaded"] == [] and doc["active"] == 0 and doc["waiting"] == 0, doc
        log = served.log.read_text()
        assert f"loaded {repo}" not in log, log
        served_lines = [line for line in log.splitlines() if '" 2' in line]
        assert all("GET /health " in line for line in served_lines), served_lines
        assert log.count(" 403 Forbidden") == len(FOREIGN) * len(_routes(repo)) + 1
        assert "without an API key" not in log  # loopback: no warning


@pytest.mark.parametrize("how", ["flag", "env"])
def test_loopback_names_and_allowed_hosts_are_served(hf_cache: Path, how: str) -> None:
    """localhost, 127.0.0.1 and [::1] (any port, any case, one trailing dot) are served, and
    so are the names of ``--allowed-hosts`` / ``MLXK_ALLOWED_HOSTS``; other names still not."""
    repo = build_model("chat", hf_cache)
    names = "proxy.example.com,[fd00::5]"
    flags = ("--allowed-hosts", names) if how == "flag" else ()
    env = {"MLXK_ALLOWED_HOSTS": names} if how == "env" else {}
    allowed = ["proxy.example.com", "PROXY.Example.com:443", "proxy.example.com.", "[fd00::5]:80"]
    with mlxk_serve(hf_cache, *flags, env=env) as served:
        for host in LOOPBACK + allowed:
            status, doc = ask(served, "GET", "/v1/models", host)
            assert status == 200 and [m["id"] for m in doc["data"]] == [repo], (host, doc)
        chat = {"model": repo, "messages": QA.FRANCE.messages, "max_tokens": 3}
        for host in ("localhost:{port}", "proxy.example.com"):
            status, doc = ask(served, "POST", "/v1/chat/completions", host, chat)
            assert status == 200 and doc["choices"][0]["message"]["content"], (host, doc)
        for host in ("other.example.com", "proxy.example.com.evil.test", "fd00::5"):
            assert_refused("/v1/models", *ask(served, "GET", "/v1/models", host))


def test_on_all_interfaces_every_host_is_served_and_a_missing_key_is_warned(
    hf_cache: Path,
) -> None:
    """``--host 0.0.0.0`` serves any Host name (a LAN or a proxy names it as it likes) and
    warns at start that it has no API key."""
    repo = build_model("chat", hf_cache)
    with mlxk_serve(hf_cache, "--host", "0.0.0.0") as served:
        assert "listening on 0.0.0.0 without an API key" in served.log.read_text()
        chat = {"model": repo, "messages": QA.FRANCE.messages, "max_tokens": 3}
        for host in ("attacker.example.com", "192.168.1.20:8000", "[2001:db8::1]", "localhost"):
            status, doc = ask(served, "GET", "/v1/models", host)
            assert status == 200 and [m["id"] for m in doc["data"]] == [repo], (host, doc)
        status, doc = ask(served, "POST", "/v1/chat/completions", "mybox.lan", chat)
        assert status == 200 and doc["choices"][0]["message"]["content"], doc


def test_an_allowed_host_that_is_no_host_name_is_a_usage_error() -> None:
    """A URL or a name with spaces in ``--allowed-hosts`` stops ``mlxk-serve`` at once."""
    done = subprocess.run(
        [console_script("mlxk-serve"), "--allowed-hosts", "ok.example,http://proxy.example"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "not a host name: http://proxy.example" in done.stderr
