"""The one place that picks a backend: MLX today (imported only when a model is first loaded),
or, in a sharded group's rank 0, the model sharded over the group.

Embedding models (the cache's facts say so) get the embedding backend; every other model the
generation backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mlxk_core.backends.base import Backend
from mlxk_core.backends.embed_base import EmbeddingBackend
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.settings import Settings

if TYPE_CHECKING:
    from mlxk_core.backends.mlx_rank import ShardGroup

__all__ = ["BackendFactory", "backend_factory"]

BackendFactory = Callable[[ResolvedModel], Backend | EmbeddingBackend]


def backend_factory(
    settings: Settings | None = None, *, dtype: str | None = None,
    dequantize: bool | None = None, tool_parser: str | None = None,
    group: ShardGroup | None = None, sharding: str = "auto",
) -> BackendFactory:
    """A factory of the default backends; ``dtype`` / ``dequantize`` override the weight layout,
    ``tool_parser`` names the mlx-lm tool parser for every model (None: each model's own).

    ``group`` (rank 0 of a joined :class:`~mlxk_core.backends.mlx_rank.ShardGroup`): every
    model is sharded over it, ``sharding`` auto, tensor or pipeline.
    """
    if group is not None:
        sharded = group

        def make_sharded(model: ResolvedModel) -> Backend:
            return sharded.backend_for(model, mode=sharding, dtype=dtype, dequantize=dequantize,
                                       tool_parser=tool_parser)

        return make_sharded

    def make(model: ResolvedModel) -> Backend | EmbeddingBackend:
        if model.facts.model_type == "embedding":
            from mlxk_core.backends.mlx_embed import MlxEmbeddingBackend

            return MlxEmbeddingBackend(settings=settings, dtype=dtype, dequantize=dequantize)
        from mlxk_core.backends.mlx import MlxBackend

        return MlxBackend(
            settings=settings, dtype=dtype, dequantize=dequantize, tool_parser=tool_parser
        )

    return make
