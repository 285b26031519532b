"""The values of an embedding request and its result (plain data, no mlx)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlxk_core.cache.records import Pooling

__all__ = ["EmbedOptions", "Embedding", "EmbeddingInput", "EmbeddingResult"]

EmbeddingInput = str | Sequence[int]
"""A text, or the model's own token ids (used as given: no special tokens are added)."""


@dataclass(frozen=True)
class EmbedOptions:
    """How to embed: ``truncate`` long inputs to the model's context (False: refuse them with
    InvalidRequest); ``dimensions`` keeps the first N values of each vector (Matryoshka models
    only), normalized again."""

    truncate: bool = True
    dimensions: int | None = None


@dataclass(frozen=True)
class Embedding:
    """One input's unit-length vector, its token count and whether it was cut to fit."""

    vector: tuple[float, ...]
    tokens: int
    truncated: bool = False


@dataclass(frozen=True)
class EmbeddingResult:
    """The vectors of one request, in input order, with what made them.

    ``prompt_tokens`` counts every token fed (after truncation). ``load_seconds`` is the time
    spent loading the model for this request (0 when it was loaded), ``seconds`` the whole wait.
    """

    model: str
    embeddings: tuple[Embedding, ...]
    dimension: int
    pooling: Pooling
    prompt_tokens: int
    load_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def vectors(self) -> list[tuple[float, ...]]:
        """The vectors alone, in input order."""
        return [e.vector for e in self.embeddings]
