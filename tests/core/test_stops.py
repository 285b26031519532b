"""Stop strings: streamed output equals the batch cut, and no stop (or part of one) leaks."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from mlxk_core.generation.stops import CHAT_STOPS, FALLBACK_STOPS, StopMatcher, truncate_at_stop


def naive_truncate(text: str, stops: list[str]) -> tuple[str, bool]:
    """Reference: the first end position where a stop ends; the longest such stop wins."""
    stops = [s for s in stops if s]
    for end in range(1, len(text) + 1):
        ending = [s for s in stops if text[:end].endswith(s)]
        if ending:
            return text[: end - max(map(len, ending))], True
    return text, False


def stream(pieces: list[str], stops: list[str]) -> tuple[list[str], str, bool, StopMatcher]:
    """Feed pieces; return every emitted part, the whole output and whether it stopped."""
    matcher = StopMatcher(stops)
    emitted: list[str] = []
    for piece in pieces:
        out, stopped = matcher.feed(piece)
        emitted.append(out)
        if stopped:
            return emitted, "".join(emitted), True, matcher
    emitted.append(matcher.flush())
    return emitted, "".join(emitted), False, matcher


ALPHABET = "abH\n: é🙂"
stop_sets = st.lists(st.text(alphabet=ALPHABET, min_size=1, max_size=6), max_size=5)


@st.composite
def pieces_and_stops(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """Stop sets (with or without the chat turn markers), and token texts built from fragments
    of those stops, fallbacks and noise."""
    stops = draw(stop_sets) + draw(st.sampled_from([[], list(CHAT_STOPS)]))
    fragments = [s[i:j] for s in stops for i in range(len(s)) for j in range(i + 1, len(s) + 1)]
    piece = st.one_of(
        st.text(alphabet=ALPHABET, max_size=4),
        st.sampled_from(["\nHuman:", "\nHu", "man:", "\n", "Human", "ab", "🙂é"]),
        *([st.sampled_from(fragments)] if fragments else []),
    )
    return draw(st.lists(piece, max_size=20)), stops


@settings(max_examples=300, deadline=None)
@given(case=pieces_and_stops())
def test_stream_equals_batch_and_never_leaks(case: tuple[list[str], list[str]]) -> None:
    pieces, stops = case
    text = "".join(pieces)
    emitted, output, stopped, matcher = stream(pieces, stops)
    assert (output, stopped) == truncate_at_stop(text, stops) == naive_truncate(text, stops)
    so_far = ""
    for part in emitted:
        so_far += part
        assert not any(s in so_far for s in stops)
    if stopped:
        assert matcher.stopped
        assert text.startswith(output)
        assert any(text[len(output) :].startswith(s) for s in stops)
        assert matcher.matched in stops and text[len(output) :].startswith(matcher.matched)
    else:
        assert matcher.matched is None


@settings(max_examples=200, deadline=None)
@given(case=pieces_and_stops())
def test_held_back_tail_is_short_and_only_a_stop_prefix(case: tuple[list[str], list[str]]) -> None:
    pieces, stops = case
    matcher = StopMatcher(stops)
    longest = max((len(s) for s in stops), default=1)
    for piece in pieces:
        _, stopped = matcher.feed(piece)
        if stopped:
            break
        held = matcher.held
        assert len(held) <= longest - 1
        assert held == "" or any(s.startswith(held) for s in stops)


def test_partial_stop_is_held_then_released_when_it_cannot_match() -> None:
    matcher = StopMatcher(FALLBACK_STOPS)
    assert matcher.feed("Hello\nHu") == ("Hello", False)
    assert matcher.feed("mble") == ("\nHumble", False)
    assert matcher.feed(" pie\n") == (" pie", False)
    assert matcher.feed("Human: next") == ("", True)
    assert matcher.stopped
    assert matcher.feed("more") == ("", True)
    assert matcher.flush() == ""


def test_chat_turn_markers_split_over_tokens_are_cut_before_the_first() -> None:
    tokens = ["Paris", ".", "\n", "Human", ":", " Spain", "?", "\n", "Assistant", ":", " M"]
    emitted, output, stopped, _ = stream(tokens, list(CHAT_STOPS))
    assert (output, stopped) == ("Paris.", True)
    assert emitted == ["Paris", ".", "", "", ""]
    for marker in CHAT_STOPS:
        assert truncate_at_stop(f"ok{marker} more", CHAT_STOPS) == ("ok", True)
        assert stream(list(f"ok{marker} more"), list(CHAT_STOPS))[1] == "ok"


def test_stop_split_over_tokens_is_cut_before_it() -> None:
    matcher = StopMatcher(["</answer>"])
    assert matcher.feed("42</an") == ("42", False)
    assert matcher.feed("swer> trailing") == ("", True)


def test_flush_releases_a_partial_stop_at_end_of_stream() -> None:
    matcher = StopMatcher(["STOP"])
    assert matcher.feed("go ST") == ("go ", False)
    assert matcher.flush() == "ST"


def test_no_stops_passes_text_through() -> None:
    matcher = StopMatcher([])
    assert matcher.feed("anything\nHuman:") == ("anything\nHuman:", False)
    assert truncate_at_stop("abc", ["", ""]) == ("abc", False)


def test_stop_at_very_start_gives_empty_output() -> None:
    assert truncate_at_stop("\nUser: hi", FALLBACK_STOPS) == ("", True)


def test_thousands_of_stops_stay_fast() -> None:
    stops = [f"stop-{i:05d}-marker" for i in range(5000)]
    matcher = StopMatcher(stops)
    start = time.perf_counter()
    for _ in range(2000):
        out, stopped = matcher.feed("stop-0 some token text ")
        assert not stopped
    assert matcher.feed("stop-04999-marker") == ("", True)
    assert time.perf_counter() - start < 2.0
