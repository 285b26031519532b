"""Prompt-cache reuse between turns: how much of a cached token sequence a new prompt can keep."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["reusable_prefix"]


def reusable_prefix(cached: Sequence[int], prompt: Sequence[int]) -> int:
    """Tokens of ``cached`` to keep for ``prompt``: their common prefix, leaving at least one
    prompt token to feed (a forward needs input, so a full match backs off by one)."""
    n = 0
    for x, y in zip(cached, prompt, strict=False):
        if x != y:
            break
        n += 1
    return min(n, max(len(prompt) - 1, 0))
