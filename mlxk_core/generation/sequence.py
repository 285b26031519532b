"""One generation's pure state: token ids in, chunks of answer and reasoning out.

A :class:`SequenceDecoder` owns everything about a sequence that is not a forward pass: EOS ids,
stop strings (with the held-back tail), the reasoning split, the token budget, usage and
timings. The Runner drives one per request; a batching engine can drive one per slot.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from mlxk_core.backends.base import Detokenizer, ModelInfo, PromptTokens
from mlxk_core.generation.events import Chunk, Completion, FinishReason, Timings, Usage
from mlxk_core.generation.reasoning import THINK_CLOSE, THINK_OPEN, ReasoningExtractor
from mlxk_core.generation.request import GenerationParams
from mlxk_core.generation.stops import CHAT_STOPS, StopMatcher

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
        cached_tokens: int = 0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        # a chat answer (``chat``: the request has messages) ends before a made-up next turn
        stops = params.stop + (CHAT_STOPS if chat or prompt.fallback_format else ())
        self._eos = info.eos_token_ids
        self._stops = StopMatcher(stops)
        self._detok = detokenizer
        self._extractor = (
            ReasoningExtractor(starts_in_reasoning=starts_in_reasoning(prompt.text))
            if reasoning
            else None
        )
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

    def add(self, token: int) -> Chunk | None:
        """Take one sampled token; return the text it releases, or None when nothing is new."""
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
        self._detok.add_token(token)
        text, stopped = self._stops.feed(self._detok.last_segment)
        if stopped:
            self.finish_reason = "stop"
        elif self.completion_tokens >= self.max_tokens:
            self.finish_reason = "length"
        return self._chunk(text) if text else None

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
        answer, reasoning = self._split(tail)
        if self._extractor is not None:
            for event in self._extractor.finish():
                if event.kind == "reasoning":
                    reasoning += event.text
                else:
                    answer += event.text
        return Chunk(
            text=answer,
            reasoning=reasoning,
            finish_reason=self.finish_reason or "length",
            usage=self.usage(),
            timings=self.timings(peak_memory),
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

    def _chunk(self, text: str) -> Chunk | None:
        answer, reasoning = self._split(text)
        return Chunk(text=answer, reasoning=reasoning) if answer or reasoning else None

    def _split(self, text: str) -> tuple[str, str]:
        if self._extractor is None:
            return text, ""
        if not text:
            return "", ""
        answer = reasoning = ""
        for event in self._extractor.feed(text):
            if event.kind == "reasoning":
                reasoning += event.text
            else:
                answer += event.text
        return answer, reasoning


def collect(chunks: Iterable[Chunk], *, reasoning: bool) -> Completion:
    """Join a stream's chunks into a Completion (the batch view of the same stream)."""
    texts: list[str] = []
    thoughts: list[str] = []
    last: Chunk | None = None
    for chunk in chunks:
        texts.append(chunk.text)
        thoughts.append(chunk.reasoning)
        last = chunk
    if last is None or last.finish_reason is None or last.usage is None or last.timings is None:
        raise RuntimeError("a generation stream ended without its final chunk")
    return Completion(
        text="".join(texts),
        finish_reason=last.finish_reason,
        usage=last.usage,
        timings=last.timings,
        reasoning="".join(thoughts) if reasoning else None,
    )
