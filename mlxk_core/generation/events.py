"""What generation yields: chunks of text and reasoning, and the collected completion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Chunk", "Completion", "FinishReason", "Timings", "Usage"]

FinishReason = Literal["stop", "length", "cancelled"]


@dataclass(frozen=True)
class Usage:
    """Token counts; ``prompt_tokens`` includes tokens served from the prompt cache."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Timings:
    """Speed of one generation; peak memory in bytes as MLX reports it."""

    time_to_first_token: float | None
    prompt_tps: float
    generation_tps: float
    peak_memory: int


@dataclass(frozen=True)
class Chunk:
    """A piece of a stream: answer text and/or reasoning; the last one has a finish reason."""

    text: str = ""
    reasoning: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    timings: Timings | None = None


@dataclass(frozen=True)
class Completion:
    """A whole generation: the answer, the reasoning (None for non-reasoning models)."""

    text: str
    finish_reason: FinishReason
    usage: Usage
    timings: Timings
    reasoning: str | None = None
