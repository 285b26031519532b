"""Which models the server offers (cache + allow-list) and which are loaded (LRU, engine thread)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlxk_core.backends.base import Backend, ModelInfo
from mlxk_core.cache.records import CachedModel, ResolvedModel
from mlxk_core.errors import MlxkError, ModelNotFound, UnhealthyModel
from mlxk_core.generation.runner import Runner
from mlxk_core.generation.tokens import TokenPolicy
from mlxk_core.settings import Settings
from mlxk_server.errors import ModelNotServed

__all__ = [
    "BackendFactory", "Catalog", "LoadedModel", "ModelPool", "default_backend", "model_key"
]

BackendFactory = Callable[[ResolvedModel], Backend]

# A repo id ("org/name" or "name"); anything else (paths, "..", "~", "\\") never resolves.
_REPO_ID = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?(@[A-Za-z0-9._/-]+)?$"
)


log = logging.getLogger("mlxk.server")

_POLICY = TokenPolicy(mode="server")


def default_backend(
    model: ResolvedModel, *, settings: Settings | None = None, dtype: str | None = None,
    dequantize: bool | None = None,
) -> Backend:
    """The MLX backend (imported only when a model is first loaded); None: automatic layout."""
    from mlxk_core.backends.mlx import MlxBackend

    return MlxBackend(settings=settings, dtype=dtype, dequantize=dequantize)


def model_key(model: ResolvedModel) -> str:
    """The name a model is loaded under: its repo id (or its folder)."""
    return model.repo_id or str(model.path)


def _safe_name(name: str) -> bool:
    return bool(_REPO_ID.match(name)) and ".." not in name


def _runnable(model: CachedModel) -> bool:
    rev = model.latest
    return (
        rev is not None
        and rev.health.healthy
        and rev.facts.framework == "mlx"
        and rev.facts.model_type in ("chat", "base")
    )


class Catalog:
    """The models a client may ask for: healthy MLX chat/base models of the cache (allow-listed)."""

    def __init__(self, settings: Settings, allow: tuple[str, ...] = ()) -> None:
        self._settings = settings
        self._allow = allow

    def _index(self) -> Any:
        from mlxk_core.cache.index import CacheIndex

        return CacheIndex.from_settings(self._settings)

    def _allowed(self, *names: str | None) -> bool:
        return not self._allow or any(n in self._allow for n in names if n)

    def models(self) -> list[CachedModel]:
        """Runnable cached models, in the index's order; an empty or missing cache gives []."""
        try:
            found = list(self._index().models())
        except MlxkError:
            return []
        return [m for m in found if _runnable(m) and self._allowed(m.repo_id)]

    def resolve(self, name: str) -> ResolvedModel:
        """Resolve a request's ``model`` inside the cache; ModelNotFound for anything else
        (ModelNotServed for a name outside the allow-list, whether it is cached or not)."""
        if not _safe_name(name):
            raise ModelNotFound(name)
        if not self._allowed(name, name.partition("@")[0]):
            raise ModelNotServed(name)
        resolved: ResolvedModel = self._index().resolve(name, allow_local=False)
        if resolved.repo_id is None:
            raise ModelNotFound(name)
        if not self._allowed(name, resolved.repo_id):
            raise ModelNotServed(name)
        if not resolved.health.healthy:  # first: damage can make an MLX model look foreign
            raise UnhealthyModel(resolved.repo_id, resolved.health.reasons)
        if resolved.facts.framework != "mlx":
            raise ModelNotFound(name, hint="only MLX models can be served; see `mlxk list`")
        return resolved


@dataclass
class LoadedModel:
    """A model held in memory by its Runner (server token policy)."""

    model: ResolvedModel
    runner: Runner
    loaded_at: float
    last_used: float
    size_bytes: int  # weights on disk, measured once at load (not on every /health)

    @property
    def backend(self) -> Backend:
        """The backend the Runner loaded the model with."""
        return self.runner.backend

    @property
    def info(self) -> ModelInfo:
        """What the loaded model says about itself."""
        return self.runner.info

    def describe(self) -> dict[str, object]:
        """What ``/health`` and ``/v1/loaded`` show about it."""
        return {
            "id": self.model.repo_id,
            "size_bytes": self.size_bytes,
            "loaded_at": self.loaded_at,
            "last_used": self.last_used,
            "context_length": self.runner.context_length,
        }


def _snapshot_size(model: ResolvedModel) -> int:
    total = 0
    for path in model.path.glob("*.safetensors"):
        try:
            total += path.stat().st_size
        except OSError:
            continue
    return total


def _log_loaded(key: str, backend: Backend) -> None:
    layout = getattr(backend, "layout", None)
    log.info("loaded %s (weights: %s)", key, layout.reason if layout is not None else "as stored")
    hint = getattr(backend, "blas_hint", None)
    text = hint() if callable(hint) else None
    if text:
        log.warning("%s", text)


class ModelPool:
    """Loaded models, least recently used evicted; used only by the engine thread."""

    def __init__(self, factory: BackendFactory, max_loaded: int = 1) -> None:
        self._factory = factory
        self._max = max(1, max_loaded)
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()  # guards snapshots read by the event loop

    def get(self, model: ResolvedModel) -> LoadedModel:
        """The loaded model, loading it (and evicting the LRU ones) when needed."""
        key = model_key(model)
        now = time.time()
        with self._lock:
            held = self._loaded.get(key)
            if held is not None and held.model.path == model.path:
                self._loaded.move_to_end(key)
                held.last_used = now
                return held
        if held is not None:
            self.unload(key)
        while len(self._loaded) >= self._max:
            self.unload(next(iter(self._loaded)))
        runner = Runner(model, backend=self._factory(model), policy=_POLICY)
        runner.open()  # load errors become ModelLoadError there; the backend is closed
        _log_loaded(key, runner.backend)
        held = LoadedModel(model, runner, now, now, _snapshot_size(model))
        with self._lock:
            self._loaded[key] = held
        return held

    def unload(self, key: str) -> None:
        """Release one model."""
        with self._lock:
            held = self._loaded.pop(key, None)
        if held is not None:
            held.runner.close()

    def unload_idle(self, idle_seconds: float) -> list[str]:
        """Release models nobody used for ``idle_seconds``; return their names."""
        cutoff = time.time() - idle_seconds
        freed = [key for key, held in self._loaded.items() if held.last_used < cutoff]
        for key in freed:
            self.unload(key)
        return freed

    def close(self) -> None:
        """Release every model."""
        for key in list(self._loaded):
            self.unload(key)

    def describe(self) -> list[dict[str, object]]:
        """A thread-safe view of what is loaded."""
        with self._lock:
            return [held.describe() for held in self._loaded.values()]
