"""The one place that picks a backend: MLX today (imported only when a model is first loaded).

Embedding models (the cache's facts say so) get the embedding backend; every other model the
generation backend.
"""

from __future__ import annotations

from collections.abc import Callable

from mlxk_core.backends.base import Backend
from mlxk_core.backends.embed_base import EmbeddingBackend
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.settings import Settings

__all__ = ["BackendFactory", "backend_factory"]

BackendFactory = Callable[[ResolvedModel], Backend | EmbeddingBackend]


def backend_factory(
    settings: Settings | None = None, *, dtype: str | None = None,
    dequantize: bool | None = None, tool_parser: str | None = None,
) -> BackendFactory:
    """A factory of the default backends; ``dtype`` / ``dequantize`` override the weight layout,
    ``tool_parser`` names the mlx-lm tool parser for every model (None: each model's own)."""

    def make(model: ResolvedModel) -> Backend | EmbeddingBackend:
        if model.facts.model_type == "embedding":
            from mlxk_core.backends.mlx_embed import MlxEmbeddingBackend

            return MlxEmbeddingBackend(settings=settings, dtype=dtype, dequantize=dequantize)
        from mlxk_core.backends.mlx import MlxBackend

        return MlxBackend(
            settings=settings, dtype=dtype, dequantize=dequantize, tool_parser=tool_parser
        )

    return make
