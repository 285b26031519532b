"""A deterministic embedding backend for tests and examples: no mlx, no weights.

Texts are "tokenized" one id per character; a row's vector counts its character n-grams (one to
three long) hashed into ``dimension`` buckets, then normalized, so texts sharing words are near
each other and the same row always gives the same vector, alone or in any batch.
"""

from __future__ import annotations

import math
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlxk_core.backends.embed_base import EmbeddingInfo
from mlxk_core.cache.records import EmbeddingFacts
from mlxk_core.errors import GenerationError

__all__ = ["FakeEmbeddingBackend"]

_UNICODE = 0x110000


@dataclass
class FakeEmbeddingBackend:
    """A test double for :class:`~mlxk_core.backends.embed_base.EmbeddingBackend`.

    ``delay`` is slept once per forward pass (like a real model's pass); ``passes`` records how
    many rows each pass held, in order; ``fail_on_load`` makes loading raise a RuntimeError.
    """

    dimension: int = 32
    context_length: int | None = 512
    delay: float = 0.0
    fail_on_load: bool = False
    passes: list[int] = field(default_factory=list)
    _loaded: bool = False

    @property
    def loaded(self) -> bool:
        """Whether ``load`` has run and ``close`` has not."""
        return self._loaded

    def load(self, path: Path, *, name: str, facts: EmbeddingFacts) -> EmbeddingInfo:
        """Pretend to load; the pooling is the one ``facts`` declare."""
        if self.fail_on_load:
            raise RuntimeError(f"cannot load {path}")
        self._loaded = True
        return EmbeddingInfo(name, self.dimension, facts.pooling, self.context_length, _UNICODE)

    def tokenize(
        self, texts: Sequence[str], *, max_tokens: int | None = None
    ) -> list[tuple[int, ...]]:
        """One id per character, cut to ``max_tokens``."""
        return [tuple(ord(c) for c in text)[:max_tokens] for text in texts]

    def embed(self, rows: Sequence[Sequence[int]]) -> list[list[float]]:
        """Hashed n-gram counts of each row, normalized."""
        if not self._loaded:
            raise GenerationError("FakeEmbeddingBackend: no model loaded")
        time.sleep(self.delay)
        self.passes.append(len(rows))
        return [self._vector(row) for row in rows]

    def close(self) -> None:
        """Forget the model; idempotent."""
        self._loaded = False

    def _vector(self, row: Sequence[int]) -> list[float]:
        text = "".join(chr(t) for t in row).lower()
        counts = [0.0] * self.dimension
        for n in (1, 2, 3):
            for i in range(len(text) - n + 1):
                counts[zlib.crc32(text[i:i + n].encode("utf-8", "replace")) % self.dimension] += n
        norm = math.sqrt(math.fsum(c * c for c in counts)) or 1.0
        return [c / norm for c in counts]
