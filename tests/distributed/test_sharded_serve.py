"""`mlxk serve --ranks 2`: the openai client gets the text one process gives, streamed or not,
for concurrent requests too; /health shows the group and what each rank holds."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

from mlxk_core.cache.store import store_snapshot
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.runner import Runner
from mlxk_core.settings import Settings
from tests.distributed.conftest import CHAT, Served, random_model, serve_group
from tests.factory import QA, Exchange

EXCHANGES = (QA.FRANCE, QA.GREETING, QA.PIRATE, QA.NAME_RECALL)


@pytest.fixture(scope="module")
def expected(chat_cache: Path) -> dict[Exchange, str]:
    """Each exchange's greedy answer from one process (the engine on the plain MLX backend)."""
    with Runner(CHAT, settings=Settings(cache_dir=chat_cache)) as runner:
        return {
            e: runner.generate(GenerationRequest.chat(e.turns, temperature=0)).text
            for e in EXCHANGES
        }


@pytest.fixture(scope="module")
def served(chat_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("serve") / "server.log"
    with serve_group(chat_cache, CHAT, log) as group:
        yield group


@pytest.fixture
def client(served: Served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0)


def _ask(client: openai.OpenAI, turns: tuple[tuple[str, str], ...], stream: bool) -> str:
    messages = [{"role": role, "content": text} for role, text in turns]
    if not stream:
        done = client.chat.completions.create(model=CHAT, messages=messages,  # type: ignore[arg-type]
                                              temperature=0)
        return done.choices[0].message.content or ""
    chunks = client.chat.completions.create(model=CHAT, messages=messages,  # type: ignore[arg-type]
                                            temperature=0, stream=True)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_whole_and_streamed_answers_are_the_one_process_text(
    client: openai.OpenAI, expected: dict[Exchange, str]
) -> None:
    for exchange in EXCHANGES[:2]:
        assert _ask(client, exchange.turns, stream=False) == expected[exchange]
        assert _ask(client, exchange.turns, stream=True) == expected[exchange]
    assert expected[QA.FRANCE] == QA.FRANCE.answer


def test_four_concurrent_requests_are_decoded_together_and_each_is_right(
    client: openai.OpenAI, expected: dict[Exchange, str]
) -> None:
    jobs = [(e, i % 2 == 0) for i, e in enumerate(EXCHANGES)]
    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(lambda job: _ask(client, job[0].turns, job[1]), jobs))
    assert answers == [expected[e] for e, _ in jobs]


def test_health_shows_the_group_and_what_each_rank_holds(served: Served) -> None:
    doc = httpx.get(served.url + "/health", timeout=10).json()
    assert doc["status"] == "ok"
    group = doc["group"]
    assert (group["backend"], group["size"], group["status"], group["mode"]) == (
        "ring", 2, "ok", "tensor"
    )
    ranks = group["ranks"]
    assert [r["rank"] for r in ranks] == [0, 1]
    assert all(r["weights"] > 0 for r in ranks)
    assert "tensor parallel over 2 ranks" in served.log.read_text()


@pytest.mark.slow
def test_pipeline_parallel_serves_concurrent_seeded_requests_as_one_process(
    tmp_path: Path,
) -> None:
    """Pipeline ranks exchange activations point to point: concurrent prompts fed together
    must reach them in one order (an untrained ministral3; seeded sampling shows any slip)."""
    folder = random_model(tmp_path / "m3", "ministral3", num_hidden_layers=4, rope_parameters={
        "rope_type": "default", "rope_theta": 10000.0, "llama_4_scaling_beta": 0.1,
        "original_max_position_embeddings": 8192,
    })
    cache = tmp_path / "hub"
    store_snapshot(cache, "test-org/m3", {p.name: p for p in sorted(folder.iterdir())})
    questions = ["Hello there", "Tell me a story", "What is my name?", "hi"]
    params = {"temperature": 1.0, "top_p": 1.0, "seed": 5, "max_tokens": 25}
    with Runner("test-org/m3", settings=Settings(cache_dir=cache)) as runner:
        alone = [runner.generate(GenerationRequest.chat([("user", q)], **params)).text
                 for q in questions]
    with serve_group(cache, "test-org/m3", tmp_path / "log", "--sharding", "pipeline") as served:
        client = openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0)

        def ask(question: str) -> str:
            done = client.chat.completions.create(
                model="test-org/m3", messages=[{"role": "user", "content": question}], **params
            )
            return done.choices[0].message.content or ""

        with ThreadPoolExecutor(len(questions)) as pool:
            assert list(pool.map(ask, questions)) == alone
        assert "pipeline parallel over 2 ranks" in served.log.read_text()
