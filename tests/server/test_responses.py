"""OpenAI Responses through the official ``openai`` client against a real ``mlxk-serve``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import openai
import pytest

from tests.factory import QA, REASONING, WEATHER
from tests.server.served import CHAT, KEY, REASONER, TOOLS, Served, mlxk_serve

WEATHER_TOOL = {"type": "function", **WEATHER.TOOL["function"]}
FLAG = {"type": "object", "properties": {"ok": {"type": "boolean"},
                                         "mood": {"enum": ["calm", "busy"]}},
        "required": ["ok", "mood"], "additionalProperties": False}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with mlxk_serve(tmp_path_factory.mktemp("responses"), "chat", "reasoning", "tools") as s:
        yield s


@pytest.fixture
def client(served: Served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.url + "/v1", api_key=KEY, max_retries=0)


def _items(response: Any) -> list[dict[str, Any]]:
    """Output items without their ids (generated afresh for every response)."""
    drop = {"id", "call_id"}
    return [{k: v for k, v in item.model_dump(exclude_none=True).items() if k not in drop}
            for item in response.output]


def _both(client: openai.OpenAI, **kwargs: Any) -> tuple[Any, Any, list[Any]]:
    """The whole response, the streamed final response and the stream's events."""
    whole = client.responses.create(**kwargs)
    with client.responses.stream(**kwargs) as stream:
        events = list(stream)
        final = stream.get_final_response()
    return whole, final, events


def test_a_plain_answer_whole_and_streamed(client: openai.OpenAI) -> None:
    whole, final, events = _both(client, model=CHAT, input=QA.FRANCE.question)
    assert whole.output_text == QA.FRANCE.answer and whole.status == "completed"
    assert whole.usage is not None and whole.usage.output_tokens > 0
    assert whole.usage.total_tokens == whole.usage.input_tokens + whole.usage.output_tokens
    assert final.output_text == QA.FRANCE.answer and _items(final) == _items(whole)
    kinds = [e.type for e in events]
    assert kinds[:5] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added",
                         "response.output_text.delta"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == QA.FRANCE.answer
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_instructions_are_the_system_turn(client: openai.OpenAI) -> None:
    (system, _), (_, question) = QA.PIRATE.turns
    reply = client.responses.create(model=CHAT, instructions=system,
                                    input=[{"role": "user", "content": question}])
    assert reply.output_text == QA.PIRATE.answer


def test_max_output_tokens_leaves_it_incomplete(client: openai.OpenAI) -> None:
    reply = client.responses.create(model=CHAT, input=QA.FRANCE.question, max_output_tokens=2)
    assert reply.status == "incomplete" and reply.incomplete_details is not None
    assert reply.incomplete_details.reason == "max_output_tokens"
    assert reply.usage is not None and reply.usage.output_tokens == 2


def test_a_function_tool_round_trip(client: openai.OpenAI) -> None:
    case = WEATHER.BERLIN
    question = [{"role": "user", "content": case.question}]
    whole, final, events = _both(client, model=TOOLS, input=question, tools=[WEATHER_TOOL])
    (call,) = whole.output
    assert (call.type, call.name, json.loads(call.arguments)) == (
        "function_call", "get_weather", case.arguments)
    assert _items(final) == _items(whole)
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert [json.loads(e.arguments) for e in done] == [case.arguments]
    kind = "response.function_call_arguments.delta"
    streamed = "".join(e.delta for e in events if e.type == kind)
    assert json.loads(streamed) == case.arguments
    history = [*question, call.model_dump(exclude_none=True),
               {"type": "function_call_output", "call_id": call.call_id, "output": case.forecast}]
    answer, streamed_answer, _ = _both(client, model=TOOLS, input=history, tools=[WEATHER_TOOL])
    assert answer.output_text == case.answer == streamed_answer.output_text


def test_a_json_schema_format_gives_json_that_validates(client: openai.OpenAI) -> None:
    fmt = {"type": "json_schema", "name": "flag", "schema": FLAG, "strict": True}
    whole, final, _ = _both(client, model=CHAT, input=QA.GREETING.question,
                            text={"format": fmt}, max_output_tokens=120)
    jsonschema.validate(json.loads(whole.output_text), FLAG)
    assert final.output_text == whole.output_text
    assert whole.text is not None and whole.text.format.type == "json_schema"


def test_reasoning_comes_as_a_reasoning_item(client: openai.OpenAI) -> None:
    whole, final, events = _both(client, model=REASONER, input=REASONING.exchange.messages)
    reasoning, message = whole.output
    assert reasoning.type == "reasoning" and message.type == "message"
    assert [c.text for c in reasoning.content] == [REASONING.analysis]
    assert whole.output_text == REASONING.answer
    assert _items(final) == _items(whole)
    thought = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    assert thought == REASONING.analysis


def test_stateless_requests_are_refused_clearly(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(model=CHAT, input="And then?", previous_response_id="resp_1")
    assert "previous_response_id" in caught.value.message
    with pytest.raises(openai.BadRequestError, match="function tools"):
        client.responses.create(model=CHAT, input="hi", tools=[{"type": "web_search"}])
    with pytest.raises(openai.BadRequestError, match="tool"):  # this model has no tool format
        client.responses.create(model=CHAT, input="hi", tools=[WEATHER_TOOL])
