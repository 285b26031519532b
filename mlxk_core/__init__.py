"""mlxk_core: manage, run and serve Hugging Face-cached MLX language models.

Importing this package is cheap: it loads neither mlx nor the CLI or server stacks.
"""

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
from mlxk_core.generation.events import Chunk, Completion, Timings, Usage
from mlxk_core.generation.request import ChatMessage, GenerationParams, GenerationRequest
from mlxk_core.settings import Settings
from mlxk_core.version import __version__

__all__ = [
    "AmbiguousModel",
    "BackendUnavailable",
    "CacheError",
    "CachedFile",
    "CachedModel",
    "ChatMessage",
    "Chunk",
    "Completion",
    "ContextOverflow",
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
    "RepoNotFound",
    "ResolvedModel",
    "Settings",
    "Timings",
    "UnhealthyModel",
    "UnsafePath",
    "Usage",
    "__version__",
]
