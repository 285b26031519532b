"""The MLX batch: one model's sequences, decoded together; part of the backend corner.

Each step decodes one token for every decoding sequence, then feeds waiting prompts within a
budget of ``prefill_chunk`` tokens, shortest first, each into its own KV cache (fresh prompts of
similar length share one left-padded forward pass, then split their cache). A prompt longer
than what is left of the budget is fed only in a step of its own, and not while a new sequence
waits for its first token: so a short request that arrives while a long prompt prefills gets its
first token about one chunk later, and cancellation and shutdown are seen between chunks.
Once a prompt is fed but for its last token, the sequence decodes: alone on ``generate_step``
(a batch of one decodes ~3x slower on a GPU), else in mlx-lm's ``BatchGenerator``, which it
enters and leaves with its cache as others come and go. Finished sequences leave their caches in
a small store, so a later prompt that shares a prefix (the next turn of a chat) prefills only
the new tokens. ``mlx`` and ``mlx_lm`` are imported inside the methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlxk_core.backends.base import SequenceSpec, StepOutput, TokenScore
from mlxk_core.backends.masking import logits_processor
from mlxk_core.backends.mlx_cache import CacheStore, trim_cache
from mlxk_core.backends.mlx_logprobs import step_logprobs
from mlxk_core.backends.sampling import make_processors, make_sampler, resync
from mlxk_core.generation.constrained import TokenMatcher

__all__ = ["MlxBatch"]


@dataclass(eq=False)
class _Seq:
    """A sequence: what its cache holds (``history``) and what is still to be fed."""

    key: int
    history: list[int]
    feed: list[int]
    cache: list[Any] | None
    left: int
    sampler: Any
    penalties: list[Any]
    top_logprobs: int | None
    constraint: TokenMatcher | None
    produced: int = 0
    decoding: bool = False  # in the batch: has produced a token since it was inserted
    steps: Any = field(default=None, repr=False)


class MlxBatch:
    """The sequences of one MLX model; keys are the engine's sequence ids."""

    def __init__(
        self, model: Any, store: CacheStore, *, max_batch: int = 32, prefill_chunk: int = 512,
        one_prompt_per_eval: bool = False,
    ) -> None:
        """``one_prompt_per_eval``: evaluate each prompt's chunk on its own, for a model sharded
        over several processes, whose collectives must run in the same order on every rank
        (one evaluation of several independent forward passes does not promise an order)."""
        self._one_per_eval = one_prompt_per_eval
        self._model = model
        self._store = store
        self._max_batch = max(1, max_batch)
        self._chunk = max(1, prefill_chunk)
        self._prefilling: list[_Seq] = []
        self._ready: list[_Seq] = []
        self._single: _Seq | None = None
        self._batch: Any = None
        self._in_batch: dict[int, _Seq] = {}
        self._uids: dict[int, int] = {}
        self._plain_kv: bool | None = None

    def __len__(self) -> int:
        decoding = len(self._in_batch) + (self._single is not None)
        return len(self._prefilling) + len(self._ready) + decoding

    def add(self, key: int, spec: SequenceSpec) -> int:
        """Queue a sequence; returns how many prompt tokens its reused cache already holds."""
        keep, cache = self._store.take(spec.prompt)
        seq = _Seq(
            key, list(spec.prompt[:keep]), list(spec.prompt[keep:]), cache, spec.max_tokens,
            make_sampler(spec.params), make_processors(spec.params), spec.top_logprobs,
            spec.constraint,
        )
        (self._prefilling if len(seq.feed) > 1 else self._ready).append(seq)
        return keep

    def step(self) -> StepOutput:
        """A decode step for the decoding sequences, then prompt chunks within the budget."""
        self._place()
        # a sequence about to get its first token: this step returns it without a long chunk
        starting = any(s.produced == 0 for s in self._decoders())
        out = self._step_single() if self._single is not None else self._step_batch()
        self._prefill(out, starting)
        return out

    def remove(self, key: int) -> None:
        """Stop a sequence; its cache goes to the store for reuse."""
        single = self._single
        waiting = [s for s in self._prefilling + self._ready if s.key == key]
        if waiting:
            seq = waiting[0]
            self._prefilling = [s for s in self._prefilling if s.key != key]
            self._ready = [s for s in self._ready if s.key != key]
        elif single is not None and single.key == key:
            seq = self._detach_single()
        elif key in self._in_batch:
            seq = self._detach_batch(key)
        else:
            return
        self._store.put(seq.history, seq.cache)

    def close(self) -> None:
        """Drop every sequence (the store is the backend's)."""
        if self._single is not None and self._single.steps is not None:
            self._single.steps.close()
        self._single, self._prefilling, self._ready = None, [], []
        self._in_batch.clear()
        self._uids.clear()
        if self._batch is not None:
            self._batch.close()
            self._batch = None

    # -- placement -----------------------------------------------------------------------

    def _place(self) -> None:
        """A lone decoder on the single path; two or more in the batch; back when one is left."""
        ready, self._ready = self._ready, []
        if not ready:
            if self._single is None and len(self._in_batch) == 1:
                (seq,) = self._in_batch.values()
                if seq.decoding:
                    self._single = self._detach_batch(seq.key)
            return
        if self._single is None and not self._in_batch and len(ready) == 1:
            self._single = ready[0]
            return
        if self._single is not None:
            self._to_batch(self._detach_single())
        for seq in ready:
            self._to_batch(seq)

    # -- prefill -------------------------------------------------------------------------

    def _prefill(self, out: StepOutput, starting: bool) -> None:
        """Feed prompts (all but their last token), shortest first, within the step's budget."""
        import mlx.core as mx

        plan = self._plan(starting)
        fresh = [(seq, chunk) for seq, chunk in plan if seq.cache is None]
        groups = _groups(fresh) if len(fresh) > 1 and self._groupable() else [[p] for p in fresh]
        groups += [[(seq, chunk)] for seq, chunk in plan if seq.cache is not None]
        for group in groups:
            self._feed(group)
            if self._one_per_eval:
                mx.eval([c.state for seq, _ in group for c in seq.cache or ()])
        if plan:
            mx.eval([c.state for seq, _ in plan for c in seq.cache or ()])
        for seq, chunk in plan:
            seq.history += chunk
            seq.feed = seq.feed[len(chunk):]
            out.prefilled[seq.key] = len(chunk)
            if len(seq.feed) == 1:
                self._prefilling.remove(seq)
                self._ready.append(seq)

    def _plan(self, starting: bool) -> list[tuple[_Seq, list[int]]]:
        """This step's prompt chunks: shortest prompts first, within the budget; a prompt longer
        than what is left only in a step of its own, and not in a step that gives a sequence
        its first token (``starting``)."""
        budget, plan = self._chunk, list[tuple[_Seq, list[int]]]()
        for seq in sorted(self._prefilling, key=lambda s: len(s.feed)):
            need = len(seq.feed) - 1
            if need > budget and (plan or starting):
                break  # the rest are longer: they wait for a step of their own
            chunk = seq.feed[: min(need, budget)]
            plan.append((seq, chunk))
            budget -= len(chunk)
            if budget <= 0:
                break
        return plan

    def _groupable(self) -> bool:
        """Whether fresh prompts can share one forward pass: every layer's cache is a plain
        ``KVCache``, which a left-padded ``BatchKVCache`` stands in for."""
        if self._plain_kv is None:
            from mlx_lm.models.cache import KVCache, make_prompt_cache

            self._plain_kv = all(type(c) is KVCache for c in make_prompt_cache(self._model))
        return self._plain_kv

    def _feed(self, group: list[tuple[_Seq, list[int]]]) -> None:
        """One forward pass over the group's chunks: alone into its own cache, or several fresh
        prompts left-padded into one batch whose cache is then split per sequence."""
        import mlx.core as mx

        if len(group) == 1:
            (seq, chunk), = group
            if seq.cache is None:
                from mlx_lm.models.cache import make_prompt_cache

                seq.cache = make_prompt_cache(self._model)
            self._model(mx.array(chunk)[None], cache=seq.cache)
            return
        from mlx_lm.models.cache import BatchKVCache, make_prompt_cache

        width = max(len(chunk) for _, chunk in group)
        pads = [width - len(chunk) for _, chunk in group]
        tokens = mx.array([[0] * pad + chunk for pad, (_, chunk) in zip(pads, group, strict=True)])
        caches: list[Any] = [BatchKVCache(pads) for _ in make_prompt_cache(self._model)]
        self._model(tokens, cache=caches)
        for i, (seq, _) in enumerate(group):
            seq.cache = [c.extract(i) for c in caches]

    def _decoders(self) -> list[_Seq]:
        single = [self._single] if self._single is not None else []
        return single + list(self._in_batch.values())

    # -- single stream -------------------------------------------------------------------

    def _step_single(self) -> StepOutput:
        import mlx.core as mx

        seq = self._single
        assert seq is not None
        if seq.steps is None:
            from mlx_lm.generate import generate_step

            if not seq.feed:  # back from the batch: feed its last token again
                seq.cache, seq.feed, seq.history = _rewind(seq.cache, seq.history, self._model)
            if seq.cache is None:
                from mlx_lm.models.cache import make_prompt_cache

                seq.cache = make_prompt_cache(self._model)
            seq.steps = generate_step(
                mx.array(seq.feed), self._model, max_tokens=seq.left, sampler=seq.sampler,
                logits_processors=_processors(seq) or None, prompt_cache=seq.cache,
                prefill_step_size=self._chunk,
            )
            seq.history += seq.feed
            seq.feed = []
        try:
            token, logprobs = next(seq.steps)
        except StopIteration:
            self._single = None
            self._store.put(seq.history, seq.cache)
            return StepOutput(exhausted={seq.key})
        # generate_step feeds a token before yielding it: the cache holds history + token
        return self._produced(StepOutput(), seq, int(token), logprobs)

    def _detach_single(self) -> _Seq:
        """Stop the single stream; its cache then holds exactly ``history``."""
        seq = self._single
        assert seq is not None
        if seq.steps is not None:
            seq.steps.close()
            seq.steps = None
        self._single = None
        resync(seq.sampler, seq.produced)
        return seq

    # -- batch ---------------------------------------------------------------------------

    def _generator(self) -> Any:
        if self._batch is None:
            from mlx_lm.generate import BatchGenerator

            self._batch = BatchGenerator(
                self._model, completion_batch_size=self._max_batch,
                prefill_batch_size=self._max_batch, prefill_step_size=self._chunk,
            )
        return self._batch

    def _to_batch(self, seq: _Seq) -> None:
        """Insert a decoder (its prompt fed but for one token, or a cache holding everything)."""
        if not seq.feed:
            seq.cache, seq.feed, seq.history = _rewind(seq.cache, seq.history, self._model)
        (uid,) = self._generator().insert(
            [seq.feed], max_tokens=[seq.left], caches=[seq.cache] if seq.cache else None,
            all_tokens=[list(seq.history)], samplers=[seq.sampler],
            logits_processors=[_processors(seq)],
        )
        seq.cache, seq.decoding = None, False
        self._in_batch[seq.key] = seq
        self._uids[uid] = seq.key

    def _detach_batch(self, key: int) -> _Seq:
        """Take a sequence out of the batch with its cache (holding ``history``)."""
        seq = self._in_batch.pop(key)
        uid = next(u for u, k in self._uids.items() if k == key)
        del self._uids[uid]
        full = seq.history + seq.feed  # what it was inserted with
        caches = self._batch.remove([uid], return_prompt_caches=True)
        cache, tokens = caches.get(uid, (None, []))
        fed = list(tokens) if cache is not None else []
        seq.cache, seq.history = cache, fed
        seq.feed = [] if seq.decoding else full[len(fed):]
        resync(seq.sampler, seq.produced)
        return seq

    def _step_batch(self) -> StepOutput:
        out = StepOutput()
        if self._batch is None or not self._in_batch:
            return out
        _, responses = self._batch.next()
        for r in responses:
            key = self._uids.get(r.uid)
            if key is None:
                continue
            seq = self._in_batch[key]
            seq.decoding = True
            self._produced(out, seq, int(r.token), r.logprobs)
            if r.finish_reason is not None:
                del self._uids[r.uid], self._in_batch[key]
                self._store.put(r.all_tokens or [], r.prompt_cache)
                out.exhausted.add(key)
        return out

    def _produced(self, out: StepOutput, seq: _Seq, token: int, logprobs: Any) -> StepOutput:
        if self._single is seq:
            seq.history.append(token)
        seq.left -= 1
        seq.produced += 1
        out.tokens[seq.key] = [token]
        if seq.top_logprobs is not None:
            found = step_logprobs(logprobs, token, seq.top_logprobs)
            out.scores[seq.key] = [TokenScore(found.logprob, found.top)]
        return out


def _groups(fed: list[tuple[_Seq, list[int]]]) -> list[list[tuple[_Seq, list[int]]]]:
    """Fresh chunks in groups of similar length: a group's padding stays within a quarter of its
    tokens, so batching never costs more compute than it saves in passes."""
    groups: list[list[tuple[_Seq, list[int]]]] = []
    tokens = 0
    for seq, chunk in sorted(fed, key=lambda p: len(p[1])):
        if groups and len(chunk) * (len(groups[-1]) + 1) * 4 <= (tokens + len(chunk)) * 5:
            groups[-1].append((seq, chunk))
            tokens += len(chunk)
        else:
            groups.append([(seq, chunk)])
            tokens = len(chunk)
    return groups


def _processors(seq: _Seq) -> list[Any]:
    """A sequence's logits processors, made afresh each time it starts on a decoder: the
    constraint's processor counts the context it has seen, which a new decoder restarts."""
    if seq.constraint is None:
        return list(seq.penalties)
    return [*seq.penalties, logits_processor(seq.constraint)]


def _rewind(cache: list[Any] | None, history: list[int], model: Any
            ) -> tuple[list[Any], list[int], list[int]]:
    """A cache holding ``history`` minus its last token, and that token to feed again."""
    from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache

    if cache is not None and can_trim_prompt_cache(cache) and trim_cache(cache, 1) == 1:
        return cache, history[-1:], history[:-1]
    return make_prompt_cache(model), list(history), []
