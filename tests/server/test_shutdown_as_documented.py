"""SIGTERM to a real `mlxk-serve` does what README says: the port stops taking connections, the
stream in flight ends with [DONE], requests still queued get 503 with Retry-After, exit 0."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.factory import build_model
from tests.programs import assert_port_free
from tests.server.test_lifecycle import mlxk_serve

README = Path(__file__).resolve().parents[2] / "README.md"
CLIENTS = 6
# the trained chat model goes on for hundreds of tokens after this raw prompt
BODY = {"prompt": "Paris Paris Paris", "max_tokens": 300, "temperature": 0, "stream": True}


def _stream(url: str, model: str, out: list[tuple[int, str | None, bool]]) -> None:
    with httpx.stream("POST", url + "/v1/completions", json={**BODY, "model": model},
                      timeout=60) as r:
        lines = list(r.iter_lines())
        out.append((r.status_code, r.headers.get("retry-after"), "data: [DONE]" in lines))


def test_sigterm_refuses_connections_ends_streams_and_503s_the_queue(hf_cache: Path) -> None:
    repo = build_model("chat", hf_cache)
    results: list[tuple[int, str | None, bool]] = []
    with mlxk_serve(hf_cache, "--max-batch", "1", "--log-level", "warning") as served:
        url, proc = served.url, served.proc
        clients = [threading.Thread(target=_stream, args=(url, repo, results))
                   for _ in range(CLIENTS)]
        for c in clients:
            c.start()
        deadline = time.monotonic() + 30
        while True:  # one stream decoding, others queued behind it (batch of one)
            status = httpx.get(url + "/health").json()
            if status["active"] >= 1 and status["waiting"] >= 1:
                break
            assert time.monotonic() < deadline, status
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        for c in clients:
            c.join(30)
        assert proc.wait(timeout=10) == 0, served.log.read_text()
    assert len(results) == CLIENTS
    done = [r for r in results if r[0] == 200]
    refused = [r for r in results if r[0] != 200]
    assert done and all(finished for _, _, finished in done)  # streams end with [DONE]
    assert refused and all(code == 503 and after for code, after, _ in refused), results
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=2)
    assert_port_free(int(url.rsplit(":", 1)[1]))
    readme = " ".join(README.read_text(encoding="utf-8").split())
    assert "new connections are refused" in readme
    assert "requests still waiting in the queue get 503 with Retry-After" in readme
