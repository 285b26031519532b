"""The one error hierarchy of mlxk.

Every error carries a message for people and a ``hint`` saying what to do next. Adapters map
each class to an exit code or an HTTP status; the core only raises.

    MlxkError
     +-- ModelNotFound            no cached model matches a name (close matches in ``suggestions``)
     +-- AmbiguousModel           a short name matches several repos (``candidates``)
     +-- UnhealthyModel           the model exists but is broken (``reasons``)
     +-- UnsafePath               a name or link that would reach outside the cache
     +-- InvalidRequest           bad generation parameters or request shape
     |    +-- ContextOverflow     the prompt leaves no room to generate
     +-- ModelLoadError           weights or tokenizer failed to load
     |    +-- ShardingRefused     the ranks of a sharded group cannot run this model together
     +-- GenerationError          the backend failed while generating
     |    +-- GroupBroken         a rank of the sharded group died or stopped answering
     +-- EngineBusy               too many requests are waiting in the engine's queue
     +-- EngineStopped            the engine is shutting down or stopped
     +-- BackendUnavailable       mlx / mlx_lm missing or unusable on this machine
     +-- LaunchFailed             the ranks of a sharded group could not be started
     +-- CacheError               reading or changing the cache failed
     +-- HubError                 talking to the Hugging Face hub failed
     |    +-- RepoNotFound        no such repo (or revision) on the hub
     |    +-- GatedRepo           the repo needs accepted terms and a token
     |    +-- PullInterrupted     a transfer was cut; a second pull resumes
     +-- ImportFailed             a GGUF (or other) import could not be done
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AmbiguousModel",
    "BackendUnavailable",
    "CacheError",
    "ContextOverflow",
    "EngineBusy",
    "EngineStopped",
    "GatedRepo",
    "GenerationError",
    "GroupBroken",
    "HubError",
    "ImportFailed",
    "InvalidRequest",
    "LaunchFailed",
    "MlxkError",
    "ModelLoadError",
    "ModelNotFound",
    "PullInterrupted",
    "RepoNotFound",
    "ShardingRefused",
    "UnhealthyModel",
    "UnsafePath",
]


class MlxkError(Exception):
    """Base of every error mlxk raises on purpose."""

    code: str = "mlxk_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ModelNotFound(MlxkError):
    """No cached model matches the name."""

    code = "model_not_found"

    def __init__(self, name: str, suggestions: Sequence[str] = (), *, hint: str | None = None):
        self.name = name
        self.suggestions = tuple(suggestions)
        message = f"Model '{name}' not found in the cache"
        if self.suggestions:
            message += "; did you mean: " + ", ".join(self.suggestions) + "?"
        super().__init__(message, hint=hint or f"run `mlxk pull {name}` or `mlxk list`")


class AmbiguousModel(MlxkError):
    """A short name matches more than one cached repo."""

    code = "ambiguous_model"

    def __init__(self, name: str, candidates: Sequence[str]):
        self.name = name
        self.candidates = tuple(candidates)
        super().__init__(
            f"Model name '{name}' is ambiguous: " + ", ".join(self.candidates),
            hint="use the full org/name",
        )


class UnhealthyModel(MlxkError):
    """The model is cached but broken."""

    code = "unhealthy_model"

    def __init__(self, name: str, reasons: Sequence[str]):
        self.name = name
        self.reasons = tuple(reasons)
        super().__init__(
            f"Model '{name}' is unhealthy: " + "; ".join(self.reasons),
            hint=f"run `mlxk rm {name}` and `mlxk pull {name}` again",
        )


class UnsafePath(MlxkError):
    """A name, path or link that would reach outside the cache root."""

    code = "unsafe_path"


class InvalidRequest(MlxkError):
    """Generation parameters or request shape are invalid."""

    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, hint: str | None = None):
        self.param = param
        super().__init__(message, hint=hint)


class ContextOverflow(InvalidRequest):
    """The prompt leaves no room in the context to generate."""

    code = "context_length_exceeded"

    def __init__(self, prompt_tokens: int, context_length: int):
        self.prompt_tokens = prompt_tokens
        self.context_length = context_length
        super().__init__(
            f"The prompt has {prompt_tokens} tokens but the model's context is "
            f"{context_length} tokens: nothing is left to generate",
            param="messages",
            hint="shorten the prompt or the conversation history",
        )


class ModelLoadError(MlxkError):
    """Weights or tokenizer could not be loaded."""

    code = "model_load_failed"


class ShardingRefused(ModelLoadError):
    """The ranks of a sharded group cannot run this model together (set-up, before loading)."""

    code = "sharding_refused"


class GenerationError(MlxkError):
    """The backend failed while generating."""

    code = "generation_failed"


class GroupBroken(GenerationError):
    """A rank of the sharded group died or stopped answering: the group cannot generate."""

    code = "group_broken"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"The sharded model is unavailable: {reason}",
            hint="restart the group (every rank); check the other hosts' logs",
        )


class EngineBusy(MlxkError):
    """Too many requests are already waiting; try again shortly."""

    code = "queue_full"

    def __init__(self, waiting: int) -> None:
        self.waiting = waiting
        super().__init__(
            f"The engine is busy: {waiting} requests are already waiting",
            hint="retry shortly, or raise the queue limit (`--max-queue`)",
        )


class EngineStopped(MlxkError):
    """The engine is shutting down (or was stopped) and takes no more work."""

    code = "shutting_down"

    def __init__(self) -> None:
        super().__init__("The generation engine is shutting down", hint="retry after a restart")


class BackendUnavailable(MlxkError):
    """mlx / mlx_lm are missing or unusable here."""

    code = "backend_unavailable"


class LaunchFailed(MlxkError):
    """The ranks of a sharded group could not be started (a host, the launcher, the flags)."""

    code = "launch_failed"


class CacheError(MlxkError):
    """Reading or changing the cache failed."""

    code = "cache_error"


class HubError(MlxkError):
    """Talking to the Hugging Face hub failed."""

    code = "hub_error"


class RepoNotFound(HubError):
    """The repo or revision does not exist on the hub (or is private)."""

    code = "repo_not_found"


class GatedRepo(HubError):
    """The repo is gated: terms must be accepted and a token given."""

    code = "gated_repo"

    def __init__(self, repo_id: str, *, endpoint: str = "https://huggingface.co"):
        self.repo_id = repo_id
        super().__init__(
            f"Repo '{repo_id}' is gated: access was refused",
            hint=(
                f"accept its terms at {endpoint.rstrip('/')}/{repo_id}, then set HF_TOKEN "
                "or run `hf auth login`"
            ),
        )


class PullInterrupted(HubError):
    """A transfer stopped before the model was complete."""

    code = "pull_interrupted"


class ImportFailed(MlxkError):
    """An import (such as GGUF to MLX) could not be done; nothing was written."""

    code = "import_failed"
