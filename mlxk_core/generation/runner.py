"""The Runner: load a model once, then stream or collect generations from it.

``with Runner("org/name") as r: r.stream(request)`` is the generation path of the CLI and of
notebooks. It is the engine (:mod:`mlxk_core.engine`) with one model: the same scheduler, batch
and per-sequence decoding that serve many clients in the server, here serving the caller's
requests (from any number of threads, decoded together).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from mlxk_core.backends.base import Backend, ModelInfo, PromptTokens
from mlxk_core.cache.records import ModelFacts, ResolvedModel
from mlxk_core.errors import GenerationError, InvalidRequest
from mlxk_core.generation.events import Chunk, Completion
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.tokens import TokenPolicy
from mlxk_core.settings import Settings

if TYPE_CHECKING:
    from mlxk_core.engine.engine import Engine
    from mlxk_core.engine.loaded import LoadedModel

__all__ = ["Runner", "resolve_model"]


def resolve_model(model: ResolvedModel | str | Path, settings: Settings | None) -> ResolvedModel:
    """Resolve a cache name (``org/name``, short name, ``name@rev``) or a local model folder."""
    if isinstance(model, ResolvedModel):
        return model
    from mlxk_core.cache.index import CacheIndex

    name = str(model.expanduser().absolute()) if isinstance(model, Path) else model
    return CacheIndex.from_settings(settings or Settings.from_env()).resolve(name)


class Runner:
    """A loaded model: ``with Runner(model) as r:``, then ``r.stream(..)`` or ``r.generate(..)``."""

    def __init__(
        self,
        model: ResolvedModel | str | Path,
        *,
        settings: Settings | None = None,
        backend: Backend | None = None,
        policy: TokenPolicy | None = None,
        dtype: str | None = None,
        dequantize: bool | None = None,
        tool_parser: str | None = None,
    ) -> None:
        """``dtype`` / ``dequantize`` override the default backend's automatic weight layout;
        ``tool_parser`` names the mlx-lm parser for the model's tool calls (None: its own)."""
        self._model = model
        self._settings = settings
        self._backend = backend
        self._overrides = (dtype, dequantize, tool_parser)
        self.policy = policy or TokenPolicy(mode="run")
        self._engine: Engine | None = None
        self._loaded: LoadedModel | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Runner:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Resolve and load the model (done by ``with``); a second call does nothing."""
        if self._loaded is not None:
            return
        from mlxk_core.engine.loaded import LoadedModel
        from mlxk_core.engine.single import open_single

        resolved = resolve_model(self._model, self._settings)
        if resolved.facts.model_type == "embedding":
            raise InvalidRequest(
                f"'{resolved.name}' is an embedding model: it makes vectors, not text",
                param="model", hint=f"use `mlxk embed {resolved.name} TEXT` (or Embedder)",
            )
        dtype, dequantize, parser = self._overrides
        engine, loaded = open_single(
            resolved, settings=self._settings, backend=self._backend, dtype=dtype,
            dequantize=dequantize, tool_parser=parser, policy=self.policy,
        )
        assert isinstance(loaded, LoadedModel)  # the backend follows the model's facts
        self._engine, self._loaded = engine, loaded

    def close(self) -> None:
        """Release the model, tokenizer and caches; safe to call more than once."""
        engine, self._engine, self._loaded = self._engine, None, None
        if engine is not None:
            engine.stop()

    # -- facts -----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether a model is loaded."""
        return self._loaded is not None and self._loaded.backend.loaded

    def _held(self) -> LoadedModel:
        if self._loaded is None:
            raise GenerationError(
                "The Runner has no model loaded", hint="use it inside `with Runner(...) as r:`"
            )
        return self._loaded

    @property
    def info(self) -> ModelInfo:
        """What the loaded model says about itself (EOS ids, template, context)."""
        return self._held().info

    @property
    def model(self) -> ResolvedModel:
        """The resolved model (name, local path, facts)."""
        return self._held().model

    @property
    def facts(self) -> ModelFacts:
        """The model's facts as read from its files."""
        return self.model.facts

    @property
    def context_length(self) -> int | None:
        """The context length in tokens, or None when unknown."""
        return self._held().context_length

    @property
    def is_reasoning(self) -> bool:
        """Whether the model's output is split into reasoning and answer."""
        return self._held().reasoning

    @property
    def backend(self) -> Backend:
        """The backend holding the loaded model (its BLAS and weight layout, for reports)."""
        if self._loaded is None and self._backend is not None:
            return self._backend
        return self._held().backend

    # -- generation ------------------------------------------------------------------------

    def encode(self, request: GenerationRequest) -> PromptTokens:
        """Format and tokenize a request the way ``stream`` will."""
        return self._held().encode(request)

    def max_tokens(self, request: GenerationRequest) -> int:
        """The token budget ``stream`` gives this request (raises ContextOverflow when full)."""
        held = self._held()
        return held.decoder(request, held.encode(request)).max_tokens

    def stream(
        self, request: GenerationRequest, *, cancel: threading.Event | None = None
    ) -> Iterator[Chunk]:
        """Start generating; the chunks as they come, the last with finish reason and usage.

        ``cancel``: setting it (from any thread, or a signal handler) ends the generation with
        finish reason ``cancelled``. Leaving the iteration early cancels it too.
        """
        held = self._held()
        assert self._engine is not None
        handle = self._engine.submit(held.model, request, cancel=cancel)
        handle.started()  # errors found before generating (a prompt too long) raise here
        return handle.chunks()

    def generate(
        self, request: GenerationRequest, *, cancel: threading.Event | None = None
    ) -> Completion:
        """The same generation as ``stream``, collected into one Completion."""
        held = self._held()
        assert self._engine is not None
        return self._engine.submit(held.model, request, cancel=cancel).completion()
