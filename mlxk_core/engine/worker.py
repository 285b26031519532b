"""The engine thread: admission, fairness between models, one batch step at a time.

Each turn of the loop takes new work from the inbox, drops what was cancelled, admits waiting
requests (loading models as needed) and steps one loaded model's batch; models with running
sequences take turns, so two loaded models both make progress. A request for a model that is
not loaded, when every loaded model is busy, waits; once it has waited longer than the fair
share, the least recently used busy model takes no new work, drains, and is swapped out.
Prompts are prefilled a chunk per step, so cancellation, new work and shutdown are seen
between chunks. Embedding requests (:mod:`mlxk_core.engine.embed_jobs`) get one forward pass
per turn, after the generation step, and share the pool and its fairness rule.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlxk_core.backends.base import PromptTokens
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.engine.embed_jobs import EmbedJobs
from mlxk_core.engine.embedding import EmbedHandle
from mlxk_core.engine.handle import RequestHandle, Started, model_key
from mlxk_core.engine.loaded import LoadedModel
from mlxk_core.engine.pool import Loaded, ModelPool
from mlxk_core.errors import EngineStopped, GenerationError, InvalidRequest, MlxkError
from mlxk_core.generation.events import Chunk, FinishReason, Timings, Usage
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.sequence import SequenceDecoder

if TYPE_CHECKING:
    from mlxk_core.engine.engine import Engine

__all__ = ["LoadOrder", "UnloadOrder", "Worker"]

log = logging.getLogger("mlxk.engine")
_IDLE_POLL = 1.0
_WAIT_POLL = 0.05


@dataclass(eq=False)
class LoadOrder:
    """Load a model now (from another thread, which waits on ``done``); with ``request``,
    encode it once loaded (the result is then its PromptTokens)."""

    model: ResolvedModel
    request: GenerationRequest | None = None
    done: threading.Event = field(default_factory=threading.Event)
    result: list[Loaded | PromptTokens | BaseException] = field(default_factory=list)


@dataclass(eq=False)
class UnloadOrder:
    """Release a model as soon as it has no running sequence."""

    key: str


@dataclass(eq=False)
class _Running:
    handle: RequestHandle
    decoder: SequenceDecoder


class Worker:
    """State that only the engine thread touches."""

    def __init__(self, engine: Engine, pool: ModelPool, clock: Callable[[], float]) -> None:
        self.e = engine
        self.pool = pool
        self.clock = clock
        self.waiting: deque[RequestHandle] = deque()
        self.running: dict[str, dict[int, _Running]] = {}
        self.turns: deque[str] = deque()
        self.unload_when_idle: set[str] = set()
        self.embeds = EmbedJobs(engine, pool)
        self._ids = itertools.count()

    # -- the loop ------------------------------------------------------------------------

    def loop(self) -> None:
        """Run until the engine stops."""
        while not self.e.stopping.is_set():
            self._take()
            if self.e.stopping.is_set():
                return
            self._drop_cancelled()
            self._admit()
            if self.turns:
                self._step(self.turns[0])
                self.turns.rotate(-1)
            if self.embeds:
                self.embeds.step(self._busy())
            self._unload_idle()

    def _take(self) -> None:
        """Move inbox items in; block only when nothing runs."""
        if self.turns or self.embeds:
            timeout: float | None = 0.0
        elif self.waiting:
            timeout = _WAIT_POLL
        else:
            timeout = _IDLE_POLL if self.e.idle_unload else None
        inbox = self.e.inbox
        try:
            item = inbox.get_nowait() if timeout == 0.0 else inbox.get(timeout=timeout)
            while True:
                self._accept(item)
                item = self.e.inbox.get_nowait()
        except queue.Empty:
            return

    def _accept(self, item: Any) -> None:
        if isinstance(item, RequestHandle):
            self.waiting.append(item)
        elif isinstance(item, EmbedHandle):
            self.embeds.accept(item)
        elif isinstance(item, LoadOrder):
            try:
                item.result.append(self._load_order(item))
            except BaseException as exc:  # handed to the waiting caller
                item.result.append(exc)
            item.done.set()
        elif isinstance(item, UnloadOrder):
            self.unload_when_idle.add(item.key)

    # -- admission -----------------------------------------------------------------------

    def _busy(self) -> set[str]:
        return {key for key, seqs in self.running.items() if seqs} | self.embeds.busy()

    def _generator(self, key: str) -> LoadedModel | None:
        held = self.pool.get(key)
        return held if isinstance(held, LoadedModel) else None

    def _load_order(self, order: LoadOrder) -> Loaded | PromptTokens:
        held = self._loaded(order.model)
        if order.request is None:
            return held
        if not isinstance(held, LoadedModel):
            raise InvalidRequest(f"'{order.model.name}' is an embedding model: it has no "
                                 "prompt to count", param="model")
        return held.encode(order.request)

    def _loaded(self, model: ResolvedModel) -> Loaded:
        key = model_key(model)
        held = self.pool.get(key)
        if held is not None:
            return held
        if not self.pool.has_room(self._busy()):
            raise GenerationError(
                "Every loaded model is busy", hint="wait for running requests to finish"
            )
        return self.pool.load(model, self._busy())

    def _starved(self) -> RequestHandle | EmbedHandle | None:
        """The oldest request for a model that is not loaded, once it waited past the share."""
        now = self.clock()
        unloaded = (h for h in self.waiting if h.key not in self.pool)
        first = [h for h in (next(unloaded, None), self.embeds.oldest_unloaded()) if h]
        oldest = min(first, key=lambda h: h.submitted, default=None)
        if oldest is not None and now - oldest.submitted > self.e.fair_share:
            return oldest
        return None

    def _admit(self) -> None:
        """Start what can start: the starved request first, then the queue in order."""
        if not self.waiting:
            return
        closed: set[str] = set()
        starved = self._starved()
        if starved is not None:
            busy = self._busy()
            if self.pool.has_room(busy):
                if isinstance(starved, RequestHandle):  # an embedding loads on its turn
                    self._load_and_start(starved)
            else:  # the least recently used busy model drains, then gives way
                closed = {next(k for k in self.pool.by_last_use() if k in busy)}
        for handle in list(self.waiting):
            key = handle.key
            if handle not in self.waiting or key in closed or not self._room(key):
                continue
            if key in self.pool:
                self._start(handle)
            elif self.pool.has_room(self._busy()):
                self._load_and_start(handle)

    def _room(self, key: str) -> bool:
        return len(self.running.get(key, {})) < self.e.max_batch

    def _load_and_start(self, handle: RequestHandle) -> None:
        try:
            self.pool.load(handle.model, self._busy())
        except MlxkError as exc:  # every request for that model gets the error
            failed = [h for h in self.waiting if h.key == handle.key]
            self.waiting = deque(h for h in self.waiting if h.key != handle.key)
            self.e.count(waiting=-len(failed))
            for other in failed:
                other.deliver(exc)
            return
        self._start(handle)

    def _start(self, handle: RequestHandle) -> None:
        held = self._generator(handle.key)
        self.waiting.remove(handle)
        self.e.count(waiting=-1, active=1)
        if held is None:
            self._refuse_started(handle, InvalidRequest(
                f"'{handle.model.name}' is an embedding model: it makes vectors, not text",
                param="model"))
            return
        try:
            prompt = held.encode(handle.request)
            decoder = held.decoder(handle.request, prompt)
            seqs = self.running.setdefault(handle.key, {})
            if not seqs:
                held.backend.reset_peak_memory()
            spec = held.spec(handle.request, prompt, decoder.max_tokens)
            sid = next(self._ids)
            decoder.cached_tokens = held.batch.add(sid, spec)
        except MlxkError as exc:
            self._refuse_started(handle, exc)
            return
        except Exception as exc:
            _log_failure("could not start a generation")
            self._refuse_started(handle, GenerationError(f"Generation failed to start: {exc}"))
            return
        seqs[sid] = _Running(handle, decoder)
        if handle.key not in self.turns:
            self.turns.append(handle.key)
        handle.deliver(Started(len(prompt.tokens), held.reasoning))

    def _refuse_started(self, handle: RequestHandle, exc: MlxkError) -> None:
        self.e.count(active=-1)
        if not self.running.get(handle.key):
            self.running.pop(handle.key, None)
        handle.deliver(exc)

    # -- running -------------------------------------------------------------------------

    def _drop_cancelled(self) -> None:
        self.embeds.drop_cancelled()
        for key, seqs in list(self.running.items()):
            for sid, run in list(seqs.items()):
                if run.handle.cancelled:
                    self._end(key, sid, "cancelled")
        for handle in [h for h in self.waiting if h.cancelled]:
            self.waiting.remove(handle)
            self.e.count(waiting=-1)
            handle.deliver(Started(0, False))
            handle.deliver(_empty_end("cancelled"))

    def _step(self, key: str) -> None:
        held = self._generator(key)
        seqs = self.running.get(key)
        if held is None or not seqs:
            self._forget(key)
            return
        try:
            out = held.batch.step()
        except MlxkError as exc:  # the backend said what went wrong (a sharded group lost a rank)
            log.error("generation failed: %s", exc)
            self._fail_running(key, exc)
            self.pool.unload(key)
            return
        except Exception as exc:
            _log_failure("generation failed")
            self._fail_running(key, GenerationError(f"Generation failed: {exc}"))
            self.pool.unload(key)  # a model that failed mid-generation is reloaded afresh
            return
        for sid, tokens in out.tokens.items():
            run = seqs.get(sid)
            if run is None:
                continue
            scores = out.scores.get(sid, [])
            for i, token in enumerate(tokens):
                chunk = run.decoder.add(token, scores[i] if i < len(scores) else None)
                if chunk is not None:
                    run.handle.deliver(chunk)
                if run.decoder.done:
                    break
            if run.decoder.done:
                self._end(key, sid, None)
        for sid in out.exhausted:
            if sid in seqs:
                self._end(key, sid, "length")

    def _end(self, key: str, sid: int, reason: FinishReason | None) -> None:
        run = self.running[key].pop(sid)
        held = self._generator(key)
        peak = 0
        if held is not None:
            held.batch.remove(sid)
            peak = held.backend.peak_memory()
        self.e.count(active=-1)
        run.handle.deliver(run.decoder.finish(reason, peak_memory=peak))
        if not self.running[key]:
            self._forget(key)

    def _forget(self, key: str) -> None:
        self.running.pop(key, None)
        if key in self.turns:
            self.turns.remove(key)

    def _fail_running(self, key: str, exc: MlxkError) -> None:
        seqs = self.running.get(key, {})
        self.e.count(active=-len(seqs))
        for run in seqs.values():
            run.handle.deliver(exc)
        self._forget(key)

    def _unload_idle(self) -> None:
        busy = self._busy()
        for key in list(self.unload_when_idle):
            if key not in busy:
                self.pool.unload(key)
                self.unload_when_idle.discard(key)
        if self.e.idle_unload:
            for key in self.pool.idle_since(self.e.idle_unload, busy):
                self.pool.unload(key)

    # -- failure and shutdown ------------------------------------------------------------

    def fail_all(self, exc: MlxkError) -> None:
        """Fail every running and waiting request (the loop itself broke)."""
        for key in list(self.running):
            self._fail_running(key, exc)
        self.embeds.fail_all(exc)
        self.e.count(waiting=-len(self.waiting))
        for handle in self.waiting:
            handle.deliver(exc)
        self.waiting.clear()

    def shutdown(self, leftovers: list[Any]) -> None:
        """End running requests with what they have; refuse waiting ones; release models."""
        for key, seqs in list(self.running.items()):
            for sid in list(seqs):
                self._end(key, sid, "cancelled")
        for item in leftovers:
            if isinstance(item, RequestHandle):
                self.waiting.append(item)
            elif isinstance(item, EmbedHandle):
                self.embeds.accept(item)
            elif isinstance(item, LoadOrder):
                item.result.append(EngineStopped())
                item.done.set()
        self.embeds.shutdown()
        self.e.count(waiting=-len(self.waiting))
        for handle in self.waiting:
            handle.deliver(EngineStopped())
        self.waiting.clear()
        self.pool.close()


def _log_failure(what: str) -> None:
    """Log the exception being handled as text: a log record holding the exception itself would
    keep the failed step's frames, and through them the model, alive after it is unloaded."""
    log.error("%s\n%s", what, traceback.format_exc().rstrip())


def _empty_end(reason: FinishReason) -> Chunk:
    return Chunk(finish_reason=reason, usage=Usage(0, 0), timings=Timings(None, 0.0, 0.0, 0))
