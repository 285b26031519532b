"""Response formats and forced tool calls compile to llguidance matchers over a real tokenizer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlxk_core import (
    GenerationError,
    GenerationRequest,
    GrammarCompiler,
    GrammarMatcher,
    InvalidRequest,
    NamedToolChoice,
    ResponseFormat,
    Tool,
    ToolFormat,
    request_grammar,
)
from tests.factory.tokenizer import TOOL_TOKENS, train_bpe, write_tokenizer

HERMES = ToolFormat("json_tools", "<tool_call>", "</tool_call>", lambda text, tools: None)
WEATHER = Tool(
    "get_weather",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TIME = Tool("get_time")
PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The factory's tool-calling tokenizer: byte-level BPE plus <tool_call> added tokens."""
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("tokenizer")
    write_tokenizer(train_bpe(), "tools", Path(folder), 8192)
    return AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def compiler(tokenizer: Any) -> GrammarCompiler:
    return GrammarCompiler(tokenizer, eos_token_ids=[tokenizer.eos_token_id])


def chat(**kwargs: Any) -> GenerationRequest:
    return GenerationRequest.chat([("user", "hi")], **kwargs)


def schema_format(schema: dict[str, Any]) -> ResponseFormat:
    return ResponseFormat("json_schema", schema, name="answer")


def walk(matcher: GrammarMatcher, tokenizer: Any, text: str) -> bool:
    """Feed ``text`` token by token, checking each is in the mask; whether the output may end."""
    for token in tokenizer.encode(text, add_special_tokens=False):
        if not matcher.allowed_mask()[token]:
            return False
        matcher.advance(token)
    return bool(matcher.allowed_mask()[tokenizer.eos_token_id])


def accepts(
    compiler: GrammarCompiler, tokenizer: Any, request: GenerationRequest, text: str
) -> bool:
    grammar = request_grammar(request, HERMES, special_tokens=TOOL_TOKENS)
    assert grammar is not None
    return walk(compiler.matcher(grammar), tokenizer, text)


def test_free_text_requests_need_no_grammar() -> None:
    assert request_grammar(chat()) is None
    assert request_grammar(chat(tools=[WEATHER]), HERMES) is None
    assert request_grammar(chat(response_format=ResponseFormat("text"))) is None


def test_a_schema_answer_is_compact_json_then_only_end_of_sequence(
    compiler: GrammarCompiler, tokenizer: Any
) -> None:
    request = chat(response_format=schema_format(PERSON))
    matcher = compiler.matcher(request_grammar(request) or "")
    assert walk(matcher, tokenizer, '{"name": "Bob", "age": 42, "tags": ["a"]}')
    assert matcher.is_done()
    assert np.flatnonzero(matcher.allowed_mask()).tolist() == [tokenizer.eos_token_id]


@pytest.mark.parametrize(
    "text",
    [
        '{\n  "name": "Bob", "age": 42}',
        '{"name": "Bob",  "age": 42}',
        '{"name":"Bob", "age": 42}',
        '{"name": "Bob", "age": 42} ',
        '{"name": "Bob"}',
        '{"name": "Bob", "age": 42, "extra": 1}',
        '{"name": "Bob", "age": "42"}',
    ],
)
def test_extra_whitespace_and_invalid_answers_are_refused(
    text: str, compiler: GrammarCompiler, tokenizer: Any
) -> None:
    request = chat(response_format=schema_format(PERSON))
    assert not accepts(compiler, tokenizer, request, text)


def test_json_object_accepts_any_object_but_nothing_else(
    compiler: GrammarCompiler, tokenizer: Any
) -> None:
    request = GenerationRequest.completion("x", response_format=ResponseFormat("json_object"))
    assert accepts(compiler, tokenizer, request, '{"a": [1, {"b": null}], "c": "d"}')
    assert not accepts(compiler, tokenizer, request, "[1, 2]")


def test_a_forbidden_token_cannot_be_forced_in(compiler: GrammarCompiler, tokenizer: Any) -> None:
    matcher = compiler.matcher(request_grammar(chat(response_format=schema_format(PERSON))) or "")
    (token,) = tokenizer.encode("[", add_special_tokens=False)
    assert not matcher.allowed_mask()[token]
    with pytest.raises(GenerationError, match="constraint"):
        matcher.advance(token)


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "strin"}, "strin"),
        ({"type": "string", "format": "ipv9"}, "ipv9"),
        ({"type": "string", "pattern": "(?<=a)b"}, "look-around"),
        ({"type": "object", "dependentRequired": {"a": ["b"]}}, "dependentRequired"),
        ({"$ref": "#/$defs/missing"}, "missing"),
    ],
)
def test_a_schema_llguidance_cannot_compile_is_refused_naming_the_problem(
    schema: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidRequest, match=problem) as info:
        request_grammar(chat(response_format=schema_format(schema)))
    assert info.value.param == "response_format" and info.value.hint


def test_a_required_call_is_written_in_the_models_markup(
    compiler: GrammarCompiler, tokenizer: Any
) -> None:
    request = chat(tools=[WEATHER, TIME], tool_choice="required", parallel_tool_calls=False)
    grammar = request_grammar(request, HERMES, special_tokens=TOOL_TOKENS) or ""
    matcher = compiler.matcher(grammar)
    start = tokenizer.convert_tokens_to_ids("<tool_call>")
    assert np.flatnonzero(matcher.allowed_mask()).tolist() == [start]  # the marker, one token
    call = '{"name": "get_weather", "arguments": {"city": "Paris"}}'
    assert walk(matcher, tokenizer, f"<tool_call>\n{call}\n</tool_call>") and matcher.is_done()
    for wrong in (
        "The weather is nice.",
        '<tool_call>\n{"name": "get_weather", "arguments": {}}\n</tool_call>',
        '<tool_call>\n{"name": "launch", "arguments": {}}\n</tool_call>',
    ):
        assert not walk(compiler.matcher(grammar), tokenizer, wrong)


def test_a_named_function_is_the_only_call_allowed(
    compiler: GrammarCompiler, tokenizer: Any
) -> None:
    request = chat(tools=[WEATHER, TIME], tool_choice=NamedToolChoice("get_time"))
    assert accepts(
        compiler,
        tokenizer,
        request,
        '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>',
    )
    weather = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>'
    assert not accepts(compiler, tokenizer, request, weather)


def test_parallel_calls_follow_each_other_only_when_allowed(
    compiler: GrammarCompiler, tokenizer: Any
) -> None:
    one = '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>'
    for parallel in (True, False):
        request = chat(tools=[TIME], tool_choice="required", parallel_tool_calls=parallel)
        grammar = request_grammar(request, HERMES, special_tokens=TOOL_TOKENS) or ""
        matcher = compiler.matcher(grammar)
        assert walk(matcher, tokenizer, one) and matcher.is_done() is not parallel
        (newline,) = tokenizer.encode("\n", add_special_tokens=False)
        assert bool(matcher.allowed_mask()[newline]) is parallel
        assert matcher.allowed_mask()[tokenizer.eos_token_id]


def test_auto_with_a_json_format_allows_a_call_or_the_answer(
    compiler: GrammarCompiler, tokenizer: Any
) -> None:
    request = chat(tools=[TIME], response_format=ResponseFormat("json_object"))
    assert accepts(compiler, tokenizer, request, '{"time": "noon"}')
    call = '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>'
    assert accepts(compiler, tokenizer, request, call)
    no_tools = chat(tools=[TIME], tool_choice="none", response_format=ResponseFormat("json_object"))
    assert not accepts(compiler, tokenizer, no_tools, call)


@pytest.mark.parametrize(
    "tool_format",
    [None, ToolFormat("qwen3_coder", "<tool_call>", "</tool_call>", lambda text, tools: None)],
)
def test_a_call_that_cannot_be_enforced_is_refused(tool_format: ToolFormat | None) -> None:
    with pytest.raises(InvalidRequest, match="cannot be enforced") as info:
        request_grammar(chat(tools=[TIME], tool_choice="required"), tool_format)
    assert info.value.param == "tool_choice"


def test_tool_parameters_must_be_an_object_schema() -> None:
    odd = Tool("odd", parameters={"type": "string"})
    with pytest.raises(InvalidRequest, match="object schema") as info:
        request_grammar(chat(tools=[odd], tool_choice="required"), HERMES)
    assert info.value.param == "tools"


def test_matchers_are_independent_per_sequence(compiler: GrammarCompiler, tokenizer: Any) -> None:
    grammar = request_grammar(chat(response_format=ResponseFormat("json_object"))) or ""
    first, second = compiler.matcher(grammar), compiler.matcher(grammar)
    assert walk(first, tokenizer, "{}") and first.is_done()
    assert not second.is_done() and walk(second, tokenizer, '{"a": 1}')


def test_token_bytes_spell_the_text_even_inside_a_character(
    compiler: GrammarCompiler, tokenizer: Any
) -> None:
    text = ' Paris "é" <tool_call>'
    ids = tokenizer.encode(text, add_special_tokens=False)
    pieces = [compiler.token_bytes(token) for token in ids]
    assert b"".join(pieces) == text.encode()
    assert b"\xc3" in pieces  # the tiny BPE spells "é" as two byte tokens
