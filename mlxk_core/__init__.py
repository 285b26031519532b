"""mlxk_core: manage, run and serve Hugging Face-cached MLX language models.

Importing this package is cheap: it loads neither mlx nor the CLI or server stacks.
"""

from mlxk_core.cache.facts import read_facts
from mlxk_core.cache.health import check_health
from mlxk_core.cache.index import CacheIndex
from mlxk_core.cache.records import (
    CachedFile,
    CachedModel,
    GGUFVariant,
    Health,
    ModelFacts,
    ModelRevision,
    Quantization,
    ResolvedModel,
)
from mlxk_core.cache.removal import RemovalPlan
from mlxk_core.errors import (
    AmbiguousModel,
    BackendUnavailable,
    CacheError,
    ContextOverflow,
    GatedRepo,
    GenerationError,
    HubError,
    ImportFailed,
    InvalidRequest,
    MlxkError,
    ModelLoadError,
    ModelNotFound,
    PullInterrupted,
    RepoNotFound,
    UnhealthyModel,
    UnsafePath,
)
from mlxk_core.generation.chat_format import fallback_transcript
from mlxk_core.generation.events import Chunk, Completion, FinishReason, Timings, Usage
from mlxk_core.generation.reasoning import (
    Reasoning,
    ReasoningEvent,
    ReasoningExtractor,
    format_reasoning,
    is_reasoning_model,
)
from mlxk_core.generation.request import ChatMessage, GenerationParams, GenerationRequest
from mlxk_core.generation.stops import FALLBACK_STOPS, StopMatcher, truncate_at_stop
from mlxk_core.generation.tokens import DEFAULT_MAX_TOKENS, TokenPolicy
from mlxk_core.settings import Settings
from mlxk_core.version import __version__

__all__ = [
    "AmbiguousModel",
    "BackendUnavailable",
    "CacheError",
    "CacheIndex",
    "CachedFile",
    "CachedModel",
    "ChatMessage",
    "Chunk",
    "Completion",
    "ContextOverflow",
    "DEFAULT_MAX_TOKENS",
    "FALLBACK_STOPS",
    "FinishReason",
    "GGUFVariant",
    "GatedRepo",
    "GenerationError",
    "GenerationParams",
    "GenerationRequest",
    "Health",
    "HubError",
    "ImportFailed",
    "InvalidRequest",
    "MlxkError",
    "ModelFacts",
    "ModelLoadError",
    "ModelNotFound",
    "ModelRevision",
    "PullInterrupted",
    "Quantization",
    "Reasoning",
    "ReasoningEvent",
    "ReasoningExtractor",
    "RemovalPlan",
    "RepoNotFound",
    "ResolvedModel",
    "Settings",
    "StopMatcher",
    "Timings",
    "TokenPolicy",
    "UnhealthyModel",
    "UnsafePath",
    "Usage",
    "__version__",
    "check_health",
    "fallback_transcript",
    "format_reasoning",
    "is_reasoning_model",
    "read_facts",
    "truncate_at_stop",
]
