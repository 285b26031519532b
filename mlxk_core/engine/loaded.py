"""A model held by the engine: its backend, what it said about itself, and its open batch."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from mlxk_core.backends.base import Backend, Batch, ModelInfo, PromptTokens, SequenceSpec
from mlxk_core.backends.factory import BackendFactory
from mlxk_core.cache.records import ResolvedModel
from mlxk_core.engine.handle import model_key
from mlxk_core.errors import GenerationError, InvalidRequest, MlxkError, ModelLoadError
from mlxk_core.generation.constrained import request_grammar
from mlxk_core.generation.reasoning import is_reasoning_model
from mlxk_core.generation.request import GenerationRequest
from mlxk_core.generation.sequence import SequenceDecoder
from mlxk_core.generation.tokens import TokenPolicy
from mlxk_core.generation.tools import ToolCallExtractor

__all__ = ["BackendFactory", "LoadedModel", "load_model", "weights_size"]


@dataclass(eq=False)
class LoadedModel:
    """A loaded model (engine thread only, but for the read-only facts)."""

    model: ResolvedModel
    backend: Backend
    info: ModelInfo
    reasoning: bool
    policy: TokenPolicy
    batch: Batch
    size_bytes: int
    loaded_at: float = field(default_factory=time.time)
    last_used: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        """The snapshot this model was loaded from."""
        return model_key(self.model)

    @property
    def context_length(self) -> int | None:
        """Context length in tokens, from the model's files or what it said at load."""
        return self.model.facts.context_length or self.info.context_length

    def encode(self, request: GenerationRequest) -> PromptTokens:
        """Format and tokenize a request; GenerationError when the template fails."""
        try:
            prompt = self.backend.encode(request)
        except MlxkError:
            raise
        except Exception as exc:
            raise GenerationError(f"Could not format the prompt: {exc}") from exc
        if not prompt.tokens:
            raise InvalidRequest("The prompt is empty", param="prompt",
                                 hint="give some text to continue")
        return prompt

    def decoder(self, request: GenerationRequest, prompt: PromptTokens) -> SequenceDecoder:
        """A fresh per-sequence decoder (budget from the policy; ContextOverflow when full)."""
        max_tokens = self.policy.max_tokens(
            prompt_tokens=len(prompt.tokens), context_length=self.context_length,
            requested=request.params.max_tokens,
        )
        return SequenceDecoder(
            info=self.info, prompt=prompt, params=request.params, max_tokens=max_tokens,
            detokenizer=self.backend.detokenizer(raw=request.prompt is not None),
            reasoning=self.reasoning, chat=request.messages is not None,
            tools=self._tool_extractor(request),
            token_bytes=self.backend.token_bytes if request.params.logprobs else None,
        )

    def close(self) -> None:
        """Release the batch and the backend (engine thread)."""
        self.batch.close()
        self.backend.close()

    def spec(self, request: GenerationRequest, prompt: PromptTokens, max_tokens: int
             ) -> SequenceSpec:
        """What the backend's batch needs for this request: the constraint compiled, if any."""
        grammar = request_grammar(request, self.info.tool_format, self.info.special_tokens)
        params = request.params
        return SequenceSpec(
            prompt.tokens, params, max_tokens,
            top_logprobs=params.top_logprobs if params.logprobs else None,
            constraint=self.backend.token_matcher(grammar) if grammar is not None else None,
        )

    def _tool_extractor(self, request: GenerationRequest) -> ToolCallExtractor | None:
        if not request.tools or request.tool_choice == "none":
            return None
        fmt = self.info.tool_format
        if fmt is None:
            raise InvalidRequest(
                f"'{self.model.name}' cannot call tools: its chat template has no tool format",
                param="tools", hint="use a model trained for tool calling, or leave out tools",
            )
        return ToolCallExtractor(fmt, request.tools, parallel=request.parallel_tool_calls)

    def describe(self) -> dict[str, object]:
        """What status reports show about it."""
        return {
            "id": self.model.repo_id or str(self.model.path),
            "revision": self.model.commit_hash,
            "size_bytes": self.size_bytes,
            "loaded_at": self.loaded_at,
            "last_used": self.last_used,
            "context_length": self.context_length,
        }


def load_model(
    model: ResolvedModel, backend: Backend, *, policy: TokenPolicy, max_batch: int,
    prefill_chunk: int,
) -> LoadedModel:
    """Load ``model`` with ``backend`` and open its batch; the backend is closed on failure."""
    try:
        info = backend.load(model.path, name=model.name)
        batch = backend.open_batch(max_batch=max_batch, prefill_chunk=prefill_chunk)
    except MlxkError:
        backend.close()
        raise
    except Exception as exc:
        backend.close()
        raise ModelLoadError(
            f"Could not load '{model.name}': {exc}",
            hint=f"run `mlxk health {model.name}`; re-pull the model if it is damaged",
        ) from exc
    reasoning = model.facts.reasoning or is_reasoning_model(
        model.name, chat_template=info.chat_template, special_tokens=info.special_tokens
    )
    return LoadedModel(model, backend, info, reasoning, policy, batch, weights_size(model))


def weights_size(model: ResolvedModel) -> int:
    """Bytes of the model's top-level safetensors files."""
    total = 0
    for path in model.path.glob("*.safetensors"):
        try:
            total += path.stat().st_size
        except OSError:
            continue
    return total
