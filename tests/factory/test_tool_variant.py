"""The tool-calling factory model: mlx-lm sees a json_tools model, and it calls get_weather."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factory import REPO_IDS, WEATHER, snapshot_dir
from tests.factory.tokenizer import TOOL_TOKENS

Install = Callable[[str], str]


@pytest.fixture
def loaded(install_model: Install, hf_cache: Path) -> tuple[Any, Any]:
    import mlx_lm

    return mlx_lm.load(str(snapshot_dir(hf_cache, install_model("tools"))))  # type: ignore[no-any-return]


def _greedy(model: Any, tokenizer: Any, messages: list[Any]) -> str:
    from mlx_lm import stream_generate

    prompt = tokenizer.apply_chat_template(
        messages, tools=[WEATHER.TOOL], add_generation_prompt=True
    )
    return "".join(r.text for r in stream_generate(model, tokenizer, prompt, max_tokens=80))


def test_mlx_lm_infers_the_json_tools_parser_from_the_template(loaded: tuple[Any, Any]) -> None:
    _, tokenizer = loaded
    assert REPO_IDS["tools"] == "test-org/tiny-tool-caller"
    assert tokenizer.has_tool_calling
    assert (tokenizer.tool_call_start, tokenizer.tool_call_end) == TOOL_TOKENS
    assert tokenizer.tool_parser.__module__ == "mlx_lm.tool_parsers.json_tools"
    added = {t.content: t for t in tokenizer.added_tokens_decoder.values()}
    assert all(marker in added and not added[marker].special for marker in TOOL_TOKENS)
    assert tokenizer.tool_call_start_tokens == (tokenizer.convert_tokens_to_ids("<tool_call>"),)


@pytest.mark.parametrize("case", WEATHER.CASES, ids=lambda c: c.city)
def test_greedy_generation_calls_the_tool_for_the_city(case: Any, loaded: tuple[Any, Any]) -> None:
    model, tokenizer = loaded
    text = _greedy(model, tokenizer, case.messages())
    assert text == case.call_text
    body = text.removeprefix(tokenizer.tool_call_start).removesuffix(tokenizer.tool_call_end)
    assert tokenizer.tool_parser(body, [WEATHER.TOOL]) == {
        "name": "get_weather",
        "arguments": {"city": case.city},
    }


@pytest.mark.parametrize("case", WEATHER.CASES, ids=lambda c: c.city)
def test_after_the_tool_result_it_answers_with_it(case: Any, loaded: tuple[Any, Any]) -> None:
    model, tokenizer = loaded
    assert _greedy(model, tokenizer, case.messages(with_result=True)) == case.answer
    assert case.forecast in case.answer


def test_a_greeting_gets_a_plain_answer_though_the_tool_is_offered(
    loaded: tuple[Any, Any],
) -> None:
    model, tokenizer = loaded
    assert _greedy(model, tokenizer, WEATHER.GREETING.messages) == WEATHER.GREETING.answer
