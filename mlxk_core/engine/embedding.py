"""Embedding models in the engine: the loaded embedder, and an embedding request's handle.

A handle receives exactly one event from the engine thread: the
:class:`~mlxk_core.embeddings.types.EmbeddingResult`, or the
:class:`~mlxk_core.errors.MlxkError` that stopped the request. Like generation handles, it
either queues it for :meth:`EmbedHandle.result` or hands it to a listener.
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mlxk_core.backends.embed_base import EmbeddingBackend, EmbeddingInfo
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.embeddings.plan import Checked
from mlxk_core.embeddings.types import EmbeddingResult, EmbedOptions
from mlxk_core.engine.handle import Submitted, model_key
from mlxk_core.engine.loaded import weights_size
from mlxk_core.errors import MlxkError, ModelLoadError

__all__ = ["EmbedEvent", "EmbedHandle", "LoadedEmbedder", "load_embedder"]

EmbedEvent = EmbeddingResult | MlxkError
_ids = itertools.count(1)


@dataclass(eq=False)
class LoadedEmbedder:
    """A loaded embedding model (engine thread only, but for the read-only facts)."""

    model: ResolvedModel
    backend: EmbeddingBackend
    info: EmbeddingInfo
    size_bytes: int
    loaded_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        """The snapshot this model was loaded from."""
        return model_key(self.model)

    @property
    def context_length(self) -> int | None:
        """The most tokens one input may have: the model's positions, or the shorter
        sentence-transformers ``max_seq_length``."""
        facts = self.model.facts.embedding
        limits = [self.info.context_length, facts.max_tokens if facts else None]
        known = [n for n in limits if n]
        return min(known) if known else None

    def close(self) -> None:
        """Release the backend (engine thread)."""
        self.backend.close()

    def describe(self) -> dict[str, object]:
        """What status reports show about it."""
        return {
            "id": self.model.repo_id or str(self.model.path),
            "revision": self.model.commit_hash,
            "size_bytes": self.size_bytes,
            "loaded_at": self.loaded_at,
            "last_used": self.last_used,
            "context_length": self.context_length,
            "type": "embedding",
            "dimension": self.info.dimension,
            "pooling": self.info.pooling,
        }


def load_embedder(model: ResolvedModel, backend: EmbeddingBackend) -> LoadedEmbedder:
    """Load ``model`` with ``backend``; the backend is closed on failure."""
    facts = model.facts.embedding
    try:
        if facts is None:
            raise ModelLoadError(f"'{model.name}' is not an embedding model")
        info = backend.load(model.path, name=model.name, facts=facts)
    except MlxkError:
        backend.close()
        raise
    except Exception as exc:
        backend.close()
        raise ModelLoadError(
            f"Could not load '{model.name}': {exc}",
            hint=f"run `mlxk health {model.name}`; re-pull the model if it is damaged",
        ) from exc
    return LoadedEmbedder(model, backend, info, weights_size(model))


class EmbedHandle(Submitted):
    """One embedding request in the engine: :meth:`result` waits for it; ``cancel()`` drops
    it from any thread (a waiting :meth:`result` then raises)."""

    def __init__(
        self, model: ResolvedModel, inputs: list[Checked], options: EmbedOptions, *,
        cancel: threading.Event | None = None,
        listener: Callable[[EmbedEvent], None] | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(model, cancel=cancel, wake=wake)
        self.id = next(_ids)
        self.inputs = inputs
        self.options = options
        self._queue: queue.SimpleQueue[EmbedEvent] = queue.SimpleQueue()
        self._listener = listener or self._queue.put

    def deliver(self, event: EmbedEvent) -> None:
        """Hand the outcome to the reader (called by the engine thread, once)."""
        self._listener(event)

    def result(self, timeout: float | None = None) -> EmbeddingResult:
        """The vectors, once every forward pass is done; raises what stopped the request."""
        try:
            event = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError("the embedding request did not finish in time") from None
        if isinstance(event, MlxkError):
            raise event
        return event
