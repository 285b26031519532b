"""Constrained decoding on MLX: a token matcher's mask as an mlx-lm logits processor.

llguidance's own MLX kernel is Metal-only, so the mask is computed with numpy (by the matcher)
and applied with plain ``mx.where``, which runs on every MLX device. ``mlx`` is imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mlxk_core.errors import GenerationError
from mlxk_core.generation.constrained import TokenMatcher

__all__ = ["LogitsProcessor", "logits_processor"]

LogitsProcessor = Callable[[Any, Any], Any]


def _fit(mask: np.ndarray[Any, Any], width: int) -> np.ndarray[Any, Any]:
    """The mask at the logits' width; ids past the tokenizer (embedding padding) stay forbidden."""
    if mask.size < width:
        return np.concatenate([mask, np.zeros(width - mask.size, dtype=np.bool_)])
    return mask[:width]


def logits_processor(matcher: TokenMatcher) -> LogitsProcessor:
    """An mlx-lm logits processor ``fn(tokens, logits) -> logits`` that keeps only allowed tokens.

    For ``generate_step`` and, one per sequence, for ``BatchGenerator.insert(...,
    logits_processors=[[proc], ...])``. mlx-lm calls it before each sampled token with the token
    context so far: first the prompt (which may begin mid-prompt when a prompt cache is reused),
    then that context grown by each token sampled since. The processor remembers how much
    context it has seen and advances the matcher with the new tokens only.
    """
    seen: int | None = None

    def process(tokens: Any, logits: Any) -> Any:
        nonlocal seen
        import mlx.core as mx

        if seen is not None:
            for token in tokens[seen:].tolist():
                matcher.advance(int(token))
        seen = int(tokens.size)
        mask = _fit(matcher.allowed_mask(), int(logits.shape[-1]))
        if not mask.any():
            raise GenerationError("The output constraint allows no token the model can produce")
        return mx.where(mx.array(mask), logits, mx.array(-np.inf, dtype=logits.dtype))

    return process
