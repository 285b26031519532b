"""The Embedder: load an embedding model once, then turn texts into normalized vectors.

``with Embedder("org/name") as e: e.embed(["a text", "another"])`` is the embedding path of
the CLI and of notebooks. Like the Runner, it is the engine with one model: the requests go
through the same queue and forward passes that serve ``/v1/embeddings`` in the server.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from mlxk_core.backends.embed_base import EmbeddingBackend, EmbeddingInfo
from mlxk_core.cache.records import EmbeddingFacts, ResolvedModel
from mlxk_core.embeddings.types import EmbeddingInput, EmbeddingResult, EmbedOptions
from mlxk_core.errors import GenerationError, InvalidRequest
from mlxk_core.generation.runner import resolve_model
from mlxk_core.settings import Settings

if TYPE_CHECKING:
    from mlxk_core.engine.embedding import LoadedEmbedder
    from mlxk_core.engine.engine import Engine

__all__ = ["Embedder"]


class Embedder:
    """A loaded embedding model: ``with Embedder(model) as e:``, then ``e.embed(texts)``."""

    def __init__(
        self,
        model: ResolvedModel | str | Path,
        *,
        settings: Settings | None = None,
        backend: EmbeddingBackend | None = None,
        max_batch: int = 32,
        dtype: str | None = None,
        dequantize: bool | None = None,
    ) -> None:
        """``max_batch``: most inputs one forward pass holds. ``dtype`` / ``dequantize``
        override the default backend's automatic weight layout."""
        self._model = model
        self._settings = settings
        self._backend = backend
        self._max_batch = max_batch
        self._layout_overrides = (dtype, dequantize)
        self._engine: Engine | None = None
        self._loaded: LoadedEmbedder | None = None

    def __enter__(self) -> Embedder:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Resolve and load the model (done by ``with``); a second call does nothing."""
        if self._loaded is not None:
            return
        from mlxk_core.engine.embedding import LoadedEmbedder
        from mlxk_core.engine.single import open_single

        resolved = resolve_model(self._model, self._settings)
        if resolved.facts.embedding is None:
            raise InvalidRequest(
                f"'{resolved.name}' is a {resolved.facts.model_type} model, not an embedding "
                "model", param="model", hint=f"generate with it: `mlxk run {resolved.name}`",
            )
        dtype, dequantize = self._layout_overrides
        engine, loaded = open_single(
            resolved, settings=self._settings, backend=self._backend, dtype=dtype,
            dequantize=dequantize, max_batch=self._max_batch,
        )
        assert isinstance(loaded, LoadedEmbedder)  # the backend follows the model's facts
        self._engine, self._loaded = engine, loaded

    def close(self) -> None:
        """Release the model; safe to call more than once."""
        engine, self._engine, self._loaded = self._engine, None, None
        if engine is not None:
            engine.stop()

    def _held(self) -> LoadedEmbedder:
        if self._loaded is None:
            raise GenerationError(
                "The Embedder has no model loaded", hint="use it inside `with Embedder(...) as e:`"
            )
        return self._loaded

    @property
    def loaded(self) -> bool:
        """Whether a model is loaded."""
        return self._loaded is not None and self._loaded.backend.loaded

    @property
    def model(self) -> ResolvedModel:
        """The resolved model (name, local path, facts)."""
        return self._held().model

    @property
    def info(self) -> EmbeddingInfo:
        """What the loaded model says about itself (dimension, pooling, context)."""
        return self._held().info

    @property
    def facts(self) -> EmbeddingFacts | None:
        """The embedding facts read from the model's files."""
        return self.model.facts.embedding

    @property
    def dimension(self) -> int:
        """The length of the model's vectors."""
        return self._held().info.dimension

    @property
    def context_length(self) -> int | None:
        """The most tokens one input may have (longer ones are cut, or refused)."""
        return self._held().context_length

    def embed(
        self, inputs: str | Sequence[EmbeddingInput], *, truncate: bool = True,
        dimensions: int | None = None, cancel: threading.Event | None = None,
    ) -> EmbeddingResult:
        """Unit-length vectors for the inputs (a text, or a list of texts or token-id lists).

        ``truncate`` False refuses inputs longer than the context (InvalidRequest) instead of
        cutting them (each result says whether it was cut). ``dimensions`` keeps that many
        values of a Matryoshka model's vectors. ``cancel`` set from another thread drops it.
        """
        held = self._held()
        assert self._engine is not None
        items = [inputs] if isinstance(inputs, str) else inputs
        options = EmbedOptions(truncate=truncate, dimensions=dimensions)
        return self._engine.embed(held.model, items, options, cancel=cancel).result()
