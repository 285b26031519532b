"""A request's handle as the event loop reads it: the engine thread's events, awaited in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from mlxk_core import (
    Chunk,
    Completion,
    Engine,
    EngineEvent,
    GenerationRequest,
    MlxkError,
    RequestHandle,
    ResolvedModel,
    Started,
    collect,
)

__all__ = ["Job"]


class Job:
    """One request in the core engine, bridged to asyncio; leaving early cancels it."""

    def __init__(self, engine: Engine, model: ResolvedModel, request: GenerationRequest) -> None:
        self._loop = asyncio.get_running_loop()
        self._items: asyncio.Queue[EngineEvent] = asyncio.Queue()
        self._ended = False
        self.handle: RequestHandle = engine.submit(model, request, listener=self._listen)

    def _listen(self, event: EngineEvent) -> None:
        """Called on the engine thread: hand the event to the loop."""
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, event)
        except RuntimeError:  # the loop is gone: nobody is listening any more
            self.handle.cancel()

    def cancel(self) -> None:
        """Stop generating for this request (a client went away)."""
        if not self._ended:
            self.handle.cancel()

    async def _next(self) -> EngineEvent:
        event = await self._items.get()
        if isinstance(event, MlxkError):
            self._ended = True
            raise event
        return event

    async def started(self) -> Started:
        """Wait until the model is loaded and the prompt accepted; raise what went wrong."""
        try:
            event = await self._next()
        except BaseException:
            self.cancel()
            raise
        assert isinstance(event, Started)
        return event

    async def chunks(self) -> AsyncIterator[Chunk]:
        """The chunks as they are produced."""
        try:
            while not self._ended:
                event = await self._next()
                if isinstance(event, Chunk):
                    self._ended = event.finish_reason is not None
                    yield event
        finally:
            self.cancel()

    async def completion(self) -> Completion:
        """The whole completion."""
        chunks = [c async for c in self.chunks()]
        request = self.handle.request
        return collect(chunks, reasoning=self.handle.reasoning, logprobs=request.params.logprobs)
