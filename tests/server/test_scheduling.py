"""The server's scheduling as clients meet it: revisions, fairness, prefill, a changing cache."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import openai

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.cache.store import store_snapshot
from tests.factory import QA, REASONING, build_model, snapshot_dir
from tests.reliability.servertools import (
    Factory,
    health,
    serve_factory,
    serve_fakes,
    slowed_mlx,
    wait_idle,
)
from tests.server.conftest import CHAT

TWO = "org/two"


def _client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0, timeout=60)


def _chat(client: openai.OpenAI, model: str, turns: list[tuple[str, str]], **kw: object) -> str:
    messages = [{"role": r, "content": c} for r, c in turns]
    reply = client.chat.completions.create(model=model, messages=messages, **kw)  # type: ignore
    return reply.choices[0].message.content or ""


def _two_revisions(cache: Path, scratch: Path) -> None:
    """``org/two``: ``main`` is the trained chat model, ``old`` the harmony (reasoning) one."""
    for variant, ref in (("reasoning", "old"), ("chat", "main")):
        repo = build_model(variant, scratch)
        files = {p.name: Path(os.path.realpath(p)) for p in snapshot_dir(scratch, repo).iterdir()}
        store_snapshot(cache, TWO, files, ref=ref)


def test_a_revision_is_answered_by_that_revision_while_main_decodes(
    hf_cache: Path, tmp_path: Path
) -> None:
    _two_revisions(hf_cache, tmp_path / "scratch")
    long_turns = QA.FRANCE.turns
    with serve_factory(hf_cache, Factory(slowed_mlx(0.05)), max_loaded_models=2) as url:
        client = _client(url)
        alone_main = _chat(client, TWO, long_turns)
        alone_old = _chat(client, f"{TWO}@old", REASONING.exchange.turns)
        answers: dict[str, str] = {}
        busy = [threading.Thread(target=lambda i=i: answers.__setitem__(
            f"main{i}", _chat(client, TWO, long_turns))) for i in range(4)]
        for t in busy:
            t.start()
        deadline = time.monotonic() + 30
        while health(url)["active"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert health(url)["active"] >= 1  # main is decoding now
        during = _chat(client, f"{TWO}@old", REASONING.exchange.turns)
        for t in busy:
            t.join(60)
        loaded = {m["revision"] for m in wait_idle(url)["loaded"]}
    assert alone_main == QA.FRANCE.answer
    assert during == alone_old == REASONING.answer
    assert set(answers.values()) == {QA.FRANCE.answer}
    assert len(loaded) == 2  # two snapshots of one repo, held as two models


def test_another_model_is_served_within_a_bound_while_8_clients_hammer_one(
    hf_cache: Path,
) -> None:
    scripts = {"fake/busy": ["x"] * 6, "fake/other": ["other"]}
    stop = threading.Event()
    served = {"busy": 0}

    def factory(model: object) -> FakeBackend:
        return FakeBackend(scripts[model.name], step_delay=0.01)  # type: ignore[attr-defined]

    models = {name: CHAT for name in scripts}
    with serve_fakes(hf_cache, factory, models, fair_share=0.5, max_loaded_models=1) as url:
        client = _client(url)

        def hammer() -> None:
            while not stop.is_set():
                _chat(client, "fake/busy", [("user", "go")])
                served["busy"] += 1

        clients = [threading.Thread(target=hammer) for _ in range(8)]
        for c in clients:
            c.start()
        time.sleep(0.5)
        start = time.monotonic()
        answer = _chat(client, "fake/other", [("user", "hi")])
        waited = time.monotonic() - start
        stop.set()
        for c in clients:
            c.join(30)
    assert answer == "other"
    assert waited < 3.0  # the 0.5 s share, the drain of 7-token answers and two swaps
    assert served["busy"] >= 8


def test_a_short_request_streams_while_a_long_prompt_prefills(hf_cache: Path) -> None:
    repo = build_model("chat", hf_cache)
    # every prompt token costs 1 ms: the long prompt's ~2,300 tokens take ~2.3 s to prefill
    factory = Factory(slowed_mlx(0.0, per_token=0.001))
    with serve_factory(hf_cache, factory, prefill_chunk=256) as url:
        client = _client(url)
        _chat(client, repo, QA.GREETING.turns)  # loaded
        long_turns = [("user", "the cat sat on the mat " * 330), *QA.FRANCE.turns]
        result: dict[str, object] = {}
        long = threading.Thread(target=lambda: result.__setitem__(
            "long", _chat(client, repo, long_turns, max_tokens=4)))
        long.start()
        time.sleep(0.4)
        start = time.monotonic()
        stream = client.chat.completions.create(
            model=repo, messages=[{"role": "user", "content": QA.FRANCE.turns[-1][1]}],
            stream=True,
        )
        first = next(c for c in stream if c.choices and c.choices[0].delta.content)
        ttft = time.monotonic() - start
        text = first.choices[0].delta.content + "".join(
            c.choices[0].delta.content or "" for c in stream if c.choices
        )
        long.join(60)
    assert text == QA.FRANCE.answer
    assert ttft < 1.2  # a chunk or two (~0.26 s each), not the rest of the 2.3 s prefill
    assert "long" in result


def test_a_model_added_or_removed_while_serving_is_seen_by_the_next_request(
    hf_cache: Path,
) -> None:
    chat = build_model("chat", hf_cache)
    with serve_factory(hf_cache) as url:
        client = _client(url)
        assert _chat(client, chat, QA.FRANCE.turns) == QA.FRANCE.answer
        assert "test-org/tiny-base" not in {m.id for m in client.models.list()}
        base = build_model("base", hf_cache)
        assert base in {m.id for m in client.models.list()}
        reply = client.completions.create(model=base, prompt=QA.FRANCE.turns[-1][1],
                                          max_tokens=8)
        assert reply.choices[0].text
        before = httpx.post(url + "/v1/chat/completions", timeout=60,
                            json={"model": chat, "messages": QA.FRANCE.messages})
        assert before.status_code == 200
        store = hf_cache / "models--mlx-community--tiny-chat"
        for snap in (store / "snapshots").iterdir():
            for f in snap.iterdir():
                f.unlink()
            snap.rmdir()
        after = httpx.post(url + "/v1/chat/completions", timeout=60,
                           json={"model": chat, "messages": QA.FRANCE.messages})
        assert after.status_code >= 400


Caller = Callable[[], None]
