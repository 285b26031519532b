"""A submitted request's handle: its events arrive from the engine thread, in order.

Events are :class:`Started` (the model is loaded and the prompt accepted), then
:class:`~mlxk_core.generation.events.Chunk` objects, the last with a finish reason; or an
:class:`~mlxk_core.errors.MlxkError` instead, at any point before the last chunk. A handle
either queues them for :meth:`RequestHandle.chunks` (threads, notebooks) or hands each one to
a listener (an event loop's ``call_soon_threadsafe``, say).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mlxk_core.cache.records import ResolvedModel
from mlxk_core.errors import MlxkError
from mlxk_core.generation.events import Chunk, Completion
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.sequence import collect

__all__ = ["EngineEvent", "RequestHandle", "Started", "Submitted", "model_key"]

_ids = itertools.count(1)


@dataclass(frozen=True)
class Started:
    """Generation has begun: the model is loaded and the prompt fits."""

    prompt_tokens: int
    reasoning: bool


EngineEvent = Started | Chunk | MlxkError
Listener = Callable[[EngineEvent], None]


def model_key(model: ResolvedModel) -> str:
    """What the engine loads and schedules a model by: its snapshot folder (repo and commit)."""
    return str(model.path)


class Submitted:
    """What every request in the engine has: its model, when it came, and a cancel flag that
    wakes the engine when set."""

    def __init__(self, model: ResolvedModel, *, cancel: threading.Event | None,
                 wake: Callable[[], None]) -> None:
        self.model = model
        self.key = model_key(model)
        self.submitted = time.monotonic()
        self._cancel = cancel or threading.Event()
        self._wake = wake

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel()`` was called (or the caller's cancel event is set)."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Cancel this request; harmless once it has ended."""
        if not self._cancel.is_set():
            self._cancel.set()
            self._wake()


class RequestHandle(Submitted):
    """One request in the engine: iterate :meth:`chunks`, or :meth:`completion`; ``cancel()``
    stops it from any thread (a running one ends with finish reason ``cancelled``)."""

    def __init__(
        self, model: ResolvedModel, request: GenerationRequest, *,
        cancel: threading.Event | None = None, listener: Listener | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(model, cancel=cancel, wake=wake)
        self.id = next(_ids)
        self.request = request
        self.reasoning = False
        self._queue: queue.SimpleQueue[EngineEvent] = queue.SimpleQueue()
        self._listener = listener or self._queue.put
        self._ended = False

    def deliver(self, event: EngineEvent) -> None:
        """Hand an event to the reader (called by the engine thread)."""
        if isinstance(event, Started):
            self.reasoning = event.reasoning
        self._listener(event)

    def started(self, timeout: float | None = None) -> Started:
        """Wait until generation begins; raise the error that stopped it instead."""
        event = self._next(timeout)
        if isinstance(event, Started):
            return event
        raise RuntimeError(f"the engine sent {type(event).__name__} before Started")

    def chunks(self) -> Iterator[Chunk]:
        """The chunks as they come (waiting for the start first); leaving early cancels."""
        try:
            while not self._ended:
                event = self._next(None)
                if isinstance(event, Chunk):
                    if event.finish_reason is not None:
                        self._ended = True
                    yield event
        finally:
            if not self._ended:
                self.cancel()

    def __iter__(self) -> Iterator[Chunk]:
        return self.chunks()

    def completion(self) -> Completion:
        """The whole generation, collected."""
        chunks = list(self.chunks())
        return collect(chunks, reasoning=self.reasoning, logprobs=self.request.params.logprobs)

    def _next(self, timeout: float | None) -> EngineEvent:
        try:
            event = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("the request did not start in time") from None
        if isinstance(event, MlxkError):
            self._ended = True
            raise event
        return event
