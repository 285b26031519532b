"""Engine shutdown over HTTP (fakes): streams end with a last chunk and [DONE], new work 503s."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.cache.records import ModelFacts
from mlxk_core.settings import Settings
from mlxk_server.app import create_app
from mlxk_server.config import ServerSettings
from tests.server.conftest import CHAT, FakeCatalog, paced, running

BODY = {"model": "fake/chat", "messages": [{"role": "user", "content": "hi"}]}


def test_stopping_the_engine_ends_streams_cleanly_and_refuses_new_work(hf_cache: Path) -> None:
    app = create_app(
        ServerSettings(core=Settings(cache_dir=hf_cache)),
        backend=lambda model: paced(0.01, eos=False),
        catalog=FakeCatalog(hf_cache, {"fake/chat": CHAT}),
    )
    with running(app) as url:
        body = {**BODY, "stream": True, "max_tokens": 10_000_000,
                "stream_options": {"include_usage": True}}
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=10) as r:
            lines = (line for line in r.iter_lines() if line)
            for _ in range(3):
                next(lines)
            app.state.mlxk.engine.stop(timeout=0)  # what SIGINT/SIGTERM do first
            rest = list(lines)
        assert rest[-1] == "data: [DONE]"
        last = json.loads(rest[-2][len("data: "):])
        assert last["choices"][0]["finish_reason"] == "stop"
        assert last["usage"]["completion_tokens"] >= 2  # two content lines were read
        late = httpx.post(url + "/v1/chat/completions", json=BODY, timeout=10)
        assert late.status_code == 503
        assert late.headers["retry-after"] == "5"
        assert late.json()["error"]["code"] == "shutting_down"
        assert httpx.get(url + "/health").json()["active"] == 0


def test_reasoning_detected_by_the_runner_is_split_in_whole_and_streamed_answers(
    serve_fake,
) -> None:
    # the cache facts do not say "reasoning"; the Runner recognises gpt-oss by its name
    script = ["<think>", "Think", "ing.", "</think>", "Answer."]
    plain = ModelFacts(framework="mlx", model_type="chat", reasoning=False)
    with serve_fake(backend=lambda: FakeBackend(script=script),
                    models={"acme/gpt-oss-tiny": plain}) as url:
        body = {"model": "acme/gpt-oss-tiny", "messages": BODY["messages"]}
        message = httpx.post(url + "/v1/chat/completions", json=body).json()["choices"][0]
        assert message["message"]["content"] == "Answer."
        assert message["message"]["reasoning_content"] == "Thinking."
        with httpx.stream("POST", url + "/v1/chat/completions",
                          json={**body, "stream": True}) as r:
            events = [line[6:] for line in r.iter_lines() if line.startswith("data: {")]
        deltas = [json.loads(e)["choices"][0]["delta"] for e in events]
        assert "".join(d.get("content") or "" for d in deltas) == "Answer."
        assert "".join(d.get("reasoning_content") or "" for d in deltas) == "Thinking."
