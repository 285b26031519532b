"""Logprobs from one decoding step's log-probability vector, as plain Python values.

The vector is what ``generate_step`` and ``BatchGenerator`` yield with each token: the log-softmax
of the logits after the logits processors, i.e. the distribution the sampler drew from.
``mlx`` is imported lazily.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, cast

__all__ = ["StepLogprobs", "step_logprobs"]


class StepLogprobs(NamedTuple):
    """The sampled token's id and log probability, and the ``top`` most likely (id, logprob)."""

    token: int
    logprob: float
    top: tuple[tuple[int, float], ...]


def step_logprobs(logprobs: Any, token: int, top: int = 0) -> StepLogprobs:
    """The sampled ``token``'s log probability and the ``top`` most likely tokens, best first.

    Tokens the step made impossible (``-inf``, e.g. masked by a constraint) are left out of
    the alternatives, so there may be fewer than ``top``.
    """
    import mlx.core as mx

    row = logprobs.reshape(-1)
    chosen = float(row[token].item())
    if top <= 0:
        return StepLogprobs(token, chosen, ())
    count = min(top, row.size)
    ids = mx.argpartition(-row, kth=count - 1)[:count]
    values = row[ids]
    order = mx.argsort(-values)
    best = cast(list[int], ids[order].tolist())
    pairs = zip(best, cast(list[float], values[order].tolist()), strict=True)
    return StepLogprobs(token, chosen, tuple((i, v) for i, v in pairs if math.isfinite(v)))
