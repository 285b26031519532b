"""Requests carry tools, a tool choice, a response format and logprobs; results carry calls."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mlxk_core import (
    ChatMessage,
    Chunk,
    Completion,
    GenerationParams,
    GenerationRequest,
    InvalidRequest,
    NamedToolChoice,
    ResponseFormat,
    Timings,
    TokenLogprob,
    Tool,
    ToolCall,
    ToolCallDelta,
    TopLogprob,
    Usage,
)

WEATHER = Tool(
    "get_weather",
    "Get the weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = Tool("get_time")


def _invalid(param: str, build: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as info:
        build()
    assert info.value.param == param
    return info.value


def test_existing_constructor_calls_keep_working() -> None:
    usage, timings = Usage(3, 2), Timings(None, 1.0, 1.0, 0)
    assert ChatMessage("user", "hi") == ChatMessage(role="user", content="hi")
    completion = Completion("text", "stop", usage, timings)
    assert (completion.tool_calls, completion.logprobs, completion.reasoning) == ((), None, None)
    chunk = Chunk("a", "b", "length", usage, timings)
    assert (chunk.tool_calls, chunk.logprobs) == ((), ())
    request = GenerationRequest.chat([("user", "hi")], temperature=0.5)
    assert (request.tools, request.tool_choice, request.response_format) == ((), "auto", None)
    assert GenerationParams().logprobs is False and GenerationParams().top_logprobs == 0


def test_a_tool_round_trip_history_renders_for_a_chat_template() -> None:
    call = ToolCall("get_weather", '{"city": "Paris"}')
    history = [
        ChatMessage("user", "Weather in Paris?"),
        ChatMessage("assistant", tool_calls=(call,)),
        ChatMessage("tool", "sunny", tool_call_id=call.id),
    ]
    request = GenerationRequest.chat(history, tools=[WEATHER])
    assert [m.as_dict() for m in request.messages or ()] == [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": {"city": "Paris"}},
                }
            ],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": call.id},
    ]
    assert WEATHER.as_dict() == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather in a city.",
            "parameters": dict(WEATHER.parameters),
        },
    }
    assert TIME.as_dict()["function"]["parameters"] == {"type": "object", "properties": {}}


def test_tool_call_ids_look_like_openai_ids_and_arguments_are_json_objects() -> None:
    first, second = ToolCall("get_time"), ToolCall("get_time", "  ")
    assert re.fullmatch(r"call_[0-9a-f]{24}", first.id) and first.id != second.id
    assert (first.arguments, second.arguments) == ("{}", "{}")
    assert ToolCall("f", "{}", "call_model_1").id == "call_model_1"
    _invalid("messages", lambda: ToolCall("get_time", "{not json"))
    _invalid("messages", lambda: ToolCall("get_time", "[1, 2]"))
    _invalid("messages", lambda: ToolCall("get time"))


@pytest.mark.parametrize(
    "build",
    [
        lambda: ChatMessage("tool", "sunny"),
        lambda: ChatMessage("user", "hi", tool_call_id="call_1"),
        lambda: ChatMessage("user", "hi", tool_calls=(ToolCall("f"),)),
        lambda: ChatMessage("assistant", tool_calls=({"name": "f"},)),  # type: ignore[arg-type]
        lambda: ChatMessage("tool", "x", tool_call_id=""),
        lambda: ChatMessage("robot", "hi"),  # type: ignore[arg-type]
    ],
)
def test_malformed_messages_are_refused(build: Any) -> None:
    _invalid("messages", build)


@pytest.mark.parametrize(
    ("param", "kwargs"),
    [
        ("tools", {"tools": [WEATHER, WEATHER]}),
        ("tools", {"tools": [{"name": "f"}]}),
        ("tool_choice", {"tool_choice": "required"}),
        ("tool_choice", {"tools": [WEATHER], "tool_choice": "sometimes"}),
        ("tool_choice", {"tools": [WEATHER], "tool_choice": NamedToolChoice("get_time")}),
        ("parallel_tool_calls", {"tools": [WEATHER], "parallel_tool_calls": "yes"}),
        ("response_format", {"response_format": {"type": "json_object"}}),
    ],
)
def test_inconsistent_tool_requests_name_the_parameter(param: str, kwargs: Any) -> None:
    _invalid(param, lambda: GenerationRequest.chat([("user", "hi")], **kwargs))


def test_tool_definitions_are_checked() -> None:
    _invalid("tools", lambda: Tool("bad name!"))
    _invalid("tools", lambda: Tool("f", parameters=[1]))  # type: ignore[arg-type]
    _invalid("tools", lambda: GenerationRequest(prompt="Once", tools=(WEATHER,)))
    _invalid("tool_choice", lambda: NamedToolChoice(""))


def test_forcing_a_call_is_required_or_a_named_function() -> None:
    chat = [("user", "hi")]
    assert not GenerationRequest.chat(chat, tools=[WEATHER]).forces_tool_call
    assert not GenerationRequest.chat(chat, tools=[WEATHER], tool_choice="none").forces_tool_call
    assert GenerationRequest.chat(chat, tools=[WEATHER], tool_choice="required").forces_tool_call
    named = NamedToolChoice("get_weather")
    assert GenerationRequest.chat(chat, tools=[WEATHER, TIME], tool_choice=named).forces_tool_call


@pytest.mark.parametrize(
    "build",
    [
        lambda: ResponseFormat("json_schema", name="answer"),
        lambda: ResponseFormat("json_schema", {"type": "object"}),
        lambda: ResponseFormat("json_schema", {"type": "object"}, name="has space"),
        lambda: ResponseFormat("json_object", {"type": "object"}),
        lambda: ResponseFormat("yaml"),  # type: ignore[arg-type]
    ],
)
def test_malformed_response_formats_are_refused(build: Any) -> None:
    _invalid("response_format", build)


def test_response_formats_for_completions_and_chats() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fmt = ResponseFormat("json_schema", schema, name="count", strict=True)
    assert GenerationRequest.completion("Count:", response_format=fmt).response_format == fmt
    assert GenerationRequest.chat([("user", "hi")], response_format=fmt).response_format == fmt


@pytest.mark.parametrize(
    ("param", "kwargs"),
    [
        ("top_logprobs", {"logprobs": True, "top_logprobs": 21}),
        ("top_logprobs", {"logprobs": True, "top_logprobs": -1}),
        ("top_logprobs", {"logprobs": True, "top_logprobs": True}),
        ("top_logprobs", {"top_logprobs": 3}),
        ("logprobs", {"logprobs": 1}),
    ],
)
def test_logprob_options_are_checked(param: str, kwargs: Any) -> None:
    _invalid(param, lambda: GenerationParams(**kwargs))


def test_logprob_options_within_range() -> None:
    assert GenerationParams(logprobs=True, top_logprobs=20).top_logprobs == 20
    assert GenerationRequest.chat([("user", "hi")], logprobs=True).params.logprobs


def test_token_logprobs_carry_exact_bytes_even_for_part_of_a_character() -> None:
    vocab = {1: "é".encode()[:1], 2: b" Paris", 3: "é".encode()[1:]}
    entry = TokenLogprob.from_ids(1, -0.25, [(1, -0.25), (2, -1.5)], vocab.__getitem__)
    assert entry.token == "\\xc3" and entry.bytes == (0xC3,) and entry.logprob == -0.25
    assert entry.top_logprobs == (
        TopLogprob("\\xc3", -0.25, (0xC3,)),
        TopLogprob(" Paris", -1.5, tuple(b" Paris")),
    )
    assert bytes(entry.bytes + TokenLogprob.from_ids(3, 0.0, [], vocab.__getitem__).bytes) == (
        "é".encode()
    )


def test_a_complete_call_streams_as_one_openai_style_delta() -> None:
    call = ToolCall("get_weather", json.dumps({"city": "Rome"}))
    delta = ToolCallDelta.whole(2, call)
    assert (delta.index, delta.id, delta.name, delta.arguments) == (
        2,
        call.id,
        "get_weather",
        call.arguments,
    )
