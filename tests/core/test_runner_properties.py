"""Properties of the generation path: streams equal batches, stops never leak, prefix reuse."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mlxk_core.backends.fake import FakeBackend
from mlxk_core.cache.records import Health, ModelFacts, ResolvedModel
from mlxk_core.generation.prompt_cache import reusable_prefix
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.runner import Runner
from mlxk_core.generation.sequence import starts_in_reasoning
from mlxk_core.generation.stops import CHAT_STOPS, truncate_at_stop

MODEL = ResolvedModel("org/fake", Path("."), ModelFacts(), Health(True))
pieces = st.lists(st.text(alphabet="abAB \n:", min_size=1, max_size=4), min_size=1, max_size=12)
stops = st.lists(st.text(alphabet="abAB \n:", min_size=1, max_size=3), max_size=3)
# token texts that spell the chat turn markers in pieces (split anywhere), near misses and noise
turn_pieces = st.lists(
    st.one_of(
        st.text(alphabet="abHuman \n:", min_size=1, max_size=3),
        st.sampled_from(
            [s[i:j] for s in CHAT_STOPS for i in range(len(s)) for j in range(i + 1, len(s) + 1)]
        ),
        st.sampled_from(["\nHumane", "\nYour", "User:", "Assistant: ", "\n\n"]),
    ),
    min_size=1,
    max_size=16,
)


@settings(max_examples=150, deadline=None)
@given(script=pieces, stop=stops)
def test_streamed_text_equals_the_batch_cut_and_holds_no_stop(
    script: list[str], stop: list[str]
) -> None:
    with Runner(MODEL, backend=FakeBackend(script)) as runner:
        request = GenerationRequest.chat([("user", "hi")], stop=stop)
        chunks = list(runner.stream(request))
        completion = runner.generate(request)
    streamed = "".join(c.text for c in chunks)
    expected, _ = truncate_at_stop("".join(script), stop)
    assert streamed == completion.text == expected
    assert chunks[-1].finish_reason == "stop"
    assert all(s not in streamed for s in stop)


@settings(max_examples=150, deadline=None)
@given(script=turn_pieces, stop=stops, template=st.booleans())
def test_chat_never_shows_a_turn_marker_and_raw_completions_keep_them(
    script: list[str], stop: list[str], template: bool
) -> None:
    with Runner(MODEL, backend=FakeBackend(script, chat_template=template)) as runner:
        chat = GenerationRequest.chat([("user", "hi")], stop=stop)
        raw = GenerationRequest.completion("hi", stop=stop)
        streamed = "".join(c.text for c in runner.stream(chat))
        whole = runner.generate(chat).text
        raw_streamed = "".join(c.text for c in runner.stream(raw))
        raw_whole = runner.generate(raw).text
    text = "".join(script)
    assert streamed == whole == truncate_at_stop(text, [*stop, *CHAT_STOPS])[0]
    assert not any(marker in streamed for marker in CHAT_STOPS)
    assert raw_streamed == raw_whole == truncate_at_stop(text, stop)[0]


tokens = st.lists(st.integers(0, 3), max_size=8)


@given(cached=tokens, prompt=tokens)
def test_reusable_prefix_is_common_and_leaves_a_token_to_feed(
    cached: list[int], prompt: list[int]
) -> None:
    keep = reusable_prefix(cached, prompt)
    assert cached[:keep] == prompt[:keep]
    assert keep < len(prompt) or keep == 0


def test_full_match_backs_off_one_token() -> None:
    assert reusable_prefix([1, 2, 3, 4], [1, 2, 3]) == 2
    assert reusable_prefix([1, 2, 9], [1, 2, 3, 4]) == 2


def test_open_think_block_in_the_prompt_starts_the_output_in_reasoning() -> None:
    assert starts_in_reasoning("<|im_start|>assistant\n<think>\n")
    assert not starts_in_reasoning("<think>done</think>answer")
    assert not starts_in_reasoning("plain")
