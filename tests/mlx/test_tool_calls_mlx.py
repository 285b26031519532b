"""Tool calls on the factory tool-calling model: the backend ToolFormat, real streamed output."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlxk_core import ChatMessage, InvalidRequest, Tool, ToolCall, ToolCallExtractor, ToolOutput
from mlxk_core.backends.mlx import MlxBackend
from tests.factory import WEATHER, snapshot_dir

Install = Callable[[str], str]
GET_WEATHER = Tool(
    WEATHER.TOOL["function"]["name"],
    WEATHER.TOOL["function"]["description"],
    WEATHER.TOOL["function"]["parameters"],
)


@pytest.fixture
def backend() -> Any:
    backend = MlxBackend()
    yield backend
    backend.close()


def _load(backend: MlxBackend, install_model: Install, hf_cache: Path, variant: str) -> Any:
    repo_id = install_model(variant)
    return backend.load(snapshot_dir(hf_cache, repo_id), name=repo_id)


def _stream(backend: MlxBackend, messages: list[ChatMessage], tools: list[Tool]) -> list[str]:
    """Greedy text segments as a stream delivers them (the backend's own detokenizer)."""
    import mlx.core as mx
    from mlx_lm.generate import generate_step

    tok = backend.tokenizer
    prompt = tok.apply_chat_template(
        [m.as_dict() for m in messages],
        tools=[t.as_dict() for t in tools],
        add_generation_prompt=True,
    )
    detokenizer, segments = backend.detokenizer(), []
    for token, _ in generate_step(mx.array(prompt), backend.model, max_tokens=80):
        if token in tok.eos_token_ids:
            break
        detokenizer.add_token(token)
        segments.append(detokenizer.last_segment)
    detokenizer.finalize()
    return [*segments, detokenizer.last_segment]


def _extract(extractor: ToolCallExtractor, segments: list[str]) -> ToolOutput:
    outputs = [extractor.feed(s) for s in segments] + [extractor.finish()]
    return ToolOutput("".join(o.text for o in outputs), tuple(c for o in outputs for c in o.calls))


def test_the_loaded_model_reports_mlx_lms_json_tools_format(
    backend: MlxBackend, install_model: Install, hf_cache: Path
) -> None:
    from mlx_lm.tool_parsers import json_tools

    info = _load(backend, install_model, hf_cache, "tools")
    fmt = info.tool_format
    assert (fmt.parser, fmt.start, fmt.end, fmt.json_body) == (
        "json_tools",
        "<tool_call>",
        "</tool_call>",
        True,
    )
    assert fmt.parse is json_tools.parse_tool_call
    assert {"<tool_call>", "</tool_call>"} <= set(info.special_tokens)


def test_a_model_without_tool_markup_has_no_tool_format(
    backend: MlxBackend, install_model: Install, hf_cache: Path
) -> None:
    assert _load(backend, install_model, hf_cache, "chat").tool_format is None


def test_an_explicit_parser_overrides_the_models_own(
    install_model: Install, hf_cache: Path
) -> None:
    from mlx_lm.tool_parsers import qwen3_coder

    backend = MlxBackend(tool_parser="qwen3_coder")
    try:
        fmt = _load(backend, install_model, hf_cache, "chat").tool_format
    finally:
        backend.close()
    assert (fmt.parser, fmt.parse, fmt.json_body) == (
        "qwen3_coder",
        qwen3_coder.parse_tool_call,
        False,
    )


def test_an_unknown_parser_is_refused_naming_the_choices(
    install_model: Install, hf_cache: Path
) -> None:
    backend = MlxBackend(tool_parser="no_such_parser")
    with pytest.raises(InvalidRequest, match="no_such_parser") as info:
        _load(backend, install_model, hf_cache, "tools")
    assert "json_tools" in (info.value.hint or "") and info.value.param == "tool_parser"
    assert not backend.loaded


@pytest.mark.parametrize("case", WEATHER.CASES, ids=lambda c: c.city)
def test_a_streamed_answer_becomes_a_call_then_the_result_becomes_an_answer(
    case: Any, backend: MlxBackend, install_model: Install, hf_cache: Path
) -> None:
    info = _load(backend, install_model, hf_cache, "tools")
    question = [ChatMessage("user", case.question)]
    segments = _stream(backend, question, [GET_WEATHER])
    assert len([s for s in segments if s]) > 3  # really streamed in pieces
    out = _extract(ToolCallExtractor(info.tool_format, [GET_WEATHER]), segments)
    assert out.text == "" and len(out.calls) == 1
    call = out.calls[0]
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": case.city})

    history = [
        *question,
        ChatMessage("assistant", tool_calls=(ToolCall(call.name, call.arguments, call.id),)),
        ChatMessage("tool", case.forecast, tool_call_id=call.id),
    ]
    answer = _extract(
        ToolCallExtractor(info.tool_format, [GET_WEATHER]),
        _stream(backend, history, [GET_WEATHER]),
    )
    assert answer == ToolOutput(case.answer, ())
