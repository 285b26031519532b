"""The server (real MLX backend) on a chat model that runs on into made-up turns, via `openai`.

Chat completions end before the first ``\\nHuman:``/``\\nAssistant:``/``\\nUser:``/``\\nYou:``,
streamed or not; a raw completion of the very same prompt text keeps them (no chat, no cut).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from mlxk_core.settings import Settings
from mlxk_server.app import create_app
from mlxk_server.config import ServerSettings
from tests.factory import QA, RUN_ON, build_model, snapshot_dir
from tests.server.conftest import running


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hub = tmp_path_factory.mktemp("run-on") / "hub"
    hub.mkdir()
    build_model("run-on", hub)
    return hub


@pytest.fixture(scope="module")
def client(cache: Path) -> Iterator[openai.OpenAI]:
    app = create_app(ServerSettings(core=Settings(cache_dir=cache)))
    with running(app) as url:
        yield openai.OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0)


MODEL = "test-org/tiny-run-on"


def test_chat_answer_ends_before_the_made_up_turn(client: openai.OpenAI) -> None:
    whole = client.chat.completions.create(model=MODEL, messages=RUN_ON.messages, temperature=0)
    assert whole.choices[0].message.content == QA.FRANCE.answer
    assert whole.choices[0].finish_reason == "stop"


def test_streamed_chat_equals_the_whole_answer(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=RUN_ON.messages, temperature=0, stream=True
    ))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == QA.FRANCE.answer
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_raw_completion_of_the_same_prompt_keeps_the_turns(
    client: openai.OpenAI, cache: Path
) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(snapshot_dir(cache, MODEL))
    prompt = tokenizer.apply_chat_template(
        RUN_ON.messages, tokenize=False, add_generation_prompt=True
    )
    whole = client.completions.create(model=MODEL, prompt=prompt, temperature=0, max_tokens=80)
    assert whole.choices[0].text == RUN_ON.answer
    streamed = client.completions.create(
        model=MODEL, prompt=prompt, temperature=0, max_tokens=80, stream=True
    )
    assert "".join(c.choices[0].text for c in streamed if c.choices) == RUN_ON.answer
