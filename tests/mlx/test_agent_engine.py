"""Tool calls, structured output and logprobs through the engine (Runner) on trained tiny models."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

import jsonschema
import pytest

from mlxk_core import (
    ChatMessage,
    GenerationRequest,
    InvalidRequest,
    NamedToolChoice,
    ResponseFormat,
    Runner,
    Tool,
    ToolCall,
)
from tests.factory import QA, WEATHER

Install = Callable[[str], str]
WEATHER_TOOL = Tool(
    "get_weather", "Get the weather in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
FLAG = {"type": "object", "properties": {"ok": {"type": "boolean"},
                                         "mood": {"enum": ["calm", "busy"]}},
        "required": ["ok", "mood"], "additionalProperties": False}
CITY = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                                         "days": {"type": "integer", "minimum": 1,
                                                  "maximum": 9}},
        "required": ["city", "days"], "additionalProperties": False}


@pytest.fixture(scope="module")
def tools_runner(model_factory: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.factory import build_model, snapshot_dir

    cache = tmp_path_factory.mktemp("agent-hub")
    with Runner(snapshot_dir(cache, build_model("tools", cache))) as runner:
        yield runner


def _ask(case: Any, **kw: Any) -> GenerationRequest:
    return GenerationRequest.chat([("user", case.question)], tools=[WEATHER_TOOL], **kw)


@pytest.mark.parametrize("case", WEATHER.CASES, ids=lambda c: c.city)
def test_the_model_calls_the_tool_and_no_markup_reaches_the_text(tools_runner: Runner,
                                                                   case: Any) -> None:
    chunks = list(tools_runner.stream(_ask(case)))
    completion = tools_runner.generate(_ask(case))
    assert completion.finish_reason == "tool_calls"
    assert completion.text == "" and "".join(c.text for c in chunks) == ""
    (call,) = completion.tool_calls
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": case.city}
    assert call.id.startswith("call_")
    streamed = [d for c in chunks for d in c.tool_calls]
    assert [(d.index, d.name, json.loads(d.arguments)) for d in streamed] == [
        (0, "get_weather", {"city": case.city})]
    assert chunks[-1].finish_reason == "tool_calls"


def test_a_tool_result_turn_gets_an_answer_that_uses_it(tools_runner: Runner) -> None:
    case = WEATHER.BERLIN
    call = ToolCall("get_weather", json.dumps({"city": case.city}), "call_0")
    history = [
        ChatMessage("user", case.question),
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", case.forecast, tool_call_id="call_0"),
    ]
    answer = tools_runner.generate(GenerationRequest(messages=tuple(history),
                                                     tools=(WEATHER_TOOL,)))
    assert answer.text == case.answer and answer.tool_calls == ()
    assert answer.finish_reason == "stop"


def test_required_and_named_tool_choice_force_a_call(tools_runner: Runner) -> None:
    greeting = [("user", WEATHER.GREETING.question)]
    plain = tools_runner.generate(GenerationRequest.chat(greeting, tools=[WEATHER_TOOL]))
    assert plain.tool_calls == () and plain.text == WEATHER.GREETING.answer
    for choice in ("required", NamedToolChoice("get_weather")):
        forced = tools_runner.generate(
            GenerationRequest.chat(greeting, tools=[WEATHER_TOOL], tool_choice=choice))
        assert [c.name for c in forced.tool_calls] == ["get_weather"], choice
        assert forced.finish_reason == "tool_calls"
    none = tools_runner.generate(_ask(WEATHER.PARIS, tool_choice="none"))
    assert none.tool_calls == ()


def test_tools_on_a_model_without_tool_calling_are_refused(install_model: Install) -> None:
    with Runner(install_model("chat")) as runner, pytest.raises(InvalidRequest, match="tool"):
        runner.generate(GenerationRequest.chat(QA.FRANCE.turns, tools=[WEATHER_TOOL]))


def test_schema_answers_validate_alone_and_eight_at_once(install_model: Install) -> None:
    # bounded schemas: a constraint bounds whitespace, not what an untrained model writes
    formats = [ResponseFormat("json_schema", CITY, "city"), ResponseFormat("json_schema", FLAG,
                                                                            "flag")]
    with Runner(install_model("chat")) as runner:
        def ask(i: int) -> str:
            request = GenerationRequest.chat(
                QA.ALL[i % len(QA.ALL)].turns, response_format=formats[i % 2],
                temperature=0.8, seed=i, max_tokens=120)
            return runner.generate(request).text

        alone = [ask(i) for i in range(2)]
        together: dict[int, str] = {}
        threads = [threading.Thread(target=lambda i=i: together.__setitem__(i, ask(i)))
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    for i, text in [*enumerate(alone), *together.items()]:
        jsonschema.validate(json.loads(text), CITY if i % 2 == 0 else FLAG)
    assert together[0] == alone[0] and together[1] == alone[1]  # seeded: same alone or batched


def test_logprobs_spell_the_answer_and_rank_the_alternatives(install_model: Install) -> None:
    with Runner(install_model("chat")) as runner:
        request = GenerationRequest.chat(QA.FRANCE.turns, logprobs=True, top_logprobs=2)
        completion = runner.generate(request)
        plain = runner.generate(GenerationRequest.chat(QA.FRANCE.turns))
    assert plain.logprobs is None
    assert completion.logprobs is not None and completion.text == QA.FRANCE.answer
    spelled = b"".join(bytes(lp.bytes) for lp in completion.logprobs).decode()
    assert spelled.strip() == QA.FRANCE.answer
    for lp in completion.logprobs:
        assert lp.logprob <= 0 and len(lp.top_logprobs) == 2
        assert lp.top_logprobs[0].logprob >= lp.top_logprobs[1].logprob
        assert math.isclose(lp.top_logprobs[0].logprob, lp.logprob, abs_tol=1e-5)  # greedy
