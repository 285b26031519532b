"""Ollama's API through the official ``ollama`` client against a real ``mlxk-serve``."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import ollama
import pytest

from tests.factory import QA, REASONING, STORY, WEATHER
from tests.server.served import BASE, CHAT, KEY, REASONER, TOOLS, Served, mlxk_serve

FLAG = {"type": "object", "properties": {"ok": {"type": "boolean"},
                                         "mood": {"enum": ["calm", "busy"]}},
        "required": ["ok", "mood"], "additionalProperties": False}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ollama")
    with mlxk_serve(root, "chat", "base", "reasoning", "tools") as s:
        yield s


@pytest.fixture
def client(served: Served) -> ollama.Client:
    return ollama.Client(host=served.url, headers={"Authorization": f"Bearer {KEY}"})


def _loaded(client: ollama.Client) -> list[str | None]:
    return [m.model for m in client.ps().models]


def _both(client: ollama.Client, **kwargs: Any) -> tuple[Any, list[Any]]:
    """The whole chat answer and the streamed parts of the same request."""
    return client.chat(**kwargs), list(client.chat(stream=True, **kwargs))


def test_list_show_and_version(client: ollama.Client, served: Served) -> None:
    names = {m.model for m in client.list().models}
    assert names == {f"{r}:latest" for r in (CHAT, BASE, REASONER, TOOLS)}
    tools = client.show(TOOLS)
    assert "tools" in (tools.capabilities or []) and "{% if tools %}" in (tools.template or "")
    assert "tools" not in (client.show(f"{CHAT}:latest").capabilities or [])
    assert "thinking" in (client.show(REASONER).capabilities or [])
    info = tools.modelinfo or {}
    assert info[f"{info['general.architecture']}.context_length"] == json.loads(
        (served.snapshot(TOOLS) / "config.json").read_text())["max_position_embeddings"]
    version = httpx.get(served.url + "/api/version", headers={"Authorization": f"Bearer {KEY}"})
    assert version.status_code == 200 and version.json()["version"]


def test_chat_whole_and_streamed_agree(client: ollama.Client) -> None:
    whole, parts = _both(client, model=f"{CHAT}:latest", messages=QA.FRANCE.messages)
    assert whole.message.content == QA.FRANCE.answer and whole.done
    assert whole.done_reason == "stop" and whole.eval_count and whole.prompt_eval_count
    assert (whole.total_duration or 0) >= (whole.eval_duration or 0) > 0
    assert "".join(p.message.content or "" for p in parts) == QA.FRANCE.answer
    assert [p.done for p in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[-1].eval_count == whole.eval_count


def test_options_map_to_sampling(client: ollama.Client) -> None:
    short = client.chat(model=CHAT, messages=QA.FRANCE.messages, options={"num_predict": 3})
    assert short.done_reason == "length" and short.eval_count == 3
    cut = client.chat(model=CHAT, messages=QA.FRANCE.messages,
                      options={"stop": ["Paris"], "temperature": 0, "seed": 7, "top_k": 1})
    assert cut.message.content == QA.FRANCE.answer.split("Paris")[0]


def test_generate_as_a_chat_turn_or_raw(client: ollama.Client) -> None:
    answer = client.generate(model=CHAT, prompt=QA.FRANCE.question)
    assert answer.response == QA.FRANCE.answer and answer.done_reason == "stop"
    (system, _), (_, question) = QA.PIRATE.turns
    assert client.generate(model=CHAT, prompt=question, system=system).response == (
        QA.PIRATE.answer)
    raw = client.generate(model=BASE, prompt=STORY.prompt, raw=True)
    assert raw.response == STORY.continuation
    parts = list(client.generate(model=BASE, prompt=STORY.prompt, raw=True, stream=True))
    assert "".join(p.response or "" for p in parts) == STORY.continuation


def test_format_as_json_mode_and_as_a_schema(client: ollama.Client) -> None:
    whole, parts = _both(client, model=CHAT, messages=QA.GREETING.messages, format=FLAG,
                         options={"num_predict": 120})
    jsonschema.validate(json.loads(whole.message.content or ""), FLAG)
    assert "".join(p.message.content or "" for p in parts) == whole.message.content
    plain = client.chat(model=CHAT, messages=QA.FRANCE.messages)
    any_json = client.chat(model=CHAT, messages=QA.FRANCE.messages, format="json",
                           options={"num_predict": 120})
    assert plain.message.content == QA.FRANCE.answer  # not JSON unless asked
    assert isinstance(json.loads(any_json.message.content or ""), dict)


def test_tool_calls_then_the_tool_result(client: ollama.Client) -> None:
    case = WEATHER.ROME
    question = [{"role": "user", "content": case.question}]
    whole, parts = _both(client, model=TOOLS, messages=question, tools=[WEATHER.TOOL])
    (call,) = whole.message.tool_calls or []
    assert (call.function.name, dict(call.function.arguments)) == ("get_weather", case.arguments)
    assert whole.message.content == ""
    streamed = [c for p in parts for c in p.message.tool_calls or []]
    assert [(c.function.name, dict(c.function.arguments)) for c in streamed] == [
        ("get_weather", case.arguments)]
    history = [*question, whole.message.model_dump(exclude_none=True),
               {"role": "tool", "tool_name": "get_weather", "content": case.forecast}]
    answer, answer_parts = _both(client, model=TOOLS, messages=history, tools=[WEATHER.TOOL])
    assert answer.message.content == case.answer
    assert "".join(p.message.content or "" for p in answer_parts) == case.answer


def test_thinking_is_its_own_field(client: ollama.Client) -> None:
    whole, parts = _both(client, model=REASONER, messages=REASONING.exchange.messages)
    assert (whole.message.thinking, whole.message.content) == (REASONING.analysis,
                                                               REASONING.answer)
    assert "".join(p.message.thinking or "" for p in parts) == REASONING.analysis
    hidden = client.chat(model=REASONER, messages=REASONING.exchange.messages, think=False)
    assert hidden.message.thinking is None and hidden.message.content == REASONING.answer


def test_keep_alive_zero_unloads_and_ps_shows_it(client: ollama.Client) -> None:
    client.chat(model=CHAT, messages=QA.GREETING.messages, keep_alive="10m")
    (held,) = [m for m in client.ps().models if m.model == f"{CHAT}:latest"]
    assert held.expires_at is not None and held.size
    reply = client.chat(model=CHAT, messages=QA.GREETING.messages, keep_alive=0)
    assert reply.message.content == QA.GREETING.answer
    deadline = time.monotonic() + 10
    while f"{CHAT}:latest" in _loaded(client):
        assert time.monotonic() < deadline, "the model stayed loaded after keep_alive 0"
        time.sleep(0.05)
    loaded = client.generate(model=CHAT, prompt="")  # an empty prompt only loads
    assert loaded.done_reason == "load" and f"{CHAT}:latest" in _loaded(client)
    unloaded = client.generate(model=CHAT, prompt="", keep_alive=0)
    assert unloaded.done_reason == "unload"


def test_a_keep_alive_duration_unloads_when_it_runs_out(client: ollama.Client) -> None:
    client.generate(model=CHAT, prompt=QA.FRANCE.question, keep_alive="1.5s")
    started = time.monotonic()
    assert f"{CHAT}:latest" in _loaded(client)
    while f"{CHAT}:latest" in _loaded(client):
        assert time.monotonic() - started < 15, "the model outlived its keep_alive"
        time.sleep(0.1)
    assert time.monotonic() - started > 1.0


def test_errors_are_ollama_error_bodies(client: ollama.Client, served: Served) -> None:
    with pytest.raises(ollama.ResponseError) as missing:
        client.chat(model="org/nothing:latest", messages=QA.FRANCE.messages)
    assert missing.value.status_code == 404 and "org/nothing" in missing.value.error
    for pull in (lambda: client.pull(CHAT), lambda: client.delete(CHAT),
                 lambda: client.create("x", from_=CHAT)):
        with pytest.raises(ollama.ResponseError) as refused:
            pull()
        assert refused.value.status_code == 403 and "never downloads" in refused.value.error
    with pytest.raises(ollama.ResponseError) as bad:
        client.chat(model=CHAT, messages=QA.FRANCE.messages, keep_alive="soon")
    assert bad.value.status_code == 400 and "keep_alive" in bad.value.error
    anonymous = httpx.get(served.url + "/api/tags")
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"error"}
