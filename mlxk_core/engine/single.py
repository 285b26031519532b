"""One model in an engine of its own: how the Runner and the Embedder start."""

from __future__ import annotations

from mlxk_core.backends.base import Backend
from mlxk_core.backends.embed_base import EmbeddingBackend
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.engine.engine import Engine
from mlxk_core.engine.pool import Loaded
from mlxk_core.errors import UnhealthyModel
from mlxk_core.generation.tokens import TokenPolicy
from mlxk_core.settings import Settings

__all__ = ["open_single"]

_QUEUE = 1 << 20  # the callers of one model queue as many requests as they like


def open_single(
    model: ResolvedModel, *, settings: Settings | None,
    backend: Backend | EmbeddingBackend | None, dtype: str | None, dequantize: bool | None,
    tool_parser: str | None = None, policy: TokenPolicy | None = None, max_batch: int = 32,
) -> tuple[Engine, Loaded]:
    """A started engine with ``model`` loaded (``backend`` given, or the default one with the
    layout and tool-parser overrides); UnhealthyModel first, and what loading raised, with the
    engine stopped."""
    from mlxk_core.backends.factory import backend_factory

    if not model.health.healthy:
        raise UnhealthyModel(model.name, model.health.reasons)
    factory = (
        (lambda _model: backend) if backend is not None
        else backend_factory(settings, dtype=dtype, dequantize=dequantize, tool_parser=tool_parser)
    )
    engine = Engine(factory, settings=settings, policy=policy, max_batch=max_batch,
                    max_queue=_QUEUE)
    engine.start()
    try:
        return engine, engine.load(model)
    except BaseException:
        engine.stop()
        raise
