"""The backend seam: what the Runner (and later the server's batch engine) asks of a model runtime.

A backend turns requests into prompt token ids, gives out one streaming detokenizer per request
and runs the forward passes as an iterator of token ids. Everything else — EOS and stop strings,
the reasoning split, the token budget, usage and timings — is pure Python in
:mod:`mlxk_core.generation.sequence`, so a batching engine can drive one sequence state per slot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mlxk_core.generation.request import GenerationParams, GenerationRequest
from mlxk_core.generation.tools import ToolFormat

__all__ = ["Backend", "Detokenizer", "ModelInfo", "PromptTokens", "TokenStream"]


class Detokenizer(Protocol):
    """Streaming detokenizer: add token ids, read the newly completed text segment."""

    def add_token(self, token: int) -> None:
        """Append one token id."""

    def finalize(self) -> None:
        """Flush whatever is held back (incomplete UTF-8, pending spaces)."""

    @property
    def last_segment(self) -> str:
        """Text completed since the previous read."""


@dataclass(frozen=True)
class ModelInfo:
    """What the loaded model tells generation: EOS ids, context, template and special tokens."""

    name: str
    eos_token_ids: frozenset[int]
    context_length: int | None = None
    chat_template: str | None = None
    special_tokens: tuple[str, ...] = ()
    tool_format: ToolFormat | None = None  # None: the model has no tool calling


@dataclass(frozen=True)
class PromptTokens:
    """A formatted prompt: its text, its token ids, and whether the fallback transcript was used."""

    text: str
    tokens: tuple[int, ...]
    fallback_format: bool = False


@dataclass
class TokenStream:
    """Token ids from a running generation, with how many prompt tokens came from the cache."""

    tokens: Iterator[int]
    cached_tokens: int = 0
    on_close: Callable[[], None] | None = field(default=None, repr=False)

    def __iter__(self) -> Iterator[int]:
        return self.tokens

    def __next__(self) -> int:
        return next(self.tokens)

    def close(self) -> None:
        """Stop the generation (idempotent); the backend keeps what it can reuse."""
        close = getattr(self.tokens, "close", None)
        if close is not None:
            close()
        if self.on_close is not None:
            callback, self.on_close = self.on_close, None
            callback()


class Backend(Protocol):
    """A model runtime. One instance holds at most one loaded model."""

    @property
    def loaded(self) -> bool:
        """Whether a model is loaded."""

    def load(self, path: Path, *, name: str) -> ModelInfo:
        """Load weights and tokenizer from a local directory (never a hub name)."""

    def close(self) -> None:
        """Drop the model, tokenizer and prompt cache and free memory; idempotent."""

    def encode(self, request: GenerationRequest) -> PromptTokens:
        """Format a request (chat template, fallback transcript or raw prompt) into token ids."""

    def detokenizer(self, *, raw: bool = False) -> Detokenizer:
        """A fresh streaming detokenizer for one request.

        ``raw``: the text continues a raw prompt, so a leading space is kept (chat answers drop it).
        """

    def generate(
        self, prompt: Sequence[int], params: GenerationParams, max_tokens: int
    ) -> TokenStream:
        """Start generating after ``prompt``: sampled token ids, at most ``max_tokens`` of them."""

    def peak_memory(self) -> int:
        """Peak memory in bytes since the last ``reset_peak_memory``."""

    def reset_peak_memory(self) -> None:
        """Start a new peak-memory measurement."""
