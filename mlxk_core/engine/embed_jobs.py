"""Embedding requests on the engine thread: first come first served, one forward pass a turn.

Each turn of the worker's loop steps one generation batch and then runs at most one embedding
forward pass (a group of inputs of similar length, capped in rows and padded tokens), so an
embedding request never holds up running generations for longer than one pass. A request
starts once its model is loaded (loading it when the pool has room): its texts are tokenized,
checked against the model's context (cut, or refused) and grouped into passes.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlxk_core.embeddings.plan import check_dimensions, check_token_ids, fit, passes, shorten
from mlxk_core.embeddings.types import Embedding, EmbeddingResult
from mlxk_core.engine.embedding import EmbedHandle, LoadedEmbedder
from mlxk_core.errors import EngineStopped, GenerationError, InvalidRequest, MlxkError

if TYPE_CHECKING:
    from mlxk_core.engine.engine import Engine
    from mlxk_core.engine.pool import ModelPool

__all__ = ["EmbedJobs"]

log = logging.getLogger("mlxk.engine")


@dataclass(eq=False)
class _Job:
    handle: EmbedHandle
    held: LoadedEmbedder
    rows: list[tuple[int, ...]]
    truncated: list[bool]
    groups: deque[list[int]]
    load_seconds: float
    vectors: dict[int, list[float]] = field(default_factory=dict)


class EmbedJobs:
    """The embedding requests the worker holds: waiting ones, and started ones (in order)."""

    def __init__(self, engine: Engine, pool: ModelPool) -> None:
        self.e = engine
        self.pool = pool
        self.waiting: deque[EmbedHandle] = deque()
        self.running: deque[_Job] = deque()

    def __bool__(self) -> bool:
        return bool(self.waiting or self.running)

    def accept(self, handle: EmbedHandle) -> None:
        """Queue a request from the inbox."""
        self.waiting.append(handle)

    def busy(self) -> set[str]:
        """Models with a started request: not to be evicted between its passes."""
        return {job.handle.key for job in self.running}

    def oldest_unloaded(self) -> EmbedHandle | None:
        """The oldest waiting request whose model is not loaded."""
        return next((h for h in self.waiting if h.key not in self.pool), None)

    def drop_cancelled(self) -> None:
        """Forget cancelled requests; their readers get a GenerationError."""
        for handle in [h for h in self.waiting if h.cancelled]:
            self.waiting.remove(handle)
            self.e.count(waiting=-1)
            handle.deliver(_cancelled())
        for job in [j for j in self.running if j.handle.cancelled]:
            self._end(job, _cancelled())

    def step(self, busy: set[str]) -> None:
        """One forward pass: of the oldest started request, else of the first that can start."""
        job = self.running[0] if self.running else self._start_next(busy)
        if job is None:
            return
        group = job.groups.popleft()
        try:
            vectors = job.held.backend.embed([job.rows[i] for i in group])
        except Exception as exc:
            log.error("embedding failed\n%s", traceback.format_exc().rstrip())
            self._end(job, GenerationError(f"Embedding failed: {exc}"))
            return
        job.vectors.update(zip(group, vectors, strict=True))
        job.held.last_used = time.time()
        if not job.groups:
            self._end(job, _result(job))

    def fail_all(self, exc: MlxkError) -> None:
        """Fail every request (the loop broke, or the engine stops)."""
        for job in list(self.running):
            self._end(job, exc)
        self.e.count(waiting=-len(self.waiting))
        for handle in self.waiting:
            handle.deliver(exc)
        self.waiting.clear()

    def shutdown(self) -> None:
        """Refuse everything still here: the engine is stopping."""
        self.fail_all(EngineStopped())

    # -- internals -------------------------------------------------------------------------

    def _start_next(self, busy: set[str]) -> _Job | None:
        for handle in list(self.waiting):
            held, load_seconds = self.pool.get(handle.key), 0.0
            if held is None:
                if not self.pool.has_room(busy):
                    continue
                started = time.monotonic()
                try:
                    held = self.pool.load(handle.model, busy)
                except MlxkError as exc:  # every request for that model gets the error
                    self._refuse_key(handle.key, exc)
                    return None
                load_seconds = time.monotonic() - started
            self.waiting.remove(handle)
            self.e.count(waiting=-1, active=1)
            if not isinstance(held, LoadedEmbedder):
                self._refuse(handle, InvalidRequest(
                    f"'{handle.model.name}' is not an embedding model", param="model"))
                return None
            try:
                job = self._prepare(handle, held, load_seconds)
            except MlxkError as exc:
                self._refuse(handle, exc)
                return None
            except Exception as exc:
                log.error("could not start an embedding\n%s", traceback.format_exc().rstrip())
                self._refuse(handle, GenerationError(f"Embedding failed to start: {exc}"))
                return None
            self.running.append(job)
            return job
        return None

    def _prepare(self, handle: EmbedHandle, held: LoadedEmbedder, load_seconds: float) -> _Job:
        """Token ids for every input, cut or refused by length, grouped into passes."""
        facts, info, limit = held.model.facts.embedding, held.info, held.context_length
        check_dimensions(handle.options.dimensions, info.dimension, facts, held.model.name)
        texts = [i for i, x in enumerate(handle.inputs) if isinstance(x, str)]
        rows: list[tuple[int, ...]] = []
        for i, item in enumerate(handle.inputs):
            if not isinstance(item, str):
                check_token_ids(item, i, info.vocab_size)
            rows.append(() if isinstance(item, str) else item)
        tokenized = held.backend.tokenize([str(handle.inputs[i]) for i in texts])
        for i, ids in zip(texts, tokenized, strict=True):
            rows[i] = ids
        truncated = fit([len(r) for r in rows], limit, handle.options.truncate)
        cut = [i for i in texts if truncated[i]]
        if cut and limit:
            shorter = held.backend.tokenize([str(handle.inputs[i]) for i in cut], max_tokens=limit)
            rows = _replace(rows, cut, shorter)
        rows = [r[:limit] if limit else r for r in rows]
        empty = [i for i, r in enumerate(rows) if not r]
        if empty:
            raise InvalidRequest(f"Input {empty[0]} has no tokens", param="input")
        groups = deque(passes([len(r) for r in rows], self.e.max_batch))
        return _Job(handle, held, rows, truncated, groups, load_seconds)

    def _end(self, job: _Job, event: EmbeddingResult | MlxkError) -> None:
        self.running.remove(job)
        self.e.count(active=-1)
        job.handle.deliver(event)

    def _refuse(self, handle: EmbedHandle, exc: MlxkError) -> None:
        self.e.count(active=-1)
        handle.deliver(exc)

    def _refuse_key(self, key: str, exc: MlxkError) -> None:
        failed = [h for h in self.waiting if h.key == key]
        self.waiting = deque(h for h in self.waiting if h.key != key)
        self.e.count(waiting=-len(failed))
        for handle in failed:
            handle.deliver(exc)


def _replace(
    rows: list[tuple[int, ...]], where: list[int], new: list[tuple[int, ...]]
) -> list[tuple[int, ...]]:
    out = list(rows)
    for i, ids in zip(where, new, strict=True):
        out[i] = ids
    return out


def _result(job: _Job) -> EmbeddingResult:
    dims = job.handle.options.dimensions
    embeddings = tuple(
        Embedding(shorten(job.vectors[i], dims), len(row), job.truncated[i])
        for i, row in enumerate(job.rows)
    )
    held = job.held
    return EmbeddingResult(
        model=held.model.repo_id or held.model.name, embeddings=embeddings,
        dimension=dims or held.info.dimension, pooling=held.info.pooling,
        prompt_tokens=sum(len(r) for r in job.rows), load_seconds=job.load_seconds,
        seconds=time.monotonic() - job.handle.submitted,
    )


def _cancelled() -> GenerationError:
    return GenerationError("The embedding request was cancelled")
