"""mlxk_core: manage, run and serve Hugging Face-cached MLX language models.

Importing this package is cheap: names load on first use, and nothing here imports mlx,
mlx_lm, transformers or the CLI and server stacks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlxk_core.version import __version__

if TYPE_CHECKING:
    from mlxk_core.backends.base import (
        Backend,
        Batch,
        ModelInfo,
        PromptTokens,
        SequenceSpec,
        StepOutput,
        TokenScore,
    )
    from mlxk_core.backends.blas import BlasInfo, blas_hint_once, ensure_blas
    from mlxk_core.backends.cpu_fastpath import COMPUTE_DTYPES
    from mlxk_core.backends.embed_base import EmbeddingBackend, EmbeddingInfo
    from mlxk_core.backends.factory import BackendFactory, backend_factory
    from mlxk_core.backends.fake import FakeBackend
    from mlxk_core.backends.fake_embed import FakeEmbeddingBackend
    from mlxk_core.backends.mlx_rank import ShardGroup
    from mlxk_core.cache.facts import read_facts
    from mlxk_core.cache.health import check_health
    from mlxk_core.cache.index import CacheIndex
    from mlxk_core.cache.integrity import verify_model, verify_revision
    from mlxk_core.cache.listing import Listing, list_dir
    from mlxk_core.cache.records import (
        CachedFile,
        CachedModel,
        EmbeddingFacts,
        GGUFVariant,
        Health,
        ModelFacts,
        ModelRevision,
        Quantization,
        ResolvedModel,
    )
    from mlxk_core.cache.removal import RemovalPlan
    from mlxk_core.distributed.checks import SHARDING_MODES
    from mlxk_core.distributed.env import DISTRIBUTED_BACKENDS, LAUNCHED_ENV, detect_group
    from mlxk_core.distributed.launch import start_group, watch_parent
    from mlxk_core.distributed.plan import LaunchPlan
    from mlxk_core.doctor import Diagnosis, diagnose
    from mlxk_core.embeddings.embedder import Embedder
    from mlxk_core.embeddings.types import Embedding, EmbeddingInput, EmbeddingResult, EmbedOptions
    from mlxk_core.engine.embedding import EmbedHandle, LoadedEmbedder
    from mlxk_core.engine.engine import Engine, EngineStatus
    from mlxk_core.engine.handle import EngineEvent, RequestHandle, Started
    from mlxk_core.engine.loaded import LoadedModel
    from mlxk_core.errors import (
        AmbiguousModel,
        BackendUnavailable,
        CacheError,
        ContextOverflow,
        EngineBusy,
        EngineStopped,
        GatedRepo,
        GenerationError,
        GroupBroken,
        HubError,
        ImportFailed,
        InvalidRequest,
        LaunchFailed,
        MlxkError,
        ModelLoadError,
        ModelNotFound,
        PullInterrupted,
        RepoNotFound,
        ShardingRefused,
        UnhealthyModel,
        UnsafePath,
    )
    from mlxk_core.generation.chat_format import fallback_transcript
    from mlxk_core.generation.constrained import (
        GrammarCompiler,
        GrammarMatcher,
        TokenMatcher,
        request_grammar,
    )
    from mlxk_core.generation.events import (
        Chunk,
        Completion,
        FinishReason,
        Timings,
        TokenLogprob,
        ToolCallDelta,
        TopLogprob,
        Usage,
    )
    from mlxk_core.generation.reasoning import (
        Reasoning,
        ReasoningEvent,
        ReasoningExtractor,
        format_reasoning,
        is_reasoning_model,
    )
    from mlxk_core.generation.request import (
        ChatMessage,
        GenerationParams,
        GenerationRequest,
        ResponseFormat,
    )
    from mlxk_core.generation.runner import Runner, resolve_model
    from mlxk_core.generation.sequence import SequenceDecoder, collect
    from mlxk_core.generation.stops import (
        CHAT_STOPS,
        FALLBACK_STOPS,
        StopMatcher,
        truncate_at_stop,
    )
    from mlxk_core.generation.tokens import DEFAULT_MAX_TOKENS, TokenPolicy
    from mlxk_core.generation.tool_types import NamedToolChoice, Tool, ToolCall, ToolChoice
    from mlxk_core.generation.tools import ToolCallExtractor, ToolFormat, ToolOutput
    from mlxk_core.gguf.importer import ImportResult, default_repo_id, import_gguf
    from mlxk_core.hub import (
        PlannedFile,
        PullPhase,
        PullPlan,
        PullProgress,
        PullResult,
        RepoRef,
        parse_repo_ref,
        plan_pull,
        pull,
    )
    from mlxk_core.settings import Settings

_LAZY: dict[str, str] = {
    "AmbiguousModel": "mlxk_core.errors",
    "Backend": "mlxk_core.backends.base",
    "BackendFactory": "mlxk_core.backends.factory",
    "BackendUnavailable": "mlxk_core.errors",
    "Batch": "mlxk_core.backends.base",
    "BlasInfo": "mlxk_core.backends.blas",
    "CHAT_STOPS": "mlxk_core.generation.stops",
    "COMPUTE_DTYPES": "mlxk_core.backends.cpu_fastpath",
    "CacheError": "mlxk_core.errors",
    "CacheIndex": "mlxk_core.cache.index",
    "CachedFile": "mlxk_core.cache.records",
    "CachedModel": "mlxk_core.cache.records",
    "ChatMessage": "mlxk_core.generation.request",
    "Chunk": "mlxk_core.generation.events",
    "Completion": "mlxk_core.generation.events",
    "ContextOverflow": "mlxk_core.errors",
    "DEFAULT_MAX_TOKENS": "mlxk_core.generation.tokens",
    "DISTRIBUTED_BACKENDS": "mlxk_core.distributed.env",
    "Diagnosis": "mlxk_core.doctor",
    "EmbedHandle": "mlxk_core.engine.embedding",
    "EmbedOptions": "mlxk_core.embeddings.types",
    "Embedder": "mlxk_core.embeddings.embedder",
    "Embedding": "mlxk_core.embeddings.types",
    "EmbeddingBackend": "mlxk_core.backends.embed_base",
    "EmbeddingFacts": "mlxk_core.cache.records",
    "EmbeddingInfo": "mlxk_core.backends.embed_base",
    "EmbeddingInput": "mlxk_core.embeddings.types",
    "EmbeddingResult": "mlxk_core.embeddings.types",
    "Engine": "mlxk_core.engine.engine",
    "EngineBusy": "mlxk_core.errors",
    "EngineEvent": "mlxk_core.engine.handle",
    "EngineStatus": "mlxk_core.engine.engine",
    "EngineStopped": "mlxk_core.errors",
    "FALLBACK_STOPS": "mlxk_core.generation.stops",
    "FakeBackend": "mlxk_core.backends.fake",
    "FakeEmbeddingBackend": "mlxk_core.backends.fake_embed",
    "FinishReason": "mlxk_core.generation.events",
    "GGUFVariant": "mlxk_core.cache.records",
    "GatedRepo": "mlxk_core.errors",
    "GenerationError": "mlxk_core.errors",
    "GenerationParams": "mlxk_core.generation.request",
    "GenerationRequest": "mlxk_core.generation.request",
    "GrammarCompiler": "mlxk_core.generation.constrained",
    "GrammarMatcher": "mlxk_core.generation.constrained",
    "GroupBroken": "mlxk_core.errors",
    "Health": "mlxk_core.cache.records",
    "HubError": "mlxk_core.errors",
    "ImportFailed": "mlxk_core.errors",
    "ImportResult": "mlxk_core.gguf.importer",
    "InvalidRequest": "mlxk_core.errors",
    "LAUNCHED_ENV": "mlxk_core.distributed.env",
    "LaunchFailed": "mlxk_core.errors",
    "LaunchPlan": "mlxk_core.distributed.plan",
    "Listing": "mlxk_core.cache.listing",
    "LoadedEmbedder": "mlxk_core.engine.embedding",
    "LoadedModel": "mlxk_core.engine.loaded",
    "MlxkError": "mlxk_core.errors",
    "ModelFacts": "mlxk_core.cache.records",
    "ModelInfo": "mlxk_core.backends.base",
    "ModelLoadError": "mlxk_core.errors",
    "ModelNotFound": "mlxk_core.errors",
    "ModelRevision": "mlxk_core.cache.records",
    "NamedToolChoice": "mlxk_core.generation.tool_types",
    "PlannedFile": "mlxk_core.hub",
    "PromptTokens": "mlxk_core.backends.base",
    "PullInterrupted": "mlxk_core.errors",
    "PullPhase": "mlxk_core.hub",
    "PullPlan": "mlxk_core.hub",
    "PullProgress": "mlxk_core.hub",
    "PullResult": "mlxk_core.hub",
    "Quantization": "mlxk_core.cache.records",
    "Reasoning": "mlxk_core.generation.reasoning",
    "ReasoningEvent": "mlxk_core.generation.reasoning",
    "ReasoningExtractor": "mlxk_core.generation.reasoning",
    "RemovalPlan": "mlxk_core.cache.removal",
    "RepoNotFound": "mlxk_core.errors",
    "RepoRef": "mlxk_core.hub",
    "RequestHandle": "mlxk_core.engine.handle",
    "ResolvedModel": "mlxk_core.cache.records",
    "ResponseFormat": "mlxk_core.generation.request",
    "Runner": "mlxk_core.generation.runner",
    "SHARDING_MODES": "mlxk_core.distributed.checks",
    "SequenceDecoder": "mlxk_core.generation.sequence",
    "SequenceSpec": "mlxk_core.backends.base",
    "Settings": "mlxk_core.settings",
    "ShardGroup": "mlxk_core.backends.mlx_rank",
    "ShardingRefused": "mlxk_core.errors",
    "Started": "mlxk_core.engine.handle",
    "StepOutput": "mlxk_core.backends.base",
    "StopMatcher": "mlxk_core.generation.stops",
    "Timings": "mlxk_core.generation.events",
    "TokenLogprob": "mlxk_core.generation.events",
    "TokenMatcher": "mlxk_core.generation.constrained",
    "TokenPolicy": "mlxk_core.generation.tokens",
    "TokenScore": "mlxk_core.backends.base",
    "Tool": "mlxk_core.generation.tool_types",
    "ToolCall": "mlxk_core.generation.tool_types",
    "ToolCallDelta": "mlxk_core.generation.events",
    "ToolCallExtractor": "mlxk_core.generation.tools",
    "ToolChoice": "mlxk_core.generation.tool_types",
    "ToolFormat": "mlxk_core.generation.tools",
    "ToolOutput": "mlxk_core.generation.tools",
    "TopLogprob": "mlxk_core.generation.events",
    "UnhealthyModel": "mlxk_core.errors",
    "UnsafePath": "mlxk_core.errors",
    "Usage": "mlxk_core.generation.events",
    "backend_factory": "mlxk_core.backends.factory",
    "blas_hint_once": "mlxk_core.backends.blas",
    "check_health": "mlxk_core.cache.health",
    "collect": "mlxk_core.generation.sequence",
    "default_repo_id": "mlxk_core.gguf.importer",
    "detect_group": "mlxk_core.distributed.env",
    "diagnose": "mlxk_core.doctor",
    "ensure_blas": "mlxk_core.backends.blas",
    "fallback_transcript": "mlxk_core.generation.chat_format",
    "format_reasoning": "mlxk_core.generation.reasoning",
    "import_gguf": "mlxk_core.gguf.importer",
    "is_reasoning_model": "mlxk_core.generation.reasoning",
    "list_dir": "mlxk_core.cache.listing",
    "parse_repo_ref": "mlxk_core.hub",
    "plan_pull": "mlxk_core.hub",
    "pull": "mlxk_core.hub",
    "read_facts": "mlxk_core.cache.facts",
    "request_grammar": "mlxk_core.generation.constrained",
    "resolve_model": "mlxk_core.generation.runner",
    "start_group": "mlxk_core.distributed.launch",
    "truncate_at_stop": "mlxk_core.generation.stops",
    "verify_model": "mlxk_core.cache.integrity",
    "verify_revision": "mlxk_core.cache.integrity",
    "watch_parent": "mlxk_core.distributed.launch",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlxk_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AmbiguousModel",
    "Backend",
    "BackendFactory",
    "BackendUnavailable",
    "Batch",
    "BlasInfo",
    "CHAT_STOPS",
    "COMPUTE_DTYPES",
    "CacheError",
    "CacheIndex",
    "CachedFile",
    "CachedModel",
    "ChatMessage",
    "Chunk",
    "Completion",
    "ContextOverflow",
    "DEFAULT_MAX_TOKENS",
    "DISTRIBUTED_BACKENDS",
    "Diagnosis",
    "EmbedHandle",
    "EmbedOptions",
    "Embedder",
    "Embedding",
    "EmbeddingBackend",
    "EmbeddingFacts",
    "EmbeddingInfo",
    "EmbeddingInput",
    "EmbeddingResult",
    "Engine",
    "EngineBusy",
    "EngineEvent",
    "EngineStatus",
    "EngineStopped",
    "FALLBACK_STOPS",
    "FakeBackend",
    "FakeEmbeddingBackend",
    "FinishReason",
    "GGUFVariant",
    "GatedRepo",
    "GenerationError",
    "GenerationParams",
    "GenerationRequest",
    "GrammarCompiler",
    "GrammarMatcher",
    "GroupBroken",
    "Health",
    "HubError",
    "ImportFailed",
    "ImportResult",
    "InvalidRequest",
    "LAUNCHED_ENV",
    "LaunchFailed",
    "LaunchPlan",
    "Listing",
    "LoadedEmbedder",
    "LoadedModel",
    "MlxkError",
    "ModelFacts",
    "ModelInfo",
    "ModelLoadError",
    "ModelNotFound",
    "ModelRevision",
    "NamedToolChoice",
    "PlannedFile",
    "PromptTokens",
    "PullInterrupted",
    "PullPhase",
    "PullPlan",
    "PullProgress",
    "PullResult",
    "Quantization",
    "Reasoning",
    "ReasoningEvent",
    "ReasoningExtractor",
    "RemovalPlan",
    "RepoNotFound",
    "RepoRef",
    "RequestHandle",
    "ResolvedModel",
    "ResponseFormat",
    "Runner",
    "SHARDING_MODES",
    "SequenceDecoder",
    "SequenceSpec",
    "Settings",
    "ShardGroup",
    "ShardingRefused",
    "Started",
    "StepOutput",
    "StopMatcher",
    "Timings",
    "TokenLogprob",
    "TokenMatcher",
    "TokenPolicy",
    "TokenScore",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallExtractor",
    "ToolChoice",
    "ToolFormat",
    "ToolOutput",
    "TopLogprob",
    "UnhealthyModel",
    "UnsafePath",
    "Usage",
    "__version__",
    "backend_factory",
    "blas_hint_once",
    "check_health",
    "collect",
    "default_repo_id",
    "detect_group",
    "diagnose",
    "ensure_blas",
    "fallback_transcript",
    "format_reasoning",
    "import_gguf",
    "is_reasoning_model",
    "list_dir",
    "parse_repo_ref",
    "plan_pull",
    "pull",
    "read_facts",
    "request_grammar",
    "resolve_model",
    "start_group",
    "truncate_at_stop",
    "verify_model",
    "verify_revision",
    "watch_parent",
]
