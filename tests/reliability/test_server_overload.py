"""Server overload: more clients than the queue allows are refused at once, the rest served.

A paced scripted backend keeps the engine busy; clients beyond the batch and the queue get 429
with Retry-After before one answer could have been generated, while every admitted request gets
its full answer.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.recorder import Figures
from tests.reliability.servertools import CHAT_BODY, assert_error, serve_fakes, wait_idle
from tests.server.conftest import paced

PIECES = [f"w{i} " for i in range(12)]
ANSWER = "".join(PIECES)
PACE = 0.1  # seconds per piece
REFUSAL_S = PACE * len(PIECES)  # a refused client hears so before one answer could be made


def _one(url: str, stream: bool, go: threading.Barrier,
         out: list[tuple[int, float, str, str | None, httpx.Response]]) -> None:
    body = {**CHAT_BODY, "stream": stream}
    with httpx.Client(base_url=url, timeout=60) as client:
        go.wait(30)  # every client is ready: they all ask at once
        start = time.monotonic()
        if not stream:
            r = client.post("/v1/chat/completions", json=body)
            took = time.monotonic() - start
            text = r.json()["choices"][0]["message"]["content"] if r.status_code == 200 else ""
            out.append((r.status_code, took, text, r.headers.get("retry-after"), r))
            return
        with client.stream("POST", "/v1/chat/completions", json=body) as r:
            took = time.monotonic() - start
            if r.status_code != 200:
                r.read()
                assert_error(r, 429)
                out.append((r.status_code, took, "", r.headers.get("retry-after"), r))
                return
            text = ""
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    delta = json.loads(line[6:])["choices"][0]["delta"]
                    text += delta.get("content") or ""
            out.append((200, took, text, None, r))


def overload(cache: Path, figures: Figures, clients: int, rounds: int) -> None:
    """``rounds`` waves of ``clients`` at once against a batch of 2 and a queue of 2."""
    factory = lambda model: paced(PACE, script=PIECES)  # noqa: E731
    with serve_fakes(cache, factory, max_batch=2, max_queue=2) as url:
        for _ in range(rounds):
            out: list[tuple[int, float, str, str | None, httpx.Response]] = []
            go = threading.Barrier(clients)
            threads = [threading.Thread(target=_one, args=(url, i % 2 == 0, go, out))
                       for i in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            assert len(out) == clients, out
            served = [o for o in out if o[0] == 200]
            refused = [o for o in out if o[0] != 200]
            assert len(served) >= 2 and refused, [o[:2] for o in out]
            assert all(o[2] == ANSWER for o in served), served
            assert all(o[0] == 429 and int(o[3] or 0) >= 1 for o in refused), refused
            slowest = max(o[1] for o in refused)
            assert slowest < REFUSAL_S, f"a refusal took {slowest:.3f} s"
            for o in (*served, *refused):
                figures.http(o[4])
            wait_idle(url)
        r = httpx.post(url + "/v1/chat/completions", json=CHAT_BODY, timeout=30)
        assert r.json()["choices"][0]["message"]["content"] == ANSWER
        figures.http(r)


def test_overload_quick(hf_cache: Path, figures: Figures) -> None:
    """16 clients at once on a batch of 2 and a queue of 2: the rest get 429 + Retry-After
    at once; admitted requests get their full answers."""
    overload(hf_cache, figures, clients=16, rounds=1)


@pytest.mark.reliability
def test_overload(hf_cache: Path, figures: Figures) -> None:
    """Ten waves of 32 clients on a batch of 2 and a queue of 2: refusals immediate (429 +
    Retry-After), admitted answers whole, the server idle and serving afterwards."""
    overload(hf_cache, figures, clients=32, rounds=10)
