"""Per-sequence sampling for MLX: one sampler builder and one logits-processor builder.

The filters (top-p, min-p, top-k) and the repetition penalty are mlx-lm's. What this adds is a
random stream per sequence: token *i* of a sequence is drawn with a key made from its seed and
*i*, never from MLX's global generator, so the same seed gives the same text alone and inside
any batch. Greedy sequences share one sampler object, which lets a batch sample them in one call.
Part of the backend corner: ``mlx`` and ``mlx_lm`` are imported inside the functions.
"""

from __future__ import annotations

import random
from typing import Any

from mlxk_core.generation.request import GenerationParams

__all__ = ["SeededSampler", "make_processors", "make_sampler", "resync"]

_MASK64 = (1 << 64) - 1


def _mix(seed: int, index: int) -> int:
    """A well-spread 63-bit key for (seed, index) (splitmix64's finaliser)."""
    z = (seed * 0x9E3779B97F4A7C15 + index + 1) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) >> 1


class SeededSampler:
    """Samples one sequence's tokens; ``index`` is the position of the next token it draws."""

    def __init__(self, params: GenerationParams, seed: int) -> None:
        from mlx_lm.sample_utils import apply_min_p, apply_top_k, apply_top_p

        self._filters: list[Any] = []
        if 0 < params.top_p < 1.0:
            self._filters.append(lambda x: apply_top_p(x, params.top_p))
        if params.min_p:
            self._filters.append(lambda x: apply_min_p(x, params.min_p))
        if params.top_k:
            self._filters.append(lambda x: apply_top_k(x, params.top_k))
        self._scale = 1.0 / params.temperature
        self._seed = seed
        self.index = 0

    def __call__(self, logprobs: Any) -> Any:
        import mlx.core as mx

        for keep in self._filters:
            logprobs = keep(logprobs)
        key = mx.random.key(_mix(self._seed, self.index))
        self.index += 1
        return mx.random.categorical(logprobs * self._scale, key=key)


_greedy: list[Any] = []


def make_sampler(params: GenerationParams) -> Any:
    """The sampler for one sequence: the shared greedy one at temperature 0, else seeded."""
    if params.temperature == 0:
        if not _greedy:
            from mlx_lm.sample_utils import greedy_sampler

            _greedy.append(greedy_sampler)
        return _greedy[0]
    seed = params.seed if params.seed is not None else random.getrandbits(63)
    return SeededSampler(params, seed)


def make_processors(params: GenerationParams) -> list[Any]:
    """mlx-lm logits processors for one sequence (the repetition penalty, when asked for)."""
    if not params.repetition_penalty:
        return []
    from mlx_lm.sample_utils import make_logits_processors

    processors: list[Any] = make_logits_processors(repetition_penalty=params.repetition_penalty)
    return processors


def resync(sampler: Any, produced: int) -> None:
    """After a sequence moves between decoders, draw its next token at position ``produced``
    (a decoder samples one token ahead; that draw is discarded with the decoder)."""
    if isinstance(sampler, SeededSampler):
        sampler.index = produced
