"""The loaded models: at most ``max_loaded``, least recently used evicted first (engine thread).

Models are keyed by snapshot, so ``org/name`` and ``org/name@old`` are two models. Only models
with no running sequence are evicted; the status view is safe to read from any thread.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection

from mlxk_core.backends.embed_base import EmbeddingBackend
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.engine.embedding import LoadedEmbedder, load_embedder
from mlxk_core.engine.handle import model_key
from mlxk_core.engine.loaded import BackendFactory, LoadedModel, load_model
from mlxk_core.generation.tokens import TokenPolicy

__all__ = ["Loaded", "ModelPool"]

Loaded = LoadedModel | LoadedEmbedder
"""A model in the pool: a generation model with its batch, or an embedding model."""


class ModelPool:
    """Loads, holds and releases models for the engine thread."""

    def __init__(
        self, factory: BackendFactory, *, max_loaded: int, policy: TokenPolicy, max_batch: int,
        prefill_chunk: int, on_load: Callable[[Loaded], None] | None = None,
    ) -> None:
        self._factory = factory
        self.max_loaded = max(1, max_loaded)
        self._policy = policy
        self._max_batch = max_batch
        self._prefill_chunk = prefill_chunk
        self._on_load = on_load
        self._loaded: OrderedDict[str, Loaded] = OrderedDict()
        self._lock = threading.Lock()  # guards the status view read by other threads

    def __contains__(self, key: str) -> bool:
        return key in self._loaded

    def __len__(self) -> int:
        return len(self._loaded)

    def by_last_use(self) -> list[str]:
        """Loaded model keys, least recently used first."""
        return list(self._loaded)

    def get(self, key: str) -> Loaded | None:
        """The loaded model under ``key``, marked as just used; None when not loaded."""
        held = self._loaded.get(key)
        if held is not None:
            with self._lock:
                self._loaded.move_to_end(key)
            held.last_used = time.time()
        return held

    def has_room(self, busy: Collection[str]) -> bool:
        """Whether a model can be loaded now (a free place, or an idle model to evict)."""
        return len(self._loaded) < self.max_loaded or any(k not in busy for k in self._loaded)

    def load(self, model: ResolvedModel, busy: Collection[str]) -> Loaded:
        """Load ``model``, first evicting least recently used models that are not ``busy``."""
        for key in list(self._loaded):
            if len(self._loaded) < self.max_loaded:
                break
            if key not in busy:
                self.unload(key)
        backend = self._factory(model)
        held: Loaded
        if isinstance(backend, EmbeddingBackend):
            held = load_embedder(model, backend)
        else:
            held = load_model(
                model, backend, policy=self._policy, max_batch=self._max_batch,
                prefill_chunk=self._prefill_chunk,
            )
        with self._lock:
            self._loaded[model_key(model)] = held
        if self._on_load is not None:
            self._on_load(held)
        return held

    def unload(self, key: str) -> None:
        """Release one model: close its batch (if it has one) and its backend."""
        with self._lock:
            held = self._loaded.pop(key, None)
        if held is not None:
            held.close()

    def idle_since(self, seconds: float, busy: Collection[str]) -> list[str]:
        """Models not used for ``seconds`` that have no running sequence."""
        cutoff = time.time() - seconds
        return [k for k, m in self._loaded.items() if m.last_used < cutoff and k not in busy]

    def close(self) -> None:
        """Release every model."""
        for key in list(self._loaded):
            self.unload(key)

    def describe(self) -> list[dict[str, object]]:
        """A thread-safe view of what is loaded."""
        with self._lock:
            return [held.describe() for held in self._loaded.values()]
