"""Server soak: many concurrent chat clients on a trained model through the real MLX batch path.

Streaming and whole requests with mixed max_tokens, a quarter of the streams dropped at random
points. Every request that was not dropped gets exactly the answer it gets alone (greedy);
afterwards nothing runs or waits and memory is back near its level after the first request.
"""

from __future__ import annotations

import gc
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from tests.factory import QA, build_model
from tests.factory.corpus import Exchange
from tests.reliability.recorder import Figures
from tests.reliability.servertools import serve_factory, stream_events, wait_idle

MAX_TOKENS = (None, 3, 7, 40)
RSS_MARGIN = 48 * 2**20  # bytes the process may keep after hundreds of requests (allocator slack)
MX_MARGIN = 4 * 2**20  # MLX memory beyond the first request's (a few cached prompts at most)


@dataclass(frozen=True)
class Spec:
    """One request of the soak."""

    exchange: Exchange
    max_tokens: int | None
    stream: bool
    cut_after: int | None  # drop the connection after this many events


@dataclass
class Outcome:
    """What the client saw."""

    text: str
    finish: str | None
    dropped: bool


@pytest.fixture(scope="module")
def soak_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("soak") / "hub"
    cache.mkdir()
    build_model("chat", cache)
    return cache


@pytest.fixture(scope="module")
def url(soak_cache: Path) -> Iterator[str]:
    with serve_factory(soak_cache, max_batch=16, max_queue=256) as base:
        yield base


CHAT_ID = "mlx-community/tiny-chat"


def _body(spec: Spec) -> dict[str, object]:
    body: dict[str, object] = {"model": CHAT_ID, "messages": spec.exchange.messages,
                               "temperature": 0, "stream": spec.stream}
    if spec.max_tokens is not None:
        body["max_tokens"] = spec.max_tokens
    return body


def ask(client: httpx.Client, spec: Spec) -> Outcome:
    """Send one request; a stream with ``cut_after`` is closed after that many events."""
    path = "/v1/chat/completions"
    if not spec.stream:
        r = client.post(path, json=_body(spec))
        assert r.status_code == 200, r.text
        choice = r.json()["choices"][0]
        return Outcome(choice["message"]["content"], choice["finish_reason"], False)
    text, finish, seen = "", None, 0
    with client.stream("POST", path, json=_body(spec)) as r:
        assert r.status_code == 200, r.read()
        for event in stream_events(r):
            seen += 1
            if isinstance(event, str):
                break
            assert "error" not in event, event
            choice = event["choices"][0]
            text += choice["delta"].get("content") or ""
            finish = choice["finish_reason"] or finish
            if spec.cut_after is not None and seen >= spec.cut_after and finish is None:
                return Outcome(text, None, True)  # leaving the block drops the connection
    return Outcome(text, finish, False)


def _specs(n: int, seed: int) -> list[Spec]:
    rng = random.Random(seed)
    specs = []
    for _ in range(n):
        stream = rng.random() < 0.6
        cut = rng.randint(1, 5) if stream and rng.random() < 0.25 else None
        specs.append(Spec(rng.choice(QA.ALL), rng.choice(MAX_TOKENS), stream, cut))
    return specs


def _memory() -> tuple[int, int]:
    import mlx.core as mx

    gc.collect()
    return psutil.Process().memory_info().rss, int(mx.get_active_memory())


def soak(url: str, figures: Figures, requests: int, clients: int, bound_s: float) -> None:
    """Solo answers first, then ``requests`` from ``clients`` threads; check everything."""
    with httpx.Client(base_url=url, timeout=60) as client:
        first = ask(client, Spec(QA.FRANCE, None, False, None))
        assert first.text == QA.FRANCE.answer
        base_rss, base_mx = _memory()
        alone = {
            (e.answer, m): ask(client, Spec(e, m, False, None)) for e in QA.ALL for m in MAX_TOKENS
        }
        figures.answer(1 + len(alone))
    specs = _specs(requests, seed=requests)
    outcomes: dict[int, Outcome] = {}
    errors: list[BaseException] = []
    todo = iter(range(len(specs)))
    lock = threading.Lock()

    def client_loop() -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                try:
                    outcomes[i] = ask(client, specs[i])
                except BaseException as exc:  # reported by the test thread
                    errors.append(exc)

    start = time.monotonic()
    threads = [threading.Thread(target=client_loop, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(bound_s)
    elapsed = time.monotonic() - start
    assert not any(t.is_alive() for t in threads), f"the soak ran past {bound_s} s"
    assert not errors, errors[:3]
    dropped = 0
    for i, spec in enumerate(specs):
        got, want = outcomes[i], alone[(spec.exchange.answer, spec.max_tokens)]
        if got.dropped:
            dropped += 1
            assert want.text.startswith(got.text), (spec, got, want)
        else:
            assert (got.text, got.finish) == (want.text, want.finish), (spec, got, want)
    figures.answer(len(specs) - dropped)
    figures.fault("connection dropped", dropped)
    assert dropped > 0 and elapsed < bound_s
    status = wait_idle(url)
    assert [m["id"] for m in status["loaded"]] == [CHAT_ID]
    rss, active = _memory()
    assert rss - base_rss < RSS_MARGIN, (rss - base_rss) / 2**20
    assert active - base_mx < MX_MARGIN, (active - base_mx) / 2**20


def test_soak_quick(url: str, figures: Figures) -> None:
    """30 requests from 8 clients: outputs as alone, nothing left running, memory back."""
    soak(url, figures, requests=30, clients=8, bound_s=60)


@pytest.mark.reliability
def test_soak(url: str, figures: Figures) -> None:
    """200 requests from 16 clients: outputs as alone, nothing left running, memory back."""
    soak(url, figures, requests=200, clients=16, bound_s=240)
