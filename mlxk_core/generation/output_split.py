"""Decoded text into what a client sees: reasoning, answer text and tool calls, streaming.

The reasoning split runs first (thinking never holds a tool call), then the answer text goes
through the tool-call extractor, so markup of either kind never reaches the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlxk_core.generation.reasoning import ReasoningEvent, ReasoningExtractor
from mlxk_core.generation.tool_types import ToolCall
from mlxk_core.generation.tools import ToolCallExtractor

__all__ = ["OutputPiece", "OutputSplitter"]


@dataclass(frozen=True)
class OutputPiece:
    """What a piece of decoded text released: answer text, reasoning, completed tool calls."""

    text: str = ""
    reasoning: str = ""
    calls: tuple[ToolCall, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.text or self.reasoning or self.calls)


class OutputSplitter:
    """Streams decoded text through the reasoning split, then the tool-call extractor."""

    def __init__(
        self, reasoning: ReasoningExtractor | None, tools: ToolCallExtractor | None
    ) -> None:
        self._reasoning = reasoning
        self._tools = tools

    @property
    def calls_made(self) -> int:
        """How many tool calls the output has held so far."""
        return self._tools.calls_made if self._tools is not None else 0

    def feed(self, text: str) -> OutputPiece:
        """Split newly decoded text (parts of markers are held back until they resolve)."""
        if not text:
            return OutputPiece()
        if self._reasoning is None:
            return self._answer(text, "")
        return self._events(self._reasoning.feed(text))

    def finish(self, tail: str) -> OutputPiece:
        """The last text: split it and release everything held back."""
        first = self.feed(tail)
        last = self._events(self._reasoning.finish()) if self._reasoning else OutputPiece()
        end = self._tools.finish() if self._tools is not None else None
        return OutputPiece(
            first.text + last.text + (end.text if end else ""),
            first.reasoning + last.reasoning,
            first.calls + last.calls + (end.calls if end else ()),
        )

    def _events(self, events: list[ReasoningEvent]) -> OutputPiece:
        answer = "".join(e.text for e in events if e.kind == "answer")
        thought = "".join(e.text for e in events if e.kind == "reasoning")
        return self._answer(answer, thought)

    def _answer(self, text: str, reasoning: str) -> OutputPiece:
        if self._tools is None or not text:
            return OutputPiece(text, reasoning)
        out = self._tools.feed(text)
        return OutputPiece(out.text, reasoning, out.calls)
