"""One generation's pure state: token ids in, chunks of answer, reasoning and tool calls out.

A :class:`SequenceDecoder` owns everything about a sequence that is not a forward pass: EOS ids,
stop strings (with the held-back tail), the reasoning split, tool-call extraction, the token
budget, logprobs, usage and timings. The engine drives one per running request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from mlxk_core.backends.base import Detokenizer, ModelInfo, PromptTokens, TokenScore
from mlxk_core.generation.events import (
    Chunk,
    Completion,
    FinishReason,
    Timings,
    TokenBytes,
    TokenLogprob,
    ToolCallDelta,
    Usage,
)
from mlxk_core.generation.output_split import OutputPiece, OutputSplitter
from mlxk_core.generation.reasoning import THINK_CLOSE, THINK_OPEN, ReasoningExtractor
from mlxk_core.generation.request import GenerationParams
from mlxk_core.generation.stops import CHAT_STOPS, StopMatcher
from mlxk_core.generation.tool_types import ToolCall
from mlxk_core.generation.tools import ToolCallExtractor

__all__ = ["SequenceDecoder", "collect", "starts_in_reasoning"]


def starts_in_reasoning(prompt_text: str) -> bool:
    """Whether a prompt leaves a ``<think>`` block open, so the output begins as reasoning."""
    opened = prompt_text.rfind(THINK_OPEN)
    return opened != -1 and prompt_text.find(THINK_CLOSE, opened) == -1


class SequenceDecoder:
    """Turns sampled token ids into chunks; ``done`` once EOS, a stop string or the budget hits."""

    def __init__(
        self,
        *,
        info: ModelInfo,
        prompt: PromptTokens,
        params: GenerationParams,
        max_tokens: int,
        detokenizer: Detokenizer,
        reasoning: bool = False,
        chat: bool = False,
        tools: ToolCallExtractor | None = None,
        token_bytes: TokenBytes | None = None,
        cached_tokens: int = 0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``tools`` extracts tool calls from the answer; ``token_bytes`` (given when the
        request asked for logprobs) spells a token id for them."""
        # a chat answer (``chat``: the request has messages) ends before a made-up next turn
        stops = params.stop + (CHAT_STOPS if chat or prompt.fallback_format else ())
        self._eos = info.eos_token_ids
        self._stops = StopMatcher(stops)
        self._requested_stops = params.stop
        self._detok = detokenizer
        thinking = (
            ReasoningExtractor(starts_in_reasoning=starts_in_reasoning(prompt.text))
            if reasoning
            else None
        )
        self._split = OutputSplitter(thinking, tools)
        self._token_bytes = token_bytes
        self._logprobs: list[TokenLogprob] = []
        self._calls = 0
        self.reasoning = reasoning
        self.max_tokens = max_tokens
        self.prompt_tokens = len(prompt.tokens)
        self.cached_tokens = cached_tokens
        self.completion_tokens = 0
        self.finish_reason: FinishReason | None = None
        self._clock = clock
        self._start = clock()
        self._first: float | None = None
        self._last: float | None = None

    @property
    def done(self) -> bool:
        """Whether the sequence has reached EOS, a stop string or its token budget."""
        return self.finish_reason is not None

    def add(self, token: int, score: TokenScore | None = None) -> Chunk | None:
        """Take one sampled token (with its logprobs); return what it releases, or None."""
        if self.done:
            return None
        now = self._clock()
        if self._first is None:
            self._first = now
        self._last = now
        self.completion_tokens += 1
        if token in self._eos:
            self.finish_reason = "stop"
            return None
        if score is not None and self._token_bytes is not None:
            self._logprobs.append(
                TokenLogprob.from_ids(token, score.logprob, score.top, self._token_bytes)
            )
        self._detok.add_token(token)
        text, stopped = self._stops.feed(self._detok.last_segment)
        if stopped:
            self.finish_reason = "stop"
        elif self.completion_tokens >= self.max_tokens:
            self.finish_reason = "length"
        piece = self._split.feed(text)
        return self._chunk(piece) if piece else None

    def finish(self, reason: FinishReason | None = None, *, peak_memory: int = 0) -> Chunk:
        """The last chunk: released tail, finish reason, usage and timings."""
        if reason is not None and self.finish_reason is None:
            self.finish_reason = reason
        tail = ""
        if not self._stops.stopped:
            self._detok.finalize()
            text, stopped = self._stops.feed(self._detok.last_segment)
            tail = text if stopped else text + self._stops.flush()
            if stopped:
                self.finish_reason = "stop"
        last = self._chunk(self._split.finish(tail))
        finish = self.finish_reason or "length"
        if self._split.calls_made and finish == "stop":
            finish = "tool_calls"
        matched = self._stops.matched
        return Chunk(
            text=last.text,
            reasoning=last.reasoning,
            tool_calls=last.tool_calls,
            logprobs=last.logprobs,
            finish_reason=finish,
            usage=self.usage(),
            timings=self.timings(peak_memory),
            stop_sequence=matched if matched in self._requested_stops else None,
        )

    def usage(self) -> Usage:
        """Token counts so far; prompt tokens include those served from the cache."""
        return Usage(self.prompt_tokens, self.completion_tokens, self.cached_tokens)

    def timings(self, peak_memory: int = 0) -> Timings:
        """Time to first token and speeds so far."""
        first, last = self._first, self._last
        if first is None or last is None:
            return Timings(None, 0.0, 0.0, peak_memory)
        prefill = first - self._start
        fed = self.prompt_tokens - self.cached_tokens
        decode = last - first
        return Timings(
            time_to_first_token=prefill,
            prompt_tps=fed / prefill if prefill > 0 else 0.0,
            generation_tps=(self.completion_tokens - 1) / decode if decode > 0 else 0.0,
            peak_memory=peak_memory,
        )

    def _chunk(self, piece: OutputPiece) -> Chunk:
        """A chunk of ``piece``, carrying the logprobs of the tokens decoded since the last."""
        deltas = []
        for call in piece.calls:
            deltas.append(ToolCallDelta.whole(self._calls, call))
            self._calls += 1
        logprobs, self._logprobs = tuple(self._logprobs), []
        return Chunk(text=piece.text, reasoning=piece.reasoning, tool_calls=tuple(deltas),
                     logprobs=logprobs)


def collect(chunks: Iterable[Chunk], *, reasoning: bool, logprobs: bool = False) -> Completion:
    """Join a stream's chunks into a Completion (the batch view of the same stream)."""
    texts: list[str] = []
    thoughts: list[str] = []
    scores: list[TokenLogprob] = []
    calls: dict[int, list[ToolCallDelta]] = {}
    last: Chunk | None = None
    for chunk in chunks:
        texts.append(chunk.text)
        thoughts.append(chunk.reasoning)
        scores.extend(chunk.logprobs)
        for delta in chunk.tool_calls:
            calls.setdefault(delta.index, []).append(delta)
        last = chunk
    if last is None or last.finish_reason is None or last.usage is None or last.timings is None:
        raise RuntimeError("a generation stream ended without its final chunk")
    return Completion(
        text="".join(texts),
        finish_reason=last.finish_reason,
        usage=last.usage,
        timings=last.timings,
        reasoning="".join(thoughts) if reasoning else None,
        tool_calls=tuple(_joined(calls[i]) for i in sorted(calls)),
        logprobs=tuple(scores) if logprobs else None,
        stop_sequence=last.stop_sequence,
    )


def _joined(deltas: list[ToolCallDelta]) -> ToolCall:
    """One call from its streamed deltas (id and name from the first that has them)."""
    call_id = next(d.id for d in deltas if d.id)
    name = next(d.name for d in deltas if d.name)
    return ToolCall(name, "".join(d.arguments for d in deltas), call_id)
