"""Reasoning extraction: harmony and <think> formats, streaming equals batch, no marker leaks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mlxk_core.generation.reasoning import (
    MARKERS,
    Reasoning,
    ReasoningEvent,
    ReasoningExtractor,
    format_reasoning,
    is_reasoning_model,
)

HARMONY = (
    "<|channel|>analysis<|message|>User asks 2+2. Simple.<|end|>"
    "<|start|>assistant<|channel|>final<|message|>2 + 2 = 4.<|return|>"
)


def stream(text: str, cuts: list[int], *, starts_in_reasoning: bool = False) -> Reasoning:
    """Feed ``text`` cut at ``cuts``; join the events per kind."""
    parser = ReasoningExtractor(starts_in_reasoning=starts_in_reasoning)
    bounds = [0, *sorted(set(cuts)), len(text)]
    events: list[ReasoningEvent] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        events += parser.feed(text[start:end])
    events += parser.finish()
    return Reasoning(
        reasoning="".join(e.text for e in events if e.kind == "reasoning"),
        answer="".join(e.text for e in events if e.kind == "answer"),
    )


def test_harmony_channels() -> None:
    result = ReasoningExtractor().extract(HARMONY)
    assert result == Reasoning("User asks 2+2. Simple.", "2 + 2 = 4.")


def test_harmony_final_until_end_of_text_and_commentary_is_reasoning() -> None:
    text = (
        "<|channel|>commentary to=functions.lookup <|constrain|>json<|message|>{}<|call|>"
        "<|channel|>final<|message|>Done"
    )
    assert ReasoningExtractor().extract(text) == Reasoning("{}", "Done")


def test_harmony_text_before_any_header_is_answer() -> None:
    text = "Plain start<|channel|>analysis<|message|>hmm<|end|>"
    assert ReasoningExtractor().extract(text) == Reasoning("hmm", "Plain start")


def test_think_tags_strip_leading_answer_whitespace() -> None:
    text = "<think>\nLet me add.\n</think>\n\nThe sum is 4."
    assert ReasoningExtractor().extract(text) == Reasoning("Let me add.\n", "The sum is 4.")


def test_prompt_opened_think() -> None:
    parser = ReasoningExtractor(starts_in_reasoning=True)
    assert parser.extract("pondering</think>answer") == Reasoning("pondering", "answer")
    assert parser.extract("still thinking") == Reasoning("still thinking", "")


def test_no_markers_is_all_answer() -> None:
    assert ReasoningExtractor().extract("Just 4 < 5 and a > b.") == Reasoning(
        "", "Just 4 < 5 and a > b."
    )


def test_stream_holds_back_partial_markers_only() -> None:
    parser = ReasoningExtractor()
    assert parser.feed("Hi <") == [ReasoningEvent("answer", "Hi ")]
    assert parser.feed("b") == [ReasoningEvent("answer", "<b")]
    assert parser.feed(" <thi") == [ReasoningEvent("answer", " ")]
    assert parser.feed("nk>deep") == [ReasoningEvent("reasoning", "deep")]
    assert parser.feed("</think>ok <|re") == [ReasoningEvent("answer", "ok ")]
    assert parser.finish() == [ReasoningEvent("answer", "<|re")]


def test_extract_ignores_stream_state() -> None:
    parser = ReasoningExtractor()
    parser.feed("<think>half")
    assert parser.extract("plain") == Reasoning("", "plain")


channel_headers = st.sampled_from(
    [
        "<|channel|>analysis<|message|>",
        "<|channel|>final<|message|>",
        "<|channel|>commentary to=functions.f <|constrain|>json<|message|>",
        "<|start|>assistant<|channel|>final<|message|>",
        "<|start|>assistant",
        "analysis",
        "final",
    ]
)
# Word pieces may begin a marker ("<", "<|", "<th") but never finish one, so any marker in the
# text comes from a marker piece and a marker in the output would be a leak.
words = st.sampled_from(
    ["think", "answer", " ", "\n", "4", "<", "<|", "<th", "a<b", "x>y", "é🙂", "|"]
)
pieces = st.lists(st.one_of(st.sampled_from(MARKERS), channel_headers, words), max_size=25)


@settings(max_examples=300, deadline=None)
@given(parts=pieces, data=st.data(), starts_in_reasoning=st.booleans())
def test_every_split_matches_extract_and_no_marker_leaks(
    parts: list[str], data: st.DataObject, starts_in_reasoning: bool
) -> None:
    text = "".join(parts)
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=12))
    whole = ReasoningExtractor(starts_in_reasoning=starts_in_reasoning).extract(text)
    assert stream(text, cuts, starts_in_reasoning=starts_in_reasoning) == whole
    for marker in MARKERS:
        assert marker not in whole.reasoning and marker not in whole.answer
    assert whole.answer == whole.answer.lstrip() and whole.reasoning == whole.reasoning.lstrip()


@settings(max_examples=50, deadline=None)
@given(text=st.text(alphabet="ab <>/|\n", max_size=40))
def test_text_without_markers_is_all_answer(text: str) -> None:
    if not any(marker in text for marker in MARKERS):
        assert ReasoningExtractor().extract(text) == Reasoning("", text.lstrip())


def test_is_reasoning_model() -> None:
    assert is_reasoning_model("mlx-community/gpt-oss-20b-MXFP4-Q8")
    assert is_reasoning_model("someone/model-MXFP4")
    assert is_reasoning_model("x/qwen3", chat_template="{{ '<think>\\n' }}")
    assert is_reasoning_model("x/y", chat_template="<|start|>{{ role }}<|channel|>")
    assert is_reasoning_model("x/r1-distill", special_tokens=["<|endoftext|>", "</think>"])
    assert not is_reasoning_model(
        "mlx-community/Llama-3.2-1B-Instruct-4bit",
        chat_template="<|start_header_id|>{{ role }}<|end_header_id|>",
        special_tokens=["<|eot_id|>"],
    )


def test_format_reasoning() -> None:
    assert format_reasoning(" why\n", "\n4 ") == (
        "**[Reasoning]**\nwhy\n\n---\n\n**[Answer]**\n4"
    )
    assert format_reasoning("why", "4", hide_reasoning=True) == "4"
    assert format_reasoning("  ", "4") == "4"
