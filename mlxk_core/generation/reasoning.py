"""Split model output into reasoning and answer: harmony channels (gpt-oss) and ``<think>`` tags.

Every marker below is consumed, never emitted. ``<think>`` switches to reasoning and
``</think>`` back to the answer. Harmony: ``<|start|>`` opens a header (the role, dropped),
``<|channel|>`` names the channel, ``<|message|>`` opens the body: ``final`` is the answer, any
other channel (``analysis``, ``commentary``) is reasoning, and a body without a channel is the
answer. ``<|end|>``, ``<|return|>`` and ``<|call|>`` close a body; text outside any body counts
as answer, so plain text with no markers is all answer. Leading whitespace of the reasoning and
of the answer is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "Reasoning",
    "ReasoningEvent",
    "ReasoningExtractor",
    "ReasoningKind",
    "format_reasoning",
    "is_reasoning_model",
]

ReasoningKind = Literal["reasoning", "answer"]
_Mode = Literal["reasoning", "answer", "header", "channel"]

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
START, CHANNEL, MESSAGE = "<|start|>", "<|channel|>", "<|message|>"
END, RETURN, CALL, CONSTRAIN = "<|end|>", "<|return|>", "<|call|>", "<|constrain|>"
MARKERS: tuple[str, ...] = (
    THINK_OPEN, THINK_CLOSE, START, CHANNEL, MESSAGE, END, RETURN, CALL, CONSTRAIN
)
_LONGEST = max(map(len, MARKERS))
_CHANNEL_NAME_LIMIT = 64  # a channel header is a word or two; cap what a runaway model can add


@dataclass(frozen=True)
class Reasoning:
    """A whole output split into reasoning and answer."""

    reasoning: str
    answer: str


@dataclass(frozen=True)
class ReasoningEvent:
    """A piece of streamed output, either reasoning or answer text."""

    kind: ReasoningKind
    text: str


def _find_marker(text: str) -> tuple[int, str] | None:
    """The earliest complete marker in ``text`` (markers never contain one another)."""
    pos = text.find("<")
    while pos != -1:
        for marker in MARKERS:
            if text.startswith(marker, pos):
                return pos, marker
        pos = text.find("<", pos + 1)
    return None


def _partial_marker_start(text: str) -> int:
    """Where the longest tail of ``text`` that could still begin a marker starts."""
    for start in range(max(0, len(text) - _LONGEST + 1), len(text)):
        tail = text[start:]
        if tail[0] == "<" and any(marker.startswith(tail) for marker in MARKERS):
            return start
    return len(text)


class ReasoningExtractor:
    """Incremental parser: ``feed`` chunks to get reasoning and answer events, then ``finish``."""

    def __init__(self, *, starts_in_reasoning: bool = False) -> None:
        self._starts_in_reasoning = starts_in_reasoning
        self._mode: _Mode = "reasoning" if starts_in_reasoning else "answer"
        self._pending = ""
        self._channel = ""
        self._started: set[ReasoningKind] = set()

    def extract(self, text: str) -> Reasoning:
        """Split a whole text; independent of this extractor's stream state."""
        parser = ReasoningExtractor(starts_in_reasoning=self._starts_in_reasoning)
        events = parser.feed(text) + parser.finish()
        return Reasoning(
            reasoning="".join(e.text for e in events if e.kind == "reasoning"),
            answer="".join(e.text for e in events if e.kind == "answer"),
        )

    def feed(self, chunk: str) -> list[ReasoningEvent]:
        """Add streamed text; return the events it completes, holding back partial markers."""
        events: list[ReasoningEvent] = []
        pending = self._pending + chunk
        found = _find_marker(pending)
        while found is not None:
            pos, marker = found
            self._emit(pending[:pos], events)
            self._on_marker(marker)
            pending = pending[pos + len(marker) :]
            found = _find_marker(pending)
        cut = _partial_marker_start(pending)
        self._emit(pending[:cut], events)
        self._pending = pending[cut:]
        return events

    def finish(self) -> list[ReasoningEvent]:
        """End of stream: release held-back text (an unfinished marker is plain text)."""
        events: list[ReasoningEvent] = []
        self._emit(self._pending, events)
        self._pending = ""
        return events

    def _emit(self, text: str, events: list[ReasoningEvent]) -> None:
        mode = self._mode
        if mode == "channel":
            self._channel = (self._channel + text)[:_CHANNEL_NAME_LIMIT]
            return
        if mode == "header" or not text:
            return
        if mode not in self._started:
            text = text.lstrip()
            if not text:
                return
            self._started.add(mode)
        if events and events[-1].kind == mode:
            events[-1] = ReasoningEvent(mode, events[-1].text + text)
        else:
            events.append(ReasoningEvent(mode, text))

    def _on_marker(self, marker: str) -> None:
        if marker == THINK_OPEN:
            self._mode = "reasoning"
        elif marker == THINK_CLOSE:
            self._mode = "answer"
        elif marker == START:
            self._mode = "header"
        elif marker == CHANNEL:
            self._mode, self._channel = "channel", ""
        elif marker == MESSAGE and self._mode in ("header", "channel"):
            words = self._channel.split() if self._mode == "channel" else []
            self._mode = "reasoning" if words and words[0] != "final" else "answer"
        elif marker in (END, RETURN, CALL):
            self._mode = "answer"


def is_reasoning_model(
    name: str,
    *,
    chat_template: str | None = None,
    special_tokens: Iterable[str] = (),
    model_type: str | None = None,
) -> bool:
    """Whether a model emits reasoning: the one rule behind ``show``, ``run`` and the server.

    gpt-oss or mxfp4 in its name, the ``gpt_oss`` model type, harmony or ``<think>`` markers in
    its chat template, or think/channel tokens among its special tokens.
    """
    lowered = name.lower()
    if "gpt-oss" in lowered or "mxfp4" in lowered or model_type == "gpt_oss":
        return True
    signs = (CHANNEL, MESSAGE, RETURN, THINK_OPEN)
    if chat_template and any(sign in chat_template for sign in signs):
        return True
    return any(token.strip() in (CHANNEL, THINK_OPEN, THINK_CLOSE) for token in special_tokens)


def format_reasoning(reasoning: str, answer: str, *, hide_reasoning: bool = False) -> str:
    """Render for people: a Reasoning section, a rule, then the Answer (or the answer alone)."""
    reasoning, answer = reasoning.strip(), answer.strip()
    if hide_reasoning or not reasoning:
        return answer
    return f"**[Reasoning]**\n{reasoning}\n\n---\n\n**[Answer]**\n{answer}"
