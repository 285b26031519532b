"""Tools, structured output and logprobs through the official openai client, and an agent loop
(the OpenAI Agents SDK) against the server on the trained tiny tool-calling model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import openai
import pytest

from tests.factory import QA, WEATHER, build_model
from tests.reliability.servertools import serve_factory

TOOL = WEATHER.TOOL
CITY = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                                         "days": {"type": "integer", "minimum": 1,
                                                  "maximum": 9}},
        "required": ["city", "days"], "additionalProperties": False}


@pytest.fixture
def served(hf_cache: Path) -> Iterator[tuple[openai.OpenAI, str, str]]:
    tools = build_model("tools", hf_cache)
    chat = build_model("chat", hf_cache)
    with serve_factory(hf_cache, max_loaded_models=2) as url:
        yield openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0), tools, chat


def test_a_tool_call_whole_and_streamed_then_the_answer_from_its_result(served) -> None:
    client, tools, _ = served
    case = WEATHER.ROME
    messages = [{"role": "user", "content": case.question}]
    reply = client.chat.completions.create(model=tools, messages=messages, tools=[TOOL])
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": case.city}

    stream = client.chat.completions.create(model=tools, messages=messages, tools=[TOOL],
                                            stream=True)
    parts = [c.choices[0] for c in stream if c.choices]
    deltas = [d for p in parts for d in (p.delta.tool_calls or [])]
    assert deltas[0].index == 0 and deltas[0].id and deltas[0].function.name == "get_weather"
    arguments = "".join(d.function.arguments or "" for d in deltas)
    assert json.loads(arguments) == {"city": case.city}
    assert not "".join(p.delta.content or "" for p in parts)
    assert parts[-1].finish_reason == "tool_calls"

    history = [*messages,
               {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
               {"role": "tool", "tool_call_id": call.id, "content": case.forecast}]
    answer = client.chat.completions.create(model=tools, messages=history, tools=[TOOL])
    assert answer.choices[0].message.content == case.answer
    assert answer.choices[0].finish_reason == "stop"


def test_tool_choice_required_and_refusals(served) -> None:
    client, tools, chat = served
    greet = [{"role": "user", "content": WEATHER.GREETING.question}]
    forced = client.chat.completions.create(model=tools, messages=greet, tools=[TOOL],
                                            tool_choice="required")
    assert [c.function.name for c in forced.choices[0].message.tool_calls] == ["get_weather"]
    named = client.chat.completions.create(
        model=tools, messages=greet, tools=[TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert named.choices[0].finish_reason == "tool_calls"
    with pytest.raises(openai.BadRequestError, match="cannot call tools"):
        client.chat.completions.create(model=chat, messages=greet, tools=[TOOL])
    bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object",
           "properties": {"a": {"type": "string", "pattern": "(?<=a)b"}}}}}
    with pytest.raises(openai.BadRequestError, match="response_format"):
        client.chat.completions.create(model=chat, messages=greet, response_format=bad)


def test_response_format_json_schema_validates_whole_and_streamed(served) -> None:
    client, _, chat = served
    fmt = {"type": "json_schema", "json_schema": {"name": "city", "schema": CITY,
                                                  "strict": True}}
    for turns in (QA.FRANCE.messages, QA.GREETING.messages):
        reply = client.chat.completions.create(model=chat, messages=turns, response_format=fmt,
                                               max_tokens=120)
        jsonschema.validate(json.loads(reply.choices[0].message.content or ""), CITY)
        stream = client.chat.completions.create(model=chat, messages=turns, stream=True,
                                                response_format=fmt, max_tokens=120)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == reply.choices[0].message.content


def test_logprobs_chat_and_completions(served) -> None:
    client, _, chat = served
    reply = client.chat.completions.create(model=chat, messages=QA.FRANCE.messages,
                                           logprobs=True, top_logprobs=3)
    content = reply.choices[0].logprobs.content
    assert "".join(t.token for t in content).strip() == reply.choices[0].message.content
    assert all(len(t.top_logprobs) == 3 and t.logprob <= 0 for t in content)
    assert all(t.top_logprobs[0].logprob == pytest.approx(t.logprob, abs=1e-5) for t in content)
    text = client.completions.create(model=chat, prompt="Once upon a time", max_tokens=6,
                                     logprobs=2)
    lp = text.choices[0].logprobs
    assert "".join(lp.tokens) == text.choices[0].text
    assert len(lp.token_logprobs) == len(lp.tokens) == len(lp.top_logprobs) == 6
    assert lp.text_offset[0] == 0


def test_an_agent_framework_runs_the_whole_tool_loop(served) -> None:
    from agents import (
        Agent,
        FunctionTool,
        ModelSettings,
        OpenAIChatCompletionsModel,
        Runner,
        set_tracing_disabled,
    )

    client, tools, _ = served
    set_tracing_disabled(True)
    calls: list[str] = []

    async def get_weather(context: object, arguments: str) -> str:
        city = json.loads(arguments)["city"]
        calls.append(city)
        return {c.city: c.forecast for c in WEATHER.CASES}[city]

    spec = TOOL["function"]  # the tool as the tiny model learnt it
    tool = FunctionTool(name=spec["name"], description=spec["description"],
                        params_json_schema=spec["parameters"], on_invoke_tool=get_weather,
                        strict_json_schema=False)
    async_client = openai.AsyncOpenAI(base_url=str(client.base_url), api_key="none")
    agent = Agent(name="weather", model=OpenAIChatCompletionsModel(tools, async_client),
                  tools=[tool], model_settings=ModelSettings(temperature=0))
    result = asyncio.run(Runner.run(agent, WEATHER.PARIS.question))
    assert calls == ["Paris"]
    assert result.final_output == WEATHER.PARIS.answer
