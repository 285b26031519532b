"""Core chunks as a sequence of content blocks: reasoning, answer text, tool calls.

Anthropic's content blocks, the Responses API's output items and Ollama's whole tool calls all
see a generation as blocks that open, grow and close, in order. :class:`Blocks` turns the core
engine's chunks into those events once, for every protocol; a whole (non-streamed) answer is
the same fold over the same chunks, so streamed and whole answers cannot disagree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from mlxk_core import Chunk, FinishReason, Timings, Usage

__all__ = ["Block", "Blocks", "Closed", "Delta", "Ended", "Event", "Opened"]

Kind = Literal["reasoning", "text", "tool"]


@dataclass
class Block:
    """One block so far: reasoning or answer text, or a tool call (``text``: its JSON arguments)."""

    kind: Kind
    index: int
    text: str = ""
    call_id: str | None = None
    name: str | None = None

    def arguments(self) -> Any:
        """A tool call's arguments as a value (``{}`` when there are none)."""
        return json.loads(self.text) if self.text.strip() else {}


@dataclass(frozen=True)
class Opened:
    """A block begins."""

    block: Block


@dataclass(frozen=True)
class Delta:
    """A block grows by ``text``."""

    block: Block
    text: str


@dataclass(frozen=True)
class Closed:
    """A block is complete."""

    block: Block


@dataclass(frozen=True)
class Ended:
    """The generation is over: why (and which requested stop string ended it), what it used."""

    reason: FinishReason
    usage: Usage
    timings: Timings
    stop_sequence: str | None = None


Event = Opened | Delta | Closed | Ended


@dataclass
class Blocks:
    """Folds chunks into blocks; ``reasoning=False`` drops reasoning (the client did not ask)."""

    reasoning: bool = True
    blocks: list[Block] = field(default_factory=list)
    ended: Ended | None = None
    _open: Block | None = None
    _calls: dict[int, Block] = field(default_factory=dict)

    def feed(self, chunk: Chunk) -> list[Event]:
        """The events of one chunk, in order."""
        events: list[Event] = []
        if chunk.reasoning and self.reasoning:
            self._grow("reasoning", chunk.reasoning, events)
        if chunk.text:
            self._grow("text", chunk.text, events)
        for delta in chunk.tool_calls:
            block = self._calls.get(delta.index)
            if block is None:
                block = self._start("tool", events)
                block.call_id, block.name = delta.id, delta.name
                self._calls[delta.index] = block
            if delta.arguments:
                block.text += delta.arguments
                events.append(Delta(block, delta.arguments))
        if chunk.finish_reason is not None:
            self._close(events)
            if chunk.usage is None or chunk.timings is None:
                raise RuntimeError("a generation ended without usage and timings")
            self.ended = Ended(chunk.finish_reason, chunk.usage, chunk.timings,
                               chunk.stop_sequence)
            events.append(self.ended)
        return events

    def _grow(self, kind: Kind, text: str, events: list[Event]) -> None:
        block = self._open if self._open is not None and self._open.kind == kind else None
        if block is None:
            block = self._start(kind, events)
        block.text += text
        events.append(Delta(block, text))

    def _start(self, kind: Kind, events: list[Event]) -> Block:
        self._close(events)
        block = Block(kind, len(self.blocks))
        self.blocks.append(block)
        self._open = block
        events.append(Opened(block))
        return block

    def _close(self, events: list[Event]) -> None:
        if self._open is not None:
            events.append(Closed(self._open))
            self._open = None

    def whole(self, chunks: list[Chunk]) -> Ended:
        """Fold a whole generation; its blocks are then in ``blocks``."""
        for chunk in chunks:
            self.feed(chunk)
        if self.ended is None:
            raise RuntimeError("a generation stream ended without its final chunk")
        return self.ended
