"""Sequences running on one loaded model: a slot per request, stepped one token at a time.

``StreamSet`` interleaves the backend's own token streams (any backend, one sequence after the
other per step); ``BatchSet`` decodes all slots together with the MLX batch decoder. Both give
the engine the same surface: ``add``, ``step`` (new token ids per slot), ``remove``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from mlxk_core.backends.base import PromptTokens, TokenStream
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.sequence import SequenceDecoder
from mlxk_server.models import LoadedModel

__all__ = ["BatchSet", "Slot", "SlotSet", "StepResult", "StreamSet", "make_set", "open_slot"]


@dataclass(eq=False)
class Slot:
    """One request's place in a running set."""

    key: int
    prompt: PromptTokens
    decoder: SequenceDecoder
    request: GenerationRequest


@dataclass
class StepResult:
    """What one step produced: tokens per slot key, and the keys whose source ran dry."""

    tokens: dict[int, list[int]]
    exhausted: set[int]


def open_slot(key: int, loaded: LoadedModel, request: GenerationRequest) -> Slot:
    """The Runner's prompt and per-sequence decoder for a request (ContextOverflow when full)."""
    prompt = loaded.runner.encode(request)
    return Slot(key, prompt, loaded.runner.sequence(request, prompt), request)


class SlotSet(Protocol):
    """Running sequences of one model."""

    def add(self, slot: Slot) -> None:
        """Start a sequence (its prefill happens during the next steps)."""

    def step(self) -> StepResult:
        """Advance every sequence by one token."""

    def remove(self, slot: Slot) -> None:
        """Stop a sequence and free its place."""

    def close(self) -> None:
        """Stop everything."""


class StreamSet:
    """Interleaves one backend token stream per slot."""

    def __init__(self, loaded: LoadedModel) -> None:
        self._backend = loaded.backend
        self._streams: dict[int, TokenStream] = {}

    def add(self, slot: Slot) -> None:
        """Open the backend's stream for the slot."""
        stream = self._backend.generate(
            slot.prompt.tokens, slot.request.params, slot.decoder.max_tokens
        )
        slot.decoder.cached_tokens = stream.cached_tokens
        self._streams[slot.key] = stream

    def step(self) -> StepResult:
        """One token from each stream."""
        result = StepResult({}, set())
        for key, stream in list(self._streams.items()):
            try:
                result.tokens[key] = [next(stream)]
            except StopIteration:
                result.exhausted.add(key)
        return result

    def remove(self, slot: Slot) -> None:
        """Close the slot's stream."""
        stream = self._streams.pop(slot.key, None)
        if stream is not None:
            stream.close()

    def close(self) -> None:
        """Close every stream."""
        for stream in self._streams.values():
            stream.close()
        self._streams.clear()


class BatchSet:
    """All slots decoded together by the MLX batch decoder (single-stream speed when alone)."""

    def __init__(self, decoder: Any) -> None:
        self._decoder = decoder

    def add(self, slot: Slot) -> None:
        """Queue the slot's prompt for the next step's prefill."""
        params = slot.request.params
        slot.decoder.cached_tokens = self._decoder.add(
            slot.key, list(slot.prompt.tokens), slot.decoder.max_tokens,
            temperature=params.temperature, top_p=params.top_p, top_k=params.top_k,
            min_p=params.min_p, seed=params.seed,
        )

    def step(self) -> StepResult:
        """One decode step for the whole batch."""
        tokens, exhausted = self._decoder.step()
        return StepResult(tokens, exhausted)

    def remove(self, slot: Slot) -> None:
        """Drop the slot from the batch, keeping its cache for reuse."""
        self._decoder.remove(slot.key)

    def close(self) -> None:
        """Drop every sequence."""
        self._decoder.close()


def make_set(loaded: LoadedModel, batch_size: int) -> StreamSet | BatchSet:
    """A BatchSet for the MLX backend (continuous batching), else a StreamSet."""
    from mlxk_core.backends.mlx import MlxBackend

    backend = loaded.backend
    if not isinstance(backend, MlxBackend) or backend.model is None:
        return StreamSet(loaded)
    from mlxk_core.backends.mlx_batch import BatchDecoder

    decoder = BatchDecoder(
        backend.model, max_batch=batch_size, prefill_step_size=backend.prefill_step_size
    )
    return BatchSet(decoder)
