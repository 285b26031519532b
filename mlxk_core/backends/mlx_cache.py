"""KV caches kept between sequences, by token history; part of the backend corner.

A finished (or stopped) sequence leaves its cache here; a later prompt that shares a prefix
with it (the next turn of a chat) takes it, trimmed to the shared part, and prefills only the
rest. ``mlx_lm`` is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlxk_core.generation.prompt_cache import reusable_prefix

__all__ = ["CacheStore", "trim_cache"]


class CacheStore:
    """Finished sequences' KV caches by token history; a prompt takes the longest match."""

    def __init__(self, entries: int = 4) -> None:
        self._entries = entries
        self._items: list[tuple[tuple[int, ...], list[Any]]] = []

    def put(self, tokens: Sequence[int], cache: list[Any] | None) -> None:
        """Keep a cache that holds exactly ``tokens`` (others are dropped)."""
        if not cache or not tokens or self._entries < 1:
            return
        if getattr(cache[0], "offset", len(tokens)) != len(tokens):
            return
        self._items.append((tuple(tokens), cache))
        del self._items[: -self._entries]

    def take(self, prompt: Sequence[int]) -> tuple[int, list[Any] | None]:
        """The cached prefix length and its cache (trimmed to it), or ``(0, None)``."""
        from mlx_lm.models.cache import can_trim_prompt_cache

        best, keep = -1, 0
        for i, (tokens, _cache) in enumerate(self._items):
            n = reusable_prefix(tokens, prompt)
            if n > keep:
                best, keep = i, n
        if best < 0:
            return 0, None
        tokens, cache = self._items.pop(best)
        drop = len(tokens) - keep
        if drop and not (can_trim_prompt_cache(cache) and trim_cache(cache, drop) == drop):
            return 0, None
        return keep, cache

    def clear(self) -> None:
        """Forget every cache."""
        self._items.clear()


def trim_cache(cache: list[Any], n: int) -> int:
    """Trim ``n`` tokens in place; the number actually trimmed (mlx_lm annotates it wrongly)."""
    from mlx_lm.models.cache import trim_prompt_cache

    trimmed: Any = trim_prompt_cache(cache, n)
    return int(trimmed)
