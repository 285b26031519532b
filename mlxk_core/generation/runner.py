"""The Runner: load a model once, then stream or collect generations from it.

``with Runner("org/name") as r: r.stream(request)`` is the one generation path that the CLI, the
server and notebooks share. The backend runs forward passes; a :class:`SequenceDecoder` per
request turns token ids into chunks (EOS, stop strings, reasoning, budget, usage, timings).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from mlxk_core.backends.base import Backend, ModelInfo, PromptTokens
from mlxk_core.cache.records import ModelFacts, ResolvedModel
from mlxk_core.errors import GenerationError, MlxkError, ModelLoadError, UnhealthyModel
from mlxk_core.generation.events import Chunk, Completion, FinishReason
from mlxk_core.generation.reasoning import is_reasoning_model
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.sequence import SequenceDecoder, collect
from mlxk_core.generation.tokens import TokenPolicy
from mlxk_core.settings import Settings

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
    ) -> None:
        """``dtype`` / ``dequantize`` override the default backend's automatic weight layout."""
        self._model = model
        self._settings = settings
        self._backend = backend
        self._layout_overrides = (dtype, dequantize)
        self.policy = policy or TokenPolicy(mode="run")
        self._resolved: ResolvedModel | None = None
        self._info: ModelInfo | None = None
        self._reasoning = False

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
        if self._info is not None:
            return
        resolved = resolve_model(self._model, self._settings)
        if not resolved.health.healthy:
            raise UnhealthyModel(resolved.name, resolved.health.reasons)
        backend = self._backend or self._default_backend()
        self._backend = backend
        try:
            info = backend.load(resolved.path, name=resolved.name)
        except MlxkError:
            backend.close()
            raise
        except Exception as exc:
            backend.close()
            raise ModelLoadError(
                f"Could not load '{resolved.name}': {exc}",
                hint=f"run `mlxk health {resolved.name}`; re-pull the model if it is damaged",
            ) from exc
        self._resolved = resolved
        self._info = info
        self._reasoning = resolved.facts.reasoning or is_reasoning_model(
            resolved.name, chat_template=info.chat_template, special_tokens=info.special_tokens
        )

    def close(self) -> None:
        """Release the model, tokenizer and caches; safe to call more than once."""
        backend = self._backend
        self._info = None
        if backend is not None:
            backend.close()

    def _default_backend(self) -> Backend:
        from mlxk_core.backends.mlx import MlxBackend

        dtype, dequantize = self._layout_overrides
        return MlxBackend(settings=self._settings, dtype=dtype, dequantize=dequantize)

    # -- facts -----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """Whether a model is loaded."""
        return self._info is not None and self._backend is not None and self._backend.loaded

    @property
    def info(self) -> ModelInfo:
        """What the loaded model says about itself (EOS ids, template, context)."""
        if self._info is None:
            raise GenerationError(
                "The Runner has no model loaded", hint="use it inside `with Runner(...) as r:`"
            )
        return self._info

    @property
    def model(self) -> ResolvedModel:
        """The resolved model (name, local path, facts)."""
        self.info  # noqa: B018 - raises when nothing is loaded
        assert self._resolved is not None
        return self._resolved

    @property
    def facts(self) -> ModelFacts:
        """The model's facts as read from its files."""
        return self.model.facts

    @property
    def context_length(self) -> int | None:
        """The context length in tokens, or None when unknown."""
        return self.model.facts.context_length or self.info.context_length

    @property
    def is_reasoning(self) -> bool:
        """Whether the model's output is split into reasoning and answer."""
        self.info  # noqa: B018 - raises when nothing is loaded
        return self._reasoning

    @property
    def backend(self) -> Backend:
        """The backend holding the loaded model (for engines that drive it directly)."""
        if self._backend is None:
            raise GenerationError("The Runner has no backend yet", hint="enter `with Runner(...)`")
        return self._backend

    # -- generation ------------------------------------------------------------------------

    def encode(self, request: GenerationRequest) -> PromptTokens:
        """Format and tokenize a request the way ``stream`` will."""
        self.info  # noqa: B018 - raises when nothing is loaded
        try:
            return self.backend.encode(request)
        except MlxkError:
            raise
        except Exception as exc:
            raise GenerationError(f"Could not format the prompt: {exc}") from exc

    def sequence(
        self, request: GenerationRequest, prompt: PromptTokens, *, cached_tokens: int = 0
    ) -> SequenceDecoder:
        """A fresh decoder for one request (budget from the policy; raises ContextOverflow)."""
        max_tokens = self.policy.max_tokens(
            prompt_tokens=len(prompt.tokens),
            context_length=self.context_length,
            requested=request.params.max_tokens,
        )
        return SequenceDecoder(
            info=self.info,
            prompt=prompt,
            params=request.params,
            max_tokens=max_tokens,
            detokenizer=self.backend.detokenizer(raw=request.prompt is not None),
            reasoning=self._reasoning,
            chat=request.messages is not None,
            cached_tokens=cached_tokens,
        )

    def stream(
        self, request: GenerationRequest, *, cancel: threading.Event | None = None
    ) -> Iterator[Chunk]:
        """Generate, yielding chunks as they come; the last chunk has finish reason and usage."""
        prompt = self.encode(request)
        decoder = self.sequence(request, prompt)
        return self._run(request, prompt, decoder, cancel)

    def _run(
        self,
        request: GenerationRequest,
        prompt: PromptTokens,
        decoder: SequenceDecoder,
        cancel: threading.Event | None,
    ) -> Iterator[Chunk]:
        backend = self.backend
        backend.reset_peak_memory()
        reason: FinishReason | None = None
        if cancel is not None and cancel.is_set():
            yield decoder.finish("cancelled")
            return
        try:
            tokens = backend.generate(prompt.tokens, request.params, decoder.max_tokens)
        except MlxkError:
            raise
        except Exception as exc:
            raise GenerationError(f"Generation failed to start: {exc}") from exc
        decoder.cached_tokens = tokens.cached_tokens
        try:
            for token in tokens:
                chunk = decoder.add(token)
                if chunk is not None:
                    yield chunk
                if decoder.done:
                    break
                if cancel is not None and cancel.is_set():
                    reason = "cancelled"
                    break
        except MlxkError:
            raise
        except Exception as exc:
            raise GenerationError(
                f"Generation failed: {exc}", hint="set MLXK_DEBUG=1 for the traceback"
            ) from exc
        finally:
            tokens.close()
        yield decoder.finish(reason, peak_memory=backend.peak_memory())

    def generate(
        self, request: GenerationRequest, *, cancel: threading.Event | None = None
    ) -> Completion:
        """The same generation as ``stream``, collected into one Completion."""
        return collect(self.stream(request, cancel=cancel), reasoning=self._reasoning)
