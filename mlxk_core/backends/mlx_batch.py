"""Continuous batching for one MLX model: single-stream decoding alone, mlx_lm's BatchGenerator
for two or more sequences, and a prompt-cache store shared by both.

``BatchDecoder`` is driven from one thread (the one that loaded the model). A lone sequence runs
on ``generate_step`` (a batch of one decodes ~3x slower on a GPU); when a second one arrives
the first moves into the batch with its KV cache, and when the batch is down to one it moves
back. Finished sequences leave their caches in a small store so a later prompt that shares a
prefix (the next turn of a chat) prefills only the new tokens, and never an empty prompt.
``mlx`` and ``mlx_lm`` are imported lazily, inside the methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlxk_core.generation.prompt_cache import reusable_prefix

__all__ = ["BatchDecoder", "CacheStore"]


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
        if drop and not (can_trim_prompt_cache(cache) and _trim(cache, drop) == drop):
            return 0, None
        return keep, cache

    def clear(self) -> None:
        """Forget every cache."""
        self._items.clear()


@dataclass
class _Seq:
    """A sequence: what is in its cache (``history``) and what is still to be fed."""

    key: int
    history: list[int]
    feed: list[int]
    cache: list[Any] | None
    left: int
    sampler: Any
    steps: Any = field(default=None, repr=False)


class BatchDecoder:
    """Decodes the sequences of one model together; keys are the caller's slot ids."""

    def __init__(
        self, model: Any, *, max_batch: int = 32, prefill_step_size: int = 2048,
        cache_entries: int = 4,
    ) -> None:
        self._model = model
        self._max_batch = max(1, max_batch)
        self._prefill = prefill_step_size
        self._store = CacheStore(cache_entries)
        self._pending: list[_Seq] = []
        self._single: _Seq | None = None
        self._batch: Any = None
        self._in_batch: dict[int, _Seq] = {}
        self._uids: dict[int, int] = {}
        self._greedy: Any = None

    def __len__(self) -> int:
        return len(self._pending) + len(self._in_batch) + (self._single is not None)

    def add(
        self, key: int, prompt: Sequence[int], max_tokens: int, *, temperature: float = 0.0,
        top_p: float = 1.0, top_k: int = 0, min_p: float = 0.0, seed: int | None = None,
    ) -> int:
        """Queue a sequence; returns how many prompt tokens its reused cache already holds."""
        import mlx.core as mx

        if seed is not None:
            mx.random.seed(seed)
        keep, cache = self._store.take(prompt)
        seq = _Seq(key, list(prompt[:keep]), list(prompt[keep:]), cache, max_tokens,
                   self._sampler(temperature, top_p, top_k, min_p))
        self._pending.append(seq)
        return keep

    def step(self) -> tuple[dict[int, list[int]], set[int]]:
        """One decode step: new token ids per key, and the keys that reached ``max_tokens``."""
        if self._single is None and not self._in_batch and len(self._pending) == 1:
            self._start_single(self._pending.pop())
        elif self._pending:
            if self._single is not None:
                self._to_batch(self._detach_single())
            for seq in self._pending:
                self._to_batch(seq)
            self._pending.clear()
        elif self._single is None and len(self._in_batch) == 1 and self._batch_idle():
            self._start_single(self._detach_batch(next(iter(self._in_batch))))
        if self._single is not None:
            return self._step_single()
        return self._step_batch()

    def remove(self, key: int) -> None:
        """Stop a sequence; its cache goes to the store for reuse."""
        self._pending = [s for s in self._pending if s.key != key]
        single = self._single
        if single is not None and single.key == key:
            self._store.put(single.history, self._detach_single().cache)
            return
        if key in self._in_batch:
            seq = self._detach_batch(key)
            self._store.put(seq.history, seq.cache)

    def close(self) -> None:
        """Drop every sequence and cache."""
        if self._single is not None and self._single.steps is not None:
            self._single.steps.close()
        self._single, self._pending = None, []
        self._in_batch.clear()
        self._uids.clear()
        if self._batch is not None:
            self._batch.close()
            self._batch = None
        self._store.clear()

    # -- single stream -------------------------------------------------------------------

    def _start_single(self, seq: _Seq) -> None:
        import mlx.core as mx
        from mlx_lm.generate import generate_step
        from mlx_lm.models.cache import make_prompt_cache

        if not seq.feed:
            seq.cache, seq.feed, seq.history = _rewind(seq.cache, seq.history)
        if seq.cache is None:
            seq.cache = make_prompt_cache(self._model)
        seq.steps = generate_step(
            mx.array(seq.feed), self._model, max_tokens=seq.left, sampler=seq.sampler,
            prompt_cache=seq.cache, prefill_step_size=self._prefill,
        )
        seq.history += seq.feed
        seq.feed = []
        self._single = seq

    def _step_single(self) -> tuple[dict[int, list[int]], set[int]]:
        seq = self._single
        assert seq is not None and seq.steps is not None
        try:
            token, _ = next(seq.steps)
        except StopIteration:
            self._single = None
            self._store.put(seq.history, seq.cache)
            return {}, {seq.key}
        # generate_step feeds a token before yielding it: the cache holds history + token
        seq.history.append(token)
        seq.left -= 1
        return {seq.key: [token]}, set()

    def _detach_single(self) -> _Seq:
        """Stop the single stream; its cache then holds exactly ``history``."""
        seq = self._single
        assert seq is not None and seq.steps is not None
        seq.steps.close()
        seq.steps = None
        self._single = None
        return seq

    # -- batch ---------------------------------------------------------------------------

    def _generator(self) -> Any:
        if self._batch is None:
            from mlx_lm.generate import BatchGenerator

            self._batch = BatchGenerator(
                self._model, completion_batch_size=self._max_batch,
                prefill_batch_size=min(8, self._max_batch), prefill_step_size=self._prefill,
            )
        return self._batch

    def _to_batch(self, seq: _Seq) -> None:
        """Insert a sequence; one whose cache holds everything re-feeds its last token."""
        if not seq.feed:
            seq.cache, seq.feed, seq.history = _rewind(seq.cache, seq.history)
        (uid,) = self._generator().insert(
            [seq.feed], max_tokens=[seq.left], caches=[seq.cache] if seq.cache else None,
            all_tokens=[list(seq.history)], samplers=[seq.sampler],
        )
        seq.cache = None
        self._in_batch[seq.key] = seq
        self._uids[uid] = seq.key

    def _batch_idle(self) -> bool:
        """Whether the batch has nothing waiting to be prefilled."""
        batch = self._batch
        return batch is None or (not batch._unprocessed_sequences and not len(batch._prompt_batch))

    def _detach_batch(self, key: int) -> _Seq:
        """Take a sequence out of the batch with its cache (holding ``history``)."""
        seq = self._in_batch.pop(key)
        uid = next(u for u, k in self._uids.items() if k == key)
        del self._uids[uid]
        caches = self._batch.remove([uid], return_prompt_caches=True)
        cache, tokens = caches.get(uid, (None, []))
        seq.cache, seq.history, seq.feed = cache, list(tokens), []
        return seq

    def _step_batch(self) -> tuple[dict[int, list[int]], set[int]]:
        if self._batch is None or not self._in_batch:
            return {}, set()
        _, responses = self._batch.next()
        out: dict[int, list[int]] = {}
        for r in responses:
            key = self._uids.get(r.uid)
            if key is None:
                continue
            out.setdefault(key, []).append(r.token)
            seq = self._in_batch[key]
            seq.left -= 1
            if r.finish_reason is not None:
                del self._uids[r.uid], self._in_batch[key]
                self._store.put(r.all_tokens or [], r.prompt_cache)
        return out, set()

    def _sampler(self, temperature: float, top_p: float, top_k: int, min_p: float) -> Any:
        from mlx_lm.sample_utils import make_sampler

        if temperature == 0:
            # one shared object lets the batch sample every greedy row in one call
            if self._greedy is None:
                self._greedy = make_sampler(temp=0.0)
            return self._greedy
        return make_sampler(temp=temperature, top_p=top_p, min_p=min_p, top_k=top_k)


def _rewind(cache: list[Any] | None, history: list[int]) -> tuple[list[Any] | None, list[int],
                                                                   list[int]]:
    """A cache holding ``history`` minus its last token, and that token to feed again."""
    from mlx_lm.models.cache import can_trim_prompt_cache

    if cache is not None and can_trim_prompt_cache(cache) and _trim(cache, 1) == 1:
        return cache, history[-1:], history[:-1]
    return None, list(history), []


def _trim(cache: list[Any], n: int) -> int:
    """Trim ``n`` tokens in place; the number actually trimmed (mlx_lm annotates it wrongly)."""
    from mlx_lm.models.cache import trim_prompt_cache

    trimmed: Any = trim_prompt_cache(cache, n)
    return int(trimmed)
