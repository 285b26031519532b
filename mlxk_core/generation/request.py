"""Generation requests: chat messages or a raw prompt, plus validated sampling parameters."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from mlxk_core.errors import InvalidRequest

__all__ = ["ChatMessage", "GenerationParams", "GenerationRequest", "Role"]

Role = Literal["system", "user", "assistant"]
_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class ChatMessage:
    """One chat turn."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise InvalidRequest(
                f"Unknown role '{self.role}'",
                param="messages",
                hint="use system, user or assistant",
            )
        if not isinstance(self.content, str):
            raise InvalidRequest("Message content must be text", param="messages")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not isinstance(value, (int, float)) or math.isnan(value) or not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}, got {value!r}", param=name)


@dataclass(frozen=True)
class GenerationParams:
    """Sampling and stopping parameters; ``temperature == 0`` means greedy."""

    max_tokens: int | None = None
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float | None = None
    seed: int | None = None
    stop: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.max_tokens is not None and (
            isinstance(self.max_tokens, bool)
            or not isinstance(self.max_tokens, int)
            or self.max_tokens < 1
        ):
            raise InvalidRequest(
                f"max_tokens must be a positive integer, got {self.max_tokens!r}",
                param="max_tokens",
            )
        _check_range("temperature", self.temperature, 0.0, 100.0)
        _check_range("top_p", self.top_p, 0.0, 1.0)
        _check_range("min_p", self.min_p, 0.0, 1.0)
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < 0:
            raise InvalidRequest(f"top_k must be >= 0, got {self.top_k!r}", param="top_k")
        if self.repetition_penalty is not None:
            _check_range("repetition_penalty", self.repetition_penalty, 0.01, 100.0)
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise InvalidRequest(f"seed must be an integer, got {self.seed!r}", param="seed")
        stops = tuple(self.stop)
        if any(not isinstance(s, str) for s in stops):
            raise InvalidRequest("stop must be a string or a list of strings", param="stop")
        object.__setattr__(self, "stop", tuple(s for s in stops if s))


@dataclass(frozen=True)
class GenerationRequest:
    """Exactly one of ``messages`` (chat) or ``prompt`` (raw completion), with parameters."""

    messages: tuple[ChatMessage, ...] | None = None
    prompt: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise InvalidRequest("Give either messages or a prompt", param="messages")
        if self.messages is not None:
            object.__setattr__(self, "messages", tuple(self.messages))
            if not self.messages:
                raise InvalidRequest("messages must not be empty", param="messages")

    @classmethod
    def chat(
        cls, messages: Iterable[ChatMessage | tuple[Role, str]], **params: object
    ) -> GenerationRequest:
        """A chat request from messages (or ``(role, content)`` pairs) and parameter values."""
        msgs = tuple(m if isinstance(m, ChatMessage) else ChatMessage(*m) for m in messages)
        return cls(messages=msgs, params=GenerationParams(**params))  # type: ignore[arg-type]

    @classmethod
    def completion(cls, prompt: str, **params: object) -> GenerationRequest:
        """A raw-prompt request."""
        return cls(prompt=prompt, params=GenerationParams(**params))  # type: ignore[arg-type]
