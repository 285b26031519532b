"""The fallback Human:/Assistant: transcript for tokenizers without a chat template."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mlxk_core.generation.chat_format import fallback_transcript
from mlxk_core.generation.request import ChatMessage
from mlxk_core.generation.stops import FALLBACK_STOPS, truncate_at_stop


def test_system_then_turns_then_assistant_cue() -> None:
    messages = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "Hi"),
        ChatMessage("assistant", "Hello"),
        ChatMessage("user", "2+2?"),
    ]
    assert fallback_transcript(messages) == (
        "Be brief.\n\nHuman: Hi\nAssistant: Hello\nHuman: 2+2?\nAssistant:"
    )


def test_without_system_starts_with_the_first_turn() -> None:
    assert fallback_transcript([ChatMessage("user", "Hi")]) == "Human: Hi\nAssistant:"


def test_several_system_messages_come_first_in_order() -> None:
    messages = [
        ChatMessage("system", "One."),
        ChatMessage("user", "Hi"),
        ChatMessage("system", "Two."),
    ]
    assert fallback_transcript(messages) == "One.\n\nTwo.\n\nHuman: Hi\nAssistant:"


@settings(max_examples=100, deadline=None)
@given(
    turns=st.lists(
        st.tuples(st.sampled_from(["user", "assistant"]), st.text("ab é\t:", max_size=10)),
        min_size=1,
        max_size=6,
    )
)
def test_each_turn_is_one_speaker_line_and_fallback_stops_find_them(
    turns: list[tuple[str, str]],
) -> None:
    messages = [ChatMessage(role, text) for role, text in turns]  # type: ignore[arg-type]
    prompt = fallback_transcript(messages)
    speaker = {"user": "Human", "assistant": "Assistant"}
    assert prompt.split("\n") == [f"{speaker[r]}: {t}" for r, t in turns] + ["Assistant:"]
    # the stops cut the prompt right after the first turn: the model cannot run into a new turn
    first, stopped = truncate_at_stop(prompt, FALLBACK_STOPS)
    assert (first, stopped) == (f"{speaker[turns[0][0]]}: {turns[0][1]}", True)
