"""What generation yields: chunks of text, reasoning and tool calls; the collected completion."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from mlxk_core.generation.tool_types import ToolCall

__all__ = [
    "Chunk",
    "Completion",
    "FinishReason",
    "Timings",
    "TokenLogprob",
    "ToolCallDelta",
    "TopLogprob",
    "Usage",
]

FinishReason = Literal["stop", "length", "cancelled", "tool_calls"]
TokenBytes = Callable[[int], bytes]


class TopLogprob(NamedTuple):
    """One of the most likely tokens at a position: its text, log probability and UTF-8 bytes."""

    token: str
    logprob: float
    bytes: tuple[int, ...]


@dataclass(frozen=True)
class TokenLogprob:
    """The sampled token's text, log probability and bytes, with the top alternatives."""

    token: str
    logprob: float
    bytes: tuple[int, ...]
    top_logprobs: tuple[TopLogprob, ...] = ()

    @classmethod
    def from_ids(
        cls,
        token: int,
        logprob: float,
        top: Iterable[tuple[int, float]],
        token_bytes: TokenBytes,
    ) -> TokenLogprob:
        """From token ids and log probabilities, with ``token_bytes`` giving a token's bytes.

        A token that is only part of a UTF-8 character gets its bytes as ``\\xNN`` escapes in
        ``token``; ``bytes`` always holds the exact bytes.
        """

        def text(raw: bytes) -> str:
            return raw.decode("utf-8", errors="backslashreplace")

        raw = token_bytes(token)
        alternatives = []
        for alt, alt_logprob in top:
            alt_raw = token_bytes(alt)
            alternatives.append(TopLogprob(text(alt_raw), alt_logprob, tuple(alt_raw)))
        return cls(text(raw), logprob, tuple(raw), tuple(alternatives))


@dataclass(frozen=True)
class ToolCallDelta:
    """A piece of the ``index``-th tool call of a stream (OpenAI's streaming shape).

    The first delta of a call carries ``id`` and ``name``; ``arguments`` fragments concatenate
    to the call's JSON arguments.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""

    @classmethod
    def whole(cls, index: int, call: ToolCall) -> ToolCallDelta:
        """One delta carrying a complete call."""
        return cls(index, call.id, call.name, call.arguments)


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
    """A piece of a stream: answer text, reasoning, tool calls, and the logprobs of its tokens.

    The last chunk has a finish reason, and ``stop_sequence``: which of the request's stop
    strings ended the generation (None when none did).
    """

    text: str = ""
    reasoning: str = ""
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
    timings: Timings | None = None
    tool_calls: tuple[ToolCallDelta, ...] = ()
    logprobs: tuple[TokenLogprob, ...] = ()
    stop_sequence: str | None = None


@dataclass(frozen=True)
class Completion:
    """A whole generation: the answer, the reasoning (None for non-reasoning models).

    ``tool_calls`` holds the calls the model made; ``logprobs`` one entry per generated token
    (None unless the request asked for logprobs); ``stop_sequence`` the request's stop string
    that ended it, if one did.
    """

    text: str
    finish_reason: FinishReason
    usage: Usage
    timings: Timings
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    logprobs: tuple[TokenLogprob, ...] | None = None
    stop_sequence: str | None = None
