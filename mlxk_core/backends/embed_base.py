"""The embedding seam: what the engine asks of a runtime that turns token ids into vectors.

An embedding backend loads one embedding model (its pooling declared by the model's facts),
tokenizes texts with the model's special tokens, and runs one forward pass over a batch of
token-id rows, returning one pooled, unit-length vector per row. Which inputs share a pass,
truncation, Matryoshka shortening and scheduling are pure Python in
:mod:`mlxk_core.embeddings.plan`, driven by :mod:`mlxk_core.engine`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from mlxk_core.cache.records import EmbeddingFacts, Pooling

__all__ = ["EmbeddingBackend", "EmbeddingInfo"]


@dataclass(frozen=True)
class EmbeddingInfo:
    """What a loaded embedding model says about itself."""

    name: str
    dimension: int
    pooling: Pooling
    context_length: int | None = None
    vocab_size: int | None = None


@runtime_checkable
class EmbeddingBackend(Protocol):
    """An embedding runtime. One instance holds at most one loaded model; one thread uses it."""

    @property
    def loaded(self) -> bool:
        """Whether a model is loaded."""

    def load(self, path: Path, *, name: str, facts: EmbeddingFacts) -> EmbeddingInfo:
        """Load weights and tokenizer from a local folder, to pool as ``facts`` declares."""

    def tokenize(
        self, texts: Sequence[str], *, max_tokens: int | None = None
    ) -> list[tuple[int, ...]]:
        """Token ids of each text with the model's special tokens; ``max_tokens`` cuts each to
        that length, keeping the special tokens."""

    def embed(self, rows: Sequence[Sequence[int]]) -> list[list[float]]:
        """One forward pass over ``rows`` (padded together): a unit-length vector per row."""

    def close(self) -> None:
        """Drop the model and tokenizer and free memory; idempotent."""
