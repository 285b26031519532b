"""Tool-call markup is split from answer text, streaming, and parsed; garbled calls stay text."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlxk_core import ReasoningExtractor, Tool, ToolCallExtractor, ToolFormat, ToolOutput


def json_body(text: str, tools: Any = None) -> Any:
    """The body parser of mlx-lm's json_tools format (the same one line), kept mlx-free here."""
    return json.loads(text.strip())


def body_before_bar(text: str, tools: Any = None) -> Any:
    """A parser with an unusual contract, to show any parser callable fits."""
    name, _, arguments = text.partition("|")
    return [{"name": name, "arguments": json.loads(arguments or "{}"), "id": "call_model"}]


HERMES = ToolFormat("json_tools", "<tool_call>", "</tool_call>", json_body)
TO_THE_END = ToolFormat("custom", "[CALL]", "", body_before_bar)
TOOLS = (Tool("get_weather"), Tool("get_time"))


def call_text(name: str, arguments: dict[str, Any]) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": arguments}) + "\n</tool_call>"


def stream(extractor: ToolCallExtractor, pieces: list[str]) -> ToolOutput:
    outputs = [extractor.feed(p) for p in pieces] + [extractor.finish()]
    return ToolOutput("".join(o.text for o in outputs), tuple(c for o in outputs for c in o.calls))


def summary(output: ToolOutput) -> tuple[str, list[tuple[str, Any]]]:
    return output.text, [(c.name, json.loads(c.arguments)) for c in output.calls]


def test_a_call_is_parsed_and_its_markup_never_reaches_the_text() -> None:
    text = "Let me check.\n" + call_text("get_weather", {"city": "Paris"}) + "\n"
    out = ToolCallExtractor(HERMES, TOOLS).extract(text)
    assert summary(out) == ("Let me check.", [("get_weather", {"city": "Paris"})])
    assert re.fullmatch(r"call_[0-9a-f]{24}", out.calls[0].id)


def test_parallel_calls_keep_their_order_and_the_text_around_them() -> None:
    text = (
        call_text("get_weather", {"city": "Paris"})
        + "\n"
        + call_text("get_time", {})
        + "\nDone, <b>bold</b> <tool_ca"
    )
    out = ToolCallExtractor(HERMES, TOOLS).extract(text)
    assert summary(out) == (
        "Done, <b>bold</b> <tool_ca",
        [("get_weather", {"city": "Paris"}), ("get_time", {})],
    )
    assert len({c.id for c in out.calls}) == 2


def test_without_parallel_calls_only_the_first_is_kept(caplog: pytest.LogCaptureFixture) -> None:
    text = call_text("get_weather", {"city": "Rome"}) + call_text("get_time", {})
    with caplog.at_level(logging.WARNING, logger="mlxk"):
        out = ToolCallExtractor(HERMES, TOOLS, parallel=False).extract(text)
    assert summary(out) == ("", [("get_weather", {"city": "Rome"})])
    assert "get_time" in caplog.text


@pytest.mark.parametrize(
    "garbled",
    [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": </tool_call>',
        '<tool_call>{"name": "launch_rockets", "arguments": {}}</tool_call>',
        "<tool_call>[1, 2]</tool_call>",
        '<tool_call>{"name": "get weather"}</tool_call>',
        '<tool_call>{"name": "get_weather", "arguments": "{oops"}</tool_call>',
    ],
)
def test_a_garbled_call_becomes_text_with_a_warning(
    garbled: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="mlxk"):
        out = ToolCallExtractor(HERMES, TOOLS).extract("Sure. " + garbled + " Sorry.")
    assert summary(out) == ("Sure. " + garbled + " Sorry.", [])
    assert [r.name for r in caplog.records] == ["mlxk"] and "kept as text" in caplog.text


def test_a_parser_that_raises_anything_does_not_break_the_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def explode(text: str, tools: Any) -> Any:
        raise KeyError("surprise")

    broken = ToolFormat("odd", "<tool_call>", "</tool_call>", explode)
    with caplog.at_level(logging.WARNING, logger="mlxk"):
        out = ToolCallExtractor(broken).extract("<tool_call>x</tool_call>")
    assert out == ToolOutput("<tool_call>x</tool_call>", ())
    assert "surprise" in caplog.text


def test_a_call_cut_off_at_the_end_is_parsed_if_it_can_be() -> None:
    whole = '<tool_call>\n{"name": "get_time", "arguments": {}}\n'
    assert summary(ToolCallExtractor(HERMES, TOOLS).extract(whole)) == ("", [("get_time", {})])
    cut = '<tool_call>\n{"name": "get_time", "argu'
    assert summary(ToolCallExtractor(HERMES, TOOLS).extract("Hi " + cut)) == ("Hi " + cut, [])


def test_a_format_without_end_marker_runs_to_the_end_and_keeps_the_model_id() -> None:
    extractor = ToolCallExtractor(TO_THE_END, TOOLS)
    out = stream(extractor, ["Checking [CA", "LL]get_weather|", '{"city": "Berlin"}'])
    assert summary(out) == ("Checking", [("get_weather", {"city": "Berlin"})])
    assert out.calls[0].id == "call_model" and extractor.calls_made == 1


def test_without_declared_tools_any_well_formed_call_is_accepted() -> None:
    out = ToolCallExtractor(HERMES).extract(call_text("anything", {"x": [1, "é"]}))
    assert summary(out) == ("", [("anything", {"x": [1, "é"]})])
    assert out.calls[0].arguments == '{"x": [1, "é"]}'


def test_reasoning_then_a_call_splits_into_reasoning_and_a_call() -> None:
    raw = "<think>The user wants the weather.</think>\n\n" + call_text(
        "get_weather", {"city": "Rome"}
    )
    reasoning, tools = ReasoningExtractor(), ToolCallExtractor(HERMES, TOOLS)
    events = [e for piece in re.findall(r".{1,3}", raw, re.S) for e in reasoning.feed(piece)]
    events += reasoning.finish()
    answer = stream(tools, [e.text for e in events if e.kind == "answer"])
    thought = "".join(e.text for e in events if e.kind == "reasoning")
    assert thought == "The user wants the weather."
    assert summary(answer) == ("", [("get_weather", {"city": "Rome"})])


# Text made of the characters markers are built from, plus whole and broken markers and calls.
ATOMS = st.one_of(
    st.text(alphabet="<>/_ toolca\n{}\"'x", max_size=8),
    st.sampled_from(["<tool_call>", "</tool_call>", "<tool_", "</tool", " ", "\n", "é"]),
    st.builds(
        call_text,
        st.sampled_from(["get_weather", "get_time", "nope"]),
        st.dictionaries(st.sampled_from("abc"), st.integers(), max_size=2),
    ),
)


@st.composite
def text_and_cuts(draw: st.DrawFn) -> tuple[str, list[str]]:
    text = "".join(draw(st.lists(ATOMS, max_size=8)))
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=6)))
    bounds = [0, *cuts, len(text)]
    return text, [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


@settings(max_examples=300, deadline=None)
@given(text_and_cuts(), st.booleans())
def test_any_split_gives_the_same_text_and_calls(
    case: tuple[str, list[str]], parallel: bool
) -> None:
    text, pieces = case
    whole = ToolCallExtractor(HERMES, TOOLS, parallel=parallel).extract(text)
    assert summary(stream(ToolCallExtractor(HERMES, TOOLS, parallel=parallel), pieces)) == (
        summary(whole)
    )


SEGMENTS = st.lists(
    st.one_of(
        st.text(alphabet="ab <>/\n", max_size=6).filter(lambda t: "<tool_call>" not in t),
        st.tuples(
            st.sampled_from(["get_weather", "get_time"]),
            st.dictionaries(st.sampled_from(["city", "n"]), st.text(max_size=4), max_size=2),
        ),
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(SEGMENTS)
def test_every_well_formed_call_comes_out_and_all_other_text_stays(segments: list[Any]) -> None:
    rendered = "".join(s if isinstance(s, str) else call_text(*s) for s in segments)
    text, calls = summary(ToolCallExtractor(HERMES, TOOLS).extract(rendered))
    assert calls == [s for s in segments if not isinstance(s, str)]
    kept = "".join(s for s in segments if isinstance(s, str))
    assert "".join(text.split()) == "".join(kept.split())  # only whitespace next to calls goes
