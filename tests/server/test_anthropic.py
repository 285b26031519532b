"""Anthropic Messages through the official ``anthropic`` client against a real ``mlxk-serve``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from transformers import AutoTokenizer

from tests.factory import QA, REASONING, WEATHER
from tests.server.served import CHAT, KEY, REASONER, TOOLS, Served, mlxk_serve

WEATHER_TOOL = {
    "name": "get_weather",
    "description": WEATHER.TOOL["function"]["description"],
    "input_schema": WEATHER.TOOL["function"]["parameters"],
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with mlxk_serve(tmp_path_factory.mktemp("anthropic"), "chat", "reasoning", "tools") as s:
        yield s


@pytest.fixture
def client(served: Served) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=served.url, api_key=KEY, max_retries=0)


def _dump(message: Any) -> list[dict[str, Any]]:
    """A message's content blocks as plain values (a streamed final message has extra fields)."""
    keep = {"type", "text", "thinking", "id", "name", "input"}
    return [{k: v for k, v in b.model_dump().items() if k in keep} for b in message.content]


def _both(client: anthropic.Anthropic, **kwargs: Any) -> tuple[Any, Any, str]:
    """The whole message, the streamed final message and the streamed text of one request."""
    whole = client.messages.create(**kwargs)
    with client.messages.stream(**kwargs) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    return whole, final, text


def test_a_plain_answer_whole_and_streamed(client: anthropic.Anthropic) -> None:
    whole, final, text = _both(client, model=CHAT, max_tokens=64, messages=QA.FRANCE.messages)
    assert _dump(whole) == [{"type": "text", "text": QA.FRANCE.answer}]
    assert whole.stop_reason == "end_turn" and whole.stop_sequence is None
    assert whole.role == "assistant" and whole.model == CHAT and whole.id.startswith("msg_")
    assert whole.usage.output_tokens > 0
    assert whole.usage.input_tokens + whole.usage.cache_read_input_tokens > 0
    assert text == QA.FRANCE.answer
    assert _dump(final) == _dump(whole) and final.stop_reason == "end_turn"


def test_the_system_prompt_is_the_system_turn(client: anthropic.Anthropic) -> None:
    (system, _), (_, question) = QA.PIRATE.turns
    reply = client.messages.create(model=CHAT, max_tokens=64, system=system,
                                   messages=[{"role": "user", "content": question}])
    assert reply.content[0].text == QA.PIRATE.answer


def test_stop_sequences_and_max_tokens_say_why_it_stopped(client: anthropic.Anthropic) -> None:
    cut = QA.FRANCE.answer.split("Paris")[0]
    whole, final, text = _both(client, model=CHAT, max_tokens=64, messages=QA.FRANCE.messages,
                               stop_sequences=["Paris", "never"])
    for message in (whole, final):
        assert message.content[0].text == cut
        assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "Paris")
    assert text == cut
    short = client.messages.create(model=CHAT, max_tokens=2, messages=QA.FRANCE.messages)
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens == 2


def test_a_tool_use_block_then_a_tool_result_turn(client: anthropic.Anthropic) -> None:
    case = WEATHER.PARIS
    ask = {"model": TOOLS, "max_tokens": 64, "tools": [WEATHER_TOOL]}
    question = [{"role": "user", "content": case.question}]
    whole, final, text = _both(client, messages=question, **ask)
    (block,) = whole.content
    assert (block.type, block.name, block.input) == ("tool_use", "get_weather", case.arguments)
    assert whole.stop_reason == "tool_use" and text == ""
    assert _dump(final)[0] | {"id": block.id} == _dump(whole)[0]  # ids differ, calls do not
    assert final.stop_reason == "tool_use"
    history = [*question, {"role": "assistant", "content": whole.content},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id,
                                             "content": case.forecast}]}]
    answer, streamed, text = _both(client, messages=history, **ask)
    assert _dump(answer) == [{"type": "text", "text": case.answer}] == _dump(streamed)
    assert answer.stop_reason == "end_turn" and text == case.answer


def test_forcing_a_named_tool_gives_its_call(client: anthropic.Anthropic) -> None:
    reply = client.messages.create(
        model=TOOLS, max_tokens=128, tools=[WEATHER_TOOL], messages=WEATHER.GREETING.messages,
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    (block,) = reply.content
    assert block.type == "tool_use" and block.name == "get_weather"
    assert set(block.input) == {"city"} and reply.stop_reason == "tool_use"


def test_thinking_blocks_only_when_thinking_is_enabled(client: anthropic.Anthropic) -> None:
    ask = {"model": REASONER, "max_tokens": 128, "messages": REASONING.exchange.messages}
    thinking = {"type": "enabled", "budget_tokens": 1024}
    whole, final, text = _both(client, thinking=thinking, **ask)
    assert _dump(whole) == [{"type": "thinking", "thinking": REASONING.analysis},
                            {"type": "text", "text": REASONING.answer}]
    assert _dump(final) == _dump(whole) and text == REASONING.answer
    plain = client.messages.create(**ask)
    assert _dump(plain) == [{"type": "text", "text": REASONING.answer}]


def test_count_tokens_is_the_prompt_under_the_chat_template(
    client: anthropic.Anthropic, served: Served
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(served.snapshot(TOOLS))
    messages = WEATHER.ROME.messages()

    def expected(**extra: Any) -> int:
        return len(tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                                 return_dict=False, **extra))

    plain = client.messages.count_tokens(model=TOOLS, messages=messages)
    tooled = client.messages.count_tokens(model=TOOLS, messages=messages, tools=[WEATHER_TOOL])
    assert plain.input_tokens == expected()
    assert tooled.input_tokens == expected(tools=[WEATHER.TOOL]) > plain.input_tokens


def test_a_bad_key_is_a_401_in_anthropics_shape(served: Served) -> None:
    bad = anthropic.Anthropic(base_url=served.url, api_key="wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as caught:
        bad.messages.create(model=CHAT, max_tokens=8, messages=QA.FRANCE.messages)
    assert caught.value.status_code == 401
    body = caught.value.response.json()
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error"
    bearer = httpx.post(served.url + "/v1/messages/count_tokens", headers={
        "Authorization": f"Bearer {KEY}"}, json={"model": CHAT, "messages": QA.FRANCE.messages})
    assert bearer.status_code == 200  # a bearer token works as well as x-api-key


def test_refusals_are_400s_in_anthropics_shape(
    client: anthropic.Anthropic, served: Served
) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": "iVBORw0KGgo="}}
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=CHAT, max_tokens=8, messages=[
            {"role": "user", "content": [image, {"type": "text", "text": "What is this?"}]}])
    assert "image" in caught.value.response.json()["error"]["message"]
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="org/nothing", max_tokens=8, messages=QA.FRANCE.messages)
    assert missing.value.response.json()["error"]["type"] == "not_found_error"
    no_budget = httpx.post(served.url + "/v1/messages", headers={"x-api-key": KEY},
                           json={"model": CHAT, "messages": QA.FRANCE.messages})
    assert no_budget.status_code == 400
    assert no_budget.json()["type"] == "error"
    assert "max_tokens" in no_budget.json()["error"]["message"]
