"""A request's handle: the event loop awaits its start and chunks; the engine thread feeds it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from mlxk_core.cache.records import ResolvedModel
from mlxk_core.generation.events import Chunk, Completion
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.sequence import collect
from mlxk_server.models import model_key

__all__ = ["Job"]

_STARTED = object()


class Job:
    """One request on its way through the engine, read from the event loop."""

    def __init__(
        self, model: ResolvedModel, request: GenerationRequest, wake: Callable[[], None]
    ) -> None:
        self.model = model
        self.request = request
        self.key = model_key(model)
        self.cancelled = threading.Event()
        self._wake = wake
        self._loop = asyncio.get_running_loop()
        self._items: asyncio.Queue[Any] = asyncio.Queue()
        self.done = False
        self.reasoning = model.facts.reasoning  # the Runner's verdict, set when admitted

    def push(self, item: Any) -> None:
        """Hand a chunk or an error to the event loop (engine thread)."""
        try:
            self._loop.call_soon_threadsafe(self._items.put_nowait, item)
        except RuntimeError:  # the loop is gone: nobody is listening any more
            self.cancelled.set()

    def start(self) -> None:
        """Tell the waiting handler that generation has begun (engine thread)."""
        self.push(_STARTED)

    def cancel(self) -> None:
        """Stop generating for this request (a client went away)."""
        if not self.done:
            self.cancelled.set()
            self._wake()

    async def _next(self) -> Any:
        item = await self._items.get()
        if isinstance(item, BaseException):
            self.done = True
            raise item
        return item

    async def started(self) -> None:
        """Wait until the model is loaded and the prompt accepted; raise what went wrong."""
        try:
            item = await self._next()
        except BaseException:
            self.cancel()
            raise
        assert item is _STARTED

    async def chunks(self) -> AsyncIterator[Chunk]:
        """The chunks as they are produced; leaving early cancels the generation."""
        try:
            while True:
                chunk: Chunk = await self._next()
                yield chunk
                if chunk.finish_reason is not None:
                    self.done = True
                    return
        finally:
            self.cancel()

    async def completion(self) -> Completion:
        """The whole completion."""
        return collect([c async for c in self.chunks()], reasoning=self.reasoning)
