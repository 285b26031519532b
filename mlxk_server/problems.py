"""The last failure of each model (load, health, generation), as ``/health`` reports it."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any, TypeVar

from mlxk_core import GenerationError, MlxkError, ModelLoadError, UnhealthyModel

__all__ = ["SERVER_SIDE", "Problems"]

T = TypeVar("T")

# Failures that say something about a model (not about the request that met them).
SERVER_SIDE = (UnhealthyModel, ModelLoadError, GenerationError)


class Problems:
    """Per model, the last server-side failure until a request for it succeeds (bounded)."""

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._last: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def record(self, model: str, exc: MlxkError) -> None:
        """Remember ``exc`` as ``model``'s current problem."""
        self._last.pop(model, None)
        self._last[model] = {"model": model, "code": exc.code, "message": str(exc),
                             "at": time.time()}
        while len(self._last) > self._limit:
            self._last.popitem(last=False)

    def clear(self, model: str) -> None:
        """``model`` served a request: it has no problem any more."""
        self._last.pop(model, None)

    def describe(self) -> list[dict[str, Any]]:
        """The current problems, oldest first."""
        return list(self._last.values())

    async def watch(self, model: str, items: AsyncIterator[T]) -> AsyncIterator[T]:
        """``items`` unchanged; a server-side failure while reading them is recorded."""
        try:
            async for item in items:
                yield item
        except SERVER_SIDE as exc:
            self.record(model, exc)
            raise
