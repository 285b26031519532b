"""The server on the factory's tiny trained models (real MLX), driven by the openai client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from mlxk_core.settings import Settings
from mlxk_server.app import create_app
from mlxk_server.config import ServerSettings
from tests.factory import QA, REASONING, STORY, build_model
from tests.server.conftest import running


@pytest.fixture(scope="module")
def factory_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("factory") / "hub"
    cache.mkdir()
    for variant in ("chat", "base", "reasoning", "small-context"):
        build_model(variant, cache)
    return cache


@pytest.fixture(scope="module")
def url(factory_cache: Path) -> Iterator[str]:
    app = create_app(ServerSettings(core=Settings(cache_dir=factory_cache), max_loaded_models=1))
    with running(app) as base:
        yield base


@pytest.fixture
def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)


CHAT_ID = "mlx-community/tiny-chat"


def _stream_text(client: openai.OpenAI, **kwargs: object) -> str:
    chunks = client.chat.completions.create(stream=True, **kwargs)  # type: ignore[call-overload]
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_models_lists_the_runnable_cache(client):
    ids = {m.id for m in client.models.list()}
    assert {CHAT_ID, "test-org/tiny-base", "test-org/tiny-ctx"} <= ids
    assert client.models.retrieve(CHAT_ID).id == CHAT_ID


def test_chat_stream_and_whole_agree(client):
    whole = client.chat.completions.create(model=CHAT_ID, messages=QA.FRANCE.messages)
    assert whole.choices[0].message.content == QA.FRANCE.answer
    assert whole.choices[0].finish_reason == "stop"
    assert _stream_text(client, model=CHAT_ID, messages=QA.FRANCE.messages) == QA.FRANCE.answer


def test_stop_string_is_cut_from_stream_and_whole(client):
    stop = "Paris"
    cut = QA.FRANCE.answer.split(stop)[0]
    whole = client.chat.completions.create(model=CHAT_ID, messages=QA.FRANCE.messages, stop=stop)
    assert whole.choices[0].message.content == cut
    assert whole.choices[0].finish_reason == "stop"
    assert _stream_text(client, model=CHAT_ID, messages=QA.FRANCE.messages, stop=[stop]) == cut


def test_eight_concurrent_streams_get_what_they_get_alone(client):
    exchanges = [QA.ALL[i % len(QA.ALL)] for i in range(8)]
    results: dict[int, str] = {}

    def ask(i: int) -> None:
        results[i] = _stream_text(client, model=CHAT_ID, messages=exchanges[i].messages)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [results.get(i) for i in range(8)] == [e.answer for e in exchanges]


def test_prompt_cache_is_reused_for_a_shared_prefix(client):
    first = client.chat.completions.create(model=CHAT_ID, messages=QA.NAME_INTRO.messages)
    assert first.choices[0].message.content == QA.NAME_INTRO.answer
    again = client.chat.completions.create(model=CHAT_ID, messages=QA.NAME_RECALL.messages)
    assert again.choices[0].message.content == QA.NAME_RECALL.answer
    assert again.usage.prompt_tokens_details.cached_tokens > 0
    same = client.chat.completions.create(model=CHAT_ID, messages=QA.NAME_RECALL.messages)
    assert same.choices[0].message.content == QA.NAME_RECALL.answer  # exact match still served


def test_hot_swap_between_models(client, url):
    text = client.completions.create(model="test-org/tiny-base", prompt=STORY.prompt)
    assert text.choices[0].text == STORY.continuation  # leading space kept, as Runner gives it
    loaded = [m["id"] for m in httpx.get(url + "/health").json()["loaded"]]
    assert loaded == ["test-org/tiny-base"]
    chat = client.chat.completions.create(model=CHAT_ID, messages=QA.GREETING.messages)
    assert chat.choices[0].message.content == QA.GREETING.answer
    assert [m["id"] for m in httpx.get(url + "/v1/loaded").json()["data"]] == [CHAT_ID]


def test_reasoning_is_separated(client):
    reply = client.chat.completions.create(
        model="test-org/tiny-gpt-oss", messages=REASONING.exchange.messages
    )
    message = reply.choices[0].message
    assert message.content == REASONING.answer
    assert message.reasoning_content == REASONING.analysis  # type: ignore[attr-defined]


def test_half_context_default_on_small_context_model(client):
    prompt = "a a a a a a"  # the tiny model never stops after this one
    reply = client.completions.create(model="test-org/tiny-ctx", prompt=prompt)
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 256 // 2
    long_prompt = " ".join(["a"] * 240)
    capped = client.completions.create(
        model="test-org/tiny-ctx", prompt=long_prompt, max_tokens=10**6
    )
    assert capped.choices[0].finish_reason == "length"
    assert capped.usage.total_tokens == 256  # an explicit value is honoured up to the context
