"""The one set of formulas every bench uses, for mlxk and for its peers alike (see FORMULAS)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Timed", "decode_rate", "p95", "prefill_rate", "timed"]

T = TypeVar("T")


@dataclass(frozen=True)
class Timed(Generic[T]):
    """A timed stream: time to its first item, from the first to the last item, the last."""

    first_s: float
    span_s: float
    items: int
    last: T


def timed(start: Callable[[], Iterable[T]]) -> Timed[T]:
    """Call ``start`` (the clock starts before it, as a request's would) and drain its items."""
    began = time.perf_counter()
    first = end = 0.0
    items = 0
    last: T | None = None
    for item in start():
        end = time.perf_counter()
        first = first or end
        items += 1
        last = item
    if last is None:
        raise RuntimeError("the stream yielded nothing")
    return Timed(first - began, end - first, items, last)


def decode_rate(generated: int, span_s: float) -> float:
    """Decode tok/s = (n - 1) / (t_n - t_1)."""
    if generated < 2 or span_s <= 0:
        raise ValueError(f"a decode rate needs two tokens or more (got {generated})")
    return (generated - 1) / span_s


def prefill_rate(prompt_tokens: int, first_token_s: float) -> float:
    """Prefill tok/s = uncached prompt tokens / time to first token."""
    return prompt_tokens / first_token_s


def p95(values: Sequence[float]) -> float:
    """The nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
